package flavor

import "strings"

// GrantPrivileges returns the privileges one SHOW GRANTS line grants, upper
// case, without column lists: "GRANT SELECT (a, b), SET USER ON *.* TO ..."
// gives SELECT and SET USER. Role grants (no ON) give nothing.
func GrantPrivileges(line string) []string {
	rest, ok := strings.CutPrefix(line, "GRANT ")
	if !ok {
		return nil
	}
	list, _, ok := strings.Cut(rest, " ON ")
	if !ok {
		return nil
	}
	var out []string
	depth, start := 0, 0
	for i := 0; i <= len(list); i++ {
		if i < len(list) {
			switch list[i] {
			case '(':
				depth++
				continue
			case ')':
				depth--
				continue
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		p := list[start:i]
		if j := strings.IndexByte(p, '('); j >= 0 {
			p = p[:j]
		}
		if p = strings.ToUpper(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
		start = i + 1
	}
	return out
}

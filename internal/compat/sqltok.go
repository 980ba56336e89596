package compat

import "strings"

// The word-level scanner below is not a parser: the TiDB grammar does that.
// It exists for what the grammar cannot answer: whether an identifier was
// written with backquotes (the AST forgets), statements the grammar rejects
// (a word 8.0 reserves makes the TiDB parser fail, so the very statements
// we look for are the ones it cannot read), and stored-program bodies
// (compound statements the TiDB grammar does not cover).

type tokKind uint8

const (
	tokWord   tokKind = iota // bare word: keyword or unquoted identifier
	tokQuoted                // `identifier`
	tokString                // 'string' or "string"
	tokNumber
	tokPunct
)

type token struct {
	kind tokKind
	text string // for tokString: the content, quotes removed and escapes resolved
	pos  int
}

// upper returns the token's text upper case (words only need it).
func (t token) upper() string { return strings.ToUpper(t.text) }

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// scanSQL splits SQL text into tokens, dropping comments but keeping the
// contents of /*! executable comments */.
func scanSQL(s string) []token {
	var toks []token
	inExec := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '#' || (c == '-' && i+2 < len(s) && s[i+1] == '-' && (s[i+2] == ' ' || s[i+2] == '\t' || s[i+2] == '\n')) || (c == '-' && i+2 == len(s) && s[i+1] == '-'):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			if i+2 < len(s) && s[i+2] == '!' {
				// Executable comment: skip the marker and version, scan the rest.
				inExec = true
				i += 3
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				continue
			}
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 4
			}
		case inExec && c == '*' && i+1 < len(s) && s[i+1] == '/':
			inExec = false
			i += 2
		case c == '\'' || c == '"':
			j, text := scanString(s, i)
			toks = append(toks, token{tokString, text, i})
			i = j
		case c == '`':
			j := i + 1
			var b strings.Builder
			for j < len(s) {
				if s[j] == '`' {
					if j+1 < len(s) && s[j+1] == '`' {
						b.WriteByte('`')
						j += 2
						continue
					}
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{tokQuoted, b.String(), i})
			i = j
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] == '.') {
				j++
			}
			// 1abc is an identifier in MySQL; digits only (and . e) is a number.
			kind := tokNumber
			for k := i; k < j; k++ {
				if (s[k] < '0' || s[k] > '9') && s[k] != '.' && s[k] != 'e' && s[k] != 'E' && s[k] != 'x' && s[k] != 'X' {
					kind = tokWord
				}
			}
			toks = append(toks, token{kind, s[i:j], i})
			i = j
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j], i})
			i = j
		default:
			toks = append(toks, token{tokPunct, s[i : i+1], i})
			i++
		}
	}
	return toks
}

// scanString reads the quoted string starting at s[i] and returns the index
// after it and its content.
func scanString(s string, i int) (int, string) {
	q := s[i]
	j := i + 1
	var b strings.Builder
	for j < len(s) {
		c := s[j]
		switch {
		case c == '\\' && j+1 < len(s):
			switch s[j+1] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(s[j+1])
			}
			j += 2
		case c == q && j+1 < len(s) && s[j+1] == q:
			b.WriteByte(q)
			j += 2
		case c == q:
			return j + 1, b.String()
		default:
			b.WriteByte(c)
			j++
		}
	}
	return j, b.String()
}

// nextIs reports whether the token after i is the punctuation p.
func nextIs(toks []token, i int, p string) bool {
	return i+1 < len(toks) && toks[i+1].kind == tokPunct && toks[i+1].text == p
}

func prevIs(toks []token, i int, p string) bool {
	return i > 0 && toks[i-1].kind == tokPunct && toks[i-1].text == p
}

// calledFunctions returns the upper-case names of the functions the SQL
// text calls that are in the set: a bare word followed by "(" and not
// qualified by a schema ("db.password(...)" is a stored function).
func calledFunctions(toks []token, set map[string]removedFunction) []string {
	var out []string
	for i, t := range toks {
		if t.kind != tokWord || !nextIs(toks, i, "(") || prevIs(toks, i, ".") {
			continue
		}
		if _, ok := set[t.upper()]; ok {
			out = append(out, t.upper())
		}
	}
	return out
}

// groupByEndWords end a GROUP BY list at its own nesting depth.
var groupByEndWords = map[string]bool{
	"HAVING": true, "ORDER": true, "LIMIT": true, "WINDOW": true, "UNION": true,
	"INTO": true, "FOR": true, "LOCK": true, "PROCEDURE": true, "WITH": true,
	"EXCEPT": true, "INTERSECT": true, "END": true,
}

// groupByHasOrder reports whether a GROUP BY list in the text carries ASC or
// DESC, which 8.0 removed.
func groupByHasOrder(toks []token) bool {
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].kind != tokWord || toks[i].upper() != "GROUP" || toks[i+1].kind != tokWord || toks[i+1].upper() != "BY" {
			continue
		}
		depth := 0
	list:
		for j := i + 2; j < len(toks); j++ {
			t := toks[j]
			switch {
			case t.kind == tokPunct && t.text == "(":
				depth++
			case t.kind == tokPunct && t.text == ")":
				if depth == 0 {
					break list
				}
				depth--
			case t.kind == tokPunct && t.text == ";" && depth == 0:
				break list
			case t.kind == tokWord && depth == 0:
				u := t.upper()
				if u == "ASC" || u == "DESC" {
					return true
				}
				if groupByEndWords[u] {
					break list
				}
			}
		}
	}
	return false
}

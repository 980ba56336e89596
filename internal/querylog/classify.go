package querylog

import (
	"fmt"
	"strings"
)

// Class is what a statement does, as far as replay needs to know.
type Class int

const (
	// ClassWrite is anything that may change data, schema or server state,
	// and anything not recognised (unknown is treated as unsafe).
	ClassWrite Class = iota
	// ClassSelect is a SELECT (also WITH ... SELECT and a parenthesised SELECT).
	ClassSelect
	// ClassRead is another read-only statement: SHOW, DESCRIBE, EXPLAIN, HELP.
	ClassRead
	// ClassUse changes the default database.
	ClassUse
	// ClassSession is a SET that only changes the session (not GLOBAL/PERSIST).
	ClassSession
	// ClassTxn is BEGIN, START TRANSACTION, COMMIT, ROLLBACK, SAVEPOINT.
	ClassTxn
)

func (c Class) String() string {
	return [...]string{"write", "select", "read", "use", "session", "txn"}[c]
}

// Classify looks at the leading keywords of a statement. It is a cheap
// lexical check for filtering millions of log events, not a parser (which
// reads only what the words cannot say: WITH, SafeSessionSet); replay also
// runs sessions READ ONLY so a misclassified write is refused by the server.
func Classify(q string) Class {
	q = skipSpaceAndComments(q)
	for strings.HasPrefix(q, "(") {
		q = skipSpaceAndComments(q[1:])
	}
	kw := firstWord(q)
	switch kw {
	case "select", "with", "values", "table":
		// INTO OUTFILE/DUMPFILE writes a file, which a READ ONLY session
		// does not refuse (MariaDB 11). Matched anywhere in the text, even
		// in a string: under NO_BACKSLASH_ESCAPES a lexer that honours
		// backslashes would be fooled about where strings end.
		if containsFold(q, "outfile") || containsFold(q, "dumpfile") {
			return ClassWrite
		}
		if kw == "with" && !withIsSelect(q) {
			return ClassWrite
		}
		// A locking read writes nothing but holds row locks that stall the
		// replication applier on a target, and MariaDB refuses FOR UPDATE
		// in a READ ONLY session (1792): not a read for replay.
		if lockingRead(q) {
			return ClassWrite
		}
		return ClassSelect
	case "show", "help":
		return ClassRead
	case "describe", "desc", "explain":
		// MySQL's EXPLAIN ANALYZE runs the statement it explains.
		rest := skipSpaceAndComments(q[len(kw):])
		if firstWord(rest) == "analyze" && Classify(rest[len("analyze"):]) != ClassSelect {
			return ClassWrite
		}
		return ClassRead
	case "use":
		return ClassUse
	case "begin", "start", "commit", "rollback", "savepoint", "release":
		return ClassTxn
	case "set":
		rest := skipSpaceAndComments(q[3:])
		switch firstWord(rest) {
		case "global", "persist", "persist_only", "password", "statement", "default":
			return ClassWrite
		}
		if hasPrefixFold(rest, "@@global.") || hasPrefixFold(rest, "@@persist") {
			return ClassWrite
		}
		return ClassSession
	}
	return ClassWrite
}

// UseDB returns the database named by a USE statement ("use `db`;").
func UseDB(q string) string {
	q = skipSpaceAndComments(q)
	if firstWord(q) != "use" {
		return ""
	}
	s := strings.TrimSpace(q[3:])
	s = strings.TrimRight(s, "; \t\r\n")
	if len(s) >= 2 && s[0] == '`' && s[len(s)-1] == '`' {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
	}
	return s
}

// sessionKey names what a session SET assigns, so a later SET of the same
// variables replaces the earlier one and a connection's session list stays
// bounded ("set autocommit=0" ... "set autocommit=1" a million times).
func sessionKey(q string) string {
	q = skipSpaceAndComments(q)
	s := q[3:] // after SET
	var keys []string
	depth, start := 0, 0
	var quote byte
	flush := func(part string) {
		if i := strings.IndexAny(part, "=:"); i >= 0 {
			part = part[:i]
		}
		k := strings.ToLower(strings.Join(strings.Fields(part), " "))
		for _, p := range []string{"session ", "local ", "@@session.", "@@local.", "@@"} {
			k = strings.TrimPrefix(k, p)
		}
		if k == "names" || strings.HasPrefix(k, "names ") {
			k = "names"
		}
		keys = append(keys, strings.Trim(k, "`"))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			flush(s[start:i])
			start = i + 1
		}
	}
	flush(s[start:])
	return strings.Join(keys, ",")
}

// setSession records a session statement on a connection. The slice is
// replaced, not modified, because events already returned share it.
func (c *conn) setSession(q string) {
	key := sessionKey(q)
	n := make([]string, 0, len(c.session)+1)
	nk := make([]string, 0, len(c.session)+1)
	for i, k := range c.sessionKeys {
		if k != key {
			n = append(n, c.session[i])
			nk = append(nk, k)
		}
	}
	c.session = append(n, q)
	c.sessionKeys = append(nk, key)
}

func (c *conn) reset() {
	c.session, c.sessionKeys, c.db = nil, nil, ""
}

// track updates the connection context after a statement.
func (c *conn) track(q string, cls Class) {
	switch cls {
	case ClassUse:
		c.db = UseDB(q)
	case ClassSession:
		c.setSession(q)
	}
}

func skipSpaceAndComments(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\r\n")
		switch {
		case strings.HasPrefix(q, "/*") && !strings.HasPrefix(q, "/*!") && !strings.HasPrefix(q, "/*M!"):
			i := strings.Index(q[2:], "*/")
			if i < 0 {
				return ""
			}
			q = q[i+4:]
		case strings.HasPrefix(q, "-- ") || strings.HasPrefix(q, "#"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
		default:
			return q
		}
	}
}

// firstWord returns the leading keyword in lower case (ASCII letters and _).
func firstWord(q string) string {
	i := 0
	for i < len(q) && i < 16 {
		c := q[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			break
		}
		i++
	}
	return strings.ToLower(q[:i])
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// Filter selects statements by class.
type Filter int

const (
	FilterAll    Filter = iota // every statement
	FilterSelect               // ClassSelect only
	FilterRead                 // ClassSelect and ClassRead
)

// ParseFilter turns "select", "read" or "all" into a Filter.
func ParseFilter(s string) (Filter, error) {
	switch s {
	case "all", "":
		return FilterAll, nil
	case "select":
		return FilterSelect, nil
	case "read":
		return FilterRead, nil
	}
	return FilterAll, fmt.Errorf("unknown filter %q (want select, read or all)", s)
}

// Match says whether a statement passes the filter.
func (f Filter) Match(q string) bool {
	if f == FilterAll {
		return true
	}
	return f.MatchClass(Classify(q))
}

// MatchClass is Match for a statement already classified.
func (f Filter) MatchClass(c Class) bool {
	switch f {
	case FilterSelect:
		return c == ClassSelect
	case FilterRead:
		return c == ClassSelect || c == ClassRead
	}
	return true
}

package querylog

import (
	"slices"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values for the parser's AST
)

// parsers are reused: a TiDB parser is large to build and not safe for
// concurrent use.
var parsers = sync.Pool{New: func() any { return parser.New() }}

func parseOne(q string) (ast.StmtNode, error) {
	p := parsers.Get().(*parser.Parser)
	defer parsers.Put(p)
	return p.ParseOneStmt(q, "", "")
}

// safeSessionVars are the system variables a read-only replay may set in its
// sessions: they change how the session's statements are read and answered,
// and nothing beyond the session. Everything else is left out on purpose,
// among them tx_read_only/transaction_read_only (SET SESSION TRANSACTION
// READ WRITE would undo the session's READ ONLY), isolation levels, and
// variables with side effects outside the session.
var safeSessionVars = []string{"sql_mode", "time_zone", "autocommit", "collation_connection"}

// safeValueFuncs are the functions a safe SET may compute its value with (as
// in SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')): built-ins without
// side effects. A stored function could write; a subquery could call one.
var safeValueFuncs = []string{"concat", "concat_ws", "replace", "if", "ifnull", "coalesce", "lower", "upper", "trim"}

// SafeSessionSet says whether a read-only replay may run q: a SET of only
// session-scoped variables from a short list (sql_mode, NAMES, CHARACTER
// SET, character_set_*, collation_connection, time_zone, autocommit) or of
// user variables (@x, which live in the session), with values that are
// literals, variables or the built-ins above.
//
// It is understood by a parser rather than by its first words: "SET
// sql_mode=DEFAULT, GLOBAL wait_timeout=78" is a session SET by its first word and
// changes the server. A statement the parser cannot read is not safe, and
// neither is one with executable comments (/*!...*/, /*M!...*/), which this
// parser and the server could read differently.
func SafeSessionSet(q string) bool {
	if strings.Contains(q, "/*!") || strings.Contains(q, "/*M!") {
		return false
	}
	stmt, err := parseOne(q)
	if err != nil {
		return false
	}
	set, ok := stmt.(*ast.SetStmt)
	if !ok {
		return false
	}
	for _, v := range set.Variables {
		if v.IsGlobal || !safeValue(v.Value) {
			return false
		}
		switch {
		case v.Name == ast.SetNames || v.Name == ast.SetCharset:
		case !v.IsSystem: // a user variable
		case !safeSystemVar(v.Name):
			return false
		}
	}
	return len(set.Variables) > 0
}

func safeSystemVar(name string) bool {
	name = strings.ToLower(name)
	if strings.HasPrefix(name, "character_set_") {
		return true
	}
	return slices.Contains(safeSessionVars, name)
}

// safeValue says whether a SET's value is computed without subqueries and
// without functions other than safeValueFuncs.
func safeValue(e ast.ExprNode) bool {
	if e == nil {
		return true
	}
	v := &valueChecker{ok: true}
	e.Accept(v)
	return v.ok
}

type valueChecker struct{ ok bool }

func (c *valueChecker) Enter(n ast.Node) (ast.Node, bool) {
	switch n := n.(type) {
	case *ast.SubqueryExpr:
		c.ok = false
	case *ast.FuncCallExpr:
		c.ok = c.ok && n.Schema.L == "" && slices.Contains(safeValueFuncs, n.FnName.L)
	case *ast.AggregateFuncExpr, *ast.WindowFuncExpr:
		c.ok = false
	}
	return n, !c.ok
}

func (c *valueChecker) Leave(n ast.Node) (ast.Node, bool) { return n, c.ok }

// lockingRead says whether a SELECT locks the rows it reads (FOR UPDATE,
// FOR SHARE, LOCK IN SHARE MODE), by its words outside strings and comments.
func lockingRead(q string) bool {
	var p1, p2 string
	found := false
	eachWord(q, func(w string) bool {
		if strings.EqualFold(p1, "for") && (strings.EqualFold(w, "update") || strings.EqualFold(w, "share")) ||
			strings.EqualFold(p2, "lock") && strings.EqualFold(p1, "in") && strings.EqualFold(w, "share") {
			found = true
			return false
		}
		p2, p1 = p1, w
		return true
	})
	return found
}

// eachWord calls f with each word of q (see scan) until f returns false.
func eachWord(q string, f func(string) bool) {
	scan(q, func(k tokKind, i, j int) bool { return k != tokWord || f(q[i:j]) })
}

type tokKind int

const (
	tokWord   tokKind = iota // letters, digits, _ and $ (also non-ASCII)
	tokString                // '...' or "..." with its quotes
	tokIdent                 // `...` with its quotes
	tokPunct                 // one other byte
)

// scan calls f with each token of q, as q[i:j], outside comments, until f
// returns false. The text of an executable comment (/*!50001 ... */) is code
// to the server and is scanned as tokens.
func scan(q string, f func(k tokKind, i, j int) bool) {
	inExec := false // inside /*! ... */: its */ is no token
	for i := 0; i < len(q); {
		c := q[i]
		k, j := tokPunct, i+1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case inExec && strings.HasPrefix(q[i:], "*/"):
			inExec = false
			i += 2
			continue
		case c == '\'' || c == '"':
			k, j = tokString, skipQuoted(q, i)
		case c == '`':
			k, j = tokIdent, skipQuoted(q, i)
		case strings.HasPrefix(q[i:], "/*!") || strings.HasPrefix(q[i:], "/*M!"):
			i += strings.IndexByte(q[i:], '!') + 1
			for i < len(q) && q[i] >= '0' && q[i] <= '9' {
				i++
			}
			inExec = true
			continue
		case strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return
			}
			i += end + 4
			continue
		case c == '#' || strings.HasPrefix(q[i:], "--") && (i+2 == len(q) || q[i+2] <= ' '):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				return
			}
			i += end + 1
			continue
		case isWordByte(c):
			k = tokWord
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
		}
		if !f(k, i, j) {
			return
		}
		i = j
	}
}

// skipQuoted returns the index after the quoted text that starts at q[i]. A
// backslash escapes in strings (not in identifiers), and a doubled quote
// stands for itself.
func skipQuoted(q string, i int) int {
	quote := q[i]
	for i++; i < len(q); i++ {
		switch {
		case q[i] == '\\' && quote != '`':
			i++
		case q[i] == quote:
			if i+1 < len(q) && q[i+1] == quote {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(q)
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// withIsSelect says whether a statement starting with WITH is a query: MySQL
// 8 also allows WITH ... UPDATE and WITH ... DELETE. One the parser cannot
// read is not taken for a query.
func withIsSelect(q string) bool {
	stmt, err := parseOne(q)
	if err != nil {
		return false
	}
	switch stmt.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		return true
	}
	return false
}

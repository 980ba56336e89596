package compat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/types"

	// The parser needs a value-expression driver to build literals.
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/dbshift/dbshift/internal/querylog"
)

// Query is one logged statement.
type Query struct {
	Text   string
	DB     string // current schema when it ran, "" if unknown
	ConnID uint64
	User   string // user@host when the log says
}

// QuerySource yields logged queries; Next returns io.EOF at the end.
// internal/querylog's readers satisfy it through a small adapter.
type QuerySource interface {
	Next() (Query, error)
}

// Analyzer runs the query-log checks over a stream of queries. Findings are
// grouped by check and fingerprint (parser.Normalize), with a count and the
// first example. Add is not safe for concurrent use; Run spreads the work
// over the CPUs itself.
type Analyzer struct {
	target   Target
	schema   *SchemaInfo
	checks   map[string]*Check
	reserved map[string]bool
	removed  map[string]removedFunction
	// Shapes are sharded by a hash of their key's head, each shard with its
	// own parser and maps, so Run can check on every core.
	shards []*shard

	Queries    int // statements seen
	Unparsable int // statements the grammar rejected
	Parsed     int // statements parsed (shape or date re-check)

	// Progress, when set, is called by Run's reading goroutine (the one
	// calling the source's Next) every 100,000 statements with the number
	// read so far.
	Progress func(read int)
}

// shard is one worker's share of the shapes and their findings.
type shard struct {
	a *Analyzer
	p *parser.Parser
	// Per shape key (text with literals blanked, and current schema): what
	// the query's shape says, so each shape is parsed once however often
	// it is logged.
	// Keyed by two 64-bit hashes of the key rather than the key itself:
	// comparing 100-byte keys of a map too big for the cache cost a third
	// of the time, and 128 bits make a collision among even millions of
	// shapes vanishingly unlikely.
	shapes map[shapeID]*shape
	seeds  [2]maphash.Seed
	buf    []byte
	groups map[groupKey]*Finding
	order  []groupKey

	queries, unparsable, parsed int
}

type shapeID [2]uint64

type shape struct {
	fp         string
	found      []hit      // findings that do not depend on literal values
	groups     []*Finding // where found is counted
	dateSlots  bool       // compares a temporal value with a string literal
	unparsable bool
}

// hit is one finding of one statement before grouping.
type hit struct {
	check  string
	object string
	msg    string
}

type groupKey struct {
	check, fp, object string
}

// NewAnalyzer prepares the query checks that apply to the source and target.
// schema, from LoadSchemaInfo, tells column types; nil means unknown, and
// then only comparisons with temporal functions are judged.
func NewAnalyzer(src Version, target Target, schema *SchemaInfo) *Analyzer {
	a := &Analyzer{
		target:   target,
		schema:   schema,
		checks:   map[string]*Check{},
		reserved: reservedWords(src, target),
		removed:  removedFunctionsFor(src, target),
	}
	if schema == nil {
		a.schema = &SchemaInfo{}
	}
	for _, c := range Checks() {
		if c.Scope == ScopeQuery && c.Applies(src, target) {
			a.checks[c.ID] = c
		}
	}
	n := runtime.GOMAXPROCS(0)
	for i := 0; i < n; i++ {
		a.shards = append(a.shards, &shard{a: a, p: parser.New(), shapes: map[shapeID]*shape{}, seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, groups: map[groupKey]*Finding{}})
	}
	return a
}

// shardOf hashes what every query of one shape shares: the schema and the
// text up to its first literal.
func (a *Analyzer) shardOf(db, text string) *shard {
	if len(a.shards) == 1 {
		return a.shards[0]
	}
	h := uint32(2166136261)
	for i := 0; i < len(db); i++ {
		h = (h ^ uint32(db[i])) * 16777619
	}
	for i := 0; i < len(text) && i < 96; i++ {
		c := text[i]
		if c == '\'' || c == '"' || (c >= '0' && c <= '9' && (i == 0 || !isWordByte(text[i-1]))) {
			break
		}
		h = (h ^ uint32(c)) * 16777619
	}
	return a.shards[h%uint32(len(a.shards))]
}

func (a *Analyzer) tally() {
	a.Queries, a.Unparsable, a.Parsed = 0, 0, 0
	for _, s := range a.shards {
		a.Queries += s.queries
		a.Unparsable += s.unparsable
		a.Parsed += s.parsed
	}
}

// Run feeds every query of src to the analyzer: one goroutine reads (log
// parsing) and deals the queries out in batches to one checker per CPU.
func (a *Analyzer) Run(parent context.Context, src QuerySource) error {
	const batch = 512
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	chans := make([]chan []Query, len(a.shards))
	var wg sync.WaitGroup
	for i, s := range a.shards {
		chans[i] = make(chan []Query, 8)
		wg.Add(1)
		go func(s *shard, in <-chan []Query) {
			defer wg.Done()
			for b := range in {
				if ctx.Err() != nil {
					continue // drain
				}
				for _, q := range b {
					s.add(q)
				}
			}
		}(s, chans[i])
	}
	index := map[*shard]int{}
	for i, s := range a.shards {
		index[s] = i
	}
	pending := make([][]Query, len(a.shards))
	send := func(i int) bool {
		select {
		case chans[i] <- pending[i]:
			pending[i] = make([]Query, 0, batch)
			return true
		case <-ctx.Done():
			return false
		}
	}
	var readErr error
	read := 0
	for ctx.Err() == nil {
		q, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("reading queries: %w", err)
			break
		}
		if read++; a.Progress != nil && read%100000 == 0 {
			a.Progress(read)
		}
		q.Text = strings.TrimSpace(q.Text)
		i := index[a.shardOf(q.DB, q.Text)]
		if pending[i] = append(pending[i], q); len(pending[i]) == batch && !send(i) {
			break
		}
	}
	// What was read before an error is still checked.
	for i := range pending {
		if len(pending[i]) > 0 {
			send(i)
		}
		close(chans[i])
	}
	wg.Wait()
	a.tally()
	if readErr != nil {
		return readErr
	}
	return parent.Err()
}

// Add checks one logged statement.
func (a *Analyzer) Add(q Query) {
	q.Text = strings.TrimSpace(q.Text)
	a.shardOf(q.DB, q.Text).add(q)
	a.tally()
}

func (s *shard) add(q Query) {
	text := q.Text
	if text == "" {
		return
	}
	s.queries++
	// The shape key is the text with its literals blanked, built in one
	// pass that also spots date-like literals; parser.Normalize (several
	// times slower) runs once per new shape to name its fingerprint.
	var badLiteral bool
	s.buf, badLiteral = shapeKey(s.buf[:0], q.DB, text)
	id := shapeID{maphash.Bytes(s.seeds[0], s.buf), maphash.Bytes(s.seeds[1], s.buf)}
	sh, seen := s.shapes[id]
	var dates []hit
	if !seen {
		sh = &shape{fp: parser.Normalize(text, "ON")}
		dates = s.analyze(text, q.DB, sh)
		s.shapes[id] = sh
	} else if sh.dateSlots && badLiteral {
		dates = s.analyze(text, q.DB, &shape{})
	}
	fp := sh.fp
	if sh.unparsable {
		s.unparsable++
	}
	if !seen {
		// Resolve the shape's groups once; later queries of the shape
		// only count.
		for _, h := range sh.found {
			if f := s.record(h, fp, text); f != nil {
				sh.groups = append(sh.groups, f)
			}
		}
		sh.found = nil
	} else {
		for _, f := range sh.groups {
			f.Count++
		}
	}
	for _, h := range dates {
		s.record(h, fp, text)
	}
}

const maxExample = 1000

// record counts one hit in its group and returns the group (nil when the
// check does not apply).
func (s *shard) record(h hit, fp, text string) *Finding {
	c, ok := s.a.checks[h.check]
	if !ok {
		return nil
	}
	k := groupKey{h.check, fp, h.object}
	f, ok := s.groups[k]
	if !ok {
		// Redacted before the cut, which could split a literal.
		text = querylog.RedactSecrets(text)
		if len(text) > maxExample {
			text = text[:maxExample] + "..."
		}
		fn := c.finding(s.a.target, h.object, 0, h.msg)
		fn.Query = text
		f = &fn
		s.groups[k] = f
		s.order = append(s.order, k)
	}
	f.Count++
	return f
}

// shapeKey appends to b the schema and the text with every quoted string
// replaced by 's' and every number by 'n', and reports whether a string
// literal is an invalid date.
func shapeKey(b []byte, db, text string) ([]byte, bool) {
	b = append(b, db...)
	b = append(b, 0)
	bad := false
	// Inside IN (...) a list of literals becomes one placeholder, so lists
	// of every length share a shape.
	inList := false
	placeholder := func(p byte) {
		if inList {
			k := len(b)
			for k > 0 && isSpace(b[k-1]) {
				k--
			}
			if k > 0 && b[k-1] == ',' {
				k--
				for k > 0 && isSpace(b[k-1]) {
					k--
				}
				if k > 0 && (b[k-1] == 'n' || b[k-1] == 's') && (k < 2 || !isWordByte(b[k-2])) {
					b = b[:k]
					return
				}
			}
		}
		b = append(b, p)
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"':
			j, plain := skipString(text, i)
			if !bad && j-i >= 10 && j-i <= 34 {
				lit := text[i+1 : j-1]
				if !plain {
					_, lit = scanString(text, i)
				}
				bad = badDate(lit) != ""
			}
			placeholder('s')
			i = j
		case c >= '0' && c <= '9' && (i == 0 || !isWordByte(text[i-1])):
			for i < len(text) && (isWordByte(text[i]) || text[i] == '.') {
				i++
			}
			placeholder('n')
		case c == '`':
			inList = false
			end := len(text)
			if j := strings.IndexByte(text[i+1:], '`'); j >= 0 {
				end = i + j + 2
			}
			b = append(b, text[i:end]...)
			i = end
		case c == '(':
			inList = endsWithIn(b)
			b = append(b, c)
			i++
		case inList || (c >= '0' && c <= '9'):
			if !isSpace(c) && c != ',' {
				inList = false
			}
			b = append(b, c)
			i++
		default:
			// Copy the run up to the next byte that matters in one go.
			j := i + 1
			for j < len(text) && !keySpecial[text[j]] {
				j++
			}
			b = append(b, text[i:j]...)
			i = j
		}
	}
	return collapseValues(b), bad
}

// keySpecial marks the bytes shapeKey must look at one by one.
var keySpecial = func() (t [256]bool) {
	for _, c := range []byte("'\"`(0123456789") {
		t[c] = true
	}
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// endsWithIn: the key ends with the word IN (and spaces).
func endsWithIn(b []byte) bool {
	k := len(b)
	for k > 0 && isSpace(b[k-1]) {
		k--
	}
	return k >= 2 && (b[k-2]|0x20) == 'i' && (b[k-1]|0x20) == 'n' && (k == 2 || !isWordByte(b[k-3]))
}

// skipString returns the index after the quoted string at text[i] and
// whether it holds no escapes (so its content is text[i+1:end-1]).
func skipString(text string, i int) (int, bool) {
	q := text[i]
	plain := true
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case '\\':
			plain = false
			j++
		case q:
			if j+1 < len(text) && text[j+1] == q {
				plain = false
				j++
				continue
			}
			return j + 1, plain
		}
	}
	return len(text), false
}

// collapseValues cuts a blanked multi-row VALUES list to its first row, so
// bulk INSERTs of every row count share one shape instead of each being
// parsed. Only a tail of nothing but tuples of literals is cut.
func collapseValues(key []byte) []byte {
	const minTail = 256
	if len(key) < minTail {
		return key
	}
	// Only INSERT and REPLACE have such lists (the key starts "db\x00").
	stmt := bytes.TrimLeft(key[bytes.IndexByte(key, 0)+1:], " \t\r\n(")
	if len(stmt) < 7 || !(bytes.EqualFold(stmt[:6], []byte("insert")) || bytes.EqualFold(stmt[:7], []byte("replace"))) {
		return key
	}
	i := len(key) - len("values")
	for i >= 0 && !bytes.EqualFold(key[i:i+len("values")], []byte("values")) {
		i--
	}
	if i < 0 {
		return key
	}
	tail := key[i+len("values"):]
	if len(tail) < minTail {
		return key
	}
	for _, c := range tail {
		switch c {
		case '(', ')', ',', 'n', 's', ' ', '\t', '\r', '\n', 'N', 'U', 'L', 'u', 'l':
		default:
			return key
		}
	}
	end := bytes.IndexByte(tail, ')')
	if end < 0 {
		return key
	}
	return append(key[:i+len("values")+end+1], "..."...)
}

// Findings returns the grouped findings: by check in registry order, then
// by count, most frequent first. Groups met by several shards are summed.
func (a *Analyzer) Findings() []Finding {
	rank := map[string]int{}
	for i, c := range Checks() {
		rank[c.ID] = i
	}
	merged := map[groupKey]int{}
	var out []Finding
	for _, s := range a.shards {
		for _, k := range s.order {
			f := s.groups[k]
			if i, ok := merged[k]; ok {
				out[i].Count += f.Count
				continue
			}
			merged[k] = len(out)
			out = append(out, *f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].Check] != rank[out[j].Check] {
			return rank[out[i].Check] < rank[out[j].Check]
		}
		return out[i].Count > out[j].Count
	})
	return out
}

// parse runs the TiDB grammar, which panics on some input its test driver
// does not implement (an integer literal of 82 digits or more: MyDecimal
// "not implemented", found by FuzzAnalyzer). One such line must not end the
// check of a whole log: the statement counts as unparsable, and the shard
// gets a fresh parser in case the panic left it half-way.
func (s *shard) parse(text string) (stmts []ast.StmtNode, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.p = parser.New()
			stmts, err = nil, errors.New("the parser gave up on it (a literal it cannot represent)")
		}
	}()
	stmts, _, err = s.p.Parse(text, "", "")
	return stmts, err
}

// analyze parses one statement, fills the shape's literal-independent hits
// and returns the invalid-date hits of this very text.
func (s *shard) analyze(text, db string, sh *shape) []hit {
	a := s.a
	s.parsed++
	toks := scanSQL(text)
	stmts, err := s.parse(text)
	if err != nil {
		sh.unparsable = true
		sh.found = append(sh.found, hit{check: QUnparsable, msg: "the MySQL grammar could not parse this statement: " + firstLine(err.Error())})
		sh.found = append(sh.found, a.wordHits(toks, nil)...)
		if groupByHasOrder(toks) {
			sh.found = append(sh.found, hit{check: QGroupByOrder, msg: "GROUP BY with ASC/DESC fails with a syntax error since 8.0.13"})
		}
		for _, fn := range calledFunctions(toks, a.removed) {
			sh.found = append(sh.found, a.removedHit(fn))
		}
		for i, t := range toks {
			if t.kind == tokWord && (t.upper() == "SQL_CALC_FOUND_ROWS" || t.upper() == "FOUND_ROWS" && nextIs(toks, i, "(")) {
				sh.found = append(sh.found, hit{check: QFoundRows, msg: "SQL_CALC_FOUND_ROWS / FOUND_ROWS() are deprecated since 8.0.17"})
				break
			}
		}
		if setsSQLMode(toks) {
			sh.found = append(sh.found, hit{check: QSessionSQLMode, msg: "the session sets its own sql_mode"})
		}
		return nil
	}
	v := &visitor{a: a, db: db, tables: map[string][2]string{}, idents: map[string]bool{}}
	// Table aliases first, so columns resolve wherever they appear.
	for _, s := range stmts {
		s.Accept(&tableCollector{v: v})
	}
	for _, s := range stmts {
		s.Accept(v)
	}
	sh.found = append(sh.found, v.hits...)
	sh.found = append(sh.found, a.wordHits(toks, v.idents)...)
	sh.dateSlots = v.dateSlots
	return v.dates
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func (a *Analyzer) removedHit(name string) hit {
	f := a.removed[name]
	return hit{check: QRemovedFunction, object: name + "()", msg: fmt.Sprintf("%s() does not exist in MySQL %s; use %s", name, f.RemovedIn, f.Replacement)}
}

// wordHits finds words the target reserves written unquoted where an
// identifier stands. idents, from the AST, holds the identifiers of a parsed
// statement (lower case); nil means the statement did not parse, and then
// the word's context alone decides.
func (a *Analyzer) wordHits(toks []token, idents map[string]bool) []hit {
	var out []hit
	seen := map[string]bool{}
	for i, t := range toks {
		if t.kind != tokWord || !a.reserved[t.upper()] || seen[t.upper()] {
			continue
		}
		w := t.upper()
		if idents != nil && !idents[strings.ToLower(w)] {
			continue
		}
		if keywordUse(toks, i) {
			continue
		}
		seen[w] = true
		out = append(out, hit{check: QReservedWord, object: w, msg: fmt.Sprintf("%s is a reserved word in MySQL %s; unquoted as an identifier it is a syntax error", w, a.target)})
	}
	return out
}

// keywordUse reports whether the reserved word at toks[i] is used as the
// keyword it is (so it is no finding): a function call, a qualified name
// part, or one of the constructs 5.7 or MariaDB already had.
func keywordUse(toks []token, i int) bool {
	if nextIs(toks, i, "(") || prevIs(toks, i, ".") {
		return true
	}
	word := func(j int) string {
		if j >= 0 && j < len(toks) && toks[j].kind == tokWord {
			return toks[j].upper()
		}
		return ""
	}
	prev, next := word(i-1), word(i+1)
	nextNum := i+1 < len(toks) && toks[i+1].kind == tokNumber
	switch toks[i].upper() {
	case "FUNCTION":
		for j := 0; j < i; j++ {
			switch word(j) {
			case "CREATE", "DROP", "ALTER", "SHOW", "GRANT", "REVOKE":
				return true
			}
		}
	case "ROW":
		return prev == "CURRENT" || prev == "EACH" || prev == "ONE" || next == "FORMAT"
	case "ROWS":
		return next == "BETWEEN" || next == "UNBOUNDED" || next == "CURRENT" || next == "ONLY" || next == "EXAMINED" || nextNum || prev == "FOUND"
	case "OVER":
		return prevIs(toks, i, ")")
	case "WINDOW":
		return i+2 < len(toks) && word(i+2) == "AS"
	case "EMPTY":
		return prev == "ON"
	case "OF":
		return prev == "UPDATE" || prev == "SHARE"
	case "RECURSIVE", "CUBE":
		return prev == "WITH"
	case "SYSTEM":
		return prev == "WITH" || next == "VERSIONING" || next == "TIME"
	case "EXCEPT", "INTERSECT":
		return next == "SELECT" || next == "ALL" || next == "DISTINCT" || (i+1 < len(toks) && toks[i+1].kind == tokPunct)
	}
	return false
}

// setsSQLMode: SET [SESSION] sql_mode / @@sql_mode / @@session.sql_mode.
func setsSQLMode(toks []token) bool {
	if len(toks) == 0 || toks[0].upper() != "SET" {
		return false
	}
	for i, t := range toks {
		if t.kind == tokWord && strings.EqualFold(t.text, "sql_mode") {
			return !(i > 0 && toks[i-1].upper() == "GLOBAL") && !(i > 1 && toks[i-2].upper() == "GLOBAL")
		}
	}
	return false
}

// tableCollector maps each table name and alias of a statement to its
// schema and table, for resolving columns.
type tableCollector struct{ v *visitor }

func (c *tableCollector) Enter(n ast.Node) (ast.Node, bool) {
	if ts, ok := n.(*ast.TableSource); ok {
		if tn, ok := ts.Source.(*ast.TableName); ok {
			schema := tn.Schema.L
			if schema == "" {
				schema = strings.ToLower(c.v.db)
			}
			ref := [2]string{schema, tn.Name.L}
			c.v.tables[tn.Name.L] = ref
			if ts.AsName.L != "" {
				c.v.tables[ts.AsName.L] = ref
			}
		}
	}
	return n, false
}

func (c *tableCollector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// visitor walks one parsed statement for every query check.
type visitor struct {
	a         *Analyzer
	db        string
	tables    map[string][2]string // alias or name -> schema, table
	idents    map[string]bool
	hits      []hit
	dates     []hit
	dateSlots bool
}

var comparisonOps = map[opcode.Op]bool{
	opcode.EQ: true, opcode.NE: true, opcode.LT: true, opcode.LE: true,
	opcode.GT: true, opcode.GE: true, opcode.NullEQ: true,
}

func (v *visitor) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.ColumnName:
		v.ident(x.Name.L, x.Table.L, x.Schema.L)
	case *ast.TableName:
		v.ident(x.Name.L, x.Schema.L)
	case *ast.TableSource:
		v.ident(x.AsName.L)
	case *ast.SelectField:
		v.ident(x.AsName.L)
	case *ast.FuncCallExpr:
		name := strings.ToUpper(x.FnName.L)
		if _, ok := v.a.removed[name]; ok && x.Schema.L == "" {
			v.hits = append(v.hits, v.a.removedHit(name))
		}
		if name == "FOUND_ROWS" {
			v.hits = append(v.hits, hit{check: QFoundRows, msg: "FOUND_ROWS() is deprecated since 8.0.17"})
		}
	case *ast.SelectStmt:
		if x.SelectStmtOpts != nil && x.SelectStmtOpts.CalcFoundRows {
			v.hits = append(v.hits, hit{check: QFoundRows, msg: "SQL_CALC_FOUND_ROWS is deprecated since 8.0.17"})
		}
		if x.GroupBy != nil {
			for _, it := range x.GroupBy.Items {
				if !it.NullOrder {
					v.hits = append(v.hits, hit{check: QGroupByOrder, msg: "GROUP BY with ASC/DESC fails with a syntax error since 8.0.13"})
					break
				}
			}
		}
		if col := v.fullGroupBy(x); col != "" {
			v.hits = append(v.hits, hit{check: QOnlyFullGroupBy, msg: fmt.Sprintf("%s is neither grouped nor aggregated; ONLY_FULL_GROUP_BY (8.0 default) rejects the query", col)})
		}
	case *ast.SetStmt:
		for _, va := range x.Variables {
			if va.IsSystem && !va.IsGlobal && strings.EqualFold(va.Name, "sql_mode") {
				v.hits = append(v.hits, hit{check: QSessionSQLMode, msg: "the session sets its own sql_mode" + modeNote(va.Value)})
			}
		}
	case *ast.BinaryOperationExpr:
		if comparisonOps[x.Op] {
			v.compare(x.L, x.R)
			v.compare(x.R, x.L)
		}
	case *ast.BetweenExpr:
		v.compare(x.Expr, x.Left)
		v.compare(x.Expr, x.Right)
	case *ast.PatternInExpr:
		for _, e := range x.List {
			v.compare(x.Expr, e)
		}
	}
	return n, false
}

func (v *visitor) Leave(n ast.Node) (ast.Node, bool) { return n, true }

func (v *visitor) ident(names ...string) {
	for _, s := range names {
		if s != "" {
			v.idents[s] = true
		}
	}
}

// modeNote names removed flags in a literal sql_mode value.
func modeNote(e ast.ExprNode) string {
	val, ok := e.(ast.ValueExpr)
	if !ok {
		return ""
	}
	s, ok := val.GetValue().(string)
	if !ok {
		return ""
	}
	var bad []string
	for _, f := range sqlModeFlags(s) {
		if hasFlag(obsoleteSQLModes, f) {
			bad = append(bad, f)
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return " including " + strings.Join(bad, ",") + ", which 8.0 removed: the SET fails"
}

// compare judges "temporal op literal".
func (v *visitor) compare(temporal, lit ast.ExprNode) {
	what := v.temporal(temporal)
	if what == "" {
		return
	}
	val, ok := lit.(ast.ValueExpr)
	if !ok {
		return
	}
	s, ok := val.GetValue().(string)
	if !ok {
		return
	}
	v.dateSlots = true
	if why := badDate(s); why != "" {
		v.dates = append(v.dates, hit{check: QInvalidDate, object: what,
			msg: fmt.Sprintf("'%s' (%s) compared with %s: MySQL 8.0.16+ raises an error instead of comparing", s, why, what)})
	}
}

var temporalFuncs = map[string]bool{
	"now": true, "curdate": true, "current_date": true, "current_timestamp": true,
	"sysdate": true, "utc_date": true, "utc_timestamp": true, "localtime": true,
	"localtimestamp": true, "date": true, "timestamp": true, "from_unixtime": true,
	"str_to_date": true, "date_add": true, "date_sub": true, "adddate": true,
	"subdate": true, "last_day": true, "makedate": true, "convert_tz": true,
}

// temporal names the DATE/DATETIME/TIMESTAMP value e stands for, or "".
func (v *visitor) temporal(e ast.ExprNode) string {
	switch x := e.(type) {
	case *ast.ColumnNameExpr:
		return v.temporalColumn(x.Name)
	case *ast.FuncCallExpr:
		if temporalFuncs[x.FnName.L] {
			return x.FnName.L + "()"
		}
	case *ast.FuncCastExpr:
		if x.Tp != nil && isTemporalType(x.Tp.GetType()) {
			return "CAST(... AS " + strings.ToUpper(types.TypeToStr(x.Tp.GetType(), "")) + ")"
		}
	case *ast.ParenthesesExpr:
		return v.temporal(x.Expr)
	}
	return ""
}

func isTemporalType(t byte) bool {
	return t == mysql.TypeDate || t == mysql.TypeDatetime || t == mysql.TypeTimestamp
}

func (v *visitor) temporalColumn(c *ast.ColumnName) string {
	var cands [][2]string
	if c.Table.L != "" {
		ref, ok := v.tables[c.Table.L]
		if !ok {
			schema := c.Schema.L
			if schema == "" {
				schema = strings.ToLower(v.db)
			}
			ref = [2]string{schema, c.Table.L}
		}
		if c.Schema.L != "" {
			ref[0] = c.Schema.L
		}
		cands = append(cands, ref)
	} else {
		for _, ref := range v.tables {
			cands = append(cands, ref)
		}
		sort.Slice(cands, func(i, j int) bool { return cands[i][0]+cands[i][1] < cands[j][0]+cands[j][1] })
	}
	for _, ref := range cands {
		if t := v.a.schema.ColumnType(ref[0], ref[1], c.Name.L); t != "" {
			if t == "date" || t == "datetime" || t == "timestamp" {
				return fmt.Sprintf("%s.%s.%s (%s)", ref[0], ref[1], c.Name.L, strings.ToUpper(t))
			}
			return ""
		}
	}
	return ""
}

// fullGroupBy returns the first select-list column that ONLY_FULL_GROUP_BY
// would reject, or "". Only simple, decidable cases are judged: a group by a
// column that is by itself a unique key is let through (functional
// dependence), as are expressions grouped verbatim and aliases.
func (v *visitor) fullGroupBy(s *ast.SelectStmt) string {
	if s.Fields == nil {
		return ""
	}
	g := &groupSet{qualified: map[string]bool{}, names: map[string]bool{}, bare: map[string]bool{}}
	groupedText := map[string]bool{}
	groupedField := map[int]bool{}
	if s.GroupBy == nil {
		aggregated := false
		for _, f := range s.Fields.Fields {
			if f.Expr != nil && hasAggregate(f.Expr) {
				aggregated = true
			}
		}
		if !aggregated {
			return ""
		}
	} else {
		for _, it := range s.GroupBy.Items {
			switch x := it.Expr.(type) {
			case *ast.PositionExpr:
				groupedField[x.N-1] = true
			case *ast.ColumnNameExpr:
				if v.unique(x.Name) {
					return ""
				}
				g.names[x.Name.Name.L] = true
				if x.Name.Table.L == "" {
					g.bare[x.Name.Name.L] = true
				} else {
					g.qualified[x.Name.Table.L+"."+x.Name.Name.L] = true
				}
			default:
				groupedText[restore(it.Expr)] = true
			}
		}
	}
	selectAlias := map[string]bool{}
	for _, f := range s.Fields.Fields {
		if f.AsName.L != "" {
			selectAlias[f.AsName.L] = true
		}
	}
	for i, f := range s.Fields.Fields {
		switch {
		case groupedField[i]:
		case f.WildCard != nil:
			return "*"
		case f.AsName.L != "" && g.bare[f.AsName.L]:
		case groupedText[restore(f.Expr)]:
		default:
			if col := ungroupedColumn(f.Expr, g); col != "" {
				return col
			}
		}
	}
	// ORDER BY of a grouped query: plain columns must be grouped too,
	// unless they name a select-list alias.
	if s.OrderBy != nil && s.GroupBy != nil {
		for _, it := range s.OrderBy.Items {
			if c, ok := it.Expr.(*ast.ColumnNameExpr); ok && c.Name.Table.L == "" && selectAlias[c.Name.Name.L] {
				continue
			}
			if groupedText[restore(it.Expr)] {
				continue
			}
			if _, ok := it.Expr.(*ast.PositionExpr); ok {
				continue
			}
			if col := ungroupedColumn(it.Expr, g); col != "" {
				return col + " (in ORDER BY)"
			}
		}
	}
	return ""
}

// groupSet holds the grouped columns: "t.a" as written, every grouped
// name, and the names grouped without a qualifier.
type groupSet struct {
	qualified, names, bare map[string]bool
}

func (g *groupSet) has(c *ast.ColumnName) bool {
	if c.Table.L == "" {
		return g.names[c.Name.L]
	}
	return g.qualified[c.Table.L+"."+c.Name.L] || g.bare[c.Name.L]
}

// unique reports whether the column alone is a primary or unique key.
func (v *visitor) unique(c *ast.ColumnName) bool {
	if len(v.tables) == 0 {
		return false
	}
	for _, ref := range v.tables {
		if c.Table.L != "" {
			if r, ok := v.tables[c.Table.L]; !ok || r != ref {
				continue
			}
		}
		if v.a.schema.Unique(ref[0], ref[1], c.Name.L) {
			return true
		}
	}
	return false
}

func restore(e ast.ExprNode) string {
	var b strings.Builder
	if e == nil {
		return ""
	}
	if err := e.Restore(format.NewRestoreCtx(format.DefaultRestoreFlags, &b)); err != nil {
		return ""
	}
	return b.String()
}

// hasAggregate: an aggregate outside subqueries and window functions.
func hasAggregate(e ast.ExprNode) bool {
	f := &aggFinder{}
	e.Accept(f)
	return f.found
}

type aggFinder struct{ found bool }

func (f *aggFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.AggregateFuncExpr:
		f.found = true
		return n, true
	case *ast.SubqueryExpr, *ast.WindowFuncExpr:
		return n, true
	}
	return n, false
}

func (f *aggFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// ungroupedColumn returns the first column of e outside aggregates,
// ANY_VALUE() and subqueries that is not grouped.
func ungroupedColumn(e ast.ExprNode, g *groupSet) string {
	f := &colFinder{g: g}
	e.Accept(f)
	return f.bad
}

type colFinder struct {
	g   *groupSet
	bad string
}

func (f *colFinder) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.AggregateFuncExpr, *ast.SubqueryExpr, *ast.WindowFuncExpr:
		return n, true
	case *ast.FuncCallExpr:
		if x.FnName.L == ast.AnyValue {
			return n, true
		}
	case *ast.ColumnName:
		if f.bad == "" && !f.g.has(x) {
			f.bad = x.Name.O
			if x.Table.O != "" {
				f.bad = x.Table.O + "." + x.Name.O
			}
		}
	}
	return n, false
}

func (f *colFinder) Leave(n ast.Node) (ast.Node, bool) { return n, true }

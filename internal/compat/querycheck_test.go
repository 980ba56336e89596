package compat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/querylog"
)

func testSchema() *SchemaInfo {
	s := &SchemaInfo{}
	for _, c := range [][2]string{
		{"id", "int"}, {"created", "date"}, {"updated", "datetime"}, {"ts", "timestamp"},
		{"code", "varchar"}, {"name", "varchar"}, {"status", "varchar"}, {"amount", "decimal"},
	} {
		s.AddColumn("app", "orders", c[0], c[1], c[0] == "id")
	}
	s.AddColumn("app", "customers", "id", "int", true)
	s.AddColumn("app", "customers", "name", "varchar", false)
	s.AddColumn("app", "customers", "born", "date", false)
	return s
}

func analyze(t *testing.T, src string, target Target, queries ...string) *Analyzer {
	t.Helper()
	v, err := ParseVersion(src)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAnalyzer(v, target, testSchema())
	for _, q := range queries {
		a.Add(Query{Text: q, DB: "app"})
	}
	return a
}

func checksOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Check)
	}
	return out
}

func has(fs []Finding, check string) bool {
	for _, f := range fs {
		if f.Check == check {
			return true
		}
	}
	return false
}

func TestAnalyzer_QueryChecks(t *testing.T) {
	cases := []struct {
		name  string
		query string
		check string
		want  bool
	}{
		// Invalid dates compared with temporal columns or functions.
		{"year 10000 vs DATE", "SELECT * FROM orders WHERE created < '10000-01-01'", QInvalidDate, true},
		{"9999-99-99 vs DATETIME", "SELECT id FROM orders o WHERE o.updated <= '9999-99-99'", QInvalidDate, true},
		{"zero datetime vs TIMESTAMP", "UPDATE orders SET status = 'x' WHERE ts = '0000-00-00 00:00:00'", QInvalidDate, true},
		{"Feb 29 of year 0", "SELECT * FROM orders WHERE created BETWEEN '0000-02-29' AND '2020-01-01'", QInvalidDate, true},
		{"Feb 30 in IN list", "SELECT * FROM orders WHERE created IN ('2021-01-01', '2021-02-30')", QInvalidDate, true},
		{"invalid vs NOW()", "SELECT 1 FROM orders WHERE NOW() > '2020-13-01'", QInvalidDate, true},
		{"invalid vs CAST AS DATE", "SELECT 1 FROM orders WHERE CAST(code AS DATE) = '2020-02-31'", QInvalidDate, true},
		{"joined table alias", "SELECT o.id FROM orders o JOIN customers c ON c.id = o.id WHERE c.born > '0000-00-00'", QInvalidDate, true},
		{"valid far bound", "SELECT * FROM orders WHERE created < '9999-12-31'", QInvalidDate, false},
		{"valid leap day", "SELECT * FROM orders WHERE created = '2024-02-29 10:00:00'", QInvalidDate, false},
		{"date-like string vs VARCHAR", "SELECT * FROM orders WHERE code = '9999-99-99'", QInvalidDate, false},
		{"date-like string selected, not compared", "SELECT '0000-00-00' AS d FROM orders", QInvalidDate, false},
		{"non-date string vs DATE", "SELECT * FROM orders WHERE created = 'pending'", QInvalidDate, false},
		{"unknown table", "SELECT * FROM other WHERE created = '9999-99-99'", QInvalidDate, false},

		// Reserved words of the target.
		{"unquoted column rank", "SELECT rank FROM orders", QReservedWord, true},
		{"unquoted table system", "SELECT a FROM system", QReservedWord, true},
		{"unquoted alias window", "SELECT id AS window FROM orders", QReservedWord, true},
		{"insert column function", "INSERT INTO t (function) VALUES (1)", QReservedWord, true},
		{"quoted rank", "SELECT `rank` FROM orders", QReservedWord, false},
		{"qualified rank", "SELECT o.rank FROM orders o", QReservedWord, false},
		{"rank in a string", "SELECT * FROM orders WHERE status = 'rank'", QReservedWord, false},
		{"row constructor", "SELECT * FROM orders WHERE ROW(id, code) = ROW(1, 'a')", QReservedWord, false},
		{"create function", "CREATE FUNCTION f() RETURNS INT RETURN 1", QReservedWord, false},
		{"rank() window function", "SELECT id, RANK() OVER (ORDER BY amount) FROM orders", QReservedWord, false},

		// Removed functions.
		{"PASSWORD()", "SELECT PASSWORD('secret')", QRemovedFunction, true},
		{"ENCRYPT()", "UPDATE users SET pw = ENCRYPT('x', 'ab') WHERE id = 1", QRemovedFunction, true},
		{"ENCODE()", "SELECT ENCODE(name, 'k') FROM orders", QRemovedFunction, true},
		{"DES_DECRYPT()", "SELECT DES_DECRYPT(code) FROM orders", QRemovedFunction, true},
		{"GLENGTH()", "SELECT GLENGTH(g) FROM shapes", QRemovedFunction, true},
		{"AES_ENCRYPT()", "SELECT AES_ENCRYPT(name, 'k') FROM orders", QRemovedFunction, false},
		{"password column", "SELECT password FROM users", QRemovedFunction, false},
		{"password in a string", "SELECT 'PASSWORD(x)' FROM users", QRemovedFunction, false},

		// GROUP BY ASC/DESC.
		{"group by desc", "SELECT status, COUNT(*) FROM orders GROUP BY status DESC", QGroupByOrder, true},
		{"group by asc", "SELECT status, COUNT(*) FROM orders GROUP BY status ASC", QGroupByOrder, true},
		{"group by then order by desc", "SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY status DESC", QGroupByOrder, false},

		// SQL_CALC_FOUND_ROWS / FOUND_ROWS().
		{"sql_calc_found_rows", "SELECT SQL_CALC_FOUND_ROWS * FROM orders LIMIT 10", QFoundRows, true},
		{"found_rows()", "SELECT FOUND_ROWS()", QFoundRows, true},
		{"count(*)", "SELECT COUNT(*) FROM orders", QFoundRows, false},

		// ONLY_FULL_GROUP_BY.
		{"ungrouped column", "SELECT status, name, COUNT(*) FROM orders GROUP BY status", QOnlyFullGroupBy, true},
		{"aggregate without group by", "SELECT name, COUNT(*) FROM orders", QOnlyFullGroupBy, true},
		{"wildcard with group by", "SELECT * FROM orders GROUP BY status", QOnlyFullGroupBy, true},
		{"all grouped", "SELECT status, name, COUNT(*) FROM orders GROUP BY status, name", QOnlyFullGroupBy, false},
		{"aggregated", "SELECT status, MAX(name), ANY_VALUE(code) FROM orders GROUP BY status", QOnlyFullGroupBy, false},
		{"grouped by primary key", "SELECT id, name, status FROM orders GROUP BY id", QOnlyFullGroupBy, false},
		{"grouped by position", "SELECT status, COUNT(*) FROM orders GROUP BY 1", QOnlyFullGroupBy, false},
		{"grouped expression", "SELECT YEAR(created), COUNT(*) FROM orders GROUP BY YEAR(created)", QOnlyFullGroupBy, false},
		{"qualified vs bare", "SELECT o.status, COUNT(*) FROM orders o GROUP BY status", QOnlyFullGroupBy, false},
		{"no aggregate", "SELECT status, name FROM orders", QOnlyFullGroupBy, false},
		{"order by ungrouped", "SELECT status, COUNT(*) FROM orders GROUP BY status ORDER BY created", QOnlyFullGroupBy, true},
		{"order by aggregate alias", "SELECT status, COUNT(*) AS n FROM orders GROUP BY status ORDER BY n DESC, status", QOnlyFullGroupBy, false},
		{"order by aggregate", "SELECT status FROM orders GROUP BY status ORDER BY MAX(created)", QOnlyFullGroupBy, false},

		// Sessions setting sql_mode.
		{"set sql_mode", "SET sql_mode = 'NO_AUTO_CREATE_USER'", QSessionSQLMode, true},
		{"set session sql_mode", "SET SESSION sql_mode = ''", QSessionSQLMode, true},
		{"set @@sql_mode", "SET @@sql_mode = 'TRADITIONAL'", QSessionSQLMode, true},
		{"set global sql_mode", "SET GLOBAL sql_mode = ''", QSessionSQLMode, false},
		{"set names", "SET NAMES utf8mb4", QSessionSQLMode, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := analyze(t, "5.7.44-log", Target80, c.query)
			fs := a.Findings()
			if got := has(fs, c.check); got != c.want {
				t.Fatalf("%s: finding %s = %v, want %v (all: %v)", c.query, c.check, got, c.want, fs)
			}
			for _, f := range fs {
				if f.Check == c.check && (f.Query == "" || f.Count != 1 || f.Message == "" || f.Fix == "") {
					t.Errorf("incomplete finding %+v", f)
				}
			}
		})
	}
}

func TestAnalyzer_ReservedWordsOf84(t *testing.T) {
	q := "SELECT qualify, manual FROM jobs"
	if fs := analyze(t, "8.0.36", Target84, q).Findings(); !has(fs, QReservedWord) {
		t.Errorf("8.0 -> 8.4: QUALIFY not reported: %v", fs)
	}
	if fs := analyze(t, "8.0.36", Target84, "SELECT rank FROM t").Findings(); has(fs, QReservedWord) {
		t.Errorf("8.0 -> 8.4: RANK was already reserved on the source: %v", fs)
	}
	if fs := analyze(t, "5.7.44", Target80, q).Findings(); has(fs, QReservedWord) {
		t.Errorf("5.7 -> 8.0: QUALIFY is not reserved in 8.0: %v", fs)
	}
}

func TestAnalyzer_UnparsableFallback(t *testing.T) {
	// The TiDB grammar reserves RANK too, so it rejects this statement:
	// the word-level fallback must still report it, and count it.
	a := analyze(t, "5.7.44", Target80, "SELECT rank, PASSWORD(name) FROM t GROUP BY rank DESC", "SELECT `rank` FROM t WHERE", "SELECT 1")
	fs := a.Findings()
	for _, want := range []string{QReservedWord, QRemovedFunction, QGroupByOrder, QUnparsable} {
		if !has(fs, want) {
			t.Errorf("fallback lacks %s: %v", want, checksOf(fs))
		}
	}
	if a.Unparsable != 2 || a.Queries != 3 {
		t.Errorf("unparsable %d of %d, want 2 of 3", a.Unparsable, a.Queries)
	}
	for _, f := range fs {
		if f.Check == QReservedWord && f.Object != "RANK" {
			t.Errorf("reserved word finding names %q, want RANK", f.Object)
		}
	}
}

func TestAnalyzer_GroupsByFingerprint(t *testing.T) {
	a := analyze(t, "5.7.44", Target80,
		"SELECT PASSWORD('a')",
		"SELECT PASSWORD('b')",
		"select password('c')",
		"SELECT * FROM orders WHERE created < '2020-01-01'",
		"SELECT * FROM orders WHERE created < '9999-99-99'",
		"SELECT * FROM orders WHERE created < '2021-01-01'",
		"SELECT * FROM orders WHERE created < '10000-01-01'",
	)
	fs := a.Findings()
	var pw, dates []Finding
	for _, f := range fs {
		switch f.Check {
		case QRemovedFunction:
			pw = append(pw, f)
		case QInvalidDate:
			dates = append(dates, f)
		}
	}
	// The example is printed: its password is not.
	if len(pw) != 1 || pw[0].Count != 3 || pw[0].Query != "SELECT PASSWORD("+querylog.Redacted+")" {
		t.Errorf("PASSWORD grouped as %+v, want one finding of count 3 with the first example, redacted", pw)
	}
	if len(dates) != 1 || dates[0].Count != 2 || dates[0].Query != "SELECT * FROM orders WHERE created < '9999-99-99'" {
		t.Errorf("dates grouped as %+v, want one finding of count 2 (valid dates are not counted)", dates)
	}
	if a.Queries != 7 {
		t.Errorf("queries %d, want 7", a.Queries)
	}
}

type sliceSource struct{ qs []Query }

func (s *sliceSource) Next() (Query, error) {
	if len(s.qs) == 0 {
		return Query{}, io.EOF
	}
	q := s.qs[0]
	s.qs = s.qs[1:]
	return q, nil
}

func TestAnalyzer_RunReadsSource(t *testing.T) {
	v, _ := ParseVersion("5.7.44")
	a := NewAnalyzer(v, Target80, nil)
	src := &sliceSource{[]Query{{Text: "SELECT ENCRYPT('x')"}, {Text: "  "}, {Text: "SELECT 1"}}}
	if err := a.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if a.Queries != 2 || !has(a.Findings(), QRemovedFunction) {
		t.Errorf("queries %d findings %v", a.Queries, a.Findings())
	}
}

func TestBadDate(t *testing.T) {
	cases := map[string]bool{
		"10000-01-01": true, "9999-99-99": true, "0000-00-00 00:00:00": true, "0000-00-00": true,
		"0000-02-29": true, "2023-02-29": true, "2021-04-31": true, "2020-01-01 24:00:00": true, "2020-00-10": true,
		"2024-02-29": false, "2000-02-29": false, "9999-12-31 23:59:59": false, "1000-01-01": false,
		"2020-01-01 10:00:00.123456": false, "2020/01/01": false, "abc": false, "12345": false, "2020-01": false,
		"99-99-99": false, "2020-01-01x": false,
	}
	for s, bad := range cases {
		if got := badDate(s) != ""; got != bad {
			t.Errorf("badDate(%q) = %q, want bad=%v", s, badDate(s), bad)
		}
	}
	k1, bad1 := shapeKey(nil, "app", "SELECT * FROM t1 WHERE d = '9999-99-99' AND `2x` = 42")
	k2, bad2 := shapeKey(nil, "app", `SELECT * FROM t1 WHERE d = 'it''s' AND `+"`2x`"+` = 7`)
	if !bad1 || bad2 || string(k1) != string(k2) || !strings.Contains(string(k1), "t1") || !strings.Contains(string(k1), "`2x`") {
		t.Errorf("shapeKey: %q %v, %q %v", k1, bad1, k2, bad2)
	}
}

func TestScanSQL_QuotingAndComments(t *testing.T) {
	toks := scanSQL("SELECT `a``b`, 'it''s', \"x\\\"y\" -- rank\n/* over */ /*!50100 window */ # lag\n1.5e3")
	var got []string
	for _, tk := range toks {
		got = append(got, tk.text)
	}
	want := "SELECT|a`b|,|it's|,|x\"y|window|1.5e3"
	if strings.Join(got, "|") != want {
		t.Errorf("tokens %q, want %q", strings.Join(got, "|"), want)
	}
}

type failingSource struct{ n int }

func (s *failingSource) Next() (Query, error) {
	if s.n == 0 {
		return Query{}, errors.New("log truncated")
	}
	s.n--
	return Query{Text: "SELECT 1"}, nil
}

func TestAnalyzer_RunStopsOnReadError(t *testing.T) {
	v, _ := ParseVersion("5.7.44")
	a := NewAnalyzer(v, Target80, nil)
	err := a.Run(context.Background(), &failingSource{n: 1000})
	if err == nil || !strings.Contains(err.Error(), "log truncated") {
		t.Fatalf("Run = %v, want the read error", err)
	}
	if a.Queries != 1000 {
		t.Errorf("queries before the error: %d, want 1000", a.Queries)
	}
}

func TestShapeKey_BulkInsertsShareAShape(t *testing.T) {
	rows := func(n int) string {
		var b strings.Builder
		b.WriteString("INSERT INTO orders (id, name, created) VALUES ")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, 'name %d', NULL)", i, i)
		}
		return b.String()
	}
	k1, _ := shapeKey(nil, "app", rows(100))
	k2, _ := shapeKey(nil, "app", rows(250))
	if string(k1) != string(k2) || len(k1) > 200 {
		t.Errorf("bulk inserts: keys %q and %q", k1, k2)
	}
	// A function call in the list keeps the whole key: it may be a finding.
	k3, _ := shapeKey(nil, "app", rows(100)+", (1, PASSWORD('x'), NULL)")
	if !strings.Contains(string(k3), "PASSWORD") {
		t.Errorf("key lost the function call: %q", k3[len(k3)-60:])
	}
	a := analyze(t, "5.7.44", Target80, rows(100), rows(300), rows(50)+", (1, PASSWORD('x'), NULL)")
	if a.Parsed != 2 || !has(a.Findings(), QRemovedFunction) {
		t.Errorf("parsed %d statements (want 2), findings %v", a.Parsed, a.Findings())
	}
}

func TestShapeKey_InListsShareAShape(t *testing.T) {
	k1, _ := shapeKey(nil, "app", "SELECT * FROM t WHERE id IN (1, 2, 3) AND s IN ('a')")
	k2, _ := shapeKey(nil, "app", "SELECT * FROM t WHERE id IN (7) AND s IN ('a','b','c','d')")
	if string(k1) != string(k2) {
		t.Errorf("IN lists: %q vs %q", k1, k2)
	}
	// Group-by positions are not a list: GROUP BY 1 and GROUP BY 1, 2 differ.
	k3, _ := shapeKey(nil, "app", "SELECT a, b, COUNT(*) FROM t GROUP BY 1")
	k4, _ := shapeKey(nil, "app", "SELECT a, b, COUNT(*) FROM t GROUP BY 1, 2")
	k5, _ := shapeKey(nil, "app", "SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4)) OR x IN (a, 5)")
	if string(k3) == string(k4) || !strings.Contains(string(k5), "x IN (a, n)") {
		t.Errorf("keys %q %q %q", k3, k4, k5)
	}
	a := analyze(t, "5.7.44", Target80, "SELECT a, b, COUNT(*) FROM orders GROUP BY 1", "SELECT a, b, COUNT(*) FROM orders GROUP BY 1, 2")
	var n int
	for _, f := range a.Findings() {
		if f.Check == QOnlyFullGroupBy {
			n += f.Count
		}
	}
	if n != 1 {
		t.Errorf("ONLY_FULL_GROUP_BY findings %d, want 1 (GROUP BY 1 only)", n)
	}
}

func TestAnalyzer_RunReportsProgress(t *testing.T) {
	v, _ := ParseVersion("5.7.44")
	a := NewAnalyzer(v, Target80, nil)
	var calls []int
	a.Progress = func(read int) { calls = append(calls, read) }
	if err := a.Run(context.Background(), &failingSource{n: 250000}); err == nil {
		t.Fatal("want the read error")
	}
	if len(calls) != 2 || calls[0] != 100000 || calls[1] != 200000 {
		t.Errorf("progress calls %v, want [100000 200000]", calls)
	}
}

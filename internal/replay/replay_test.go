package replay

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/querylog"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
	"github.com/dbshift/dbshift/internal/testutil"
)

// execScript runs ';'-terminated statements on one connection (USE carries).
func execScript(t *testing.T, db *sql.DB, script string) {
	t.Helper()
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, stmt := range strings.Split(script, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := c.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

func writeLog(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "general.log")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// dialer opens a fresh pool to a sandbox instance for each trial, on the
// connections `dbshift replay` uses for its load test.
func dialer(inst *sandbox.Instance) Connect {
	return func(ctx context.Context, n int) (*sql.DB, error) {
		c, err := dbconn.Open(ctx, dbconn.Spec{Role: "target", DSN: inst.DSN(), Password: inst.Password, KeepSessionDefaults: true, MaxOpen: n, Dial: dbconn.DialSendOnRead}, nil)
		if err != nil {
			return nil, err
		}
		return c.DB, nil
	}
}

func TestReplay_RealServers(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 2})
	conns := make([]*dbconn.Conn, 2)
	for i := range conns {
		inst := s.Instance(i + 1)
		c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: inst.Name, DSN: inst.DSN(), Password: inst.Password, KeepSessionDefaults: true, MaxOpen: 16}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	a, b := conns[0], conns[1]
	t.Run("PtUpgrade001", func(t *testing.T) { testPtUpgrade001(t, a, b) })
	t.Run("CompareDifferences", func(t *testing.T) { testCompareDifferences(t, a, b) })
	t.Run("LoadKeepsContext", func(t *testing.T) { testLoadKeepsContext(t, a, s.Instance(1)) })
	t.Run("ReadOnlySessionsRefuseWrites", func(t *testing.T) { testReadOnly(t, s.Instance(1)) })
	t.Run("ReadOnlyReplayRunsOnlyReads", func(t *testing.T) { testReadOnlyReplay(t, a, b, s.Instance(1)) })
	t.Run("SpeedKeepsRecordedPace", func(t *testing.T) { testSpeed(t, s.Instance(1)) })
	t.Run("RealServerLogsParse", func(t *testing.T) { testRealServerLogs(t, a) })
}

// testPtUpgrade001 reproduces the peer's report: the stats in its *.txt
// (select.log: one query, no differences; insert.log: one statement that is
// not a SELECT) must equal ours, name by name.
func testPtUpgrade001(t *testing.T, a, b *dbconn.Conn) {
	tables, err := os.ReadFile(testutil.SharedTestdata(t, "pt-upgrade", "001", "tables.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*dbconn.Conn{a, b} {
		execScript(t, c.DB, string(tables))
	}
	for _, name := range []string{"select", "insert"} {
		src := Source{Paths: []string{testutil.SharedTestdata(t, "pt-upgrade", "001", name+".log")}}
		res, err := Compare(context.Background(), src, a.DB, b.DB, CompareOptions{Concurrency: 1, Policy: Policy{Filter: querylog.FilterSelect}, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.HasDiffs() {
			t.Errorf("%s: differences %+v", name, res.Groups)
		}
		ours := map[string]int64{}
		js, _ := json.Marshal(res.Stats)
		json.Unmarshal(js, &ours)
		theirs := ptStats(t, testutil.SharedTestdata(t, "pt-upgrade", "001", name+".txt"))
		compared := 0
		for k, v := range theirs {
			if o, ok := ours[k]; ok {
				compared++
				if o != v {
					t.Errorf("%s: %s = %d, pt-upgrade says %d", name, k, o, v)
				}
			}
		}
		if compared < 5 {
			t.Errorf("%s: only %d stats in common with pt-upgrade's %v", name, compared, theirs)
		}
	}
}

// ptStats reads the "name value" lines after "# Stats" in a pt-upgrade report.
func ptStats(t *testing.T, path string) map[string]int64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, stats, ok := strings.Cut(string(raw), "# Stats")
	if !ok {
		t.Fatalf("%s: no Stats section", path)
	}
	m := map[string]int64{}
	for _, line := range strings.Split(stats, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			if n, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				m[f[0]] = n
			}
		}
	}
	return m
}

func testCompareDifferences(t *testing.T, a, b *dbconn.Conn) {
	common := "DROP DATABASE IF EXISTS cmp;\nCREATE DATABASE cmp;\nUSE cmp;\n" +
		"CREATE TABLE same (id int primary key, v varchar(10));\nINSERT INTO same VALUES (1,'a'),(2,'b');\n"
	execScript(t, a.DB, common+
		"CREATE TABLE r (id int primary key);\nINSERT INTO r VALUES (1),(2),(3);\n"+
		"CREATE TABLE only1 (id int);\n"+
		"CREATE TABLE w (x varchar(10));\nINSERT INTO w VALUES ('12abc');\n"+
		"CREATE TABLE c (id int, name varchar(10));\nINSERT INTO c VALUES (1,'n');\n"+
		"CREATE TABLE n (id int, v varchar(10));\nINSERT INTO n VALUES (1,NULL);\n"+
		"CREATE TABLE g (k varchar(10) COLLATE utf8mb4_bin);\nINSERT INTO g VALUES ('a'),('B'),('a');\n")
	execScript(t, b.DB, common+
		"CREATE TABLE r (id int primary key);\nINSERT INTO r VALUES (1),(2);\n"+
		"CREATE TABLE w (x int);\nINSERT INTO w VALUES (12);\n"+
		"CREATE TABLE c (id int, full_name varchar(10));\nINSERT INTO c VALUES (1,'n');\n"+
		"CREATE TABLE n (id int, v varchar(10));\nINSERT INTO n VALUES (1,'x');\n"+
		"CREATE TABLE g (k varchar(10) COLLATE utf8mb4_general_ci);\nINSERT INTO g VALUES ('a'),('B'),('a');\n")
	log := writeLog(t, "240301 10:00:00\t    7 Connect\tapp@web on cmp using TCP/IP\n"+
		"\t\t    7 Query\tselect id, v from same where id in (1, 2)\n"+
		"\t\t    7 Query\tselect id from r where id > 0\n"+
		"\t\t    7 Query\tselect id from r where id > 1\n"+
		"\t\t    7 Query\tselect * from only1\n"+
		"\t\t    7 Query\tselect x + 0 as n from w\n"+
		"\t\t    7 Query\tselect * from c\n"+
		"\t\t    7 Query\tselect id, v from n\n"+
		"\t\t    7 Query\tselect k, count(*) from g group by k\n"+
		"\t\t    7 Query\tupdate same set v = 'z'\n"+
		"\t\t    7 Quit\t\n")
	res, err := Compare(context.Background(), Source{Paths: []string{log}}, a.DB, b.DB, CompareOptions{Concurrency: 2, Policy: Policy{Filter: querylog.FilterSelect}, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	WriteCompare(&out, res, "text")
	t.Log("\n" + out.String())
	want := CompareStats{QueriesRead: 9, NotSelect: 1, QueriesNoDiffs: 1, QueriesWithDiffs: 7}
	if res.Stats != want {
		t.Errorf("stats %+v, want %+v", res.Stats, want)
	}
	kinds := map[string][]string{}
	for _, g := range res.Groups {
		for _, d := range g.Diffs {
			kinds[g.Fingerprint] = append(kinds[g.Fingerprint], d.Kind)
		}
	}
	for fp, want := range map[string][]string{
		"select `id` from `r` where `id` > ?":                 {DiffRowCount}, // both literals, one fingerprint
		"select * from `only1`":                               {DiffError},
		"select `x` + ? as `n` from `w`":                      {DiffWarnings},
		"select * from `c`":                                   {DiffColumns},
		"select `id` , `v` from `n`":                          {DiffRows},
		"select `id` , `v` from `same` where `id` in ( ... )": nil,
	} {
		if !slices.Equal(kinds[fp], want) {
			t.Errorf("%s: kinds %v, want %v (all: %v)", fp, kinds[fp], want, kinds)
		}
	}
	for _, g := range res.Groups {
		if g.Fingerprint == "select `id` from `r` where `id` > ?" && (g.Count != 2 || g.WithDiffs != 2) {
			t.Errorf("r group: %+v", g)
		}
		for _, d := range g.Diffs {
			if d.Kind == DiffRows && !strings.Contains(d.Detail, "NULL") {
				t.Errorf("NULL-vs-value detail does not say NULL: %s", d.Detail)
			}
			if d.Kind == DiffRowCount && !strings.Contains(d.Detail, "only host1 has ('3')") {
				t.Errorf("missing-row detail: %s", d.Detail)
			}
		}
	}
}

func testLoadKeepsContext(t *testing.T, a *dbconn.Conn, inst *sandbox.Instance) {
	execScript(t, a.DB, "DROP DATABASE IF EXISTS app;\nCREATE DATABASE app;\nUSE app;\nCREATE TABLE t (id int primary key, v varchar(10));\nINSERT INTO t VALUES (1,'a'),(2,'a'),(3,'b');\n")
	log := writeLog(t, "2024-03-01T10:00:00.000001Z\t5 Connect\tapp@web on app using TCP/IP\n"+
		"2024-03-01T10:00:00.000002Z\t5 Query\tSET SESSION sql_mode='ONLY_FULL_GROUP_BY'\n"+
		"2024-03-01T10:00:00.000003Z\t5 Query\tselect id, count(*)\n  from t\n  group by v\n"+ // 1055 only under the session's sql_mode
		"2024-03-01T10:00:00.000004Z\t5 Query\tselect v from t where id = 1\n"+ // needs the default database
		"2024-03-01T10:00:00.000005Z\t5 Query\tupdate t set v = 'z'\n"+
		"2024-03-01T10:00:00.000006Z\t6 Connect\tapp@web on app using TCP/IP\n"+
		"2024-03-01T10:00:00.000007Z\t6 Query\tselect id, count(*) from t group by v\n")
	res, err := Load(context.Background(), Source{Paths: []string{log}}, dialer(inst), LoadOptions{
		Concurrency: []int{1, 4}, Trials: 2, Policy: Policy{Filter: querylog.FilterSelect}, ReadOnly: true,
		Procs: 1, YieldToServer: true, // as dbshift replay runs for a server on this host
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Levels) != 2 {
		t.Fatalf("levels %+v", res.Levels)
	}
	for _, l := range res.Levels {
		if len(l.Trials) != 2 {
			t.Fatalf("level %d: %d trials", l.Concurrency, len(l.Trials))
		}
		for _, tr := range l.Trials {
			if tr.Queries != 3 || tr.Errors != 1 || tr.Skipped != 2 || !slices.Equal(tr.ByCode, []ErrorCount{{1055, 1}}) {
				t.Errorf("level %d: %+v", l.Concurrency, tr)
			}
			if tr.Latency.Max <= 0 || tr.Latency.P50 > tr.Latency.P99 || tr.QPS <= 0 {
				t.Errorf("level %d latency %+v qps %f", l.Concurrency, tr.Latency, tr.QPS)
			}
		}
	}
	var v string
	if err := a.DB.QueryRow("SELECT v FROM app.t WHERE id = 1").Scan(&v); err != nil || v != "a" {
		t.Errorf("the update was run: v=%q err=%v", v, err)
	}
	for _, format := range []string{"text", "csv", "json", "html"} {
		var buf bytes.Buffer
		if err := WriteLoad(&buf, res, format); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		switch format {
		case "csv":
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[1], "1,2,6,2,") || !strings.HasPrefix(lines[2], "4,2,6,2,") {
				t.Errorf("csv:\n%s", out)
			}
		case "html":
			if strings.Count(out, "<svg") != 2 || strings.Contains(out, "src=") || strings.Contains(out, "<script") || strings.Contains(out, "<link") {
				t.Errorf("html is not a self-contained page with two charts:\n%s", out)
			}
		}
	}
}

func testReadOnly(t *testing.T, inst *sandbox.Instance) {
	log := writeLog(t, "\t\t5 Connect\tapp@web on app\n\t\t5 Query\tupdate t set v = 'z' where id = 3\n")
	res, err := Load(context.Background(), Source{Paths: []string{log}}, dialer(inst), LoadOptions{
		Concurrency: []int{1}, Trials: 1, Policy: Policy{AllowWrites: true}, ReadOnly: true, Duration: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	tr := res.Levels[0].Trials[0]
	if tr.Errors != 1 || !slices.Equal(tr.ByCode, []ErrorCount{{1792, 1}}) {
		t.Errorf("a write in a READ ONLY session: %+v", tr)
	}
}

// testReadOnlyReplay: a log that changes server variables, turns its
// session read-write and calls a stored function that writes. Replayed
// without --allow-writes, by the load test and by the comparison, nothing of
// it reaches the server.
func testReadOnlyReplay(t *testing.T, a, b *dbconn.Conn, inst *sandbox.Instance) {
	setup := "DROP DATABASE IF EXISTS rot;\nCREATE DATABASE rot;\nUSE rot;\nCREATE TABLE audit (id int auto_increment primary key);\n" +
		"CREATE FUNCTION touch() RETURNS INT DETERMINISTIC MODIFIES SQL DATA BEGIN INSERT INTO audit VALUES (NULL); RETURN 1; END;\n"
	execScript(t, a.DB, setup)
	execScript(t, b.DB, setup)
	log := writeLog(t, "\t\t5 Connect\tapp@web on rot\n"+
		"\t\t5 Query\tSET GLOBAL max_connections = 77\n"+
		"\t\t5 Query\tSET @@global.wait_timeout = 77\n"+
		"\t\t5 Query\tSET sql_mode = '', GLOBAL wait_timeout = 78\n"+ // a session SET with a global part
		"\t\t5 Query\tSET SESSION TRANSACTION READ WRITE\n"+
		"\t\t5 Query\tSET NAMES utf8mb4\n"+
		"\t\t5 Query\tselect touch()\n"+
		"\t\t5 Query\tselect * from audit for update\n"+
		"\t\t5 Query\tselect count(*) from audit\n")
	type vars struct{ maxConn, wait, rows int }
	read := func(c *dbconn.Conn) vars {
		t.Helper()
		var v vars
		if err := c.DB.QueryRow("SELECT @@global.max_connections, @@global.wait_timeout, (SELECT COUNT(*) FROM rot.audit)").Scan(&v.maxConn, &v.wait, &v.rows); err != nil {
			t.Fatal(err)
		}
		return v
	}
	beforeA, beforeB := read(a), read(b)
	if beforeA.maxConn == 77 || beforeA.wait == 77 || beforeA.wait == 78 {
		t.Fatalf("the server already has the log's values: %+v", beforeA)
	}
	t.Cleanup(func() { // for the other subtests, should this one fail
		for _, c := range []*dbconn.Conn{a, b} {
			c.DB.Exec("SET GLOBAL max_connections = " + strconv.Itoa(beforeA.maxConn))
			c.DB.Exec("SET GLOBAL wait_timeout = " + strconv.Itoa(beforeA.wait))
		}
	})
	res, err := Load(context.Background(), Source{Paths: []string{log}}, dialer(inst), LoadOptions{
		Concurrency: []int{1}, Trials: 1, Policy: Policy{Filter: querylog.FilterAll}, ReadOnly: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(a); got != beforeA {
		t.Errorf("a read-only load test changed the server: before %+v, after %+v (trial %+v)", beforeA, got, res.Levels[0].Trials[0])
	}
	cmp, err := Compare(context.Background(), Source{Paths: []string{log}}, a.DB, b.DB, CompareOptions{Concurrency: 1, Policy: Policy{Filter: querylog.FilterAll}, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(a); got != beforeA {
		t.Errorf("a read-only comparison changed host1: before %+v, after %+v", beforeA, got)
	}
	if got := read(b); got != beforeB {
		t.Errorf("a read-only comparison changed host2: before %+v, after %+v", beforeB, got)
	}
	// Five statements are not read-only: the three SET GLOBAL, READ WRITE
	// and the locking read. SET NAMES is context; the stored function's
	// INSERT is refused by the session's READ ONLY (1792).
	if tr := res.Levels[0].Trials[0]; tr.NotReadOnly != 5 || tr.Skipped != 6 || tr.Queries != 2 || !slices.Equal(tr.ByCode, []ErrorCount{{1792, 1}}) {
		t.Errorf("load trial %+v", tr)
	}
	if want := (CompareStats{QueriesRead: 8, NotSelect: 5, QueriesFiltered: 1, QueriesNoDiffs: 1, QueriesWithErrors: 1}); cmp.Stats != want {
		t.Errorf("compare stats %+v, want %+v", cmp.Stats, want)
	}
	var text bytes.Buffer
	WriteLoad(&text, res, "text")
	if !strings.Contains(text.String(), "not read-only") {
		t.Errorf("the load report does not say how many statements were not read-only:\n%s", text.String())
	}
}

// testSpeed: statements recorded 400 ms apart, replayed at 2x, take at least
// 200 ms; at max speed they do not wait (only a lower bound is asserted).
func testSpeed(t *testing.T, inst *sandbox.Instance) {
	log := writeLog(t, "2024-03-01T10:00:00.000000Z\t5 Query\tselect 1\n"+
		"2024-03-01T10:00:00.400000Z\t5 Query\tselect 2\n")
	res, err := Load(context.Background(), Source{Paths: []string{log}}, dialer(inst), LoadOptions{
		Concurrency: []int{1}, Trials: 1, Policy: Policy{Filter: querylog.FilterSelect}, Speed: 2.0, ReadOnly: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if tr := res.Levels[0].Trials[0]; tr.Queries != 2 || tr.Elapsed < 200*time.Millisecond {
		t.Errorf("paced trial: %d queries in %v, want 2 in at least 200ms", tr.Queries, tr.Elapsed)
	}
}

// testRealServerLogs has MariaDB write its own general and slow logs and
// reads them back: statement text whole (also a line that looks like a 5.7
// entry), connection id, default database and session statements.
func testRealServerLogs(t *testing.T, a *dbconn.Conn) {
	ctx := context.Background()
	dir := t.TempDir()
	genPath, slowPath := filepath.Join(dir, "general.log"), filepath.Join(dir, "slow.log")
	admin := func(q string) {
		t.Helper()
		if _, err := a.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	admin("SET GLOBAL general_log_file = '" + genPath + "'")
	admin("SET GLOBAL slow_query_log_file = '" + slowPath + "'")
	admin("SET GLOBAL long_query_time = 0")
	admin("SET GLOBAL general_log = ON")
	admin("SET GLOBAL slow_query_log = ON")
	t.Cleanup(func() {
		a.DB.Exec("SET GLOBAL general_log = OFF")
		a.DB.Exec("SET GLOBAL slow_query_log = OFF")
		a.DB.Exec("SET GLOBAL long_query_time = 10")
	})
	tricky := "SELECT 'line one\n2024-01-01T00:00:00.000000Z\t5 Query\tnot an entry\n# Time: not a header' AS s"
	multi := "SELECT 1,\n  2 FROM dual"
	// A fresh connection: long_query_time is copied into a session when it
	// starts, so a pooled one would not write to the slow log.
	a.DB.SetMaxIdleConns(0)
	a.DB.SetMaxIdleConns(16)
	c, err := a.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id uint64
	for _, q := range []string{"CREATE DATABASE IF NOT EXISTS logt", "USE logt", "SET SESSION sql_mode = 'ANSI_QUOTES'", multi, tricky} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := c.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	c.Close()
	admin("SET GLOBAL general_log = OFF")
	admin("SET GLOBAL slow_query_log = OFF")

	for _, f := range []struct {
		path string
		kind querylog.Kind
	}{{genPath, querylog.General}, {slowPath, querylog.Slow}} {
		r, err := querylog.Open(f.path, querylog.Auto)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind() != f.kind {
			t.Errorf("%s detected as %v", f.path, r.Kind())
		}
		found := map[string]querylog.Event{}
		for {
			ev, err := r.Next()
			if err != nil {
				break
			}
			if ev.Query == multi || ev.Query == tricky {
				found[ev.Query] = ev
			}
		}
		st := r.Stats()
		r.Close()
		if st.Unparsed != 0 {
			raw, _ := os.ReadFile(f.path)
			t.Errorf("%v log: %d unparsed lines %+v\n%s", f.kind, st.Unparsed, st.Examples, raw)
		}
		for _, q := range []string{multi, tricky} {
			ev, ok := found[q]
			if !ok || ev.ConnID != id || ev.DB != "logt" || !slices.Equal(ev.Session, []string{"SET SESSION sql_mode = 'ANSI_QUOTES'"}) {
				raw, _ := os.ReadFile(f.path)
				t.Errorf("%v log: %q: found %v event %+v (conn %d)\n%s", f.kind, q, ok, ev, id, raw)
			}
		}
	}
}

package querylog

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/testutil"
)

// want is what a test expects of one event.
type want struct {
	line    int
	conn    uint64
	db      string
	query   string
	session []string
}

func readAll(t *testing.T, r *Reader) []Event {
	t.Helper()
	var evs []Event
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		evs = append(evs, ev)
	}
}

func check(t *testing.T, evs []Event, wants []want) {
	t.Helper()
	if len(evs) != len(wants) {
		for _, e := range evs {
			t.Logf("got line %d conn %d db %q query %q", e.Line, e.ConnID, e.DB, e.Query)
		}
		t.Fatalf("got %d events, want %d", len(evs), len(wants))
	}
	for i, w := range wants {
		e := evs[i]
		if e.Line != w.line || e.ConnID != w.conn || e.DB != w.db || e.Query != w.query {
			t.Errorf("event %d: got line %d conn %d db %q query %q\nwant line %d conn %d db %q query %q",
				i, e.Line, e.ConnID, e.DB, e.Query, w.line, w.conn, w.db, w.query)
		}
		if strings.Join(e.Session, "|") != strings.Join(w.session, "|") {
			t.Errorf("event %d: session %q, want %q", i, e.Session, w.session)
		}
	}
}

func TestReader_SharedLogs(t *testing.T) {
	const genlog001q1 = "SELECT foo \n                         FROM tbl\n                         WHERE col=12345\n                         ORDER BY col"
	cases := []struct {
		file   string
		kind   Kind // what Auto must detect
		events []want
	}{
		{"general-genlog001.txt", General, []want{
			{2, 42, "db1", genlog001q1, nil},
			{9, 11, "my_webstats", "SELECT DISTINCT col FROM tbl WHERE foo=20061219", nil},
		}},
		{"general-genlog002.txt", General, []want{
			{1, 51, "", "SELECT category_id\n                FROM auction_category_map \n                WHERE auction_id = '3015563'", nil},
			{4, 51, "", "SELECT auction_id, auction_title_en AS title, close_time,\n" +
				"                                         number_of_items_per_lot, \n" +
				"                                         replace (replace (thumbnail_url,  'sm_thumb', 'carousel'), 'small_thumb', 'carousel') as thumbnail_url,\n" +
				"                                         replace (replace (thumbnail_url,  'sm_thumb', 'tiny_thumb'), 'small_thumb', 'tiny_thumb') as tinythumb_url,\n" +
				"                                         current_bid\n" +
				"                FROM   auction_search\n" +
				"                WHERE  platform_flag_1 = 1\n" +
				"                AND    close_flag = 0 \n" +
				"                AND    close_time >= NOW()\n" +
				"                AND    marketplace = 'AR'\n" +
				"                AND auction_id IN (3015562,3028764,3015564,3019075,3015574,2995142,3040162,3015573,2995135,3015578)\n" +
				"                ORDER BY close_time ASC\n" +
				"                LIMIT 500", nil},
		}},
		{"general-genlog003.txt", General, []want{
			{2, 42, "db1", genlog001q1, nil},
			{9, 11, "my_webstats", "SELECT DISTINCT col FROM tbl WHERE foo=20061219", nil},
		}},
		{"general-genlog004.txt", General, []want{
			{3, 31519, "", "BEGIN", nil},
		}},
		{"general-mariadb-10.11.log", General, []want{
			{4, 13, "", "set global read_only=0", nil},
			{7, 14, "app", "select * from app.t where ts > '10000-01-01'", nil},
			{8, 14, "app", "select v,\n  count(*) from app.t\n  group by v", nil},
			{13, 15, "", "prepare s from 'select ?'", nil},
			{15, 15, "", "set @a=1", nil},
			{16, 15, "", "execute s using @a", []string{"set @a=1"}},
			{17, 15, "", "select 1", []string{"set @a=1"}},
			{20, 16, "", "set global general_log=0", nil},
		}},
		{"general-pt-1573-general-log-system.log", General, []want{
			{5, 257426, "", "set autocommit=0", nil},
			{6, 257426, "", "set autocommit=1", []string{"set autocommit=0"}},
			{7, 257426, "", "show global status like 'Threads_connected'", []string{"set autocommit=1"}},
		}},
		{"slow-mysql5.7.log", Slow, []want{
			{7, 3, "", "SELECT * FROM db_facturacion.facturas LIMIT 0, 1000", nil},
			{12, 4, "", "SHOW INDEX FROM `db_facturacion`.`facturas`", nil},
		}},
		{"slow-slow-pt-243.txt", Slow, nil}, // administrator commands only
		{"slow-slow001.txt", Slow, []want{
			{4, 0, "test", "select sleep(2) from n", nil},
			{9, 0, "sakila", "select sleep(2) from test.n", nil},
		}},
		{"slow-slow002.txt", Slow, []want{
			{1, 10, "", "BEGIN", nil},
			{8, 10, "db1", "update db2.tuningdetail_21_265507 n\n      inner join db1.gonzo a using(gonzo) \n      set n.column1 = a.column1, n.word3 = a.word3", nil},
			{19, 10, "db1", "INSERT INTO db3.vendor11gonzo (makef, bizzle)\nVALUES ('', 'Exact')", nil},
			{30, 10, "db1", "UPDATE db4.vab3concept1upload\nSET    vab3concept1id = '91848182522'\nWHERE  vab3concept1upload='6994465'", nil},
			{41, 10, "db1", "INSERT INTO db1.conch (word3, vid83)\nVALUES ('211', '18')", nil},
			{52, 10, "db1", "UPDATE foo.bar\nSET    biz = '91848182522'", nil},
			{62, 10, "db1", "UPDATE bizzle.bat\nSET    boop='bop: 899'\nWHERE  fillze='899'", nil},
			{74, 10, "db1", "UPDATE foo.bar\nSET    biz = '91848182522'", nil},
		}},
		{"slow-slow006.txt", Slow, []want{
			{1, 10, "foo", "SELECT col FROM foo_tbl", nil},
			{8, 10, "foo", "SELECT col FROM foo_tbl", nil},
			{15, 20, "bar", "SELECT col FROM bar_tbl", nil},
			{23, 10, "bar", "SELECT col FROM bar_tbl", nil},
			{30, 20, "bar", "SELECT col FROM bar_tbl", nil},
			{38, 30, "foo", "SELECT col FROM foo_tbl", nil},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := testutil.SharedTestdata(t, "querylogs", tc.file)
			r, err := Open(path, Auto)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Kind() != tc.kind {
				t.Errorf("detected %v, want %v", r.Kind(), tc.kind)
			}
			check(t, readAll(t, r), tc.events)
			st := r.Stats()
			if st.Unparsed != 0 {
				t.Errorf("%d unparsed lines: %+v", st.Unparsed, st.Examples)
			}
			if st.Parsed != st.Lines || st.Events != int64(len(tc.events)) {
				t.Errorf("stats %+v: want parsed == lines and %d events", st, len(tc.events))
			}
		})
	}
}

func TestReader_SharedLogsUsersAndTimes(t *testing.T) {
	r, err := Open(testutil.SharedTestdata(t, "querylogs", "general-pt-1573-general-log-system.log"), General)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	evs := readAll(t, r)
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	e := evs[0]
	if e.User != "mysqlha_common" || e.Host != "127.0.0.1" {
		t.Errorf("user %q host %q", e.User, e.Host)
	}
	wantTime := time.Date(2018, 9, 7, 10, 45, 40, 98511000, time.UTC)
	if !e.Time.Equal(wantTime) {
		t.Errorf("time %v, want %v", e.Time, wantTime)
	}
}

func readString(t *testing.T, kind Kind, text string) ([]Event, Stats) {
	t.Helper()
	r, err := NewReader(strings.NewReader(text), "fixture", kind)
	if err != nil {
		t.Fatal(err)
	}
	evs := readAll(t, r)
	return evs, r.Stats()
}

func TestReader_ISOHeadersMidFileAndLookalikeLines(t *testing.T) {
	log := "/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:\n" +
		"Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\n" +
		"Time                 Id Command    Argument\n" +
		"2024-03-01T10:00:00.000001Z\t    8 Connect\tapp@10.0.0.5 on shop using TCP/IP\n" +
		"2024-03-01T10:00:00.000002Z\t    8 Query\tSET SESSION sql_mode='ANSI_QUOTES'\n" +
		"2024-03-01T10:00:00.000003Z\t    8 Query\tSELECT note FROM t WHERE note IN ('\n" +
		"2024-03-01T10:00:00Z deploy finished',\n" +
		"240301 10:00:00 looks like a 5.6 stamp',\n" +
		"    7 Query looks like an entry without a known prefix')\n" +
		"/usr/sbin/mysqld, Version: 8.0.36 (MySQL Community Server - GPL). started with:\n" +
		"Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\n" +
		"Time                 Id Command    Argument\n" +
		"2024-03-01T10:05:00.000000Z\t    9 Connect\tapp@10.0.0.5 on  using TCP/IP\n" +
		"2024-03-01T10:05:00.100000Z\t    9 Init DB\tshop2\n" +
		"2024-03-01T10:05:00.200000Z\t    9 Query\tset sql_mode='ANSI_QUOTES'\n" +
		"2024-03-01T10:05:00.300000Z\t    9 Query\tset @@session.sql_mode=''\n" +
		"2024-03-01T10:05:00.400000Z\t    9 Query\tuse `other``db`\n" +
		"2024-03-01T10:05:00.500000Z\t    9 Query\tselect 2\n" +
		"2024-03-01T10:05:00.600000Z\t    9 Quit\t\n"
	evs, st := readString(t, Auto, log)
	check(t, evs, []want{
		{5, 8, "shop", "SET SESSION sql_mode='ANSI_QUOTES'", nil},
		{6, 8, "shop", "SELECT note FROM t WHERE note IN ('\n2024-03-01T10:00:00Z deploy finished',\n" +
			"240301 10:00:00 looks like a 5.6 stamp',\n    7 Query looks like an entry without a known prefix')",
			[]string{"SET SESSION sql_mode='ANSI_QUOTES'"}},
		{15, 9, "shop2", "set sql_mode='ANSI_QUOTES'", nil},
		{16, 9, "shop2", "set @@session.sql_mode=''", []string{"set sql_mode='ANSI_QUOTES'"}},
		{17, 9, "shop2", "use `other``db`", []string{"set @@session.sql_mode=''"}},
		{18, 9, "other`db", "select 2", []string{"set @@session.sql_mode=''"}},
	})
	if st.Unparsed != 0 || st.Lines != 19 {
		t.Errorf("stats %+v", st)
	}
	if evs[0].User != "app" || evs[0].Host != "10.0.0.5" {
		t.Errorf("user %q host %q", evs[0].User, evs[0].Host)
	}
}

func TestReader_UnparsedLinesCountedNotGlued(t *testing.T) {
	log := "this is not a log line\n" +
		"240301 10:00:00\t    5 Connect\tu@h on d\n" +
		"\t\t    5 Quit\t\n" +
		"stray text after quit\n" +
		"\t\t    6 Query\tselect 1\n" +
		"\t\t    6 Frobnicate\tnot a command, so part of the query\n" +
		"\t\t    6 Connect\tu@h on d2\n" +
		"garbage after connect\n"
	evs, st := readString(t, General, log)
	check(t, evs, []want{
		{5, 6, "", "select 1\n\t\t    6 Frobnicate\tnot a command, so part of the query", nil},
	})
	if st.Unparsed != 3 || len(st.Examples) != 3 {
		t.Fatalf("unparsed %d examples %+v, want 3", st.Unparsed, st.Examples)
	}
	for i, line := range []int{1, 4, 8} {
		if st.Examples[i].Line != line {
			t.Errorf("example %d at line %d, want %d", i, st.Examples[i].Line, line)
		}
	}
	if st.Parsed+st.Unparsed != st.Lines {
		t.Errorf("parsed %d + unparsed %d != lines %d", st.Parsed, st.Unparsed, st.Lines)
	}
}

func TestReader_CRLFAndLongQuery(t *testing.T) {
	long := "SELECT '" + strings.Repeat("x", 3<<20) + "'" // longer than the read buffer
	log := "2024-03-01T10:00:00.000001Z\t1 Connect\tu@h on d\r\n" +
		"2024-03-01T10:00:00.000002Z\t1 Query\tSELECT a,\r\n  b FROM t\r\n" +
		"2024-03-01T10:00:00.000003Z\t1 Query\t" + long + "\r\n" +
		"2024-03-01T10:00:00.000004Z\t1 Query\tSELECT 3\r\n"
	evs, st := readString(t, Auto, log)
	check(t, evs, []want{
		{2, 1, "d", "SELECT a,\n  b FROM t", nil},
		{4, 1, "d", long, nil},
		{5, 1, "d", "SELECT 3", nil},
	})
	if st.Unparsed != 0 {
		t.Errorf("unparsed: %+v", st.Examples)
	}
}

func TestReader_ManyLineQuery(t *testing.T) {
	var b strings.Builder
	b.WriteString("SELECT 1")
	for i := 0; i < 50000; i++ {
		b.WriteString("\n  + 1")
	}
	q := b.String()
	evs, st := readString(t, General, "240301 10:00:00\t    5 Query\t"+q+"\n\t\t    5 Quit\n")
	check(t, evs, []want{{1, 5, "", q, nil}})
	if st.Unparsed != 0 || st.Lines != 50002 {
		t.Errorf("stats %+v", st)
	}
}

func TestOpen_Gzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, "# Time: 2024-03-01T10:00:00.000001Z\n# User@Host: app[app] @ web1 [10.0.0.7]  Id:    12\n"+
		"# Query_time: 1.0  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 1\nuse shop;\nSET timestamp=1709287200;\n"+
		"SELECT /* list */ id\n# a comment line inside the query\nFROM orders;\n")
	zw.Close()
	path := filepath.Join(t.TempDir(), "slow.log.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, Auto)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Kind() != Slow {
		t.Fatalf("kind %v", r.Kind())
	}
	evs := readAll(t, r)
	check(t, evs, []want{{1, 12, "shop", "SELECT /* list */ id\n# a comment line inside the query\nFROM orders", nil}})
	if evs[0].User != "app" || evs[0].Host != "web1" {
		t.Errorf("user %q host %q", evs[0].User, evs[0].Host)
	}
	if st := r.Stats(); st.Unparsed != 0 {
		t.Errorf("unparsed %+v", st.Examples)
	}
}

func TestReader_QuitForgetsContext(t *testing.T) {
	log := "\t\t    5 Connect\tu@h on a\n\t\t    5 Query\tset names utf8mb4\n\t\t    5 Query\tSET NAMES latin1\n" +
		"\t\t    5 Quit\t\n\t\t    5 Query\tselect 1\n"
	evs, _ := readString(t, General, log)
	check(t, evs, []want{
		{2, 5, "a", "set names utf8mb4", nil},
		{3, 5, "a", "SET NAMES latin1", []string{"set names utf8mb4"}},
		{5, 5, "", "select 1", nil}, // a reused id after Quit starts clean
	})
}

func TestClassify(t *testing.T) {
	cases := []struct {
		q    string
		want Class
	}{
		{"SELECT 1", ClassSelect},
		{"  /* hint */ select * from t", ClassSelect},
		{"(SELECT 1) UNION (SELECT 2)", ClassSelect},
		{"WITH x AS (SELECT 1) SELECT * FROM x", ClassSelect},
		{"select * into outfile '/tmp/x' from t", ClassWrite},
		{"SHOW TABLES", ClassRead},
		{"explain select 1", ClassRead},
		{"use db", ClassUse},
		{"SET SESSION sql_mode=''", ClassSession},
		{"set @a=1", ClassSession},
		{"SET GLOBAL read_only=1", ClassWrite},
		{"set @@global.x=1", ClassWrite},
		{"INSERT INTO t VALUES (1)", ClassWrite},
		{"BEGIN", ClassTxn},
		{"frobnicate", ClassWrite},
		{"select * from t for update", ClassWrite},
		{"SELECT * FROM t WHERE id = 1 FOR SHARE", ClassWrite},
		{"select * from t lock in share mode", ClassWrite},
		{"select * from t /*!50000 FOR UPDATE */", ClassWrite},
		{"select 'ready for update' as `for update` from t", ClassSelect},
		{"select 1 -- for update", ClassSelect},
		{"select 'it''s', \"a\\\" for update\" from t", ClassSelect},
		{"select 1 into dumpfile '/tmp/x'", ClassWrite},
		{"WITH x AS (SELECT 1) UPDATE t, x SET t.a = 1", ClassWrite},
		{"WITH x AS (SELECT 1) DELETE FROM t", ClassWrite},
		{"with recursive r(n) as (select 1 union all select n+1 from r where n < 3) select * from r", ClassSelect},
		{"EXPLAIN ANALYZE SELECT * FROM t", ClassRead},
		{"explain analyze delete from t", ClassWrite},
		{"EXPLAIN DELETE FROM t", ClassRead}, // EXPLAIN without ANALYZE does not run it
		{"describe t", ClassRead},
	}
	for _, tc := range cases {
		if got := Classify(tc.q); got != tc.want {
			t.Errorf("Classify(%q) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

func TestSafeSessionSet(t *testing.T) {
	for _, tc := range []struct {
		q    string
		safe bool
	}{
		{"SET NAMES utf8mb4", true},
		{"SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci", true},
		{"SET CHARACTER SET utf8", true},
		{"SET character_set_results = NULL", true},
		{"set session sql_mode = 'ANSI_QUOTES'", true},
		{"SET @@session.time_zone = '+00:00', autocommit = 1", true},
		{"SET LOCAL collation_connection = utf8mb4_bin", true},
		{"SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')", true},
		{"SET @x = 1, @y = 'a'", true},
		{"SET GLOBAL max_connections = 77", false},
		{"SET @@global.wait_timeout = 77", false},
		{"SET sql_mode = '', GLOBAL wait_timeout = 78", false},
		{"SET sql_mode = '', @@GLOBAL.wait_timeout = 78", false},
		{"SET SESSION TRANSACTION READ WRITE", false},
		{"SET TRANSACTION READ WRITE", false},
		{"SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", false},
		{"SET wait_timeout = 10", false}, // not on the list
		{"SET @@tx_read_only = 0", false},
		{"SET sql_mode = (SELECT f())", false},
		{"SET @x = touch()", false},
		{"SET @x = db.touch()", false},
		{"SET PERSIST max_connections = 77", false},
		{"SET STATEMENT max_statement_time = 1 FOR SELECT 1", false},
		{"SET PASSWORD = 'x'", false},
		{"SET ROLE ALL", false},
		{"SET NAMES utf8 /*!, GLOBAL wait_timeout = 78 */", false},
		{"SET NAMES utf8 /*M!, GLOBAL wait_timeout = 78 */", false},
		{"SET sql_mode = ''; SET GLOBAL wait_timeout = 78", false},
		{"SELECT 1", false},
		{"SET", false},
	} {
		if got := SafeSessionSet(tc.q); got != tc.safe {
			t.Errorf("SafeSessionSet(%q) = %v, want %v", tc.q, got, tc.safe)
		}
	}
}

// In a file of short stamps an ISO-stamped line is text, and in a slow log a
// "# Time:" line without a time inside a statement is text too.
func TestReader_LookalikesInOtherForms(t *testing.T) {
	q := "SELECT 'a\n2024-01-01T00:00:00.000000Z\t5 Query\tnot an entry' AS s"
	evs, st := readString(t, General, "261122  3:43:58\t    7 Query\t"+q+"\n\t\t    7 Quit\t\n")
	check(t, evs, []want{{1, 7, "", q, nil}})
	if st.Unparsed != 0 {
		t.Errorf("unparsed %+v", st.Examples)
	}
	q2 := "SELECT 'x\n# Time: not a header\n# User@Host: nor this' AS s"
	evs, st = readString(t, Slow, "# Time: 261122  3:43:58\n# User@Host: u[u] @  [127.0.0.1]\n# Thread_id: 7  Schema: d  QC_hit: No\n"+
		"SET timestamp=1795319038;\n"+q2+";\n# User@Host: u[u] @  [127.0.0.1]\n# Thread_id: 7  Schema: d  QC_hit: No\nSELECT 2;\n")
	check(t, evs, []want{{1, 7, "d", q2, nil}, {8, 7, "d", "SELECT 2", nil}})
	if st.Unparsed != 0 {
		t.Errorf("unparsed %+v", st.Examples)
	}
}

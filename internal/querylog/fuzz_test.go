package querylog_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/dbshift/dbshift/internal/querylog"
	"github.com/dbshift/dbshift/internal/testutil"
)

// readAll reads every event of data as kind and checks what holds for any
// input: the reader ends, events come in file order, a line number is one
// of the input's lines.
func readAll(t *testing.T, data []byte, kind querylog.Kind) []querylog.Event {
	t.Helper()
	r, err := querylog.NewReader(bytes.NewReader(data), "fuzz", kind)
	if err != nil {
		return nil // a broken gzip header, say
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	var evs []querylog.Event
	for {
		ev, err := r.Next()
		if err != nil {
			if err != io.EOF && len(evs) > lines {
				t.Fatalf("%d events from %d lines before %v", len(evs), lines, err)
			}
			return evs
		}
		if ev.Line < 1 || ev.Line > lines {
			t.Fatalf("event at line %d of a %d-line input: %+v", ev.Line, lines, ev)
		}
		if n := len(evs); n > 0 && ev.Line < evs[n-1].Line {
			t.Fatalf("event at line %d after one at line %d", ev.Line, evs[n-1].Line)
		}
		evs = append(evs, ev)
		if len(evs) > lines {
			t.Fatalf("more events (%d) than lines (%d): the reader does not end", len(evs), lines)
		}
	}
}

func addLogSeeds(f *testing.F, pattern string, inline ...string) {
	for _, s := range inline {
		f.Add([]byte(s))
	}
	for _, b := range testutil.SharedSeeds(pattern) {
		f.Add(b)
	}
}

func FuzzGeneralLog(f *testing.F) {
	addLogSeeds(f, "querylogs/general-*",
		"/usr/sbin/mariadbd, Version: 10.11.6-MariaDB-log (Debian). started with:\nTcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\nTime\t\t    Id Command\tArgument\n"+
			"241204 10:00:00\t    5 Connect\tapp@localhost on shop using Socket\n\t\t    5 Query\tSELECT 1\n\t\t    5 Query\tSELECT 'a\nb'\n\t\t    5 Quit\t\n",
		"2024-12-04T10:00:00.123456Z\t   12 Query\tSET NAMES utf8mb4\n2024-12-04T10:00:00.223456Z\t   12 Init DB\tshop\n2024-12-04T10:00:01.000000Z\t   12 Execute\tSELECT * FROM t WHERE id=1\n",
		"\x1f\x8b\x08\x00")
	f.Fuzz(func(t *testing.T, data []byte) { readAll(t, data, querylog.General) })
}

func FuzzSlowLog(f *testing.F) {
	addLogSeeds(f, "querylogs/slow-*",
		"# Time: 2024-12-04T10:00:00.123456Z\n# User@Host: app[app] @ localhost []  Id:     7\n# Query_time: 0.000123  Lock_time: 0.000010 Rows_sent: 1  Rows_examined: 1\nuse shop;\nSET timestamp=1733306400;\nSELECT * FROM orders WHERE id = 1;\n",
		"# User@Host: root[root] @ localhost []\n# Query_time: 1.5\nSET timestamp=1;\nSELECT 1;\nSELECT 2;\n")
	f.Fuzz(func(t *testing.T, data []byte) { readAll(t, data, querylog.Slow) })
}

func FuzzClassify(f *testing.F) {
	for _, q := range []string{"SELECT 1", "(SELECT 1) UNION (SELECT 2)", "with x as (select 1) select * from x", "SELECT * INTO OUTFILE '/tmp/x' FROM t",
		"SET GLOBAL max_connections = 10", "set @@global.wait_timeout=1", "SET SESSION TRANSACTION READ WRITE", "set names utf8mb4", "use `a``b`;",
		"/*!40101 SET GLOBAL x=1 */", "-- c\nDELETE FROM t", "# c\nSHOW TABLES", "BEGIN", ""} {
		f.Add(q)
	}
	for _, b := range testutil.SharedSeeds("querylogs/*") {
		r, err := querylog.NewReader(bytes.NewReader(b), "seed", querylog.Auto)
		if err != nil {
			continue
		}
		for ev, err := r.Next(); err == nil; ev, err = r.Next() {
			f.Add(ev.Query)
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		c := querylog.Classify(q)
		// A plain comment in front changes nothing (an executable /*! one
		// would, and Classify must not skip those).
		for _, prefix := range []string{"/* fuzz */ ", "-- fuzz\n", "# fuzz\n", " \t\r\n"} {
			if got := querylog.Classify(prefix + q); got != c {
				t.Errorf("Classify(%q) = %s, with %q in front %s", q, c, prefix, got)
			}
		}
		if c == querylog.ClassSelect && (bytes.Contains(bytes.ToLower([]byte(q)), []byte("outfile")) || bytes.Contains(bytes.ToLower([]byte(q)), []byte("dumpfile"))) {
			t.Errorf("Classify(%q) = select: it writes a file", q)
		}
		_ = querylog.UseDB(q)
	})
}

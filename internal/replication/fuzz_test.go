package replication_test

import (
	"testing"

	"github.com/dbshift/dbshift/internal/replication"
)

// FuzzParseFilePos: what ParseFilePos accepts prints back to coordinates it
// reads the same, with a position of at least 4 (a binlog's header).
func FuzzParseFilePos(f *testing.F) {
	for _, s := range []string{"mysql-bin.000042:1234", "binlog.000001:4", "b:3", "a:b:5", ":4", "x:", "x:0004", "x:+5", "x:18446744073709551616", "/var/lib/mysql/mysql-bin.000001:120"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := replication.ParseFilePos(s)
		if err != nil {
			return
		}
		if c.File == "" || c.Position < 4 {
			t.Fatalf("ParseFilePos(%q) = %+v", s, c)
		}
		again, err := replication.ParseFilePos(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseFilePos(%q) = %+v, printed %q reads back %+v, %v", s, c, c.String(), again, err)
		}
	})
}

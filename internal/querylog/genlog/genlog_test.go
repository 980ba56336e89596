package genlog

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/dbshift/dbshift/internal/querylog"
)

// The generated logs must read back whole: every statement, no unparsed line.
func TestWrite_ReadsBackCompletely(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"iso-mixed", Options{Size: 1 << 20, Form: ISO, Mix: Mixed}},
		{"mariadb-mixed", Options{Size: 1 << 20, Form: MariaDB, Mix: Mixed}},
		{"iso-point", Options{Size: 256 << 10, Form: ISO, Mix: PointSelects}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, stmts, err := Write(&buf, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			r, err := querylog.NewReader(&buf, tc.name, querylog.Auto)
			if err != nil {
				t.Fatal(err)
			}
			var got int64
			for {
				ev, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if ev.DB == "" || ev.ConnID == 0 {
					t.Fatalf("event without context: %+v", ev)
				}
				got++
			}
			st := r.Stats()
			if got != stmts || st.Unparsed != 0 || st.Bytes != n {
				t.Fatalf("read %d of %d statements, %d unparsed (%+v), %d of %d bytes", got, stmts, st.Unparsed, st.Examples, st.Bytes, n)
			}
		})
	}
}

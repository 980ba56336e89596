package compat

import (
	"testing"

	"github.com/dbshift/dbshift/internal/testutil"
)

func addQuerySeeds(f *testing.F) {
	for _, q := range []string{"SELECT `rank`, 'it''s', \"q\\\"\" FROM t WHERE d = '2024-02-30'", "/*!80000 SELECT 1 */", "SELECT 1 -- c", "SELECT 1 --",
		"select * from t group by a asc", "CREATE PROCEDURE p() BEGIN SELECT 1; END", "SELECT PASSWORD('x')", "SELECT 0x1F, X'1F', b'01', 1.5e-3", "'", "/*", "`", ""} {
		f.Add(q)
	}
	for _, b := range testutil.SharedSeeds("pt-upgrade/*/*") {
		f.Add(string(b))
	}
}

func FuzzScanSQL(f *testing.F) {
	addQuerySeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		toks := scanSQL(s)
		for i, tk := range toks {
			if tk.pos < 0 || tk.pos > len(s) {
				t.Fatalf("token %d %+v at %d outside the %d-byte input", i, tk, tk.pos, len(s))
			}
			if i > 0 && tk.pos <= toks[i-1].pos {
				t.Fatalf("token %d %+v at %d not after token %d at %d", i, tk, tk.pos, i-1, toks[i-1].pos)
			}
		}
	})
}

// FuzzAnalyzer runs every query check on one statement: none may panic on
// what a log holds (the checks read a production log of millions).
func FuzzAnalyzer(f *testing.F) {
	addQuerySeeds(f)
	v, err := ParseVersion("5.7.44")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		a := NewAnalyzer(v, Target80, testSchema())
		a.Add(Query{Text: q, DB: "app"})
		_ = a.Findings()
	})
}

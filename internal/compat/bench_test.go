package compat

import (
	"fmt"
	"math/rand"
	"testing"
)

// benchQueries is a mix like an application's log: few shapes, many
// literals, a small share of problem queries.
func benchQueries(n int) []string {
	r := rand.New(rand.NewSource(1))
	tmpl := []func() string{
		func() string {
			return fmt.Sprintf("SELECT id, name, status, amount FROM orders WHERE id = %d", r.Intn(1e6))
		},
		func() string {
			return fmt.Sprintf("SELECT o.id, o.amount, c.name FROM orders o JOIN customers c ON c.id = o.id WHERE o.created BETWEEN '2024-%02d-01' AND '2024-%02d-28' AND o.status IN ('new', 'paid') ORDER BY o.created DESC LIMIT 50", 1+r.Intn(12), 1+r.Intn(12))
		},
		func() string {
			return fmt.Sprintf("UPDATE orders SET status = 'shipped', updated = NOW() WHERE id = %d AND status = 'paid'", r.Intn(1e6))
		},
		func() string {
			return fmt.Sprintf("INSERT INTO orders (name, status, amount, created) VALUES ('customer %d', 'new', %d.%02d, '2024-05-%02d')", r.Intn(1e5), r.Intn(1000), r.Intn(100), 1+r.Intn(28))
		},
		func() string {
			return fmt.Sprintf("SELECT status, COUNT(*) FROM orders WHERE created > '2024-%02d-01' GROUP BY status", 1+r.Intn(12))
		},
		func() string {
			if r.Intn(100) == 0 {
				return "SELECT * FROM orders WHERE created < '9999-99-99'"
			}
			return fmt.Sprintf("SELECT * FROM orders WHERE created < '%d-12-31'", 2000+r.Intn(30))
		},
		func() string { return fmt.Sprintf("SELECT PASSWORD('%x')", r.Int63()) },
		func() string { return "SET sql_mode = 'STRICT_TRANS_TABLES'" },
	}
	out := make([]string, n)
	for i := range out {
		out[i] = tmpl[r.Intn(len(tmpl))]()
	}
	return out
}

func BenchmarkAnalyzer_Add(b *testing.B) {
	qs := benchQueries(10000)
	bytes := 0
	for _, q := range qs {
		bytes += len(q)
	}
	v, _ := ParseVersion("5.7.44")
	a := NewAnalyzer(v, Target80, testSchema())
	b.SetBytes(int64(bytes / len(qs)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.Add(Query{Text: qs[i%len(qs)], DB: "app"})
	}
}

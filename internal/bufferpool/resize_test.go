package bufferpool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

const testRows = 100000

// shared is one sandbox for the package's server tests: each test starts
// from a 1G pool, and starting mariadbd once keeps the suite short.
var shared struct {
	once sync.Once
	sb   *sandbox.Sandbox
	c    *dbconn.Conn
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.sb != nil {
		shared.c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = shared.sb.Down(ctx, true)
		cancel()
	}
	os.Exit(code)
}

// startServer returns the shared sandbox (1G pool, a table to read), its
// pool set back to 1G.
func startServer(t *testing.T) *dbconn.Conn {
	t.Helper()
	sandboxtest.RequireServer(t)
	shared.once.Do(func() { shared.sb, shared.c, shared.err = bringUp() })
	if shared.err != nil {
		t.Fatalf("sandbox: %v", shared.err)
	}
	if _, err := shared.c.DB.Exec("SET GLOBAL innodb_buffer_pool_size = 1073741824"); err != nil {
		t.Fatalf("resetting the pool to 1G: %v", err)
	}
	return shared.c
}

func bringUp() (*sandbox.Sandbox, *dbconn.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "dbshift-bufferpool-test-")
	if err != nil {
		return nil, nil, err
	}
	sb, err := sandbox.Up(ctx, sandbox.Options{Dir: dir, Instances: 1, Extra: []string{"innodb_buffer_pool_size=1G"}})
	if err != nil {
		if sb != nil {
			_ = sb.Down(ctx, true)
		}
		return nil, nil, err
	}
	inst := sb.Instance(1)
	c, err := dbconn.Open(ctx, dbconn.Spec{Role: "server", DSN: inst.DSN(), Password: inst.Password}, nil)
	if err != nil {
		_ = sb.Down(ctx, true)
		return nil, nil, err
	}
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS bp",
		"CREATE TABLE bp.t (id INT PRIMARY KEY, pad CHAR(200) NOT NULL) ENGINE=InnoDB",
		// 10^5 rows from five cross-joined digits (recursive CTEs stop at
		// max_recursive_iterations).
		"INSERT INTO bp.t WITH d(n) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) " +
			"SELECT 1 + a.n + 10*b.n + 100*c.n + 1000*e.n + 10000*f.n, REPEAT('x', 200) FROM d a, d b, d c, d e, d f",
	} {
		if _, err := c.DB.ExecContext(ctx, q); err != nil {
			c.Close()
			_ = sb.Down(ctx, true)
			return nil, nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	return sb, c, nil
}

// readLoad runs point selects on bp.t from n connections until the test
// ends; it returns the number of queries done so far.
func readLoad(t *testing.T, c *dbconn.Conn, n int) func() int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var done atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pad string
			for ctx.Err() == nil {
				err := c.DB.QueryRowContext(ctx, "SELECT pad FROM bp.t WHERE id = ?", 1+rand.IntN(testRows)).Scan(&pad)
				if err != nil {
					if ctx.Err() == nil {
						failed.Store(err)
					}
					return
				}
				done.Add(1)
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if err, ok := failed.Load().(error); ok {
			t.Errorf("read load failed: %v", err)
		}
	})
	return done.Load
}

func newResizer(t *testing.T, c *dbconn.Conn) *Resizer {
	t.Helper()
	r, err := New(context.Background(), c.DB, c.Flavor, c.String())
	if err != nil {
		t.Fatalf("reading settings: %v", err)
	}
	if r.Settings.Size != 1<<30 {
		t.Fatalf("sandbox pool is %s, want 1G", FormatSize(r.Settings.Size))
	}
	return r
}

func poolSize(t *testing.T, c *dbconn.Conn) uint64 {
	t.Helper()
	var n uint64
	if err := c.DB.QueryRow("SELECT @@GLOBAL.innodb_buffer_pool_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestResize_Shrink1GTo256MUnderReadLoad(t *testing.T) {
	c := startServer(t)
	queries := readLoad(t, c, 4)
	r := newResizer(t, c)

	var lines []string
	res, err := r.Run(context.Background(), Options{
		To: 256 << 20, Step: 128 << 20, Pause: 500 * time.Millisecond, SampleEvery: 100 * time.Millisecond,
		Progress: func(l string) { lines = append(lines, l) },
	})
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, strings.Join(lines, "\n"))
	}
	if res.Outcome != Completed {
		t.Fatalf("outcome %s, want completed", res.Outcome)
	}
	want := []uint64{896 << 20, 768 << 20, 640 << 20, 512 << 20, 384 << 20, 256 << 20}
	if len(res.Steps) != len(want) {
		t.Fatalf("%d steps, want %d", len(res.Steps), len(want))
	}
	from := uint64(1 << 30)
	for i, s := range res.Steps {
		if s.From != from || s.To != want[i] {
			t.Errorf("step %d: %s -> %s, want %s -> %s", s.N, FormatSize(s.From), FormatSize(s.To), FormatSize(from), FormatSize(want[i]))
		}
		if s.After.Probe.Count == 0 || s.Before.Probe.Count == 0 {
			t.Errorf("step %d: no probe latencies (before %d, after %d)", s.N, s.Before.Probe.Count, s.After.Probe.Count)
		}
		if s.After.HitRatio <= 0 || s.After.HitRatio > 1 {
			t.Errorf("step %d: hit ratio %v under a read load", s.N, s.After.HitRatio)
		}
		if s.Resize <= 0 {
			t.Errorf("step %d: resize time %v", s.N, s.Resize)
		}
		from = s.To
	}
	if got := poolSize(t, c); got != 256<<20 {
		t.Errorf("server pool is %s after the run, want 256M", FormatSize(got))
	}
	if q := queries(); q < 1000 {
		t.Errorf("read load did only %d queries", q)
	}

	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, row := range []string{"1G -> 896M", "896M -> 768M", "384M -> 256M", "completed: innodb_buffer_pool_size is 256M after 6 steps"} {
		if !strings.Contains(out, row) {
			t.Errorf("table lacks %q:\n%s", row, out)
		}
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"outcome": "completed"`) || strings.Count(js.String(), `"resize_ms"`) != 6 {
		t.Errorf("JSON lacks the outcome or the 6 steps:\n%s", js.String())
	}
	t.Logf("\n%s", out)
}

// A bound no probe can meet (p99 under 1µs) stops the run after the first
// step and says which bound, what was seen and where the pool stands.
func TestResize_TightMaxP99StopsAtFirstBreach(t *testing.T) {
	c := startServer(t)
	readLoad(t, c, 2)
	r := newResizer(t, c)

	res, err := r.Run(context.Background(), Options{
		To: 256 << 20, Step: 128 << 20, Pause: 2 * time.Second, SampleEvery: 100 * time.Millisecond,
		Bounds: Bounds{MaxP99: time.Microsecond},
	})
	if !errors.Is(err, ErrBreach) {
		t.Fatalf("Run error %v, want a breach", err)
	}
	for _, want := range []string{"after step 1", "probe p99", "crossed the limit 1µs", "innodb_buffer_pool_size is now 896M"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if res.Outcome != Breached || res.Breach == nil || res.Breach.Bound != "probe p99" {
		t.Errorf("outcome %s breach %+v", res.Outcome, res.Breach)
	}
	if len(res.Steps) != 1 || res.Steps[0].Breach == nil {
		t.Fatalf("%d steps recorded, want 1 with the breach", len(res.Steps))
	}
	if got := poolSize(t, c); got != 896<<20 {
		t.Errorf("server pool is %s, want 896M (one step, no revert)", FormatSize(got))
	}
	var text bytes.Buffer
	if err := WriteText(&text, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "stopped: probe p99") {
		t.Errorf("text output does not say it stopped:\n%s", text.String())
	}
}

func TestResize_RevertOnBreachStepsBack(t *testing.T) {
	c := startServer(t)
	r := newResizer(t, c)

	res, err := r.Run(context.Background(), Options{
		To: 256 << 20, Step: 128 << 20, Pause: time.Second, SampleEvery: 100 * time.Millisecond,
		Bounds: Bounds{MaxP99: time.Microsecond}, RevertOnBreach: true,
	})
	if !errors.Is(err, ErrBreach) {
		t.Fatalf("Run error %v, want a breach", err)
	}
	if len(res.Steps) != 2 || !res.Steps[1].Revert || res.Steps[1].To != 1<<30 {
		t.Fatalf("steps %+v, want the step and its revert to 1G", res.Steps)
	}
	if got := poolSize(t, c); got != 1<<30 || res.Final != 1<<30 {
		t.Errorf("pool %s, result says %s; want 1G after the revert", FormatSize(got), FormatSize(res.Final))
	}
	if !strings.Contains(err.Error(), "innodb_buffer_pool_size is now 1G") {
		t.Errorf("error %q does not give the size after the revert", err)
	}
}

func TestResize_BadInputOneLine(t *testing.T) {
	c := startServer(t)
	r := newResizer(t, c)
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"under the minimum", Options{To: 1 << 20, Step: 128 << 20}, "below the server's minimum innodb_buffer_pool_size"},
		{"probe does not parse", Options{To: 512 << 20, Step: 128 << 20, ProbeQuery: "SELEKT 1"}, "probe query failed before any change"},
	}
	for _, tc := range cases {
		_, err := r.Run(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", tc.name, err, tc.want)
		}
	}
	if got := poolSize(t, c); got != 1<<30 {
		t.Errorf("bad input changed the pool to %s", FormatSize(got))
	}
}

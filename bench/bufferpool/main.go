// Command bufferpool is the buffer pool demonstration: it starts a sandbox
// mariadbd with a 1G pool, loads a table bigger than the target pool, warms
// the pool, runs a uniform random read load and shrinks the pool to 256M in
// 128M steps with dbshift's resizer, printing the per-step table and the
// read load's own figures.
//
//	go run ./bench/bufferpool                # ~600 MB of rows, 4 readers, 5s pause
//	go run ./bench/bufferpool -rows 200000 -pause 2s
//	go run ./bench/bufferpool -min-hit-ratio 0.97 -revert-on-breach
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/dbshift/dbshift/internal/bufferpool"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
)

func main() {
	rows := flag.Int("rows", 2_000_000, "rows of ~280 bytes to load")
	readers := flag.Int("readers", 4, "read-load connections")
	pause := flag.Duration("pause", 5*time.Second, "health watch after each step")
	from := flag.String("from", "1G", "pool size to start with")
	to := flag.String("to", "256M", "pool size to shrink to")
	step := flag.String("step", "128M", "step")
	dir := flag.String("dir", "", "sandbox directory (default: a temporary one, removed at the end)")
	format := flag.String("format", "text", "text or json")
	var b bufferpool.Bounds
	flag.DurationVar(&b.MaxP99, "max-p99", 0, "stop when the probe p99 after a step exceeds this")
	flag.Float64Var(&b.MinHitRatio, "min-hit-ratio", 0, "stop when the hit ratio after a step falls below this")
	flag.Float64Var(&b.MaxReadsPerSec, "max-reads-per-sec", 0, "stop when disk reads/s after a step exceed this")
	revert := flag.Bool("revert-on-breach", false, "step back when a bound is crossed")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *rows, *readers, *pause, *from, *to, *step, *dir, *format, b, *revert); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rows, readers int, pause time.Duration, fromS, toS, stepS, dir, format string, bounds bufferpool.Bounds, revert bool) error {
	from, err := bufferpool.ParseSize(fromS)
	if err != nil {
		return err
	}
	to, err := bufferpool.ParseSize(toS)
	if err != nil {
		return err
	}
	step, err := bufferpool.ParseSize(stepS)
	if err != nil {
		return err
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "dbshift-bench-bufferpool-")
		if err != nil {
			return err
		}
		dir = d
	}
	say := func(f string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+f+"\n", a...) }
	say("sandbox in %s", dir)
	sb, err := sandbox.Up(ctx, sandbox.Options{Dir: dir, Instances: 1, Extra: []string{fmt.Sprintf("innodb_buffer_pool_size=%d", from)}})
	if sb != nil {
		defer func() {
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = sb.Down(dctx, true)
		}()
	}
	if err != nil {
		return err
	}
	inst := sb.Instance(1)
	c, err := dbconn.Open(ctx, dbconn.Spec{Role: "server", DSN: inst.DSN(), Password: inst.Password}, nil)
	if err != nil {
		return err
	}
	defer c.Close()

	start := time.Now()
	if err := load(ctx, c.DB, rows); err != nil {
		return fmt.Errorf("loading: %w", err)
	}
	var dataBytes, indexBytes uint64
	// Persistent statistics lag behind a bulk load; refresh them for the sizes.
	_, _ = c.DB.ExecContext(ctx, "ANALYZE TABLE bench.t")
	_ = c.DB.QueryRowContext(ctx, "SELECT DATA_LENGTH, INDEX_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bench' AND TABLE_NAME = 't'").Scan(&dataBytes, &indexBytes)
	say("loaded %d rows (%s of data) in %s", rows, bufferpool.FormatSize(dataBytes/(1<<20)*(1<<20)), time.Since(start).Round(time.Second))
	// Warm the pool: a full scan of the clustered index.
	if _, err := c.DB.ExecContext(ctx, "SELECT COUNT(*), SUM(LENGTH(pad)) FROM bench.t FORCE INDEX (PRIMARY)"); err != nil {
		return fmt.Errorf("warming: %w", err)
	}

	lctx, stopLoad := context.WithCancel(ctx)
	lat := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	var mu sync.Mutex
	var queries, errs atomic.Int64
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pad string
			for lctx.Err() == nil {
				t0 := time.Now()
				err := c.DB.QueryRowContext(lctx, "SELECT pad FROM bench.t WHERE id = ?", 1+rand.IntN(rows)).Scan(&pad)
				if lctx.Err() != nil {
					return
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				queries.Add(1)
				mu.Lock()
				_ = lat.RecordValue(max(1, time.Since(t0).Microseconds()))
				mu.Unlock()
			}
		}()
	}
	loadStart := time.Now()

	rz, err := bufferpool.New(ctx, c.DB, c.Flavor, c.String())
	if err != nil {
		stopLoad()
		wg.Wait()
		return err
	}
	res, runErr := rz.Run(ctx, bufferpool.Options{
		To: to, Step: step, Pause: pause, Bounds: bounds, RevertOnBreach: revert,
		Progress: func(l string) { say("%s", l) },
	})
	stopLoad()
	wg.Wait()
	elapsed := time.Since(loadStart)
	if format == "json" {
		err = bufferpool.WriteJSON(os.Stdout, res)
	} else {
		err = bufferpool.WriteText(os.Stdout, res)
	}
	if err != nil {
		return err
	}
	fmt.Printf("read load: %d readers, %d point selects over %d rows (%s data + %s index) in %s: %.0f/s, p50 %s, p99 %s, max %s, %d errors\n",
		readers, queries.Load(), rows, bufferpool.FormatSize(dataBytes/(1<<20)*(1<<20)), bufferpool.FormatSize(indexBytes/(1<<20)*(1<<20)),
		elapsed.Round(time.Millisecond), float64(queries.Load())/elapsed.Seconds(),
		time.Duration(lat.ValueAtQuantile(50))*time.Microsecond, time.Duration(lat.ValueAtQuantile(99))*time.Microsecond,
		time.Duration(lat.Max())*time.Microsecond, errs.Load())
	return runErr
}

// load fills bench.t with rows of ~280 bytes, 100k rows per statement.
func load(ctx context.Context, db *sql.DB, rows int) error {
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS bench",
		"DROP TABLE IF EXISTS bench.t",
		"CREATE TABLE bench.t (id INT PRIMARY KEY, pad CHAR(255) NOT NULL) ENGINE=InnoDB",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	const batch = 100_000
	digits := "WITH d(n) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) "
	for base := 0; base < rows; base += batch {
		n := min(batch, rows-base)
		q := "INSERT INTO bench.t " + digits +
			"SELECT ? + 1 + a.n + 10*b.n + 100*c.n + 1000*e.n + 10000*f.n AS id, RPAD(MD5(RAND()), 255, 'x') FROM d a, d b, d c, d e, d f HAVING id <= ?"
		if _, err := db.ExecContext(ctx, q, base, base+n); err != nil {
			return err
		}
	}
	return nil
}

// Command compat-check measures `dbshift check-upgrade` at the scale of
// issue 6's acceptance: a schema of 10,000 tables on a real MariaDB and a
// 1 GB query log, checked together. It prints the time of each phase.
//
//	go run ./bench/compat-check -dir /tmp/compat-bench
//
// The sandbox and the generated log stay in -dir, so a second run measures
// the check alone.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dbshift/dbshift/internal/compat"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
)

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "dbshift-compat-bench"), "sandbox and log directory (kept between runs)")
	tables := flag.Int("tables", 10000, "tables to create")
	schemas := flag.Int("schemas", 10, "schemas to spread them over")
	logBytes := flag.Int64("log-bytes", 1<<30, "size of the generated general log")
	target := flag.String("target", "8.0", "target version")
	down := flag.Bool("down", false, "stop the sandbox at the end")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the check to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "compat-check:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dir, *tables, *schemas, *logBytes, compat.Target(*target), *down); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "compat-check:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, tables, schemas int, logBytes int64, target compat.Target, down bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	t0 := time.Now()
	sb, err := sandbox.Up(ctx, sandbox.Options{Dir: filepath.Join(dir, "sandbox"), Instances: 1, Log: log})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if down {
		defer sb.Down(context.Background(), false)
	}
	inst := sb.Instances[0]
	fmt.Printf("sandbox up: %v\n", time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	n, err := ensureSchema(ctx, inst, tables, schemas)
	if err != nil {
		return fmt.Errorf("creating tables: %w", err)
	}
	fmt.Printf("schema: %d tables created in %v\n", n, time.Since(t0).Round(time.Millisecond))

	logPath := filepath.Join(dir, "general.log")
	t0 = time.Now()
	size, err := ensureLog(logPath, logBytes, schemas, tables)
	if err != nil {
		return fmt.Errorf("generating the log: %w", err)
	}
	fmt.Printf("log: %s, %.2f GiB (generated in %v)\n", logPath, float64(size)/(1<<30), time.Since(t0).Round(time.Millisecond))

	conn, err := dbconn.Open(ctx, dbconn.Spec{Role: "source", DSN: inst.DSN(), Password: inst.Password, TLS: "off"}, log)
	if err != nil {
		return err
	}
	defer conn.Close()

	start := time.Now()
	live, err := compat.Inspect(ctx, conn, compat.LiveOptions{Target: target})
	if err != nil {
		return err
	}
	defer live.Close()
	findings := live.Run(ctx)
	tLive := time.Since(start)
	for _, t := range live.Timings {
		fmt.Printf("  %-34s %v\n", t.Check, t.Took.Round(time.Millisecond))
	}
	fmt.Printf("live checks: %d schemas, %d tables, %d findings in %v\n", live.Source.Schemas, live.Source.Tables, len(findings), tLive.Round(time.Millisecond))

	t0 = time.Now()
	si, err := compat.LoadSchemaInfo(ctx, conn.DB, live.Schemas())
	if err != nil {
		return err
	}
	tSchema := time.Since(t0)
	fmt.Printf("schema info for the query checks: %v\n", tSchema.Round(time.Millisecond))

	t0 = time.Now()
	debug.SetGCPercent(400) // as check-upgrade does with --query-log
	a := compat.NewAnalyzer(live.Version(), target, si)
	src, closeSrc, err := openLog(logPath)
	if err != nil {
		return err
	}
	err = a.Run(ctx, src)
	closeSrc()
	if err != nil {
		return err
	}
	tLog := time.Since(t0)
	st := a.Stats([]string{logPath})
	qf := a.Findings()
	fmt.Printf("query log: %d statements, %d fingerprints (%d parsed), %d unparsable, %d findings in %v (%.0f MB/s)\n",
		st.Queries, st.Fingerprints, a.Parsed, st.Unparsable, len(qf), tLog.Round(time.Millisecond), float64(size)/1e6/tLog.Seconds())
	total := time.Since(start)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	// The machine is shared: CPU time says what the check costs, wall
	// time what it took amid everyone else's work.
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("TOTAL check-upgrade (live + schema info + log): %v wall, %v CPU of this process, on %d CPUs (loadavg %s); heap in use %d MiB\n",
		total.Round(time.Millisecond), cpu.Round(time.Millisecond), runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "), m.HeapInuse>>20)
	return nil
}

// ensureSchema creates tables until there are n, spread over the schemas,
// on a few connections at once. Some tables carry upgrade problems.
func ensureSchema(ctx context.Context, inst *sandbox.Instance, n, schemas int) (int, error) {
	root, err := inst.Root(ctx)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	var have int
	if err := root.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA LIKE 'app\\_%'").Scan(&have); err != nil {
		return 0, err
	}
	if have >= n {
		return 0, nil
	}
	for s := 0; s < schemas; s++ {
		if _, err := root.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS app_%02d CHARACTER SET utf8mb4", s)); err != nil {
			return 0, err
		}
	}
	root.SetMaxOpenConns(4)
	jobs := make(chan int)
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if _, err := root.ExecContext(ctx, tableDDL(i, schemas)); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	created := 0
	for i := 0; i < n; i++ {
		select {
		case jobs <- i:
			created++
		case err := <-errc:
			close(jobs)
			wg.Wait()
			return created, err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return created, err
	default:
	}
	return created, nil
}

func tableDDL(i, schemas int) string {
	extra := ""
	switch i % 500 {
	case 1:
		extra = ", `rank` INT"
	case 2:
		extra = ", legacy VARCHAR(10) CHARACTER SET utf8mb3"
	case 3:
		extra = ", body TEXT DEFAULT 'x'"
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS app_%02d.t%05d (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, name VARCHAR(64), status VARCHAR(16), amount DECIMAL(10,2), created DATE, updated DATETIME, note TEXT%s, KEY (customer_id), KEY (created))",
		i%schemas, i, extra)
}

// ensureLog writes a MySQL 5.7-style general log of about size bytes:
// many connections, a few dozen query shapes with varying literals, and a
// small share of queries that break on 8.0.
func ensureLog(path string, size int64, schemas, tables int) (int64, error) {
	if st, err := os.Stat(path); err == nil && st.Size() >= size {
		return st.Size(), nil
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "/usr/sbin/mysqld, Version: 5.7.44-log (MySQL Community Server (GPL)). started with:\nTcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\nTime                 Id Command    Argument\n")
	r := rand.New(rand.NewSource(42))
	ts := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var written int64
	conns := 200
	for c := 1; c <= conns; c++ {
		line := fmt.Sprintf("%s\t%5d Connect\tapp@10.0.0.%d on app_%02d using TCP/IP\n", ts.Format("2006-01-02T15:04:05.000000Z"), c, c%250, c%schemas)
		w.WriteString(line)
		written += int64(len(line))
	}
	for written < size {
		ts = ts.Add(time.Duration(r.Intn(2000)) * time.Microsecond)
		c := 1 + r.Intn(conns)
		// A connection works in its own schema (c%schemas, see Connect).
		q := benchQuery(r, c%schemas, schemas, tables)
		line := fmt.Sprintf("%s\t%5d Query\t%s\n", ts.Format("2006-01-02T15:04:05.000000Z"), c, q)
		if _, err := w.WriteString(line); err != nil {
			return written, err
		}
		written += int64(len(line))
	}
	if err := w.Flush(); err != nil {
		return written, err
	}
	return written, f.Close()
}

func benchQuery(r *rand.Rand, schema, schemas, tables int) string {
	t := fmt.Sprintf("t%05d", r.Intn(tables/schemas)*schemas+schema)
	switch k := r.Intn(100); {
	case k < 30:
		return fmt.Sprintf("SELECT id, name, status, amount FROM %s WHERE id = %d", t, r.Intn(1e6))
	case k < 45:
		return fmt.Sprintf("SELECT o.id, o.amount, o.name FROM %s o WHERE o.created BETWEEN '2024-%02d-01' AND '2024-%02d-28' AND o.status IN ('new', 'paid') ORDER BY o.created DESC LIMIT 50", t, 1+r.Intn(12), 1+r.Intn(12))
	case k < 60:
		return fmt.Sprintf("UPDATE %s SET status = 'shipped', updated = NOW() WHERE id = %d AND status = 'paid'", t, r.Intn(1e6))
	case k < 75:
		return fmt.Sprintf("INSERT INTO %s (customer_id, name, status, amount, created) VALUES (%d, 'customer %d', 'new', %d.%02d, '2024-05-%02d')", t, r.Intn(1e5), r.Intn(1e5), r.Intn(1000), r.Intn(100), 1+r.Intn(28))
	case k < 85:
		return fmt.Sprintf("SELECT status, COUNT(*), SUM(amount) FROM %s WHERE created > '2024-%02d-01' GROUP BY status", t, 1+r.Intn(12))
	case k < 90:
		if r.Intn(50) == 0 {
			return fmt.Sprintf("SELECT * FROM %s WHERE created < '9999-99-99' AND customer_id = %d", t, r.Intn(1e5))
		}
		return fmt.Sprintf("SELECT * FROM %s WHERE created < '%d-12-31' AND customer_id = %d", t, 2000+r.Intn(30), r.Intn(1e5))
	case k < 92:
		return fmt.Sprintf("SELECT SQL_CALC_FOUND_ROWS id, name FROM %s WHERE status = 'new' LIMIT %d, 20", t, 20*r.Intn(50))
	case k < 93:
		return "SELECT FOUND_ROWS()"
	case k < 94:
		return fmt.Sprintf("SELECT customer_id, name, COUNT(*) FROM %s GROUP BY customer_id", t)
	case k < 95:
		return "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_AUTO_CREATE_USER'"
	case k < 96:
		return fmt.Sprintf("SELECT id FROM %s WHERE name = PASSWORD('%x')", t, r.Int63())
	default:
		return fmt.Sprintf("SELECT id,\n       name\n  FROM %s\n WHERE customer_id IN (%d, %d, %d)\n   AND note LIKE '%%%x%%'", t, r.Intn(1e5), r.Intn(1e5), r.Intn(1e5), r.Int31())
	}
}

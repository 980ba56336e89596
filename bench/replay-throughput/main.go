// Command replay-throughput compares dbshift's replay of logged point selects
// with sysbench's oltp_point_select (same statement, same table, same
// concurrency, text protocol, TCP) against a sandbox MariaDB, and measures
// the peak RSS of `dbshift replay` streaming a large log.
//
//	go run ./bench/replay-throughput -levels 8,32 -seconds 15 -rounds 3 [-v]
//	go run ./bench/replay-throughput -levels "" -rss-log-size 5G -dbshift ./bin/dbshift
//
// dbshift's side runs as `dbshift replay` does for a server on this host;
// -client-procs 0, -quiet-sysmon=false, -yield=false and -send-on-read=false
// turn each of its measures off. Each level prints the medians of each tool
// and the median of the rounds' paired ratios (each round's dbshift run
// against the sysbench run just before it), the steadier figure when other
// work on the machine comes and goes.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/querylog"
	"github.com/dbshift/dbshift/internal/querylog/genlog"
	"github.com/dbshift/dbshift/internal/replay"
	"github.com/dbshift/dbshift/internal/sandbox"
)

const rows = 100000

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "dbshift-bench-sandbox"), "sandbox directory (reused)")
	levels := flag.String("levels", "8,32", "concurrency levels")
	seconds := flag.Int("seconds", 15, "seconds per run")
	rounds := flag.Int("rounds", 3, "runs of each tool per level (alternating); the median is reported")
	rssSize := flag.String("rss-log-size", "", "also measure peak RSS of `dbshift replay` over a generated log of this size (e.g. 5G)")
	rssSeconds := flag.Int("rss-seconds", 60, "how long the RSS replay runs")
	bin := flag.String("dbshift", "bin/dbshift", "dbshift binary for the RSS run")
	keep := flag.Bool("keep", false, "leave the sandbox running")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run")
	clientProcs := flag.Int("client-procs", 1, "GOMAXPROCS of dbshift's replay trials (1 is what `dbshift replay --client-procs auto` picks for a server on this machine; 0: leave GOMAXPROCS alone)")
	quiet := flag.Bool("quiet-sysmon", true, "run with GODEBUG=schedtrace=2147483647, as `dbshift replay` re-executes itself when --client-procs is not all")
	yield := flag.Bool("yield", true, "run the client's threads under SCHED_BATCH during a trial (replay.LoadOptions.YieldToServer, on in `dbshift replay` for a server on this host)")
	sendOnRead := flag.Bool("send-on-read", true, "connect with dbconn.DialSendOnRead, as `dbshift replay` does for its load test")
	verbose := flag.Bool("v", false, "print every round")
	flag.Parse()
	if *quiet && *clientProcs > 0 && !strings.Contains(os.Getenv("GODEBUG"), "schedtrace=") {
		os.Exit(reexec())
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	opts := clientOpts{procs: *clientProcs, yield: *yield, sendOnRead: *sendOnRead}
	if err := run(*dir, *levels, *seconds, *rounds, opts, *verbose, *rssSize, *rssSeconds, *bin, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "replay-throughput:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// clientOpts are the switches of dbshift's side of the comparison.
type clientOpts struct {
	procs      int
	yield      bool
	sendOnRead bool
}

func run(dir, levels string, seconds, rounds int, opts clientOpts, verbose bool, rssSize string, rssSeconds int, bin string, keep bool) error {
	ctx := context.Background()
	sb, err := sandbox.Up(ctx, sandbox.Options{Dir: dir, Instances: 1})
	if err != nil {
		return err
	}
	if !keep {
		defer sb.Down(ctx, true)
	}
	inst := sb.Instance(1)
	if err := prepare(ctx, inst); err != nil {
		return err
	}
	// A passwordless account that only exists in this throwaway sandbox, so
	// sysbench needs no password on its command line.
	dsn := fmt.Sprintf("bench@tcp(%s)/sbtest", inst.Addr())

	logPath := filepath.Join(dir, "pointselect.log")
	if _, err := os.Stat(logPath); err != nil {
		if err := writeLog(logPath, 400<<20); err != nil {
			return err
		}
	}
	fmt.Printf("client: GOMAXPROCS %d, yield %v, send-on-read %v, GODEBUG %q\n", opts.procs, opts.yield, opts.sendOnRead, os.Getenv("GODEBUG"))
	fmt.Printf("%-12s %-10s %12s %12s %10s %14s\n", "concurrency", "tool", "qps", "p99 ms", "ratio", "client µs/query")
	for _, l := range strings.Split(levels, ",") {
		if l == "" {
			continue
		}
		n, err := strconv.Atoi(l)
		if err != nil {
			return err
		}
		// The machine is shared: alternate the tools and keep the median of
		// each, so a burst of someone else's load hits both alike.
		// pairs: each round's dbshift/sysbench, the two runs next to each
		// other in time; their median is steadier than the ratio of the
		// medians when the load moves between rounds.
		var ours, oursP99, oursCPU, theirs, theirsP99, theirsCPU, pairs []float64
		for r := 0; r < rounds; r++ {
			q, p, cpu, err := sysbenchQPS(inst, n, seconds)
			if err != nil {
				return err
			}
			theirs, theirsP99, theirsCPU = append(theirs, q), append(theirsP99, p), append(theirsCPU, cpu)
			before := selfCPU()
			q, p, err = dbshiftQPS(ctx, dsn, logPath, n, seconds, opts)
			if err != nil {
				return err
			}
			// client CPU per statement, in µs: independent of other load
			cpu = (selfCPU() - before).Seconds() * 1e6 / (q * float64(seconds))
			ours, oursP99, oursCPU = append(ours, q), append(oursP99, p), append(oursCPU, cpu)
			pairs = append(pairs, q/theirs[r])
			if verbose {
				fmt.Printf("  round %d  concurrency %d: sysbench %6.0f qps %5.1f µs/query, dbshift %6.0f qps %5.1f µs/query, ratio %.2fx, load %s\n",
					r+1, n, theirs[r], theirsCPU[r], q, cpu, pairs[r], loadAvg())
			}
		}
		fmt.Printf("%-12d %-10s %12.0f %12.3f %10s %14.1f  rounds %v\n", n, "sysbench", median(theirs), median(theirsP99), "", median(theirsCPU), round0(theirs))
		fmt.Printf("%-12d %-10s %12.0f %12.3f %9.2fx %14.1f  rounds %v\n", n, "dbshift", median(ours), median(oursP99), median(ours)/median(theirs), median(oursCPU), round0(ours))
		fmt.Printf("%-12d %-10s %12s %12s %9.2fx %14s  rounds %v\n", n, "paired", "", "", median(pairs), "", round2(pairs))
	}
	if rssSize != "" {
		return measureRSS(dir, dsn, bin, rssSize, rssSeconds)
	}
	return nil
}

// reexec runs this benchmark again with the GODEBUG setting `dbshift
// replay` gives itself (see quietSysmon in cmd/dbshift/replay.go).
func reexec() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay-throughput:", err)
		return 1
	}
	godebug := os.Getenv("GODEBUG")
	if godebug != "" {
		godebug += ","
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug+"schedtrace=2147483647")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "replay-throughput:", err)
		return 1
	}
	return 0
}

func prepare(ctx context.Context, inst *sandbox.Instance) error {
	db, err := inst.Root(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	if db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sbtest.sbtest1").Scan(&n) == nil && n == rows {
		return nil
	}
	for _, s := range []string{
		"CREATE DATABASE IF NOT EXISTS sbtest",
		"DROP TABLE IF EXISTS sbtest.sbtest1",
		// sysbench's own table definition, so both tools read the same rows.
		"CREATE TABLE sbtest.sbtest1 (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_1 (k))",
		"CREATE USER IF NOT EXISTS 'bench'@'127.0.0.1'",
		"CREATE USER IF NOT EXISTS 'bench'@'localhost'",
		"GRANT SELECT ON sbtest.* TO 'bench'@'127.0.0.1'",
		"GRANT SELECT ON sbtest.* TO 'bench'@'localhost'",
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	for i := 0; i < rows; i += 1000 {
		var b strings.Builder
		b.WriteString("INSERT INTO sbtest.sbtest1 (k, c, pad) VALUES ")
		for j := 0; j < 1000; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d, '%011d-%011d-%011d-%011d', '%011d-%011d')", (i+j)*7%rows, i+j, j, i, j*3, i+j, j)
		}
		if _, err := db.ExecContext(ctx, b.String()); err != nil {
			return fmt.Errorf("load sbtest1: %w", err)
		}
	}
	return nil
}

func writeLog(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, _, err := genlog.Write(f, genlog.Options{Size: size, Form: genlog.ISO, Mix: genlog.PointSelects, Rows: rows, Conns: 64}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func dbshiftQPS(ctx context.Context, dsn, logPath string, n, seconds int, opts clientOpts) (qps, p99ms float64, err error) {
	spec := dbconn.Spec{Role: "target", DSN: dsn, Password: "", TLS: "off", KeepSessionDefaults: true}
	if opts.sendOnRead {
		spec.Dial = dbconn.DialSendOnRead
	}
	connect := func(ctx context.Context, max int) (*sql.DB, error) {
		spec.MaxOpen = max
		c, err := dbconn.Open(ctx, spec, nil)
		if err != nil {
			return nil, err
		}
		return c.DB, nil
	}
	res, err := replay.Load(ctx, replay.Source{Paths: []string{logPath}, Kind: querylog.General}, connect, replay.LoadOptions{
		Concurrency: []int{n}, Trials: 1, Policy: replay.Policy{Filter: querylog.FilterSelect},
		Duration: time.Duration(seconds) * time.Second, ReadOnly: true, Procs: opts.procs, YieldToServer: opts.yield,
	})
	if err != nil {
		return 0, 0, err
	}
	t := res.Levels[0].Trials[0]
	if t.Errors > 0 {
		return 0, 0, fmt.Errorf("dbshift replay: %d errors %v", t.Errors, t.ByCode)
	}
	return t.QPS, float64(t.Latency.P99) / 1000, nil
}

var (
	sbQPS = regexp.MustCompile(`queries:\s+\d+\s+\(([\d.]+) per sec`)
	sbP99 = regexp.MustCompile(`99th percentile:\s+([\d.]+)`)
)

func sysbenchQPS(inst *sandbox.Instance, n, seconds int) (qps, p99ms, cpuPerQuery float64, err error) {
	args := []string{"oltp_point_select", "--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-port=" + strconv.Itoa(inst.Port),
		"--mysql-user=bench", "--mysql-db=sbtest", "--mysql-ssl=off", "--tables=1", "--table-size=" + strconv.Itoa(rows),
		"--db-ps-mode=disable", "--threads=" + strconv.Itoa(n), "--time=" + strconv.Itoa(seconds), "--percentile=99", "run"}
	cmd := exec.Command("sysbench", args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("sysbench: %w\n%s", err, out)
	}
	m := sbQPS.FindSubmatch(out)
	p := sbP99.FindSubmatch(out)
	if m == nil || p == nil {
		return 0, 0, 0, fmt.Errorf("sysbench output not understood:\n%s", out)
	}
	qps, _ = strconv.ParseFloat(string(m[1]), 64)
	p99ms, _ = strconv.ParseFloat(string(p[1]), 64)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return qps, p99ms, cpu.Seconds() * 1e6 / (qps * float64(seconds)), nil
}

// measureRSS runs the dbshift binary over a large generated log and reads its
// peak resident set size from the kernel's rusage.
func measureRSS(dir, dsn, bin, size string, seconds int) error {
	n, err := parseSize(size)
	if err != nil {
		return err
	}
	big := filepath.Join(dir, "pointselect-"+size+".log")
	if st, err := os.Stat(big); err != nil || st.Size() < n {
		fmt.Printf("generating %s log...\n", size)
		if err := writeLog(big, n); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"querylog", "extract", "--log", big, "--filter", "select", "--format", "json"},
		{"replay", "--log", big, "--target", dsn, "--concurrency", "32", "--trials", "1", "--duration", fmt.Sprintf("%ds", seconds), "--format", "json"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = nil, nil
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w", bin, args[0], err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		fmt.Printf("dbshift %-8s over a %s log: peak RSS %d MB, %.0f s\n", args[0], size, ru.Maxrss/1024, time.Since(start).Seconds())
	}
	return nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func round0(v []float64) []int {
	r := make([]int, len(v))
	for i, x := range v {
		r[i] = int(x)
	}
	return r
}

func round2(v []float64) []float64 {
	r := make([]float64, len(v))
	for i, x := range v {
		r[i] = float64(int(x*100+0.5)) / 100
	}
	return r
}

// loadAvg is the 1-minute load average, to show how busy the machine was.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

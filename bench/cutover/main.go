// Command cutover-bench measures cutovers under a canary writer through a
// real HAProxy on a sandbox: dbshift's protocol (N cutovers back and forth
// with --reverse) side by side with the naive procedure DBAs script today
// (read_only, poll Seconds_Behind_Master once a second until 0, stop
// replication, open the target, switch). It prints write-unavailable and
// client-visible times and what the probe lost.
//
//	go run ./bench/cutover -cycles 20 -rate 500
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/probe"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/switcher"
	"github.com/dbshift/dbshift/internal/switcher/haproxy"
)

func main() {
	cycles := flag.Int("cycles", 20, "cutovers per procedure")
	rate := flag.Int("rate", 500, "probe writes per second through HAProxy")
	only := flag.String("only", "", "run only this procedure (dbshift or naive)")
	flag.Parse()
	ctx := context.Background()
	var results []result
	for _, p := range []procedure{{"dbshift", dbshiftCutover}, {"naive", naiveCutover}} {
		if *only != "" && *only != p.name {
			continue
		}
		r, err := measure(ctx, p, *cycles, *rate)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", p.name, err)
			os.Exit(1)
		}
		results = append(results, r)
	}
	fmt.Printf("\n%d cutovers back and forth, probe at %d writes/s through HAProxy, sandbox MariaDB on loopback\n\n", *cycles, *rate)
	fmt.Printf("%-9s %12s %12s %12s %12s %10s %6s %6s %6s %12s\n", "procedure", "unavail p50", "unavail max", "client p50", "client max", "probe gap", "acked", "lost", "dups", "both-rw")
	bad := false
	for _, r := range results {
		fmt.Printf("%-9s %9.1f ms %9.1f ms %9.1f ms %9.1f ms %7.1f ms %6d %6d %6d %5d/%-6d\n", r.name, pct(r.unavail, 50), pct(r.unavail, 100), pct(r.client, 50), pct(r.client, 100), r.report.LongestGapMs, r.report.Acked, len(r.report.Lost), r.report.ServerDuplicates(), r.bothWritable, r.samples)
		bad = bad || len(r.report.Lost) > 0 || r.report.ServerDuplicates() > 0 || r.bothWritable > 0
	}
	fmt.Println("\nboth-rw: samples (both servers' @@read_only every 2 ms) in which both accepted writes / samples taken")
	if bad {
		os.Exit(1)
	}
}

type procedure struct {
	name string
	run  func(ctx context.Context, env *setup, src, tgt *server) (unavail, client time.Duration, err error)
}

type result struct {
	name                  string
	unavail, client       []float64
	report                probe.Report
	bothWritable, samples int
}

type server struct {
	inst *sandbox.Instance
	conn *dbconn.Conn
}

type setup struct {
	sb      *sandbox.Sandbox
	proxy   *haproxy.Local
	switch_ *haproxy.Switcher
	dir     string
}

func measure(ctx context.Context, p procedure, cycles, rate int) (result, error) {
	res := result{name: p.name}
	dir, err := os.MkdirTemp("", "dbshift-cutover-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	sb, err := sandbox.Up(ctx, sandbox.Options{Dir: filepath.Join(dir, "sb"), Instances: 2})
	if err != nil {
		return res, err
	}
	defer sb.Down(context.Background(), false)
	var srv [2]*server
	for i, inst := range sb.Instances {
		c, err := dbconn.Open(ctx, dbconn.Spec{Role: inst.Name, DSN: inst.DSN(), Password: inst.Password}, nil)
		if err != nil {
			return res, err
		}
		defer c.Close()
		srv[i] = &server{inst: inst, conn: c}
	}
	pos, err := replication.SourcePosition(ctx, srv[0].conn)
	if err != nil {
		return res, err
	}
	if _, err := replication.Setup(ctx, srv[0].conn, srv[1].conn, replication.SetupOptions{From: pos}); err != nil {
		return res, err
	}
	for _, q := range []string{"CREATE USER 'app'@'%' IDENTIFIED BY 'bench-app-pw'", "GRANT ALL ON _dbshift_probe.* TO 'app'@'%'"} {
		if _, err := srv[0].conn.DB.ExecContext(ctx, q); err != nil {
			return res, err
		}
	}
	eps := []switcher.Endpoint{{Name: "db1", Addr: srv[0].inst.Addr()}, {Name: "db2", Addr: srv[1].inst.Addr()}}
	proxy, err := haproxy.StartLocal(ctx, filepath.Join(dir, "haproxy"), 0, eps)
	if err != nil {
		return res, err
	}
	defer proxy.Stop()
	env := &setup{sb: sb, proxy: proxy, switch_: haproxy.New(proxy.Socket(), haproxy.Backend), dir: dir}
	app, err := dbconn.Open(ctx, dbconn.Spec{Role: "app", DSN: "app@tcp(" + proxy.Addr() + ")/", Password: "bench-app-pw", TLS: "off", KeepSessionDefaults: true}, nil)
	if err != nil {
		return res, err
	}
	defer app.Close()
	pr, err := probe.Start(ctx, app.DB, probe.Options{Rate: rate})
	if err != nil {
		return res, err
	}
	time.Sleep(time.Second) // a second of steady writes before the first cutover
	stopSampling := sampleWritable(ctx, sampler(ctx, srv[0]), sampler(ctx, srv[1]))
	src, tgt := srv[0], srv[1]
	for i := 0; i < cycles; i++ {
		unavail, client, err := p.run(ctx, env, src, tgt)
		if err != nil {
			pr.Stop()
			stopSampling()
			return res, fmt.Errorf("cycle %d (%s -> %s): %w", i+1, src.inst.Name, tgt.inst.Name, err)
		}
		res.unavail = append(res.unavail, ms(unavail))
		res.client = append(res.client, ms(client))
		fmt.Fprintf(os.Stderr, "%s cycle %2d %s -> %s: write-unavailable %.1f ms, client-visible %.1f ms\n", p.name, i+1, src.inst.Name, tgt.inst.Name, ms(unavail), ms(client))
		src, tgt = tgt, src
	}
	time.Sleep(500 * time.Millisecond) // steady writes after the last cutover
	res.bothWritable, res.samples = stopSampling()
	r := pr.Stop()
	res.report, err = probe.Verify(ctx, src.conn.DB, r)
	return res, err
}

func dbshiftCutover(ctx context.Context, env *setup, src, tgt *server) (time.Duration, time.Duration, error) {
	j, err := journal.Open(filepath.Join(env.dir, fmt.Sprintf("cutover-%d.journal", time.Now().UnixNano())))
	if err != nil {
		return 0, 0, err
	}
	defer j.Close()
	rep, err := cutover.Run(ctx, src.conn, tgt.conn, cutover.Options{
		Switch: env.switch_, Reverse: true, Journal: j, GateStable: 200 * time.Millisecond, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return 0, 0, err
	}
	var phases []string
	for _, ph := range rep.Phases {
		phases = append(phases, fmt.Sprintf("%s %.0fms", ph.Name, ph.MS))
	}
	fmt.Fprintf(os.Stderr, "  phases: %s\n", strings.Join(phases, ", "))
	return time.Duration(*rep.WriteUnavailableMS * float64(time.Millisecond)), time.Duration(*rep.ClientVisibleMS * float64(time.Millisecond)), nil
}

// naiveCutover is the procedure DBAs script by hand today.
func naiveCutover(ctx context.Context, env *setup, src, tgt *server) (time.Duration, time.Duration, error) {
	// Let replication settle as a DBA would before starting.
	if _, err := replication.WaitCaughtUp(ctx, src.conn, tgt.conn, replication.WaitOptions{MaxLag: time.Second, Stable: 200 * time.Millisecond, Timeout: time.Minute}); err != nil {
		return 0, 0, err
	}
	fenceStart := time.Now()
	if _, err := src.conn.DB.ExecContext(ctx, "SET GLOBAL read_only = ON"); err != nil {
		return 0, 0, err
	}
	fenced := time.Now()
	for {
		time.Sleep(time.Second) // the script polls once a second
		st, err := replication.ReadStatus(ctx, tgt.conn)
		if err != nil {
			return 0, 0, err
		}
		if st.SecondsBehind != nil && *st.SecondsBehind == 0 {
			break
		}
	}
	if err := replication.Reset(ctx, tgt.conn); err != nil {
		return 0, 0, err
	}
	own, err := replication.SourcePosition(ctx, tgt.conn)
	if err != nil {
		return 0, 0, err
	}
	if _, err := tgt.conn.DB.ExecContext(ctx, "SET GLOBAL read_only = OFF"); err != nil {
		return 0, 0, err
	}
	writable := time.Now()
	if err := env.switch_.Switch(ctx, switcher.Endpoint{Name: src.inst.Name, Addr: src.inst.Addr()}, switcher.Endpoint{Name: tgt.inst.Name, Addr: tgt.inst.Addr()}); err != nil {
		return 0, 0, err
	}
	switched := time.Now()
	// Not timed: the old primary replicates from the new one for the next cycle.
	if _, err := replication.Setup(ctx, tgt.conn, src.conn, replication.SetupOptions{From: own}); err != nil {
		return 0, 0, err
	}
	return writable.Sub(fenced), switched.Sub(fenceStart), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(v []float64, p int) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := (len(s) - 1) * p / 100
	return s[i]
}

// sampleWritable reads both servers' read_only every 2 ms until the
// returned stop is called, which reports the samples in which both were
// writable and the samples taken.
func sampleWritable(ctx context.Context, a, b *dbconn.Conn) (stop func() (both, samples int)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan [2]int)
	go func() {
		var both, samples int
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- [2]int{both, samples}
				return
			case <-t.C:
			}
			roA, errA := replication.ReadOnly(ctx, a)
			roB, errB := replication.ReadOnly(ctx, b)
			if errA != nil || errB != nil {
				continue
			}
			samples++
			if !roA && !roB {
				both++
			}
		}
	}()
	return func() (int, int) {
		cancel()
		r := <-done
		return r[0], r[1]
	}
}

// sampler opens a connection of its own to a server for the sampler.
func sampler(ctx context.Context, s *server) *dbconn.Conn {
	c, err := dbconn.Open(ctx, dbconn.Spec{Role: s.inst.Name, DSN: s.inst.DSN(), Password: s.inst.Password, MaxOpen: 1}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return c
}

package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/progress"
	"github.com/dbshift/dbshift/internal/replay"
)

// ReplayCmd is "dbshift replay": a load test from logged queries, or with
// --compare a comparison of two servers' answers.
type ReplayCmd struct {
	Log                 []string      `name:"log" required:"" type:"existingfile" help:"General or slow log (repeatable; .gz read transparently)."`
	Type                string        `name:"type" enum:"general,slow,auto" default:"auto" help:"Log format (${enum})."`
	Target              string        `name:"target" required:"" help:"DSN of the server to replay against (password from DBSHIFT_TARGET_PASSWORD or --target-password-file)."`
	TargetPasswordFile  string        `name:"target-password-file" type:"existingfile" help:"File holding the target's password."`
	Compare             string        `name:"compare" help:"DSN of a second server: run every query on both and report differences (password from DBSHIFT_COMPARE_PASSWORD or --compare-password-file)."`
	ComparePasswordFile string        `name:"compare-password-file" type:"existingfile" help:"File holding the compare server's password."`
	Concurrency         []int         `name:"concurrency" default:"1,4,16,64" help:"Concurrency levels (comma-separated); --compare uses the first."`
	Trials              int           `name:"trials" default:"3" help:"Trials per level, each on fresh connections."`
	Filter              string        `name:"filter" help:"Statements to run: select, read (also SHOW/DESCRIBE/EXPLAIN) or all (default: select, all with --allow-writes)."`
	Limit               int64         `name:"limit" help:"Stop each trial after this many statements."`
	Duration            time.Duration `name:"duration" help:"Stop each trial after this long."`
	Speed               string        `name:"speed" default:"max" help:"max, or a factor of the recorded pace (1.0 keeps the log's inter-arrival times)."`
	Format              string        `name:"format" enum:"text,csv,json,html" default:"text" help:"Report format (${enum}); --compare: text or json."`
	Out                 string        `name:"out" help:"Write the report to this file instead of stdout."`
	AllowWrites         bool          `name:"allow-writes" help:"Also run statements that may write (and drop READ ONLY sessions). Never against production."`
	ClientProcs         string        `name:"client-procs" default:"auto" help:"CPUs the load test's client may use (GOMAXPROCS): a number, all, or auto (1 when the target is on this machine, so the client takes as little CPU from the server as it can; all otherwise)."`
}

func (c *ReplayCmd) Run(app *App) error {
	filterName := c.Filter
	if filterName == "" {
		// --allow-writes asks for the writes: a default that filtered them
		// out compared only the reads and said "No differences".
		filterName = "select"
		if c.AllowWrites {
			filterName = "all"
		}
	}
	kind, filter, err := logOptions(c.Type, filterName)
	if err != nil {
		return err
	}
	speed := 0.0
	if c.Speed != "max" {
		if _, err := fmt.Sscanf(c.Speed, "%g", &speed); err != nil || speed <= 0 {
			return usage("--speed: want max or a positive factor, got %q", c.Speed)
		}
	}
	if len(c.Concurrency) == 0 {
		return usage("--concurrency: at least one level")
	}
	for _, n := range c.Concurrency {
		if n < 1 {
			return usage("--concurrency %d: each level must be at least 1", n)
		}
	}
	if c.Trials < 1 {
		return usage("--trials %d: must be at least 1", c.Trials)
	}
	if c.Duration < 0 {
		return usage("--duration %s: must be positive", c.Duration)
	}
	procs, err := clientProcs(c.ClientProcs, c.Target)
	if err != nil {
		return err
	}
	src := replay.Source{Paths: c.Log, Kind: kind}
	if found, st, err := src.HasQuery(); err != nil {
		return failed("reading the log: %v", err)
	} else if !found {
		return failed("no query found in %s (%d lines, %d unparsed); see dbshift querylog extract", strings.Join(c.Log, ", "), st.Lines, st.Unparsed)
	}
	policy := replay.Policy{Filter: filter, AllowWrites: c.AllowWrites}
	out, closeOut, err := c.output(app)
	if err != nil {
		return err
	}
	onProgress, endProgress := progressPrinter(app.Stderr, c.Limit)
	defer endProgress()

	if c.Compare != "" {
		if c.Format == "csv" || c.Format == "html" {
			return usage("--compare reports as text or json")
		}
		n := c.Concurrency[0]
		a, err := dbconn.Open(app.Ctx, app.withTLS(dbconn.Spec{Role: "target", DSN: c.Target, PasswordFile: c.TargetPasswordFile, KeepSessionDefaults: true, MaxOpen: n + 1}), app.Log)
		if err != nil {
			return err
		}
		defer a.Close()
		b, err := dbconn.Open(app.Ctx, app.withTLS(dbconn.Spec{Role: "compare", DSN: c.Compare, PasswordFile: c.ComparePasswordFile, KeepSessionDefaults: true, MaxOpen: n + 1}), app.Log)
		if err != nil {
			return err
		}
		defer b.Close()
		for _, conn := range []*dbconn.Conn{a, b} {
			if err := checkRoom(app.Ctx, conn, n); err != nil {
				return err
			}
		}
		res, err := replay.Compare(app.Ctx, src, a.DB, b.DB, replay.CompareOptions{
			Concurrency: n, Policy: policy, Limit: c.Limit, ReadOnly: !c.AllowWrites, Progress: onProgress,
		})
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		if res.Stats.UnparsedLines > 0 {
			app.Log.Warn("log lines could not be parsed and were not compared; see dbshift querylog extract", "lines", res.Stats.UnparsedLines)
		}
		if err := replay.WriteCompare(out, res, c.Format); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if err := closeOut(); err != nil {
			return err
		}
		st := res.Stats
		switch compared := st.QueriesNoDiffs + st.QueriesWithDiffs + st.QueriesWithErrors; {
		case res.HasDiffs():
			return failed("%d queries differ between %s and %s", st.QueriesWithDiffs, a, b)
		case compared == 0:
			return failed("nothing was compared: of %d queries read, %d are not read-only (--allow-writes runs them) and %d were filtered out or context", st.QueriesRead, st.NotSelect, st.QueriesFiltered)
		case st.QueriesWithErrors == compared:
			return failed("every one of the %d queries compared failed, with the same error on both servers", compared)
		}
		return nil
	}

	if procs > 0 {
		if ran, err := reexecQuietSysmon(app); ran {
			return err
		}
	}
	if err := c.checkTargetRoom(app); err != nil {
		return err
	}
	connect := func(ctx context.Context, n int) (*sql.DB, error) {
		// DialSendOnRead: one read(2) per statement instead of a read that
		// finds nothing, a poller wake-up and a second read.
		conn, err := dbconn.Open(ctx, app.withTLS(dbconn.Spec{Role: "target", DSN: c.Target, PasswordFile: c.TargetPasswordFile, KeepSessionDefaults: true, MaxOpen: n, Dial: dbconn.DialSendOnRead}), app.Log)
		if err != nil {
			return nil, err
		}
		return conn.DB, nil
	}
	res, err := replay.Load(app.Ctx, src, connect, replay.LoadOptions{
		Concurrency: c.Concurrency, Trials: c.Trials, Policy: policy, Limit: c.Limit, Duration: c.Duration,
		Speed: speed, ReadOnly: !c.AllowWrites, Procs: procs, YieldToServer: dbconn.Local(c.Target), Progress: onProgress, Log: app.Log,
	})
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if n := res.Levels[0].Trials[0].Unparsed; n > 0 {
		app.Log.Warn("log lines could not be parsed and were not replayed; see dbshift querylog extract", "lines", n)
	}
	if err := replay.WriteLoad(out, res, c.Format); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := closeOut(); err != nil {
		return err
	}
	return loadVerdict(app, res)
}

// loadVerdict fails a load test that measured nothing: no statement run, or
// every one failed (the wrong database, missing grants, a server that
// refuses the log's syntax). Some failures are reported and are not fatal:
// a log holds statements that failed in production too.
func loadVerdict(app *App, res *replay.LoadResult) error {
	var run, errs, skipped, notRO int64
	for _, l := range res.Levels {
		for _, t := range l.Trials {
			run += t.Queries
			errs += t.Errors
			skipped += t.Skipped
			notRO += t.NotReadOnly
		}
	}
	switch {
	case run == 0:
		return failed("no statement was run: %d skipped, %d of them not read-only (--allow-writes runs them)", skipped, notRO)
	case errs == run:
		return failed("every one of the %d statements run failed; see errors by code in the report", run)
	case errs > 0:
		app.Log.Warn("statements failed; see errors by code in the report", "failed", errs, "run", run)
	}
	return nil
}

// checkTargetRoom refuses a --concurrency the target has no connections
// for, before the first trial.
func (c *ReplayCmd) checkTargetRoom(app *App) error {
	conn, err := app.open(dbconn.Spec{Role: "target", DSN: c.Target, PasswordFile: c.TargetPasswordFile, MaxOpen: 1})
	if err != nil {
		return err
	}
	defer conn.Close()
	return checkRoom(app.Ctx, conn, slices.Max(c.Concurrency))
}

func checkRoom(ctx context.Context, conn *dbconn.Conn, n int) error {
	room, err := replay.ConnectionRoom(ctx, conn.DB)
	if err != nil {
		return fmt.Errorf("%s: %w", conn, err)
	}
	if int64(n) > room.Free() {
		return usage("--concurrency %d: %s has max_connections %d with %d in use, room for %d replay connections", n, conn, room.Max, room.InUse, room.Free())
	}
	return nil
}

// quietSysmon keeps the Go runtime's sysmon thread out of its deep sleep.
// Replay workers leave every P idle while they wait on the network; sysmon
// then deep-sleeps, and the next system call (each query makes a few) wakes
// it with its tick reset to 20 µs: about 40 000 futex and nanosleep calls a
// second, a third of the client's CPU per query at 20 000 queries/s
// (measured with perf stat; golang/go#18236). With schedtrace set, sysmon
// never deep-sleeps and backs off to 10 ms instead. The period is the
// largest the runtime accepts (24.8 days, counted from the host's boot):
// on a host up longer than that, one "SCHED" line goes to stderr at start.
// The runtime reads GODEBUG only at start, hence the re-exec.
const quietSysmon = "schedtrace=2147483647"

// errReported is an exit whose message the re-executed dbshift printed.
var errReported = errors.New("reported by the re-executed dbshift")

// reexecQuietSysmon runs this same command line again with quietSysmon in
// GODEBUG and returns its exit status; ran is false when that is not needed
// or not possible (already set, or dbshift is not running as a process of
// its own, as in tests).
func reexecQuietSysmon(app *App) (ran bool, err error) {
	godebug := os.Getenv("GODEBUG")
	if strings.Contains(godebug, "schedtrace=") || app.Stdout != os.Stdout || app.Stderr != os.Stderr {
		return false, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return false, nil
	}
	if godebug != "" {
		godebug += ","
	}
	cmd := exec.CommandContext(app.Ctx, exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug+quietSysmon)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Ctrl-C reaches both processes; a SIGTERM to this one is passed on.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return true, &ExitError{Code: ee.ExitCode(), Err: errReported}
	}
	if err != nil {
		return true, fmt.Errorf("re-execute dbshift: %w", err)
	}
	return true, nil
}

// clientProcs turns --client-procs into replay.LoadOptions.Procs.
func clientProcs(flag, target string) (int, error) {
	switch flag {
	case "all":
		return 0, nil
	case "auto":
		if dbconn.Local(target) {
			return 1, nil
		}
		return 0, nil
	}
	n, err := strconv.Atoi(flag)
	if err != nil || n < 1 {
		return 0, usage("--client-procs: want a positive number, all or auto, got %q", flag)
	}
	return n, nil
}

func (c *ReplayCmd) output(app *App) (io.Writer, func() error, error) {
	if c.Out == "" {
		return app.Stdout, func() error { return nil }, nil
	}
	// The directory is checked now; the file is created (and an older
	// report replaced) only when the report is written, so a replay
	// refused before it ran leaves an existing report alone.
	if fi, err := os.Stat(filepath.Dir(c.Out)); err != nil || !fi.IsDir() {
		return nil, nil, usage("--out %s: no such directory", c.Out)
	}
	lf := &lazyFile{path: c.Out}
	w := bufio.NewWriter(lf)
	return w, func() error {
		if err := w.Flush(); err != nil {
			lf.Close()
			return fmt.Errorf("write report: %w", err)
		}
		return lf.Close()
	}, nil
}

// lazyFile creates its file at the first write.
type lazyFile struct {
	path string
	f    *os.File
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil {
		f, err := os.OpenFile(l.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			return 0, fmt.Errorf("create report: %w", err)
		}
		l.f = f
	}
	return l.f.Write(p)
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// progressPrinter shows each trial with the project's progress reporter: a
// bar on a terminal, a plain line every few seconds otherwise.
func progressPrinter(w io.Writer, limit int64) (func(replay.Progress), func()) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	max := int64(-1)
	if limit > 0 {
		max = limit
	}
	var cur progress.Reporter
	var curKey [2]int
	var last string
	end := func() {
		if cur != nil {
			cur.Done(last)
			cur = nil
		}
	}
	return func(p replay.Progress) {
		if key := [2]int{p.Concurrency, p.Trial}; cur == nil || key != curKey {
			end()
			cur, curKey = progress.New(w, tty, fmt.Sprintf("replay concurrency %d trial %d:", p.Concurrency, p.Trial), max), key
		}
		qps := 0.0
		if p.Elapsed > 0 {
			qps = float64(p.Done) / p.Elapsed.Seconds()
		}
		last = fmt.Sprintf("%d queries, %.0f qps, %d errors", p.Done, qps, p.Errors)
		cur.Update(p.Done, last)
	}, end
}

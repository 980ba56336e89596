package replay

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/querylog"
)

// Connect opens a fresh pool of at most n connections to the target; each
// trial gets its own so no trial reuses another's warm connections.
type Connect func(ctx context.Context, n int) (*sql.DB, error)

// LoadOptions describe a load test.
type LoadOptions struct {
	Concurrency []int
	Trials      int
	Policy      Policy
	Limit       int64         // stop a trial after this many statements (0: no limit)
	Duration    time.Duration // stop a trial after this long (0: no limit)
	Speed       float64       // 0: as fast as possible; 1.0: recorded pace; 2.0: twice as fast
	ReadOnly    bool          // SET SESSION TRANSACTION READ ONLY on every connection
	// Procs, when above 0, is GOMAXPROCS while a trial runs. With a server
	// on the same machine, 1 is cheapest per statement: one thread harvests
	// every ready connection from each epoll wake-up, where more threads
	// hand goroutines to each other and sleep and wake in turn, CPU the
	// server would have used.
	Procs int
	// YieldToServer runs the client's threads under SCHED_BATCH while a
	// trial runs (Linux; see yieldToServer): for a server on this host,
	// so that an answer waking a replay worker does not preempt the server
	// thread that sent it.
	YieldToServer bool
	Progress      func(Progress)
	// Log receives what the operator should know but that does not stop
	// the test (nil: discarded).
	Log *slog.Logger
}

// Progress is reported about once a second while a trial runs.
type Progress struct {
	Concurrency, Trial int
	Done, Errors       int64
	Elapsed            time.Duration
}

// ErrorCount is how many statements failed with one server error number
// (0: a client-side failure such as a lost connection).
type ErrorCount struct {
	Code  uint16 `json:"code"`
	Count int64  `json:"count"`
}

// Trial is the outcome of one pass over the log at one concurrency.
type Trial struct {
	Queries int64        `json:"queries"`
	Errors  int64        `json:"errors"`
	ByCode  []ErrorCount `json:"errors_by_code,omitempty"`
	Skipped int64        `json:"skipped"`
	// NotReadOnly counts the statements of Skipped that were left out as
	// not known to be read-only (writes, SET GLOBAL, CALL, ...), without
	// --allow-writes.
	NotReadOnly int64         `json:"skipped_not_read_only"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	QPS         float64       `json:"qps"`
	Latency     Latency       `json:"latency"`
	histo       *hdrhistogram.Histogram
	Unparsed    int64 `json:"unparsed_lines"`
}

// Latency summarises a histogram, in microseconds.
type Latency struct {
	Min int64 `json:"min_us"`
	P50 int64 `json:"p50_us"`
	P95 int64 `json:"p95_us"`
	P99 int64 `json:"p99_us"`
	Max int64 `json:"max_us"`
}

// Level is every trial at one concurrency, plus their merged latency.
type Level struct {
	Concurrency int     `json:"concurrency"`
	Trials      []Trial `json:"trials"`
	Latency     Latency `json:"latency"`
}

// LoadResult is the whole load test.
type LoadResult struct {
	Levels []Level `json:"levels"`
}

func newHisto() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

func summarise(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{Min: h.Min(), P50: h.ValueAtQuantile(50), P95: h.ValueAtQuantile(95),
		P99: h.ValueAtQuantile(99), Max: h.Max()}
}

// Load replays the log at each concurrency level, o.Trials times each.
func Load(ctx context.Context, src Source, connect Connect, o LoadOptions) (*LoadResult, error) {
	if o.Trials < 1 {
		o.Trials = 1
	}
	res := &LoadResult{}
	for _, n := range o.Concurrency {
		if n < 1 {
			return res, fmt.Errorf("concurrency %d: must be at least 1", n)
		}
		lvl := Level{Concurrency: n}
		merged := newHisto()
		for t := 1; t <= o.Trials; t++ {
			tr, err := runTrial(ctx, src, connect, n, t, o)
			if err != nil {
				return res, fmt.Errorf("concurrency %d trial %d: %w", n, t, err)
			}
			merged.Merge(tr.histo)
			lvl.Trials = append(lvl.Trials, tr)
		}
		lvl.Latency = summarise(merged)
		res.Levels = append(res.Levels, lvl)
	}
	return res, nil
}

// batch is a run of events handed to one worker at once: one channel
// operation per event costs as much as the query itself on a small machine.
type batch []querylog.Event

const batchSize = 32

type worker struct {
	dest   []driver.Value
	histo  *hdrhistogram.Histogram
	byCode map[uint16]int64
	err    error
}

func runTrial(ctx context.Context, src Source, connect Connect, n, trial int, o LoadOptions) (Trial, error) {
	db, err := connect(ctx, n)
	if err != nil {
		return Trial{}, err
	}
	defer db.Close()
	if o.Procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.Procs))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	workers := make([]*worker, n)
	sessions := make([]*session, n)
	for i := range workers {
		workers[i] = &worker{histo: newHisto(), byCode: map[uint16]int64{}}
		s, err := newSession(ctx, db, o.ReadOnly, o.ReadOnly || !o.Policy.AllowWrites)
		if err != nil {
			for _, s := range sessions[:i] {
				s.Close()
			}
			return Trial{}, err
		}
		sessions[i] = s
	}
	if o.YieldToServer {
		// Only a matter of speed: a host that refuses the policy change
		// (a seccomp filter) runs the trial under its usual policy.
		restore, err := yieldToServer()
		if err != nil {
			if o.Log != nil {
				o.Log.Warn("the client's threads could not be put under SCHED_BATCH; the trial runs under the usual policy, and the server on this host competes with the client for CPU", "err", err)
			}
		} else {
			defer restore()
		}
	}
	jobs := make(chan batch, n*2)
	var done, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		wg.Add(1)
		go func(w *worker, s *session) {
			defer wg.Done()
			defer s.Close()
			for b := range jobs {
				for _, ev := range b {
					if ctx.Err() != nil {
						return
					}
					if err := runOne(ctx, s, ev, w); err != nil {
						errs.Add(1)
					}
					done.Add(1)
				}
			}
		}(workers[i], sessions[i])
	}
	stopProgress := startProgress(o.Progress, n, trial, start, &done, &errs)

	skipped, st, feedErr := feed(ctx, src, o, jobs, start)
	close(jobs)
	wg.Wait()
	stopProgress()
	elapsed := time.Since(start)
	if feedErr != nil {
		return Trial{}, feedErr
	}
	if err := ctx.Err(); err != nil {
		return Trial{}, err
	}
	tr := Trial{Queries: done.Load(), Errors: errs.Load(), Skipped: skipped.all, NotReadOnly: skipped.notReadOnly, Elapsed: elapsed,
		histo: newHisto(), Unparsed: st.Unparsed}
	codes := map[uint16]int64{}
	for _, w := range workers {
		tr.histo.Merge(w.histo)
		for c, k := range w.byCode {
			codes[c] += k
		}
	}
	for c, k := range codes {
		tr.ByCode = append(tr.ByCode, ErrorCount{Code: c, Count: k})
	}
	sort.Slice(tr.ByCode, func(i, j int) bool { return tr.ByCode[i].Code < tr.ByCode[j].Code })
	tr.Latency = summarise(tr.histo)
	if elapsed > 0 {
		tr.QPS = float64(tr.Queries) / elapsed.Seconds()
	}
	return tr, nil
}

// skipCounts counts the statements a trial did not run.
type skipCounts struct{ all, notReadOnly int64 }

// feed streams the log into the job queue, pacing it when o.Speed > 0.
func feed(ctx context.Context, src Source, o LoadOptions, jobs chan<- batch, start time.Time) (skipped skipCounts, st querylog.Stats, err error) {
	s := src.open()
	defer func() { st = s.Close() }()
	var sent int64
	var first time.Time
	size := batchSize
	if o.Speed > 0 {
		size = 1 // paced: each statement leaves at its own time
	}
	b := make(batch, 0, size)
	flush := func() bool {
		if len(b) == 0 {
			return true
		}
		select {
		case jobs <- b:
			b = make(batch, 0, size)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		if (o.Limit > 0 && sent >= o.Limit) || (o.Duration > 0 && time.Since(start) >= o.Duration) {
			flush()
			return skipped, st, nil
		}
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			flush()
			return skipped, st, nil
		}
		if err != nil {
			return skipped, st, err
		}
		if v := o.Policy.Decide(ev); v != Run {
			skipped.all++
			if v == SkipWrite {
				skipped.notReadOnly++
			}
			continue
		}
		if o.Speed > 0 && !ev.Time.IsZero() {
			if first.IsZero() {
				first = ev.Time
			}
			due := start.Add(time.Duration(float64(ev.Time.Sub(first)) / o.Speed))
			if wait := time.Until(due); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return skipped, st, nil
				case <-t.C:
				}
			}
		}
		b = append(b, ev)
		sent++
		if len(b) == size && !flush() {
			return skipped, st, nil
		}
	}
}

// runOne applies the event's context and runs it, reading every row as a
// client would.
func runOne(ctx context.Context, s *session, ev querylog.Event, w *worker) error {
	if err := s.apply(ctx, ev); err != nil {
		w.byCode[dbconn.ErrorNumber(err)]++
		return err
	}
	t0 := time.Now()
	err := s.conn.Raw(func(dc any) error { return queryDriver(dc, ev.Query, &w.dest) })
	lat := time.Since(t0)
	if err != nil {
		w.byCode[dbconn.ErrorNumber(err)]++
		return err
	}
	_ = w.histo.RecordValue(max(lat.Microseconds(), 1))
	return nil
}

// queryDriver runs a statement on the driver connection itself. database/sql
// would start a goroutine per query to watch the context and the driver
// another hand-off, which halves throughput on small machines; a replay
// worker stops between statements instead.
func queryDriver(dc any, query string, dest *[]driver.Value) error {
	q, ok := dc.(driver.QueryerContext)
	if !ok {
		return errors.New("driver cannot run queries directly")
	}
	rows, err := q.QueryContext(context.Background(), query, nil)
	if err != nil {
		return err
	}
	if n := len(rows.Columns()); cap(*dest) < n {
		*dest = make([]driver.Value, n)
	}
	d := (*dest)[:len(rows.Columns())]
	for {
		if err := rows.Next(d); err != nil {
			rows.Close()
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func startProgress(f func(Progress), n, trial int, start time.Time, done, errs *atomic.Int64) func() {
	if f == nil {
		return func() {}
	}
	return startProgressFunc(f, func() Progress {
		return Progress{Concurrency: n, Trial: trial, Done: done.Load(), Errors: errs.Load(), Elapsed: time.Since(start)}
	})
}

// startProgressFunc calls f with snap() every second and once at the end.
func startProgressFunc(f func(Progress), snap func() Progress) func() {
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				f(snap())
				return
			case <-t.C:
				f(snap())
			}
		}
	}()
	return func() { close(stop); <-finished }
}

// median of a non-empty slice.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

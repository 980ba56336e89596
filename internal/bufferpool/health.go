package bufferpool

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// DefaultProbe reads one row of an InnoDB table every MySQL and MariaDB
// version has, so the probe goes through the buffer pool (a bare SELECT 1
// would not notice the pool being latched). It falls back to SELECT 1 when
// the account cannot read it.
const DefaultProbe = "SELECT 1 FROM mysql.innodb_table_stats LIMIT 1"

// prober runs the probe query back to back on its own connection and
// records its latency; cut hands over the latencies since the last cut.
type prober struct {
	query string
	every time.Duration

	mu     sync.Mutex
	hist   *hdrhistogram.Histogram
	errors int
	lastEr error
}

func newHist() *hdrhistogram.Histogram {
	// 1µs to 5 minutes, 3 significant digits.
	return hdrhistogram.New(1, int64(5*time.Minute/time.Microsecond), 3)
}

func newProber(query string, every time.Duration) *prober {
	return &prober{query: query, every: every, hist: newHist()}
}

// check runs the probe once so a broken query fails before the server is
// touched.
func (p *prober) check(ctx context.Context, db *sql.DB) error {
	_, err := p.once(ctx, db)
	return err
}

func (p *prober) once(ctx context.Context, q querier) (time.Duration, error) {
	start := time.Now()
	rows, err := q.QueryContext(ctx, p.query)
	if err != nil {
		return time.Since(start), err
	}
	for rows.Next() {
	}
	err = rows.Err()
	rows.Close()
	return time.Since(start), err
}

// run probes until ctx ends.
func (p *prober) run(ctx context.Context, db *sql.DB) {
	conn, err := db.Conn(ctx)
	if err != nil {
		p.fail(err)
		return
	}
	defer func() { // conn is replaced after an error
		if conn != nil {
			conn.Close()
		}
	}()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		d, err := p.once(pctx, conn)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			p.fail(err)
			// The connection may be gone; get another.
			conn.Close()
			if conn, err = db.Conn(ctx); err != nil {
				conn = nil
				return
			}
		} else {
			p.record(d)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *prober) record(d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	p.mu.Lock()
	_ = p.hist.RecordValue(us)
	p.mu.Unlock()
}

func (p *prober) fail(err error) {
	p.mu.Lock()
	p.errors++
	p.lastEr = err
	p.mu.Unlock()
}

// Latency summarises the probe over a window.
type Latency struct {
	Count  int64
	Errors int
	P50    time.Duration
	P99    time.Duration
	Max    time.Duration
}

func summarise(h *hdrhistogram.Histogram, errs int) Latency {
	l := Latency{Count: h.TotalCount(), Errors: errs}
	if l.Count > 0 {
		l.P50 = time.Duration(h.ValueAtQuantile(50)) * time.Microsecond
		l.P99 = time.Duration(h.ValueAtQuantile(99)) * time.Microsecond
		l.Max = time.Duration(h.Max()) * time.Microsecond
	}
	return l
}

// peek summarises the window so far without ending it.
func (p *prober) peek() Latency {
	p.mu.Lock()
	defer p.mu.Unlock()
	return summarise(p.hist, p.errors)
}

// cut ends the current window and starts a new one.
func (p *prober) cut() Latency {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := summarise(p.hist, p.errors)
	p.hist = newHist()
	p.errors = 0
	return l
}

func (p *prober) lastError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastEr
}

// Window is the server's health over a stretch of time.
type Window struct {
	Seconds float64
	Probe   Latency
	// HitRatio: 1 - Δreads/Δread_requests, -1 when there were no requests.
	HitRatio float64
	// ReadsPerSec: Δ Innodb_buffer_pool_reads per second (pages read from
	// disk because they were not in the pool).
	ReadsPerSec float64
	// ThreadsRunning is the highest Threads_running sampled (dbshift's own
	// status query counts as one).
	ThreadsRunning uint64
}

func window(first, last reading, maxThreads uint64, lat Latency) Window {
	w := Window{Probe: lat, HitRatio: -1, ThreadsRunning: maxThreads}
	w.Seconds = last.at.Sub(first.at).Seconds()
	if last.readRequests > first.readRequests {
		req := float64(last.readRequests - first.readRequests)
		var miss float64
		if last.reads > first.reads {
			miss = float64(last.reads - first.reads)
		}
		w.HitRatio = 1 - miss/req
	}
	if w.Seconds > 0 && last.reads >= first.reads {
		w.ReadsPerSec = float64(last.reads-first.reads) / w.Seconds
	}
	return w
}

// Bounds are the health limits; zero values are not checked.
type Bounds struct {
	MaxP99            time.Duration
	MaxThreadsRunning uint64
	MinHitRatio       float64
	MaxReadsPerSec    float64
	// MinProbes before p99 is judged, so one slow probe at the start of a
	// window is not a p99.
	MinProbes int64
	// MinRequests before the hit ratio is judged.
	MinRequests uint64
}

// Breach says which bound was crossed and by how much.
type Breach struct {
	Bound    string `json:"bound"`
	Limit    string `json:"limit"`
	Observed string `json:"observed"`
}

func (b *Breach) String() string {
	return fmt.Sprintf("%s %s crossed the limit %s", b.Bound, b.Observed, b.Limit)
}

// check returns the first bound w crosses, or nil. requests is the number of
// buffer pool read requests in the window. final marks the whole window:
// then any number of probes is judged, and none at all is a breach (the
// server did not answer one probe for the whole pause).
func (b Bounds) check(w Window, requests uint64, final bool) *Breach {
	minProbes := b.MinProbes
	if final {
		minProbes = 1
		if b.MaxP99 > 0 && w.Probe.Count == 0 {
			return &Breach{Bound: "probe p99", Limit: fmtDur(b.MaxP99), Observed: fmt.Sprintf("no probe answered in %.1fs", w.Seconds)}
		}
	}
	if b.MaxP99 > 0 && w.Probe.Count >= minProbes && w.Probe.P99 > b.MaxP99 {
		return &Breach{Bound: "probe p99", Limit: fmtDur(b.MaxP99), Observed: fmtDur(w.Probe.P99)}
	}
	if b.MaxThreadsRunning > 0 && w.ThreadsRunning > b.MaxThreadsRunning {
		return &Breach{Bound: "Threads_running", Limit: fmt.Sprint(b.MaxThreadsRunning), Observed: fmt.Sprint(w.ThreadsRunning)}
	}
	if b.MinHitRatio > 0 && w.HitRatio >= 0 && requests >= b.MinRequests && w.HitRatio < b.MinHitRatio {
		return &Breach{Bound: "hit ratio", Limit: fmtPct(b.MinHitRatio), Observed: fmtPct(w.HitRatio)}
	}
	if b.MaxReadsPerSec > 0 && w.ReadsPerSec > b.MaxReadsPerSec {
		return &Breach{Bound: "reads/s", Limit: fmt.Sprintf("%.0f", b.MaxReadsPerSec), Observed: fmt.Sprintf("%.0f", w.ReadsPerSec)}
	}
	return nil
}

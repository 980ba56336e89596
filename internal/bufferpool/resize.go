package bufferpool

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dbshift/dbshift/internal/flavor"
)

// Plan lists the sizes to set, in order, going from `from` to `to` in steps
// of `step`. Both the step and the target are rounded up to the unit; the
// last step is shorter when the distance is not a multiple of the step.
func Plan(from, to, step uint64, s Settings) ([]uint64, error) {
	if step == 0 {
		return nil, errors.New("the step must be larger than 0")
	}
	to = s.RoundUp(to)
	step = s.RoundUp(step)
	var sizes []uint64
	cur := from
	for cur != to {
		if to > cur {
			cur = min(cur+step, to)
		} else if cur-to > step {
			cur -= step
		} else {
			cur = to
		}
		sizes = append(sizes, cur)
	}
	return sizes, nil
}

// Validate checks a target against the server's bounds, in one sentence.
func Validate(to uint64, s Settings) error {
	if s.RDS && !s.ViaParameterGroup {
		return errors.New("this is an RDS instance: innodb_buffer_pool_size is changed through its parameter group, not SET GLOBAL; use --rds-instance and --rds-parameter-group")
	}
	r := s.RoundUp(to)
	if r < s.Min {
		return fmt.Errorf("--to %s is below the server's minimum innodb_buffer_pool_size %s", FormatSize(to), FormatSize(s.Min))
	}
	if s.SizeMax > 0 && r > s.SizeMax {
		return fmt.Errorf("--to %s is above innodb_buffer_pool_size_max %s, which can only change with a restart", FormatSize(to), FormatSize(s.SizeMax))
	}
	if s.Max > 0 && r > s.Max {
		return fmt.Errorf("--to %s is above the server's maximum innodb_buffer_pool_size %s", FormatSize(to), FormatSize(s.Max))
	}
	return nil
}

// Options for Run. Zero durations take the defaults in withDefaults.
type Options struct {
	To   uint64
	Step uint64
	// Pause is how long health is watched after each step (and before the
	// first, for the baseline).
	Pause      time.Duration
	ProbeQuery string
	ProbeEvery time.Duration
	Bounds     Bounds
	// RevertOnBreach steps back to the size before the step that crossed a
	// bound.
	RevertOnBreach bool
	// SampleEvery is the status-sampling and bound-checking period.
	SampleEvery   time.Duration
	ResizeTimeout time.Duration
	Log           *slog.Logger
	// Progress receives one line per event (for stderr).
	Progress func(string)
	// OnWatch is called at every sample while health is watched, with the
	// window so far (for a progress bar).
	OnWatch func(label string, elapsed, total time.Duration, w Window)
}

func (o Options) withDefaults() Options {
	if o.Pause <= 0 {
		o.Pause = 30 * time.Second
	}
	if o.ProbeQuery == "" {
		o.ProbeQuery = DefaultProbe
	}
	if o.ProbeEvery <= 0 {
		o.ProbeEvery = 20 * time.Millisecond
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = time.Second
	}
	if o.SampleEvery > o.Pause {
		o.SampleEvery = o.Pause
	}
	if o.ResizeTimeout <= 0 {
		o.ResizeTimeout = 30 * time.Minute
	}
	if o.Bounds.MinProbes == 0 {
		o.Bounds.MinProbes = 20
	}
	if o.Bounds.MinRequests == 0 {
		o.Bounds.MinRequests = 1000
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	return o
}

// Step is one size change and the health around it.
type Step struct {
	N      int    `json:"n"`
	From   uint64 `json:"from_bytes"`
	To     uint64 `json:"to_bytes"`
	Revert bool   `json:"revert,omitempty"`
	// Resize is SET GLOBAL (or the parameter group change and its wait
	// for in-sync) until the server reported the resize over.
	Resize time.Duration `json:"-"`
	Status string        `json:"final_status"`
	Before Window        `json:"-"`
	During Latency       `json:"-"`
	After  Window        `json:"-"`
	Breach *Breach       `json:"breach,omitempty"`
}

// Outcome of a run.
type Outcome string

const (
	Completed Outcome = "completed"
	Breached  Outcome = "breached"
	Failed    Outcome = "failed"
	NoChange  Outcome = "no-change"
)

// Result is what Run did.
type Result struct {
	Server   string    `json:"server"`
	Flavor   string    `json:"flavor"`
	From     uint64    `json:"from_bytes"`
	To       uint64    `json:"to_bytes"`
	Final    uint64    `json:"final_bytes"`
	Unit     uint64    `json:"unit_bytes"`
	Probe    string    `json:"probe_query"`
	Baseline Window    `json:"-"`
	Steps    []Step    `json:"-"`
	Outcome  Outcome   `json:"outcome"`
	Breach   *Breach   `json:"breach,omitempty"`
	Error    string    `json:"error,omitempty"`
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended"`
}

// ErrBreach is returned (wrapped) when a health bound stopped the run.
var ErrBreach = errors.New("health bound crossed")

// Resizer changes one server's buffer pool.
type Resizer struct {
	DB       *sql.DB
	Flavor   flavor.Flavor
	Name     string // for reports: "server dbshift@127.0.0.1:3306"
	Settings Settings
	// Set, when not nil, changes the size instead of SET GLOBAL and
	// returns once the server has been told (see UseSetFunc).
	Set SetFunc
}

// SetFunc changes innodb_buffer_pool_size by other means than SET GLOBAL
// and returns once the new value has reached the server.
type SetFunc func(ctx context.Context, size uint64) error

// UseSetFunc makes every step (and revert) go through set, e.g. an RDS
// parameter group change, instead of SET GLOBAL.
func (r *Resizer) UseSetFunc(set SetFunc) {
	r.Set = set
	r.Settings.ViaParameterGroup = true
}

// New reads the server's settings.
func New(ctx context.Context, db *sql.DB, f flavor.Flavor, name string) (*Resizer, error) {
	s, err := ReadSettings(ctx, db, f)
	if err != nil {
		return nil, err
	}
	s.RDS = f.RDS
	return &Resizer{DB: db, Flavor: f, Name: name, Settings: s}, nil
}

// Run resizes step by step. It returns the result so far with a non-nil
// error when a step failed or a bound was crossed (errors.Is(err,
// ErrBreach)).
func (r *Resizer) Run(ctx context.Context, o Options) (*Result, error) {
	o = o.withDefaults()
	s := r.Settings
	res := &Result{Server: r.Name, Flavor: r.Flavor.String(), From: s.Size, To: s.RoundUp(o.To), Final: s.Size, Unit: s.Unit, Started: time.Now()}
	defer func() { res.Ended = time.Now() }()
	if err := Validate(o.To, s); err != nil {
		return res, err
	}
	plan, err := Plan(s.Size, o.To, o.Step, s)
	if err != nil {
		return res, err
	}
	if len(plan) == 0 {
		res.Outcome = NoChange
		return res, nil
	}

	// A background resize someone else started would make this run's
	// waits and health figures meaningless.
	if cur, err := read(ctx, r.DB); err != nil {
		return res, err
	} else if !cur.status.Phase.Terminal() {
		return res, fmt.Errorf("a resize is already running on the server (%q); wait for it to finish", cur.status.Raw)
	}

	p := newProber(o.ProbeQuery, o.ProbeEvery)
	if err := p.check(ctx, r.DB); err != nil {
		if o.ProbeQuery != DefaultProbe {
			return res, fmt.Errorf("probe query failed before any change: %w", err)
		}
		o.Log.Info("default probe not readable, using SELECT 1", "err", err)
		p = newProber("SELECT 1", o.ProbeEvery)
	}
	res.Probe = p.query
	pctx, stopProbe := context.WithCancel(ctx)
	probeDone := make(chan struct{})
	go func() { defer close(probeDone); p.run(pctx, r.DB) }()
	defer func() { stopProbe(); <-probeDone }()

	o.Progress(fmt.Sprintf("baseline: watching %s for %s before the first step", r.Name, o.Pause))
	base, _, err := r.watch(ctx, p, o, "baseline", nil)
	if err != nil {
		return r.fail(res, err)
	}
	res.Baseline = base
	before := base
	cur := s.Size
	for i, size := range plan {
		st := Step{N: i + 1, From: cur, To: size, Before: before}
		o.Progress(fmt.Sprintf("step %d/%d: %s -> %s", st.N, len(plan), FormatSize(cur), FormatSize(size)))
		p.cut()
		d, status, err := setAndWait(ctx, r.DB, s, r.Set, size, 100*time.Millisecond, o.ResizeTimeout, r.progress(o, st.N))
		st.Resize, st.Status, st.During = d, status.Raw, p.cut()
		if err != nil {
			res.Steps = append(res.Steps, st)
			r.refreshFinal(ctx, res)
			return r.fail(res, fmt.Errorf("step %d (%s -> %s): %w", st.N, FormatSize(cur), FormatSize(size), err))
		}
		cur = size
		res.Final = cur
		o.Progress(fmt.Sprintf("step %d/%d: resized in %s; watching health for %s", st.N, len(plan), fmtDur(d), o.Pause))
		after, breach, err := r.watch(ctx, p, o, fmt.Sprintf("step %d/%d", st.N, len(plan)), &o.Bounds)
		st.After = after
		if err != nil {
			res.Steps = append(res.Steps, st)
			return r.fail(res, err)
		}
		if breach != nil {
			st.Breach = breach
			res.Steps = append(res.Steps, st)
			res.Outcome, res.Breach = Breached, breach
			o.Progress(fmt.Sprintf("step %d/%d: %s; stopping at %s", st.N, len(plan), breach, FormatSize(cur)))
			if o.RevertOnBreach {
				rev := Step{N: st.N, From: cur, To: st.From, Revert: true, Before: after}
				o.Progress(fmt.Sprintf("reverting: %s -> %s", FormatSize(cur), FormatSize(st.From)))
				p.cut()
				d, status, err := setAndWait(ctx, r.DB, s, r.Set, st.From, 100*time.Millisecond, o.ResizeTimeout, r.progress(o, st.N))
				rev.Resize, rev.Status, rev.During = d, status.Raw, p.cut()
				if err == nil {
					cur = st.From
					res.Final = cur
					rev.After, _, err = r.watch(ctx, p, o, "revert", nil)
				}
				res.Steps = append(res.Steps, rev)
				if err != nil {
					return r.fail(res, fmt.Errorf("reverting to %s after a breach: %w", FormatSize(st.From), err))
				}
			}
			return res, fmt.Errorf("%w after step %d: %s; innodb_buffer_pool_size is now %s", ErrBreach, st.N, breach, FormatSize(cur))
		}
		res.Steps = append(res.Steps, st)
		before = after
	}
	res.Outcome = Completed
	return res, nil
}

func (r *Resizer) fail(res *Result, err error) (*Result, error) {
	res.Outcome = Failed
	res.Error = err.Error()
	return res, err
}

func (r *Resizer) refreshFinal(ctx context.Context, res *Result) {
	var n uint64
	if r.DB.QueryRowContext(ctx, "SELECT @@GLOBAL.innodb_buffer_pool_size").Scan(&n) == nil {
		res.Final = n
	}
}

func (r *Resizer) progress(o Options, n int) func(Status) {
	last := ""
	return func(st Status) {
		if d := st.Describe(); st.Phase == PhaseRunning && d != last {
			last = d
			o.Progress(fmt.Sprintf("step %d: %s", n, d))
		}
	}
}

// watch samples the server for o.Pause and returns the window. With bounds
// it stops as soon as one is crossed.
func (r *Resizer) watch(ctx context.Context, p *prober, o Options, label string, b *Bounds) (Window, *Breach, error) {
	start := time.Now()
	p.cut()
	first, err := read(ctx, r.DB)
	if err != nil {
		return Window{}, nil, err
	}
	maxThreads := first.threadsRunning
	deadline := time.NewTimer(o.Pause)
	defer deadline.Stop()
	tick := time.NewTicker(o.SampleEvery)
	defer tick.Stop()
	for {
		final := false
		select {
		case <-ctx.Done():
			return Window{}, nil, ctx.Err()
		case <-tick.C:
		case <-deadline.C:
			final = true
		}
		last, err := read(ctx, r.DB)
		if err != nil {
			return Window{}, nil, err
		}
		maxThreads = max(maxThreads, last.threadsRunning)
		var lat Latency
		if final {
			lat = p.cut()
		} else {
			lat = p.peek()
		}
		w := window(first, last, maxThreads, lat)
		if o.OnWatch != nil {
			o.OnWatch(label, min(time.Since(start), o.Pause), o.Pause, w)
		}
		if b != nil {
			if lat.Errors > 0 {
				return w, &Breach{Bound: "probe errors", Limit: "0", Observed: fmt.Sprintf("%d (last: %v)", lat.Errors, p.lastError())}, nil
			}
			var requests uint64
			if last.readRequests > first.readRequests {
				requests = last.readRequests - first.readRequests
			}
			if br := b.check(w, requests, final); br != nil {
				if !final {
					w.Probe = p.cut()
				}
				return w, br, nil
			}
		}
		if final {
			return w, nil, nil
		}
	}
}

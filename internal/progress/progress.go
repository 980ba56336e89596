// Package progress shows a wait: a progress bar on a terminal, plain
// timestamped lines (at most one every few seconds) otherwise.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Reporter receives updates of one wait.
type Reporter interface {
	// Update sets the current value (of Max, or -1 when unbounded) and a
	// short description of the state ("lag 120ms, 3.1 MB behind").
	Update(value int64, desc string)
	Done(desc string)
}

// New returns a bar on a terminal and a line printer elsewhere. max < 0
// means unbounded (a spinner).
func New(w io.Writer, terminal bool, label string, max int64) Reporter {
	if terminal {
		bar := progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetPredictTime(max > 0),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
		return &barReporter{bar: bar, w: w, label: label}
	}
	return &lineReporter{w: w, label: label, max: max, every: 2 * time.Second}
}

type barReporter struct {
	bar   *progressbar.ProgressBar
	w     io.Writer
	label string
}

func (b *barReporter) Update(v int64, desc string) {
	b.bar.Describe(b.label + " " + desc)
	if v >= 0 {
		_ = b.bar.Set64(v)
	} else {
		_ = b.bar.Add(1)
	}
}

func (b *barReporter) Done(desc string) {
	_ = b.bar.Finish()
	fmt.Fprintf(b.w, "%s %s\n", b.label, desc)
}

type lineReporter struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	max   int64
	every time.Duration
	last  time.Time
}

func (l *lineReporter) Update(v int64, desc string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.last) < l.every {
		return
	}
	l.last = time.Now()
	if l.max > 0 && v >= 0 {
		fmt.Fprintf(l.w, "%s %s %d/%d %s\n", time.Now().UTC().Format(time.RFC3339), l.label, v, l.max, desc)
		return
	}
	fmt.Fprintf(l.w, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339), l.label, desc)
}

func (l *lineReporter) Done(desc string) {
	fmt.Fprintf(l.w, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339), l.label, desc)
}

// Nop discards updates.
type Nop struct{}

func (Nop) Update(int64, string) {}
func (Nop) Done(string)          {}

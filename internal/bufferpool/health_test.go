package bufferpool

import (
	"testing"
	"time"
)

func TestBoundsCheck_Cases(t *testing.T) {
	b := Bounds{MaxP99: 5 * time.Millisecond, MaxThreadsRunning: 10, MinHitRatio: 0.95, MaxReadsPerSec: 100, MinProbes: 20, MinRequests: 1000}
	ok := Window{Seconds: 5, Probe: Latency{Count: 200, P99: time.Millisecond}, HitRatio: 0.99, ReadsPerSec: 10, ThreadsRunning: 3}
	with := func(f func(*Window)) Window { w := ok; f(&w); return w }
	cases := []struct {
		name     string
		w        Window
		requests uint64
		final    bool
		want     string // bound, or "" for none
	}{
		{"healthy", ok, 5000, true, ""},
		{"slow p99", with(func(w *Window) { w.Probe.P99 = 8 * time.Millisecond }), 5000, false, "probe p99"},
		{"slow p99 on too few probes mid-window", with(func(w *Window) { w.Probe = Latency{Count: 3, P99: time.Second} }), 5000, false, ""},
		{"slow p99 on few probes over the whole window", with(func(w *Window) { w.Probe = Latency{Count: 3, P99: time.Second} }), 5000, true, "probe p99"},
		{"no probe answered in the whole window", with(func(w *Window) { w.Probe = Latency{} }), 5000, true, "probe p99"},
		{"threads", with(func(w *Window) { w.ThreadsRunning = 11 }), 5000, false, "Threads_running"},
		{"hit ratio", with(func(w *Window) { w.HitRatio = 0.80 }), 5000, false, "hit ratio"},
		{"hit ratio on too few requests", with(func(w *Window) { w.HitRatio = 0.5 }), 10, false, ""},
		{"reads/s", with(func(w *Window) { w.ReadsPerSec = 150 }), 5000, false, "reads/s"},
	}
	for _, c := range cases {
		br := b.check(c.w, c.requests, c.final)
		got := ""
		if br != nil {
			got = br.Bound
		}
		if got != c.want {
			t.Errorf("%s: breach %q (%v), want %q", c.name, got, br, c.want)
		}
	}
	if br := (Bounds{}).check(with(func(w *Window) { w.Probe.P99 = time.Hour; w.ThreadsRunning = 1000; w.HitRatio = 0 }), 1e6, true); br != nil {
		t.Errorf("zero bounds judged something: %v", br)
	}
}

func TestWindow_HitRatioAndReads(t *testing.T) {
	t0 := time.Now()
	first := reading{at: t0, readRequests: 1000, reads: 10}
	last := reading{at: t0.Add(2 * time.Second), readRequests: 11000, reads: 510}
	w := window(first, last, 7, Latency{})
	if w.HitRatio != 0.95 || w.ReadsPerSec != 250 || w.ThreadsRunning != 7 || w.Seconds != 2 {
		t.Errorf("window = %+v, want hit 0.95, 250 reads/s, 7 threads over 2s", w)
	}
	if w := window(first, first, 0, Latency{}); w.HitRatio != -1 {
		t.Errorf("hit ratio without requests = %v, want -1", w.HitRatio)
	}
}

package replay

import (
	"errors"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func policies(t *testing.T) map[int]uint32 {
	t.Helper()
	tids, err := threads()
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]uint32{}
	for _, tid := range tids {
		if a, err := unix.SchedGetAttr(tid, 0); err == nil {
			m[tid] = a.Policy
		}
	}
	return m
}

func TestYieldToServer_EveryThreadAndBack(t *testing.T) {
	for tid, p := range policies(t) {
		if p != unix.SCHED_NORMAL {
			t.Skipf("thread %d runs under policy %d before the test", tid, p)
		}
	}
	restore, err := yieldToServer()
	if err != nil {
		t.Fatal(err)
	}
	for tid, p := range policies(t) {
		if p != unix.SCHED_BATCH {
			t.Errorf("thread %d: policy %d during the trial, want SCHED_BATCH", tid, p)
		}
	}
	// Threads the runtime starts meanwhile inherit the policy: goroutines
	// locked to their threads make it start some.
	const n = 4
	got := make(chan uint32, n)
	release := make(chan struct{})
	for i := 0; i < n; i++ {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			a, err := unix.SchedGetAttr(0, 0)
			if err != nil {
				got <- 1 << 31
			} else {
				got <- a.Policy
			}
			<-release
		}()
	}
	for i := 0; i < n; i++ {
		if p := <-got; p != unix.SCHED_BATCH {
			t.Errorf("a thread running during the trial: policy %d, want SCHED_BATCH", p)
		}
	}
	restore()
	close(release)
	for tid, p := range policies(t) {
		if p != unix.SCHED_NORMAL {
			t.Errorf("thread %d: policy %d after the trial, want SCHED_NORMAL", tid, p)
		}
	}
}

// TestYieldToServer_ListFailsMidway: when a later pass cannot list the
// threads, those the first pass switched go back.
func TestYieldToServer_ListFailsMidway(t *testing.T) {
	for tid, p := range policies(t) {
		if p != unix.SCHED_NORMAL {
			t.Skipf("thread %d runs under policy %d before the test", tid, p)
		}
	}
	calls := 0
	list := func() ([]int, error) {
		calls++
		if calls == 2 {
			return nil, errors.New("listing refused")
		}
		return threads()
	}
	if _, err := yieldThreads(list); err == nil {
		t.Fatal("yieldThreads: no error from a failed listing")
	}
	for tid, p := range policies(t) {
		if p != unix.SCHED_NORMAL {
			t.Errorf("thread %d: policy %d after a failed yield, want SCHED_NORMAL", tid, p)
		}
	}
}

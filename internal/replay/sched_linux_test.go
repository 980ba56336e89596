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
	requireAllNormal(t)
	restore, err := yieldToServer()
	if err != nil {
		t.Fatal(err)
	}
	assertAll(t, unix.SCHED_BATCH, "during the trial")
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
	assertAll(t, unix.SCHED_NORMAL, "after the trial")
}

// lister lists the process's threads like threads and starts a thread of
// its own just before or just after the listing numbered at, as the
// runtime may do at any time.
type lister struct {
	t      *testing.T
	calls  int
	at     int
	before bool
	tid    int
	stop   []func()
}

func (l *lister) list() ([]int, error) {
	l.calls++
	if l.calls == l.at && l.before {
		l.tid = l.newThread()
	}
	tids, err := threads()
	if l.calls == l.at && !l.before {
		l.tid = l.newThread()
	}
	return tids, err
}

// newThread returns the id of a thread started for it: goroutines locked to
// their threads and blocked until the test ends, started until one runs on
// a thread that was not there before.
func (l *lister) newThread() int {
	known, err := threads()
	if err != nil {
		l.t.Fatal(err)
	}
	old := map[int]bool{}
	for _, tid := range known {
		old[tid] = true
	}
	for i := 0; i < 64; i++ {
		got := make(chan int)
		release := make(chan struct{})
		l.stop = append(l.stop, func() { close(release) })
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			got <- unix.Gettid()
			<-release
		}()
		if tid := <-got; !old[tid] {
			return tid
		}
	}
	l.t.Fatal("no new thread after 64 locked goroutines")
	return 0
}

func (l *lister) release() {
	for _, f := range l.stop {
		f()
	}
}

// requireAllNormal skips the test unless every thread runs under the
// normal policy (a process started under another, e.g. chrt -b).
func requireAllNormal(t *testing.T) {
	t.Helper()
	for tid, p := range policies(t) {
		if p != unix.SCHED_NORMAL {
			t.Skipf("thread %d runs under policy %d before the test", tid, p)
		}
	}
}

// assertAll checks that every thread runs under want; when says at what
// point of the test.
func assertAll(t *testing.T, want uint32, when string) {
	t.Helper()
	name := map[uint32]string{unix.SCHED_NORMAL: "SCHED_NORMAL", unix.SCHED_BATCH: "SCHED_BATCH"}[want]
	for tid, p := range policies(t) {
		if p != want {
			t.Errorf("thread %d: policy %d %s, want %s", tid, p, when, name)
		}
	}
}

func policy(t *testing.T, tid int) uint32 {
	t.Helper()
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatalf("thread %d: %v", tid, err)
	}
	return a.Policy
}

// TestYieldToServer_ThreadStartedDuringYield: a thread started while
// yieldToServer runs is cloned from one it has already switched; its
// SCHED_BATCH is not its own policy to give back.
func TestYieldToServer_ThreadStartedDuringYield(t *testing.T) {
	requireAllNormal(t)
	l := &lister{t: t, at: 2, before: true} // before the second pass lists
	defer l.release()
	restore, err := yieldThreads(l.list)
	if err != nil {
		t.Fatal(err)
	}
	if l.tid == 0 {
		restore()
		t.Fatal("yieldThreads made a single pass")
	}
	if p := policy(t, l.tid); p != unix.SCHED_BATCH {
		t.Errorf("thread %d started during the yield: policy %d, want SCHED_BATCH", l.tid, p)
	}
	restore()
	if p := policy(t, l.tid); p != unix.SCHED_NORMAL {
		t.Fatalf("thread %d started during the yield: policy %d after the trial, want SCHED_NORMAL", l.tid, p)
	}
}

// TestYieldToServer_ListFailsMidway: when a later pass cannot list the
// threads, those the first pass switched go back.
func TestYieldToServer_ListFailsMidway(t *testing.T) {
	requireAllNormal(t)
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
	assertAll(t, unix.SCHED_NORMAL, "after a failed yield")
}

// TestYieldToServer_ThreadStartedDuringRestore: a thread started after
// restore has listed the threads is cloned from one still under
// SCHED_BATCH; it must not stay there.
func TestYieldToServer_ThreadStartedDuringRestore(t *testing.T) {
	requireAllNormal(t)
	l := &lister{t: t}
	defer l.release()
	restore, err := yieldThreads(l.list)
	if err != nil {
		t.Fatal(err)
	}
	l.at = l.calls + 1 // restore's first listing
	restore()
	if l.tid == 0 {
		t.Fatal("restore did not list the threads")
	}
	if p := policy(t, l.tid); p != unix.SCHED_NORMAL {
		t.Fatalf("thread %d started during the restore: policy %d after the trial, want SCHED_NORMAL", l.tid, p)
	}
	assertAll(t, unix.SCHED_NORMAL, "after the trial")
}

// TestYieldToServer_AlreadyBatch: a process started under SCHED_BATCH
// (chrt -b) keeps it, for the threads started during the trial too.
func TestYieldToServer_AlreadyBatch(t *testing.T) {
	requireAllNormal(t)
	// The whole process under SCHED_BATCH, as chrt -b would start it.
	undo, err := yieldToServer()
	if err != nil {
		t.Fatal(err)
	}
	defer undo()
	l := &lister{t: t}
	defer l.release()
	restore, err := yieldThreads(l.list)
	if err != nil {
		t.Fatal(err)
	}
	tid := l.newThread() // started during the trial
	restore()
	if p := policy(t, tid); p != unix.SCHED_BATCH {
		t.Errorf("thread %d started during the trial: policy %d after it, want the process's SCHED_BATCH", tid, p)
	}
	assertAll(t, unix.SCHED_BATCH, "after the trial")
}

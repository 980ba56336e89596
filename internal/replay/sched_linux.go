package replay

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// yieldToServer puts every thread of this process under SCHED_BATCH and
// returns a function that puts them back under their own policy.
//
// With the server on the same host, each answer wakes a client thread;
// under the normal policy the waking thread is often preempted for it, so
// the server thread that just answered stops before it reaches its next
// statement and the two hand the CPU back and forth. SCHED_BATCH is the
// normal policy without that wake-up preemption: the client runs when the
// server thread blocks or its slice ends. Threads created meanwhile inherit
// the policy from their creator; restore covers them too. A thread under
// another policy (real-time, idle) is left alone, and so is a process
// already under SCHED_BATCH. The policy is per thread, for the whole
// process: two trials at once in one process would undo each other, and a
// process started meanwhile inherits it.
func yieldToServer() (restore func(), err error) { return yieldThreads(threads) }

// yieldThreads is yieldToServer over the threads list returns.
func yieldThreads(list func() ([]int, error)) (restore func(), err error) {
	saved := map[int]unix.SchedAttr{}
	seen := map[int]bool{}
	switched := 0
	// Threads started while the first pass runs may have missed it: go
	// again until a pass finds none new.
	for pass := 0; pass < 4; pass++ {
		tids, err := list()
		if err != nil {
			restoreThreads(list, saved)
			return nil, err
		}
		fresh := 0
		for _, tid := range tids {
			if seen[tid] {
				continue
			}
			seen[tid] = true
			fresh++
			attr, err := unix.SchedGetAttr(tid, 0)
			if err != nil {
				if errors.Is(err, syscall.ESRCH) {
					continue // the thread ended
				}
				restoreThreads(list, saved)
				return nil, fmt.Errorf("sched_getattr thread %d: %w", tid, err)
			}
			if pass > 0 && attr.Policy == unix.SCHED_BATCH {
				// Started during an earlier pass by a thread it had
				// already switched: SCHED_BATCH is ours, not the
				// thread's own policy. Restore treats it as new.
				continue
			}
			saved[tid] = *attr
			if attr.Policy != unix.SCHED_NORMAL {
				continue
			}
			batch := *attr
			batch.Policy = unix.SCHED_BATCH
			if err := unix.SchedSetAttr(tid, &batch, 0); err != nil && !errors.Is(err, syscall.ESRCH) {
				restoreThreads(list, saved)
				return nil, fmt.Errorf("sched_setattr SCHED_BATCH thread %d: %w", tid, err)
			}
			switched++
		}
		if fresh == 0 {
			break
		}
	}
	if switched == 0 {
		// Already under SCHED_BATCH or another policy (chrt -b): the
		// threads started meanwhile have the process's own policy.
		return func() {}, nil
	}
	return func() { restoreThreads(list, saved) }, nil
}

// restoreThreads gives each thread found in saved its policy back and puts
// the threads that were not there (created under SCHED_BATCH) under the
// normal policy. A thread the runtime starts while a pass runs is cloned
// from one the pass may not have reached yet and shows up under
// SCHED_BATCH after the listing: go again until two passes in a row change
// nothing. A clone still in flight then (its creator was preempted inside
// clone(2) for longer than two passes) can still come out under
// SCHED_BATCH; that only costs it wake-up preemption.
func restoreThreads(list func() ([]int, error), saved map[int]unix.SchedAttr) {
	quiet := 0
	for pass := 0; pass < 16 && quiet < 2; pass++ {
		if restorePass(list, saved) == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// restorePass is one pass of restoreThreads; it returns how many threads
// it changed.
func restorePass(list func() ([]int, error), saved map[int]unix.SchedAttr) int {
	tids, err := list()
	if err != nil {
		return 0
	}
	changed := 0
	for _, tid := range tids {
		cur, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			continue // the thread ended
		}
		attr, ok := saved[tid]
		if !ok {
			if cur.Policy != unix.SCHED_BATCH {
				continue
			}
			attr = *cur
			attr.Policy = unix.SCHED_NORMAL
		}
		if cur.Policy == attr.Policy {
			continue
		}
		if unix.SchedSetAttr(tid, &attr, 0) == nil {
			changed++
		}
	}
	return changed
}

// threads lists the thread ids of this process.
func threads() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}

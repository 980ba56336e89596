package cutover_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// TestAbort_LeavesASourceReadOnlyThatWasBefore: the operator closed the
// source (read_only=1) before the cutover; the cutover fails after its
// fence and backs out. It must not open what it did not close, neither
// when it backs out itself nor when a resume does.
func TestAbort_LeavesASourceReadOnlyThatWasBefore(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	exec(t, p.a.DB, "SET GLOBAL read_only = 1")
	o := cutover.Options{Journal: newJournal(t), GateStable: 100 * time.Millisecond,
		Hooks: []cutover.Hook{{Phase: cutover.HookAfterFence, Command: "exit 3"}}}
	rep, err := cutover.Run(ctx, p.a, p.b, o)
	if !errors.Is(err, cutover.ErrAborted) {
		t.Fatalf("err = %v, want the cutover to back out", err)
	}
	if !sandboxtest.ReadOnly(t, p.a) {
		t.Fatalf("backing out opened a source that was read-only before the cutover (warnings %q)", rep.Warnings)
	}

	// The same through a resume of a journal killed after the fence.
	j := newJournal(t)
	if err := cutover.RecordServers(ctx, j, p.a, p.b, "cutover"); err != nil {
		t.Fatal(err)
	}
	if err := j.Append("fence", "start", map[string]string{"kind": "read_only", "was_fenced": "true"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cutover.Resume(ctx, p.a, p.b, cutover.Options{Journal: j}); !errors.Is(err, cutover.ErrAborted) {
		t.Fatalf("resume: %v, want it to back out", err)
	}
	if !sandboxtest.ReadOnly(t, p.a) {
		t.Fatal("a resumed back-out opened a source that was read-only before the cutover")
	}
}

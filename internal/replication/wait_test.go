package replication_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// TestWaitExecuted_SubSecondTimeoutIsBounded: MariaDB's MASTER_POS_WAIT
// reads its timeout as an integer, so 0.4 became 0, "no timeout": a
// cutover given --catchup-timeout 400ms waited forever with the source
// fenced. The wait must end in about its timeout, on both flavors.
func TestWaitExecuted_SubSecondTimeoutIsBounded(t *testing.T) {
	sandboxtest.Flavors(t, func(t *testing.T, fl string) {
		s := sandboxtest.ReplicatingPair(t, sandbox.Options{Flavor: fl})
		src, rep := sandboxtest.Conn(t, s.Instances[0]), sandboxtest.Conn(t, s.Instances[1])
		ctx := context.Background()
		now, err := replication.SourcePosition(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		ahead := replication.Coordinates{File: now.File, Position: now.Position + 1<<30}
		done := make(chan error, 1)
		go func() { done <- replication.WaitExecuted(ctx, rep, ahead, false, 400*time.Millisecond) }()
		// A hang detector, not a pace: the wait must have ended long before.
		select {
		case err := <-done:
			if !errors.Is(err, replication.ErrWaitTimeout) {
				t.Fatalf("err = %v, want ErrWaitTimeout", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a 400ms wait for a position the replica never reaches did not end in 20s")
		}
	})
}

package cutover_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// fencedJournal is what a cutover a -> b killed right after its fence
// leaves: the servers, the gate, the fence started and in force on a.
func fencedJournal(t *testing.T, p *pair) *journal.Journal {
	t.Helper()
	ctx := context.Background()
	j := newJournal(t)
	if err := cutover.RecordServers(ctx, j, p.a, p.b, "cutover"); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct{ step, event string }{{"gate", "start"}, {"gate", "done"}, {"fence", "start"}} {
		if err := j.Append(e.step, e.event, map[string]string{"kind": "read_only"}); err != nil {
			t.Fatal(err)
		}
	}
	exec(t, p.a.DB, "SET GLOBAL read_only = 1")
	return j
}

// TestResume_RefusesTheServersSwapped: the audit's split brain. A db1->db2
// journal resumed with --source db2 --target db1 backed out by unfencing
// db2, the replica: both writable. Now it is refused and nothing changes;
// the right pair then backs out.
func TestResume_RefusesTheServersSwapped(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	j := fencedJournal(t, p)

	_, err := cutover.Resume(ctx, p.b, p.a, cutover.Options{Journal: j})
	var wrong *cutover.WrongServersError
	if !errors.As(err, &wrong) {
		t.Fatalf("resume with the roles swapped: err = %v, want a WrongServersError", err)
	}
	if !sandboxtest.ReadOnly(t, p.a) || !sandboxtest.ReadOnly(t, p.b) {
		t.Fatalf("a refused resume changed read_only: a=%v b=%v, want both read-only", sandboxtest.ReadOnly(t, p.a), sandboxtest.ReadOnly(t, p.b))
	}
	if st, err := replication.ReadStatus(ctx, p.b); err != nil || st.SQLRunning != "Yes" {
		t.Fatalf("a refused resume touched the replica: %+v %v", st, err)
	}
	if _, err := cutover.Resume(ctx, p.a, p.b, cutover.Options{Journal: j}); !errors.Is(err, cutover.ErrAborted) {
		t.Fatalf("resume with the journal's servers: %v, want it to back out", err)
	}
	if sandboxtest.ReadOnly(t, p.a) || !sandboxtest.ReadOnly(t, p.b) {
		t.Error("backing out: want the source writable and the target read-only")
	}
}

// TestResume_RefusesAJournalWithoutServers: a journal that names no
// servers cannot be proven to be about these.
func TestResume_RefusesAJournalWithoutServers(t *testing.T) {
	p := newPair(t)
	j := newJournal(t)
	if err := j.Append("fence", "start", nil); err != nil {
		t.Fatal(err)
	}
	exec(t, p.a.DB, "SET GLOBAL read_only = 1")
	_, err := cutover.Resume(context.Background(), p.a, p.b, cutover.Options{Journal: j})
	var wrong *cutover.WrongServersError
	if !errors.As(err, &wrong) || !wrong.Unrecorded {
		t.Fatalf("err = %v, want a WrongServersError saying the journal names no servers", err)
	}
	if !sandboxtest.ReadOnly(t, p.a) {
		t.Error("the source was unfenced on a journal that names no servers")
	}
}

// TestOpenWritesAndRollback_RefuseOtherServers: after a read-only
// switchover a -> b, open-writes on a (the fenced old source) and a
// rollback with the roles swapped are refused, changing nothing.
func TestOpenWritesAndRollback_RefuseOtherServers(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	o := cutover.Options{Journal: newJournal(t), KeepReadOnly: true, GateStable: 100 * time.Millisecond}
	if _, err := cutover.Run(ctx, p.a, p.b, o); err != nil {
		t.Fatal(err)
	}
	var wrong *cutover.WrongServersError
	if _, err := cutover.OpenWrites(ctx, p.a, o); !errors.As(err, &wrong) {
		t.Fatalf("open-writes on the old source: err = %v, want a WrongServersError", err)
	}
	if _, err := cutover.RollbackReadOnly(ctx, p.b, p.a, o); !errors.As(err, &wrong) {
		t.Fatalf("rollback with the roles swapped: err = %v, want a WrongServersError", err)
	}
	if !sandboxtest.ReadOnly(t, p.a) || !sandboxtest.ReadOnly(t, p.b) {
		t.Fatal("a refused call changed read_only: want both read-only")
	}
	if _, err := cutover.OpenWrites(ctx, p.b, o); err != nil {
		t.Fatalf("open-writes on the journal's target: %v", err)
	}
}

// TestRun_RefusesNegativeDurations: MASTER_POS_WAIT reads a negative
// timeout as "forever", with the source fenced all along.
func TestRun_RefusesNegativeDurations(t *testing.T) {
	p := newPair(t)
	j := newJournal(t)
	if _, err := cutover.Run(context.Background(), p.a, p.b, cutover.Options{Journal: j, CatchupTimeout: -time.Second}); err == nil {
		t.Fatal("a negative catch-up timeout was accepted")
	}
	if len(j.Entries()) != 0 || sandboxtest.ReadOnly(t, p.a) {
		t.Error("a refused cutover journaled or fenced")
	}
}

// TestResume_RefusesAnotherRDSInstance: on RDS the journal also names the
// instances; the same server reached as another instance id (a restored
// copy answers with the same server identity) is refused.
func TestResume_RefusesAnotherRDSInstance(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	o := cutover.Options{Journal: newJournal(t), KeepReadOnly: true, GateStable: 100 * time.Millisecond, SourceInstance: "prod", TargetInstance: "prod-encrypted"}
	if _, err := cutover.Run(ctx, p.a, p.b, o); err != nil {
		t.Fatal(err)
	}
	other := o
	other.TargetInstance = "prod-encrypted-2"
	var wrong *cutover.WrongServersError
	if _, err := cutover.OpenWrites(ctx, p.b, other); !errors.As(err, &wrong) || !strings.Contains(err.Error(), "prod-encrypted-2") {
		t.Fatalf("open-writes naming another instance: err = %v, want a WrongServersError naming it", err)
	}
	if !sandboxtest.ReadOnly(t, p.b) {
		t.Fatal("a refused open-writes opened the target")
	}
	if _, err := cutover.OpenWrites(ctx, p.b, o); err != nil {
		t.Fatalf("open-writes on the journal's instance: %v", err)
	}
}

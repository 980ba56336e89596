package cutover_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
	"github.com/dbshift/dbshift/internal/switcher"
)

type pair struct {
	s        *sandbox.Sandbox
	a, b     *dbconn.Conn // a starts as the source
	appA     *sql.DB      // application account (no SUPER) per server
	appB     *sql.DB
	instA    *sandbox.Instance
	instB    *sandbox.Instance
	clientCf map[string]string // option files for hooks, by instance name
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// newPair starts two servers, B replicating from A, with schema app, table
// app.w and an application account on both.
func newPair(t *testing.T) *pair {
	t.Helper()
	s := sandboxtest.ReplicatingPair(t, sandbox.Options{})
	p := &pair{s: s, instA: s.Instances[0], instB: s.Instances[1], clientCf: map[string]string{}}
	p.a, p.b = sandboxtest.Conn(t, p.instA), sandboxtest.Conn(t, p.instB)
	p.appA, p.appB = sandboxtest.AppConn(t, p.instA).DB, sandboxtest.AppConn(t, p.instB).DB
	for _, inst := range s.Instances {
		cf := filepath.Join(t.TempDir(), inst.Name+".cnf")
		os.WriteFile(cf, []byte(fmt.Sprintf("[client]\nuser=%s\npassword=%s\nhost=127.0.0.1\nport=%d\n", inst.AdminUser, inst.Password, inst.Port)), 0o600)
		p.clientCf[inst.Name] = cf
	}
	return p
}

// router is the test's traffic switch: the writer asks it where to write.
type router struct {
	cur   atomic.Pointer[sql.DB]
	byAdr map[string]*sql.DB
}

func (r *router) Name() string { return "test-router" }
func (r *router) Check(_ context.Context, from, to switcher.Endpoint) error {
	if r.byAdr[from.Addr] == nil || r.byAdr[to.Addr] == nil {
		return errors.New("unknown address")
	}
	return nil
}
func (r *router) Switch(_ context.Context, from, to switcher.Endpoint) error {
	r.cur.Store(r.byAdr[to.Addr])
	return nil
}

// writer inserts sequenced ids through the router and records those the
// server acknowledged.
type writer struct {
	r     *router
	mu    sync.Mutex
	acked []int64
	stop  chan struct{}
	done  chan struct{}
	next  int64
}

func startWriter(r *router, every time.Duration) *writer {
	w := &writer{r: r, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		id := int64(1)
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			if _, err := w.r.cur.Load().Exec("INSERT INTO app.w (id) VALUES (?)", id); err == nil {
				w.mu.Lock()
				w.acked = append(w.acked, id)
				w.mu.Unlock()
				id++
			} else if dbconn.ErrorNumber(err) == 1062 {
				id++ // an earlier attempt did commit though its ack was lost
			}
		}
	}()
	return w
}

func (w *writer) halt() []int64 {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.acked...)
}

func newJournal(t *testing.T) *journal.Journal {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), "cutover.journal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func TestRun_BackAndForthUnderWritesLosesNothing(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	rt := &router{byAdr: map[string]*sql.DB{p.a.Addr: p.appA, p.b.Addr: p.appB}}
	rt.cur.Store(p.appA)
	w := startWriter(rt, 5*time.Millisecond)
	src, tgt := p.a, p.b
	for i := 0; i < 3; i++ {
		rep, err := cutover.Run(ctx, src, tgt, cutover.Options{Switch: rt, Reverse: true, Journal: newJournal(t), GateStable: 200 * time.Millisecond})
		if err != nil {
			t.Fatalf("cutover %d %s -> %s: %v", i, src.Addr, tgt.Addr, err)
		}
		if rep.Outcome != "completed" || rep.WriteUnavailableMS == nil || rep.ClientVisibleMS == nil || rep.Reverse == nil {
			t.Fatalf("cutover %d report: %+v", i, rep)
		}
		if !sandboxtest.ReadOnly(t, src) || sandboxtest.ReadOnly(t, tgt) {
			t.Fatalf("cutover %d: source read_only=%v target read_only=%v, want exactly the target writable", i, sandboxtest.ReadOnly(t, src), sandboxtest.ReadOnly(t, tgt))
		}
		if rep.FenceObserved.After(rep.TargetWritable) {
			t.Fatalf("cutover %d: target writable before the source was fenced", i)
		}
		t.Logf("cutover %d: write-unavailable %.1f ms, client-visible %.1f ms", i, *rep.WriteUnavailableMS, *rep.ClientVisibleMS)
		src, tgt = tgt, src
	}
	acked := w.halt()
	if len(acked) < 50 {
		t.Fatalf("writer acknowledged only %d writes", len(acked))
	}
	// src is the current primary; tgt replicates from it (reverse).
	if _, err := replication.WaitCaughtUp(ctx, src, tgt, replication.WaitOptions{MaxLag: time.Second, Stable: 100 * time.Millisecond, Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*dbconn.Conn{src, tgt} {
		if m := sandboxtest.MissingIDs(t, c.DB, acked); len(m) > 0 {
			t.Errorf("%s lacks %d acknowledged writes, e.g. %v", c, len(m), m[:min(5, len(m))])
		}
	}
}

func TestRun_AbortsWhenTargetCannotCatchUp(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	// After the gate, the hook delays the target's SQL thread and writes on
	// the source, so the catch-up wait after the fence must time out.
	delay := fmt.Sprintf("mariadb --defaults-extra-file=%s -e 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=30; START SLAVE'", p.clientCf[p.instB.Name])
	exec(t, p.a.DB, "INSERT INTO app.w (id) VALUES (1)")
	rep, err := cutover.Run(ctx, p.a, p.b, cutover.Options{
		Journal: newJournal(t), CatchupTimeout: time.Second, GateStable: 100 * time.Millisecond,
		Hooks: []cutover.Hook{{Phase: cutover.HookBeforeFence, Command: delay + " && mariadb --defaults-extra-file=" + p.clientCf[p.instA.Name] + " -e 'INSERT INTO app.w (id) VALUES (2)'"}},
	})
	if !errors.Is(err, cutover.ErrAborted) || rep.Outcome != "aborted" {
		t.Fatalf("err = %v, outcome %q; want aborted", err, rep.Outcome)
	}
	if sandboxtest.ReadOnly(t, p.a) {
		t.Error("source still fenced after abort")
	}
	if _, err := p.appA.Exec("INSERT INTO app.w (id) VALUES (3)"); err != nil {
		t.Errorf("application cannot write on the source after abort: %v", err)
	}
	st, err := replication.ReadStatus(ctx, p.b)
	if err != nil || !st.Running() || !sandboxtest.ReadOnly(t, p.b) {
		t.Errorf("target after abort: running=%v read_only=%v err=%v", st.Running(), sandboxtest.ReadOnly(t, p.b), err)
	}
}

func TestRun_AbortsWhenReplicationBroken(t *testing.T) {
	p := newPair(t)
	exec(t, p.b.DB, "STOP SLAVE SQL_THREAD")
	rep, err := cutover.Run(context.Background(), p.a, p.b, cutover.Options{Journal: newJournal(t), GateTimeout: 2 * time.Second})
	if !errors.Is(err, cutover.ErrAborted) {
		t.Fatalf("err = %v", err)
	}
	if sandboxtest.ReadOnly(t, p.a) || rep.FenceStart != (time.Time{}) {
		t.Errorf("the gate let a broken target through to the fence")
	}
}

func TestRun_DrainReportsLongTransaction(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	tx, err := p.appA.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO app.w (id) VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	rep, err := cutover.Run(ctx, p.a, p.b, cutover.Options{Journal: newJournal(t), DrainTimeout: 500 * time.Millisecond, GateStable: 100 * time.Millisecond})
	if !errors.Is(err, cutover.ErrAborted) {
		t.Fatalf("err = %v; want an abort on the open transaction", err)
	}
	if len(rep.Blockers) != 1 || rep.Blockers[0].User != "app" || rep.Blockers[0].RowsModified != 1 {
		t.Errorf("blockers = %+v", rep.Blockers)
	}
	if sandboxtest.ReadOnly(t, p.a) {
		t.Error("source still fenced after abort")
	}
	// The transaction was not killed: it can still commit.
	if err := tx.Commit(); err != nil {
		t.Errorf("the blocker's transaction could not commit after the abort: %v", err)
	}

	// With --kill-after the blocker is ended and the cutover completes.
	tx, _ = p.appA.BeginTx(ctx, nil)
	if _, err := tx.Exec("INSERT INTO app.w (id) VALUES (43)"); err != nil {
		t.Fatal(err)
	}
	rep, err = cutover.Run(ctx, p.a, p.b, cutover.Options{Journal: newJournal(t), DrainTimeout: 5 * time.Second, KillAfter: 200 * time.Millisecond, GateStable: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("cutover with --kill-after: %v", err)
	}
	if len(rep.Blockers) != 1 || !rep.Blockers[0].Killed {
		t.Errorf("blockers = %+v", rep.Blockers)
	}
	if err := tx.Commit(); err == nil {
		t.Error("the killed transaction committed")
	}
	if n := len(sandboxtest.MissingIDs(t, p.b.DB, []int64{42})); n != 0 {
		t.Error("the committed write 42 is missing on the new primary")
	}
}

func TestRun_KeepReadOnlyThenRollbackOrOpen(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	rt := &router{byAdr: map[string]*sql.DB{p.a.Addr: p.appA, p.b.Addr: p.appB}}
	rt.cur.Store(p.appA)
	j := newJournal(t)
	o := cutover.Options{Journal: j, Switch: rt, KeepReadOnly: true, GateStable: 100 * time.Millisecond}
	rep, err := cutover.Run(ctx, p.a, p.b, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.WriteUnavailableMS != nil || !sandboxtest.ReadOnly(t, p.a) || !sandboxtest.ReadOnly(t, p.b) || rt.cur.Load() != p.appB {
		t.Fatalf("keep-read-only: both must be read-only with traffic on the target; report %+v", rep)
	}
	if _, err := cutover.RollbackReadOnly(ctx, p.a, p.b, o); err != nil {
		t.Fatal(err)
	}
	if sandboxtest.ReadOnly(t, p.a) || rt.cur.Load() != p.appA {
		t.Fatal("rollback did not give writes and traffic back to the source")
	}
	exec(t, p.appA, "INSERT INTO app.w (id) VALUES (7)")
	if _, err := replication.WaitCaughtUp(ctx, p.a, p.b, replication.WaitOptions{MaxLag: time.Second, Stable: 100 * time.Millisecond, Timeout: 20 * time.Second}); err != nil {
		t.Fatalf("target not replicating after the read-only rollback: %v", err)
	}

	j2 := newJournal(t)
	o.Journal = j2
	if _, err := cutover.Run(ctx, p.a, p.b, o); err != nil {
		t.Fatal(err)
	}
	if _, err := cutover.OpenWrites(ctx, p.b, o); err != nil {
		t.Fatal(err)
	}
	if sandboxtest.ReadOnly(t, p.b) || !sandboxtest.ReadOnly(t, p.a) {
		t.Error("open-writes: want only the target writable")
	}
	if m := sandboxtest.MissingIDs(t, p.b.DB, []int64{7}); len(m) != 0 {
		t.Error("write 7 lost")
	}
}

// recorder is a hook command that appends its phase and what it saw of the
// target's read_only to a file, so the test can check the order of calls.
func recorder(t *testing.T, p *pair, log string, failPhase string) string {
	t.Helper()
	cf := p.clientCf[p.instB.Name]
	script := filepath.Join(t.TempDir(), "hook.sh")
	body := fmt.Sprintf(`#!/bin/sh
ro=$(mariadb --defaults-extra-file=%s -N -e 'SELECT @@read_only')
echo "$DBSHIFT_PHASE target_read_only=$ro" >> %s
[ "$DBSHIFT_PHASE" = "%s" ] && exit 3
exit 0
`, cf, log, failPhase)
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return script
}

func TestRunWindow_OrderAndReadOnlyUntilWriteChecks(t *testing.T) {
	cases := []struct {
		name      string
		pointBack bool
		failAt    string
		wantLog   []string
		onTarget  bool // writes end on the target
	}{
		{"switch for good", false, "", []string{"maintenance-on target_read_only=1", "read-checks target_read_only=1", "write-checks target_read_only=0", "maintenance-off target_read_only=0"}, true},
		{"point back after write checks", true, "", []string{"maintenance-on target_read_only=1", "read-checks target_read_only=1", "write-checks target_read_only=0", "maintenance-off target_read_only=1"}, false},
		{"read checks fail", false, "read-checks", []string{"maintenance-on target_read_only=1", "read-checks target_read_only=1", "maintenance-off target_read_only=1"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPair(t)
			ctx := context.Background()
			rt := &router{byAdr: map[string]*sql.DB{p.a.Addr: p.appA, p.b.Addr: p.appB}}
			rt.cur.Store(p.appA)
			log := filepath.Join(t.TempDir(), "calls.log")
			hook := recorder(t, p, log, c.failAt)
			exec(t, p.appA, "INSERT INTO app.w (id) VALUES (1)")
			rep, err := cutover.RunWindow(ctx, p.a, p.b, cutover.Options{Journal: newJournal(t), Switch: rt, GateStable: 100 * time.Millisecond},
				cutover.Window{On: hook, ReadChecks: hook, WriteChecks: hook, Off: hook, PointBack: c.pointBack})
			if (err != nil) != (c.failAt != "") {
				t.Fatalf("err = %v (report %+v)", err, rep)
			}
			b, _ := os.ReadFile(log)
			got := strings.Split(strings.TrimSpace(string(b)), "\n")
			if strings.Join(got, "|") != strings.Join(c.wantLog, "|") {
				t.Errorf("calls:\n got %q\nwant %q", got, c.wantLog)
			}
			srcRO, tgtRO := sandboxtest.ReadOnly(t, p.a), sandboxtest.ReadOnly(t, p.b)
			if c.onTarget && (!srcRO || tgtRO || rt.cur.Load() != p.appB) {
				t.Errorf("switch for good: source ro=%v target ro=%v traffic on target=%v", srcRO, tgtRO, rt.cur.Load() == p.appB)
			}
			if !c.onTarget {
				if srcRO || !tgtRO || rt.cur.Load() != p.appA {
					t.Errorf("pointed back: source ro=%v target ro=%v traffic on source=%v", srcRO, tgtRO, rt.cur.Load() == p.appA)
				}
				if _, err := p.appA.Exec("INSERT INTO app.w (id) VALUES (2)"); err != nil {
					t.Errorf("the source does not take writes after pointing back: %v", err)
				}
			}
		})
	}
}

// failingSwitch refuses to switch until fixed.
type failingSwitch struct {
	router
	fail atomic.Bool
}

func (f *failingSwitch) Switch(ctx context.Context, from, to switcher.Endpoint) error {
	if f.fail.Load() {
		return errors.New("backend unreachable")
	}
	return f.router.Switch(ctx, from, to)
}

func TestRun_FailedSwitchIsAnErrorThatResumeFinishes(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	sw := &failingSwitch{router: router{byAdr: map[string]*sql.DB{p.a.Addr: p.appA, p.b.Addr: p.appB}}}
	sw.cur.Store(p.appA)
	sw.fail.Store(true)
	j := newJournal(t)
	o := cutover.Options{Journal: j, Switch: sw, Reverse: true, GateStable: 100 * time.Millisecond}
	rep, err := cutover.Run(ctx, p.a, p.b, o)
	if err == nil || rep.Outcome != "failed" {
		t.Fatalf("a failed switch must fail the cutover: err=%v outcome=%q", err, rep.Outcome)
	}
	if !sandboxtest.ReadOnly(t, p.a) || sandboxtest.ReadOnly(t, p.b) {
		t.Fatal("past the point of no return the target must be the only writable server")
	}
	sw.fail.Store(false)
	rep, err = cutover.Resume(ctx, p.a, p.b, o)
	if err != nil || rep.Outcome != "completed" || sw.cur.Load() != p.appB || rep.Reverse == nil {
		t.Fatalf("resume after the switch failure: err=%v outcome=%q switched=%v reverse=%v", err, rep.Outcome, sw.cur.Load() == p.appB, rep.Reverse != nil)
	}
}

func TestRun_AccountFenceLeavesAppAbleToLogInOnNewPrimary(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	acct, _ := cutover.ParseAccount("app@%")
	o := cutover.Options{Journal: newJournal(t), Fence: cutover.AccountFence{Accounts: []cutover.Account{acct}}, GateStable: 100 * time.Millisecond}
	if _, err := cutover.Run(ctx, p.a, p.b, o); err != nil {
		t.Fatal(err)
	}
	fresh := sandboxtest.AppConn(t, p.instB) // a new login on the new primary
	if _, err := fresh.DB.Exec("INSERT INTO app.w (id) VALUES (77)"); err != nil {
		t.Fatalf("the application cannot write on the new primary (the lock replicated?): %v", err)
	}
	_, err := dbconn.Open(ctx, dbconn.Spec{Role: "app", DSN: "app@tcp(" + p.instA.Addr() + ")/", Password: sandboxtest.AppPassword}, nil)
	if err == nil {
		t.Error("the application can still log in to the fenced old source")
	}
}

func TestRun_WriteBypassingReadOnlyIsReported(t *testing.T) {
	p := newPair(t)
	// The admin account holds READ ONLY ADMIN: read_only does not stop it.
	write := fmt.Sprintf("mariadb --defaults-extra-file=%s -e 'INSERT INTO app.w (id) VALUES (999)'", p.clientCf[p.instA.Name])
	rep, err := cutover.Run(context.Background(), p.a, p.b, cutover.Options{Journal: newJournal(t), GateStable: 100 * time.Millisecond,
		Hooks: []cutover.Hook{{Phase: cutover.HookAfterSwitch, Command: write}}})
	if err == nil || rep.SourceWritesAfterFinal <= 0 {
		t.Fatalf("a write on the old source after the final coordinates went unreported: err=%v bytes=%d", err, rep.SourceWritesAfterFinal)
	}
}

func TestOpenWrites_RefusedAfterReadOnlyRollback(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	rt := &router{byAdr: map[string]*sql.DB{p.a.Addr: p.appA, p.b.Addr: p.appB}}
	rt.cur.Store(p.appA)
	o := cutover.Options{Journal: newJournal(t), Switch: rt, KeepReadOnly: true, GateStable: 100 * time.Millisecond}
	if _, err := cutover.Run(ctx, p.a, p.b, o); err != nil {
		t.Fatal(err)
	}
	if _, err := cutover.RollbackReadOnly(ctx, p.a, p.b, o); err != nil {
		t.Fatal(err)
	}
	if _, err := cutover.OpenWrites(ctx, p.b, o); err == nil {
		t.Fatal("open-writes after a rollback made a second writable server")
	}
	if sandboxtest.ReadOnly(t, p.a) || !sandboxtest.ReadOnly(t, p.b) {
		t.Error("want only the source writable")
	}
}

func TestRun_FenceOldAfterTheSwitchAndResumeFinishesIt(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	rt := &router{byAdr: map[string]*sql.DB{p.a.Addr: p.appA, p.b.Addr: p.appB}}
	rt.cur.Store(p.appA)
	var calls []bool // whether traffic had been switched at each call
	var fail atomic.Bool
	fail.Store(true)
	o := cutover.Options{Journal: newJournal(t), Switch: rt, GateStable: 100 * time.Millisecond,
		FenceOld: func(context.Context) error {
			calls = append(calls, rt.cur.Load() == p.appB)
			if fail.Load() {
				return errors.New("security group not attached")
			}
			return nil
		}}
	rep, err := cutover.Run(ctx, p.a, p.b, o)
	if err == nil || rep.Outcome != "failed" || !strings.Contains(err.Error(), "not fenced off the network") {
		t.Fatalf("a failed fence of the old source must fail the cutover: err=%v outcome=%q", err, rep.Outcome)
	}
	if !sandboxtest.ReadOnly(t, p.a) {
		t.Fatal("the old source must stay fenced by read_only")
	}
	fail.Store(false)
	rep, err = cutover.Resume(ctx, p.a, p.b, o)
	if err != nil || rep.Outcome != "completed" {
		t.Fatalf("resume: err=%v outcome=%q", err, rep.Outcome)
	}
	if len(calls) != 2 || !calls[0] || !calls[1] {
		t.Fatalf("FenceOld calls (switched at the time): %v, want two, both after the switch", calls)
	}
}

// TestRun_PrivilegedWriterNeverLosesSilently: on MariaDB accounts with
// READ ONLY ADMIN bypass read_only. A misbehaving privileged writer hammers
// the source through the cutover; every write it got acknowledged is on the
// new primary, or the cutover fails and reports the bytes the old source took
// after its final coordinates. Nothing is lost silently.
func TestRun_PrivilegedWriterNeverLosesSilently(t *testing.T) {
	p := newPair(t)
	admin := sandboxtest.Conn(t, p.instA) // READ ONLY ADMIN: read_only does not bind it
	var mu sync.Mutex
	var acked []int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		for id := int64(1000); ; id++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := admin.DB.ExecContext(ctx, "INSERT INTO app.w (id) VALUES (?)", id)
			cancel()
			if err == nil {
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}
	}()
	// The traffic switch is when the application stops writing to the old
	// source: everything it got acknowledged before falls under the
	// protocol's checks.
	sw := &stopOnSwitch{stop: func() { close(stop); <-done }}
	rep, err := cutover.Run(context.Background(), p.a, p.b, cutover.Options{Journal: newJournal(t), GateStable: 100 * time.Millisecond,
		DrainTimeout: 5 * time.Second, KillAfter: 100 * time.Millisecond, Switch: sw})
	if !sw.switched {
		close(stop)
		<-done
	}
	if rep == nil {
		t.Fatalf("cutover: %v", err)
	}
	mu.Lock()
	missing := sandboxtest.MissingIDs(t, p.b.DB, acked)
	mu.Unlock()
	t.Logf("privileged writer: %d acknowledged, %d missing on the new primary; cutover err=%v, source bytes after final=%d, killed blocked commits=%d, killed blockers=%d",
		len(acked), len(missing), err, rep.SourceWritesAfterFinal, rep.KilledBlockedCommits, len(rep.Blockers))
	if len(missing) > 0 && (err == nil || rep.SourceWritesAfterFinal == 0) {
		t.Fatalf("%d acknowledged writes missing on the new primary and the cutover reported success", len(missing))
	}
}

// stopOnSwitch stands for an application that moves to the new primary at
// the switch.
type stopOnSwitch struct {
	stop     func()
	switched bool
}

func (s *stopOnSwitch) Name() string                                                      { return "stop-on-switch" }
func (s *stopOnSwitch) Check(context.Context, switcher.Endpoint, switcher.Endpoint) error { return nil }
func (s *stopOnSwitch) Switch(context.Context, switcher.Endpoint, switcher.Endpoint) error {
	s.stop()
	s.switched = true
	return nil
}

// TestResume_FinishesAResetKilledAfterTheStop: the cutover was killed past
// the point of no return, after it stopped the target's replication and
// before it reset it; meanwhile an account read_only does not bind wrote
// on the fenced source, so the target stopped past the final coordinates.
// The resumed promote finishes the reset (and reports the write) instead of
// refusing for good.
func TestResume_FinishesAResetKilledAfterTheStop(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	exec(t, p.appA, "INSERT INTO app.w (id) VALUES (1)")
	exec(t, p.a.DB, "SET GLOBAL read_only = 1")
	final, err := replication.SourcePosition(ctx, p.a)
	if err != nil {
		t.Fatal(err)
	}
	// What the killed cutover journaled up to the point of no return.
	j := newJournal(t)
	if err := cutover.RecordServers(ctx, j, p.a, p.b, "cutover"); err != nil {
		t.Fatal(err)
	}
	co := map[string]string{"file": final.File, "pos": fmt.Sprint(final.Position), "gtid": final.GTID}
	for _, e := range []struct {
		step, event string
		data        map[string]string
	}{
		{"gate", "done", nil}, {"fence", "start", map[string]string{"kind": "read_only"}}, {"fence", "done", nil}, {"drain", "done", nil},
		{"record", "data", co}, {"catchup", "done", co},
		{"promote", "start", map[string]string{"file": final.File, "pos": fmt.Sprint(final.Position), "gtid": final.GTID, "keep_read_only": "false"}},
	} {
		if err := j.Append(e.step, e.event, e.data); err != nil {
			t.Fatal(err)
		}
	}
	// The admin has READ ONLY ADMIN: its write passes the fence.
	exec(t, p.a.DB, "INSERT INTO app.w (id) VALUES (2)")
	moved, err := replication.SourcePosition(ctx, p.a)
	if err != nil {
		t.Fatal(err)
	}
	if err := replication.WaitExecuted(ctx, p.b, moved, false, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := replication.Stop(ctx, p.b); err != nil {
		t.Fatal(err)
	}
	rep, err := cutover.Resume(ctx, p.a, p.b, cutover.Options{Journal: j})
	if rep == nil || rep.SourceWritesAfterFinal == 0 {
		t.Errorf("the write after the final coordinates is not reported: %+v", rep)
	}
	st, serr := replication.ReadStatus(ctx, p.b)
	if serr != nil || st.Configured || sandboxtest.ReadOnly(t, p.b) {
		t.Fatalf("after the resume (err %v): target replication %+v (%v), read_only=%v; want reset and writable", err, st, serr, sandboxtest.ReadOnly(t, p.b))
	}
}

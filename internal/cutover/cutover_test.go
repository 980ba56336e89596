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

func open(t *testing.T, inst *sandbox.Instance) *dbconn.Conn {
	t.Helper()
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: inst.Name, DSN: inst.DSN(), Password: inst.Password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func exec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// newPair starts two servers, B replicating from A from A's current
// position, with an application account on both.
func newPair(t *testing.T) *pair {
	t.Helper()
	s := sandboxtest.New(t, sandbox.Options{Instances: 2})
	p := &pair{s: s, instA: s.Instances[0], instB: s.Instances[1], clientCf: map[string]string{}}
	p.a, p.b = open(t, p.instA), open(t, p.instB)
	ctx := context.Background()
	pos, err := replication.SourcePosition(ctx, p.a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replication.Setup(ctx, p.a, p.b, replication.SetupOptions{From: pos}); err != nil {
		t.Fatal(err)
	}
	// Created on A, replicated to B: both have the schema and the account.
	exec(t, p.a.DB,
		"CREATE DATABASE app",
		"CREATE TABLE app.w (id BIGINT PRIMARY KEY, at TIMESTAMP(6) DEFAULT NOW(6))",
		"CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret-1'",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'%'",
	)
	if _, err := replication.WaitCaughtUp(ctx, p.a, p.b, replication.WaitOptions{MaxLag: time.Second, Stable: 100 * time.Millisecond, Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	p.appA, p.appB = appDB(t, p.instA), appDB(t, p.instB)
	for _, inst := range s.Instances {
		cf := filepath.Join(t.TempDir(), inst.Name+".cnf")
		os.WriteFile(cf, []byte(fmt.Sprintf("[client]\nuser=%s\npassword=%s\nhost=127.0.0.1\nport=%d\n", inst.AdminUser, inst.Password, inst.Port)), 0o600)
		p.clientCf[inst.Name] = cf
	}
	return p
}

func appDB(t *testing.T, inst *sandbox.Instance) *sql.DB {
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "app", DSN: "app@tcp(" + inst.Addr() + ")/", Password: "app-secret-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.DB
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

func missing(t *testing.T, db *sql.DB, ids []int64) []int64 {
	t.Helper()
	have := map[int64]bool{}
	rows, err := db.Query("SELECT id FROM app.w")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		have[id] = true
	}
	var out []int64
	for _, id := range ids {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

func readOnly(t *testing.T, c *dbconn.Conn) bool {
	t.Helper()
	ro, err := replication.ReadOnly(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return ro
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
		if !readOnly(t, src) || readOnly(t, tgt) {
			t.Fatalf("cutover %d: source read_only=%v target read_only=%v, want exactly the target writable", i, readOnly(t, src), readOnly(t, tgt))
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
		if m := missing(t, c.DB, acked); len(m) > 0 {
			t.Errorf("%s lacks %d acknowledged writes, e.g. %v", c, len(m), m[:min(5, len(m))])
		}
	}
}

func TestRun_AbortsWhenTargetCannotCatchUp(t *testing.T) {
	p := newPair(t)
	ctx := context.Background()
	// The hook delays the target's SQL thread after the gate passed, so
	// the catch-up wait must time out.
	delay := fmt.Sprintf("mariadb --defaults-extra-file=%s -e 'STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=30; START SLAVE'", p.clientCf[p.instB.Name])
	exec(t, p.a.DB, "INSERT INTO app.w (id) VALUES (1)")
	rep, err := cutover.Run(ctx, p.a, p.b, cutover.Options{
		Journal: newJournal(t), CatchupTimeout: time.Second, GateStable: 100 * time.Millisecond,
		Hooks: []cutover.Hook{{Phase: cutover.HookAfterFence, Command: delay + " && mariadb --defaults-extra-file=" + p.clientCf[p.instA.Name] + " -e 'INSERT INTO app.w (id) VALUES (2)'"}},
	})
	if !errors.Is(err, cutover.ErrAborted) || rep.Outcome != "aborted" {
		t.Fatalf("err = %v, outcome %q; want aborted", err, rep.Outcome)
	}
	if readOnly(t, p.a) {
		t.Error("source still fenced after abort")
	}
	if _, err := p.appA.Exec("INSERT INTO app.w (id) VALUES (3)"); err != nil {
		t.Errorf("application cannot write on the source after abort: %v", err)
	}
	st, err := replication.ReadStatus(ctx, p.b)
	if err != nil || !st.Running() || !readOnly(t, p.b) {
		t.Errorf("target after abort: running=%v read_only=%v err=%v", st.Running(), readOnly(t, p.b), err)
	}
}

func TestRun_AbortsWhenReplicationBroken(t *testing.T) {
	p := newPair(t)
	exec(t, p.b.DB, "STOP SLAVE SQL_THREAD")
	rep, err := cutover.Run(context.Background(), p.a, p.b, cutover.Options{Journal: newJournal(t), GateTimeout: 2 * time.Second})
	if !errors.Is(err, cutover.ErrAborted) {
		t.Fatalf("err = %v", err)
	}
	if readOnly(t, p.a) || rep.FenceStart != (time.Time{}) {
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
	if readOnly(t, p.a) {
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
	if n := len(missing(t, p.b.DB, []int64{42})); n != 0 {
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
	if rep.WriteUnavailableMS != nil || !readOnly(t, p.a) || !readOnly(t, p.b) || rt.cur.Load() != p.appB {
		t.Fatalf("keep-read-only: both must be read-only with traffic on the target; report %+v", rep)
	}
	if _, err := cutover.RollbackReadOnly(ctx, p.a, p.b, o); err != nil {
		t.Fatal(err)
	}
	if readOnly(t, p.a) || rt.cur.Load() != p.appA {
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
	if readOnly(t, p.b) || !readOnly(t, p.a) {
		t.Error("open-writes: want only the target writable")
	}
	if m := missing(t, p.b.DB, []int64{7}); len(m) != 0 {
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
			srcRO, tgtRO := readOnly(t, p.a), readOnly(t, p.b)
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

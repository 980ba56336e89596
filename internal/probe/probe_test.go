package probe_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/probe"
	"github.com/dbshift/dbshift/internal/probe/probetest"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// server starts one sandbox server with a probe account that, like an
// application account, has no SUPER (so read_only stops it). It returns the
// probe's pool and a root pool for doing things to the server behind the
// probe's back.
func server(t *testing.T) (app, root *sql.DB) {
	t.Helper()
	ctx := context.Background()
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	inst := s.Instance(1)
	probetest.CreateAccount(t, inst)
	root, err := inst.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return openProbe(t, inst.Addr()), root
}

// openProbe connects as the probe's account to addr (a server or a proxy).
func openProbe(t *testing.T, addr string) *sql.DB {
	t.Helper()
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "probe", DSN: probetest.DSN(addr), Password: probetest.Password, TLS: "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.DB
}

// waitFor polls cond until it holds or 30 s pass: the tests wait on what
// the probe reports, never on the passing of time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// run writes until n writes are acknowledged and stops.
func run(t *testing.T, db *sql.DB, o probe.Options, n int64) probe.Result {
	t.Helper()
	p, err := probe.Start(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "acknowledgements", func() bool { return p.Acked() >= n })
	return p.Stop()
}

func verify(t *testing.T, db *sql.DB, r probe.Result) probe.Report {
	t.Helper()
	rep, err := probe.Verify(context.Background(), db, r)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestProbe_CleanRunLosesNothing(t *testing.T) {
	app, _ := server(t)
	r := run(t, app, probe.Options{Rate: 200}, 200)
	if int64(len(r.Acked)) != r.Sent || r.Sent < 200 {
		t.Fatalf("sent %d, acked %d", r.Sent, len(r.Acked))
	}
	for i, a := range r.Acked {
		if a.Seq != int64(i+1) || a.Attempt != 1 {
			t.Fatalf("ack %d = %+v", i, a)
		}
	}
	rep := verify(t, app, r)
	if !rep.OK() || len(rep.Lost) != 0 || len(rep.Duplicates) != 0 || len(rep.UnknownOutcome) != 0 || len(rep.Errors) != 0 {
		t.Fatalf("clean run report: %+v", rep)
	}
	if rep.RowsPresent != rep.Acked || rep.Attempts != int64(rep.Acked) {
		t.Errorf("rows %d, acked %d, attempts %d", rep.RowsPresent, rep.Acked, rep.Attempts)
	}
	if rep.VerifiedOn != 101 || !slices.Equal(rep.ServersWritten, []uint32{101}) {
		t.Errorf("verified on %d, written by %v", rep.VerifiedOn, rep.ServersWritten)
	}
	// A ticker never runs ahead of the rate; far below it means the pacing
	// is broken, not a slow machine (200/s is little for a local server).
	if rep.AchievedRate > 210 || rep.AchievedRate < 100 {
		t.Errorf("achieved %.1f/s for 200/s asked", rep.AchievedRate)
	}
	if rep.Latency.Count < int64(rep.Acked) || rep.Latency.P50 <= 0 || rep.Latency.Max < rep.Latency.P99 {
		t.Errorf("latency = %+v", rep.Latency)
	}
	// The gap between acks at 200/s is about 5 ms.
	if rep.LongestGap.Duration < 4*time.Millisecond {
		t.Errorf("longest gap %s is shorter than the tick", rep.LongestGap.Duration)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "OK: no acknowledged write lost") || !strings.Contains(text.String(), "lost:        0") {
		t.Errorf("summary:\n%s", text.String())
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"lost":[]`) || strings.Contains(string(b), probetest.Password) {
		t.Errorf("json: %s", b)
	}
}

func TestVerify_DeletedAcknowledgedRowIsLost(t *testing.T) {
	app, root := server(t)
	r := run(t, app, probe.Options{Rate: 500, RunID: "lost"}, 50)
	if _, err := root.Exec("DELETE FROM _dbshift_probe.probe WHERE run_id = 'lost' AND seq = 17"); err != nil {
		t.Fatal(err)
	}
	rep := verify(t, app, r)
	if !slices.Equal(rep.Lost, []int64{17}) || rep.OK() {
		t.Fatalf("lost = %v, OK = %v", rep.Lost, rep.OK())
	}
	var text bytes.Buffer
	_ = rep.WriteText(&text)
	if !strings.Contains(text.String(), "FAILED") || !strings.Contains(text.String(), "lost:        1: 17") {
		t.Errorf("summary:\n%s", text.String())
	}
}

func TestVerify_DuplicateAndUnacknowledgedRows(t *testing.T) {
	app, root := server(t)
	r := run(t, app, probe.Options{Rate: 500, RunID: "dup", Table: "other"}, 50)
	for _, q := range []string{
		// The same write applied twice (what a replica re-executing an
		// event would do).
		"INSERT INTO _dbshift_probe.other (run_id, seq, attempt, client_ts, server_id) SELECT run_id, seq, attempt, client_ts, server_id FROM _dbshift_probe.other WHERE run_id = 'dup' AND seq = 23",
		// A row the client never heard back about.
		"INSERT INTO _dbshift_probe.other (run_id, seq, attempt, client_ts, server_id) VALUES ('dup', 100000, 1, NOW(6), @@server_id)",
		// Another run's rows do not count.
		"INSERT INTO _dbshift_probe.other (run_id, seq, attempt, client_ts, server_id) VALUES ('elsewhere', 23, 1, NOW(6), 1)",
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	rep := verify(t, app, r)
	want := []probe.Duplicate{{Seq: 23, Rows: 2, Attempts: []int{1, 1}, Retried: false}}
	if len(rep.Duplicates) != 1 || rep.Duplicates[0].Seq != want[0].Seq || rep.Duplicates[0].Rows != 2 || rep.Duplicates[0].Retried {
		t.Fatalf("duplicates = %+v, want %+v", rep.Duplicates, want)
	}
	if rep.ServerDuplicates() != 1 || rep.OK() {
		t.Errorf("server duplicates %d, OK %v", rep.ServerDuplicates(), rep.OK())
	}
	if !slices.Equal(rep.UnknownOutcome, []int64{100000}) || len(rep.Lost) != 0 {
		t.Errorf("unknown outcome %v, lost %v", rep.UnknownOutcome, rep.Lost)
	}
}

func TestProbe_ReadOnlyMidRunErrorsAndGapButNoLoss(t *testing.T) {
	app, root := server(t)
	p, err := probe.Start(context.Background(), app, probe.Options{Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "writes before the fence", func() bool { return p.Acked() >= 50 })
	if _, err := root.Exec("SET GLOBAL read_only = 1"); err != nil {
		t.Fatal(err)
	}
	fenced := time.Now()
	waitFor(t, "read-only errors", func() bool { return p.Errors() >= 5 })
	ackedWhileFenced := p.Acked()
	unfence := time.Now()
	if _, err := root.Exec("SET GLOBAL read_only = 0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "writes after the fence", func() bool { return p.Acked() >= ackedWhileFenced+50 })
	r := p.Stop()
	rep := verify(t, app, r)
	if len(rep.Lost) != 0 || len(rep.Duplicates) != 0 || !rep.OK() {
		t.Fatalf("lost %v, duplicates %+v", rep.Lost, rep.Duplicates)
	}
	if len(rep.Errors) != 1 || rep.Errors[0].Number != 1290 || rep.Errors[0].Kind != "read-only" || rep.Errors[0].Count < 5 {
		t.Fatalf("errors = %+v", rep.Errors)
	}
	// No write can be acknowledged between the fence taking effect and its
	// lifting, so the longest gap spans at least that window.
	if min := unfence.Sub(fenced); rep.LongestGap.Duration < min {
		t.Errorf("longest gap %s shorter than the read-only window %s", rep.LongestGap.Duration, min)
	}
	if rep.Attempts <= int64(rep.Acked) {
		t.Errorf("attempts %d for %d acks: the retries are not counted", rep.Attempts, rep.Acked)
	}
	// The write refused during the fence was retried under the same seq and
	// acknowledged once.
	var retried *probe.Ack
	for i, a := range r.Acked {
		if a.Attempt > 1 {
			retried = &r.Acked[i]
			break
		}
	}
	if retried == nil || retried.Seq != rep.LongestGap.BeforeSeq {
		t.Errorf("first retried ack %+v, gap %+v", retried, rep.LongestGap)
	}
	if int64(rep.Acked) != rep.Sent || rep.RowsPresent != rep.Acked {
		t.Errorf("sent %d, acked %d, rows %d", rep.Sent, rep.Acked, rep.RowsPresent)
	}
}

func TestStart_BadOptions(t *testing.T) {
	for _, o := range []probe.Options{{Rate: 0}, {Rate: -1}, {Rate: 1, RunID: strings.Repeat("x", 65)}} {
		if _, err := probe.Start(context.Background(), nil, o); err == nil {
			t.Errorf("Start(%+v) accepted", o)
		}
	}
}

package probe_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/probe"
	"github.com/dbshift/dbshift/internal/probe/probetest"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
	"github.com/dbshift/dbshift/internal/switcher"
	"github.com/dbshift/dbshift/internal/switcher/haproxy"
)

// The runbook in miniature: an application (the probe) writes through
// HAProxy to db1, db2 replicates from db1; fence db1, wait until db2 has
// executed db1's final coordinates, promote db2, switch HAProxy. Nothing the
// probe saw acknowledged may be missing on db2.
func TestScenario_SwitchThroughHAProxyUnderLoadLosesNothing(t *testing.T) {
	ctx := context.Background()
	s := sandboxtest.New(t, sandbox.Options{Instances: 2})
	var admins []*dbconn.Conn
	var eps []switcher.Endpoint
	// The application account exists on both servers before replication
	// starts, as it would on a clone.
	probetest.CreateAccount(t, s.Instances...)
	for _, inst := range s.Instances {
		c, err := dbconn.Open(ctx, dbconn.Spec{Role: inst.Name, DSN: inst.DSN(), Password: inst.Password}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		admins = append(admins, c)
		eps = append(eps, switcher.Endpoint{Name: inst.Name, Addr: inst.Addr()})
	}
	src, tgt := admins[0], admins[1]
	from, err := replication.SourcePosition(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replication.Setup(ctx, src, tgt, replication.SetupOptions{From: from}); err != nil {
		t.Fatalf("replication setup: %v", err)
	}

	hp := startHAProxy(t, eps)
	sw := hp.Switcher()
	app := openProbe(t, hp.Addr())

	p, err := probe.Start(ctx, app, probe.Options{Rate: 500, RunID: "scenario"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "writes through haproxy to db1", func() bool { return p.Acked() >= 300 })

	if err := sw.Check(ctx, eps[0], eps[1]); err != nil {
		t.Fatal(err)
	}
	fence := time.Now()
	if err := replication.SetReadOnly(ctx, src, true); err != nil {
		t.Fatal(err)
	}
	fenced := time.Now()
	final, err := replication.SourcePosition(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := replication.WaitExecuted(ctx, tgt, final, false, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := replication.Reset(ctx, tgt); err != nil {
		t.Fatal(err)
	}
	if err := replication.SetReadOnly(ctx, tgt, false); err != nil {
		t.Fatal(err)
	}
	writable := time.Now()
	if err := sw.Switch(ctx, eps[0], eps[1]); err != nil {
		t.Fatal(err)
	}
	switched := time.Now()
	afterSwitch := p.Acked()
	waitFor(t, "writes through haproxy to db2", func() bool { return p.Acked() >= afterSwitch+300 })
	r := p.Stop()

	rep := verify(t, openProbe(t, eps[1].Addr), r)
	around := r.GapAround(fenced)
	t.Logf("write-unavailable %s, client-visible (fence -> switch done) %s, probe gap across the fence %s (longest anywhere %.1f ms), errors %+v",
		writable.Sub(fence).Round(time.Millisecond), switched.Sub(fence).Round(time.Millisecond), around.Duration.Round(time.Millisecond), rep.LongestGapMs, rep.Errors)
	if !rep.OK() || len(rep.Lost) != 0 || len(rep.Duplicates) != 0 {
		t.Fatalf("lost %v, duplicates %+v", rep.Lost, rep.Duplicates)
	}
	if rep.VerifiedOn != 102 || !slices.Equal(rep.ServersWritten, []uint32{101, 102}) {
		t.Fatalf("verified on %d, rows written by %v: want both servers to have taken writes, in turn", rep.VerifiedOn, rep.ServersWritten)
	}
	// Between db1's fence taking effect and db2 opening, neither server
	// takes writes: no write sent in that window may be acknowledged in it.
	// (An INSERT db1 committed just before the fence can have its answer
	// read a moment after SET GLOBAL returned to the other connection.)
	for _, a := range r.Acked {
		sentBeforeFence := a.Attempt == 1 && a.At.Add(-a.Latency).Before(fenced)
		if a.At.After(fenced) && a.At.Before(writable) && !sentBeforeFence {
			t.Errorf("seq %d acknowledged at %s, inside the window where both servers were read-only (%s .. %s)",
				a.Seq, a.At.Format("15:04:05.000000"), fenced.Format("15:04:05.000000"), writable.Format("15:04:05.000000"))
		}
	}
	if len(rep.Errors) == 0 {
		t.Error("the probe saw no error across a fence and a switch")
	}
}

// With every server in maintenance, haproxy accepts and closes: the probe
// must count connect failures (nothing sent, so no unknown outcome) and
// resume on the same seq once a server is back.
func TestProbe_NoServerBehindProxyThenBack(t *testing.T) {
	ctx := context.Background()
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	probetest.CreateAccount(t, s.Instances...)
	ep := switcher.Endpoint{Name: "db1", Addr: s.Instance(1).Addr()}
	hp := startHAProxy(t, []switcher.Endpoint{ep})
	sw := hp.Switcher()
	app := openProbe(t, hp.Addr())
	p, err := probe.Start(ctx, app, probe.Options{Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "writes", func() bool { return p.Acked() >= 50 })
	servers, err := sw.Servers(ctx)
	if err != nil || len(servers) != 1 {
		t.Fatalf("servers %+v, %v", servers, err)
	}
	if err := sw.SetState(ctx, servers[0].Name, "maint"); err != nil {
		t.Fatal(err)
	}
	// Maintenance alone keeps the probe's session; shut it.
	if err := sw.ShutdownSessions(ctx, servers[0].Name); err != nil {
		t.Fatal(err)
	}
	shut := time.Now()
	waitFor(t, "connect failures", func() bool { return p.Errors() >= 5 })
	if err := sw.SetState(ctx, servers[0].Name, "ready"); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	acked := p.Acked()
	waitFor(t, "writes after the outage", func() bool { return p.Acked() >= acked+50 })
	r := p.Stop()
	rep := verify(t, app, r)
	if !rep.OK() || len(rep.Lost) != 0 {
		t.Fatalf("lost %v, duplicates %+v", rep.Lost, rep.Duplicates)
	}
	t.Logf("errors %+v, unknown outcome %v", rep.Errors, r.UnknownOutcome)
	var connectFailed int
	for _, e := range rep.Errors {
		if e.Kind == "connect failed" {
			connectFailed = e.Count
		}
	}
	if connectFailed < 1 {
		t.Fatalf("errors %+v: no connect failure counted", rep.Errors)
	}
	// A row without an ack is only acceptable for a seq whose outcome the
	// client knew it could not know.
	for _, seq := range rep.UnknownOutcome {
		if !slices.Contains(r.UnknownOutcome, seq) {
			t.Errorf("seq %d present but never acknowledged, and the probe thought it knew its outcome", seq)
		}
	}
	if rep.LongestGap.Duration < back.Sub(shut) {
		t.Errorf("longest gap %s shorter than the outage %s", rep.LongestGap.Duration, back.Sub(shut))
	}
}

func startHAProxy(t *testing.T, eps []switcher.Endpoint) *haproxy.Local {
	t.Helper()
	hp, err := haproxy.StartLocal(context.Background(), t.TempDir(), 0, eps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hp.Stop() })
	return hp
}

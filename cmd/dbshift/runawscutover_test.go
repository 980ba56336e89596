package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// TestRunAWS_CutoverKilledThenResumed kills dbshift inside runbook 1's
// cutover on RDS: after the source was fenced (through its parameter
// group), resume backs out and the source takes writes again; at the point
// of no return, resume goes forward and finishes: target open, old source
// fenced, the same data on both.
func TestRunAWS_CutoverKilledThenResumed(t *testing.T) {
	src, sc := rdsSource(t)
	w := newRDSWorld(t, src, sc, "prod-pg")
	w.fake.AddParameterGroup("prod-target-pg", "mariadb10.11", nil)
	specPath := w.spec(t, false, ", parameter_group: prod-target-pg", `cutover: {mode: manual, catchup_timeout: 30s}`)
	state := filepath.Join(t.TempDir(), "state")
	code, out, errs := w.cli(t, "run", "-f", specPath, "--state", state, "--yes")
	if code != 0 || !strings.Contains(out, "target in sync") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	writer := startAppWriter(sandboxtest.Conn(t, src).DB, 5*time.Millisecond)
	cj := filepath.Join(state, "cutover", "cutover.journal")
	if !killAt(t, w.env, cj, "fence", "done", "cutover", "--state", state, "--yes") {
		t.Fatal("the cutover finished before the kill")
	}
	if !sandboxtest.ReadOnly(t, sc) {
		t.Fatal("the source is not fenced at the kill")
	}
	code, out, errs = w.cli(t, "cutover", "--state", state, "--resume", "--yes")
	if code == 0 || sandboxtest.ReadOnly(t, sc) {
		t.Fatalf("resume before the point of no return: exit %d, source read_only=%v; want backed out (exit 1), source writable\n%s\n%s", code, sandboxtest.ReadOnly(t, sc), out, errs)
	}
	if v, _ := w.fake.ParameterValue("prod-pg", "read_only"); v != "0" {
		t.Errorf("source parameter group read_only=%q after backing out, want 0", v)
	}

	if !killAt(t, w.env, cj, "promote", "start", "cutover", "--state", state, "--yes") {
		t.Fatal("the cutover finished before the kill")
	}
	writer.halt()
	code, out, errs = w.cli(t, "cutover", "--state", state, "--resume", "--yes")
	if code != 0 || !strings.Contains(out, "past the point of no return") {
		t.Fatalf("resume past the point of no return: exit %d, want it finished going forward\n%s\n%s", code, out, errs)
	}
	tc := w.member(t, "prod-encrypted")
	if sandboxtest.ReadOnly(t, tc) || !sandboxtest.ReadOnly(t, sc) {
		t.Errorf("after the resumed cutover: target read_only=%v, old source read_only=%v; want target writable only", sandboxtest.ReadOnly(t, tc), sandboxtest.ReadOnly(t, sc))
	}
	if s, tg := checksums(t, sc.DB), checksums(t, tc.DB); len(s) == 0 || fmt.Sprint(s) != fmt.Sprint(tg) {
		t.Errorf("checksums differ: source %v target %v", s, tg)
	}
	prod, _ := w.fake.Instance("prod")
	if len(prod.SecurityGroups) != 1 {
		t.Errorf("old source's security groups %v, want only the run's deny-all fence", prod.SecurityGroups)
	}
}

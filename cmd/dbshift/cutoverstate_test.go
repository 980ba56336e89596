package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// TestCutover_ForeignJournalIsRefusedWithExit2 walks the audit's attack
// through the CLI: a read-only cutover db1 -> db2 in the default state
// directory (one per pair, printed), then open-writes naming db1 and a
// rollback with the roles swapped on that journal. Both exit 2 naming the
// servers and change nothing; the journal's own target then opens.
func TestCutover_ForeignJournalIsRefusedWithExit2(t *testing.T) {
	s := sandboxtest.ReplicatingPair(t, sandbox.Options{})
	db1, db2 := s.Instances[0], s.Instances[1]
	c1, c2 := sandboxtest.Conn(t, db1), sandboxtest.Conn(t, db2)
	xdg := t.TempDir()
	t.Setenv("XDG_STATE_HOME", xdg)
	env := map[string]string{"DBSHIFT_SOURCE_PASSWORD": db1.Password, "DBSHIFT_TARGET_PASSWORD": db2.Password}

	code, out, errOut := runCLI(t, env, "cutover", "--source", db1.DSN(), "--target", db2.DSN(), "--keep-read-only", "--yes")
	if code != 0 {
		t.Fatalf("cutover: exit %d\n%s\n%s", code, out, errOut)
	}
	matches, _ := filepath.Glob(filepath.Join(xdg, "dbshift", "*", "cutover.journal"))
	if len(matches) != 1 || !strings.Contains(errOut, filepath.Dir(matches[0])) {
		t.Fatalf("default state dir: journals %v, stderr %q; want one, named at start", matches, errOut)
	}
	state := filepath.Dir(matches[0])

	swapped := map[string]string{"DBSHIFT_SOURCE_PASSWORD": db2.Password, "DBSHIFT_TARGET_PASSWORD": db1.Password}
	for _, args := range [][]string{
		{"cutover", "open-writes", "--target", db1.DSN(), "--state", state, "--yes"},
		{"rollback", "--source", db2.DSN(), "--target", db1.DSN(), "--state", state, "--yes"},
		{"cutover", "--source", db2.DSN(), "--target", db1.DSN(), "--state", state, "--resume", "--yes"},
	} {
		code, out, errOut := runCLI(t, swapped, args...)
		if code != 2 || !strings.Contains(errOut, db1.Addr()) || !strings.Contains(errOut, db2.Addr()) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming both servers\n%s", strings.Join(args[:2], " "), code, errOut, out)
		}
		if !sandboxtest.ReadOnly(t, c1) || !sandboxtest.ReadOnly(t, c2) {
			t.Fatalf("%s on the wrong servers changed read_only: db1=%v db2=%v", strings.Join(args[:2], " "), sandboxtest.ReadOnly(t, c1), sandboxtest.ReadOnly(t, c2))
		}
	}

	// open-writes finds the pair's directory by the target alone.
	code, out, errOut = runCLI(t, env, "cutover", "open-writes", "--target", db2.DSN(), "--yes")
	if code != 0 || sandboxtest.ReadOnly(t, c2) || !sandboxtest.ReadOnly(t, c1) {
		t.Fatalf("open-writes on the journal's target: exit %d, db2 read_only=%v\n%s\n%s", code, sandboxtest.ReadOnly(t, c2), out, errOut)
	}
}

// TestCutover_NoJournalIsUsageNotANewJournal: open-writes and rollback on
// a directory without a cutover exit 2 saying so, and create nothing.
func TestCutover_NoJournalIsUsageNotANewJournal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "none")
	for _, args := range [][]string{
		{"cutover", "open-writes", "--target", "u@tcp(127.0.0.1:1)/", "--state", dir, "--yes"},
		{"rollback", "--source", "u@tcp(127.0.0.1:1)/", "--target", "u@tcp(127.0.0.1:2)/", "--state", dir, "--yes"},
		{"cutover", "--source", "u@tcp(127.0.0.1:1)/", "--target", "u@tcp(127.0.0.1:2)/", "--state", dir, "--resume", "--yes"},
	} {
		code, _, errOut := runCLI(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, "no cutover") {
			t.Errorf("%s: exit %d, stderr %q; want 2 saying there is no cutover", strings.Join(args[:2], " "), code, errOut)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("a state directory was created by a command that found no cutover")
	}
}

// TestCutover_ZeroOrNegativeDurationsAreUsage: a bound of 0 or less on a
// wait with the source fenced is refused before anything is opened.
func TestCutover_ZeroOrNegativeDurationsAreUsage(t *testing.T) {
	for _, flag := range []string{"--catchup-timeout=0", "--catchup-timeout=-1s", "--drain-timeout=0", "--fence-timeout=-5s", "--max-lag=0", "--kill-after=-1s"} {
		code, _, errOut := runCLI(t, nil, "cutover", "--source", "u@tcp(127.0.0.1:1)/", "--target", "u@tcp(127.0.0.1:2)/", flag, "--yes", "--state", t.TempDir())
		name, _, _ := strings.Cut(flag, "=")
		if code != 2 || !strings.Contains(errOut, name) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming the flag", flag, code, errOut)
		}
	}
}

// TestCutover_AdoptJournalOfAnOlderDbshift: a journal that names no servers
// (an older dbshift's, killed after its fence) is refused by --resume
// (exit 2, the source stays fenced), and --adopt-journal takes the servers
// given as its own and backs out.
func TestCutover_AdoptJournalOfAnOlderDbshift(t *testing.T) {
	s := sandboxtest.ReplicatingPair(t, sandbox.Options{})
	db1, db2 := s.Instances[0], s.Instances[1]
	c1 := sandboxtest.Conn(t, db1)
	state := t.TempDir()
	old := `{"time":"2026-12-01T10:00:00Z","step":"gate","event":"done"}
{"time":"2026-12-01T10:00:01Z","step":"fence","event":"start","data":{"kind":"read_only"}}
`
	if err := os.WriteFile(filepath.Join(state, "cutover.journal"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.DB.Exec("SET GLOBAL read_only = 1"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DBSHIFT_SOURCE_PASSWORD": db1.Password, "DBSHIFT_TARGET_PASSWORD": db2.Password}
	args := []string{"cutover", "--source", db1.DSN(), "--target", db2.DSN(), "--state", state, "--resume", "--yes"}
	if code, _, errOut := runCLI(t, env, args...); code != 2 || !strings.Contains(errOut, "names no server") || !sandboxtest.ReadOnly(t, c1) {
		t.Fatalf("resume of a journal naming no servers: exit %d, source read_only=%v: %s", code, sandboxtest.ReadOnly(t, c1), errOut)
	}
	code, out, errOut := runCLI(t, env, append(args, "--adopt-journal")...)
	if code != 1 || sandboxtest.ReadOnly(t, c1) {
		t.Fatalf("--adopt-journal: exit %d (want 1, backed out), source read_only=%v\n%s\n%s", code, sandboxtest.ReadOnly(t, c1), out, errOut)
	}
}

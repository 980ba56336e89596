package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

func TestSandboxUp_FlavorMySQL(t *testing.T) {
	sandboxtest.RequireMySQL(t)
	dir := t.TempDir()
	t.Cleanup(func() { runCLI(t, nil, "sandbox", "down", "--dir", dir) })
	code, out, errs := runCLI(t, nil, "sandbox", "up", "--flavor", "mysql", "--instances", "1", "--dir", dir)
	if code != 0 {
		t.Fatalf("sandbox up --flavor mysql: exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(out, "db1 up") || !strings.Contains(out, " mysql") {
		t.Errorf("output does not show a running mysql db1:\n%s", out)
	}
	code, out, errs = runCLI(t, nil, "sandbox", "status", "--dir", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("sandbox status: exit %d: %s", code, errs)
	}
	var st []sandbox.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, out)
	}
	if len(st) != 1 || st[0].Flavor != "mysql" || !st[0].Running {
		t.Errorf("status = %+v, want one running mysql instance", st)
	}
	// The flavor is the sandbox's: another flavor on the same directory is refused.
	if code, _, errs := runCLI(t, nil, "sandbox", "up", "--flavor", "mariadb", "--instances", "1", "--dir", dir); code == 0 || !strings.Contains(errs, "mysql") {
		t.Errorf("sandbox up --flavor mariadb on a mysql sandbox: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, nil, "sandbox", "up", "--flavor", "oracle", "--dir", t.TempDir()); code != 2 {
		t.Errorf("--flavor oracle: exit %d, want 2: %s", code, errs)
	}
}

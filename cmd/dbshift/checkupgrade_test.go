package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

func TestCheckUpgrade_ExitCodesAndReport(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	inst := s.Instances[0]
	ctx := context.Background()
	root, err := inst.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	mustExec := func(q string) {
		t.Helper()
		if _, err := root.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// MariaDB's default sql_mode holds NO_AUTO_CREATE_USER, an error for 8.0.
	mustExec("SET GLOBAL sql_mode = 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'")
	mustExec("CREATE DATABASE shop CHARACTER SET utf8mb4")
	mustExec("CREATE TABLE shop.orders (id INT PRIMARY KEY, placed DATE)")
	env := map[string]string{"DBSHIFT_SOURCE_PASSWORD": inst.Password}
	args := []string{"check-upgrade", "--source", inst.DSN(), "--target-version", "8.0", "--schemas", "shop"}

	code, out, errOut := runCLI(t, env, args...)
	if code != 0 || !strings.Contains(out, "Summary: 0 error(s)") {
		t.Fatalf("clean source: exit %d, want 0\n%s\n%s", code, out, errOut)
	}

	mustExec("CREATE TABLE shop.`rank` (id INT PRIMARY KEY)")
	mustExec("CREATE VIEW shop.v AS SELECT PASSWORD('x') AS p")
	code, out, errOut = runCLI(t, env, append(args, "--format", "json")...)
	if code != 1 {
		t.Fatalf("removed function in a view: exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	var rep struct {
		Source        map[string]any `json:"source"`
		TargetVersion string         `json:"target_version"`
		Findings      []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, out)
	}
	if rep.TargetVersion != "8.0" || rep.Source["version"] == nil {
		t.Errorf("report header %+v %q", rep.Source, rep.TargetVersion)
	}
	found := map[string]string{}
	for _, f := range rep.Findings {
		for _, k := range []string{"check", "severity", "count", "message", "fix"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding lacks %q: %v", k, f)
			}
		}
		obj, _ := f["object"].(string)
		found[f["check"].(string)+" "+obj] = f["severity"].(string)
	}
	if found["removed-functions shop.v"] != "error" || found["reserved-keywords shop.rank"] != "warning" {
		t.Errorf("findings %v", found)
	}

	code, out, _ = runCLI(t, env, args...)
	if code != 1 || !strings.Contains(out, "[ERROR] removed-functions") || !strings.Contains(out, "shop.v: view calls PASSWORD()") {
		t.Errorf("text report: exit %d\n%s", code, out)
	}
}

func TestCheckUpgrade_UsageErrors(t *testing.T) {
	cases := [][]string{
		{"check-upgrade", "--target-version", "8.0"},
		{"check-upgrade", "--source", "u@tcp(127.0.0.1:1)/", "--target-version", "9.0"},
		{"check-upgrade", "--source", "u@tcp(127.0.0.1:1)/", "--target-version", "8.0"},
	}
	for _, args := range cases {
		if code, _, errOut := runCLI(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut)
		}
	}
	code, out, _ := runCLI(t, nil, "check-upgrade", "--list")
	if code != 0 || !strings.Contains(out, "query-invalid-date") || !strings.Contains(out, "Fix:") {
		t.Errorf("--list: exit %d\n%s", code, out)
	}
}

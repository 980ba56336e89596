package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
	"github.com/dbshift/dbshift/internal/testutil"
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

	if code, _, errOut := runCLI(t, env, "check-upgrade", "--source", inst.DSN(), "--target-version", "8.0", "--schemas", "shop,nosuch"); code != 2 || !strings.Contains(errOut, `"nosuch"`) {
		t.Errorf("unknown schema: exit %d, want 2 (%s)", code, errOut)
	}
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

	// The application's queries, from a MySQL 5.7 general log.
	logPath := filepath.Join(t.TempDir(), "general.log")
	logText := "/usr/sbin/mysqld, Version: 5.7.44-log (MySQL Community Server (GPL)). started with:\n" +
		"Tcp port: 3306  Unix socket: /var/run/mysqld/mysqld.sock\n" +
		"Time                 Id Command    Argument\n" +
		"2024-05-01T10:00:00.000000Z\t   12 Connect\tapp@10.0.0.1 on shop using TCP/IP\n" +
		"2024-05-01T10:00:00.100000Z\t   12 Query\tSELECT * FROM orders WHERE placed < '9999-99-99'\n" +
		"2024-05-01T10:00:00.150000Z\t   12 Query\tSELECT * FROM orders WHERE placed < '10000-01-01'\n" +
		"2024-05-01T10:00:00.200000Z\t   12 Query\tSELECT id FROM orders WHERE placed = '2024-02-29'\n" +
		"2024-05-01T10:00:00.300000Z\t   12 Query\tSET sql_mode = 'NO_AUTO_CREATE_USER'\n" +
		"2024-05-01T10:00:00.400000Z\t   12 Query\tSELECT `rank`.id FROM `rank`\n" +
		"2024-05-01T10:00:00.450000Z\t   12 Query\tSELECT id FROM orders WHERE PASSWORD('s3cret-pw') = 'x'\n" +
		"2024-05-01T10:00:00.500000Z\t   12 Quit\t\n"
	if err := os.WriteFile(logPath, []byte(logText), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, env, append(args, "--format", "json", "--query-log", logPath)...)
	if code != 1 {
		t.Fatalf("query log: exit %d\n%s", code, errOut)
	}
	var withLog struct {
		QueryLog struct {
			Queries int `json:"queries"`
		} `json:"query_log"`
		Findings []struct {
			Check, Object, Query, Severity string
			Count                          int
		}
	}
	if err := json.Unmarshal([]byte(out), &withLog); err != nil {
		t.Fatal(err)
	}
	if withLog.QueryLog.Queries != 6 {
		t.Errorf("queries read %d, want 6", withLog.QueryLog.Queries)
	}
	textCode, text, _ := runCLI(t, env, append(args, "--query-log", logPath)...)
	if textCode != 1 || !strings.Contains(text, "PASSWORD(") || strings.Contains(out+text, "s3cret-pw") {
		t.Errorf("a logged password is printed, or the statement is not (exit %d):\n%s\n%s", textCode, out, text)
	}
	var dates, modes, words int
	for _, f := range withLog.Findings {
		switch f.Check {
		case "query-invalid-date":
			dates += f.Count
			if f.Object != "shop.orders.placed (DATE)" || !strings.Contains(f.Query, "9999-99-99") || f.Severity != "error" {
				t.Errorf("invalid date finding %+v", f)
			}
		case "query-session-sql-mode":
			modes += f.Count
		case "query-reserved-word":
			words++
		}
	}
	if dates != 2 || modes != 1 || words != 0 {
		t.Errorf("query findings: %d invalid dates (want 2), %d sql_mode sets (want 1), %d reserved words (want 0, it is quoted)", dates, modes, words)
	}
}

func TestCheckUpgrade_SharedLogs(t *testing.T) {
	dir := testutil.SharedTestdata(t, "querylogs")
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	inst := s.Instances[0]
	env := map[string]string{"DBSHIFT_SOURCE_PASSWORD": inst.Password}
	logs, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no logs in %s: %v", dir, err)
	}
	args := []string{"check-upgrade", "--source", inst.DSN(), "--target-version", "8.0", "--format", "json"}
	for _, l := range logs {
		if strings.HasSuffix(l, ".log") || strings.HasSuffix(l, ".txt") {
			args = append(args, "--query-log", l)
		}
	}
	code, out, errOut := runCLI(t, env, args...)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		QueryLog struct {
			Queries, Unparsable int
		} `json:"query_log"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.QueryLog.Queries < 20 {
		t.Errorf("read %d statements from %d logs", rep.QueryLog.Queries, len(args)/2)
	}
	t.Logf("%d statements, %d unparsable", rep.QueryLog.Queries, rep.QueryLog.Unparsable)
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

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// badInput is one command given one kind of bad input, and the exit code a
// DBA should get: 2 for bad usage or a server that cannot be reached or
// logged in to, 1 for input that was read but held nothing to work on.
type badInput struct {
	cmd   string
	input string
	args  []string
	env   map[string]string
	want  int
}

// TestBadInput_EveryCommand runs every subcommand with each kind of bad
// input against a real server and asserts the exit code, a one-line error
// naming what failed, and that nothing panicked. With
// DBSHIFT_BADINPUT_DOC=FILE it writes what it saw as the table in
// docs/bad-input.md.
func TestBadInput_EveryCommand(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{})
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	live := s.Instances[0]
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	garbage := filepath.Join(dir, "garbage")
	missing := filepath.Join(dir, "missing")
	os.WriteFile(empty, nil, 0o600)
	os.WriteFile(garbage, []byte("\x00\x01not a log\n\xff\xfe}{: [\n"), 0o600)
	logFile := filepath.Join(dir, "general.log")
	os.WriteFile(logFile, []byte("241204 10:00:00\t    5 Connect\tapp@localhost on mysql using TCP/IP\n\t\t    5 Query\tSELECT 1\n"), 0o600)
	const malformed = "user@tcp(127.0.0.1:notaport"
	const closed = "u@tcp(127.0.0.1:1)/"
	wrongPW := map[string]string{"DBSHIFT_SOURCE_PASSWORD": "wrong", "DBSHIFT_TARGET_PASSWORD": "wrong", "DBSHIFT_REPLICA_PASSWORD": "wrong", "DBSHIFT_PASSWORD": "wrong"}
	spec := func(body string) string {
		p := filepath.Join(t.TempDir(), "spec.yaml")
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}

	// Commands that take server DSNs: flags naming each server.
	servers := []struct {
		cmd   string
		flags []string // DSN flags, filled in order
		rest  []string
		env   string // password variable of the role
	}{
		{"preflight", []string{"--source"}, nil, "DBSHIFT_SOURCE_PASSWORD"},
		{"position", []string{"--replica"}, nil, "DBSHIFT_REPLICA_PASSWORD"},
		{"replicate start", []string{"--source", "--target"}, []string{"--from", "mysql-bin.000001:4", "--yes"}, "DBSHIFT_SOURCE_PASSWORD"},
		{"replicate status", []string{"--target"}, nil, "DBSHIFT_TARGET_PASSWORD"},
		{"replicate wait", []string{"--target", "--source"}, []string{"--timeout", "5s"}, "DBSHIFT_TARGET_PASSWORD"},
		{"replicate stop", []string{"--target"}, []string{"--yes"}, "DBSHIFT_TARGET_PASSWORD"},
		{"replicate reset", []string{"--target"}, []string{"--yes"}, "DBSHIFT_TARGET_PASSWORD"},
		{"cutover", []string{"--source", "--target"}, []string{"--yes", "--state", filepath.Join(dir, "c")}, "DBSHIFT_SOURCE_PASSWORD"},
		{"check-upgrade", []string{"--source"}, []string{"--target-version", "8.0"}, "DBSHIFT_SOURCE_PASSWORD"},
		{"bufferpool resize", []string{"--dsn"}, []string{"--to", "256M", "--yes"}, "DBSHIFT_PASSWORD"},
		{"probe", []string{"--dsn"}, []string{"--duration", "1s"}, "DBSHIFT_PASSWORD"},
		{"replay", []string{"--target"}, []string{"--log", logFile}, "DBSHIFT_TARGET_PASSWORD"},
	}
	var cases []badInput
	for _, c := range servers {
		with := func(dsn string) []string {
			args := strings.Fields(c.cmd)
			for _, f := range c.flags {
				args = append(args, f, dsn)
			}
			return append(args, c.rest...)
		}
		cases = append(cases,
			badInput{c.cmd, "no flags", strings.Fields(c.cmd), nil, 2},
			badInput{c.cmd, "malformed DSN", with(malformed), nil, 2},
			badInput{c.cmd, "closed port", with(closed), nil, 2},
			badInput{c.cmd, "wrong password", with(live.DSN()), wrongPW, 2},
		)
		pwFlag := strings.TrimPrefix(c.flags[0], "--") + "-password-file"
		if c.flags[0] == "--dsn" {
			pwFlag = "password-file"
		}
		cases = append(cases, badInput{c.cmd, "missing password file", append(with(live.DSN()), "--"+pwFlag, missing), nil, 2})
	}
	cases = append(cases,
		// Durations that bound a wait while the source is fenced.
		badInput{"cutover", "--catchup-timeout 0", []string{"cutover", "--source", closed, "--target", closed, "--catchup-timeout", "0", "--yes"}, nil, 2},
		badInput{"cutover", "--drain-timeout -1s", []string{"cutover", "--source", closed, "--target", closed, "--drain-timeout=-1s", "--yes"}, nil, 2},
		badInput{"rollback", "--fence-timeout 0", []string{"rollback", "--source", closed, "--target", closed, "--fence-timeout", "0", "--yes"}, nil, 2},
		badInput{"cutover open-writes", "no cutover in --state", []string{"cutover", "open-writes", "--target", closed, "--state", missing, "--yes"}, nil, 2},
		badInput{"rollback", "no cutover in --state", []string{"rollback", "--source", closed, "--target", closed, "--state", missing, "--yes"}, nil, 2},
		badInput{"cutover", "--resume, no cutover in --state", []string{"cutover", "--source", closed, "--target", closed, "--state", missing, "--resume"}, nil, 2},
		// Files.
		badInput{"querylog extract", "missing log", []string{"querylog", "extract", "--log", missing}, nil, 2},
		badInput{"querylog extract", "log is a directory", []string{"querylog", "extract", "--log", dir}, nil, 2},
		badInput{"querylog extract", "empty log", []string{"querylog", "extract", "--log", empty}, nil, 1},
		badInput{"querylog extract", "garbage log", []string{"querylog", "extract", "--log", garbage}, nil, 1},
		badInput{"replay", "missing log", []string{"replay", "--target", live.DSN(), "--log", missing}, nil, 2},
		badInput{"replay", "empty log", []string{"replay", "--target", live.DSN(), "--log", empty}, map[string]string{"DBSHIFT_TARGET_PASSWORD": live.Password}, 1},
		badInput{"replay", "garbage log", []string{"replay", "--target", live.DSN(), "--log", garbage}, map[string]string{"DBSHIFT_TARGET_PASSWORD": live.Password}, 1},
		badInput{"replay", "--concurrency 0", []string{"replay", "--target", live.DSN(), "--log", logFile, "--concurrency", "0"}, map[string]string{"DBSHIFT_TARGET_PASSWORD": live.Password}, 2},
		badInput{"replay", "--concurrency above max_connections", []string{"replay", "--target", live.DSN(), "--log", logFile, "--concurrency", "100000"}, map[string]string{"DBSHIFT_TARGET_PASSWORD": live.Password}, 2},
		badInput{"check-upgrade", "missing --query-log", []string{"check-upgrade", "--source", live.DSN(), "--target-version", "8.0", "--query-log", missing}, map[string]string{"DBSHIFT_SOURCE_PASSWORD": live.Password}, 2},
		badInput{"check-upgrade", "--target-version 9.9", []string{"check-upgrade", "--source", live.DSN(), "--target-version", "9.9"}, nil, 2},
		badInput{"plan", "missing spec", []string{"plan", "-f", missing}, nil, 2},
		badInput{"plan", "empty spec", []string{"plan", "-f", empty}, nil, 2},
		badInput{"plan", "garbage spec", []string{"plan", "-f", garbage}, nil, 2},
		badInput{"plan", "negative duration in spec", []string{"plan", "-f", spec("name: bad\nprovider: local\nstrategy: replica-snapshot\nsource: {dsn: \"" + closed + "\"}\ntarget: {id: t}\nlocal: {sandbox_dir: " + dir + "}\ncutover: {catchup_timeout: -5s}\n")}, nil, 2},
		badInput{"run", "missing spec", []string{"run", "-f", missing, "--state", filepath.Join(dir, "r1"), "--yes"}, nil, 2},
		badInput{"run", "closed port", []string{"run", "-f", spec("name: bad\nprovider: local\nstrategy: replica-snapshot\nsource: {dsn: \"" + closed + "\"}\ntarget: {id: t}\nlocal: {sandbox_dir: " + dir + "}\n"), "--state", filepath.Join(dir, "r3"), "--yes"}, nil, 2},
		badInput{"run", "wrong password", []string{"run", "-f", spec("name: bad\nprovider: local\nstrategy: replica-snapshot\nsource: {dsn: \"" + live.DSN() + "\"}\ntarget: {id: t}\nlocal: {sandbox_dir: " + dir + "}\n"), "--state", filepath.Join(dir, "r4"), "--yes"}, wrongPW, 2},
		badInput{"run", "garbage spec", []string{"run", "-f", garbage, "--state", filepath.Join(dir, "r2"), "--yes"}, nil, 2},
		badInput{"status", "missing --state", []string{"status", "--state", missing}, nil, 2},
		badInput{"resume", "missing --state", []string{"resume", "--state", missing}, nil, 2},
		badInput{"abort", "missing --state", []string{"abort", "--state", missing, "--yes"}, nil, 2},
		badInput{"status", "--state without a run", []string{"status", "--state", dir}, nil, 2},
		badInput{"querylog fetch", "no flags", []string{"querylog", "fetch"}, nil, 2},
		badInput{"bufferpool resize", "--to garbage", []string{"bufferpool", "resize", "--dsn", closed, "--to", "lots", "--yes"}, nil, 2},
		badInput{"bufferpool resize", "--pause -1s", []string{"bufferpool", "resize", "--dsn", closed, "--to", "256M", "--pause=-1s", "--yes"}, nil, 2},
		badInput{"probe", "--rate 0", []string{"probe", "--dsn", closed, "--rate", "0"}, nil, 2},
		badInput{"probe", "--duration -1s", []string{"probe", "--dsn", closed, "--duration=-1s"}, nil, 2},
		badInput{"maintenance nginx-snippet", "missing --page", []string{"maintenance", "nginx-snippet", "--page", missing}, nil, 2},
		badInput{"replicate start", "--from garbage", []string{"replicate", "start", "--source", closed, "--target", closed, "--from", "nocolon", "--yes"}, nil, 2},
		badInput{"replicate start", "--timeout 0", []string{"replicate", "start", "--source", closed, "--target", closed, "--from", "mysql-bin.000001:4", "--timeout", "0", "--yes"}, nil, 2},
		badInput{"position", "--drain-timeout 0", []string{"position", "--replica", closed, "--stop", "--drain-timeout", "0", "--yes"}, nil, 2},
		badInput{"bufferpool resize", "--resize-timeout 0", []string{"bufferpool", "resize", "--dsn", closed, "--to", "256M", "--resize-timeout", "0", "--yes"}, nil, 2},
		badInput{"cutover", "--hook unknown phase", []string{"cutover", "--source", closed, "--target", closed, "--hook", "before-lunch=true", "--yes"}, nil, 2},
		badInput{"cutover", "--hook-env MYSQL_PWD", []string{"cutover", "--source", closed, "--target", closed, "--hook-env", "MYSQL_PWD", "--yes"}, nil, 2},
		badInput{"cutover", "--app-account without host", []string{"cutover", "--source", live.DSN(), "--target", live.DSN(), "--app-account", "app", "--yes"}, map[string]string{"DBSHIFT_SOURCE_PASSWORD": live.Password, "DBSHIFT_TARGET_PASSWORD": live.Password}, 2},
		badInput{"preflight", "--tls bogus", []string{"--tls", "bogus", "preflight", "--source", closed}, nil, 2},
		badInput{"preflight", "--tls-ca missing file", []string{"--tls", "verify-identity", "--tls-ca", missing, "preflight", "--source", live.DSN()}, map[string]string{"DBSHIFT_SOURCE_PASSWORD": live.Password}, 2},
		badInput{"replicate wait", "--timeout 0", []string{"replicate", "wait", "--target", closed, "--source", closed, "--timeout", "0"}, nil, 2},
	)

	var doc strings.Builder
	doc.WriteString("| command | bad input | exit | message |\n|---|---|---|---|\n")
	tmp := regexp.MustCompile(regexp.QuoteMeta(dir) + `[^ "':,)]*`)
	port := regexp.MustCompile(`127\.0\.0\.1:\d{3,}`)
	for _, c := range cases {
		env := map[string]string{}
		for _, k := range []string{"DBSHIFT_SOURCE_PASSWORD", "DBSHIFT_TARGET_PASSWORD", "DBSHIFT_REPLICA_PASSWORD", "DBSHIFT_PASSWORD"} {
			env[k] = ""
		}
		for k, v := range c.env {
			env[k] = v
		}
		code, _, errOut := runCLI(t, env, c.args...)
		// The error is the last line; a notice (the state directory) may come first.
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		first := lines[len(lines)-1]
		if code != c.want {
			t.Errorf("%s, %s: exit %d, want %d: %s", c.cmd, c.input, code, c.want, first)
		}
		if !strings.HasPrefix(first, "dbshift: ") || strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine ") {
			t.Errorf("%s, %s: want a one-line error, got %q", c.cmd, c.input, errOut)
		}
		msg := port.ReplaceAllString(tmp.ReplaceAllString(first, "FILE"), "127.0.0.1:PORT")
		if len(msg) > 220 {
			msg = msg[:220] + "…"
		}
		fmt.Fprintf(&doc, "| `%s` | %s | %d | %s |\n", c.cmd, c.input, code, strings.ReplaceAll(msg, "|", `\|`))
	}
	if out := os.Getenv("DBSHIFT_BADINPUT_DOC"); out != "" {
		if err := os.WriteFile(out, []byte(doc.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReplay_RefusedRunLeavesTheReportAlone: a replay refused before it ran
// (here: more connections than the server has) must not truncate the
// report an earlier run wrote to --out.
func TestReplay_RefusedRunLeavesTheReportAlone(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{})
	live := s.Instances[0]
	dir := t.TempDir()
	logFile := filepath.Join(dir, "general.log")
	os.WriteFile(logFile, []byte("241204 10:00:00\t    5 Connect\tapp@localhost on mysql using TCP/IP\n\t\t    5 Query\tSELECT 1\n"), 0o600)
	out := filepath.Join(dir, "report.txt")
	os.WriteFile(out, []byte("last week's report\n"), 0o644)
	code, _, errOut := runCLI(t, map[string]string{"DBSHIFT_TARGET_PASSWORD": live.Password}, "replay", "--target", live.DSN(), "--log", logFile, "--concurrency", "100000", "--out", out)
	if code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, errOut)
	}
	if b, _ := os.ReadFile(out); string(b) != "last week's report\n" {
		t.Errorf("the refused replay changed %s: %q", out, b)
	}
}

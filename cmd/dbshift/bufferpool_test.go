package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

func TestBufferpoolResize_BadInputOneLineReason(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad size", []string{"--to", "12Q", "--yes"}, "--to: size \"12Q\" is not a byte count"},
		{"bad step", []string{"--to", "256M", "--step", "lots", "--yes"}, "--step: size \"lots\""},
		{"no terminal, no --yes", []string{"--to", "256M"}, "no terminal to ask on; re-run with --yes"},
		{"bad DSN", []string{"--to", "256M", "--yes", "--dsn", "tcp(127.0.0.1:3306"}, "server (dsn): parsing DSN"},
		{"unreachable server", []string{"--to", "256M", "--yes", "--dsn", "u@tcp(127.0.0.1:1)/"}, "cannot reach the server"},
		{"RDS instance without its group", []string{"--to", "256M", "--yes", "--rds-instance", "prod"}, "--rds-instance and --rds-parameter-group go together"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"bufferpool", "resize"}, c.args...)
			if !strings.Contains(strings.Join(c.args, " "), "--dsn") {
				args = append(args, "--dsn", "u@tcp(127.0.0.1:1)/")
			}
			code, stdout, stderr := runCLI(t, nil, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not contain %q", stderr, c.want)
			}
			if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n != 0 {
				t.Errorf("reason spans %d lines: %q", n+1, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// The command end to end on a sandbox: password from the environment, JSON
// out, and the pool really changed; with an impossible --max-p99 it exits 1
// and names the bound.
func TestBufferpoolResize_SandboxJSONAndBreach(t *testing.T) {
	inst := sandboxtest.New(t, sandbox.Options{Instances: 1, Extra: []string{"innodb_buffer_pool_size=512M"}}).Instances[0]
	env := map[string]string{"DBSHIFT_SERVER_PASSWORD": inst.Password}

	code, stdout, stderr := runCLI(t, env, "bufferpool", "resize", "--dsn", inst.DSN(), "--to", "256M", "--step", "128M", "--pause", "300ms", "--yes", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Outcome string `json:"outcome"`
		Final   uint64 `json:"final_bytes"`
		Steps   []struct {
			To     uint64  `json:"to_bytes"`
			Resize float64 `json:"resize_ms"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if res.Outcome != "completed" || res.Final != 256<<20 || len(res.Steps) != 2 || res.Steps[0].To != 384<<20 {
		t.Errorf("result %+v, want completed at 256M in 2 steps via 384M", res)
	}

	code, stdout, stderr = runCLI(t, env, "bufferpool", "resize", "--dsn", inst.DSN(), "--to", "128M", "--step", "64M", "--pause", "500ms", "--max-p99", "1us", "--yes")
	if code != 1 {
		t.Fatalf("exit %d, want 1 for a crossed bound: %s", code, stderr)
	}
	if !strings.Contains(stdout, "stopped: probe p99") || !strings.Contains(stderr, "health bound crossed after step 1") {
		t.Errorf("the breach is not reported:\nstdout %s\nstderr %s", stdout, stderr)
	}
}

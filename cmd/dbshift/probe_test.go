package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/probe"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

func TestProbeCmd_WritesVerifiesAndReports(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	inst := s.Instance(1)
	reportFile := filepath.Join(t.TempDir(), "probe.json")
	env := map[string]string{"DBSHIFT_PROBE_PASSWORD": inst.Password}
	code, out, errOut := runCLI(t, env, "probe", "--dsn", inst.DSN(), "--rate", "200", "--duration", "1s", "--report", reportFile, "--run-id", "cli")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "probe run cli on _dbshift_probe.probe: OK") || !strings.Contains(out, "lost:        0") {
		t.Errorf("summary:\n%s", out)
	}
	b, err := os.ReadFile(reportFile)
	if err != nil {
		t.Fatal(err)
	}
	var rep probe.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	// One second at 200/s, paced by a ticker.
	if rep.RunID != "cli" || rep.Acked < 100 || rep.Acked > 201 || len(rep.Lost) != 0 || rep.RowsPresent != rep.Acked {
		t.Errorf("report: run %s, acked %d, lost %v, rows %d", rep.RunID, rep.Acked, rep.Lost, rep.RowsPresent)
	}
	if strings.Contains(string(b), inst.Password) {
		t.Error("the report holds the password")
	}
}

func TestProbeCmd_Usage(t *testing.T) {
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"probe"}, 2},
		{[]string{"probe", "--dsn", "u@tcp(127.0.0.1:1)/", "--rate", "0"}, 2},
		// Nothing listens on port 1: unreachable is exit 2 too.
		{[]string{"probe", "--dsn", "u@tcp(127.0.0.1:1)/", "--duration", "1s"}, 2},
	}
	for _, c := range cases {
		if code, out, errOut := runCLI(t, nil, c.args...); code != c.code {
			t.Errorf("dbshift %s: exit %d, want %d\n%s%s", strings.Join(c.args, " "), code, c.code, out, errOut)
		}
	}
}

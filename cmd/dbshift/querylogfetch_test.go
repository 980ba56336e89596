package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/awsfake"
)

// generalLines are n general-log lines of one session, tagged with tag.
func generalLines(tag string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "2026-01-01T00:00:00.%06dZ\t    7 Query\tSELECT '%s-%03d'\n", i, tag, i)
	}
	return b.String()
}

// fetchEnv is a fake RDS instance "prod" whose general log rotated twice:
// general/mysql-general.log.2 (written 01:00), .4 (written 03:00) and the
// current file (written 04:00), plus a slow log.
func fetchEnv(t *testing.T) (*awsfake.Server, map[string]string) {
	t.Helper()
	f := awsfake.New(awsfake.Options{PortionBytes: 700})
	t.Cleanup(f.Close)
	f.AddInstance(awsfake.InstanceSpec{ID: "prod"})
	const general = "general/mysql-general.log"
	f.Advance(time.Hour)
	f.AppendLog("prod", general, []byte(generalLines("old", 30)))
	f.Advance(time.Hour)
	f.RotateLog("prod", general)
	f.Advance(time.Hour)
	f.AppendLog("prod", general, []byte(generalLines("mid", 30)))
	f.Advance(time.Hour)
	f.RotateLog("prod", general)
	f.AppendLog("prod", general, []byte(generalLines("new", 30)))
	f.AppendLog("prod", "slowquery/mysql-slowquery.log", []byte("# Time: 260101  4:00:00\n# Query_time: 2.5  Lock_time: 0.0 Rows_sent: 1  Rows_examined: 9\nSET timestamp=1767240000;\nSELECT SLEEP(2.5);\n"))
	cfg := t.TempDir()
	return f, map[string]string{"AWS_ACCESS_KEY_ID": "AKIDFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": filepath.Join(cfg, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(cfg, "credentials"), "AWS_PROFILE": ""}
}

func TestQuerylogFetch_FilesInOrderSinceAndOut(t *testing.T) {
	f, env := fetchEnv(t)
	all := generalLines("old", 30) + generalLines("mid", 30) + generalLines("new", 30)
	for _, tc := range []struct {
		name, since, want string
	}{
		{"every file oldest first", "", all},
		{"files written since 02:30", "2026-01-01T02:30:00Z", generalLines("mid", 30) + generalLines("new", 30)},
		{"only the current file", "2026-01-01T03:30:00Z", generalLines("new", 30)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"querylog", "fetch", "--instance", "prod", "--log", "general", "--endpoint", f.URL()}
			if tc.since != "" {
				args = append(args, "--since", tc.since)
			}
			code, out, errs := runCLI(t, env, args...)
			if code != 0 || out != tc.want {
				t.Fatalf("exit %d, stderr %s\ngot %d bytes:\n%s\nwant %d bytes", code, errs, len(out), out, len(tc.want))
			}
		})
	}

	// --out: a complete file, 0600, that the query-log parser reads whole.
	out := filepath.Join(t.TempDir(), "general.log")
	code, _, errs := runCLI(t, env, "querylog", "fetch", "--instance", "prod", "--log", "general", "--endpoint", f.URL(), "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil || string(b) != all {
		t.Fatalf("--out file: %v\n%s", err, b)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("--out file mode %v, want 0600", st.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*partial*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	code, sqlOut, errs := runCLI(t, nil, "querylog", "extract", "--log", out)
	if code != 0 || strings.Count(sqlOut, "SELECT '") != 90 {
		t.Errorf("extract of the fetched log: exit %d, %d statements\n%s", code, strings.Count(sqlOut, "SELECT '"), errs)
	}

	code, slow, errs := runCLI(t, env, "querylog", "fetch", "--instance", "prod", "--log", "slow", "--endpoint", f.URL())
	if code != 0 || !strings.Contains(slow, "SELECT SLEEP(2.5);") || strings.Contains(slow, "Query\tSELECT") {
		t.Errorf("slow log: exit %d %s\n%s", code, errs, slow)
	}
}

func TestQuerylogFetch_Errors(t *testing.T) {
	f, env := fetchEnv(t)
	out := filepath.Join(t.TempDir(), "x.log")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"unknown instance", []string{"--instance", "nope", "--log", "general", "--out", out}, 1},
		{"bad since", []string{"--instance", "prod", "--log", "general", "--since", "yesterday"}, 2},
		{"error log is not a query log", []string{"--instance", "prod", "--log", "error"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, env, append([]string{"querylog", "fetch", "--endpoint", f.URL()}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, errs)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed fetch left %s: %v", out, err)
	}
}

// An endpoint nobody listens on: a progress line at once, and exit 2 within
// seconds, not after the SDK's ten retries (113 s).
func TestQuerylogFetch_UnreachableEndpoint(t *testing.T) {
	_, env := fetchEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"querylog", "fetch", "--instance", "prod", "--log", "general", "--endpoint", endpoint}, nil, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "general log of prod") || !strings.Contains(errb.String(), "cannot reach") || ctx.Err() != nil {
		t.Errorf("exit %d (want 2, before the test's deadline: %v)\nstderr:\n%s", code, ctx.Err(), errb.String())
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"2h", now.Add(-2 * time.Hour), true},
		{"2026-02-28T10:00:00Z", time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC), true},
		{"-1h", time.Time{}, false},
		{"tuesday", time.Time{}, false},
	} {
		got, err := parseSince(tc.in, now)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v", tc.in, got, err)
		}
	}
}

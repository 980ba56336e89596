package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanAndRun_RefuseTheSameSpecs: plan is the dry run of run, so a spec
// plan accepts must not be one run refuses hours later (at the cutover), and
// neither may leave anything behind.
func TestPlanAndRun_RefuseTheSameSpecs(t *testing.T) {
	const base = `name: orders
provider: local
source: {dsn: "dbshift@tcp(127.0.0.1:1)/", password_env: ORDERS_PW}
target: {id: orders-new}
local: {sandbox_dir: %s}
`
	cases := []struct {
		name, extra, wantErr string
	}{
		{"negative catch-up", "cutover: {catchup_timeout: -1s}", "cutover.catchup_timeout"},
		{"zero catch-up", "cutover: {catchup_timeout: 0s}", "cutover.catchup_timeout"},
		{"negative max lag", "replication: {max_lag: -1s}", "replication.max_lag"},
		{"unknown hook phase", "cutover: {hooks: [{phase: befor-fence, command: 'true'}]}", "unknown phase"},
		{"app account without host", "cutover: {app_accounts: [app]}", "want user@host"},
		{"hook_env password", "cutover: {hook_env: [ORDERS_PW]}", "source.password_env"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			specPath := filepath.Join(dir, "spec.yaml")
			body := strings.Replace(base, "%s", filepath.Join(dir, "instances"), 1) + c.extra + "\n"
			if err := os.WriteFile(specPath, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"plan", "-f", specPath}, {"run", "-f", specPath, "--state", filepath.Join(dir, "state"), "--yes"}} {
				code, _, stderr := runCLI(t, nil, args...)
				if code != 2 || !strings.Contains(stderr, c.wantErr) {
					t.Errorf("dbshift %s: exit %d, want 2 naming %q:\n%s", args[0], code, c.wantErr, stderr)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "state")); !os.IsNotExist(err) {
				t.Errorf("run refused the spec but left a state directory: %v", err)
			}
		})
	}
}

// TestRun_PasswordInDSNNeverReachesState: the driver takes "us@er:pw@tcp(...)"
// as user us@er, password pw; the spec check must see that password too, or
// run copies it into STATE/spec.yaml.
func TestRun_PasswordInDSNNeverReachesState(t *testing.T) {
	dir := t.TempDir()
	specPath := filepath.Join(dir, "spec.yaml")
	const pw = "Sup3rSecretPw"
	body := `name: orders
provider: local
source: {dsn: "us@er:` + pw + `@tcp(127.0.0.1:1)/"}
target: {id: orders-new}
local: {sandbox_dir: ` + filepath.Join(dir, "instances") + `}
`
	if err := os.WriteFile(specPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	code, stdout, stderr := runCLI(t, nil, "run", "-f", specPath, "--state", state, "--yes")
	if code != 2 || !strings.Contains(stderr, "source.dsn: holds a password") {
		t.Errorf("run: exit %d, want 2 refusing the DSN:\n%s", code, stderr)
	}
	if strings.Contains(stdout+stderr, pw) {
		t.Errorf("the password was printed:\n%s%s", stdout, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(state, "spec.yaml")); err == nil && strings.Contains(string(b), pw) {
		t.Errorf("the password reached %s", filepath.Join(state, "spec.yaml"))
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestRun_UnreachableSourceExits2: a server that cannot be reached is exit
// 2 (like every other command), named, and run leaves no half-started run.
func TestRun_UnreachableSourceExits2(t *testing.T) {
	dir := t.TempDir()
	addr := closedPort(t)
	specPath := filepath.Join(dir, "spec.yaml")
	body := `name: orders
provider: local
source: {dsn: "dbshift@tcp(` + addr + `)/"}
target: {id: orders-new}
local: {sandbox_dir: ` + filepath.Join(dir, "instances") + `}
`
	if err := os.WriteFile(specPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	code, _, stderr := runCLI(t, map[string]string{"DBSHIFT_SOURCE_PASSWORD": "x-unused-pw"}, "run", "-f", specPath, "--state", state, "--yes")
	if code != 2 || !strings.Contains(stderr, "source "+addr) {
		t.Errorf("run: exit %d, want 2 naming source %s:\n%s", code, addr, stderr)
	}
	if _, err := os.Stat(filepath.Join(state, "run.journal")); !os.IsNotExist(err) {
		t.Errorf("run could not reach the source but started a run: %v", err)
	}
}

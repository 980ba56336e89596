package cutover

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// envOf parses `env` output into a map.
func envOf(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		m[k] = v
	}
	return m
}

func TestRunHook_AllowListEnvironment(t *testing.T) {
	// The variables an operator's shell holds when it runs a cutover: the
	// spec's password_env, the client's own, dbshift's.
	t.Setenv("ORDERS_PW", "s3cret-orders")
	t.Setenv("MYSQL_PWD", "s3cret-mysql")
	t.Setenv("DBSHIFT_SOURCE_PASSWORD", "s3cret-source")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s3cret-aws")
	t.Setenv("APP_TOKEN", "listed")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("TZ", "UTC")
	out := filepath.Join(t.TempDir(), "env")
	hooks := []Hook{{Phase: HookAfterSwitch, Command: "env > " + out, Env: []string{"APP_TOKEN"}}}
	if _, err := runHook(context.Background(), hooks, HookAfterSwitch, "127.0.0.1:3307", "127.0.0.1:3308"); err != nil {
		t.Fatal(err)
	}
	got := envOf(t, out)
	want := map[string]string{
		"PATH": os.Getenv("PATH"), "LANG": "C.UTF-8", "TZ": "UTC", "APP_TOKEN": "listed",
		"DBSHIFT_PHASE": HookAfterSwitch, "DBSHIFT_SOURCE_ADDR": "127.0.0.1:3307", "DBSHIFT_TARGET_ADDR": "127.0.0.1:3308",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("hook sees %s=%q, want %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if strings.Contains(v, "s3cret") {
			t.Errorf("hook sees %s, a secret", k)
		}
	}
	// Nothing else but what sh sets itself.
	for k := range got {
		if _, ok := want[k]; !ok && !slices.Contains([]string{"HOME", "PWD", "OLDPWD", "SHLVL", "_"}, k) && !strings.HasPrefix(k, "LC_") {
			t.Errorf("hook sees %s, not on the allow-list", k)
		}
	}
}

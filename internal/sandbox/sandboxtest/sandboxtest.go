// Package sandboxtest starts sandbox instances for a test and stops them
// when it ends.
package sandboxtest

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/sandbox"
)

// New brings up a sandbox in a temporary directory. Without mariadbd on the
// machine the test fails (make test installs it); set DBSHIFT_SKIP_SERVERS=1
// to skip server tests instead on a machine that cannot have one.
func New(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	RequireServer(t)
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Instances == 0 {
		opts.Instances = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := sandbox.Up(ctx, opts)
	if s != nil {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.Down(ctx, false); err != nil {
				t.Logf("sandbox down: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("sandbox up: %v", err)
	}
	return s
}

// RequireServer fails (or skips with DBSHIFT_SKIP_SERVERS=1) when mariadbd
// is not installed.
func RequireServer(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("mariadbd"); err == nil {
		return
	}
	if _, err := exec.LookPath("/usr/sbin/mariadbd"); err == nil {
		return
	}
	if skipServers() {
		t.Skip("mariadbd not installed and DBSHIFT_SKIP_SERVERS=1")
	}
	t.Fatal("mariadbd not installed: run `make deps` (as root) or apt-get install mariadb-server")
}

// Package sandboxtest starts sandbox instances for a test and stops them
// when it ends.
package sandboxtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/sandbox"
)

// New brings up a sandbox in a temporary directory. Without mariadbd on the
// machine the test fails (make test installs it); set DBSHIFT_SKIP_SERVERS=1
// to skip server tests instead on a machine that cannot have one. With
// opts.Flavor mysql it needs the mysqld of $DBSHIFT_MYSQLD (see RequireMySQL).
func New(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	if opts.Flavor == sandbox.FlavorMySQL {
		RequireMySQL(t)
	} else {
		RequireServer(t)
	}
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

// Flavors runs f as one subtest per server flavor, "mariadb" and "mysql",
// for the suites that must hold on both.
func Flavors(t *testing.T, f func(t *testing.T, flavor string)) {
	t.Helper()
	for _, fl := range []string{sandbox.FlavorMariaDB, sandbox.FlavorMySQL} {
		t.Run(fl, func(t *testing.T) { f(t, fl) })
	}
}

// RequireMySQL skips the test, loudly, when no MySQL server is at hand
// (scripts/mysql-from-debian.sh could not fetch one, so DBSHIFT_MYSQLD is
// unset), and fails it instead under CI, which must run the MySQL suites.
func RequireMySQL(t testing.TB) {
	t.Helper()
	_, err := sandbox.MySQLD()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" && os.Getenv("CI") != "false" {
		t.Fatalf("CI must run the MySQL tests: %v", err)
	}
	if skipServers() {
		t.Skipf("DBSHIFT_SKIP_SERVERS=1: %v", err)
	}
	// On stderr too: go test shows a skip's reason only with -v.
	fmt.Fprintf(os.Stderr, "*** dbshift: SKIPPING %s, no MySQL 9.7: %v ***\n", t.Name(), err)
	t.Skipf("SKIPPED, no MySQL 9.7: %v", err)
}

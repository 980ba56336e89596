package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// tlsRunSpec writes a local replica-snapshot spec whose instances live in
// dir/instances, with extra YAML appended, and stops those instances when
// the test ends.
func tlsRunSpec(t *testing.T, src *sandbox.Instance, dir, extra string) string {
	t.Helper()
	instances := filepath.Join(dir, "instances")
	t.Cleanup(func() {
		if sb, err := sandbox.Load(instances); err == nil {
			sb.Down(context.Background(), true)
		}
	})
	p := filepath.Join(dir, "spec.yaml")
	body := fmt.Sprintf("name: tls\nprovider: local\nstrategy: replica-snapshot\nsource: {dsn: \"%s\", password_file: %s}\ntarget: {id: tls-target}\nlocal: {sandbox_dir: %s}\n%s",
		src.DSN(), src.PasswordFile(), instances, extra)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// copyTLS gives the instances a run creates in dir/instances the source
// sandbox's CA and certificate, so one CA file verifies them all.
func copyTLS(t *testing.T, src *sandbox.Instance, dir string) {
	t.Helper()
	from, to := filepath.Dir(src.CAFile()), filepath.Join(dir, "instances", "tls")
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(from, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, f.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// run takes the global --tls and --tls-ca for every connection it opens:
// to the source, and to the instances the provider creates; the spec's
// replication.tls/tls_ca set the replication it starts and the reverse
// replication of its cutover.
func TestRun_TakesGlobalTLSFlags(t *testing.T) {
	src := sandboxtest.New(t, sandbox.Options{Instances: 1}).Instances[0]
	sc := sandboxtest.Conn(t, src)
	mustExec(t, sc.DB, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)", "INSERT INTO app.t VALUES (1), (2)")
	ca := src.CAFile()

	// A CA that signed nothing: the source is refused before any state.
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	code, out, errs := runCLI(t, nil, "--tls", "verify-identity", "--tls-ca", sandboxtest.OtherCA(t), "run", "-f", tlsRunSpec(t, src, dir, ""), "--state", state, "--yes")
	if code != 2 || !strings.Contains(errs, "certificate") {
		t.Errorf("run with a CA that cannot verify the source: exit %d, want 2 naming the certificate\n%s\n%s", code, out, errs)
	}
	if _, err := os.Stat(state); err == nil {
		t.Error("a refused run left a state directory")
	}

	// The source verifies, the instances the run creates (their own
	// sandbox CA) do not: the run stops at the first of them.
	dir = t.TempDir()
	code, out, errs = runCLI(t, nil, "--tls", "verify-identity", "--tls-ca", ca, "run", "-f", tlsRunSpec(t, src, dir, ""), "--state", filepath.Join(dir, "state"), "--yes")
	if code == 0 || !strings.Contains(errs, "certificate") {
		t.Errorf("run whose instances the CA cannot verify: exit %d, want a failure naming the certificate\n%s\n%s", code, out, errs)
	}

	// One CA for all: the run completes, its cutover's reverse replication
	// verifies the new primary.
	dir = t.TempDir()
	copyTLS(t, src, dir)
	spec := tlsRunSpec(t, src, dir, fmt.Sprintf("replication: {tls: verify-identity, tls_ca: %s, max_lag: 1s}\ncutover: {mode: auto, reverse: true}\n", ca))
	code, out, errs = runCLI(t, nil, "--tls", "verify-identity", "--tls-ca", ca, "run", "-f", spec, "--state", filepath.Join(dir, "state"), "--yes")
	if code != 0 {
		t.Fatalf("verified run: exit %d\n%s\n%s", code, out, errs)
	}
	st := slaveStatus(t, sc, "Master_SSL_Allowed", "Master_SSL_CA_File", "Master_SSL_Verify_Server_Cert", "Slave_IO_Running")
	if st["Master_SSL_Allowed"] != "Yes" || st["Master_SSL_CA_File"] != ca || st["Master_SSL_Verify_Server_Cert"] != "Yes" {
		t.Errorf("reverse replication TLS settings on the old source = %v, want SSL on, CA %s, server cert verified", st, ca)
	}
}

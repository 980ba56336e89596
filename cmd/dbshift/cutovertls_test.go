package main

import (
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// The reverse replication a cutover starts takes the global --tls and
// --tls-ca: under verify-identity the old source verifies the new primary's
// certificate chain and host name, and replication runs over it.
func TestCutover_ReverseReplicationTakesTLSFlags(t *testing.T) {
	s := sandboxtest.ReplicatingPair(t, sandbox.Options{})
	src, tgt := s.Instances[0], s.Instances[1]
	ca, cb := sandboxtest.Conn(t, src), sandboxtest.Conn(t, tgt)
	env := map[string]string{"DBSHIFT_SOURCE_PASSWORD": src.Password, "DBSHIFT_TARGET_PASSWORD": tgt.Password}
	code, out, errs := runCLI(t, env, "--tls", "verify-identity", "--tls-ca", src.CAFile(),
		"cutover", "--source", src.DSN(), "--target", tgt.DSN(), "--state", t.TempDir(), "--yes", "--reverse")
	if code != 0 {
		t.Fatalf("cutover --reverse under verify-identity: exit %d\n%s\n%s", code, out, errs)
	}
	st := slaveStatus(t, ca, "Master_SSL_Allowed", "Master_SSL_CA_File", "Master_SSL_Verify_Server_Cert")
	if st["Master_SSL_Allowed"] != "Yes" || st["Master_SSL_CA_File"] != src.CAFile() || st["Master_SSL_Verify_Server_Cert"] != "Yes" {
		t.Errorf("reverse replication TLS settings on the old source = %v, want SSL on, CA %s, server cert verified", st, src.CAFile())
	}
	mustExec(t, cb.DB, "CREATE DATABASE after_cutover")
	if code, out, errs := runCLI(t, map[string]string{"DBSHIFT_SOURCE_PASSWORD": tgt.Password, "DBSHIFT_TARGET_PASSWORD": src.Password},
		"--tls", "verify-identity", "--tls-ca", src.CAFile(), "replicate", "wait", "--source", tgt.DSN(), "--target", src.DSN(),
		"--max-lag", "500ms", "--stable", "200ms", "--timeout", "20s"); code != 0 {
		t.Fatalf("verified reverse replication does not run: exit %d\n%s\n%s", code, out, errs)
	}
}

// A reverse replication that Setup would refuse after the point of no
// return (verify-* without a CA file for the old source's server) is
// refused before anything changes.
func TestCutover_ReverseVerifyWithoutCARefusedUpFront(t *testing.T) {
	s := sandboxtest.ReplicatingPair(t, sandbox.Options{})
	src, tgt := s.Instances[0], s.Instances[1]
	ca := sandboxtest.Conn(t, src)
	env := map[string]string{"DBSHIFT_SOURCE_PASSWORD": src.Password, "DBSHIFT_TARGET_PASSWORD": tgt.Password}
	// SSL_CERT_FILE: dbshift's own connections verify against the system
	// pool, here the sandbox CA; the replica has no CA file to read.
	env["SSL_CERT_FILE"] = src.CAFile()
	code, out, errs := runCLI(t, env, "--tls", "verify-ca",
		"cutover", "--source", src.DSN(), "--target", tgt.DSN(), "--state", t.TempDir(), "--yes", "--reverse")
	if code != 2 || !strings.Contains(errs, "--tls-ca") {
		t.Errorf("cutover --reverse --tls verify-ca without --tls-ca: exit %d, want 2 naming --tls-ca\n%s\n%s", code, out, errs)
	}
	if sandboxtest.ReadOnly(t, ca) {
		t.Error("source fenced by a refused cutover")
	}
}

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// sourcePos is the source's current binlog position as FILE:POS.
func sourcePos(t *testing.T, c *dbconn.Conn) string {
	t.Helper()
	co, err := replication.SourcePosition(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:%d", co.File, co.Position)
}

func sslType(t *testing.T, c *dbconn.Conn, user, host string) string {
	t.Helper()
	var v string
	if err := c.DB.QueryRow("SELECT ssl_type FROM mysql.user WHERE User = ? AND Host = ?", user, host).Scan(&v); err != nil {
		t.Fatalf("ssl_type of %s@%s: %v", user, host, err)
	}
	return v
}

// twoServers starts a source and a target, with their admin connections
// and the environment that hands dbshift their passwords.
func twoServers(t *testing.T) (src, dst *sandbox.Instance, sc, tc *dbconn.Conn, env map[string]string) {
	t.Helper()
	s := sandboxtest.New(t, sandbox.Options{Instances: 2})
	src, dst = s.Instances[0], s.Instances[1]
	return src, dst, adminConn(t, src), adminConn(t, dst), pwEnv(src, dst)
}

// A --repl-user naming an admin account is refused before anything
// changes: the admin keeps its password, no shadowing account appears for
// the target's host, the target stays writable and no replica.
func TestReplicateStart_ReplUserAdminRefused(t *testing.T) {
	src, dst, sc, tc, env := twoServers(t)
	code, out, errs := runCLI(t, env, "replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", sourcePos(t, sc), "--repl-user", src.AdminUser, "--yes")
	if code != 1 || !strings.Contains(errs, src.AdminUser) || !strings.Contains(errs, "privileges") {
		t.Errorf("replicate start --repl-user %s: exit %d, want 1 naming the account and its privileges\n%s\n%s", src.AdminUser, code, out, errs)
	}
	// The admin still logs in from the target's host with its password.
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "admin", DSN: src.DSN(), Password: src.Password}, nil)
	if err != nil {
		t.Fatalf("admin locked out after replicate start: %v", err)
	}
	c.Close()
	if n := count(t, sc.DB, "SELECT COUNT(*) FROM mysql.user WHERE User = '"+src.AdminUser+"' AND Host <> '%'"); n != 0 {
		t.Errorf("an account shadowing the admin was created (%d)", n)
	}
	if sandboxtest.ReadOnly(t, tc) {
		t.Error("target left read-only by a refused start")
	}
	if n := count(t, tc.DB, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'"); n != 0 {
		t.Error("target replicating after a refused start")
	}
}

// A second start against a live replica refuses without re-keying the
// replication account: the replica still authenticates when its IO thread
// reconnects. Then, replication reset, a start with --tls off does not drop
// REQUIRE SSL from the account it finds.
func TestReplicateStart_RepeatDoesNotRekeyNorDropTLS(t *testing.T) {
	src, dst, sc, tc, env := twoServers(t)
	from := sourcePos(t, sc)
	start := []string{"replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", from, "--yes"}
	if code, out, errs := runCLI(t, env, start...); code != 0 {
		t.Fatalf("first start: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs := runCLI(t, env, start...)
	if code != 1 || !strings.Contains(errs, "already replicat") {
		t.Errorf("second start: exit %d, want 1 saying the target already replicates\n%s\n%s", code, out, errs)
	}
	// Reconnect the IO thread: it must still log in.
	mustExec(t, tc.DB, "STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD")
	if _, err := replication.WaitRunning(context.Background(), tc, 20*time.Second); err != nil {
		t.Fatalf("replica broken after a repeated start: %v", err)
	}
	mustExec(t, sc.DB, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)", "INSERT INTO app.t VALUES (1)")
	if code, out, errs := runCLI(t, env, "replicate", "wait", "--source", src.DSN(), "--target", dst.DSN(), "--max-lag", "500ms", "--stable", "200ms", "--timeout", "20s"); code != 0 {
		t.Fatalf("replica broken after a repeated start: exit %d\n%s\n%s", code, out, errs)
	}
	if n := count(t, tc.DB, "SELECT COUNT(*) FROM app.t"); n != 1 {
		t.Errorf("target has %d rows, want 1", n)
	}

	if got := sslType(t, sc, "dbshift_repl", "127.0.0.1"); got != "ANY" {
		t.Fatalf("dbshift_repl ssl_type = %q after a TLS start, want ANY (REQUIRE SSL)", got)
	}
	if code, out, errs := runCLI(t, env, "replicate", "reset", "--target", dst.DSN(), "--yes"); code != 0 {
		t.Fatalf("replicate reset: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCLI(t, env, "replicate", "start", "--tls", "off", "--source", src.DSN(), "--target", dst.DSN(), "--from", sourcePos(t, sc), "--yes")
	if code != 1 || !strings.Contains(errs, "REQUIRE SSL") {
		t.Errorf("start --tls off on a REQUIRE SSL account: exit %d, want 1 naming REQUIRE SSL\n%s\n%s", code, out, errs)
	}
	if got := sslType(t, sc, "dbshift_repl", "127.0.0.1"); got != "ANY" {
		t.Errorf("dbshift_repl ssl_type = %q after start --tls off, want ANY kept", got)
	}
}

// A start that fails after it acted undoes what it did: the account it
// created is dropped, the target's read_only is what it was, and the target
// is no replica.
func TestReplicateStart_FailureAfterActingUndoes(t *testing.T) {
	src, dst, sc, tc, env := twoServers(t)
	// The target cannot reach the source at this address: the IO thread
	// fails after the account, the fence and CHANGE MASTER were done.
	code, out, errs := runCLI(t, env, "replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", sourcePos(t, sc), "--source-addr", "127.0.0.1:1", "--timeout", "10s", "--yes")
	if code != 1 {
		t.Errorf("start against an unreachable source address: exit %d, want 1\n%s\n%s", code, out, errs)
	}
	if n := count(t, sc.DB, "SELECT COUNT(*) FROM mysql.user WHERE User = 'dbshift_repl'"); n != 0 {
		t.Error("replication account left behind after a failed start")
	}
	if sandboxtest.ReadOnly(t, tc) {
		t.Error("target left read-only after a failed start")
	}
	st, err := replication.ReadStatus(context.Background(), tc)
	if err != nil {
		t.Fatal(err)
	}
	if st.Configured {
		t.Errorf("target still configured as a replica after a failed start: %+v", st)
	}
}

// slaveStatus reads the named columns of SHOW SLAVE STATUS as strings.
func slaveStatus(t *testing.T, c *dbconn.Conn, cols ...string) map[string]string {
	t.Helper()
	dst := map[string]any{}
	vals := make([]string, len(cols))
	for i, col := range cols {
		dst[col] = &vals[i]
	}
	scanCols(t, nil, c.DB, dst)
	out := map[string]string{}
	for i, col := range cols {
		out[col] = vals[i]
	}
	return out
}

// --tls verify-identity --tls-ca verifies dbshift's own connections and
// makes the replica verify the source: CA file and host name check in
// CHANGE MASTER, replication running over it. A CA the replica cannot
// verify the source with fails clearly and leaves nothing behind.
func TestReplicateStart_VerifyIdentity(t *testing.T) {
	src, dst, sc, tc, env := twoServers(t)
	ca, wrong := src.CAFile(), sandboxtest.OtherCA(t)

	// dbshift's own connections use the global flags.
	code, out, errs := runCLI(t, env, "--tls", "verify-identity", "--tls-ca", wrong, "replicate", "status", "--target", dst.DSN())
	if code != 2 || !strings.Contains(errs, "certificate") || !strings.Contains(errs, wrong) {
		t.Errorf("status with a CA that signed nothing: exit %d, want 2 naming the certificate and the CA\n%s\n%s", code, out, errs)
	}

	code, out, errs = runCLI(t, env, "--tls", "verify-identity", "--tls-ca", ca, "replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", sourcePos(t, sc), "--repl-tls-ca", wrong, "--timeout", "10s", "--yes")
	if code != 1 || !strings.Contains(errs, wrong) || !strings.Contains(errs, "SSL") {
		t.Errorf("start with a replica CA that cannot verify the source: exit %d, want 1 naming the CA and the SSL error\n%s\n%s", code, out, errs)
	}
	if n := count(t, sc.DB, "SELECT COUNT(*) FROM mysql.user WHERE User = 'dbshift_repl'"); n != 0 {
		t.Error("replication account left behind after the failed verified start")
	}

	code, out, errs = runCLI(t, env, "--tls", "verify-identity", "--tls-ca", ca, "replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", sourcePos(t, sc), "--yes", "--format", "json")
	if code != 0 {
		t.Fatalf("verified start: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, `"tls_mode": "verify-identity"`) {
		t.Errorf("start output does not report the TLS mode:\n%s", out)
	}
	st := slaveStatus(t, tc, "Master_SSL_Allowed", "Master_SSL_CA_File", "Master_SSL_Verify_Server_Cert")
	if st["Master_SSL_Allowed"] != "Yes" || st["Master_SSL_CA_File"] != ca || st["Master_SSL_Verify_Server_Cert"] != "Yes" {
		t.Errorf("replica TLS settings = %v, want SSL on, CA %s, server cert verified", st, ca)
	}
	mustExec(t, sc.DB, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)", "INSERT INTO app.t VALUES (1)")
	if code, out, errs := runCLI(t, env, "--tls", "verify-identity", "--tls-ca", ca, "replicate", "wait", "--source", src.DSN(), "--target", dst.DSN(), "--max-lag", "500ms", "--stable", "200ms", "--timeout", "20s"); code != 0 {
		t.Fatalf("verified replication does not run: exit %d\n%s\n%s", code, out, errs)
	}
}

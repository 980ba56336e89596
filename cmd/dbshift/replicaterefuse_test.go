package main

import (
	"context"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// An existing account that requires a client certificate (REQUIRE X509,
// or ISSUER/SUBJECT/CIPHER) is refused before anything changes: dbshift
// gives the replica no certificate, so a re-keyed account could never
// replicate. Its password stays, the target stays writable and no replica.
func TestReplicateStart_CertificateAccountRefused(t *testing.T) {
	for _, require := range []string{"X509", "SUBJECT '/CN=replica'"} {
		t.Run(strings.Fields(require)[0], func(t *testing.T) {
			src, dst, sc, tc, env := twoServers(t)
			mustExec(t, sc.DB, "CREATE USER dbshift_repl@'127.0.0.1' IDENTIFIED BY 'Old-pw-1' REQUIRE "+require,
				"GRANT REPLICATION SLAVE ON *.* TO dbshift_repl@'127.0.0.1'")
			hash := func() string {
				var h string
				if err := sc.DB.QueryRow("SELECT authentication_string FROM mysql.user WHERE User = 'dbshift_repl'").Scan(&h); err != nil {
					t.Fatal(err)
				}
				return h
			}
			before := hash()
			code, out, errs := runCLI(t, env, "--tls", "required", "replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", sourcePos(t, sc), "--timeout", "10s", "--yes")
			if code != 1 || !strings.Contains(errs, "certificate") || !strings.Contains(errs, strings.Fields(require)[0]) {
				t.Errorf("start with a REQUIRE %s account: exit %d, want 1 naming the requirement and the certificate\n%s\n%s", require, code, out, errs)
			}
			if hash() != before {
				t.Error("the account was re-keyed by a refused start")
			}
			if sandboxtest.ReadOnly(t, tc) {
				t.Error("target left read-only by a refused start")
			}
			if st, err := replication.ReadStatus(context.Background(), tc); err != nil || st.Configured {
				t.Errorf("target configured as a replica by a refused start: %+v %v", st, err)
			}
		})
	}
}

// A target holding a stopped replica configuration is refused, naming the
// source it points at: a failed start could not put that configuration
// back, so the operator resets it first. Nothing changes.
func TestReplicateStart_StoppedConfigurationRefused(t *testing.T) {
	src, dst, sc, tc, env := twoServers(t)
	mustExec(t, tc.DB, "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=1, MASTER_USER='elsewhere'")
	code, out, errs := runCLI(t, env, "replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", sourcePos(t, sc), "--timeout", "10s", "--yes")
	if code != 1 || !strings.Contains(errs, "127.0.0.1:1") || !strings.Contains(errs, "dbshift replicate reset") {
		t.Errorf("start on a target with a stopped configuration: exit %d, want 1 naming 127.0.0.1:1 and replicate reset\n%s\n%s", code, out, errs)
	}
	st, err := replication.ReadStatus(context.Background(), tc)
	if err != nil {
		t.Fatal(err)
	}
	if st.SourceHost != "127.0.0.1" || st.SourcePort != 1 {
		t.Errorf("the target's configuration was replaced: now %s:%d", st.SourceHost, st.SourcePort)
	}
	if n := count(t, sc.DB, "SELECT COUNT(*) FROM mysql.user WHERE User = 'dbshift_repl'"); n != 0 {
		t.Error("replication account created by a refused start")
	}
	if sandboxtest.ReadOnly(t, tc) {
		t.Error("target left read-only by a refused start")
	}
}

package spec_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/spec"
)

// base is a valid local spec; cases add one section to it.
const base = `name: orders
provider: local
source: {dsn: "dbshift@tcp(127.0.0.1:3307)/", password_env: ORDERS_PW}
target: {id: orders-new}
local: {sandbox_dir: /tmp/instances}
`

func TestParse_Defaults(t *testing.T) {
	// A section that names other keys keeps the defaults of those it omits.
	for _, extra := range []string{"", "cutover: {mode: manual}\nreplication: {tls: required}\n"} {
		s, err := spec.Parse([]byte(base + extra))
		if err != nil {
			t.Fatal(err)
		}
		c := s.Cutover
		if s.Replication.MaxLag != time.Second || s.Replication.Timeout != time.Hour || c.CatchupTimeout != 30*time.Second ||
			c.DrainTimeout != 10*time.Second || c.FenceTimeout != 5*time.Second || c.KillAfter != 0 {
			t.Errorf("%q: defaults: replication %+v, cutover %+v", extra, s.Replication, c)
		}
	}
}

func TestParse_Valid(t *testing.T) {
	for _, extra := range []string{
		"cutover: {catchup_timeout: 2m, drain_timeout: 3s, fence_timeout: 1s, kill_after: 5s}",
		"replication: {max_lag: 500ms, catchup_timeout: 10m}",
		"cutover: {app_accounts: [app@10.0.%, \"'api'@'%'\"]}",
		"cutover: {hook_env: [APP_TOKEN, LC_ALL], hooks: [{phase: after-switch, command: ./notify.sh}]}",
		"aws: {poll_interval: 10ms}",
		"cutover: {kill_after: 0s}", // never kill: the flag's default too
	} {
		if _, err := spec.Parse([]byte(base + extra + "\n")); err != nil {
			t.Errorf("%s: %v", extra, err)
		}
	}
}

func TestParse_Refused(t *testing.T) {
	cases := []struct {
		name, yaml, wantErr string
	}{
		// Durations that bound a fence: 0 would wait forever with the
		// source read-only (MASTER_POS_WAIT with timeout 0 or -1).
		{"zero cutover catch-up", "cutover: {catchup_timeout: 0s}", "cutover.catchup_timeout: 0s"},
		{"negative cutover catch-up", "cutover: {catchup_timeout: -1s}", "cutover.catchup_timeout: -1s"},
		{"zero drain", "cutover: {drain_timeout: 0s}", "cutover.drain_timeout"},
		{"negative fence", "cutover: {fence_timeout: -5s}", "cutover.fence_timeout"},
		{"negative kill_after", "cutover: {kill_after: -1m}", "cutover.kill_after"},
		{"zero max lag", "replication: {max_lag: 0s}", "replication.max_lag"},
		{"negative max lag", "replication: {max_lag: -1s}", "replication.max_lag"},
		{"zero replication catch-up", "replication: {catchup_timeout: 0s}", "replication.catchup_timeout"},
		{"negative poll", "aws: {poll_interval: -1s}", "aws.poll_interval"},
		{"unknown hook phase", "cutover: {hooks: [{phase: before-fnce, command: 'true'}]}", `unknown phase "before-fnce"`},
		{"hook without command", "cutover: {hooks: [{phase: after-switch}]}", "cutover.hooks[0].command"},
		{"app account without host", "cutover: {app_accounts: [app]}", "cutover.app_accounts[0]"},
		{"haproxy switch without backend", "cutover: {switch: {kind: haproxy, socket: /run/haproxy.sock}}", "kind haproxy needs socket and backend"},
		{"exec switch without command", "cutover: {switch: {kind: exec}}", "kind exec needs command"},
		{"route53 switch without record", "cutover: {switch: {kind: route53, zone_id: Z1}}", "kind route53 needs zone_id and record"},
		{"hook_env password", "cutover: {hook_env: [MYSQL_PWD]}", "MYSQL_PWD carries a password"},
		{"hook_env not a name", "cutover: {hook_env: [\"A B\"]}", "not a variable name"},
		{"hook_env the source's password_env", "cutover: {hook_env: [ORDERS_PW]}", "source.password_env"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := spec.Parse([]byte(base + c.yaml + "\n"))
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Parse = %v, want %q", err, c.wantErr)
			}
		})
	}
}

// The driver splits user:password at the LAST '@' before the address: a
// user name holding '@' must not hide a password from the check.
func TestParse_PasswordInDSNRefused(t *testing.T) {
	for _, dsn := range []string{
		"root:pw@tcp(127.0.0.1:3307)/",
		"us@er:pw@tcp(127.0.0.1:3307)/",
		"a@b@c:pw@tcp(127.0.0.1:3307)/app",
		"mysql://root:pw@127.0.0.1:3307/",
		"mysql://us%40er:pw@127.0.0.1:3307/",
	} {
		body := strings.Replace(base, `"dbshift@tcp(127.0.0.1:3307)/"`, `"`+dsn+`"`, 1)
		_, err := spec.Parse([]byte(body))
		if err == nil || !strings.Contains(err.Error(), "source.dsn: holds a password") {
			t.Errorf("%s: Parse = %v, want it refused", dsn, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: the error shows the password: %v", dsn, err)
		}
	}
	for _, dsn := range []string{"us@er@tcp(127.0.0.1:3307)/", "mysql://us%40er@127.0.0.1:3307/", "root@unix(/run/mysqld/mysqld.sock)/"} {
		body := strings.Replace(base, `"dbshift@tcp(127.0.0.1:3307)/"`, `"`+dsn+`"`, 1)
		if _, err := spec.Parse([]byte(body)); err != nil {
			t.Errorf("%s: %v", dsn, err)
		}
	}
}

// replication.tls takes the five modes of --tls (off kept as an alias of
// disabled) and replication.tls_ca, the CA file the target's server reads
// under verify-ca/verify-identity.
func TestParse_ReplicationTLS(t *testing.T) {
	for _, extra := range []string{
		"replication: {tls: disabled}",
		"replication: {tls: off}",
		"replication: {tls: preferred}",
		"replication: {tls: required}",
		"replication: {tls: verify-ca, tls_ca: /etc/mysql/ca.pem}",
		"replication: {tls: verify-identity, tls_ca: /etc/mysql/ca.pem}",
	} {
		s, err := spec.Parse([]byte(base + extra + "\n"))
		if err != nil {
			t.Errorf("%s: %v", extra, err)
			continue
		}
		if strings.Contains(extra, "tls_ca") && s.Replication.TLSCA != "/etc/mysql/ca.pem" {
			t.Errorf("%s: TLSCA = %q", extra, s.Replication.TLSCA)
		}
	}
	const aws = "provider: aws\naws: {region: eu-west-1, source_instance: db1}\n"
	for _, c := range []struct{ yaml, wantErr string }{
		{base + "replication: {tls: verify-full}", `replication.tls: "verify-full"`},
		{base + "replication: {tls: verify-ca}", "replication.tls_ca: required"},
		{base + "replication: {tls: required, tls_ca: /ca.pem}", "replication.tls_ca: only read under"},
		{strings.Replace(base, "provider: local\n", "", 1) + aws + "replication: {tls: verify-identity, tls_ca: /ca.pem}", "RDS"},
	} {
		_, err := spec.Parse([]byte(c.yaml + "\n"))
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%q: Parse = %v, want %q", c.yaml, err, c.wantErr)
		}
	}
}

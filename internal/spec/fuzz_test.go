package spec_test

import (
	"testing"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/spec"
)

// FuzzParse: a spec Parse accepts validates again as it is, holds no
// password in its source DSN, and durations that bound a fence are > 0.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	for _, extra := range []string{
		"cutover: {mode: auto, catchup_timeout: 2m, drain_timeout: 3s, fence_timeout: 1s, kill_after: 5s, app_accounts: [app@%], hook_env: [TOKEN], hooks: [{phase: after-switch, command: ./n.sh}], switch: {kind: exec, command: ./sw.sh}}",
		"replication: {max_lag: 0s}",
		"strategy: blue-green\nprovider: aws\naws: {region: us-east-1, source_instance: prod, parameter_group: green}\nblue_green: {switchover_timeout: 1m}",
		"maintenance: {on: 'true', off: 'true'}",
	} {
		f.Add([]byte(base + extra + "\n"))
	}
	f.Add([]byte("name: x\nsource: {dsn: \"us@er:pw@tcp(h:1)/\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := spec.Parse(b)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a spec Validate refuses: %v", err)
		}
		if _, has, err := dbconn.ParseDSN(s.Source.DSN); err != nil || has {
			t.Fatalf("Parse accepted source.dsn with a password or unparsable (%v)", err)
		}
		if s.Cutover.CatchupTimeout <= 0 || s.Cutover.DrainTimeout <= 0 || s.Cutover.FenceTimeout <= 0 || s.Replication.MaxLag <= 0 || s.Replication.Timeout <= 0 {
			t.Fatalf("Parse accepted a duration <= 0: %+v %+v", s.Replication, s.Cutover)
		}
		_ = s.Fingerprint()
	})
}

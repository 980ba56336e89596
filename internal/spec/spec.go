// Package spec reads a migration spec (YAML): the source, the provider, the
// strategy, what the target must become, replication and cutover settings,
// hooks. Secrets are referenced (an environment variable or a file), never
// written in the spec.
package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dbshift/dbshift/internal/childenv"
	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/dbconn"
)

// Spec is one migration.
type Spec struct {
	Name        string      `yaml:"name" json:"name"`
	Provider    string      `yaml:"provider" json:"provider"` // local | aws
	Strategy    string      `yaml:"strategy" json:"strategy"` // replica-snapshot | backup-clone
	Source      Server      `yaml:"source" json:"source"`
	Target      Target      `yaml:"target" json:"target"`
	Replication Replication `yaml:"replication" json:"replication"`
	Cutover     Cutover     `yaml:"cutover" json:"cutover"`
	// Maintenance, when set, runs the cutover as runbook 2's read-only
	// maintenance window (maintenance page, read checks, write checks).
	Maintenance *Maintenance `yaml:"maintenance" json:"maintenance,omitempty"`
	// BlueGreen tunes strategy blue-green.
	BlueGreen BlueGreen `yaml:"blue_green" json:"blue_green"`
	Local     Local     `yaml:"local" json:"local"`
	AWS       AWS       `yaml:"aws" json:"aws"`
	// Cleanup removes the temporary replica and snapshots once the target
	// replicates (default true).
	Cleanup *bool `yaml:"cleanup" json:"cleanup"`
}

// Server is how to reach a server; the password is referenced.
type Server struct {
	DSN          string `yaml:"dsn" json:"dsn"`
	PasswordEnv  string `yaml:"password_env" json:"password_env,omitempty"`
	PasswordFile string `yaml:"password_file" json:"password_file,omitempty"`
}

// Target is what the new instance must become.
type Target struct {
	ID            string            `yaml:"id" json:"id"`
	Encrypted     bool              `yaml:"encrypted" json:"encrypted"`
	KMSKeyID      string            `yaml:"kms_key_id" json:"kms_key_id,omitempty"`
	EngineVersion string            `yaml:"engine_version" json:"engine_version,omitempty"`
	InstanceClass string            `yaml:"instance_class" json:"instance_class,omitempty"`
	Parameters    map[string]string `yaml:"parameters" json:"parameters,omitempty"`
}

// Replication settings.
type Replication struct {
	User string `yaml:"user" json:"user"`
	Host string `yaml:"host" json:"host"` // host pattern of the account on the source
	// TLS is a --tls mode for the replication the run sets up: disabled
	// (off), preferred, required, verify-ca, verify-identity. TLSCA is the
	// CA file the target's server process reads, on its own machine, under
	// verify-ca/verify-identity.
	TLS     string        `yaml:"tls" json:"tls"`
	TLSCA   string        `yaml:"tls_ca" json:"tls_ca,omitempty"`
	MaxLag  time.Duration `yaml:"max_lag" json:"max_lag"`
	Timeout time.Duration `yaml:"catchup_timeout" json:"catchup_timeout"`
	// SourceAddr is how the target reaches the source, when not the DSN's.
	SourceAddr string `yaml:"source_addr" json:"source_addr,omitempty"`
}

// Cutover settings; Mode auto runs the cutover at the end of the run,
// manual (default) stops before it so the operator picks the moment.
type Cutover struct {
	Mode           string        `yaml:"mode" json:"mode"`
	KeepReadOnly   bool          `yaml:"keep_read_only" json:"keep_read_only"`
	Reverse        bool          `yaml:"reverse" json:"reverse"`
	CatchupTimeout time.Duration `yaml:"catchup_timeout" json:"catchup_timeout"`
	DrainTimeout   time.Duration `yaml:"drain_timeout" json:"drain_timeout"`
	FenceTimeout   time.Duration `yaml:"fence_timeout" json:"fence_timeout"`
	KillAfter      time.Duration `yaml:"kill_after" json:"kill_after"`
	AppAccounts    []string      `yaml:"app_accounts" json:"app_accounts,omitempty"`
	Switch         Switch        `yaml:"switch" json:"switch"`
	Hooks          []Hook        `yaml:"hooks" json:"hooks,omitempty"`
	// HookEnv names variables of dbshift's environment the hooks and the
	// exec switch also get; they get no other (childenv).
	HookEnv []string `yaml:"hook_env" json:"hook_env,omitempty"`
}

// Switch says how traffic moves.
type Switch struct {
	Kind    string `yaml:"kind" json:"kind"` // none | haproxy | exec | route53
	Socket  string `yaml:"socket" json:"socket,omitempty"`
	Backend string `yaml:"backend" json:"backend,omitempty"`
	Command string `yaml:"command" json:"command,omitempty"`
	ZoneID  string `yaml:"zone_id" json:"zone_id,omitempty"`
	Record  string `yaml:"record" json:"record,omitempty"`
}

// Hook is a command run at a cutover phase.
type Hook struct {
	Phase   string `yaml:"phase" json:"phase"`
	Command string `yaml:"command" json:"command"`
}

// Maintenance is the read-only window's user commands (sh -c).
type Maintenance struct {
	On          string `yaml:"on" json:"on"`
	ReadChecks  string `yaml:"read_checks" json:"read_checks"`
	WriteChecks string `yaml:"write_checks" json:"write_checks"`
	Off         string `yaml:"off" json:"off"`
	PointBack   bool   `yaml:"point_back" json:"point_back"`
}

// BlueGreen is strategy blue-green's settings: an RDS blue/green
// deployment at target.engine_version with aws.parameter_group on green,
// proven before the switchover and switched read-only.
type BlueGreen struct {
	// SwitchoverTimeout is RDS's own bound: past it RDS rolls the
	// switchover back (30s to 1h; default 5m).
	SwitchoverTimeout time.Duration `yaml:"switchover_timeout" json:"switchover_timeout,omitempty"`
	// CheckVersion is the upgrade checks' target series (8.0 or 8.4);
	// default: target.engine_version's when it is one of them, else none.
	CheckVersion string `yaml:"check_version" json:"check_version,omitempty"`
	// CompareLogs are general/slow logs whose SELECTs run on blue and green
	// before the switchover; any difference stops the run.
	CompareLogs []string `yaml:"compare_logs" json:"compare_logs,omitempty"`
	// WarningsFail makes upgrade-check warnings stop the run too.
	WarningsFail bool `yaml:"warnings_fail" json:"warnings_fail,omitempty"`
}

// Local provider settings.
type Local struct {
	SandboxDir string `yaml:"sandbox_dir" json:"sandbox_dir"`
}

// AWS provider settings.
type AWS struct {
	Region           string   `yaml:"region" json:"region"`
	Profile          string   `yaml:"profile" json:"profile,omitempty"`
	SourceInstance   string   `yaml:"source_instance" json:"source_instance"`
	ParameterGroup   string   `yaml:"parameter_group" json:"parameter_group,omitempty"`
	SubnetGroup      string   `yaml:"subnet_group" json:"subnet_group,omitempty"`
	SecurityGroupIDs []string `yaml:"security_group_ids" json:"security_group_ids,omitempty"`
	Endpoint         string   `yaml:"endpoint" json:"endpoint,omitempty"` // tests: a local server speaking the API
	// PollInterval is the first pause between two polls of a wait (default
	// 5s, growing 1.5x per poll up to 6x it). Tests against a fake whose
	// clock runs fast set it to milliseconds.
	PollInterval time.Duration `yaml:"poll_interval" json:"poll_interval,omitempty"`
}

// Parse reads and validates a spec.
func Parse(b []byte) (*Spec, error) {
	// Durations start at their defaults and the YAML overwrites what it
	// names, so an explicit 0 stays 0 and is refused (it would mean "wait
	// forever" with the source fenced), while an absent key keeps the default.
	s := Spec{
		Replication: Replication{MaxLag: time.Second, Timeout: time.Hour},
		Cutover:     Cutover{CatchupTimeout: 30 * time.Second, DrainTimeout: 10 * time.Second, FenceTimeout: 5 * time.Second},
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	s.defaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Spec) defaults() {
	if s.Strategy == "" {
		s.Strategy = "replica-snapshot"
	}
	if s.Replication.User == "" {
		s.Replication.User = "dbshift_repl"
	}
	if s.Replication.TLS == "" {
		s.Replication.TLS = "preferred"
	}
	if s.Cutover.Mode == "" {
		s.Cutover.Mode = "manual"
	}
	if s.Cutover.Switch.Kind == "" {
		s.Cutover.Switch.Kind = "none"
	}
	if s.Cleanup == nil {
		t := true
		s.Cleanup = &t
	}
	if s.Source.PasswordEnv == "" && s.Source.PasswordFile == "" {
		s.Source.PasswordEnv = "DBSHIFT_SOURCE_PASSWORD"
	}
}

// Validate names every problem at once.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Name == "" {
		bad("name: required")
	}
	if !slices.Contains([]string{"local", "aws"}, s.Provider) {
		bad("provider: %q, want local or aws", s.Provider)
	}
	if !slices.Contains([]string{"replica-snapshot", "backup-clone", "blue-green"}, s.Strategy) {
		bad("strategy: %q, want replica-snapshot, backup-clone or blue-green", s.Strategy)
	}
	if s.Strategy == "blue-green" {
		if s.Provider != "aws" {
			bad("strategy blue-green needs provider aws (an RDS blue/green deployment)")
		}
		if s.AWS.ParameterGroup == "" {
			bad("aws.parameter_group: required with strategy blue-green: green's own DB parameter group, where dbshift keeps read_only=1 through the switchover")
		} else if strings.HasPrefix(s.AWS.ParameterGroup, "default.") {
			bad("aws.parameter_group: %s is a default group, which RDS does not let anyone modify; create a custom one for green", s.AWS.ParameterGroup)
		}
		if t := s.BlueGreen.SwitchoverTimeout; t != 0 && (t < 30*time.Second || t > time.Hour) {
			bad("blue_green.switchover_timeout: %s, want 30s to 1h (RDS's range)", t)
		}
		if v := s.BlueGreen.CheckVersion; v != "" && v != "8.0" && v != "8.4" && v != "none" {
			bad("blue_green.check_version: %q, want 8.0, 8.4 or none", v)
		}
		if s.Target.Encrypted {
			bad("target.encrypted: a blue/green deployment keeps blue's storage encryption; use strategy replica-snapshot to encrypt")
		}
	} else if len(s.BlueGreen.CompareLogs) > 0 || s.BlueGreen.CheckVersion != "" || s.BlueGreen.SwitchoverTimeout != 0 {
		bad("blue_green: only with strategy blue-green")
	}
	if s.Strategy == "backup-clone" && s.Provider == "aws" {
		bad("strategy backup-clone needs provider local (RDS offers no physical backup of its own files)")
	}
	if s.Source.DSN == "" {
		bad("source.dsn: required")
	}
	// Split the way the driver does (the password ends at the last '@'
	// before the address): a user name holding '@' must not hide one.
	if _, hasPassword, err := dbconn.ParseDSN(s.Source.DSN); err == nil && hasPassword {
		bad("source.dsn: holds a password; reference it with password_env or password_file instead")
	} else if err != nil && s.Source.DSN != "" {
		bad("source.dsn: %v", err)
	}
	if s.Target.ID == "" {
		bad("target.id: required")
	}
	if !slices.Contains([]string{"manual", "auto"}, s.Cutover.Mode) {
		bad("cutover.mode: %q, want manual or auto", s.Cutover.Mode)
	}
	if !slices.Contains([]string{"none", "haproxy", "exec", "route53"}, s.Cutover.Switch.Kind) {
		bad("cutover.switch.kind: %q, want none, haproxy, exec or route53", s.Cutover.Switch.Kind)
	}
	s.validateReplicationTLS(bad)
	switch s.Provider {
	case "local":
		if s.Local.SandboxDir == "" {
			bad("local.sandbox_dir: required with provider local (where new instances are created)")
		}
	case "aws":
		if s.AWS.Region == "" {
			bad("aws.region: required")
		}
		if s.AWS.SourceInstance == "" {
			bad("aws.source_instance: required")
		}
		if s.Target.Encrypted && s.Target.KMSKeyID == "" {
			bad("target.kms_key_id: required to encrypt on aws")
		}
	}
	s.validateCutover(bad)
	if len(errs) > 0 {
		return fmt.Errorf("spec: %w", errors.Join(errs...))
	}
	return nil
}

// validateReplicationTLS checks replication.tls and tls_ca as Setup would
// at the replicate step, so plan refuses them too.
func (s *Spec) validateReplicationTLS(bad func(format string, args ...any)) {
	mode, err := dbconn.ParseTLSMode(s.Replication.TLS)
	if err != nil {
		bad("replication.tls: %q, want %s (off = disabled)", s.Replication.TLS, strings.Join(dbconn.TLSModes(), ", "))
		return
	}
	switch {
	case dbconn.TLSVerifies(mode) && s.Provider == "aws":
		// RDS's replication procedures take no CA.
		bad("replication.tls: %s: replication into RDS can be encrypted (required) but not verified", mode)
	case dbconn.TLSVerifies(mode) && s.Replication.TLSCA == "":
		bad("replication.tls_ca: required with replication.tls %s (the CA file the target's server verifies the source with, a path on the target's machine)", mode)
	case !dbconn.TLSVerifies(mode) && s.Replication.TLSCA != "":
		bad("replication.tls_ca: only read under replication.tls verify-ca or verify-identity, not %s", mode)
	}
}

// validateCutover checks what a run would otherwise only find at its
// cutover, hours in: every duration that bounds a fence, hook phases and
// the variables hooks may get, the accounts an account fence locks.
func (s *Spec) validateCutover(bad func(format string, args ...any)) {
	positive := []struct {
		key string
		d   time.Duration
	}{
		{"replication.max_lag", s.Replication.MaxLag},
		{"replication.catchup_timeout", s.Replication.Timeout},
		{"cutover.catchup_timeout", s.Cutover.CatchupTimeout},
		{"cutover.drain_timeout", s.Cutover.DrainTimeout},
		{"cutover.fence_timeout", s.Cutover.FenceTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			bad("%s: %s, want a duration > 0 (it bounds a wait, some with the source fenced)", p.key, p.d)
		}
	}
	if s.Cutover.KillAfter < 0 {
		bad("cutover.kill_after: %s, want a duration > 0, or 0 (the default) never to kill", s.Cutover.KillAfter)
	}
	if s.AWS.PollInterval < 0 {
		bad("aws.poll_interval: %s, want a duration > 0, or leave it out for the default", s.AWS.PollInterval)
	}
	for i, h := range s.Cutover.Hooks {
		if !slices.Contains(cutover.HookPhases, h.Phase) {
			bad("cutover.hooks[%d].phase: unknown phase %q, want one of %s", i, h.Phase, strings.Join(cutover.HookPhases, ", "))
		}
		if strings.TrimSpace(h.Command) == "" {
			bad("cutover.hooks[%d].command: required", i)
		}
	}
	switch sw := s.Cutover.Switch; sw.Kind {
	case "haproxy":
		if sw.Socket == "" || sw.Backend == "" {
			bad("cutover.switch: kind haproxy needs socket and backend")
		}
	case "exec":
		if strings.TrimSpace(sw.Command) == "" {
			bad("cutover.switch: kind exec needs command")
		}
	case "route53":
		if sw.ZoneID == "" || sw.Record == "" {
			bad("cutover.switch: kind route53 needs zone_id and record")
		}
	}
	for i, a := range s.Cutover.AppAccounts {
		if _, err := cutover.ParseAccount(a); err != nil {
			bad("cutover.app_accounts[%d]: %v", i, err)
		}
	}
	for i, n := range s.Cutover.HookEnv {
		if err := childenv.CheckName(n); err != nil {
			bad("cutover.hook_env[%d]: %v", i, err)
		} else if n == s.Source.PasswordEnv {
			bad("cutover.hook_env[%d]: %s is source.password_env: it is never passed to a command", i, n)
		}
	}
}

// Fingerprint hashes the parts of the spec that decide what a run creates
// and where it replicates from; resume refuses a spec whose fingerprint
// changed. Cutover settings and hooks may change between run and cutover.
func (s *Spec) Fingerprint() string {
	b, _ := json.Marshal(struct {
		Name, Provider, Strategy string
		Source                   string
		Target                   Target
		Repl                     string
		Local                    Local
		AWS                      AWS
		BlueGreen                BlueGreen
	}{s.Name, s.Provider, s.Strategy, s.Source.DSN, s.Target, s.Replication.User + "@" + s.Replication.Host, s.Local, s.AWS, s.BlueGreen})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// CleanupEnabled reports whether temporary resources are removed.
func (s *Spec) CleanupEnabled() bool { return s.Cleanup == nil || *s.Cleanup }

package strategy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/preflight"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/spec"
)

// fstep is a Step made of functions; each strategy lists them in order.
type fstep struct {
	info func() Info
	done func(context.Context, *Env) (bool, error)
	do   func(context.Context, *Env) error
	undo func(context.Context, *Env) error
}

func (s fstep) Info() Info { return s.info() }
func (s fstep) Done(ctx context.Context, e *Env) (bool, error) {
	if s.done == nil {
		return false, nil
	}
	return s.done(ctx, e)
}
func (s fstep) Do(ctx context.Context, e *Env) error { return s.do(ctx, e) }
func (s fstep) Undo(ctx context.Context, e *Env) error {
	if s.undo == nil {
		return nil
	}
	return s.undo(ctx, e)
}

// Build returns the steps of the spec's strategy.
func Build(s *spec.Spec) ([]Step, error) {
	switch s.Strategy {
	case "replica-snapshot":
		return replicaSnapshot(s), nil
	case "backup-clone":
		return backupClone(s), nil
	case "blue-green":
		return blueGreen(s), nil
	}
	return nil, fmt.Errorf("unknown strategy %q", s.Strategy)
}

func aws(s *spec.Spec) bool { return s.Provider == "aws" }

// Step names shared by the strategies (journal keys).
const (
	StepPreflight    = "preflight"
	StepRetention    = "binlog-retention"
	StepCreateRepl   = "create-replica"
	StepReplicaSync  = "replica-caught-up"
	StepCapture      = "stop-and-capture"
	StepSnapshot     = "snapshot"
	StepCopy         = "copy-encrypted"
	StepBackup       = "backup"
	StepRestore      = "restore-target"
	StepVerify       = "verify-encryption"
	StepReplicate    = "start-replication"
	StepTargetInSync = "target-in-sync"
	StepCleanup      = "cleanup"
	StepCutover      = "cutover"
)

func preflightStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			return Info{Name: StepPreflight, Summary: "check binlog format, row image, retention, server_id, TLS and privileges on the source",
				Touches: []string{"source (read only)"}, Precondition: "source reachable", Undoable: true,
				Arrows: []Arrow{{PDBShift, PSource, "preflight checks"}}}
		},
		do: func(ctx context.Context, e *Env) error {
			src, err := e.Source(ctx)
			if err != nil {
				return err
			}
			minRet := 24 * time.Hour
			if src.Flavor.RDS {
				minRet = 168 * time.Hour // the binlog-retention step raises it
			}
			rep, err := preflight.Run(ctx, src, nil, preflight.Options{MinRetention: minRet})
			if err != nil {
				return err
			}
			for _, f := range rep.Findings {
				if f.Status == preflight.Fail && !(f.Check == "binlog_retention" && src.Flavor.RDS) {
					return fmt.Errorf("preflight: %s: %s (fix: %s)", f.Check, f.Message, f.Fix)
				}
			}
			return nil
		},
	}
}

func retentionStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			return Info{Name: StepRetention, Summary: "keep the source's binlogs for at least 168 h so the snapshot's position stays available (RDS; a longer retention is kept)",
				Touches: []string{"source configuration"}, Precondition: "preflight passed", Undoable: false,
				Calls: sqlCalls(aws(s), "CALL mysql.rds_show_configuration() -> binlog retention hours",
					"CALL mysql.rds_set_configuration('binlog retention hours', 168) (only when shorter)"),
				Arrows: []Arrow{{PDBShift, PSource, "binlog retention 168 h"}}}
		},
		do: func(ctx context.Context, e *Env) error {
			src, err := e.Source(ctx)
			if err != nil {
				return err
			}
			if !src.Flavor.RDS {
				e.Log.Info("binlog retention is the server's own setting (preflight checked it)")
				return nil
			}
			cur, err := rdsRetentionHours(ctx, src)
			if err != nil {
				return err
			}
			if cur >= rdsRetentionWant {
				// Lowering a longer retention could cut another consumer's
				// binlogs (another replica, CDC): keep it.
				e.Log.Info("binlog retention already long enough", "hours", cur)
				return nil
			}
			_, err = src.DB.ExecContext(ctx, "CALL mysql.rds_set_configuration('binlog retention hours', ?)", rdsRetentionWant)
			return err
		},
	}
}

// rdsRetentionWant is the binlog retention (hours) the snapshot's position
// needs to outlive a long restore.
const rdsRetentionWant = 168

// rdsRetentionHours reads RDS's binlog retention (0 when unset: RDS then
// purges binlogs as soon as it can).
func rdsRetentionHours(ctx context.Context, c *dbconn.Conn) (int, error) {
	rows, err := c.DB.QueryContext(ctx, "CALL mysql.rds_show_configuration()")
	if err != nil {
		return 0, fmt.Errorf("reading the binlog retention: %w", err)
	}
	defer rows.Close()
	hours := 0
	for rows.Next() {
		var name string
		var value, desc sql.NullString
		if err := rows.Scan(&name, &value, &desc); err != nil {
			return 0, fmt.Errorf("reading the binlog retention: %w", err)
		}
		if name == "binlog retention hours" && value.Valid {
			hours, _ = strconv.Atoi(value.String)
		}
	}
	return hours, rows.Err()
}

func sqlCalls(on bool, calls ...string) []string {
	if !on {
		return nil
	}
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = "sql: " + c
	}
	return out
}

func coordsFromJournal(e *Env, step string) (replication.Coordinates, bool) {
	ent, ok := e.Journal.Last(step, "data")
	if !ok || ent.Data["file"] == "" {
		return replication.Coordinates{}, false
	}
	pos, _ := strconv.ParseUint(ent.Data["pos"], 10, 64)
	return replication.Coordinates{File: ent.Data["file"], Position: pos, GTID: ent.Data["gtid"]}, true
}

func coordData(c replication.Coordinates) map[string]string {
	return map[string]string{"file": c.File, "pos": strconv.FormatUint(c.Position, 10), "gtid": c.GTID}
}

func restoreStep(s *spec.Spec, from string) Step {
	return fstep{
		info: func() Info {
			in := Info{Name: StepRestore, Summary: "restore the " + from + " as the new target instance " + s.Target.ID,
				Touches: []string{"new instance " + s.Target.ID}, Precondition: "the " + from + " is available", Undoable: true,
				Arrows: []Arrow{{PEncrypted, PTarget, "restore as " + s.Target.ID}}}
			if from == "backup" {
				in.Arrows = []Arrow{{PSnapshot, PTarget, "restore encrypted as " + s.Target.ID}}
			}
			if aws(s) {
				in.Calls = []string{fmt.Sprintf("rds:RestoreDBInstanceFromDBSnapshot DBInstanceIdentifier=%s DBSnapshotIdentifier=%s-%s DBInstanceClass=%s (default: the source's) DBSubnetGroupName/VpcSecurityGroupIds/DBParameterGroupName copied from %s Tags=%s",
					s.Target.ID, s.Target.ID, provider.RoleEncryptedCopy, orDefault(s.Target.InstanceClass, "source's"), s.AWS.SourceInstance, tags(provider.RoleTarget)),
					"rds:DescribeDBInstances (waiter: available)"}
				if g := s.AWS.ParameterGroup; g != "" {
					in.Calls = append([]string{"rds:ModifyDBParameterGroup DBParameterGroupName=" + g + " read_only=1 ApplyMethod=immediate (the target starts read-only)"}, in.Calls...)
				}
			}
			return in
		},
		done: func(ctx context.Context, e *Env) (bool, error) {
			inst, ok, err := e.instance(ctx, provider.RoleTarget)
			return ok && ready(inst.Status), err
		},
		do: func(ctx context.Context, e *Env) error {
			role := provider.RoleEncryptedCopy
			if from == "backup" {
				role = provider.RoleSnapshot
			}
			snap, ok, err := e.snapshot(ctx, role)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("the %s of run %s is gone: abort and run again", from, e.RunID)
			}
			src, err := e.Provider.Source(ctx)
			if err != nil {
				return err
			}
			bar := e.progress("restore", 100)
			inst, err := e.Provider.Restore(ctx, snap, provider.TargetRequest{
				RunID: e.RunID, ID: s.Target.ID, Encrypted: s.Target.Encrypted, InstanceClass: s.Target.InstanceClass,
				EngineVersion: s.Target.EngineVersion, Parameters: s.Target.Parameters, CopyFrom: src,
			}, func(p int, st string) { bar.Update(int64(p), st) })
			if err != nil {
				bar.Done("failed")
				return err
			}
			bar.Done("target " + inst.ID + " at " + inst.Addr)
			return e.record(StepRestore, map[string]string{"id": inst.ID, "addr": inst.Addr})
		},
		undo: func(ctx context.Context, e *Env) error {
			inst, ok, err := e.instance(ctx, provider.RoleTarget)
			if err != nil || !ok {
				return err
			}
			return e.Provider.DeleteInstance(ctx, inst)
		},
	}
}

func verifyStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			in := Info{Name: StepVerify, Summary: "prove the target's storage is encrypted at rest",
				Touches: []string{s.Target.ID + " (read only)"}, Precondition: "target available", Undoable: true,
				Arrows: []Arrow{{PDBShift, PTarget, "verify encrypted at rest"}}}
			if aws(s) {
				in.Calls = []string{"rds:DescribeDBInstances DBInstanceIdentifier=" + s.Target.ID + " (expect StorageEncrypted=true, KmsKeyId=" + s.Target.KMSKeyID + ")"}
			} else {
				in.Calls = nil
				in.Summary += " (every InnoDB tablespace in INNODB_TABLESPACES_ENCRYPTION)"
			}
			return in
		},
		do: func(ctx context.Context, e *Env) error {
			if !s.Target.Encrypted {
				return nil
			}
			inst, ok, err := e.instance(ctx, provider.RoleTarget)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("no target instance to verify")
			}
			bar := e.progress("encryption", 100)
			var st provider.EncryptionStatus
			err = provider.Poll(ctx, 500*time.Millisecond, func() (bool, error) {
				var err error
				st, err = e.Provider.VerifyEncrypted(ctx, inst)
				if st.Total > 0 {
					bar.Update(int64(100*st.Done/st.Total), st.Detail)
				}
				return st.Encrypted, err
			})
			if err != nil {
				bar.Done("failed")
				return fmt.Errorf("verifying encryption of %s: %w", inst.ID, err)
			}
			bar.Done(st.Detail)
			return e.record(StepVerify, map[string]string{"detail": st.Detail})
		},
	}
}

func replicateStep(s *spec.Spec, coordsStep string) Step {
	return fstep{
		info: func() Info {
			host := orDefault(s.Replication.Host, "the target's address")
			if aws(s) {
				host = orDefault(s.Replication.Host, "the target endpoint's IPv4 address")
			}
			in := Info{Name: StepReplicate, Summary: "create replication user " + s.Replication.User + "@" + host + " on the source; the target replicates from the recorded coordinates (TLS " + s.Replication.TLS + "), read-only",
				Touches: []string{"source: replication account", s.Target.ID + ": replication configuration, read_only"}, Precondition: "coordinates recorded; target restored", Undoable: true,
				Arrows: []Arrow{{PDBShift, PSource, "CREATE USER " + s.Replication.User + " (REPLICATION SLAVE, REPLICATION CLIENT)"}, {PTarget, PSource, "replicate from the recorded file:pos"}}}
			if aws(s) {
				in.Calls = sqlCalls(true, "CREATE USER '"+s.Replication.User+"'@'"+host+"' ... REQUIRE SSL (on the source)",
					"CALL mysql.rds_set_external_master(source host, port, '"+s.Replication.User+"', <generated>, FILE, POS, 1) (on the target)",
					"CALL mysql.rds_start_replication (on the target)")
			}
			return in
		},
		done: func(ctx context.Context, e *Env) (bool, error) {
			if !e.Journal.Done(StepReplicate) {
				return false, nil
			}
			inst, ok, err := e.instance(ctx, provider.RoleTarget)
			if err != nil || !ok {
				return false, err
			}
			tgt, err := e.InstanceConn(ctx, inst)
			if err != nil {
				return false, err
			}
			st, err := replication.ReadStatus(ctx, tgt)
			return err == nil && st.Running(), err
		},
		do: func(ctx context.Context, e *Env) error {
			co, ok := coordsFromJournal(e, coordsStep)
			if !ok {
				return fmt.Errorf("no recorded coordinates in the journal (step %s)", coordsStep)
			}
			src, err := e.Source(ctx)
			if err != nil {
				return err
			}
			inst, ok, err := e.instance(ctx, provider.RoleTarget)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("no target instance")
			}
			tgt, err := e.InstanceConn(ctx, inst)
			if err != nil {
				return err
			}
			if st, err := replication.ReadStatus(ctx, tgt); err == nil && st.Configured {
				// A resumed run, or a snapshot that carried a replica's
				// configuration: start from the recorded coordinates again.
				if err := replication.Reset(ctx, tgt); err != nil {
					return err
				}
			}
			replHost := s.Replication.Host
			if replHost == "" && aws(s) {
				if replHost, err = endpointIP(ctx, tgt.Host()); err != nil {
					return err
				}
			}
			res, err := replication.Setup(ctx, src, tgt, replication.SetupOptions{
				From: co, ReplUser: s.Replication.User, ReplHost: replHost, TLS: s.Replication.TLS, TLSCA: s.Replication.TLSCA, SourceAddr: s.Replication.SourceAddr,
			})
			if err != nil {
				return err
			}
			return e.record(StepReplicate, map[string]string{"repl_user": res.ReplUser, "tls": strconv.FormatBool(res.TLS), "from": co.String()})
		},
		undo: func(ctx context.Context, e *Env) error {
			var errs []error
			if inst, ok, err := e.instance(ctx, provider.RoleTarget); err == nil && ok {
				if tgt, err := e.InstanceConn(ctx, inst); err == nil {
					if st, err := replication.ReadStatus(ctx, tgt); err == nil && st.Configured {
						errs = append(errs, replication.Reset(ctx, tgt))
					}
				}
			}
			if src, err := e.Source(ctx); err == nil {
				host := s.Replication.Host
				if host == "" {
					if v, ok := e.Journal.Value(StepReplicate, "repl_user"); ok {
						host = hostOf(v)
					}
				}
				if host != "" {
					errs = append(errs, replication.DropUser(ctx, src, s.Replication.User, host))
				}
			} else {
				errs = append(errs, err)
			}
			return errors.Join(errs...)
		},
	}
}

func inSyncStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			return Info{Name: StepTargetInSync, Summary: fmt.Sprintf("wait until the target's lag stays under %s (heartbeat, bytes)", s.Replication.MaxLag),
				Touches: []string{"source: _dbshift.heartbeat"}, Precondition: "target replicating", Undoable: true,
				Arrows: []Arrow{{PSource, PTarget, "catch up (lag < " + s.Replication.MaxLag.String() + ")"}}}
		},
		do: func(ctx context.Context, e *Env) error {
			src, err := e.Source(ctx)
			if err != nil {
				return err
			}
			inst, ok, err := e.instance(ctx, provider.RoleTarget)
			if err != nil || !ok {
				return fmt.Errorf("no target instance: %v", err)
			}
			tgt, err := e.InstanceConn(ctx, inst)
			if err != nil {
				return err
			}
			return waitInSync(ctx, e, src, tgt, "catch-up", s.Replication.MaxLag, s.Replication.Timeout)
		},
	}
}

func cutoverStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			sum := "stop: the operator starts the cutover with `dbshift cutover --state DIR`"
			if s.Cutover.Mode == "auto" {
				sum = "cut over now: fence the source, drain, catch up exactly, promote the target, switch traffic (" + s.Cutover.Switch.Kind + ")"
			}
			if s.Maintenance != nil {
				sum += "; as a read-only maintenance window: maintenance on, switch while read-only, read checks, open writes, write checks, then " + map[bool]string{true: "point back", false: "keep the target"}[s.Maintenance.PointBack]
			}
			in := Info{Name: StepCutover, Summary: sum, Touches: []string{"source: read_only", s.Target.ID + ": writable", "traffic"},
				Precondition: "target in sync", Undoable: false, PointOfNoReturn: true,
				Arrows: []Arrow{{PDBShift, PSource, "fence (read_only), drain, record final coordinates"}, {PTarget, PSource, "execute exactly the final coordinates"},
					{PDBShift, PTarget, "promote: reset replication, writable"}, {PDBShift, PApp, "switch traffic (" + s.Cutover.Switch.Kind + ")"}}}
			if aws(s) {
				in.Calls = awsCutoverCalls(s)
			}
			return in
		},
		done: func(ctx context.Context, e *Env) (bool, error) { return e.Journal.Done(StepCutover), nil },
		do: func(ctx context.Context, e *Env) error {
			src, err := e.Source(ctx)
			if err != nil {
				return err
			}
			inst, ok, err := e.instance(ctx, provider.RoleTarget)
			if err != nil || !ok {
				return fmt.Errorf("no target instance: %v", err)
			}
			tgt, err := e.InstanceConn(ctx, inst)
			if err != nil {
				return err
			}
			if e.Cutover == nil {
				return errors.New("no cutover runner configured")
			}
			return e.Cutover(ctx, src, tgt)
		},
	}
}

func waitInSync(ctx context.Context, e *Env, src, tgt *dbconn.Conn, label string, maxLag, timeout time.Duration) error {
	bar := e.progress(label, -1)
	lag, err := replication.WaitCaughtUp(ctx, src, tgt, replication.WaitOptions{
		MaxLag: maxLag, Stable: 2 * time.Second, Timeout: timeout,
		Progress: func(l replication.Lag, _ replication.Status) {
			bar.Update(-1, fmt.Sprintf("heartbeat lag %s, %d bytes behind", l.Heartbeat.Round(time.Millisecond), l.BytesBehind))
		},
	})
	if err != nil {
		bar.Done("failed")
		return err
	}
	bar.Done(fmt.Sprintf("in sync: heartbeat lag %s", lag.Heartbeat.Round(time.Millisecond)))
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func tags(role string) string {
	return "[" + provider.TagRunID + "=<run id>, " + provider.TagRole + "=" + role + "]"
}

func hostOf(acct string) string {
	// 'user'@'host'
	for i := len(acct) - 1; i >= 0; i-- {
		if acct[i] == '@' {
			h := acct[i+1:]
			if len(h) >= 2 && h[0] == '\'' {
				h = h[1 : len(h)-1]
			}
			return h
		}
	}
	return ""
}

// endpointIP is the IPv4 address an RDS endpoint name resolves to. The
// source sees the target's replication connection from that address, not
// from the name (RDS runs with skip_name_resolve), so an account for the
// name would be refused. Set replication.host (the VPC's pattern, e.g.
// 10.0.%) where the address can change (Multi-AZ failover).
func endpointIP(ctx context.Context, host string) (string, error) {
	if net.ParseIP(host) != nil {
		return host, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", fmt.Errorf("resolving the target endpoint %s for the replication account's host (or set replication.host): %w", host, err)
	}
	for _, a := range addrs {
		if v4 := a.IP.To4(); v4 != nil {
			return v4.String(), nil
		}
	}
	return "", fmt.Errorf("the target endpoint %s has no IPv4 address: set replication.host", host)
}

// awsCutoverCalls are the cutover's control-plane calls on RDS.
func awsCutoverCalls(s *spec.Spec) []string {
	var calls []string
	if len(s.Cutover.AppAccounts) > 0 {
		calls = sqlCalls(true, "ALTER USER "+strings.Join(s.Cutover.AppAccounts, ", ")+" ACCOUNT LOCK; CALL mysql.rds_kill(<session>) (on the source)")
	} else {
		calls = []string{"rds:ModifyDBParameterGroup DBParameterGroupName=<" + s.AWS.SourceInstance + "'s own custom group> read_only=1 ApplyMethod=immediate (then ParameterApplyStatus in-sync and @@read_only=1 on the source)"}
	}
	calls = append(calls, sqlCalls(true, "CALL mysql.rds_reset_external_master (on the target)")...)
	if g := s.AWS.ParameterGroup; g != "" {
		calls = append(calls, "rds:ModifyDBParameterGroup DBParameterGroupName="+g+" read_only=0 ApplyMethod=immediate",
			"rds:DescribeDBInstances DBInstanceIdentifier="+s.Target.ID+" (ParameterApplyStatus in-sync; then @@read_only=0)")
	} else {
		calls = append(calls, "(no aws.parameter_group: the target shares the source's group and cannot be opened; the cutover gate refuses it)")
	}
	if sw := s.Cutover.Switch; sw.Kind == "route53" {
		calls = append(calls, fmt.Sprintf("route53:ChangeResourceRecordSets HostedZoneId=%s UPSERT CNAME %s -> %s endpoint TTL=5", sw.ZoneID, sw.Record, s.Target.ID),
			"route53:GetChange (until INSYNC)")
	}
	if !s.Cutover.Reverse {
		calls = append(calls, fmt.Sprintf("ec2:CreateSecurityGroup GroupName=dbshift-fence-<run id> VpcId=(from %s's subnet group) Tags=%s", s.AWS.SourceInstance, tags(provider.RoleFenceGroup)),
			"ec2:RevokeSecurityGroupEgress (all: the group allows nothing)",
			"rds:ModifyDBInstance DBInstanceIdentifier="+s.AWS.SourceInstance+" VpcSecurityGroupIds=[fence] ApplyImmediately=true (until only the fence is active)")
	}
	return calls
}

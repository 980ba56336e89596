package strategy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/spec"
)

// replicaSnapshot is runbook 1: a snapshot records no binlog position, so
// it is taken of a temporary replica stopped at known coordinates.
func replicaSnapshot(s *spec.Spec) []Step {
	return []Step{
		preflightStep(s),
		retentionStep(s),
		createReplicaStep(s),
		replicaSyncStep(s),
		captureStep(s),
		snapshotStep(s, provider.RoleTempReplica),
		copyStep(s),
		restoreStep(s, "encrypted snapshot copy"),
		verifyStep(s),
		replicateStep(s, StepCapture),
		inSyncStep(s),
		cleanupStep(s),
		cutoverStep(s),
	}
}

func createReplicaStep(s *spec.Spec) Step {
	id := s.Target.ID + "-temp-replica"
	return fstep{
		info: func() Info {
			in := Info{Name: StepCreateRepl, Summary: "create temporary replica " + id + " of the source",
				Touches: []string{"new instance " + id}, Precondition: "binlog retention set", Undoable: true,
				Arrows: []Arrow{{PDBShift, PReplica, "create read replica of Source"}, {PSource, PReplica, "replicate"}}}
			if aws(s) {
				in.Calls = []string{
					fmt.Sprintf("rds:CreateDBInstanceReadReplica DBInstanceIdentifier=%s SourceDBInstanceIdentifier=%s Tags=%s", id, s.AWS.SourceInstance, tags(provider.RoleTempReplica)),
					"rds:DescribeDBInstances DBInstanceIdentifier=" + id + " (waiter: available)",
				}
			} else {
				in.Summary += " (mariabackup of the source, prepared, restored into a new mariadbd, attached at the backup's coordinates)"
			}
			return in
		},
		done: func(ctx context.Context, e *Env) (bool, error) {
			inst, ok, err := e.instance(ctx, provider.RoleTempReplica)
			return ok && ready(inst.Status), err
		},
		do: func(ctx context.Context, e *Env) error {
			src, err := e.Provider.Source(ctx)
			if err != nil {
				return err
			}
			bar := e.progress("create replica", 100)
			inst, err := e.Provider.CreateReplica(ctx, provider.ReplicaRequest{RunID: e.RunID, ID: id, Source: src}, func(p int, st string) { bar.Update(int64(p), st) })
			if err != nil {
				bar.Done("failed")
				return err
			}
			bar.Done("replica " + inst.ID + " at " + inst.Addr)
			return e.record(StepCreateRepl, map[string]string{"id": inst.ID, "addr": inst.Addr})
		},
		undo: func(ctx context.Context, e *Env) error {
			inst, ok, err := e.instance(ctx, provider.RoleTempReplica)
			if err != nil || !ok {
				return err
			}
			return e.Provider.DeleteInstance(ctx, inst)
		},
	}
}

func replicaSyncStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			return Info{Name: StepReplicaSync, Summary: "wait until the temporary replica has caught up with the source",
				Touches: []string{"source: _dbshift.heartbeat"}, Precondition: "replica replicating", Undoable: true,
				Arrows: []Arrow{{PSource, PReplica, "catch up"}}}
		},
		done: func(ctx context.Context, e *Env) (bool, error) { return e.Journal.Done(StepCapture), nil },
		do: func(ctx context.Context, e *Env) error {
			src, err := e.Source(ctx)
			if err != nil {
				return err
			}
			inst, ok, err := e.instance(ctx, provider.RoleTempReplica)
			if err != nil || !ok {
				return fmt.Errorf("no temporary replica: %v", err)
			}
			rep, err := e.InstanceConn(ctx, inst)
			if err != nil {
				return err
			}
			return waitInSync(ctx, e, src, rep, "replica catch-up", s.Replication.MaxLag, s.Replication.Timeout)
		},
	}
}

func captureStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			in := Info{Name: StepCapture, Summary: "stop the replica once its SQL thread applied all it fetched; record Relay_Master_Log_File/Exec_Master_Log_Pos (and GTID) in the journal at once",
				Touches: []string{"temporary replica: replication stopped"}, Precondition: "replica caught up", Undoable: true,
				Arrows: []Arrow{{PDBShift, PReplica, "stop replication, note file:pos"}}}
			if aws(s) {
				in.Calls = sqlCalls(true, "CALL mysql.rds_stop_replication (on the temporary replica)", "SHOW REPLICA STATUS -> Relay_Master_Log_File, Exec_Master_Log_Pos")
			}
			return in
		},
		done: func(ctx context.Context, e *Env) (bool, error) {
			_, ok := coordsFromJournal(e, StepCapture)
			return ok, nil
		},
		do: func(ctx context.Context, e *Env) error {
			inst, ok, err := e.instance(ctx, provider.RoleTempReplica)
			if err != nil || !ok {
				return fmt.Errorf("no temporary replica: %v", err)
			}
			rep, err := e.InstanceConn(ctx, inst)
			if err != nil {
				return err
			}
			co, err := replication.StopAndCapture(ctx, rep, 10*time.Minute)
			if err != nil {
				return err
			}
			// Losing these is the one unrecoverable mistake: journal now.
			if err := e.record(StepCapture, coordData(co)); err != nil {
				return err
			}
			e.Log.Info("recorded source coordinates", "coordinates", co.String())
			return nil
		},
	}
}

func snapshotStep(s *spec.Spec, ofRole string) Step {
	id := s.Target.ID + "-snapshot"
	return fstep{
		info: func() Info {
			in := Info{Name: StepSnapshot, Summary: "snapshot the stopped replica (" + id + ")",
				Touches: []string{"new snapshot " + id}, Precondition: "coordinates recorded", Undoable: true,
				Arrows: []Arrow{{PDBShift, PSnapshot, "snapshot TempReplica"}}}
			if ofRole == originBackup {
				in.Summary = "physical backup of the source, recording its own binlog coordinates (" + id + ")"
				in.Arrows = []Arrow{{PSource, PSnapshot, "mariabackup (xtrabackup_binlog_info)"}}
			}
			if aws(s) {
				in.Calls = []string{fmt.Sprintf("rds:CreateDBSnapshot DBSnapshotIdentifier=%s DBInstanceIdentifier=%s-temp-replica Tags=%s", id, s.Target.ID, tags(provider.RoleSnapshot)),
					"rds:DescribeDBSnapshots DBSnapshotIdentifier=" + id + " (PercentProgress; waiter: available)"}
			}
			return in
		},
		done: func(ctx context.Context, e *Env) (bool, error) {
			snap, ok, err := e.snapshot(ctx, provider.RoleSnapshot)
			return ok && ready(snap.Status), err
		},
		do: func(ctx context.Context, e *Env) error {
			var of provider.Instance
			var err error
			if ofRole == provider.RoleTempReplica {
				var ok bool
				of, ok, err = e.instance(ctx, provider.RoleTempReplica)
				if err == nil && !ok {
					err = errors.New("no temporary replica to snapshot")
				}
			} else {
				of, err = e.backupOrigin(ctx)
			}
			if err != nil {
				return err
			}
			bar := e.progress("snapshot", 100)
			snap, err := e.Provider.Snapshot(ctx, e.RunID, id, of, func(p int, st string) { bar.Update(int64(p), st) })
			if err != nil {
				bar.Done("failed")
				return err
			}
			bar.Done("snapshot " + snap.ID)
			return e.record(StepSnapshot, map[string]string{"id": snap.ID})
		},
		undo: func(ctx context.Context, e *Env) error {
			snap, ok, err := e.snapshot(ctx, provider.RoleSnapshot)
			if err != nil || !ok {
				return err
			}
			return e.Provider.DeleteSnapshot(ctx, snap)
		},
	}
}

func copyStep(s *spec.Spec) Step {
	id := s.Target.ID + "-snapshot-encrypted"
	return fstep{
		info: func() Info {
			in := Info{Name: StepCopy, Summary: "copy the snapshot encrypted (" + id + ")",
				Touches: []string{"new snapshot " + id}, Precondition: "snapshot available", Undoable: true,
				Arrows: []Arrow{{PSnapshot, PEncrypted, "copy with KMS key"}}}
			if aws(s) {
				in.Calls = []string{fmt.Sprintf("rds:CopyDBSnapshot SourceDBSnapshotIdentifier=%s-snapshot TargetDBSnapshotIdentifier=%s KmsKeyId=%s Tags=%s", s.Target.ID, id, s.Target.KMSKeyID, tags(provider.RoleEncryptedCopy)),
					"rds:DescribeDBSnapshots DBSnapshotIdentifier=" + id + " (PercentProgress; waiter: available; expect Encrypted=true)"}
			} else {
				in.Summary += " (local: a copy marked with the key id; the encryption happens at restore with file_key_management)"
			}
			return in
		},
		done: func(ctx context.Context, e *Env) (bool, error) {
			snap, ok, err := e.snapshot(ctx, provider.RoleEncryptedCopy)
			return ok && ready(snap.Status), err
		},
		do: func(ctx context.Context, e *Env) error {
			snap, ok, err := e.snapshot(ctx, provider.RoleSnapshot)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("no snapshot to copy")
			}
			bar := e.progress("encrypted copy", 100)
			cp, err := e.Provider.CopyEncrypted(ctx, e.RunID, id, snap, s.Target.KMSKeyID, func(p int, st string) { bar.Update(int64(p), st) })
			if err != nil {
				bar.Done("failed")
				return err
			}
			bar.Done("copy " + cp.ID)
			return e.record(StepCopy, map[string]string{"id": cp.ID})
		},
		undo: func(ctx context.Context, e *Env) error {
			snap, ok, err := e.snapshot(ctx, provider.RoleEncryptedCopy)
			if err != nil || !ok {
				return err
			}
			return e.Provider.DeleteSnapshot(ctx, snap)
		},
	}
}

func cleanupStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			in := Info{Name: StepCleanup, Summary: "remove the temporary replica and the snapshots (the target replicates from the source now)",
				Touches: []string{"temporary replica", "snapshots"}, Precondition: "target in sync", Undoable: false,
				Arrows: []Arrow{{PDBShift, PReplica, "delete"}, {PDBShift, PSnapshot, "delete snapshots"}}}
			if !s.CleanupEnabled() {
				in.Summary = "keep the temporary replica and snapshots (cleanup: false)"
				in.Arrows = nil
			}
			if aws(s) && s.CleanupEnabled() {
				in.Calls = []string{"rds:DeleteDBInstance DBInstanceIdentifier=" + s.Target.ID + "-temp-replica SkipFinalSnapshot=true",
					"rds:DeleteDBSnapshot DBSnapshotIdentifier=" + s.Target.ID + "-snapshot", "rds:DeleteDBSnapshot DBSnapshotIdentifier=" + s.Target.ID + "-snapshot-encrypted"}
			}
			return in
		},
		do: func(ctx context.Context, e *Env) error {
			if !s.CleanupEnabled() {
				return nil
			}
			return e.deleteTemporaries(ctx)
		},
	}
}

// deleteTemporaries removes the run's temporary replica and snapshots.
func (e *Env) deleteTemporaries(ctx context.Context) error {
	var errs []error
	if inst, ok, err := e.instance(ctx, provider.RoleTempReplica); err != nil {
		errs = append(errs, err)
	} else if ok {
		if c, ok := e.conns["instance:"+inst.ID]; ok {
			c.Close()
			delete(e.conns, "instance:"+inst.ID)
		}
		errs = append(errs, e.Provider.DeleteInstance(ctx, inst))
	}
	for _, role := range []string{provider.RoleEncryptedCopy, provider.RoleSnapshot} {
		if snap, ok, err := e.snapshot(ctx, role); err != nil {
			errs = append(errs, err)
		} else if ok {
			errs = append(errs, e.Provider.DeleteSnapshot(ctx, snap))
		}
	}
	return errors.Join(errs...)
}

package strategy

import (
	"context"
	"errors"
	"fmt"

	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/spec"
)

// CoordinateRecorder is implemented by providers whose snapshots record the
// binlog coordinates they were taken at (a physical backup's
// xtrabackup_binlog_info). RDS snapshots do not, which is why runbook 1
// needs a temporary replica.
type CoordinateRecorder interface {
	SnapshotCoordinates(ctx context.Context, snap provider.Snapshot) (replication.Coordinates, error)
}

// backupClone: a physical backup records its own coordinates, so the
// target is restored straight from it, encrypted, and replicates from them.
func backupClone(s *spec.Spec) []Step {
	return []Step{
		preflightStep(s),
		snapshotStep(s, originBackup),
		backupCoordsStep(s),
		restoreStep(s, "backup"),
		verifyStep(s),
		replicateStep(s, StepBackup),
		inSyncStep(s),
		cleanupStep(s),
		cutoverStep(s),
	}
}

func backupCoordsStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			return Info{Name: StepBackup, Summary: "record the backup's binlog coordinates (xtrabackup_binlog_info) in the journal",
				Touches: []string{"journal"}, Precondition: "backup prepared", Undoable: true,
				Arrows: []Arrow{{PSnapshot, PDBShift, "file:pos of the backup"}}}
		},
		done: func(ctx context.Context, e *Env) (bool, error) {
			_, ok := coordsFromJournal(e, StepBackup)
			return ok, nil
		},
		do: func(ctx context.Context, e *Env) error {
			rec, ok := e.Provider.(CoordinateRecorder)
			if !ok {
				return fmt.Errorf("provider %s cannot read coordinates from a snapshot: use strategy replica-snapshot", e.Provider.Name())
			}
			snap, ok, err := e.snapshot(ctx, provider.RoleSnapshot)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("no backup")
			}
			co, err := rec.SnapshotCoordinates(ctx, snap)
			if err != nil {
				return err
			}
			return e.record(StepBackup, coordData(co))
		},
	}
}

// backupOrigin is the server the backup-clone strategy backs up: the
// source itself (a physical backup of a replica would record the replica's
// coordinates, not the source's).
func (e *Env) backupOrigin(ctx context.Context) (provider.Instance, error) {
	return e.Provider.Source(ctx)
}

// originBackup marks the snapshot step of backup-clone: a backup of the
// origin server itself rather than of a temporary replica.
const originBackup = "origin"

package local

import (
	"context"

	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
)

// SnapshotCoordinates returns the binlog coordinates a snapshot of the
// source recorded itself (xtrabackup_binlog_info): what the backup-clone
// strategy replicates from. For a snapshot of a stopped replica these are
// the replica's own coordinates, not the source's: replica-snapshot takes
// the source's from replication.StopAndCapture instead.
func (p *Provider) SnapshotCoordinates(ctx context.Context, snap provider.Snapshot) (replication.Coordinates, error) {
	return readBinlogInfo(snap.Location)
}

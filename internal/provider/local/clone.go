package local

import (
	"context"
	"fmt"

	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
)

// CloneRequest asks for the backup-clone strategy's target: a physical
// backup restored straight into a new (normally encrypted) instance that
// replicates from the source at the backup's own coordinates.
type CloneRequest struct {
	RunID string
	ID    string
	// From is a replica of the source to back up (keeps the backup's load
	// off the source); empty means the source itself.
	From provider.Instance
	// Encrypted starts the target with encryption at rest.
	Encrypted bool
	// Parameters become config lines of the target.
	Parameters map[string]string
	// OnCoordinates gets the source coordinates the moment the backup
	// records them, before the restore: the caller journals them.
	OnCoordinates func(replication.Coordinates) error
}

// BackupClone backs up the source (or From, a replica of it: then
// --slave-info's coordinates of the source are used), prepares the backup,
// restores it into a new instance, starts it with the target's settings,
// waits for its tablespaces to be encrypted when asked, and replicates it
// from the source at the recorded coordinates. It returns once both
// replication threads run, with the coordinates it started from. The same
// ID again returns the existing target.
func (p *Provider) BackupClone(ctx context.Context, req CloneRequest, prog provider.Progress) (provider.Instance, replication.Coordinates, error) {
	r, done, err := p.begin(ctx, kindInstance, req.ID, req.RunID, provider.RoleTarget)
	if err != nil {
		return provider.Instance{}, replication.Coordinates{}, fmt.Errorf("backup-clone %s: %w", req.ID, err)
	}
	if done {
		inst, err := p.ensureStarted(ctx, r)
		return inst, replication.Coordinates{}, err
	}
	from, fromReplica := req.From, true
	if from.DSN == "" {
		from, fromReplica = p.source, false
	}
	r.Encrypted = req.Encrypted
	inst, co, err := p.clone(ctx, &r, from, fromReplica, parameterLines(req.Parameters), req.OnCoordinates, prog, "target")
	if err != nil {
		return inst, co, fmt.Errorf("backup-clone %s from %s: %w", req.ID, from.ID, err)
	}
	return inst, co, nil
}

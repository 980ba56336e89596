package local

import (
	"context"
	"fmt"
	"net"

	"github.com/dbshift/dbshift/internal/replication"
)

// cloneReplUser is the replication account the provider's own clones (the
// temporary replica, a backup-clone target) use on the source. It is not the
// migration's account (dbshift_repl), so deleting a clone never touches the
// account the target replicates with.
const cloneReplUser = "dbshift_local_clone"

// dropCloneUserIfUnused drops cloneReplUser on the source once no instance
// of this provider is left: abort and cleanup leave nothing behind.
func (p *Provider) dropCloneUserIfUnused(ctx context.Context) error {
	if _, any, err := p.lookup(kindInstance, func(resource) bool { return true }); err != nil || any {
		return err
	}
	src, err := p.openServer(ctx, p.source, "source")
	if err != nil {
		return fmt.Errorf("dropping %s on the source: %w", cloneReplUser, err)
	}
	defer src.conn.Close()
	host, _, _ := net.SplitHostPort(src.conn.Addr)
	if host == "" {
		host = "127.0.0.1"
	}
	return replication.DropUser(ctx, src.conn, cloneReplUser, host)
}

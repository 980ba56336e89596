package cutover

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
)

// commitBlock closes the hole read_only leaves on MariaDB, which has no
// super_read_only: accounts with SUPER or READ ONLY ADMIN (dbshift's own
// admin among them) still write. From the fence until promotion it holds
// BACKUP STAGE BLOCK_COMMIT on a connection of its own, so no commit of any
// account reaches the source's binlog while its final coordinates are taken
// and the target catches up to them.
type commitBlock struct {
	conn *sql.Conn
	id   uint64
}

// blockCommits takes the backup lock on MariaDB 10.4.1+; elsewhere (MySQL
// has super_read_only) it returns nil, nil.
func blockCommits(ctx context.Context, c *dbconn.Conn, wait time.Duration) (*commitBlock, error) {
	if !c.Flavor.IsMariaDB() || !c.Flavor.AtLeast(10, 4, 1) {
		return nil, nil
	}
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	b := &commitBlock{conn: conn}
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&b.id); err != nil {
		conn.Close()
		return nil, err
	}
	stmts := []string{
		fmt.Sprintf("SET SESSION lock_wait_timeout = %d", max(1, int(wait.Seconds()))),
		"BACKUP STAGE START", "BACKUP STAGE FLUSH", "BACKUP STAGE BLOCK_DDL", "BACKUP STAGE BLOCK_COMMIT",
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close() // closing the connection ends the backup stage
			return nil, fmt.Errorf("%s on %s: %w", q, c, err)
		}
	}
	return b, nil
}

// release ends the block. Past the point of no return (kill) the sessions
// waiting to commit are killed first: they were never acknowledged, and
// letting them commit now would put writes on the old source that the new
// primary lacks. Before it (abort) they simply go on: the source stays the
// primary. It returns how many sessions it killed.
func (b *commitBlock) release(ctx context.Context, c *dbconn.Conn, kill bool) (int, error) {
	if b == nil {
		return 0, nil
	}
	defer b.conn.Close()
	killed := 0
	if kill {
		rows, err := c.DB.QueryContext(ctx, "SELECT ID FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for backup lock%' AND ID <> ?", b.id)
		if err != nil {
			return 0, fmt.Errorf("listing sessions blocked in commit on %s: %w", c, err)
		}
		var ids []uint64
		for rows.Next() {
			var id uint64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			if _, err := c.DB.ExecContext(ctx, c.Flavor.KillSQL(id)); err != nil && dbconn.ErrorNumber(err) != 1094 {
				return killed, fmt.Errorf("killing session %d blocked in commit on %s: %w", id, c, err)
			}
			killed++
		}
	}
	if _, err := b.conn.ExecContext(ctx, "BACKUP STAGE END"); err != nil {
		return killed, fmt.Errorf("BACKUP STAGE END on %s: %w", c, err)
	}
	return killed, nil
}

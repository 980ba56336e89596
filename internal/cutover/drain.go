package cutover

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
)

// Blocker is a session holding an open write transaction on the fenced
// source: its writes are not in the binlog yet and must end before the
// final coordinates are read.
type Blocker struct {
	ID           uint64    `json:"id"`
	User         string    `json:"user"`
	Host         string    `json:"host"`
	DB           string    `json:"db"`
	TrxStarted   time.Time `json:"trx_started"`
	RowsModified int64     `json:"rows_modified"`
	Query        string    `json:"query"`
	Killed       bool      `json:"killed"`
}

// openWriteTransactions lists transactions that modified rows, other than
// dbshift's own connection and replication threads.
func openWriteTransactions(ctx context.Context, c *dbconn.Conn) ([]Blocker, error) {
	rows, err := c.DB.QueryContext(ctx, `SELECT p.ID, IFNULL(p.USER, ''), IFNULL(p.HOST, ''), IFNULL(p.DB, ''),
		t.trx_started, t.trx_rows_modified, IFNULL(LEFT(p.INFO, 200), '')
		FROM information_schema.INNODB_TRX t
		JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
		WHERE p.ID <> CONNECTION_ID() AND t.trx_rows_modified > 0
		AND p.COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Slave_SQL', 'Slave_IO', 'Slave_worker')
		ORDER BY t.trx_started`)
	if err != nil {
		return nil, fmt.Errorf("listing open transactions on %s: %w", c, err)
	}
	defer rows.Close()
	var out []Blocker
	for rows.Next() {
		var b Blocker
		var started sql.NullTime
		if err := rows.Scan(&b.ID, &b.User, &b.Host, &b.DB, &started, &b.RowsModified, &b.Query); err != nil {
			return nil, err
		}
		b.TrxStarted = started.Time
		out = append(out, b)
	}
	return out, rows.Err()
}

// drain waits until no write transaction is open on the fenced source. It
// kills the blockers only when killAfter > 0 and they outlived it.
func drain(ctx context.Context, c *dbconn.Conn, timeout, killAfter time.Duration) ([]Blocker, error) {
	start := time.Now()
	seen := map[uint64]Blocker{}
	var order []uint64
	record := func(bs []Blocker) {
		for _, b := range bs {
			if _, ok := seen[b.ID]; !ok {
				order = append(order, b.ID)
			}
			seen[b.ID] = b
		}
	}
	list := func() []Blocker {
		out := make([]Blocker, 0, len(order))
		for _, id := range order {
			out = append(out, seen[id])
		}
		return out
	}
	for {
		bs, err := openWriteTransactions(ctx, c)
		if err != nil {
			return list(), err
		}
		record(bs)
		if len(bs) == 0 {
			return list(), nil
		}
		if killAfter > 0 && time.Since(start) >= killAfter {
			for _, b := range bs {
				if _, err := c.DB.ExecContext(ctx, c.Flavor.KillSQL(b.ID)); err != nil && dbconn.ErrorNumber(err) != 1094 {
					return list(), fmt.Errorf("killing blocker %d on %s: %w", b.ID, c, err)
				}
				b.Killed = true
				seen[b.ID] = b
			}
		}
		if time.Since(start) >= timeout {
			return list(), fmt.Errorf("%d write transaction(s) still open on %s after %s (oldest: session %d %s@%s since %s); use --kill-after to end them",
				len(bs), c, timeout, bs[0].ID, bs[0].User, bs[0].Host, bs[0].TrxStarted.Format(time.TimeOnly))
		}
		select {
		case <-ctx.Done():
			return list(), ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

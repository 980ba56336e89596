package cutover

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/flavor"
)

// Fencer stops application writes on a server and proves it did.
type Fencer interface {
	Fence(ctx context.Context, c *dbconn.Conn) error
	Unfence(ctx context.Context, c *dbconn.Conn) error
	// Observed reports whether the fence is in force as the server sees it.
	Observed(ctx context.Context, c *dbconn.Conn) (bool, error)
	Describe() string
}

// ReadOnlyControl sets read_only the way a platform allows it: SET GLOBAL
// on a self-managed server, the parameter group on RDS.
type ReadOnlyControl interface {
	SetReadOnly(ctx context.Context, c *dbconn.Conn, on bool) error
}

// SQLReadOnly sets read_only (and super_read_only where it exists) with SET
// GLOBAL. The global read lock it takes waits for open write transactions;
// LockWait bounds that wait so a long transaction aborts the fence instead
// of stalling every writer behind it.
type SQLReadOnly struct{ LockWait time.Duration }

func (s SQLReadOnly) SetReadOnly(ctx context.Context, c *dbconn.Conn, on bool) error {
	stmts := c.Flavor.SetReadOnlySQL(on)
	if len(stmts) == 0 {
		return fmt.Errorf("%s: SET GLOBAL read_only is refused on RDS: fence by account lock (--app-account) or by parameter group", c)
	}
	conn, err := c.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	defer conn.Close()
	wait := s.LockWait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", max(1, int(wait.Seconds())))); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			if dbconn.ErrorNumber(err) == 1205 {
				return fmt.Errorf("%s: %s waited %s for open transactions to end (lock wait timeout)", c, q, wait)
			}
			return fmt.Errorf("%s: %s: %w", c, q, err)
		}
	}
	return nil
}

// ReadOnlyFence fences with read_only.
type ReadOnlyFence struct{ Control ReadOnlyControl }

func (f ReadOnlyFence) Describe() string { return "read_only" }
func (f ReadOnlyFence) Fence(ctx context.Context, c *dbconn.Conn) error {
	return f.Control.SetReadOnly(ctx, c, true)
}
func (f ReadOnlyFence) Unfence(ctx context.Context, c *dbconn.Conn) error {
	return f.Control.SetReadOnly(ctx, c, false)
}
func (f ReadOnlyFence) Observed(ctx context.Context, c *dbconn.Conn) (bool, error) {
	var ro bool
	if err := c.DB.QueryRowContext(ctx, "SELECT @@GLOBAL.read_only").Scan(&ro); err != nil {
		return false, fmt.Errorf("reading read_only of %s: %w", c, err)
	}
	if ro && c.Flavor.HasSuperReadOnly() {
		if err := c.DB.QueryRowContext(ctx, "SELECT @@GLOBAL.super_read_only").Scan(&ro); err != nil {
			return false, fmt.Errorf("reading super_read_only of %s: %w", c, err)
		}
	}
	return ro, nil
}

// AccountFence is the RDS fence where SET GLOBAL is refused: lock the
// application's accounts (no new sessions) and kill their sessions with
// mysql.rds_kill. Accounts are 'user'@'host'.
type AccountFence struct{ Accounts []Account }

// Account is one application login.
type Account struct{ User, Host string }

// ParseAccount reads user@host or 'user'@'host'.
func ParseAccount(s string) (Account, error) {
	u, h, ok := strings.Cut(s, "@")
	if !ok || u == "" || h == "" {
		return Account{}, fmt.Errorf("account %q: want user@host", s)
	}
	return Account{User: strings.Trim(u, "'`\""), Host: strings.Trim(h, "'`\"")}, nil
}

func (a Account) sql() string { return flavor.Quote(a.User) + "@" + flavor.Quote(a.Host) }

func (f AccountFence) Describe() string { return "account lock" }

func (f AccountFence) Fence(ctx context.Context, c *dbconn.Conn) error {
	if len(f.Accounts) == 0 {
		return fmt.Errorf("%s: no application accounts to lock: give --app-account", c)
	}
	for _, a := range f.Accounts {
		if _, err := c.DB.ExecContext(ctx, "ALTER USER "+a.sql()+" ACCOUNT LOCK"); err != nil {
			return fmt.Errorf("locking %s on %s: %w", a.sql(), c, err)
		}
	}
	ids, err := f.sessions(ctx, c)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := c.DB.ExecContext(ctx, c.Flavor.KillSQL(id)); err != nil && dbconn.ErrorNumber(err) != 1094 {
			return fmt.Errorf("killing session %d on %s: %w", id, c, err)
		}
	}
	return nil
}

func (f AccountFence) Unfence(ctx context.Context, c *dbconn.Conn) error {
	for _, a := range f.Accounts {
		if _, err := c.DB.ExecContext(ctx, "ALTER USER "+a.sql()+" ACCOUNT UNLOCK"); err != nil {
			return fmt.Errorf("unlocking %s on %s: %w", a.sql(), c, err)
		}
	}
	return nil
}

func (f AccountFence) Observed(ctx context.Context, c *dbconn.Conn) (bool, error) {
	ids, err := f.sessions(ctx, c)
	return err == nil && len(ids) == 0, err
}

func (f AccountFence) sessions(ctx context.Context, c *dbconn.Conn) ([]uint64, error) {
	users := map[string]bool{}
	for _, a := range f.Accounts {
		users[a.User] = true
	}
	rows, err := c.DB.QueryContext(ctx, "SELECT ID, USER FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()")
	if err != nil {
		return nil, fmt.Errorf("listing sessions on %s: %w", c, err)
	}
	defer rows.Close()
	var ids []uint64
	for rows.Next() {
		var id uint64
		var user string
		if err := rows.Scan(&id, &user); err != nil {
			return nil, err
		}
		if users[user] {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// TargetPreparer is implemented by fences whose effect replicates to the
// target (an account lock is a binlogged ALTER USER): PrepareTarget undoes
// it on the target before it takes writes.
type TargetPreparer interface {
	PrepareTarget(ctx context.Context, target *dbconn.Conn) error
}

// PrepareTarget unlocks the application accounts on the new primary: the
// lock put on the source replicated to it.
func (f AccountFence) PrepareTarget(ctx context.Context, target *dbconn.Conn) error {
	return f.Unfence(ctx, target)
}

// bypassSessions lists the accounts with sessions on c that read_only does
// not bind (MariaDB: SUPER, READ ONLY ADMIN; MySQL has super_read_only).
func bypassSessions(ctx context.Context, c *dbconn.Conn) ([]string, error) {
	if !c.Flavor.IsMariaDB() {
		return nil, nil
	}
	rows, err := c.DB.QueryContext(ctx, "SELECT GRANTEE FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE IN ('SUPER', 'READ ONLY ADMIN')")
	if err != nil {
		return nil, err
	}
	priv := map[string]bool{}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			rows.Close()
			return nil, err
		}
		if u, _, ok := strings.Cut(strings.TrimPrefix(g, "'"), "'@'"); ok {
			priv[u] = true
		}
	}
	rows.Close()
	rows, err = c.DB.QueryContext(ctx, "SELECT USER, COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon') AND USER <> SUBSTRING_INDEX(CURRENT_USER(), '@', 1) GROUP BY USER ORDER BY USER")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		var n int
		if err := rows.Scan(&u, &n); err != nil {
			return nil, err
		}
		if priv[u] {
			out = append(out, fmt.Sprintf("%s (%d)", u, n))
		}
	}
	return out, rows.Err()
}

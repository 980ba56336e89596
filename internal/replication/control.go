package replication

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/flavor"
)

// pollEvery is how often waits re-read the servers. Waits end on a condition
// or a deadline, never on the passing of time alone.
const pollEvery = 50 * time.Millisecond

// Configure points the replica at src. The statements carry the replication
// password, so they are never logged or put into an error message.
func Configure(ctx context.Context, replica *dbconn.Conn, src flavor.Source) error {
	st, err := ReadStatus(ctx, replica)
	if err != nil {
		return err
	}
	if st.IORunning == "Yes" || st.SQLRunning == "Yes" {
		return fmt.Errorf("%s is already replicating from %s:%d: stop it first (dbshift replicate stop)", replica, st.SourceHost, st.SourcePort)
	}
	stmts, err := replica.Flavor.ChangeSourceSQL(src)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := replica.DB.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("pointing %s at %s:%d: %w", replica, src.Host, src.Port, redactErr(err, src.Password))
		}
	}
	return nil
}

// Start starts replication and waits until both threads run, or returns the
// server's replication error verbatim.
func Start(ctx context.Context, replica *dbconn.Conn, timeout time.Duration) (Status, error) {
	if _, err := replica.DB.ExecContext(ctx, replica.Flavor.StartReplicaSQL()); err != nil {
		return Status{}, fmt.Errorf("starting replication on %s: %w", replica, err)
	}
	return WaitRunning(ctx, replica, timeout)
}

// WaitRunning waits until both replication threads run.
func WaitRunning(ctx context.Context, replica *dbconn.Conn, timeout time.Duration) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var st Status
	for {
		var err error
		st, err = ReadStatus(ctx, replica)
		if err != nil {
			return st, err
		}
		if !st.Configured {
			return st, fmt.Errorf("%s: %w", replica, errNotReplica)
		}
		if err := st.Err(); err != nil {
			return st, fmt.Errorf("%s: %w", replica, err)
		}
		if st.Running() {
			return st, nil
		}
		if st.SQLRunning == "No" || st.IORunning == "No" {
			return st, fmt.Errorf("%s: replication stopped (IO %s, SQL %s) without an error", replica, st.IORunning, st.SQLRunning)
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("%s: replication threads not running after %s (IO %s, SQL %s)", replica, timeout, st.IORunning, st.SQLRunning)
		case <-time.After(pollEvery):
		}
	}
}

// Stop stops both replication threads.
func Stop(ctx context.Context, replica *dbconn.Conn) error {
	if _, err := replica.DB.ExecContext(ctx, replica.Flavor.StopReplicaSQL()); err != nil {
		return fmt.Errorf("stopping replication on %s: %w", replica, err)
	}
	return nil
}

// Reset stops replication and forgets the source for good.
func Reset(ctx context.Context, replica *dbconn.Conn) error {
	f := replica.Flavor
	if !f.RDS {
		if err := Stop(ctx, replica); err != nil {
			return err
		}
	}
	if _, err := replica.DB.ExecContext(ctx, f.ResetReplicaSQL()); err != nil {
		return fmt.Errorf("resetting replication on %s: %w", replica, err)
	}
	return nil
}

// StopAndCapture stops a replica at a consistent point and returns the source
// coordinates it has executed up to. Where the flavor allows it, the IO
// thread stops first and the SQL thread drains every transaction fetched
// whole, so the coordinates are as late as the replica got; on RDS both stop at once and
// the executed coordinates are still exactly what the data holds.
func StopAndCapture(ctx context.Context, replica *dbconn.Conn, drainTimeout time.Duration) (Coordinates, error) {
	st, err := ReadStatus(ctx, replica)
	if err != nil {
		return Coordinates{}, err
	}
	if !st.Configured {
		return Coordinates{}, fmt.Errorf("%s: %w", replica, errNotReplica)
	}
	if !replica.Flavor.RDS && st.IORunning != "No" {
		if _, err := replica.DB.ExecContext(ctx, replica.Flavor.StopIOThreadSQL()); err != nil {
			return Coordinates{}, fmt.Errorf("stopping the IO thread on %s: %w", replica, err)
		}
		if st.SQLRunning == "Yes" {
			if err := waitDrained(ctx, replica, drainTimeout); err != nil {
				return Coordinates{}, err
			}
		}
	}
	if err := Stop(ctx, replica); err != nil {
		return Coordinates{}, err
	}
	st, err = ReadStatus(ctx, replica)
	if err != nil {
		return Coordinates{}, err
	}
	co := st.Executed
	if co.GTID, err = ExecutedGTID(ctx, replica); err != nil {
		return Coordinates{}, err
	}
	return co, nil
}

// waitDrained waits, with the IO thread stopped, until the SQL thread has
// executed everything it can. That is not always everything fetched: when
// the IO thread stopped with only the head of a transaction fetched, the SQL
// thread reads to the end of the relay log and waits there inside that
// transaction for good. Its state then says it has read all relay log; seen
// twice with no progress between, the drain is over, and stopping the SQL
// thread rolls the unfinished transaction back, leaving the executed
// coordinates at the transaction's start.
func waitDrained(ctx context.Context, replica *dbconn.Conn, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var idleAt *Coordinates
	for {
		st, err := ReadStatus(ctx, replica)
		if err != nil {
			return err
		}
		if err := st.Err(); err != nil {
			return fmt.Errorf("%s: %w", replica, err)
		}
		if st.Executed == st.Fetched || st.SQLRunning != "Yes" {
			return nil
		}
		switch {
		case !readAllRelayLog(st.SQLState):
			idleAt = nil
		case idleAt != nil && *idleAt == st.Executed:
			return nil
		default:
			idleAt = &st.Executed
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: SQL thread still behind what it fetched (%s < %s) after %s", replica, st.Executed, st.Fetched, timeout)
		case <-time.After(pollEvery):
		}
	}
}

// readAllRelayLog reports whether an SQL thread state is the one of a thread
// waiting at the end of its relay log: "Slave has read all relay log;
// waiting for more updates" (MariaDB, MySQL before 8.0.26) or "Replica has
// read all relay log; ..." (MySQL since).
func readAllRelayLog(state string) bool {
	return strings.Contains(strings.ToLower(state), "has read all relay log")
}

// ErrWaitTimeout is returned when a replica did not reach coordinates in time.
var ErrWaitTimeout = errors.New("timed out waiting for the replica to execute the coordinates")

// WaitExecuted waits until the replica has executed exactly co (GTID when
// the coordinates carry one and the replica replicates by GTID, file:pos
// otherwise), using the server's own wait function, so it returns the moment
// the SQL thread passes the point.
func WaitExecuted(ctx context.Context, replica *dbconn.Conn, co Coordinates, useGTID bool, timeout time.Duration) error {
	f := replica.Flavor
	q := f.WaitForPositionSQL(co.File, co.Position, timeout)
	if useGTID && co.GTID != "" {
		q = f.WaitForGTIDSQL(co.GTID, timeout)
	}
	// The server bounds the wait; this bounds it again should the server
	// not (a wait dbshift cannot see ending holds a fence up).
	ctx, cancel := context.WithTimeout(ctx, timeout+time.Second+10*time.Second)
	defer cancel()
	var res sql.NullInt64
	if err := replica.DB.QueryRowContext(ctx, q).Scan(&res); err != nil {
		return fmt.Errorf("waiting on %s for %s: %w", replica, co, err)
	}
	switch {
	case !res.Valid:
		st, _ := ReadStatus(ctx, replica)
		if err := st.Err(); err != nil {
			return fmt.Errorf("%s stopped replicating before %s: %w", replica, co, err)
		}
		return fmt.Errorf("%s is not replicating (SQL thread stopped) and has not reached %s", replica, co)
	case useGTID && co.GTID != "" && f.IsMySQL() && res.Int64 == 1, res.Int64 == -1:
		return fmt.Errorf("%s: %w %s after %s", replica, ErrWaitTimeout, co, timeout)
	}
	return nil
}

// SetReadOnly fences or opens a server with SET GLOBAL. On RDS that is not
// allowed: it returns ErrRDSReadOnly so the caller uses the parameter group.
func SetReadOnly(ctx context.Context, c *dbconn.Conn, on bool) error {
	if c.Flavor.RDS {
		return ErrRDSReadOnly
	}
	for _, s := range c.Flavor.SetReadOnlySQL(on) {
		if _, err := c.DB.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s on %s: %w", s, c, err)
		}
	}
	return nil
}

// ErrRDSReadOnly: RDS refuses SET GLOBAL read_only; its parameter group decides.
var ErrRDSReadOnly = errors.New("RDS refuses SET GLOBAL read_only: set read_only in the instance's DB parameter group")

// ReadOnly reads @@read_only.
func ReadOnly(ctx context.Context, c *dbconn.Conn) (bool, error) {
	var ro bool
	if err := c.DB.QueryRowContext(ctx, "SELECT @@GLOBAL.read_only").Scan(&ro); err != nil {
		return false, fmt.Errorf("reading read_only of %s: %w", c, err)
	}
	return ro, nil
}

// redactErr keeps a secret out of an error message (a server may echo the
// failing statement).
func redactErr(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	if msg := err.Error(); strings.Contains(msg, secret) {
		return errors.New(strings.ReplaceAll(msg, secret, "xxxxx"))
	}
	return err
}

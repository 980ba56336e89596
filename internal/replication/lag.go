package replication

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
)

// Schema is dbshift's own schema on the source; it replicates like any other
// so a row written there proves the replica has caught up to that moment
// (gh-ost's idea: a marker written on one side and seen on the other).
const Schema = "_dbshift"

var heartbeatDDL = []string{
	"CREATE DATABASE IF NOT EXISTS " + Schema,
	"CREATE TABLE IF NOT EXISTS " + Schema + ".heartbeat (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, seq BIGINT UNSIGNED NOT NULL, ts TIMESTAMP(6) NOT NULL) ENGINE=InnoDB",
}

// Lag is the replica's delay measured three ways. Seconds_Behind_Master
// alone lies (0 while the IO thread is stuck, jumps with long transactions),
// so waits decide on the heartbeat and the bytes.
type Lag struct {
	SecondsBehind *int64 `json:"seconds_behind_source"`
	// BytesBehind is binlog not yet executed against the source's current
	// position; -1 when unknown (no source connection, or purged logs).
	BytesBehind int64 `json:"bytes_behind"`
	// Heartbeat is the time from a beat written on the source until the
	// replica showed it; -1 when not measured (source read-only or absent).
	Heartbeat time.Duration `json:"heartbeat_ns"`
}

// Heartbeat writes sequenced beats on the source and reads them back on the
// replica.
type Heartbeat struct {
	source, replica *dbconn.Conn
	mu              sync.Mutex
	written         []beat // beats not yet seen on the replica, oldest first
	seq             uint64
}

type beat struct {
	seq uint64
	at  time.Time
}

// NewHeartbeat creates the heartbeat table on the source if needed.
func NewHeartbeat(ctx context.Context, source, replica *dbconn.Conn) (*Heartbeat, error) {
	for _, s := range heartbeatDDL {
		if _, err := source.DB.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("creating %s.heartbeat on %s: %w", Schema, source, err)
		}
	}
	h := &Heartbeat{source: source, replica: replica}
	var seq sql.NullInt64
	if err := source.DB.QueryRowContext(ctx, "SELECT MAX(seq) FROM "+Schema+".heartbeat").Scan(&seq); err != nil {
		return nil, fmt.Errorf("reading heartbeat on %s: %w", source, err)
	}
	h.seq = uint64(seq.Int64)
	return h, nil
}

// Beat writes one beat on the source.
func (h *Heartbeat) Beat(ctx context.Context) error {
	h.mu.Lock()
	h.seq++
	seq := h.seq
	h.mu.Unlock()
	at := time.Now()
	if _, err := h.source.DB.ExecContext(ctx, "REPLACE INTO "+Schema+".heartbeat (id, seq, ts) VALUES (1, ?, NOW(6))", seq); err != nil {
		return fmt.Errorf("writing heartbeat on %s: %w", h.source, err)
	}
	h.mu.Lock()
	h.written = append(h.written, beat{seq: seq, at: at})
	h.mu.Unlock()
	return nil
}

// Observe reads the replica's last beat and returns the lag: the age of the
// oldest beat the replica has not shown yet (0 when it has shown them all).
func (h *Heartbeat) Observe(ctx context.Context) (time.Duration, error) {
	var seen sql.NullInt64
	err := h.replica.DB.QueryRowContext(ctx, "SELECT seq FROM "+Schema+".heartbeat WHERE id = 1").Scan(&seen)
	if err != nil && err != sql.ErrNoRows && dbconn.ErrorNumber(err) != 1146 && dbconn.ErrorNumber(err) != 1049 {
		return -1, fmt.Errorf("reading heartbeat on %s: %w", h.replica, err)
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	i := 0
	for i < len(h.written) && h.written[i].seq <= uint64(seen.Int64) {
		i++
	}
	h.written = h.written[i:]
	if len(h.written) == 0 {
		return 0, nil
	}
	return now.Sub(h.written[0].at), nil
}

// MeasureLag reads the replica status, the bytes behind the source's current
// position and, when hb is given, the heartbeat lag.
func MeasureLag(ctx context.Context, source, replica *dbconn.Conn, hb *Heartbeat) (Lag, Status, error) {
	lag := Lag{BytesBehind: -1, Heartbeat: -1}
	st, err := ReadStatus(ctx, replica)
	if err != nil {
		return lag, st, err
	}
	lag.SecondsBehind = st.SecondsBehind
	if source != nil && st.Configured {
		pos, err := SourcePosition(ctx, source)
		if err != nil {
			return lag, st, err
		}
		if pos.File == st.Executed.File {
			lag.BytesBehind = int64(pos.Position) - int64(st.Executed.Position)
		} else if logs, err := BinaryLogs(ctx, source); err == nil {
			lag.BytesBehind = BytesBetween(logs, st.Executed, pos)
		}
	}
	if hb != nil {
		if lag.Heartbeat, err = hb.Observe(ctx); err != nil {
			return lag, st, err
		}
	}
	return lag, st, nil
}

// WaitOptions bound WaitCaughtUp.
type WaitOptions struct {
	MaxLag  time.Duration // heartbeat lag bound
	Stable  time.Duration // how long the lag must stay under the bound
	Timeout time.Duration
	// Progress, when set, gets every sample (for a progress bar).
	Progress func(Lag, Status)
}

// WaitCaughtUp returns once the replica has run both threads without error
// and its heartbeat lag stayed under MaxLag for Stable. It writes beats on
// the source as it goes.
func WaitCaughtUp(ctx context.Context, source, replica *dbconn.Conn, o WaitOptions) (Lag, error) {
	if o.Stable <= 0 {
		o.Stable = 2 * time.Second
	}
	hb, err := NewHeartbeat(ctx, source, replica)
	if err != nil {
		return Lag{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var underSince time.Time
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lag Lag
	for {
		if err := hb.Beat(ctx); err != nil {
			return lag, err
		}
		var st Status
		lag, st, err = MeasureLag(ctx, source, replica, hb)
		if err != nil {
			return lag, err
		}
		if o.Progress != nil {
			o.Progress(lag, st)
		}
		if !st.Configured {
			return lag, fmt.Errorf("%s: %w", replica, errNotReplica)
		}
		if err := st.Err(); err != nil {
			return lag, fmt.Errorf("%s: %w", replica, err)
		}
		if !st.Running() {
			return lag, fmt.Errorf("%s is not replicating (IO %s, SQL %s)", replica, st.IORunning, st.SQLRunning)
		}
		if lag.Heartbeat >= 0 && lag.Heartbeat < o.MaxLag {
			if underSince.IsZero() {
				underSince = time.Now()
			}
			if time.Since(underSince) >= o.Stable {
				return lag, nil
			}
		} else {
			underSince = time.Time{}
		}
		select {
		case <-ctx.Done():
			return lag, fmt.Errorf("%s: lag %s still above %s after %s: %w", replica, lag.Heartbeat.Round(time.Millisecond), o.MaxLag, o.Timeout, ErrWaitTimeout)
		case <-tick.C:
		}
	}
}

// Package probe is a canary writer for cutovers: it inserts one sequenced row
// per tick through the application endpoint, remembers every write the
// server acknowledged, and afterwards checks the final primary for
// acknowledged writes that are missing (lost), sequence numbers present more
// than once (duplicates), and how long clients could not write.
package probe

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/go-sql-driver/mysql"

	"github.com/dbshift/dbshift/internal/flavor"
)

// DefaultSchema holds the probe's table unless Options.Table names another.
const (
	DefaultSchema = "_dbshift_probe"
	DefaultTable  = "probe"
)

// Options say how to write.
type Options struct {
	// Rate is inserts per second, paced by a ticker.
	Rate int
	// RunID tells this run's rows from earlier runs' in the same table;
	// random when empty.
	RunID string
	// Table is "schema.table" or a table name in schema _dbshift_probe;
	// default _dbshift_probe.probe.
	Table string
	// AttemptTimeout bounds one INSERT (default 5s): a server that hangs
	// counts as an error and the write is retried on a fresh connection.
	AttemptTimeout time.Duration
	// Backoff before the first retry (default 5ms), doubling up to
	// MaxBackoff (default 100ms): short, so the gap measured is the
	// server's, not the probe's.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

func (o *Options) defaults() error {
	if o.Rate <= 0 || o.Rate > 100000 {
		return fmt.Errorf("probe: rate %d out of range (1..100000 per second)", o.Rate)
	}
	if o.RunID == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		o.RunID = hex.EncodeToString(b)
	}
	if len(o.RunID) > 64 {
		return fmt.Errorf("probe: run id longer than 64 characters")
	}
	if o.Table == "" {
		o.Table = DefaultSchema + "." + DefaultTable
	} else if !strings.Contains(o.Table, ".") {
		o.Table = DefaultSchema + "." + o.Table
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 5 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 5 * time.Millisecond
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = max(100*time.Millisecond, o.Backoff)
	}
	return nil
}

// quotedTable splits "schema.table" and quotes both parts.
func quotedTable(t string) (schema, table string) {
	s, n, _ := strings.Cut(t, ".")
	return flavor.QuoteIdent(s), flavor.QuoteIdent(s) + "." + flavor.QuoteIdent(n)
}

// Ack is one acknowledged write.
type Ack struct {
	Seq int64 `json:"seq"`
	// Attempt is the attempt the server acknowledged (1 = first try).
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	// Latency runs from the first attempt to the acknowledgement: what an
	// application retrying the same way would have waited.
	Latency time.Duration `json:"latency_ns"`
}

// ErrorCount counts one kind of error: MySQL errors by number, the rest by
// what happened to the connection.
type ErrorCount struct {
	Number  uint16 `json:"number,omitempty"`
	Kind    string `json:"kind"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// Gap is the longest time between two consecutive acknowledgements.
type Gap struct {
	AfterSeq  int64         `json:"after_seq"`
	BeforeSeq int64         `json:"before_seq"`
	From      time.Time     `json:"from"`
	To        time.Time     `json:"to"`
	Duration  time.Duration `json:"duration_ns"`
}

// Result is what a run saw from the client side.
type Result struct {
	RunID string    `json:"run_id"`
	Table string    `json:"table"`
	Rate  int       `json:"rate"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Sent is the highest sequence number attempted.
	Sent int64 `json:"sent"`
	// Acked in sequence order.
	Acked    []Ack        `json:"acked"`
	Attempts int64        `json:"attempts"`
	Errors   []ErrorCount `json:"errors"`
	// UnknownOutcome lists sequence numbers with an attempt whose outcome
	// the client cannot know (connection lost after the statement was sent,
	// attempt timeout): a row may exist for it although no ack came.
	UnknownOutcome []int64 `json:"unknown_outcome"`
	// Latency of acknowledged writes in microseconds, corrected for
	// coordinated omission (hdrhistogram's RecordCorrectedValue with the
	// tick interval): a write that took 300 ms at 500/s also stands for the
	// writes an application would have issued meanwhile.
	Latency    *hdrhistogram.Histogram `json:"-"`
	LongestGap Gap                     `json:"longest_gap"`
}

// Probe is a running writer.
type Probe struct {
	db        *sql.DB
	o         Options
	insertSQL string
	interval  time.Duration

	cancel context.CancelFunc
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	acked  atomic.Int64
	errors atomic.Int64

	res    Result // owned by the writer goroutine until done is closed
	errIdx map[string]int
}

// Start creates the probe's schema and table if needed and starts writing
// at o.Rate until ctx is done or Stop is called.
func Start(ctx context.Context, db *sql.DB, o Options) (*Probe, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	schema, table := quotedTable(o.Table)
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + schema,
		// seq is indexed but not unique: a duplicate must be stored so it
		// can be reported, not refused.
		"CREATE TABLE IF NOT EXISTS " + table + ` (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run_id VARCHAR(64) NOT NULL,
  seq BIGINT NOT NULL,
  attempt INT NOT NULL,
  client_ts DATETIME(6) NOT NULL,
  server_id INT UNSIGNED NOT NULL,
  KEY run_seq (run_id, seq)
) ENGINE=InnoDB`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("probe: creating %s: %w", o.Table, err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	p := &Probe{
		db:        db,
		o:         o,
		insertSQL: "INSERT INTO " + table + " (run_id, seq, attempt, client_ts, server_id) VALUES (?, ?, ?, ?, @@server_id)",
		interval:  time.Second / time.Duration(o.Rate),
		cancel:    cancel,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		errIdx:    map[string]int{},
		res: Result{
			RunID: o.RunID, Table: o.Table, Rate: o.Rate, Start: time.Now(),
			Latency: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3),
		},
	}
	go p.run(wctx)
	return p, nil
}

// RunID of this run.
func (p *Probe) RunID() string { return p.o.RunID }

// Acked and Errors so far, for progress displays and tests waiting on a
// condition.
func (p *Probe) Acked() int64  { return p.acked.Load() }
func (p *Probe) Errors() int64 { return p.errors.Load() }

// Stop ends the run and returns what it saw. The attempt in flight is
// allowed to finish (a cancelled INSERT would leave its outcome unknown);
// later calls return the same Result.
func (p *Probe) Stop() Result {
	p.once.Do(func() { close(p.stop) })
	<-p.done
	p.cancel()
	return p.res
}

func (p *Probe) run(ctx context.Context) {
	defer close(p.done)
	defer func() {
		p.res.End = time.Now()
		p.res.LongestGap = longestGap(p.res.Acked)
	}()
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for seq := int64(1); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-p.stop:
			return
		case <-tick.C:
		}
		p.res.Sent = seq
		if !p.write(ctx, &conn, seq) {
			return
		}
	}
}

// write sends seq until the server acknowledges it, retrying on a fresh
// connection after each error: through a proxy, only a new connection can
// reach the new primary. It returns false when the run must end.
func (p *Probe) write(ctx context.Context, conn **sql.Conn, seq int64) bool {
	first := time.Now()
	backoff := p.o.Backoff
	unknown := false
	for attempt := 1; ; attempt++ {
		err := p.attempt(ctx, conn, seq, attempt)
		if err == nil {
			now := time.Now()
			lat := now.Sub(first)
			p.res.Acked = append(p.res.Acked, Ack{Seq: seq, Attempt: attempt, At: now, Latency: lat})
			// Corrected for coordinated omission: while this write waited,
			// the ticks it swallowed would have waited too.
			_ = p.res.Latency.RecordCorrectedValue(max(1, lat.Microseconds()), p.interval.Microseconds())
			p.acked.Add(1)
			return true
		}
		if ctx.Err() != nil {
			// Cancelled mid-statement: whether it committed is unknown.
			if outcomeUnknown(err) {
				p.markUnknown(seq, &unknown)
			}
			return false
		}
		p.errors.Add(1)
		p.countError(err)
		if outcomeUnknown(err) {
			p.markUnknown(seq, &unknown)
		}
		discard(*conn)
		*conn = nil
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-p.stop:
			t.Stop()
			return false
		case <-t.C:
		}
		backoff = min(2*backoff, p.o.MaxBackoff)
	}
}

func (p *Probe) attempt(ctx context.Context, conn **sql.Conn, seq int64, attempt int) error {
	ctx, cancel := context.WithTimeout(ctx, p.o.AttemptTimeout)
	defer cancel()
	p.res.Attempts++
	if *conn == nil {
		c, err := p.db.Conn(ctx)
		if err != nil {
			return connectError{err}
		}
		*conn = c
	}
	_, err := (*conn).ExecContext(ctx, p.insertSQL, p.o.RunID, seq, attempt, time.Now().UTC())
	return err
}

func (p *Probe) markUnknown(seq int64, marked *bool) {
	if !*marked {
		p.res.UnknownOutcome = append(p.res.UnknownOutcome, seq)
		*marked = true
	}
}

// discard closes a connection and keeps it out of the pool: after an error
// it may still lead to the old server.
func discard(c *sql.Conn) {
	if c == nil {
		return
	}
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}

// connectError is a failure to get a connection: the INSERT was not sent.
type connectError struct{ err error }

func (e connectError) Error() string { return "connecting: " + e.err.Error() }
func (e connectError) Unwrap() error { return e.err }

// outcomeUnknown: a server error means the statement did not commit, the
// driver returns ErrBadConn only when nothing was sent, and a connection
// that never opened sent nothing; anything else (connection lost while
// waiting for the answer, timeout) may have committed.
func outcomeUnknown(err error) bool {
	var me *mysql.MySQLError
	var ce connectError
	if errors.As(err, &ce) || errors.As(err, &me) || errors.Is(err, driver.ErrBadConn) {
		return false
	}
	return true
}

func (p *Probe) countError(err error) {
	number, kind := classify(err)
	key := fmt.Sprintf("%d/%s", number, kind)
	i, ok := p.errIdx[key]
	if !ok {
		i = len(p.res.Errors)
		p.errIdx[key] = i
		p.res.Errors = append(p.res.Errors, ErrorCount{Number: number, Kind: kind, Example: err.Error()})
	}
	p.res.Errors[i].Count++
}

// classify names an error by MySQL error number, never by message text.
func classify(err error) (uint16, string) {
	var me *mysql.MySQLError
	switch {
	case errors.As(err, &me):
		switch me.Number {
		case 1290, 1836:
			return me.Number, "read-only"
		case 1142, 1044, 1045:
			return me.Number, "denied"
		}
		return me.Number, "server"
	case errors.Is(err, context.DeadlineExceeded):
		return 0, "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return 0, "refused"
	case errors.As(err, new(connectError)):
		// Typically a proxy that accepted and closed: no server behind it.
		return 0, "connect failed"
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return 0, "connection lost"
	}
	return 0, "other"
}

// GapAround is the gap between the last acknowledgement at or before t and
// the first one after it: the write outage a client saw around an event
// (pass the moment the fence was observed), where LongestGap may be an
// unrelated stall.
// Zero when no acknowledgement follows t.
func (r Result) GapAround(t time.Time) Gap {
	i, _ := slices.BinarySearchFunc(r.Acked, t, func(a Ack, t time.Time) int {
		if a.At.After(t) {
			return 1
		}
		return -1
	})
	if i == 0 || i == len(r.Acked) {
		return Gap{}
	}
	a, b := r.Acked[i-1], r.Acked[i]
	return Gap{AfterSeq: a.Seq, BeforeSeq: b.Seq, From: a.At, To: b.At, Duration: b.At.Sub(a.At)}
}

func longestGap(acks []Ack) Gap {
	var g Gap
	for i := 1; i < len(acks); i++ {
		if d := acks[i].At.Sub(acks[i-1].At); d > g.Duration {
			g = Gap{AfterSeq: acks[i-1].Seq, BeforeSeq: acks[i].Seq, From: acks[i-1].At, To: acks[i].At, Duration: d}
		}
	}
	return g
}

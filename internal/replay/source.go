// Package replay runs the statements of general/slow logs against servers:
// a load test at several concurrency levels (latency from HDR histograms) and
// a comparison of two servers' answers grouped by query fingerprint.
//
// Logs are streamed from disk for every trial, so memory does not grow with
// the log's size.
package replay

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/dbshift/dbshift/internal/querylog"
)

// Source is a set of log files, re-read from the start for every trial.
type Source struct {
	Paths []string
	Kind  querylog.Kind
}

// stream reads the files of a Source one after the other.
type stream struct {
	src   Source
	i     int
	r     *querylog.Reader
	stats querylog.Stats
}

func (s Source) open() *stream { return &stream{src: s} }

func (st *stream) Next() (querylog.Event, error) {
	for {
		if st.r == nil {
			if st.i >= len(st.src.Paths) {
				return querylog.Event{}, io.EOF
			}
			r, err := querylog.Open(st.src.Paths[st.i], st.src.Kind)
			if err != nil {
				return querylog.Event{}, err
			}
			st.r = r
			st.i++
		}
		ev, err := st.r.Next()
		if err == nil {
			return ev, nil
		}
		st.stats.Add(st.r.Stats())
		st.r.Close()
		st.r = nil
		if !errors.Is(err, io.EOF) {
			return querylog.Event{}, err
		}
	}
}

func (st *stream) Close() querylog.Stats {
	if st.r != nil {
		st.stats.Add(st.r.Stats())
		st.r.Close()
		st.r = nil
	}
	return st.stats
}

// Policy says which logged statements are run.
type Policy struct {
	Filter      querylog.Filter
	AllowWrites bool
}

// Verdict is what happens to one event.
type Verdict int

const (
	Run          Verdict = iota
	SkipContext          // USE / session SET / transaction control: applied as context or meaningless alone
	SkipFiltered         // not matched by --filter
	SkipWrite            // not known to be read-only, without --allow-writes
)

// Decide classifies an event under the policy. Without AllowWrites only
// SELECT, SHOW, EXPLAIN and DESCRIBE run, and session SETs that are not
// querylog.SafeSessionSet count as writes: they are left out of the
// sessions' context too (see session.apply).
func (p Policy) Decide(ev querylog.Event) Verdict {
	cls := querylog.Classify(ev.Query)
	switch cls {
	case querylog.ClassSession:
		if !p.AllowWrites && !querylog.SafeSessionSet(ev.Query) {
			return SkipWrite
		}
		return SkipContext
	case querylog.ClassUse, querylog.ClassTxn:
		return SkipContext
	case querylog.ClassWrite:
		if !p.AllowWrites {
			return SkipWrite
		}
	}
	if !p.Filter.MatchClass(cls) {
		return SkipFiltered
	}
	return Run
}

// session is one server connection with the context the log asked for.
type session struct {
	db       *sql.DB
	conn     *sql.Conn
	readOnly bool
	// safeOnly applies only the log's session statements that are
	// querylog.SafeSessionSet: "SET SESSION TRANSACTION READ WRITE" would
	// undo readOnly, "SET sql_mode='', GLOBAL x=1" change the server.
	safeOnly bool
	curDB    string
	cur      []string
}

func newSession(ctx context.Context, db *sql.DB, readOnly, safeOnly bool) (*session, error) {
	s := &session{db: db, readOnly: readOnly, safeOnly: safeOnly}
	return s, s.connect(ctx)
}

func (s *session) connect(ctx context.Context) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open replay connection: %w", err)
	}
	s.conn, s.curDB, s.cur = c, "", nil
	if s.readOnly {
		// A statement misclassified as a read is still refused by the server.
		if _, err := c.ExecContext(ctx, "SET SESSION TRANSACTION READ ONLY"); err != nil {
			s.discard() // never run statements on a session that is not read-only
			return fmt.Errorf("make replay session read-only: %w", err)
		}
	}
	return nil
}

// apply brings the connection to the event's default database and session
// statements. A session that is not an extension of the current one needs a
// fresh connection: there is no portable way to unset a session variable.
func (s *session) apply(ctx context.Context, ev querylog.Event) error {
	if s.conn == nil { // an earlier reconnect failed
		if err := s.connect(ctx); err != nil {
			return err
		}
	}
	// A statement logged without a default database must not run in the one
	// an earlier statement chose: only a fresh connection has none.
	lostDB := ev.DB == "" && s.curDB != ""
	if lostDB || !slices.Equal(s.cur, ev.Session) {
		if lostDB || len(ev.Session) < len(s.cur) || !slices.Equal(s.cur, ev.Session[:len(s.cur)]) {
			s.discard()
			if err := s.connect(ctx); err != nil {
				return err
			}
		}
		for _, stmt := range ev.Session[len(s.cur):] {
			if s.safeOnly && !querylog.SafeSessionSet(stmt) {
				continue // counted as SkipWrite where the log ran it
			}
			if _, err := s.conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("session statement %q: %w", stmt, err)
			}
		}
		s.cur = ev.Session
	}
	if ev.DB != "" && ev.DB != s.curDB {
		if _, err := s.conn.ExecContext(ctx, "USE "+quoteIdent(ev.DB)); err != nil {
			return fmt.Errorf("use %s: %w", ev.DB, err)
		}
		s.curDB = ev.DB
	}
	return nil
}

// discard drops the physical connection instead of returning it to the pool
// with the old session state.
func (s *session) discard() {
	if s.conn == nil {
		return
	}
	_ = s.conn.Raw(func(any) error { return driver.ErrBadConn })
	s.conn.Close()
	s.conn = nil
}

// Close drops the connection: it carries the log's session state (READ ONLY,
// sql_mode, default database) that must not leak into a shared pool.
func (s *session) Close() { s.discard() }

func quoteIdent(s string) string {
	b := []byte{'`'}
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			b = append(b, '`')
		}
		b = append(b, s[i])
	}
	return string(append(b, '`'))
}

// HasQuery reads the logs up to their first statement: a replay of a log
// with none (empty, garbage, the wrong file) would report "0 queries" as if
// the server had answered them all. When there is none, st counts the lines
// read.
func (s Source) HasQuery() (found bool, st querylog.Stats, err error) {
	r := s.open()
	_, err = r.Next()
	st = r.Close()
	if errors.Is(err, io.EOF) {
		return false, st, nil
	}
	return err == nil, st, err
}

// Room is how many connections a server has and has in use.
type Room struct{ Max, InUse int64 }

// Free is how many more connections the server accepts.
func (r Room) Free() int64 { return r.Max - r.InUse }

// ConnectionRoom reads max_connections and Threads_connected, not counting
// the connection it asks on: a replay that opens more connections than the
// server has left fails part-way with "Too many connections" (1040), after
// it has taken every connection the applications had.
func ConnectionRoom(ctx context.Context, db *sql.DB) (Room, error) {
	var r Room
	if err := db.QueryRowContext(ctx, "SELECT @@max_connections").Scan(&r.Max); err != nil {
		return r, fmt.Errorf("read max_connections: %w", err)
	}
	var name string
	if err := db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Threads_connected'").Scan(&name, &r.InUse); err != nil {
		return r, fmt.Errorf("read Threads_connected: %w", err)
	}
	r.InUse = max(r.InUse-1, 0)
	return r, nil
}

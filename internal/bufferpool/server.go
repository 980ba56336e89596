package bufferpool

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/flavor"
)

// Settings are the server's buffer pool variables, read, never assumed.
type Settings struct {
	Size      uint64 // innodb_buffer_pool_size
	ChunkSize uint64 // innodb_buffer_pool_chunk_size (0 on MariaDB 10.11.12+/11.8)
	Instances uint64 // innodb_buffer_pool_instances (1 where the variable is gone: MariaDB 10.6+)
	PageSize  uint64 // innodb_page_size
	// SizeMax is innodb_buffer_pool_size_max (MariaDB 10.11.12+, 11.4.6+,
	// 11.8): the pool can grow online only up to it. 0 where absent.
	SizeMax uint64
	// Unit is the granularity every size is rounded to:
	// chunk_size * instances, or the variable's block size where chunks are
	// gone.
	Unit uint64
	// Min and Max bound innodb_buffer_pool_size as the server declares them.
	Min, Max uint64
	// Synchronous: SET GLOBAL returns only when the resize is over (the
	// MDEV-29445 rewrite, recognised by innodb_buffer_pool_size_max); other
	// servers resize in a background thread after SET GLOBAL returns.
	Synchronous bool
	// HasStatusCode: MySQL 8.0.31+ Innodb_buffer_pool_resize_status_code.
	HasStatusCode bool
	// RDS: SET GLOBAL is not allowed; the parameter group is the way.
	RDS bool
	// ViaParameterGroup: the Resizer has a SetFunc that changes the size
	// through the instance's RDS parameter group.
	ViaParameterGroup bool
}

// MySQL's documented minimum (5M) where the server does not declare one.
const fallbackMin = 5 * mib

// ReadSettings reads the buffer pool variables and works out the rounding
// unit and bounds.
func ReadSettings(ctx context.Context, db *sql.DB, f flavor.Flavor) (Settings, error) {
	vars, err := showVars(ctx, db, "SHOW GLOBAL VARIABLES WHERE Variable_name IN "+
		"('innodb_buffer_pool_size','innodb_buffer_pool_chunk_size','innodb_buffer_pool_instances',"+
		"'innodb_page_size','innodb_buffer_pool_size_max')")
	if err != nil {
		return Settings{}, fmt.Errorf("reading buffer pool variables: %w", err)
	}
	var s Settings
	num := func(name string) (uint64, bool) {
		v, ok := vars[name]
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	}
	var ok bool
	if s.Size, ok = num("innodb_buffer_pool_size"); !ok {
		return Settings{}, errors.New("the server has no innodb_buffer_pool_size: is InnoDB enabled?")
	}
	s.ChunkSize, _ = num("innodb_buffer_pool_chunk_size")
	if s.Instances, ok = num("innodb_buffer_pool_instances"); !ok || s.Instances == 0 {
		s.Instances = 1
	}
	if s.PageSize, ok = num("innodb_page_size"); !ok || s.PageSize == 0 {
		s.PageSize = 16 * kib
	}
	s.SizeMax, s.Synchronous = num("innodb_buffer_pool_size_max")

	st, err := showVars(ctx, db, "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_resize_status_code'")
	if err != nil {
		return Settings{}, fmt.Errorf("reading buffer pool status: %w", err)
	}
	_, s.HasStatusCode = st["innodb_buffer_pool_resize_status_code"]

	minV, maxV, block := declaredBounds(ctx, db, f)
	s.Min, s.Max = minV, maxV
	if s.Min == 0 {
		s.Min = fallbackMin
	}
	switch {
	case s.ChunkSize > 0:
		s.Unit = s.ChunkSize * s.Instances
	case s.Synchronous:
		s.Unit = block
		if s.Unit == 0 {
			s.Unit = mib
		}
	default:
		// MariaDB 10.2-10.7 documents chunk_size=0 as "resizing disabled".
		return s, errors.New("online resizing is disabled on this server (innodb_buffer_pool_chunk_size=0)")
	}
	if s.SizeMax > 0 && (s.Max == 0 || s.SizeMax < s.Max) {
		s.Max = s.SizeMax
	}
	return s, nil
}

// declaredBounds asks the server for the variable's minimum, maximum and
// block size: MariaDB's information_schema.SYSTEM_VARIABLES, MySQL 8.0's
// performance_schema.variables_info. Zero where it cannot say.
func declaredBounds(ctx context.Context, db *sql.DB, f flavor.Flavor) (minV, maxV, block uint64) {
	var lo, hi, blk sql.NullString
	if f.IsMariaDB() {
		err := db.QueryRowContext(ctx, "SELECT NUMERIC_MIN_VALUE, NUMERIC_MAX_VALUE, NUMERIC_BLOCK_SIZE FROM information_schema.SYSTEM_VARIABLES WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_SIZE'").Scan(&lo, &hi, &blk)
		if err != nil {
			return 0, 0, 0
		}
	} else {
		err := db.QueryRowContext(ctx, "SELECT MIN_VALUE, MAX_VALUE FROM performance_schema.variables_info WHERE VARIABLE_NAME = 'innodb_buffer_pool_size'").Scan(&lo, &hi)
		if err != nil {
			return 0, 0, 0
		}
	}
	p := func(s sql.NullString) uint64 {
		n, _ := strconv.ParseUint(strings.TrimSpace(s.String), 10, 64)
		return n
	}
	return p(lo), p(hi), p(blk)
}

// RoundUp rounds n up to a multiple of the unit, as MySQL does with a size
// that is not one.
func (s Settings) RoundUp(n uint64) uint64 {
	if s.Unit == 0 || n%s.Unit == 0 {
		return n
	}
	return (n/s.Unit + 1) * s.Unit
}

// reading is one sample of the status counters.
type reading struct {
	at             time.Time
	status         Status
	pagesTotal     uint64
	readRequests   uint64
	reads          uint64
	threadsRunning uint64
	size           uint64 // @@innodb_buffer_pool_size
}

const statusSQL = "SHOW GLOBAL STATUS WHERE Variable_name IN (" +
	"'Innodb_buffer_pool_resize_status','Innodb_buffer_pool_resize_status_code'," +
	"'Innodb_buffer_pool_resize_status_progress','Innodb_buffer_pool_pages_total'," +
	"'Innodb_buffer_pool_read_requests','Innodb_buffer_pool_reads','Threads_running')"

func read(ctx context.Context, q querier) (reading, error) {
	vals, err := showVars(ctx, q, statusSQL)
	if err != nil {
		return reading{}, fmt.Errorf("reading server status: %w", err)
	}
	r := reading{at: time.Now()}
	u := func(k string) uint64 { n, _ := strconv.ParseUint(vals[k], 10, 64); return n }
	r.status = ParseStatus(vals["innodb_buffer_pool_resize_status"])
	if c, ok := vals["innodb_buffer_pool_resize_status_code"]; ok {
		code, _ := strconv.Atoi(c)
		prog, err := strconv.Atoi(vals["innodb_buffer_pool_resize_status_progress"])
		if err != nil {
			prog = -1
		}
		r.status = r.status.WithCode(code, prog)
	}
	r.pagesTotal = u("innodb_buffer_pool_pages_total")
	r.readRequests = u("innodb_buffer_pool_read_requests")
	r.reads = u("innodb_buffer_pool_reads")
	r.threadsRunning = u("threads_running")
	if err := q.QueryRowContext(ctx, "SELECT @@GLOBAL.innodb_buffer_pool_size").Scan(&r.size); err != nil {
		return reading{}, fmt.Errorf("reading innodb_buffer_pool_size: %w", err)
	}
	return r, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func showVars(ctx context.Context, q querier, query string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[strings.ToLower(k)] = v.String
	}
	return m, rows.Err()
}

// resizeError turns the MDEV-29445 server's SET GLOBAL refusals into
// sentences. Classified by number: 1210 ER_WRONG_USAGE carries both
// "change is already in progress" and "change aborted"; 1041 is
// ER_OUT_OF_RESOURCES.
func resizeError(err error, target uint64) error {
	switch dbconn.ErrorNumber(err) {
	case 1210:
		return fmt.Errorf("the server refused or abandoned the resize to %s (another resize running, or pages could not be freed in time): %w", FormatSize(target), err)
	case 1041:
		return fmt.Errorf("the server could not allocate memory for %s: %w", FormatSize(target), err)
	case 1227:
		return fmt.Errorf("not allowed to SET GLOBAL innodb_buffer_pool_size (needs SUPER or SYSTEM_VARIABLES_ADMIN; on RDS use the parameter group): %w", err)
	}
	return fmt.Errorf("setting innodb_buffer_pool_size to %s: %w", FormatSize(target), err)
}

// setAndWait changes the size on its own connection and waits until the
// server says the resize is over. It returns how long that took and the
// status it ended with.
func setAndWait(ctx context.Context, db *sql.DB, s Settings, set SetFunc, target uint64, poll, timeout time.Duration, progress func(Status)) (time.Duration, Status, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, Status{}, fmt.Errorf("opening a connection for the resize: %w", err)
	}
	defer conn.Close()
	var connID uint64
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&connID); err != nil {
		return 0, Status{}, fmt.Errorf("reading connection id: %w", err)
	}
	before, err := read(ctx, db)
	if err != nil {
		return 0, Status{}, err
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	if set != nil {
		// The size changes outside this connection (an RDS parameter
		// group); the status wait below is the same.
		if err := set(tctx, target); err != nil {
			return time.Since(start), Status{}, err
		}
	} else if _, err := conn.ExecContext(tctx, "SET GLOBAL innodb_buffer_pool_size = ?", target); err != nil {
		if tctx.Err() != nil && s.Synchronous {
			// A synchronous shrink keeps going without its client; KILL QUERY
			// makes the server abandon it and keep the old size.
			kctx, kcancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = db.ExecContext(kctx, "KILL QUERY "+strconv.FormatUint(connID, 10))
			kcancel()
			return time.Since(start), Status{}, fmt.Errorf("resize to %s did not finish within %s; asked the server to abandon it", FormatSize(target), timeout)
		}
		return time.Since(start), Status{}, resizeError(err, target)
	}
	if set == nil {
		if w := warnings(ctx, conn); w != "" {
			return time.Since(start), Status{}, fmt.Errorf("the server adjusted the requested size %s: %s", FormatSize(target), w)
		}
	}

	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	sawRunning := false
	last := ""
	for {
		r, err := read(tctx, db)
		if err != nil {
			if tctx.Err() != nil && ctx.Err() == nil {
				return time.Since(start), Status{}, fmt.Errorf("resize to %s still running after %s (last status %q)", FormatSize(target), timeout, last)
			}
			return time.Since(start), Status{}, err
		}
		st := r.status
		last = st.Raw
		if progress != nil {
			progress(st)
		}
		if !st.Phase.Terminal() {
			sawRunning = true
		} else if done(s, before, r, sawRunning) {
			if st.Phase == PhaseFailed {
				return time.Since(start), st, fmt.Errorf("the server reports the resize to %s failed: %q", FormatSize(target), st.Raw)
			}
			if r.size != target {
				return time.Since(start), st, fmt.Errorf("resize finished but innodb_buffer_pool_size is %s, not %s", FormatSize(r.size), FormatSize(target))
			}
			return time.Since(start), st, nil
		}
		select {
		case <-tctx.Done():
			if ctx.Err() != nil {
				return time.Since(start), st, ctx.Err()
			}
			return time.Since(start), st, fmt.Errorf("resize to %s still running after %s (last status %q)", FormatSize(target), timeout, last)
		case <-ticker.C:
		}
	}
}

// done decides whether a terminal status belongs to this resize and not to
// the previous one. A background resize (MySQL, MariaDB before the rewrite)
// may not have started when SET GLOBAL returns, so an unchanged
// "Completed ..." may be the last step's. It is this step's when we saw it
// running, when the message changed (it carries a timestamp, or a size),
// or when the page count moved (InnoDB sets the new page count only after
// it has published the first in-progress message). A synchronous server
// (MDEV-29445) has finished when SET GLOBAL returned.
func done(s Settings, before, now reading, sawRunning bool) bool {
	switch {
	case s.Synchronous:
		return true
	case sawRunning:
		return true
	case now.status.Raw != before.status.Raw:
		return true
	case now.pagesTotal != before.pagesTotal:
		return true
	}
	return false
}

func warnings(ctx context.Context, conn *sql.Conn) string {
	rows, err := conn.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return ""
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var level, msg string
		var code int
		if rows.Scan(&level, &code, &msg) == nil {
			msgs = append(msgs, fmt.Sprintf("%s %d: %s", level, code, msg))
		}
	}
	return strings.Join(msgs, "; ")
}

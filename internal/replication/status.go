// Package replication reads and drives a replica: status, exact coordinates,
// configure-from-position, stop-and-capture, lag measured three ways, and
// waits. All SQL comes from the flavor; all connections from dbconn.
package replication

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dbshift/dbshift/internal/dbconn"
)

// Coordinates name a point in a source's binlog stream: file:position, and
// the GTID set executed up to there where the flavor has one.
type Coordinates struct {
	File     string `json:"file"`
	Position uint64 `json:"position"`
	GTID     string `json:"gtid"`
}

func (c Coordinates) String() string {
	s := c.File + ":" + strconv.FormatUint(c.Position, 10)
	if c.GTID != "" {
		s += " (gtid " + c.GTID + ")"
	}
	return s
}

// IsZero reports whether no coordinates are set.
func (c Coordinates) IsZero() bool { return c.File == "" && c.GTID == "" }

// ParseFilePos reads "mysql-bin.000042:1234".
func ParseFilePos(s string) (Coordinates, error) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 || i == len(s)-1 {
		return Coordinates{}, fmt.Errorf("coordinates %q: want FILE:POS, e.g. mysql-bin.000042:1234", s)
	}
	pos, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil || pos < 4 {
		return Coordinates{}, fmt.Errorf("coordinates %q: position must be a number of at least 4", s)
	}
	return Coordinates{File: s[:i], Position: pos}, nil
}

// Compare orders two file:pos coordinates of the same source; binlog file
// names sort by their numeric suffix.
func Compare(a, b Coordinates) int {
	if a.File != b.File {
		return compareFiles(a.File, b.File)
	}
	switch {
	case a.Position < b.Position:
		return -1
	case a.Position > b.Position:
		return 1
	}
	return 0
}

func compareFiles(a, b string) int {
	na, ea := fileSeq(a)
	nb, eb := fileSeq(b)
	if ea == nil && eb == nil && na != nb {
		if na < nb {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func fileSeq(f string) (uint64, error) {
	i := strings.LastIndexByte(f, '.')
	return strconv.ParseUint(f[i+1:], 10, 64)
}

// Status is one reading of the replica status statement.
type Status struct {
	Configured    bool        `json:"configured"`
	IORunning     string      `json:"io_running"`
	SQLRunning    string      `json:"sql_running"`
	SourceHost    string      `json:"source_host"`
	SourcePort    int         `json:"source_port"`
	Fetched       Coordinates `json:"fetched"`  // what the IO thread read
	Executed      Coordinates `json:"executed"` // what the SQL thread applied
	SecondsBehind *int64      `json:"seconds_behind_source"`
	LastIOErrno   int         `json:"last_io_errno"`
	LastIOError   string      `json:"last_io_error"`
	LastSQLErrno  int         `json:"last_sql_errno"`
	LastSQLError  string      `json:"last_sql_error"`
	SQLState      string      `json:"sql_state"`
	// SourceServerID is the server_id of the server it replicates from (0
	// before the IO thread first connected).
	SourceServerID uint32 `json:"source_server_id"`
}

// Running reports whether both threads run.
func (s Status) Running() bool { return s.IORunning == "Yes" && s.SQLRunning == "Yes" }

// Err returns the replication error the server reports, verbatim, or nil.
func (s Status) Err() error {
	switch {
	case s.LastSQLErrno != 0:
		return fmt.Errorf("replication SQL thread error %d: %s", s.LastSQLErrno, s.LastSQLError)
	case s.LastIOErrno != 0:
		return fmt.Errorf("replication IO thread error %d: %s", s.LastIOErrno, s.LastIOError)
	}
	return nil
}

// ReadStatus reads the replica status of c; Configured is false when the
// server is no replica.
func ReadStatus(ctx context.Context, c *dbconn.Conn) (Status, error) {
	f := c.Flavor
	row, err := queryRowMap(ctx, c.DB, f.ReplicaStatusSQL())
	if err != nil {
		return Status{}, fmt.Errorf("reading replica status of %s: %w", c, err)
	}
	if row == nil {
		return Status{}, nil
	}
	col := f.ReplicaStatusColumns()
	st := Status{
		Configured:   true,
		IORunning:    row[col.IORunning],
		SQLRunning:   row[col.SQLRunning],
		SourceHost:   row[col.SourceHost],
		SourcePort:   atoi(row[col.SourcePort]),
		Fetched:      Coordinates{File: row[col.SourceLogFile], Position: atou(row[col.ReadSourceLogPos])},
		Executed:     Coordinates{File: row[col.RelaySourceLogFile], Position: atou(row[col.ExecSourceLogPos])},
		LastIOErrno:  atoi(row[col.LastIOErrno]),
		LastIOError:  row[col.LastIOError],
		LastSQLErrno: atoi(row[col.LastSQLErrno]),
		LastSQLError: row[col.LastSQLError],
		SQLState:     row[col.SQLRunningState],
	}
	if id, err := strconv.ParseUint(row[col.SourceServerID], 10, 32); err == nil {
		st.SourceServerID = uint32(id)
	}
	if v, ok := row[col.SecondsBehind]; ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			st.SecondsBehind = &n
		}
	}
	if st.SourceHost == "" && st.Executed.File == "" {
		// RESET SLAVE (without ALL) leaves an empty row behind.
		st.Configured = false
	}
	return st, nil
}

// SourcePosition reads a server's own current binlog coordinates.
func SourcePosition(ctx context.Context, c *dbconn.Conn) (Coordinates, error) {
	row, err := queryRowMap(ctx, c.DB, c.Flavor.BinlogStatusSQL())
	if err != nil {
		return Coordinates{}, fmt.Errorf("reading binlog position of %s: %w", c, err)
	}
	if row == nil {
		return Coordinates{}, fmt.Errorf("%s has no binary log (log_bin is OFF): enable log_bin and restart it", c)
	}
	co := Coordinates{File: row["File"], Position: atou(row["Position"])}
	if q := c.Flavor.ExecutedGTIDSQL(); q != "" {
		var g sql.NullString
		if err := c.DB.QueryRowContext(ctx, q).Scan(&g); err != nil {
			return Coordinates{}, fmt.Errorf("reading GTID set of %s: %w", c, err)
		}
		co.GTID = g.String
	}
	return co, nil
}

// ExecutedGTID is the GTID set a replica has applied from its source:
// gtid_slave_pos on MariaDB, gtid_executed on MySQL.
func ExecutedGTID(ctx context.Context, c *dbconn.Conn) (string, error) {
	q := ""
	switch {
	case c.Flavor.HasMariaDBGTID():
		q = "SELECT @@GLOBAL.gtid_slave_pos"
	case c.Flavor.HasMySQLGTID():
		q = "SELECT @@GLOBAL.gtid_executed"
	default:
		return "", nil
	}
	var g sql.NullString
	if err := c.DB.QueryRowContext(ctx, q).Scan(&g); err != nil {
		return "", fmt.Errorf("reading executed GTID set of %s: %w", c, err)
	}
	return g.String, nil
}

// BinaryLog is one file of SHOW BINARY LOGS.
type BinaryLog struct {
	Name string
	Size uint64
}

// BinaryLogs lists a server's binlog files, oldest first.
func BinaryLogs(ctx context.Context, c *dbconn.Conn) ([]BinaryLog, error) {
	rows, err := c.DB.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("listing binary logs of %s: %w", c, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []BinaryLog
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, BinaryLog{Name: string(vals[0]), Size: atou(string(vals[1]))})
	}
	return out, rows.Err()
}

// BytesBetween counts binlog bytes from a to b on a server whose binlog
// files are logs; -1 when a is no longer (or not yet) in the list.
func BytesBetween(logs []BinaryLog, a, b Coordinates) int64 {
	if a.File == b.File {
		return int64(b.Position) - int64(a.Position)
	}
	var n int64
	inRange := false
	for _, l := range logs {
		switch {
		case l.Name == a.File:
			inRange = true
			n += int64(l.Size) - int64(a.Position)
		case l.Name == b.File:
			if !inRange {
				return -1
			}
			return n + int64(b.Position)
		case inRange:
			n += int64(l.Size)
		}
	}
	return -1
}

func queryRowMap(ctx context.Context, db *sql.DB, q string) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	m := make(map[string]string, len(cols))
	for i, c := range cols {
		m[c] = vals[i].String
	}
	// A multi-source replica has more rows; dbshift drives the default
	// connection only.
	for rows.Next() {
	}
	return m, rows.Err()
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
func atou(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// errNotReplica is returned by operations that need a configured replica.
var errNotReplica = errors.New("not a replica: no replication source is configured")

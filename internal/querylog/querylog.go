// Package querylog reads MySQL-family general and slow query logs as a stream
// of events, one per statement, each with the connection context it ran in.
//
// Supported forms:
//   - general log, MySQL <= 5.6 and MariaDB: a "YYMMDD H:MM:SS" stamp begins a
//     line only when the second changes, other entries begin with whitespace;
//   - general log, MySQL 5.7+/8.x: an ISO-8601 stamp on every entry;
//   - slow log of any version ("# Time:", "# User@Host:", "use db;",
//     "SET timestamp=").
//
// Server header blocks ("... started with:", "Tcp port:", "Time Id Command
// Argument") are recognised anywhere, since the server writes them at every
// restart and log flush. Gzip input is detected by its magic bytes.
//
// A line that is neither an entry, a header, nor the continuation of a
// statement is counted in Stats and kept as an example: it is never dropped
// silently nor glued into the previous statement.
//
// The package has no database dependency; it is shared by replay and by the
// upgrade checks.
package querylog

import (
	"fmt"
	"time"
)

// Kind says which log format a file is in.
type Kind int

const (
	// Auto looks at the first 64 KiB of the file to choose General or Slow.
	Auto Kind = iota
	// General is the general query log (any version).
	General
	// Slow is the slow query log (any version).
	Slow
)

func (k Kind) String() string {
	switch k {
	case General:
		return "general"
	case Slow:
		return "slow"
	default:
		return "auto"
	}
}

// ParseKind turns "general", "slow" or "auto" into a Kind.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "general", "genlog":
		return General, nil
	case "slow", "slowlog":
		return Slow, nil
	case "auto", "":
		return Auto, nil
	}
	return Auto, fmt.Errorf("unknown log type %q (want general, slow or auto)", s)
}

// Event is one statement from the log with the context of its connection.
//
// Only statements are events: general-log commands "Query" and "Execute" (the
// latter carries the statement with its parameters substituted) and the
// statement of each slow-log entry. Connect, Init DB, Change user, Quit and
// "use db" update the context of later events; "use" and SET statements are
// still returned as events so nothing is lost, and Classify tells them apart.
type Event struct {
	File    string    // log file name as given to Open/NewReader
	Line    int       // 1-based line where the entry starts
	ConnID  uint64    // thread/connection id; 0 when the log does not say
	Time    time.Time // entry time; general/slow logs without a zone are read as UTC wall clock
	User    string    // from Connect / Change user or "# User@Host:"
	Host    string
	DB      string   // default database in effect when the statement ran
	Command string   // "Query", "Execute" (general log) or "Query" (slow log)
	Query   string   // the statement, multi-line text kept whole, no trailing ';'
	Session []string // session statements (SET ...) in effect, oldest first; shared, do not modify
}

// Unparsed is one line the reader could not place.
type Unparsed struct {
	File string
	Line int
	Text string // truncated to 200 bytes
}

// Stats counts what a Reader has read so far.
type Stats struct {
	Bytes    int64      // bytes of (decompressed) log text consumed
	Lines    int64      // lines read
	Parsed   int64      // lines that were entries, headers, meta or statement text
	Unparsed int64      // lines that fitted nowhere
	Events   int64      // events returned by Next
	Examples []Unparsed // the first MaxExamples unparsed lines
}

// MaxExamples bounds Stats.Examples so a garbage file cannot exhaust memory.
const MaxExamples = 20

// Add merges the counts of another reader (for several files).
func (s *Stats) Add(o Stats) {
	s.Bytes += o.Bytes
	s.Lines += o.Lines
	s.Parsed += o.Parsed
	s.Unparsed += o.Unparsed
	s.Events += o.Events
	for _, e := range o.Examples {
		if len(s.Examples) >= MaxExamples {
			break
		}
		s.Examples = append(s.Examples, e)
	}
}

package querylog

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"
)

// slowState is the slow-log parser between lines: an entry is a block of
// "# ..." header lines followed by statement lines.
type slowState struct {
	open     bool
	inBody   bool
	line     int
	time     time.Time
	hasTime  bool
	lastTime time.Time
	id       uint64
	user     string
	host     string
	schema   string
	admin    string
	sawUser  bool
	everTime bool // the file has "# Time:" lines: keep their zone for all entries
	body     []byte
	semi     bool // the last body line ended with ';'
	iso      isoCache
}

func (r *Reader) nextSlow() (Event, error) {
	s := &r.slow
	for {
		line, ok := r.readLine()
		if !ok {
			if ev, emit := r.finishSlow(); emit {
				return ev, nil
			}
			if err := r.readErr(); err != nil {
				return Event{}, err
			}
			return Event{}, io.EOF
		}
		if isServerHeader(line) {
			r.stats.Parsed++
			if ev, emit := r.finishSlow(); emit {
				return ev, nil
			}
			continue
		}
		if len(line) > 0 && line[0] == '#' {
			// A query may contain "# comment" lines; a header only follows a
			// statement that ended with ';', or is an entry's first line.
			// The server ends every statement with ';', so a "# Time:" or
			// "# User@Host:" line after one that does not is statement text,
			// unless it really holds a time or a user.
			isTime := bytes.HasPrefix(line, []byte("# Time:")) && r.validSlowTime(line)
			isUser := bytes.HasPrefix(line, []byte("# User@Host:")) && bytes.Contains(line, []byte("] @ "))
			if !s.inBody || s.semi || isTime || isUser {
				var ev Event
				var emit bool
				// "# Time:" and "# User@Host:" open a new entry unless they
				// complete the header block of the current one.
				if s.inBody || s.admin != "" || (isUser && s.sawUser) || (isTime && (s.sawUser || s.hasTime)) {
					ev, emit = r.finishSlow()
				}
				r.slowHeader(line)
				r.stats.Parsed++
				if emit {
					return ev, nil
				}
				continue
			}
		}
		if !s.inBody && len(bytes.TrimSpace(line)) == 0 {
			r.stats.Parsed++
			continue
		}
		if !s.open {
			s.open = true
			s.line = r.lineNo
		}
		if s.inBody {
			s.body = append(s.body, '\n')
		}
		s.inBody = true
		s.body = append(s.body, line...)
		t := bytes.TrimRight(line, " \t")
		s.semi = len(t) > 0 && t[len(t)-1] == ';'
		r.stats.Parsed++
	}
}

// slowHeader reads the fields of one "# ..." line into the open entry.
func (r *Reader) slowHeader(line []byte) {
	s := &r.slow
	if !s.open {
		s.open = true
		s.line = r.lineNo
	}
	l := string(line)
	if rest, ok := strings.CutPrefix(l, "# Time: "); ok {
		stamp := strings.TrimSpace(rest)
		if i := strings.Index(stamp, " # "); i >= 0 { // "# Time: ... # User@Host: ..." on one line
			l = stamp[i+1:]
			stamp = strings.TrimSpace(stamp[:i])
		}
		if t, ok := r.parseSlowTime(stamp); ok {
			s.time, s.hasTime, s.lastTime, s.everTime = t, true, t, true
		}
	}
	if rest, ok := strings.CutPrefix(l, "# User@Host: "); ok {
		// "root[root] @ localhost [127.0.0.1]  Id:     3"
		userPart, hostPart, _ := strings.Cut(rest, " @ ")
		s.sawUser = true
		if i := strings.IndexByte(userPart, '['); i == 0 { // "[SQL_SLAVE] @ ..."
			userPart = strings.TrimPrefix(userPart, "[")
		}
		if i := strings.IndexByte(userPart, '['); i >= 0 {
			userPart = userPart[:i]
		}
		s.user = strings.TrimSpace(strings.TrimSuffix(userPart, "]"))
		if i := strings.Index(hostPart, "  Id:"); i >= 0 {
			s.id = parseUintField(hostPart[i+5:])
			hostPart = hostPart[:i]
		}
		host, ip, _ := strings.Cut(hostPart, "[")
		host = strings.TrimSpace(host)
		if host == "" {
			host = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(ip), "]"))
		}
		s.host = host
	}
	if i := strings.Index(l, "Thread_id: "); i >= 0 {
		s.id = parseUintField(l[i+len("Thread_id: "):])
	}
	if i := strings.Index(l, "Schema: "); i >= 0 {
		v := l[i+len("Schema: "):]
		if j := strings.IndexAny(v, " \t"); j >= 0 {
			v = v[:j]
		}
		s.schema = v
	}
	if rest, ok := strings.CutPrefix(l, "# administrator command: "); ok {
		s.admin = strings.TrimSuffix(strings.TrimSpace(rest), ";")
	}
}

func parseUintField(s string) uint64 {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		s = s[:i]
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func (r *Reader) validSlowTime(line []byte) bool {
	stamp := strings.TrimSpace(strings.TrimPrefix(string(line), "# Time:"))
	if i := strings.Index(stamp, " # "); i >= 0 {
		stamp = stamp[:i]
	}
	_, ok := r.parseSlowTime(stamp)
	return ok
}

func (r *Reader) parseSlowTime(stamp string) (time.Time, bool) {
	b := []byte(stamp)
	if len(b) > 19 && b[10] == 'T' {
		t, _, ok := r.slow.iso.parse(b)
		return t, ok
	}
	t, _, ok := parseShortStamp(b)
	return t, ok
}

// finishSlow closes the open entry: it splits off the "use db;" and
// "SET timestamp=...;" lines the server writes before the statement, updates
// the connection and returns the statement as an event.
func (r *Reader) finishSlow() (Event, bool) {
	s := &r.slow
	if !s.open {
		return Event{}, false
	}
	defer func() {
		s.open, s.inBody, s.semi, s.hasTime, s.sawUser = false, false, false, false, false
		s.id, s.user, s.host, s.schema, s.admin = 0, "", "", "", ""
		s.body = s.body[:0]
	}()
	c := r.conn(s.id)
	if s.user != "" || s.host != "" {
		c.user, c.host = s.user, s.host
	}
	if s.schema != "" {
		c.db = s.schema
	}
	evTime := s.lastTime
	body := string(bytes.TrimSpace(s.body))
	for body != "" {
		first, rest, _ := strings.Cut(body, "\n")
		first = strings.TrimSpace(first)
		if !strings.HasSuffix(first, ";") {
			break
		}
		if db := UseDB(first); db != "" {
			c.db = db
		} else if ts, ok := replicationSet(first); ok {
			if ts > 0 && !s.everTime {
				evTime = time.Unix(ts, 0).UTC()
			}
		} else {
			break
		}
		body = strings.TrimSpace(rest)
	}
	query := strings.TrimSpace(strings.TrimSuffix(body, ";"))
	if query == "" {
		if s.admin == "Quit" {
			delete(r.conns, s.id)
		}
		return Event{}, false
	}
	ev := Event{
		File: r.name, Line: s.line, ConnID: s.id, Time: evTime,
		User: c.user, Host: c.host, DB: c.db,
		Command: "Query", Query: query, Session: c.session,
	}
	if cls, ok := contextClass(query); ok {
		c.track(query, cls)
	}
	r.stats.Events++
	return ev, true
}

// replicationSet recognises the "SET timestamp=N;" and "SET
// insert_id=N,timestamp=N;" lines the server writes before a logged statement
// to replay it exactly; they are log metadata, not the application's SQL.
// It returns the timestamp (0 if none).
func replicationSet(line string) (int64, bool) {
	if len(line) < 4 || !strings.EqualFold(line[:4], "SET ") {
		return 0, false
	}
	var ts int64
	for _, part := range strings.Split(strings.TrimSuffix(line[4:], ";"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, false
		}
		switch strings.ToLower(k) {
		case "timestamp":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, false
			}
			ts = int64(f)
		case "insert_id", "last_insert_id":
		default:
			return 0, false
		}
	}
	return ts, true
}

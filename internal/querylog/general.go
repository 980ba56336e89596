package querylog

import (
	"bytes"
	"io"
	"strings"
	"time"
)

// commandsByFirstByte lists the general-log command names (server
// command_name[] of MySQL 5.0-8.x and MariaDB), longest first so that
// "Connect Out" wins over "Connect".
var commandsByFirstByte = func() *[256][]string {
	names := []string{
		"Sleep", "Quit", "Init DB", "Query", "Field List", "Create DB", "Drop DB", "Refresh",
		"Shutdown", "Statistics", "Processlist", "Connect", "Kill", "Debug", "Ping", "Time",
		"Delayed insert", "Change user", "Binlog Dump", "Binlog Dump GTID", "Table Dump",
		"Connect Out", "Register Slave", "Prepare", "Execute", "Long Data", "Close stmt",
		"Reset stmt", "Set option", "Fetch", "Daemon", "Reset Connection", "Error",
		"Bulk_execute", "Slave_worker", "Slave_IO", "Slave_SQL", "Com_multi", "Clone",
	}
	var m [256][]string
	for _, n := range names {
		m[n[0]] = append(m[n[0]], n)
	}
	for _, l := range &m {
		for i := 1; i < len(l); i++ { // insertion sort by length, descending
			for j := i; j > 0 && len(l[j]) > len(l[j-1]); j-- {
				l[j], l[j-1] = l[j-1], l[j]
			}
		}
	}
	return &m
}()

// entry is one parsed general-log entry line.
type entry struct {
	iso     bool
	hasTime bool
	time    time.Time
	id      uint64
	command string
	arg     []byte
}

// general is the state of the general-log parser between lines.
type general struct {
	open      bool // an entry is being collected
	line      int
	id        uint64
	time      time.Time
	command   string
	text      []byte // argument, continuation lines appended
	lastTime  time.Time
	iso       isoCache
	isoForm   bool
	shortForm bool
}

// takesText says whether continuation lines belong to the command: only
// statements span lines; anything after a Connect or Quit is not glued on.
func takesText(cmd string) bool {
	return cmd == "Query" || cmd == "Prepare" || cmd == "Execute" || cmd == "Bulk_execute"
}

func (r *Reader) nextGeneral() (Event, error) {
	g := &r.gen
	for {
		line, ok := r.readLine()
		if !ok {
			if ev, emit := r.finishGeneral(); emit {
				return ev, nil
			}
			if err := r.readErr(); err != nil {
				return Event{}, err
			}
			return Event{}, io.EOF
		}
		// MySQL 5.7+ stamps every entry: once the file shows that form, a
		// line without an ISO stamp is statement text however it looks.
		// The other way round too: in a file of short stamps, a line with an
		// ISO stamp is statement text.
		if e, isEntry := parseGeneralEntryCached(line, &g.iso); isEntry && (!g.isoForm || e.iso) && !(g.shortForm && e.iso) {
			g.isoForm = g.isoForm || e.iso
			g.shortForm = g.shortForm || (e.hasTime && !e.iso)
			ev, emit := r.finishGeneral()
			g.open = true
			g.line = r.lineNo
			g.id = e.id
			if e.hasTime {
				g.lastTime = e.time
			}
			g.time = g.lastTime
			g.command = e.command
			g.text = append(g.text[:0], e.arg...)
			r.stats.Parsed++
			if emit {
				return ev, nil
			}
			continue
		}
		if isServerHeader(line) {
			r.stats.Parsed++
			if ev, emit := r.finishGeneral(); emit {
				return ev, nil
			}
			continue
		}
		if g.open && takesText(g.command) {
			g.text = append(g.text, '\n')
			g.text = append(g.text, line...)
			r.stats.Parsed++
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			r.stats.Parsed++ // blank lines carry nothing
			continue
		}
		r.unparsed(line)
	}
}

// finishGeneral closes the open entry: it updates the connection context and
// returns an event when the entry was a statement.
func (r *Reader) finishGeneral() (Event, bool) {
	g := &r.gen
	if !g.open {
		return Event{}, false
	}
	g.open = false
	text := bytes.TrimRight(g.text, " \t\r\n")
	switch g.command {
	case "Query", "Execute":
		q := string(text)
		c := r.conn(g.id)
		ev := Event{
			File: r.name, Line: g.line, ConnID: g.id, Time: g.time,
			User: c.user, Host: c.host, DB: c.db,
			Command: g.command, Query: q, Session: c.session,
		}
		if cls, ok := contextClass(q); ok {
			c.track(q, cls)
		}
		r.stats.Events++
		return ev, true
	case "Connect", "Change user":
		if bytes.HasPrefix(text, []byte("Access denied")) {
			return Event{}, false // failed login: no session was made
		}
		c := r.conn(g.id)
		c.reset()
		c.user, c.host, c.db = parseConnectArg(string(text))
	case "Init DB":
		r.conn(g.id).db = strings.TrimSpace(string(text))
	case "Reset Connection":
		r.conn(g.id).session, r.conn(g.id).sessionKeys = nil, nil
	case "Quit":
		delete(r.conns, g.id)
	}
	return Event{}, false
}

// contextClass classifies only what changes a connection's context (USE,
// session SET), cheaply, for every statement of a large log.
func contextClass(q string) (Class, bool) {
	q = skipSpaceAndComments(q)
	if len(q) < 3 {
		return 0, false
	}
	switch q[0] {
	case 'u', 'U', 's', 'S':
	default:
		return 0, false
	}
	switch firstWord(q) {
	case "use", "set":
		cls := Classify(q)
		return cls, cls == ClassUse || cls == ClassSession
	}
	return 0, false
}

// parseConnectArg reads "user@host on db", "user@host as proxy on db using
// TCP/IP" and the like.
func parseConnectArg(s string) (user, host, db string) {
	id := s
	if i := strings.IndexByte(s, ' '); i >= 0 {
		id = s[:i]
	}
	if at := strings.LastIndexByte(id, '@'); at >= 0 {
		user, host = id[:at], id[at+1:]
	} else {
		user = id
	}
	if i := strings.Index(s, " on "); i >= 0 {
		rest := s[i+4:]
		if j := strings.Index(rest, " using "); j >= 0 {
			rest = rest[:j]
		}
		db = strings.TrimSpace(rest)
	}
	return user, host, db
}

func parseGeneralEntry(line []byte) (entry, bool) {
	var c isoCache
	return parseGeneralEntryCached(line, &c)
}

// parseGeneralEntryCached parses "[stamp] ws id ws Command [ws arg]". A line
// without a stamp must start with whitespace, as the server writes it, and the
// command must be a known one: a query line that merely starts with a date or
// a number is continuation text, not a new entry.
func parseGeneralEntryCached(line []byte, iso *isoCache) (entry, bool) {
	var e entry
	p := 0
	if len(line) == 0 {
		return e, false
	}
	switch c := line[0]; {
	case c >= '0' && c <= '9':
		if len(line) > 19 && line[4] == '-' && line[10] == 'T' {
			t, n, ok := iso.parse(line)
			if !ok {
				return e, false
			}
			e.time, e.hasTime, e.iso, p = t, true, true, n
		} else {
			t, n, ok := parseShortStamp(line)
			if !ok {
				return e, false
			}
			e.time, e.hasTime, p = t, true, n
		}
	case c == ' ' || c == '\t':
	default:
		return e, false
	}
	start := p
	for p < len(line) && (line[p] == ' ' || line[p] == '\t') {
		p++
	}
	if p == start {
		return e, false
	}
	d := p
	var id uint64
	for p < len(line) && line[p] >= '0' && line[p] <= '9' {
		id = id*10 + uint64(line[p]-'0')
		p++
	}
	if p == d || p-d > 20 || p >= len(line) || (line[p] != ' ' && line[p] != '\t') {
		return e, false
	}
	for p < len(line) && (line[p] == ' ' || line[p] == '\t') {
		p++
	}
	if p >= len(line) {
		return e, false
	}
	cmd := ""
	for _, name := range commandsByFirstByte[line[p]] {
		if bytes.HasPrefix(line[p:], []byte(name)) {
			end := p + len(name)
			if end == len(line) || line[end] == '\t' || line[end] == ' ' {
				cmd = name
				p = end
				break
			}
		}
	}
	if cmd == "" {
		return e, false
	}
	for p < len(line) && (line[p] == ' ' || line[p] == '\t') {
		p++
	}
	e.id, e.command, e.arg = id, cmd, line[p:]
	return e, true
}

// parseShortStamp reads "YYMMDD H:MM:SS", "YYMMDD HH:MM:SS" and the padded
// variants ("100211  0:55:24", "051007   21:55:24"). Zone unknown: UTC.
func parseShortStamp(b []byte) (time.Time, int, bool) {
	if len(b) < 13 {
		return time.Time{}, 0, false
	}
	for i := 0; i < 6; i++ {
		if b[i] < '0' || b[i] > '9' {
			return time.Time{}, 0, false
		}
	}
	p := 6
	if b[p] != ' ' {
		return time.Time{}, 0, false
	}
	for p < len(b) && b[p] == ' ' {
		p++
	}
	num := func() (int, bool) {
		s := p
		v := 0
		for p < len(b) && b[p] >= '0' && b[p] <= '9' && p-s < 2 {
			v = v*10 + int(b[p]-'0')
			p++
		}
		return v, p > s
	}
	h, ok1 := num()
	if !ok1 || p >= len(b) || b[p] != ':' {
		return time.Time{}, 0, false
	}
	p++
	m, ok2 := num()
	if !ok2 || p-2 < 0 || p >= len(b) || b[p] != ':' {
		return time.Time{}, 0, false
	}
	p++
	s, ok3 := num()
	if !ok3 || h > 23 || m > 59 || s > 60 {
		return time.Time{}, 0, false
	}
	d2 := func(i int) int { return int(b[i]-'0')*10 + int(b[i+1]-'0') }
	yy, mo, dd := d2(0), d2(2), d2(4)
	if mo < 1 || mo > 12 || dd < 1 || dd > 31 {
		return time.Time{}, 0, false
	}
	year := 2000 + yy
	if yy >= 70 {
		year = 1900 + yy
	}
	return time.Date(year, time.Month(mo), dd, h, m, s, 0, time.UTC), p, true
}

// isoCache remembers the last stamp's second and zone: in a busy log many
// consecutive entries share them, and time.Date/zone lookups dominate
// otherwise.
type isoCache struct {
	prefix [19]byte
	zone   string
	base   time.Time
	valid  bool
}

// parse reads "2016-06-07T19:07:02.558338Z" or "...+08:00" at the start of b.
func (c *isoCache) parse(b []byte) (time.Time, int, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, 0, false
	}
	p := 19
	nanos, digits := 0, 0
	if b[p] == '.' {
		p++
		for p < len(b) && b[p] >= '0' && b[p] <= '9' {
			if digits < 9 {
				nanos = nanos*10 + int(b[p]-'0')
				digits++
			}
			p++
		}
		for d := digits; d < 9; d++ {
			nanos *= 10
		}
	}
	zs := p
	switch {
	case p < len(b) && b[p] == 'Z':
		p++
	case p+6 <= len(b) && (b[p] == '+' || b[p] == '-') && b[p+3] == ':':
		p += 6
	}
	zone := b[zs:p]
	if !(c.valid && bytes.Equal(c.prefix[:], b[:19]) && string(zone) == c.zone) {
		for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
			if b[i] < '0' || b[i] > '9' {
				return time.Time{}, 0, false
			}
		}
		d := func(i, n int) int {
			v := 0
			for k := 0; k < n; k++ {
				v = v*10 + int(b[i+k]-'0')
			}
			return v
		}
		loc := time.UTC
		if len(zone) == 6 {
			off := (d(zs+1, 2)*60 + d(zs+4, 2)) * 60
			if zone[0] == '-' {
				off = -off
			}
			loc = time.FixedZone(string(zone), off)
		}
		c.base = time.Date(d(0, 4), time.Month(d(5, 2)), d(8, 2), d(11, 2), d(14, 2), d(17, 2), 0, loc)
		copy(c.prefix[:], b[:19])
		c.zone = string(zone)
		c.valid = true
	}
	return c.base.Add(time.Duration(nanos)), p, true
}

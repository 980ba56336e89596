package awsfake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// logFile is one incarnation of an RDS log file. RDS MySQL/MariaDB rotate
// the current file (e.g. general/mysql-general.log) every hour into
// <name>.<hour 0-23>, overwriting the file of the same hour a day earlier.
type logFile struct {
	name        string
	data        []byte
	lastWritten time.Time
	gen         int // bumps when the name is reused, so stale markers are seen
}

// AppendLog appends data to the instance's log file name (creating it).
func (s *Server) AppendLog(instanceID, name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.logFileLocked(instanceID, name)
	if f == nil {
		s.seq++
		f = &logFile{name: name, gen: s.seq}
		s.logs[instanceID] = append(s.logs[instanceID], f)
	}
	f.data = append(f.data, data...)
	f.lastWritten = s.clock.Now()
}

// RotateLog renames the current file name to name.<hour> (replacing a file of
// the same name) and starts an empty current file, as RDS's hourly rotation does.
func (s *Server) RotateLog(instanceID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.logFileLocked(instanceID, name)
	if cur == nil {
		return
	}
	rotated := fmt.Sprintf("%s.%d", name, s.clock.Now().UTC().Hour())
	files := s.logs[instanceID][:0]
	for _, f := range s.logs[instanceID] {
		if f.name != rotated {
			files = append(files, f)
		}
	}
	s.logs[instanceID] = files
	s.seq++
	cur.name, cur.gen = rotated, s.seq
	s.seq++
	s.logs[instanceID] = append(s.logs[instanceID], &logFile{name: name, lastWritten: s.clock.Now(), gen: s.seq})
}

func (s *Server) logFileLocked(instanceID, name string) *logFile {
	for _, f := range s.logs[instanceID] {
		if f.name == name {
			return f
		}
	}
	return nil
}

func (s *Server) describeLogFiles(p params) (*node, *apiError) {
	i, e := s.findInstance(p.get("DBInstanceIdentifier"))
	if e != nil {
		return nil, e
	}
	var keep []*logFile
	since := int64(p.integer("FileLastWritten", 0))
	minSize := p.integer("FileSize", 0)
	for _, f := range s.logs[i.id] {
		if c := p.get("FilenameContains"); c != "" && !strings.Contains(f.name, c) {
			continue
		}
		if f.lastWritten.UnixMilli() < since || len(f.data) < minSize {
			continue
		}
		keep = append(keep, f)
	}
	start, end, next := s.page(p, len(keep))
	var out []*node
	for _, f := range keep[start:end] {
		out = append(out, el("DescribeDBLogFilesDetails", txt("LogFileName", f.name),
			txt("LastWritten", strconv.FormatInt(f.lastWritten.UnixMilli(), 10)), num("Size", len(f.data))))
	}
	return el("DescribeDBLogFilesResult", list("DescribeDBLogFiles", out), opt("Marker", next)), nil
}

// downloadLogPortion serves a file from a marker "<gen>:<offset>" (or "0")
// in portions of at most PortionBytes, cut at a line end when one fits. A
// marker from an earlier incarnation of the name (the file rotated under the
// reader) ends that read: no data, AdditionalDataPending=false.
func (s *Server) downloadLogPortion(p params) (*node, *apiError) {
	i, e := s.findInstance(p.get("DBInstanceIdentifier"))
	if e != nil {
		return nil, e
	}
	name := p.get("LogFileName")
	f := s.logFileLocked(i.id, name)
	if f == nil {
		return nil, errf("DBLogFileNotFoundFault", "DBLog File: %s, is not found on the DB instance", name)
	}
	offset := 0
	if m := p.get("Marker"); m != "" && m != "0" {
		gen, off, ok := strings.Cut(m, ":")
		g, err1 := strconv.Atoi(gen)
		o, err2 := strconv.Atoi(off)
		if !ok || err1 != nil || err2 != nil || o < 0 {
			return nil, errf("InvalidParameterValue", "Invalid marker: %s", m)
		}
		if g != f.gen {
			return el("DownloadDBLogFilePortionResult", txt("LogFileData", ""), txt("Marker", m),
				boolean("AdditionalDataPending", false)), nil
		}
		offset = min(o, len(f.data))
	}
	end := min(offset+s.opts.PortionBytes, len(f.data))
	if end < len(f.data) {
		if nl := strings.LastIndexByte(string(f.data[offset:end]), '\n'); nl >= 0 {
			end = offset + nl + 1
		}
	}
	if n := p.integer("NumberOfLines", 0); n > 0 {
		lines := 0
		for k := offset; k < end; k++ {
			if f.data[k] == '\n' {
				lines++
				if lines == n {
					end = k + 1
					break
				}
			}
		}
	}
	return el("DownloadDBLogFilePortionResult",
		txt("LogFileData", string(f.data[offset:end])),
		txt("Marker", fmt.Sprintf("%d:%d", f.gen, end)),
		boolean("AdditionalDataPending", end < len(f.data))), nil
}

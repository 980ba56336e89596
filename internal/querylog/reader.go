package querylog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
)

const (
	readBufSize = 1 << 20
	detectSize  = 64 << 10
)

// Reader streams events out of one log file. It is not safe for concurrent use.
type Reader struct {
	name   string
	kind   Kind
	br     *bufio.Reader
	closer []io.Closer

	lineNo int
	long   []byte // holds a line longer than the bufio buffer
	stats  Stats
	conns  map[uint64]*conn
	err    error // sticky read error

	gen  general
	slow slowState
}

// conn is what the log has told us about one connection so far.
type conn struct {
	user, host, db string
	session        []string // copy-on-write: events share it
	sessionKeys    []string
}

// Open opens a log file; gzip files are decompressed transparently.
func Open(path string, kind Kind) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open query log: %w", err)
	}
	r, err := NewReader(f, path, kind)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = append(r.closer, f)
	return r, nil
}

// NewReader reads a log from r; name is used in events and error messages.
// Gzip input is detected by its magic bytes.
func NewReader(r io.Reader, name string, kind Kind) (*Reader, error) {
	rd := &Reader{name: name, conns: make(map[uint64]*conn)}
	br := bufio.NewReaderSize(r, readBufSize)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read gzip query log %s: %w", name, err)
		}
		rd.closer = append(rd.closer, zr)
		br = bufio.NewReaderSize(zr, readBufSize)
	}
	rd.br = br
	if kind == Auto {
		head, err := br.Peek(detectSize)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return nil, fmt.Errorf("read query log %s: %w", name, err)
		}
		kind = detect(head)
	}
	rd.kind = kind
	return rd, nil
}

// Kind is the format being read (after auto-detection).
func (r *Reader) Kind() Kind { return r.kind }

// Stats returns the counts so far; Examples is a copy.
func (r *Reader) Stats() Stats {
	s := r.stats
	s.Examples = append([]Unparsed(nil), r.stats.Examples...)
	return s
}

// Close releases the file (and gzip reader) opened by Open.
func (r *Reader) Close() error {
	var first error
	for i := len(r.closer) - 1; i >= 0; i-- {
		if err := r.closer[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closer = nil
	return first
}

// Next returns the next event, or io.EOF after the last one.
func (r *Reader) Next() (Event, error) {
	if r.kind == Slow {
		return r.nextSlow()
	}
	return r.nextGeneral()
}

// detect says Slow when the head of the file has slow-log entry headers.
func detect(head []byte) Kind {
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		if bytes.HasPrefix(line, []byte("# Time:")) || bytes.HasPrefix(line, []byte("# User@Host:")) ||
			bytes.HasPrefix(line, []byte("# Query_time:")) {
			return Slow
		}
		if _, ok := parseGeneralEntry(line); ok {
			return General
		}
	}
	return General
}

// readLine returns the next line without its line ending (LF or CRLF). The
// slice is valid until the next call.
func (r *Reader) readLine() ([]byte, bool) {
	if r.err != nil {
		return nil, false
	}
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.br.ReadSlice('\n')
			r.long = append(r.long, line...)
		}
		line = r.long
	}
	if err != nil {
		r.err = err
		if len(line) == 0 {
			return nil, false
		}
	}
	r.stats.Bytes += int64(len(line))
	r.lineNo++
	r.stats.Lines++
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true
}

// readErr is the error that ended reading: nil at a clean EOF.
func (r *Reader) readErr() error {
	if r.err == nil || r.err == io.EOF {
		return nil
	}
	return fmt.Errorf("read query log %s: %w", r.name, r.err)
}

func (r *Reader) unparsed(line []byte) {
	r.stats.Unparsed++
	if len(r.stats.Examples) < MaxExamples {
		t := line
		if len(t) > 200 {
			t = t[:200]
		}
		r.stats.Examples = append(r.stats.Examples, Unparsed{File: r.name, Line: r.lineNo, Text: string(t)})
	}
}

func (r *Reader) conn(id uint64) *conn {
	c := r.conns[id]
	if c == nil {
		c = &conn{}
		r.conns[id] = c
	}
	return c
}

// isServerHeader recognises the lines the server writes when it opens the
// log: at start-up, on FLUSH LOGS and after each restart, so also mid-file.
func isServerHeader(line []byte) bool {
	switch {
	case bytes.HasSuffix(line, []byte(" started with:")) && bytes.Contains(line, []byte(", Version: ")):
		return true
	case bytes.HasPrefix(line, []byte("Tcp port: ")), bytes.HasPrefix(line, []byte("TCP Port: ")):
		return true
	case bytes.HasPrefix(line, []byte("Time ")) || bytes.HasPrefix(line, []byte("Time\t")):
		f := bytes.Fields(line)
		return len(f) == 4 && string(f[1]) == "Id" && string(f[2]) == "Command" && string(f[3]) == "Argument"
	}
	return false
}

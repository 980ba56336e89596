// Package journal is an append-only record of what a run did: one JSON
// object a line, fsync'd before the call returns, mode 0600, never a secret.
// Resume reads it back; anything the servers can tell is re-checked there.
package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Entry is one line of the journal.
type Entry struct {
	Time  time.Time         `json:"time"`
	Step  string            `json:"step"`
	Event string            `json:"event"` // start, done, failed, data, undone
	Data  map[string]string `json:"data,omitempty"`
}

// Journal appends entries to a file.
type Journal struct {
	mu      sync.Mutex
	f       *os.File
	entries []Entry
}

// Open opens (creating if needed) the journal at path and reads what it
// holds. A torn last line (a crash mid-write) is ignored.
func Open(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	j := &Journal{f: f}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue
		}
		j.entries = append(j.entries, e)
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, fmt.Errorf("reading journal %s: %w", path, err)
	}
	// End a torn line so the next entry starts on a line of its own.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return nil, fmt.Errorf("repairing journal %s: %w", path, err)
			}
		}
	}
	return j, nil
}

// Check reads the journal at path, if there is one, and returns what pred
// says of it; false, without creating the file, when there is none.
func Check(path string, pred func(*Journal) bool) (bool, error) {
	if _, err := os.Stat(path); err != nil {
		return false, nil
	}
	j, err := Open(path)
	if err != nil {
		return false, err
	}
	defer j.Close()
	return pred(j), nil
}

// Append writes one entry and syncs it to disk before returning.
func (j *Journal) Append(step, event string, data map[string]string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	e := Entry{Time: time.Now().UTC(), Step: step, Event: event, Data: data}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("syncing journal: %w", err)
	}
	j.entries = append(j.entries, e)
	return nil
}

// Entries returns a copy of everything recorded, oldest first.
func (j *Journal) Entries() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Entry(nil), j.entries...)
}

// Done reports whether step has a "done" entry.
func (j *Journal) Done(step string) bool {
	_, ok := j.Last(step, "done")
	return ok
}

// Last returns the newest entry of step with event (any event if "").
func (j *Journal) Last(step, event string) (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.entries) - 1; i >= 0; i-- {
		e := j.entries[i]
		if e.Step == step && (event == "" || e.Event == event) {
			return e, true
		}
	}
	return Entry{}, false
}

// Value returns the newest value of key recorded in any entry of step.
func (j *Journal) Value(step, key string) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.entries) - 1; i >= 0; i-- {
		e := j.entries[i]
		if e.Step == step {
			if v, ok := e.Data[key]; ok {
				return v, true
			}
		}
	}
	return "", false
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// ErrEmpty is returned by callers that need a journal with entries.
var ErrEmpty = errors.New("the journal is empty: nothing to resume")

package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/dbshift/dbshift/internal/provider"
)

// stateFile records every resource the provider made, with its run-id and
// role tags, so a resumed or aborting dbshift finds exactly what an
// interrupted one created. It holds no secrets.
const stateFile = "dbshift-local.json"

const (
	kindInstance = "instance"
	kindSnapshot = "snapshot"

	// statusCreating is written before anything is made, so a crash in the
	// middle leaves a record; Find reports such a resource as incomplete.
	statusCreating  = "creating"
	statusAvailable = "available"
	// StatusIncomplete is the Status Find reports for a resource an
	// interrupted call left half made: delete it, or call the same create
	// again (which replaces it).
	StatusIncomplete = "incomplete"
)

type resource struct {
	Kind string            `json:"kind"`
	ID   string            `json:"id"`
	Tags map[string]string `json:"tags"`
	// Status is creating or available.
	Status string `json:"status"`
	// Instance is the sandbox instance name (db3) and Dir its directory;
	// for a snapshot Dir is the prepared backup directory.
	Instance  string    `json:"instance,omitempty"`
	Dir       string    `json:"dir,omitempty"`
	Source    string    `json:"source,omitempty"`
	Encrypted bool      `json:"encrypted"`
	KeyID     string    `json:"key_id,omitempty"`
	Created   time.Time `json:"created"`
}

func (r resource) runID() string { return r.Tags[provider.TagRunID] }
func (r resource) role() string  { return r.Tags[provider.TagRole] }

type state struct {
	Resources []resource `json:"resources"`
}

// update runs f on the state under an exclusive lock (two dbshift processes
// on one sandbox directory must not lose each other's records) and writes
// the result atomically.
func (p *Provider) update(f func(st *state) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	lock, err := os.OpenFile(filepath.Join(p.dir, stateFile+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("locking provider state: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking provider state: %w", err)
	}
	st, err := p.readState()
	if err != nil {
		return err
	}
	if err := f(&st); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(p.dir, stateFile+".tmp")
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("writing provider state: %w", err)
	}
	if _, err := fh.Write(b); err != nil {
		fh.Close()
		return fmt.Errorf("writing provider state: %w", err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("writing provider state: %w", err)
	}
	if err := fh.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(p.dir, stateFile)); err != nil {
		return fmt.Errorf("writing provider state: %w", err)
	}
	return nil
}

func (p *Provider) readState() (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(p.dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("reading provider state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("provider state %s: %w", filepath.Join(p.dir, stateFile), err)
	}
	return st, nil
}

// put inserts or replaces the resource with r's kind and ID.
func (p *Provider) put(r resource) error {
	return p.update(func(st *state) error {
		i := slices.IndexFunc(st.Resources, func(x resource) bool { return x.Kind == r.Kind && x.ID == r.ID })
		if i < 0 {
			st.Resources = append(st.Resources, r)
		} else {
			st.Resources[i] = r
		}
		return nil
	})
}

func (p *Provider) drop(kind, id string) error {
	return p.update(func(st *state) error {
		st.Resources = slices.DeleteFunc(st.Resources, func(x resource) bool { return x.Kind == kind && x.ID == id })
		return nil
	})
}

// lookup returns the resource of that kind matching match (the newest when
// several do).
func (p *Provider) lookup(kind string, match func(resource) bool) (resource, bool, error) {
	st, err := p.readState()
	if err != nil {
		return resource{}, false, err
	}
	for i := len(st.Resources) - 1; i >= 0; i-- {
		if r := st.Resources[i]; r.Kind == kind && match(r) {
			return r, true, nil
		}
	}
	return resource{}, false, nil
}

func byID(id string) func(resource) bool { return func(r resource) bool { return r.ID == id } }

func byRunRole(runID, role string) func(resource) bool {
	return func(r resource) bool { return r.runID() == runID && r.role() == role }
}

func tags(runID, role string) map[string]string {
	return map[string]string{provider.TagRunID: runID, provider.TagRole: role}
}

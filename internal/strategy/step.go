// Package strategy turns a spec into the ordered steps of a migration.
// Each step is idempotent, can tell from the world whether it is already
// done, and records what it learnt in the journal (never a secret).
package strategy

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/progress"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/spec"
)

// Info describes a step for plan and status.
type Info struct {
	Name         string   `json:"name"`
	Summary      string   `json:"summary"`
	Touches      []string `json:"touches"`
	Precondition string   `json:"precondition"`
	Undoable     bool     `json:"undoable"`
	// Calls lists the control-plane API calls with their parameters (aws).
	Calls []string `json:"calls,omitempty"`
	// Arrows are the step's messages between participants (Mermaid).
	Arrows []Arrow `json:"-"`
	// PointOfNoReturn marks the step after which abort no longer undoes.
	PointOfNoReturn bool `json:"point_of_no_return,omitempty"`
}

// Arrow is one message of the sequence diagram.
type Arrow struct{ From, To, Text string }

// Participants of the migration, in the order the diagram shows them.
const (
	PDBShift   = "dbshift"
	PSource    = "Source"
	PReplica   = "TempReplica"
	PSnapshot  = "Snapshot"
	PEncrypted = "EncryptedSnapshot"
	PTarget    = "Target"
	PApp       = "App"
)

// Step is one idempotent action of a migration.
type Step interface {
	Info() Info
	// Done looks at the world (and the journal) to tell whether the step's
	// effect is already in place, so resume neither repeats nor skips it.
	Done(ctx context.Context, env *Env) (bool, error)
	Do(ctx context.Context, env *Env) error
	// Undo removes what Do created (abort); nil when there is nothing.
	Undo(ctx context.Context, env *Env) error
}

// Env is what steps work with.
type Env struct {
	Spec     *spec.Spec
	RunID    string
	Provider provider.Provider
	Journal  *journal.Journal
	Log      *slog.Logger
	// Progress makes a reporter for a wait (bar on a terminal).
	Progress func(label string, max int64) progress.Reporter
	// Cutover runs the cutover protocol with the spec's settings (auto mode).
	Cutover func(ctx context.Context, source, target *dbconn.Conn) error
	// Dir is the run's state directory (reports of the checks).
	Dir string
	// TLS and TLSCA are the global --tls and --tls-ca: every connection
	// the steps open uses them (a spec names servers, not TLS).
	TLS, TLSCA string
	conns      map[string]*dbconn.Conn
}

// withTLS fills in the run's TLS mode and CA where s has none.
func (e *Env) withTLS(s dbconn.Spec) dbconn.Spec { return s.WithTLS(e.TLS, e.TLSCA) }

// Close closes the connections the steps opened.
func (e *Env) Close() {
	for _, c := range e.conns {
		c.Close()
	}
	e.conns = nil
}

// SourceSpec is how to connect to the source.
func (e *Env) SourceSpec() dbconn.Spec {
	s := dbconn.Spec{Role: "source", DSN: e.Spec.Source.DSN, PasswordFile: e.Spec.Source.PasswordFile}
	if env := e.Spec.Source.PasswordEnv; env != "" && s.PasswordFile == "" {
		s.Password = os.Getenv(env)
	}
	return e.withTLS(s)
}

// Conn returns a cached connection for key, opening it with spec.
func (e *Env) Conn(ctx context.Context, key string, s dbconn.Spec) (*dbconn.Conn, error) {
	if c, ok := e.conns[key]; ok {
		if err := c.DB.PingContext(ctx); err == nil {
			return c, nil
		}
		c.Close()
	}
	c, err := dbconn.Open(ctx, e.withTLS(s), e.Log)
	if err != nil {
		return nil, err
	}
	if e.conns == nil {
		e.conns = map[string]*dbconn.Conn{}
	}
	e.conns[key] = c
	return c, nil
}

// Source connects to the source.
func (e *Env) Source(ctx context.Context) (*dbconn.Conn, error) {
	return e.Conn(ctx, "source", e.SourceSpec())
}

// InstanceConn connects to a provider instance.
func (e *Env) InstanceConn(ctx context.Context, inst provider.Instance) (*dbconn.Conn, error) {
	return e.Conn(ctx, "instance:"+inst.ID, inst.Spec(inst.Role))
}

// progress returns a reporter (a no-op when none is configured).
func (e *Env) progress(label string, max int64) progress.Reporter {
	if e.Progress == nil {
		return progress.Nop{}
	}
	return e.Progress(label, max)
}

func (e *Env) record(step string, data map[string]string) error {
	return e.Journal.Append(step, "data", data)
}

// instance finds a run's instance by role: journal first, then the provider
// (by tag) so a crash between "created" and "recorded" finds it too.
func (e *Env) instance(ctx context.Context, role string) (provider.Instance, bool, error) {
	inst, ok, err := e.Provider.FindInstance(ctx, e.RunID, role)
	if err != nil {
		return inst, false, fmt.Errorf("looking for the %s of run %s: %w", role, e.RunID, err)
	}
	return inst, ok, nil
}

func (e *Env) snapshot(ctx context.Context, role string) (provider.Snapshot, bool, error) {
	s, ok, err := e.Provider.FindSnapshot(ctx, e.RunID, role)
	if err != nil {
		return s, false, fmt.Errorf("looking for the %s of run %s: %w", role, e.RunID, err)
	}
	return s, ok, nil
}

// ready reports whether a provider resource is complete: a resource an
// interrupted call left half made must be made again, not used.
func ready(status string) bool { return status == provider.StatusAvailable }

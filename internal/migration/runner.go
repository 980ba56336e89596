// Package migration runs a spec's steps: a journaled runner that can be
// resumed after a crash and aborted back to a safe state, and a plan that
// prints the same steps without touching anything.
package migration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/spec"
	"github.com/dbshift/dbshift/internal/strategy"
)

const (
	journalFile = "run.journal"
	specFile    = "spec.yaml"
	stepRun     = "run"
)

// State is a run's directory: the spec it was started with and its journal.
type State struct {
	Dir     string
	Journal *journal.Journal
	RunID   string
}

// Create starts a new run in dir (which must not hold one) for spec bytes.
func Create(dir string, specBytes []byte, s *spec.Spec) (*State, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, journalFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a run: use dbshift resume --state %s, or abort it first", dir, dir)
	}
	if err := os.WriteFile(filepath.Join(dir, specFile), specBytes, 0o600); err != nil {
		return nil, err
	}
	j, err := journal.Open(filepath.Join(dir, journalFile))
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := s.Name + "-" + time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(b)
	if err := j.Append(stepRun, "start", map[string]string{"run_id": id, "fingerprint": s.Fingerprint(), "strategy": s.Strategy, "provider": s.Provider}); err != nil {
		return nil, err
	}
	return &State{Dir: dir, Journal: j, RunID: id}, nil
}

// Open reopens a run's directory and its spec.
func Open(dir string) (*State, *spec.Spec, []byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, specFile))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("no run in %s: %w", dir, err)
	}
	s, err := spec.Parse(b)
	if err != nil {
		return nil, nil, nil, err
	}
	j, err := journal.Open(filepath.Join(dir, journalFile))
	if err != nil {
		return nil, nil, nil, err
	}
	e, ok := j.Last(stepRun, "start")
	if !ok {
		j.Close()
		return nil, nil, nil, fmt.Errorf("%s: the journal has no run", dir)
	}
	return &State{Dir: dir, Journal: j, RunID: e.Data["run_id"]}, s, b, nil
}

// CheckSpec refuses to resume under a spec that changed in a way that
// matters (what is created, from where).
func (st *State) CheckSpec(s *spec.Spec) error {
	e, _ := st.Journal.Last(stepRun, "start")
	if fp := s.Fingerprint(); e.Data["fingerprint"] != fp {
		return fmt.Errorf("the spec changed since the run started (source, target, provider or strategy): resume with the spec in %s, or abort", filepath.Join(st.Dir, specFile))
	}
	return nil
}

// ErrStoppedBeforeCutover is returned when a manual-cutover run reached
// "target in sync": the operator picks the moment.
var ErrStoppedBeforeCutover = errors.New("target in sync; the run stops before cutover (cutover: manual)")

// Run executes the steps from the first one not done. A step already done
// in the journal is skipped; one started but not finished asks the world
// (Done) before running again.
func Run(ctx context.Context, steps []strategy.Step, env *strategy.Env) error {
	j := env.Journal
	if _, ok := j.Last("abort", "done"); ok {
		return errors.New("this run was aborted; start a new one in a fresh state directory")
	}
	for _, st := range steps {
		info := st.Info()
		if info.Name == strategy.StepCutover && env.Spec.Cutover.Mode != "auto" {
			_ = j.Append(stepRun, "data", map[string]string{"stopped_before": strategy.StepCutover})
			return ErrStoppedBeforeCutover
		}
		if j.Done(info.Name) {
			continue
		}
		if _, started := j.Last(info.Name, "start"); started {
			done, err := st.Done(ctx, env)
			if err != nil {
				return fmt.Errorf("%s: checking whether it is already done: %w", info.Name, err)
			}
			if done {
				env.Log.Info("step found done on resume", "step", info.Name)
				if err := j.Append(info.Name, "done", map[string]string{"derived": "true"}); err != nil {
					return err
				}
				continue
			}
		}
		if err := j.Append(info.Name, "start", nil); err != nil {
			return err
		}
		env.Log.Info("step", "step", info.Name, "summary", info.Summary)
		start := time.Now()
		if err := st.Do(ctx, env); err != nil {
			_ = j.Append(info.Name, "failed", map[string]string{"error": err.Error()})
			return fmt.Errorf("step %s: %w", info.Name, err)
		}
		if err := j.Append(info.Name, "done", map[string]string{"seconds": fmt.Sprintf("%.1f", time.Since(start).Seconds())}); err != nil {
			return err
		}
	}
	return j.Append(stepRun, "done", nil)
}

// Abort undoes, newest first, every step the journal shows was started,
// leaving the source untouched and writable and removing what the run
// created. Past the cutover's point of no return it refuses.
func Abort(ctx context.Context, steps []strategy.Step, env *strategy.Env) error {
	j := env.Journal
	if _, ok := j.Last(strategy.StepCutover, "start"); ok {
		backedOut, err := cutoverBackedOut(env.Dir)
		if err != nil {
			return err
		}
		if !backedOut {
			return errors.New("the cutover has started: the target may be the primary; use dbshift cutover --resume or dbshift rollback instead of abort")
		}
		// The cutover backed out (RDS rolled its switchover back, say):
		// the source is the primary, so the run can be undone.
		env.Log.Info("the cutover backed out before its point of no return: undoing the run")
	}
	var errs []error
	for i := len(steps) - 1; i >= 0; i-- {
		info := steps[i].Info()
		if _, started := j.Last(info.Name, "start"); !started {
			continue
		}
		if _, undone := j.Last(info.Name, "undone"); undone {
			continue
		}
		env.Log.Info("undo", "step", info.Name)
		if err := steps[i].Undo(ctx, env); err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", info.Name, err))
			continue
		}
		if err := j.Append(info.Name, "undone", nil); err != nil {
			return err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return j.Append("abort", "done", nil)
}

// CutoverDir is the directory of a run's cutover journal and report.
func CutoverDir(runDir string) string { return filepath.Join(runDir, "cutover") }

// cutoverBackedOut says whether the run's latest cutover ended before its
// point of no return and was undone.
func cutoverBackedOut(runDir string) (bool, error) {
	return journal.Check(filepath.Join(CutoverDir(runDir), "cutover.journal"), cutover.BackedOut)
}

// StepStatus is one step's state for `dbshift status`.
type StepStatus struct {
	Name    string    `json:"name"`
	State   string    `json:"state"` // pending, running, done, failed, undone
	Started time.Time `json:"started,omitempty"`
	Ended   time.Time `json:"ended,omitempty"`
	Error   string    `json:"error,omitempty"`
}

// Status derives every step's state from the journal.
func Status(steps []strategy.Step, j *journal.Journal) []StepStatus {
	var out []StepStatus
	for _, st := range steps {
		name := st.Info().Name
		s := StepStatus{Name: name, State: "pending"}
		for _, e := range j.Entries() {
			if e.Step != name {
				continue
			}
			switch e.Event {
			case "start":
				s.State, s.Started, s.Error = "running", e.Time, ""
			case "done":
				s.State, s.Ended = "done", e.Time
			case "failed":
				s.State, s.Ended, s.Error = "failed", e.Time, e.Data["error"]
			case "undone":
				s.State, s.Ended = "undone", e.Time
			}
		}
		out = append(out, s)
	}
	return out
}

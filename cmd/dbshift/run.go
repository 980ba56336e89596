package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/migration"
	"github.com/dbshift/dbshift/internal/progress"
	"github.com/dbshift/dbshift/internal/provider"
	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/spec"
	"github.com/dbshift/dbshift/internal/strategy"
)

type PlanCmd struct {
	File   string `name:"file" short:"f" required:"" type:"existingfile" help:"Migration spec (YAML)."`
	Format string `name:"format" enum:"text,json,mermaid" default:"text" help:"Output format (${enum})."`
}

func (c *PlanCmd) Run(app *App) error {
	_, _, p, err := loadSpec(c.File)
	if err != nil {
		return err
	}
	switch c.Format {
	case "json":
		return p.JSON(app.Stdout)
	case "mermaid":
		return p.Mermaid(app.Stdout)
	}
	return p.Text(app.Stdout)
}

type RunCmd struct {
	File  string `name:"file" short:"f" required:"" type:"existingfile" help:"Migration spec (YAML)."`
	State string `name:"state" required:"" type:"path" help:"Directory for the run's journal (resume and abort read it)."`
	Yes   bool   `name:"yes" help:"Do not ask for confirmation."`
}

// loadSpec reads, validates and plans a spec: plan and run call it both,
// so plan refuses exactly what run would.
func loadSpec(path string) ([]byte, *spec.Spec, *migration.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, usage("reading spec: %v", err)
	}
	s, err := spec.Parse(b)
	if err != nil {
		return nil, nil, nil, usage("%v", err)
	}
	p, err := migration.NewPlan(s)
	if err != nil {
		return nil, nil, nil, usage("%v", err)
	}
	return b, s, p, nil
}

func (c *RunCmd) Run(app *App) error {
	b, s, p, err := loadSpec(c.File)
	if err != nil {
		return err
	}
	// Reach the source before anything is created: an unreachable one is
	// exit 2 with no half-started run left in the state directory.
	src, err := dbconn.Open(app.Ctx, (&strategy.Env{Spec: s, TLS: app.TLS, TLSCA: app.TLSCA}).SourceSpec(), app.Log)
	if err != nil {
		return &ExitError{Code: exitCodeFor(err), Err: err}
	}
	src.Close()
	var actions []string
	for _, st := range p.Steps {
		if st.Name == strategy.StepCutover && s.Cutover.Mode != "auto" {
			break
		}
		actions = append(actions, st.Name+": "+st.Summary)
	}
	if err := app.confirm(c.Yes, actions); err != nil {
		return err
	}
	st, err := migration.Create(c.State, b, s)
	if err != nil {
		return usage("%v", err)
	}
	defer st.Journal.Close()
	fmt.Fprintf(app.Stdout, "run %s started; state in %s\n", st.RunID, c.State)
	return runSteps(app, st, s, false)
}

// runSteps builds the environment and runs (or resumes) the steps.
func runSteps(app *App, st *migration.State, s *spec.Spec, resume bool) error {
	env, steps, err := migrationEnv(app, st, s)
	if err != nil {
		return err
	}
	defer env.Close()
	err = migration.Run(app.Ctx, steps, env)
	switch {
	case errors.Is(err, migration.ErrStoppedBeforeCutover):
		fmt.Fprintf(app.Stdout, "target in sync. Cut over when ready:\n  dbshift cutover --state %s\n", st.Dir)
		return nil
	case err != nil:
		// %w and exitCodeFor: a server that could not be reached mid-run
		// is exit 2 too.
		return &ExitError{Code: exitCodeFor(err), Err: fmt.Errorf("run %s: %w (dbshift resume --state %s continues; dbshift abort --state %s undoes)", st.RunID, err, st.Dir, st.Dir)}
	}
	fmt.Fprintf(app.Stdout, "run %s completed\n", st.RunID)
	return nil
}

func migrationEnv(app *App, st *migration.State, s *spec.Spec) (*strategy.Env, []strategy.Step, error) {
	steps, err := strategy.Build(s)
	if err != nil {
		return nil, nil, usage("%v", err)
	}
	prov, err := newProvider(app, s, st.RunID)
	if err != nil {
		return nil, nil, err
	}
	env := &strategy.Env{
		Spec: s, RunID: st.RunID, Provider: prov, Journal: st.Journal, Log: app.Log, TLS: app.TLS, TLSCA: app.TLSCA,
		Progress: func(label string, max int64) progress.Reporter {
			return progress.New(app.Stderr, app.isTerminal(), label, max)
		},
	}
	env.Dir = st.Dir
	env.Cutover = func(ctx context.Context, src, tgt *dbconn.Conn) error {
		settings := specCutoverSettings(s, migration.CutoverDir(st.Dir))
		if err := prepareCutover(ctx, env, s, &settings); err != nil {
			return err
		}
		return runCutoverConns(app, src, tgt, &settings, "cutover")
	}
	return env, steps, nil
}

// providerCutover gives the cutover what the provider does its own way.
// On aws: the target opens through its own parameter group (RDS refuses SET
// GLOBAL read_only), and the old source is fenced for good with the run's
// deny-all security group.
func providerCutover(ctx context.Context, prov provider.Provider, runID, sourceID, targetID string, c *CutoverSettings) error {
	r, ok := prov.(*awsprov.RDS)
	if !ok {
		return nil
	}
	c.SourceInstance, c.TargetInstance = sourceID, targetID
	if len(c.AppAccount) == 0 {
		// No accounts to lock: fence with read_only=1 in the source's own
		// parameter group (RDS refuses SET GLOBAL).
		ro, err := r.SourceReadOnly(ctx)
		if err != nil {
			return usage("cutover fence: %v", err)
		}
		c.SourceFence = cutover.ReadOnlyFence{Control: ro}
	}
	c.FenceOld = func(ctx context.Context) error {
		_, err := r.FenceSourceForGood(ctx, runID)
		return err
	}
	if ro := r.TargetReadOnly(targetID); ro != nil {
		c.TargetReadOnly = ro
	}
	return nil
}

// specCutoverSettings maps the spec's cutover section onto the flags.
func specCutoverSettings(s *spec.Spec, stateDir string) CutoverSettings {
	c := CutoverSettings{
		State: stateDir, MaxLag: s.Replication.MaxLag, CatchupTimeout: s.Cutover.CatchupTimeout, DrainTimeout: s.Cutover.DrainTimeout,
		KillAfter: s.Cutover.KillAfter, FenceTimeout: s.Cutover.FenceTimeout, KeepReadOnly: s.Cutover.KeepReadOnly, Reverse: s.Cutover.Reverse,
		AppAccount: s.Cutover.AppAccounts, Yes: true, ReplTLS: s.Replication.TLS, ReplTLSCA: s.Replication.TLSCA,
	}
	for _, h := range s.Cutover.Hooks {
		c.Hook = append(c.Hook, h.Phase+"="+h.Command)
	}
	c.SwitchFlags = switchFlagsFromSpec(s.Cutover.Switch, s.AWS)
	c.HookEnv = s.Cutover.HookEnv
	if m := s.Maintenance; m != nil {
		c.Window = &cutover.Window{On: m.On, ReadChecks: m.ReadChecks, WriteChecks: m.WriteChecks, Off: m.Off, PointBack: m.PointBack, Env: s.Cutover.HookEnv}
	}
	return c
}

type ResumeCmd struct {
	State string `name:"state" required:"" type:"existingdir" help:"Directory of the run."`
}

func (c *ResumeCmd) Run(app *App) error {
	st, s, _, err := migration.Open(c.State)
	if err != nil {
		return usage("%v", err)
	}
	defer st.Journal.Close()
	if err := st.CheckSpec(s); err != nil {
		return usage("%v", err)
	}
	fmt.Fprintf(app.Stdout, "resuming run %s\n", st.RunID)
	return runSteps(app, st, s, true)
}

type AbortCmd struct {
	State string `name:"state" required:"" type:"existingdir" help:"Directory of the run."`
	Yes   bool   `name:"yes" help:"Do not ask for confirmation."`
}

func (c *AbortCmd) Run(app *App) error {
	st, s, _, err := migration.Open(c.State)
	if err != nil {
		return usage("%v", err)
	}
	defer st.Journal.Close()
	env, steps, err := migrationEnv(app, st, s)
	if err != nil {
		return err
	}
	defer env.Close()
	actions := []string{"undo run " + st.RunID + ": remove the temporary replica, snapshots and restored target it created, stop replication on the target, drop the replication user; the source is not touched"}
	if s.Strategy == "blue-green" {
		if actions, err = blueGreenAbortActions(app, env, st); err != nil {
			return err
		}
	}
	if err := app.confirm(c.Yes, actions); err != nil {
		return err
	}
	if err := migration.Abort(app.Ctx, steps, env); err != nil {
		return failed("abort %s: %v", st.RunID, err)
	}
	fmt.Fprintf(app.Stdout, "run %s aborted: what it created is removed; the source was not changed\n", st.RunID)
	return nil
}

type StatusCmd struct {
	State string `name:"state" required:"" type:"existingdir" help:"Directory of the run."`
	FormatFlag
}

func (c *StatusCmd) Run(app *App) error {
	st, s, _, err := migration.Open(c.State)
	if err != nil {
		return usage("%v", err)
	}
	defer st.Journal.Close()
	steps, err := strategy.Build(s)
	if err != nil {
		return usage("%v", err)
	}
	ss := migration.Status(steps, st.Journal)
	lag := runLag(app, st, s)
	if c.Format == "json" {
		return app.printJSON(map[string]any{"run_id": st.RunID, "steps": ss, "lag": lag})
	}
	fmt.Fprintf(app.Stdout, "run %s (%s, %s)\n", st.RunID, s.Provider, s.Strategy)
	for _, x := range ss {
		el := ""
		switch {
		case x.State == "running":
			el = time.Since(x.Started).Round(time.Second).String() + " so far"
		case !x.Ended.IsZero() && !x.Started.IsZero():
			el = x.Ended.Sub(x.Started).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(app.Stdout, "  %-8s %-20s %s %s\n", x.State, x.Name, el, x.Error)
	}
	if lag != nil {
		fmt.Fprintf(app.Stdout, "target %s: IO %s, SQL %s, %d bytes behind", lag.Target, lag.IO, lag.SQL, lag.BytesBehind)
		if lag.SecondsBehind != nil {
			fmt.Fprintf(app.Stdout, ", Seconds_Behind_Master %d", *lag.SecondsBehind)
		}
		if lag.BytesBehind == 0 {
			fmt.Fprint(app.Stdout, ", in sync")
		} else if lag.ETASeconds >= 0 {
			fmt.Fprintf(app.Stdout, ", catching up %.0f bytes/s, ETA %s", lag.ApplyBytesPerSec, (time.Duration(lag.ETASeconds) * time.Second).String())
		}
		fmt.Fprintln(app.Stdout)
	}
	return nil
}

// lagStatus is the target's replication as `dbshift status` shows it.
type lagStatus struct {
	Target           string  `json:"target"`
	IO               string  `json:"io_running"`
	SQL              string  `json:"sql_running"`
	SecondsBehind    *int64  `json:"seconds_behind_source"`
	BytesBehind      int64   `json:"bytes_behind"`
	ApplyBytesPerSec float64 `json:"apply_bytes_per_sec"`
	ETASeconds       float64 `json:"eta_seconds"` // -1: unknown
}

// runLag measures the target's lag twice, a second apart, for the apply
// rate and an ETA; nil when the run has no replicating target yet or the
// servers cannot be reached (status never fails for that).
func runLag(app *App, st *migration.State, s *spec.Spec) *lagStatus {
	replicating := st.Journal.Done(strategy.StepReplicate) || st.Journal.Done(strategy.StepCreateBlueGreen)
	if !replicating || st.Journal.Done(strategy.StepCutover) {
		return nil
	}
	env, _, err := migrationEnv(app, st, s)
	if err != nil {
		return nil
	}
	defer env.Close()
	var inst provider.Instance
	if s.Strategy == "blue-green" {
		bg, _, err := strategy.BlueGreenOf(app.Ctx, env)
		if err != nil || bg.Switched() {
			return nil
		}
		inst = bg.Green
	} else if found, ok, err := env.Provider.FindInstance(app.Ctx, st.RunID, provider.RoleTarget); err != nil || !ok {
		return nil
	} else {
		inst = found
	}
	src, err := env.Source(app.Ctx)
	if err != nil {
		return nil
	}
	tgt, err := env.InstanceConn(app.Ctx, inst)
	if err != nil {
		return nil
	}
	l1, rs, err := replication.MeasureLag(app.Ctx, src, tgt, nil)
	if err != nil {
		return nil
	}
	out := &lagStatus{Target: inst.ID, IO: rs.IORunning, SQL: rs.SQLRunning, SecondsBehind: l1.SecondsBehind, BytesBehind: l1.BytesBehind, ETASeconds: -1}
	if l1.BytesBehind <= 0 {
		out.ETASeconds = 0
		return out
	}
	start := time.Now()
	select {
	case <-app.Ctx.Done():
		return out
	case <-time.After(time.Second):
	}
	l2, _, err := replication.MeasureLag(app.Ctx, src, tgt, nil)
	if err != nil || l2.BytesBehind < 0 {
		return out
	}
	out.BytesBehind = l2.BytesBehind
	if rate := float64(l1.BytesBehind-l2.BytesBehind) / time.Since(start).Seconds(); rate > 0 {
		out.ApplyBytesPerSec = rate
		out.ETASeconds = float64(l2.BytesBehind) / rate
	}
	return out
}

// runMigrationCutover is `dbshift cutover --state DIR` after `dbshift run`:
// the source and target come from the run.
func runMigrationCutover(app *App, c *CutoverSettings) error {
	st, s, _, err := migration.Open(c.State)
	if err != nil {
		return usage("%v", err)
	}
	defer st.Journal.Close()
	env, steps, err := migrationEnv(app, st, s)
	if err != nil {
		return err
	}
	defer env.Close()
	// The cutover step runs with the spec's settings, overridden by flags
	// given on this command line.
	s.Cutover.Mode = "auto"
	settings := specCutoverSettings(s, migration.CutoverDir(st.Dir))
	settings.Resume = c.Resume
	settings.Report = c.Report
	settings.Format = c.Format
	if c.Reverse {
		settings.Reverse = true
	}
	if c.KeepReadOnly {
		settings.KeepReadOnly = true
	}
	env.Cutover = func(ctx context.Context, src, tgt *dbconn.Conn) error {
		if err := prepareCutover(ctx, env, s, &settings); err != nil {
			return err
		}
		return runCutoverConns(app, src, tgt, &settings, "cutover")
	}
	if err := migration.Run(app.Ctx, steps, env); err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return ee
		}
		return failed("%v", err)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/migration"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/spec"
	"github.com/dbshift/dbshift/internal/strategy"
)

// prepareCutover gives a run's cutover what its provider and strategy do
// their own way.
func prepareCutover(ctx context.Context, env *strategy.Env, s *spec.Spec, c *CutoverSettings) error {
	if s.Strategy != "blue-green" {
		return providerCutover(ctx, env.Provider, env.RunID, s.Target.ID, c)
	}
	bg, bgp, err := strategy.BlueGreenOf(ctx, env)
	if err != nil {
		return err
	}
	blueGreenSettings(bg, bgp, s, c)
	return nil
}

// blueGreenSettings is the read-only switchover of an RDS blue/green
// deployment: blue fenced with read_only=1 in its own parameter group, the
// switchover done by RDS, green kept read-only (pinned in its group) until
// open-writes. The old blue is not fenced off the network: it is the way
// back.
func blueGreenSettings(bg provider.BlueGreen, bgp provider.BlueGreener, s *spec.Spec, c *CutoverSettings) {
	c.KeepReadOnly = true
	c.SourceFence = cutover.ReadOnlyFence{Control: bgp.ReadOnly(bg, false)}
	c.TargetReadOnly = bgp.ReadOnly(bg, true)
	c.FenceOld = nil
	timeout := strategy.SwitchoverTimeout(s)
	c.Switchover = func(ctx context.Context) error {
		err := bgp.Switchover(ctx, bg.ID, timeout, nil)
		if errors.Is(err, provider.ErrSwitchoverRolledBack) {
			return fmt.Errorf("%w: %w", cutover.ErrNotSwitched, err)
		}
		return err
	}
}

// blueGreenRun is an open blue/green run: its deployment, blue and green
// connected, the cutover journal.
type blueGreenRun struct {
	st          *migration.State
	s           *spec.Spec
	env         *strategy.Env
	bg          provider.BlueGreen
	bgp         provider.BlueGreener
	blue, green *dbconn.Conn
	j           *journal.Journal
}

func (r *blueGreenRun) Close() {
	if r.j != nil {
		r.j.Close()
	}
	if r.env != nil {
		r.env.Close()
	}
	r.st.Journal.Close()
}

// withBlueGreenRun runs f on the blue-green run in dir; notARun is the usage
// error when dir is no run directory at all.
func withBlueGreenRun(app *App, dir, notARun string, f func(*blueGreenRun) error) error {
	r, ok, err := openBlueGreenRun(app, dir)
	if !ok {
		return usage("%s", notARun)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	return f(r)
}

// openBlueGreenRun opens the run in dir when it is a blue-green run;
// ok=false when dir is not a run directory at all.
func openBlueGreenRun(app *App, dir string) (_ *blueGreenRun, ok bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, "spec.yaml")); err != nil {
		return nil, false, nil
	}
	st, s, _, err := migration.Open(dir)
	if err != nil {
		return nil, true, usage("%v", err)
	}
	r := &blueGreenRun{st: st, s: s}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if s.Strategy != "blue-green" {
		return nil, true, usage("%s is a %s run: give --source and --target", dir, s.Strategy)
	}
	if r.env, _, err = migrationEnv(app, st, s); err != nil {
		return nil, true, err
	}
	if r.bg, r.bgp, err = strategy.BlueGreenOf(app.Ctx, r.env); err != nil {
		return nil, true, failed("%v", err)
	}
	// The source DSN names blue's endpoint, which the switchover gives to
	// green: connect to each member by its own current endpoint.
	if r.blue, err = r.env.Conn(app.Ctx, "blue:"+r.bg.Blue.ID, r.bg.Blue.Spec("blue")); err != nil {
		return nil, true, err
	}
	if r.green, err = r.env.Green(app.Ctx, r.bg); err != nil {
		return nil, true, err
	}
	if r.j, err = journal.Open(filepath.Join(migration.CutoverDir(dir), "cutover.journal")); err != nil {
		return nil, true, err
	}
	return r, true, nil
}

// runBlueGreenOpenWrites opens writes on green after a read-only
// switchover; with reverse, the old blue first replicates from green.
func runBlueGreenOpenWrites(app *App, r *blueGreenRun, reverse, yes bool) error {
	actions := []string{"open writes on " + r.green.String() + " (read_only=0 in its parameter group)"}
	if reverse {
		actions = append(actions, "make the old blue "+r.blue.String()+" replicate from it, from its position before it opens, so a rollback loses nothing")
	} else if err := cutover.ReverseAllowed(r.blue, r.green); err == nil {
		actions = append(actions, "without --reverse, a rollback after this would lose the writes green takes")
	} else {
		actions = append(actions, "no rollback after this: "+err.Error())
	}
	if err := app.confirm(yes, actions); err != nil {
		return err
	}
	o := cutover.Options{Journal: r.j, Log: app.Log, ReadOnly: r.bgp.ReadOnly(r.bg, true), Reverse: reverse, OldSource: r.blue,
		ReplUser: r.s.Replication.User}
	rep, err := cutover.OpenWrites(app.Ctx, r.green, o)
	if err != nil {
		return failed("open-writes: %v", err)
	}
	fmt.Fprintf(app.Stdout, "%s takes writes (%s)\n", r.green, rep.Reason)
	if rep.Reverse != nil {
		fmt.Fprintf(app.Stdout, "%s replicates from it from %s: dbshift rollback --state %s moves writes back without loss\n", r.blue, rep.TargetPromotion, r.st.Dir)
	}
	return nil
}

// runBlueGreenRollback moves writes back to the old blue: before writes
// opened, by pointing traffic back and unfencing blue; after, by a cutover
// in the other direction over reverse replication, or not at all.
func runBlueGreenRollback(app *App, r *blueGreenRun, c *RollbackCmd) error {
	if !r.j.Done("promote") {
		return usage("no completed switchover in %s: nothing to roll back (before the switchover, abort or resume the cutover)", r.st.Dir)
	}
	settings := specCutoverSettings(r.s, migration.CutoverDir(r.st.Dir))
	settings.Yes, settings.Format, settings.Report = c.Yes, c.Format, c.Report
	if !cutover.WritesOpened(r.j) {
		if seen, ok := cutover.TargetCameOutWritable(r.j); ok {
			return failed("rollback refused: green %s came out of the switchover writable (seen at %s; dbshift made it read-only again through its parameter group): it may hold writes the old blue %s lacks, so pointing traffic back could lose them. Nothing was changed: %s stays read-only, %s too. Either go forward (dbshift cutover open-writes --state %s --reverse; a rollback over reverse replication is possible after it), or check green's binary log after the switchover for application writes and, if it holds none, make %s writable by hand (read_only=0 in its parameter group) and point the application at %s",
				r.bg.Green.ID, seen.Format(time.RFC3339), r.bg.Blue.ID, r.bg.Blue.ID, r.bg.Green.ID, r.st.Dir, r.bg.Blue.ID, r.bg.Blue.Addr)
		}
		if err := app.confirm(c.Yes, []string{"make sure " + r.green.String() + " is read-only (read_only=1 in its parameter group) before anything else",
			"make the old blue " + r.blue.String() + " writable again (read_only=0 in its parameter group)",
			"switch traffic back to it (" + r.s.Cutover.Switch.Kind + "; with none, point the application at " + r.bg.Blue.Addr + " yourself: the switchover gave blue's endpoint name to green)",
			"leave " + r.green.String() + " read-only"}); err != nil {
			return err
		}
		blueGreenSettings(r.bg, r.bgp, r.s, &settings)
		o, err := settings.options(app, r.blue, r.green, nil, r.j)
		if err != nil {
			return err
		}
		rep, err := cutover.RollbackReadOnly(app.Ctx, r.blue, r.green, o)
		if err != nil {
			return failed("rollback: %v", err)
		}
		rep.Print(app.Stdout)
		return nil
	}
	if !r.j.Done("open-writes") {
		return failed("rollback: open-writes ran on %s and did not finish: it may be writable and hold writes the old blue %s lacks, so pointing traffic back would lose them; %s stays read-only. Finish it (dbshift cutover open-writes --state %s --reverse), then roll back over reverse replication", r.green, r.blue, r.blue, r.st.Dir)
	}
	if !r.j.Done("reverse") {
		why := "open-writes ran without --reverse, so the old blue does not have green's writes"
		if err := cutover.ReverseAllowed(r.blue, r.green); err != nil {
			why = err.Error()
		}
		return failed("rollback: writes are open on %s and cannot be moved back without losing them: %s", r.green, why)
	}
	// Green is the primary and the old blue replicates from it: a cutover
	// the other way, fencing green and opening blue through their groups.
	// It has a journal of its own (RUN/rollback), so the switchover's
	// journal stays where open-writes and rollback read it and a killed
	// rollback resumes from its own steps.
	settings.State = filepath.Join(r.st.Dir, "rollback")
	if done, err := rollbackFinished(settings.State); err != nil {
		return err
	} else if done && !c.Resume {
		fmt.Fprintf(app.Stdout, "already rolled back: %s takes writes, %s is fenced (report: %s)\n", r.blue, r.green, filepath.Join(settings.State, "cutover-report.json"))
		return nil
	}
	settings.KeepReadOnly = false
	settings.Reverse = c.Reverse
	settings.SourceFence = cutover.ReadOnlyFence{Control: r.bgp.ReadOnly(r.bg, true)}
	settings.TargetReadOnly = r.bgp.ReadOnly(r.bg, false)
	settings.Resume = c.Resume
	// The maintenance window is the switchover's, not the way back's.
	settings.Window = nil
	if err := cutover.BeginRollback(r.j, "reverse"); err != nil {
		return err
	}
	return runCutoverConns(app, r.green, r.blue, &settings, "rollback")
}

// rollbackFinished says whether the rollback over reverse replication
// journaled in dir completed.
func rollbackFinished(dir string) (bool, error) {
	path := filepath.Join(dir, "cutover.journal")
	if _, err := os.Stat(path); err != nil {
		return false, nil
	}
	j, err := journal.Open(path)
	if err != nil {
		return false, err
	}
	defer j.Close()
	e, ok := j.Last("report", "done")
	return ok && e.Data["outcome"] == "completed", nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/migration"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/spec"
	"github.com/dbshift/dbshift/internal/strategy"
)

// prepareCutover gives a run's cutover what its provider and strategy do
// their own way.
func prepareCutover(ctx context.Context, env *strategy.Env, s *spec.Spec, c *CutoverSettings) error {
	if s.Strategy != "blue-green" {
		return providerCutover(ctx, env.Provider, env.RunID, s.AWS.SourceInstance, s.Target.ID, c)
	}
	bg, bgp, err := strategy.BlueGreenOf(ctx, env)
	if err != nil {
		return err
	}
	// Only an AVAILABLE deployment can switch over: checked before blue is
	// fenced, so a hopeless attempt costs no write outage. (A resume asks
	// RDS where its own switchover is.)
	if !c.Resume && bg.Status != "AVAILABLE" {
		how := "abort it (dbshift abort --state " + filepath.Dir(c.State) + " deletes the deployment and green) and run again"
		if bg.Status == "SWITCHOVER_IN_PROGRESS" {
			how = "a switchover is under way: finish it with dbshift cutover --state " + filepath.Dir(c.State) + " --resume"
		}
		return failed("blue/green deployment %s (%s) is %s, not AVAILABLE: RDS will not switch it over; blue %s was not touched. %s", s.Target.ID, bg.ID, bg.Status, bg.Blue.ID, how)
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
		return usage("%s holds no dbshift run (no spec.yaml): %s", dir, notARun)
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
	actions := []string{"open writes on green " + r.bg.Green.ID + " (" + r.green.String() + "; read_only=0 in its parameter group)"}
	if reverse {
		actions = append(actions, "make the old blue "+r.bg.Blue.ID+" ("+r.blue.String()+") replicate from it, from its position before it opens, so a rollback loses nothing")
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
		return cutoverFailed("open-writes on green "+r.bg.Green.ID, err)
	}
	fmt.Fprintf(app.Stdout, "green %s (%s) takes writes (%s)\n", r.bg.Green.ID, r.green, rep.Reason)
	if rep.Reverse != nil {
		fmt.Fprintf(app.Stdout, "the old blue %s (%s) replicates from it from %s: dbshift rollback --state %s moves writes back without loss\n", r.bg.Blue.ID, r.blue, rep.TargetPromotion, r.st.Dir)
	}
	return nil
}

// runBlueGreenRollback moves writes back to the old blue: before writes
// opened, by pointing traffic back and unfencing blue; after, by a cutover
// in the other direction over reverse replication, or not at all. Every
// refusal says what it left as it was and what the operator can do.
func runBlueGreenRollback(app *App, r *blueGreenRun, c *RollbackCmd) error {
	blueID, greenID, dir := r.bg.Blue.ID, r.bg.Green.ID, r.st.Dir
	if !r.j.Done("promote") {
		if cutover.BackedOut(r.j) {
			return usage("nothing to roll back: the switchover did not happen (the cutover backed out; blue %s is the primary and writable, green %s read-only). Try the cutover again (dbshift cutover --state %s) or remove the deployment and green (dbshift abort --state %s)", blueID, greenID, dir, dir)
		}
		return usage("no completed switchover in %s: nothing to roll back. If a cutover was interrupted, finish it first (dbshift cutover --state %s --resume): it asks RDS where the switchover is", dir, dir)
	}
	settings := specCutoverSettings(r.s, migration.CutoverDir(dir))
	settings.Yes, settings.Format, settings.Report = c.Yes, c.Format, c.Report
	if !cutover.WritesOpened(r.j) {
		if seen, ok := cutover.TargetCameOutWritable(r.j); ok {
			return failed("rollback refused: green %s came out of the switchover writable (seen at %s; dbshift made it read-only again through its parameter group): it may hold writes the old blue %s lacks, so pointing traffic back could lose them. Nothing was changed: %s stays read-only, %s too. Either go forward (dbshift cutover open-writes --state %s --reverse; a rollback over reverse replication is possible after it), or check green's binary log after the switchover for application writes and, if it holds none, make %s writable by hand (read_only=0 in its parameter group) and point the application at %s",
				greenID, seen.Format(time.RFC3339), blueID, blueID, greenID, dir, blueID, r.bg.Blue.Addr)
		}
		if err := app.confirm(c.Yes, []string{
			"make sure green " + greenID + " is read-only (read_only=1 in its parameter group) before anything else",
			r.switchBackAction() + "; RDS gave blue's endpoint name to green " + greenID,
			"make the old blue " + blueID + " writable again (read_only=0 in its parameter group)",
			"leave green " + greenID + " read-only; it no longer replicates (RDS ended that at the switchover)"}); err != nil {
			return err
		}
		blueGreenSettings(r.bg, r.bgp, r.s, &settings)
		o, err := settings.options(app, r.blue, r.green, nil, r.j)
		if err != nil {
			return err
		}
		rep, err := cutover.RollbackReadOnly(app.Ctx, r.blue, r.green, o)
		if rep != nil {
			rep.Print(app.Stdout)
		}
		if wrong := (*cutover.WrongServersError)(nil); errors.As(err, &wrong) {
			return cutoverFailed("rollback", err)
		}
		if err != nil {
			return failed("rollback: %v. Writable now: %s. Fix the cause and run dbshift rollback --state %s again (it goes on from where it stopped)", err, writableNow(app, r), dir)
		}
		fmt.Fprintf(app.Stdout, "rolled back: the old blue %s takes writes; green %s is read-only and can be deleted with the deployment once you no longer need it\n", blueID, greenID)
		return nil
	}
	if !r.j.Done("open-writes") {
		return failed("rollback refused: open-writes ran on green %s and did not finish: it may be writable and hold writes the old blue %s lacks, so pointing traffic back would lose them. Nothing was changed: %s stays read-only. Finish it (dbshift cutover open-writes --state %s --reverse), then roll back over reverse replication (dbshift rollback --state %s)", greenID, blueID, blueID, dir, dir)
	}
	if !r.j.Done("reverse") {
		why := "open-writes ran without --reverse, so the old blue " + blueID + " does not have green's writes"
		if err := cutover.ReverseAllowed(r.blue, r.green); err != nil {
			why = err.Error()
		}
		return failed("rollback refused: writes are open on green %s and cannot be moved back without losing them: %s. Nothing was changed: %s takes writes, %s stays read-only and does not replicate. There is no lossless way back to %s: keep %s, or move to a new instance with a new run (its source: %s)", greenID, why, greenID, blueID, blueID, greenID, greenID)
	}
	// Green is the primary and the old blue replicates from it: a cutover
	// the other way, fencing green and opening blue through their groups.
	// It has a journal of its own (RUN/rollback), so the switchover's
	// journal stays where open-writes and rollback read it and a killed
	// rollback resumes from its own steps.
	settings.State = filepath.Join(dir, "rollback")
	if done, err := rollbackFinished(settings.State); err != nil {
		return err
	} else if done && !c.Resume {
		fmt.Fprintf(app.Stdout, "already rolled back: the old blue %s takes writes, green %s is fenced (report: %s)\n", blueID, greenID, filepath.Join(settings.State, "cutover-report.json"))
		return nil
	}
	settings.KeepReadOnly = false
	settings.Reverse = c.Reverse
	settings.SourceFence = cutover.ReadOnlyFence{Control: r.bgp.ReadOnly(r.bg, true)}
	settings.TargetReadOnly = r.bgp.ReadOnly(r.bg, false)
	settings.Resume = c.Resume
	settings.purpose = "rollback"
	// The maintenance window is the switchover's, not the way back's.
	settings.Window = nil
	if !c.Resume {
		if err := app.confirm(c.Yes, []string{
			"fence green " + greenID + " (read_only=1 in its parameter group) and wait until the old blue " + blueID + " has executed green's last write",
			"stop and reset " + blueID + "'s replication from " + greenID + ", then make " + blueID + " writable (read_only=0 in its parameter group)",
			r.switchBackAction(),
			"on failure before " + blueID + " opens, green " + greenID + " is unfenced again; after, dbshift rollback --state " + dir + " --resume finishes"}); err != nil {
			return err
		}
	}
	settings.Yes = true // confirmed above, in the rollback's own words
	if err := cutover.BeginRollback(r.j, "reverse"); err != nil {
		return err
	}
	err := runCutoverConns(app, r.green, r.blue, &settings, "rollback")
	if ee := (*ExitError)(nil); errors.As(err, &ee) && ee.Code == 1 {
		return failed("%v. Writable now: %s. Run dbshift rollback --state %s --resume to finish (if it backed out, run dbshift rollback --state %s again to retry)", err, writableNow(app, r), dir, dir)
	}
	return err
}

// switchBackAction says how traffic goes back to the old blue.
func (r *blueGreenRun) switchBackAction() string {
	if kind := r.s.Cutover.Switch.Kind; kind != "" && kind != "none" {
		return "switch traffic back to " + r.bg.Blue.ID + " with " + kind
	}
	return "no traffic switch is configured: point the application at " + r.bg.Blue.ID + " (" + r.bg.Blue.Addr + ") yourself"
}

// writableNow reads read_only on both members for an error message.
func writableNow(app *App, r *blueGreenRun) string {
	var open []string
	for _, m := range []struct {
		c  *dbconn.Conn
		id string
	}{{r.blue, "old blue " + r.bg.Blue.ID}, {r.green, "green " + r.bg.Green.ID}} {
		ro, err := replication.ReadOnly(app.Ctx, m.c)
		switch {
		case err != nil:
			open = append(open, m.id+" (unknown: "+err.Error()+")")
		case !ro:
			open = append(open, m.id)
		}
	}
	if len(open) == 0 {
		return "neither (both read-only: the application cannot write until one opens)"
	}
	return strings.Join(open, " and ")
}

// rollbackFinished says whether the rollback over reverse replication
// journaled in dir completed.
func rollbackFinished(dir string) (bool, error) {
	return journal.Check(filepath.Join(dir, "cutover.journal"), cutover.Completed)
}

// blueGreenAbortActions is what abort will do to a blue-green run, by the
// instances' names; after a completed switchover it refuses up front.
func blueGreenAbortActions(app *App, env *strategy.Env, st *migration.State) ([]string, error) {
	s := env.Spec
	bg, _, err := strategy.BlueGreenOf(app.Ctx, env)
	if err != nil {
		return []string{"undo run " + st.RunID + ": no blue/green deployment of this run to delete (" + err.Error() + "); " + s.AWS.SourceInstance + " (blue) is not touched"}, nil
	}
	if bg.Switched() {
		return nil, usage("abort refused: blue/green deployment %s was switched over: green %s is the primary (it has blue's endpoint name) and %s the old blue; abort removes nothing. Move writes back with dbshift rollback --state %s, or keep green and delete the deployment (and the old blue) in RDS when you no longer need them", s.Target.ID, bg.Green.ID, bg.Blue.ID, st.Dir)
	}
	blue := "blue " + bg.Blue.ID + " is not touched: it stays the primary"
	if c, err := env.Source(app.Ctx); err == nil {
		if ro, err := replication.ReadOnly(app.Ctx, c); err == nil && ro {
			blue = "blue " + bg.Blue.ID + " is not touched and is READ-ONLY now (read_only=1 in its parameter group): abort does not open it; set read_only=0 in its group once you know why"
		} else if err == nil {
			blue += " and stays writable"
		}
	}
	actions := []string{fmt.Sprintf("delete blue/green deployment %s (%s, %s) and its green instance %s with it (DeleteTarget=true)", s.Target.ID, bg.ID, bg.Status, bg.Green.ID)}
	if was, ok := strategy.GreenReadOnlyBefore(env); ok {
		to := "to " + was.Value
		if !was.Set {
			to = "to the engine's default (ResetDBParameterGroup; the group did not set it before the run)"
		}
		actions = append(actions, "put read_only in green's parameter group "+was.Group+" back "+to)
	}
	return append(actions, blue), nil
}

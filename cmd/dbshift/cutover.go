package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
)

type CutoverCmd struct {
	Run        CutoverRunCmd        `cmd:"" default:"withargs" help:"Cut over from the source to the target that replicates from it."`
	OpenWrites CutoverOpenWritesCmd `cmd:"" name:"open-writes" help:"After --keep-read-only: open writes on the target."`
}

// CutoverSettings are the protocol's knobs, shared by cutover and rollback.
type CutoverSettings struct {
	State          string        `name:"state" default:".dbshift-cutover" type:"path" help:"Directory for the cutover journal and report."`
	Report         string        `name:"report" type:"path" help:"Write the JSON report here too."`
	MaxLag         time.Duration `name:"max-lag" default:"1s" help:"Gate: heartbeat lag bound."`
	CatchupTimeout time.Duration `name:"catchup-timeout" default:"30s" help:"How long the target may take to execute the source's final coordinates."`
	DrainTimeout   time.Duration `name:"drain-timeout" default:"10s" help:"How long open write transactions may take to end."`
	KillAfter      time.Duration `name:"kill-after" help:"Kill write transactions still open after this long (default: never; abort instead)."`
	FenceTimeout   time.Duration `name:"fence-timeout" default:"5s" help:"How long the fence may wait for its lock and to be observed."`
	KeepReadOnly   bool          `name:"keep-read-only" help:"Move traffic but leave the target read-only; open writes later with 'cutover open-writes'."`
	Reverse        bool          `name:"reverse" help:"After promotion, replicate old <- new so 'rollback' loses nothing."`
	AppAccount     []string      `name:"app-account" placeholder:"USER@HOST" help:"RDS (no SET GLOBAL): fence by locking these accounts and killing their sessions."`
	Hook           []string      `name:"hook" placeholder:"PHASE=COMMAND" help:"Run COMMAND (sh -c) at PHASE: before-fence, after-fence, after-promote, after-switch, after-abort."`
	SwitchFlags
	Resume bool `name:"resume" help:"Finish a cutover the journal shows was interrupted."`
	// Window is set from a spec's maintenance section (not a flag).
	Window *cutover.Window `kong:"-"`
	// FenceOld is the provider's fence of the old source for good (aws:
	// deny-all security group), set by a run's cutover (not a flag).
	FenceOld func(ctx context.Context) error `kong:"-"`
	// TargetReadOnly opens the target where SET GLOBAL is refused (aws: its
	// own parameter group), set by a run's cutover (not a flag).
	TargetReadOnly cutover.ReadOnlyControl `kong:"-"`
	// SourceFence fences the source the provider's way (blue/green: read_only
	// in blue's parameter group), set by a run's cutover (not a flag).
	SourceFence cutover.Fencer `kong:"-"`
	// Switchover is the provider's own switchover (RDS blue/green), set by a
	// run's cutover (not a flag).
	Switchover func(ctx context.Context) error `kong:"-"`
	Yes        bool                            `name:"yes" help:"Do not ask for confirmation."`
	FormatFlag
}

type CutoverRunCmd struct {
	Source             string `name:"source" placeholder:"DSN" help:"Source server DSN (password from DBSHIFT_SOURCE_PASSWORD or --source-password-file); omit after 'dbshift run' to use the run's."`
	SourcePasswordFile string `name:"source-password-file" type:"path" placeholder:"FILE" help:"File holding the source password."`
	Target             string `name:"target" placeholder:"DSN" help:"Target server DSN (password from DBSHIFT_TARGET_PASSWORD or --target-password-file); omit after 'dbshift run'."`
	TargetPasswordFile string `name:"target-password-file" type:"path" placeholder:"FILE" help:"File holding the target password."`
	CutoverSettings
}

func (c *CutoverRunCmd) Run(app *App) error {
	if c.Source == "" && c.Target == "" {
		if _, err := os.Stat(filepath.Join(c.State, "spec.yaml")); err == nil {
			return runMigrationCutover(app, &c.CutoverSettings)
		}
		return usage("give --source and --target, or --state DIR of a 'dbshift run'")
	}
	if c.Source == "" || c.Target == "" {
		return usage("give both --source and --target")
	}
	return runCutover(app, dbconn.Spec{Role: "source", DSN: c.Source, PasswordFile: c.SourcePasswordFile},
		dbconn.Spec{Role: "target", DSN: c.Target, PasswordFile: c.TargetPasswordFile}, &c.CutoverSettings, "cutover")
}

// runCutover opens both servers and runs (or resumes) the protocol from
// src to tgt. Rollback calls it with the roles swapped.
func runCutover(app *App, srcSpec, tgtSpec dbconn.Spec, s *CutoverSettings, what string) error {
	src, tgt, closeBoth, err := app.openPair(srcSpec, tgtSpec)
	if err != nil {
		return err
	}
	defer closeBoth()
	return runCutoverConns(app, src, tgt, s, what)
}

// runCutoverConns runs (or resumes) the protocol on open connections.
func runCutoverConns(app *App, src, tgt *dbconn.Conn, s *CutoverSettings, what string) error {
	hooks, err := hooksWithEnv(s.Hook, s.HookEnv)
	if err != nil {
		return err
	}
	j, err := openCutoverJournal(s.State, s.Resume)
	if err != nil {
		return err
	}
	defer j.Close()
	o, err := s.options(app, src, tgt, hooks, j)
	if err != nil {
		return err
	}
	var rep *cutover.Report
	if s.Window != nil && !s.Resume {
		if err := app.confirm(s.Yes, []string{"run the read-only maintenance window: maintenance on, fence " + src.String() + ", switch to " + tgt.String() + " read-only, read checks, open writes, write checks, then keep or point back"}); err != nil {
			return err
		}
		rep, err = cutover.RunWindow(app.Ctx, src, tgt, o, *s.Window)
	} else if s.Resume {
		rep, err = cutover.Resume(app.Ctx, src, tgt, o)
	} else {
		actions := []string{
			fmt.Sprintf("fence %s (%s), wait for %s to execute its final coordinates", src, o.Fence.Describe(), tgt),
			fmt.Sprintf("promote %s: stop and reset its replication%s", tgt, map[bool]string{true: " (stays read-only)", false: ", open writes"}[s.KeepReadOnly]),
		}
		if o.Switch != nil {
			actions = append(actions, "switch traffic with "+o.Switch.Name())
		}
		if s.Reverse {
			actions = append(actions, fmt.Sprintf("make %s replicate from %s", src, tgt))
		}
		if err := app.confirm(s.Yes, actions); err != nil {
			return err
		}
		rep, err = cutover.Run(app.Ctx, src, tgt, o)
	}
	if rep != nil {
		if werr := writeReport(s, rep); werr != nil {
			app.Log.Error("writing the report", "err", werr)
		}
		if s.Format == "json" {
			_ = app.printJSON(rep)
		} else {
			rep.Print(app.Stdout)
		}
	}
	if err != nil {
		return failed("%s: %v", what, err)
	}
	return nil
}

func (s *CutoverSettings) options(app *App, src, tgt *dbconn.Conn, hooks []cutover.Hook, j *journal.Journal) (cutover.Options, error) {
	o := cutover.Options{
		MaxLag: s.MaxLag, CatchupTimeout: s.CatchupTimeout, DrainTimeout: s.DrainTimeout, KillAfter: s.KillAfter,
		FenceTimeout: s.FenceTimeout, KeepReadOnly: s.KeepReadOnly, Reverse: s.Reverse, Hooks: hooks, Journal: j, Log: app.Log,
	}
	o.ReadOnly = cutover.SQLReadOnly{LockWait: s.FenceTimeout}
	o.Fence = cutover.ReadOnlyFence{Control: o.ReadOnly}
	if s.SourceFence != nil {
		o.Fence = s.SourceFence
	} else if len(s.AppAccount) > 0 {
		var accts []cutover.Account
		for _, a := range s.AppAccount {
			acct, err := cutover.ParseAccount(a)
			if err != nil {
				return o, usage("--app-account: %v", err)
			}
			accts = append(accts, acct)
		}
		o.Fence = cutover.AccountFence{Accounts: accts}
	} else if src.Flavor.RDS {
		return o, usage("%s is RDS, where SET GLOBAL read_only is refused: give --app-account USER@HOST for each application account to lock", src)
	}
	sw, err := s.SwitchFlags.switcher(app)
	if err != nil {
		return o, err
	}
	o.Switch = sw
	o.FenceOld = s.FenceOld
	o.Switchover = s.Switchover
	if s.TargetReadOnly != nil {
		o.ReadOnly = s.TargetReadOnly
	}
	return o, nil
}

func parseHooks(specs []string) ([]cutover.Hook, error) {
	var hooks []cutover.Hook
	for _, h := range specs {
		phase, cmd, ok := strings.Cut(h, "=")
		if !ok || cmd == "" {
			return nil, usage("--hook %q: want PHASE=COMMAND", h)
		}
		valid := false
		for _, p := range cutover.HookPhases {
			valid = valid || p == phase
		}
		if !valid {
			return nil, usage("--hook: unknown phase %q (%s)", phase, strings.Join(cutover.HookPhases, ", "))
		}
		hooks = append(hooks, cutover.Hook{Phase: phase, Command: cmd})
	}
	return hooks, nil
}

// openCutoverJournal opens DIR/cutover.journal. A finished journal is kept
// under a dated name and a fresh one started; an unfinished one is only
// reopened with --resume.
func openCutoverJournal(dir string, resume bool) (*journal.Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, usage("state directory: %v", err)
	}
	path := filepath.Join(dir, "cutover.journal")
	j, err := journal.Open(path)
	if err != nil {
		return nil, err
	}
	if resume {
		if len(j.Entries()) == 0 {
			j.Close()
			return nil, usage("nothing to resume in %s", dir)
		}
		return j, nil
	}
	if len(j.Entries()) == 0 {
		return j, nil
	}
	_, reported := j.Last("report", "done")
	_, aborted := j.Last("abort", "done")
	if !reported && !aborted {
		j.Close()
		return nil, usage("%s records an unfinished cutover: run the same command with --resume", path)
	}
	j.Close()
	if err := os.Rename(path, filepath.Join(dir, fmt.Sprintf("cutover-%s.journal", time.Now().UTC().Format("20060102T150405.000")))); err != nil {
		return nil, err
	}
	return journal.Open(path)
}

func writeReport(s *CutoverSettings, rep *cutover.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	paths := []string{filepath.Join(s.State, "cutover-report.json")}
	if s.Report != "" {
		paths = append(paths, s.Report)
	}
	var errs []error
	for _, p := range paths {
		errs = append(errs, os.WriteFile(p, append(b, '\n'), 0o600))
	}
	return errors.Join(errs...)
}

type CutoverOpenWritesCmd struct {
	Target             string `name:"target" placeholder:"DSN" help:"Target server DSN (password from DBSHIFT_TARGET_PASSWORD or --target-password-file); omit with --state of a blue-green run."`
	TargetPasswordFile string `name:"target-password-file" type:"path" placeholder:"FILE" help:"File holding the target password."`
	State              string `name:"state" default:".dbshift-cutover" type:"path" help:"Directory of the cutover journal, or of a blue-green 'dbshift run'."`
	Reverse            bool   `name:"reverse" help:"Blue-green run: first make the old blue replicate from green, so 'rollback' after writes open loses nothing (same release series only)."`
	Yes                bool   `name:"yes" help:"Do not ask for confirmation."`
}

func (c *CutoverOpenWritesCmd) Run(app *App) error {
	if c.Target == "" {
		return withBlueGreenRun(app, c.State, "give --target, or --state DIR of a blue-green 'dbshift run'", func(r *blueGreenRun) error {
			return runBlueGreenOpenWrites(app, r, c.Reverse, c.Yes)
		})
	}
	if c.Reverse {
		return usage("--reverse: only with --state of a blue-green run (elsewhere, give --reverse to the cutover)")
	}
	tgt, err := app.open(TargetFlags{Target: c.Target, TargetPasswordFile: c.TargetPasswordFile}.spec())
	if err != nil {
		return err
	}
	defer tgt.Close()
	j, err := journal.Open(filepath.Join(c.State, "cutover.journal"))
	if err != nil {
		return err
	}
	defer j.Close()
	if err := app.confirm(c.Yes, []string{"forget the old source and open writes on " + tgt.String()}); err != nil {
		return err
	}
	rep, err := cutover.OpenWrites(app.Ctx, tgt, cutover.Options{Journal: j, Log: app.Log})
	if err != nil {
		return failed("open-writes: %v", err)
	}
	fmt.Fprintf(app.Stdout, "%s takes writes (%s)\n", tgt, rep.Reason)
	return nil
}

// RollbackCmd moves writes back to the original source. Before writes were
// opened on the target (--keep-read-only) it only points traffic back; after,
// it runs the cutover protocol in the other direction over the reverse
// replication, so no write made since is lost.
type RollbackCmd struct {
	Source             string `name:"source" placeholder:"DSN" help:"The original source (password from DBSHIFT_SOURCE_PASSWORD or --source-password-file); omit with --state of a blue-green run."`
	SourcePasswordFile string `name:"source-password-file" type:"path" placeholder:"FILE" help:"File holding the source password."`
	Target             string `name:"target" placeholder:"DSN" help:"The target cut over to (password from DBSHIFT_TARGET_PASSWORD or --target-password-file)."`
	TargetPasswordFile string `name:"target-password-file" type:"path" placeholder:"FILE" help:"File holding the target password."`
	CutoverSettings
}

func (c *RollbackCmd) Run(app *App) error {
	if c.Source == "" && c.Target == "" {
		return withBlueGreenRun(app, c.State, "give --source and --target, or --state DIR of a blue-green 'dbshift run'", func(r *blueGreenRun) error {
			return runBlueGreenRollback(app, r, c)
		})
	}
	if c.Source == "" || c.Target == "" {
		return usage("give both --source and --target")
	}
	source := SourceFlags{Source: c.Source, SourcePasswordFile: c.SourcePasswordFile}
	target := TargetFlags{Target: c.Target, TargetPasswordFile: c.TargetPasswordFile}
	j, err := journal.Open(filepath.Join(c.State, "cutover.journal"))
	if err != nil {
		return err
	}
	readOnlyPhase := j.Done("promote") && !cutover.WritesOpened(j)
	j.Close()
	if readOnlyPhase {
		src, tgt, closeBoth, err := app.openPair(source.spec(), target.spec())
		if err != nil {
			return err
		}
		defer closeBoth()
		if err := app.confirm(c.Yes, []string{"switch traffic back to " + src.String(), "restart replication on " + tgt.String(), "unfence " + src.String()}); err != nil {
			return err
		}
		j, err := journal.Open(filepath.Join(c.State, "cutover.journal"))
		if err != nil {
			return err
		}
		defer j.Close()
		o, err := c.options(app, src, tgt, nil, j)
		if err != nil {
			return err
		}
		rep, err := cutover.RollbackReadOnly(app.Ctx, src, tgt, o)
		if err != nil {
			return failed("rollback: %v", err)
		}
		rep.Print(app.Stdout)
		return nil
	}
	// The target is the primary now and the source replicates from it. The
	// servers keep their role names (and so their password variables).
	c.Reverse = true
	return runCutover(app, target.spec(), source.spec(), &c.CutoverSettings, "rollback")
}

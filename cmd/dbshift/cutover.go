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
	"github.com/dbshift/dbshift/internal/replication"
)

type CutoverCmd struct {
	Run        CutoverRunCmd        `cmd:"" default:"withargs" help:"Cut over from the source to the target that replicates from it."`
	OpenWrites CutoverOpenWritesCmd `cmd:"" name:"open-writes" help:"After --keep-read-only: open writes on the target."`
}

// CutoverSettings are the protocol's knobs, shared by cutover and rollback.
type CutoverSettings struct {
	State          string        `name:"state" type:"path" help:"Directory for the cutover journal and report (default: one per source/target pair under $$XDG_STATE_HOME/dbshift, printed at start)."`
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
	// AdoptJournal is the way out for a cutover interrupted under an older
	// dbshift, whose journal names no servers: resume refuses it otherwise.
	AdoptJournal bool `name:"adopt-journal" help:"With --resume: the journal (from an older dbshift) names no servers; record --source and --target as its servers, after confirmation, and resume."`
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
	// SourceInstance and TargetInstance are the RDS instance ids of an aws
	// run's cutover, journaled with the servers (not flags).
	SourceInstance string `kong:"-"`
	TargetInstance string `kong:"-"`
	// ReplTLS and ReplTLSCA are the reverse replication's TLS from a run's
	// spec (not flags: the cutover command takes the global --tls/--tls-ca).
	ReplTLS, ReplTLSCA string `kong:"-"`
	Yes                bool   `name:"yes" help:"Do not ask for confirmation."`
	FormatFlag
	// purpose is journaled with the servers ("rollback": a cutover back).
	purpose string
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
		if _, err := os.Stat(filepath.Join(c.State, "spec.yaml")); c.State != "" && err == nil {
			return runMigrationCutover(app, &c.CutoverSettings)
		}
		return usage("give --source and --target, or --state DIR of a 'dbshift run'")
	}
	if c.Source == "" || c.Target == "" {
		return usage("give both --source and --target")
	}
	if err := c.check(); err != nil {
		return err
	}
	if err := c.resolveState(app, c.Source, c.Target); err != nil {
		return err
	}
	if c.Resume {
		// Said before any server is dialed: there may be nothing to resume.
		if err := requireJournal(c.State); err != nil {
			return err
		}
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
		if err := adoptJournal(app, j, src, tgt, s); err != nil {
			return err
		}
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
		return cutoverFailed(what, err)
	}
	return nil
}

// check refuses flag values that would leave the source fenced without a
// bound: a zero or negative timeout reads as "wait forever" to
// MASTER_POS_WAIT and friends.
func (s *CutoverSettings) check() error {
	if err := positive(durationFlag{"max-lag", s.MaxLag}, durationFlag{"catchup-timeout", s.CatchupTimeout},
		durationFlag{"drain-timeout", s.DrainTimeout}, durationFlag{"fence-timeout", s.FenceTimeout}, durationFlag{"switch-timeout", s.SwitchTimeout}); err != nil {
		return err
	}
	if err := notNegative(durationFlag{"kill-after", s.KillAfter}); err != nil {
		return err
	}
	for _, a := range s.AppAccount {
		if _, err := cutover.ParseAccount(a); err != nil {
			return usage("--app-account: %v", err)
		}
	}
	if _, err := hooksWithEnv(s.Hook, s.HookEnv); err != nil {
		return err
	}
	return s.SwitchFlags.validate()
}

// resolveState gives a standalone cutover (or its rollback) a state
// directory of its own per source/target pair when --state is not given,
// so a journal is never picked up by a cutover of other servers from the
// same working directory.
func (s *CutoverSettings) resolveState(app *App, source, target string) error {
	if s.State != "" {
		return nil
	}
	dir, err := defaultStateDir(source, target)
	if err != nil {
		return err
	}
	s.State = dir
	fmt.Fprintf(app.Stderr, "dbshift: cutover journal and report in %s\n", dir)
	return nil
}

// legacyStateDir is where dbshift kept the journal before the default was
// one directory per pair.
const legacyStateDir = ".dbshift-cutover"

// stateRoot is $XDG_STATE_HOME/dbshift, or ~/.local/state/dbshift.
func stateRoot() (string, error) {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "dbshift"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", usage("no --state and no home directory for the default one: %v", err)
	}
	return filepath.Join(home, ".local", "state", "dbshift"), nil
}

// defaultStateDir is STATE_ROOT/SOURCE-TARGET, each named by the address
// in its DSN.
func defaultStateDir(source, target string) (string, error) {
	root, err := stateRoot()
	if err != nil {
		return "", err
	}
	s, err := dsnDirName(source)
	if err != nil {
		return "", usage("--source: %v", err)
	}
	t, err := dsnDirName(target)
	if err != nil {
		return "", usage("--target: %v", err)
	}
	return filepath.Join(root, s+"-"+t), nil
}

func dsnDirName(dsn string) (string, error) {
	cfg, _, err := dbconn.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, cfg.Addr), nil
}

// stateOfTarget finds the one default state directory of a cutover to
// target (open-writes names only the target).
func stateOfTarget(target string) (string, error) {
	root, err := stateRoot()
	if err != nil {
		return "", err
	}
	t, err := dsnDirName(target)
	if err != nil {
		return "", usage("--target: %v", err)
	}
	found, _ := filepath.Glob(filepath.Join(root, "*-"+t, "cutover.journal"))
	switch len(found) {
	case 0:
		return "", usage("no cutover to %s under %s: give --state DIR of the cutover", target, root)
	case 1:
		return filepath.Dir(found[0]), nil
	}
	var dirs []string
	for _, f := range found {
		dirs = append(dirs, filepath.Dir(f))
	}
	return "", usage("several cutovers to %s: give --state with one of %s", target, strings.Join(dirs, ", "))
}

// requireJournal says, as a usage error, that DIR holds no cutover.
func requireJournal(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "cutover.journal")); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(legacyStateDir, "cutover.journal")); err == nil && filepath.Clean(dir) != legacyStateDir {
		// Before the per-pair default, the journal was kept here.
		return usage("no cutover in %s (no cutover.journal there); an older dbshift kept one in ./%s: give --state %s", dir, legacyStateDir, legacyStateDir)
	}
	return usage("no cutover in %s (no cutover.journal there): give --state DIR of the cutover", dir)
}

// openExistingJournal opens DIR/cutover.journal of a cutover that ran;
// a directory without one is a usage error, never a new empty journal.
func openExistingJournal(dir string) (*journal.Journal, error) {
	if err := requireJournal(dir); err != nil {
		return nil, err
	}
	return journal.Open(filepath.Join(dir, "cutover.journal"))
}

// adoptJournal records src and tgt as the servers of a journal that names
// none, when --adopt-journal says so and the operator confirms: the one
// way to finish a cutover an older dbshift left with the source fenced.
func adoptJournal(app *App, j *journal.Journal, src, tgt *dbconn.Conn, s *CutoverSettings) error {
	if _, _, _, named := cutover.JournaledServers(j); named || !s.AdoptJournal {
		return nil
	}
	if err := app.confirm(s.Yes, []string{"take the journal in " + s.State + " (which names no servers) as the cutover from " + src.String() + " to " + tgt.String() + ", then resume it: backing out unfences " + src.String() + ", going forward opens " + tgt.String()}); err != nil {
		return err
	}
	return cutover.RecordServers(app.Ctx, j, src, tgt, "cutover")
}

// cutoverFailed is the exit error of a cutover call: 2 when the servers
// given are not the journal's (nothing was changed), else 1.
func cutoverFailed(what string, err error) error {
	var wrong *cutover.WrongServersError
	if errors.As(err, &wrong) {
		return usage("%s: %v", what, err)
	}
	return failed("%s: %v", what, err)
}

func (s *CutoverSettings) options(app *App, src, tgt *dbconn.Conn, hooks []cutover.Hook, j *journal.Journal) (cutover.Options, error) {
	o := cutover.Options{
		MaxLag: s.MaxLag, CatchupTimeout: s.CatchupTimeout, DrainTimeout: s.DrainTimeout, KillAfter: s.KillAfter,
		FenceTimeout: s.FenceTimeout, KeepReadOnly: s.KeepReadOnly, Reverse: s.Reverse, Hooks: hooks, Journal: j, Log: app.Log,
		Purpose: s.purpose, SourceInstance: s.SourceInstance, TargetInstance: s.TargetInstance,
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
	// The reverse replication's TLS: a run's spec (replication.tls), else
	// the global flags; refused now what Setup would refuse only after
	// the point of no return.
	o.ReplTLS, o.ReplTLSCA = app.TLS, app.TLSCA
	if s.ReplTLS != "" {
		o.ReplTLS, o.ReplTLSCA = s.ReplTLS, s.ReplTLSCA
	}
	if s.Reverse {
		if err := replication.CheckReplicaTLS(o.ReplTLS, o.ReplTLSCA, src); err != nil {
			return o, usage("--reverse: %v", err)
		}
	}
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
	if resume {
		return openExistingJournal(dir)
	}
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
	State              string `name:"state" type:"path" help:"Directory of the cutover journal, or of a blue-green 'dbshift run' (default: the one cutover to --target under $$XDG_STATE_HOME/dbshift)."`
	Reverse            bool   `name:"reverse" help:"Blue-green run: first make the old blue replicate from green, so 'rollback' after writes open loses nothing (same release series only)."`
	Yes                bool   `name:"yes" help:"Do not ask for confirmation."`
}

func (c *CutoverOpenWritesCmd) Run(app *App) error {
	if c.Target == "" {
		if c.State == "" {
			return usage("give --target, or --state DIR of a blue-green 'dbshift run'")
		}
		return withBlueGreenRun(app, c.State, "give --target, or --state DIR of a blue-green 'dbshift run'", func(r *blueGreenRun) error {
			return runBlueGreenOpenWrites(app, r, c.Reverse, c.Yes)
		})
	}
	if c.Reverse {
		return usage("--reverse: only with --state of a blue-green run (elsewhere, give --reverse to the cutover)")
	}
	if c.State == "" {
		dir, err := stateOfTarget(c.Target)
		if err != nil {
			return err
		}
		c.State = dir
		fmt.Fprintf(app.Stderr, "dbshift: cutover journal in %s\n", dir)
	}
	j, err := openExistingJournal(c.State)
	if err != nil {
		return err
	}
	defer j.Close()
	tgt, err := app.open(TargetFlags{Target: c.Target, TargetPasswordFile: c.TargetPasswordFile}.spec())
	if err != nil {
		return err
	}
	defer tgt.Close()
	// Checked before the question: a wrong server is refused, not asked about.
	if err := cutover.CheckServers(app.Ctx, j, nil, tgt); err != nil {
		return cutoverFailed("open-writes", err)
	}
	if err := app.confirm(c.Yes, []string{"forget the old source and open writes on " + tgt.String()}); err != nil {
		return err
	}
	rep, err := cutover.OpenWrites(app.Ctx, tgt, cutover.Options{Journal: j, Log: app.Log})
	if err != nil {
		return cutoverFailed("open-writes", err)
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
		if c.State == "" {
			return usage("give --source and --target, or --state DIR of a blue-green 'dbshift run'")
		}
		return withBlueGreenRun(app, c.State, "give --source and --target, or --state DIR of a blue-green 'dbshift run'", func(r *blueGreenRun) error {
			return runBlueGreenRollback(app, r, c)
		})
	}
	if c.Source == "" || c.Target == "" {
		return usage("give both --source and --target")
	}
	if err := c.check(); err != nil {
		return err
	}
	if err := c.resolveState(app, c.Source, c.Target); err != nil {
		return err
	}
	source := SourceFlags{Source: c.Source, SourcePasswordFile: c.SourcePasswordFile}
	target := TargetFlags{Target: c.Target, TargetPasswordFile: c.TargetPasswordFile}
	j, err := openExistingJournal(c.State)
	if err != nil {
		return err
	}
	defer j.Close()
	src, tgt, closeBoth, err := app.openPair(source.spec(), target.spec())
	if err != nil {
		return err
	}
	defer closeBoth()
	// The journal is the cutover's (source -> target) or, once a rollback
	// over reverse replication started, that rollback's (target ->
	// source): either way about these two servers, checked before any
	// question or change.
	if _, _, purpose, _ := cutover.JournaledServers(j); purpose == "rollback" {
		err = cutover.CheckServers(app.Ctx, j, tgt, src)
	} else {
		err = cutover.CheckServers(app.Ctx, j, src, tgt)
	}
	if err != nil {
		return cutoverFailed("rollback", err)
	}
	if j.Done("promote") && !cutover.WritesOpened(j) {
		if err := app.confirm(c.Yes, []string{"switch traffic back to " + src.String(), "restart replication on " + tgt.String(), "unfence " + src.String()}); err != nil {
			return err
		}
		o, err := c.options(app, src, tgt, nil, j)
		if err != nil {
			return err
		}
		rep, err := cutover.RollbackReadOnly(app.Ctx, src, tgt, o)
		if err != nil {
			return cutoverFailed("rollback", err)
		}
		rep.Print(app.Stdout)
		return nil
	}
	// The target is the primary now and the source replicates from it. The
	// servers keep their role names (and so their password variables).
	c.Reverse = true
	c.purpose = "rollback"
	return runCutoverConns(app, tgt, src, &c.CutoverSettings, "rollback")
}

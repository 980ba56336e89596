// Package cutover moves the writes of an application from a source to a
// target that replicates from it, losing nothing and never letting both take
// writes. Run reads like the runbook; every numbered step is the same step
// in ../shared/DESIGN.md.
//
//  1. gate        target replicating, no error, lag under the bound, target read-only
//  2. hook        before-fence (maintenance page on)
//  3. fence       source stops taking writes; wait until the fence is observed
//  4. drain       no write transaction still open on the source
//  5. record      the source's final coordinates, journaled at once
//  6. catch-up    the target has executed exactly those coordinates
//     -- anything failing up to here aborts: source writable again, target replicating --
//  7. promote     POINT OF NO RETURN: stop/reset replication, record the
//     target's coordinates, open writes on the target
//     (RDS blue/green: the provider's switchover first, see Options.Switchover;
//     the target stays read-only until open-writes)
//  8. switch      traffic to the target
//  9. fence old   the old source stays fenced; optionally replicates back (reverse)
//  10. report     phases, write-unavailable ms, client-visible ms
package cutover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/switcher"
)

// Options are the cutover's settings. Zero values take the defaults noted.
type Options struct {
	MaxLag         time.Duration // gate: heartbeat lag bound (1s)
	GateStable     time.Duration // gate: how long the lag must stay under it (1s)
	GateTimeout    time.Duration // gate: give up after (60s)
	FenceTimeout   time.Duration // fence: lock wait and observation bound (5s)
	DrainTimeout   time.Duration // drain: how long open transactions may take (10s)
	KillAfter      time.Duration // drain: kill blockers older than this (0: never)
	CatchupTimeout time.Duration // catch-up: how long the target may take (30s)
	KeepReadOnly   bool          // promote: leave the target read-only (open-writes later)
	Reverse        bool          // fence old: replicate old <- new from the promotion coordinates
	// Fence fences the source (default: read_only via ReadOnly).
	Fence Fencer
	// ReadOnly opens the target (default: SET GLOBAL).
	ReadOnly ReadOnlyControl
	Switch   switcher.Switcher // nil: no traffic switch (the operator's own)
	Hooks    []Hook
	// SourceAddr/TargetAddr are the addresses the servers reach each other
	// by, for reverse replication (default: the DSNs').
	SourceAddr, TargetAddr string
	ReplUser               string
	// ReplTLS and ReplTLSCA are the reverse replication's TLS: a dbconn
	// mode ("" preferred) and, under verify-ca/verify-identity, the CA file
	// the old source's server reads on its own machine.
	ReplTLS, ReplTLSCA string
	// FenceOld fences the old source for good once the target is promoted
	// and traffic switched (AWS: a deny-all security group); nil: it stays
	// fenced by Fence alone. It is skipped with Reverse, which needs the old
	// source to reach the new one.
	FenceOld func(ctx context.Context) error
	// Switchover, when set, is how the target becomes the primary: the
	// provider's own switchover (RDS blue/green), which stops the target's
	// replication and moves the source's endpoint name to it. It must start
	// the switchover or re-attach to one under way, and return once it has
	// completed; an error wrapping ErrNotSwitched means the provider rolled
	// it back and the source is still the primary. With it the target
	// always stays read-only (KeepReadOnly) until open-writes: RDS would
	// open it itself.
	Switchover func(ctx context.Context) error
	// OldSource, with Reverse, is the old primary OpenWrites makes replicate
	// from the target before opening it (a read-only switchover's way back).
	OldSource *dbconn.Conn
	// SourceInstance and TargetInstance are the RDS instance ids where the
	// caller knows them: journaled with the servers and compared on resume.
	SourceInstance, TargetInstance string
	// Purpose is journaled with the servers: "cutover" (default), or
	// "rollback" for a cutover back over reverse replication.
	Purpose string
	Journal *journal.Journal // required
	Log     *slog.Logger
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.MaxLag, time.Second)
	def(&o.GateStable, time.Second)
	def(&o.GateTimeout, 60*time.Second)
	def(&o.FenceTimeout, 5*time.Second)
	def(&o.DrainTimeout, 10*time.Second)
	def(&o.CatchupTimeout, 30*time.Second)
	if o.ReadOnly == nil {
		o.ReadOnly = SQLReadOnly{LockWait: o.FenceTimeout}
	}
	if o.Fence == nil {
		o.Fence = ReadOnlyFence{Control: o.ReadOnly}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ReplUser == "" {
		o.ReplUser = "dbshift_repl"
	}
	if o.Switchover != nil {
		o.KeepReadOnly = true
	}
	if o.Purpose == "" {
		o.Purpose = "cutover"
	}
}

func (o *Options) instances() [2]string { return [2]string{o.SourceInstance, o.TargetInstance} }

// check refuses settings that would make a fenced wait unbounded: a zero
// is a default, a negative a mistake (MASTER_POS_WAIT reads -1 as "wait
// forever", with the source fenced all along).
func (o *Options) check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"max lag", o.MaxLag}, {"gate stable", o.GateStable}, {"gate timeout", o.GateTimeout}, {"fence timeout", o.FenceTimeout},
		{"drain timeout", o.DrainTimeout}, {"kill after", o.KillAfter}, {"catch-up timeout", o.CatchupTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("%s %s: must be positive", d.name, d.v)
		}
	}
	return nil
}

// Journal step names.
const (
	stepGate       = "gate"
	stepFence      = "fence"
	stepDrain      = "drain"
	stepRecord     = "record"
	stepCatchup    = "catchup"
	stepSwitchover = "switchover" // the provider's (blue/green), before promote
	stepPromote    = "promote"    // its "start" entry is the point of no return
	stepOpen       = "open-writes"
	stepSwitch     = "switch"
	stepReverse    = "reverse"
	stepAbort      = "abort"
	stepRollback   = "rollback"        // its "start" entry: the old source may take writes again
	stepWritable   = "target-writable" // the provider's switchover left the target writable
	stepReport     = "report"
)

// ErrAborted wraps every failure before the point of no return: the source
// took writes again and the target still replicates.
var ErrAborted = errors.New("cutover aborted, nothing changed")

// ErrNotSwitched is what Options.Switchover wraps when the provider's
// switchover failed and was rolled back: the source is still the primary,
// so the cutover backs out like any failure before the point of no return.
var ErrNotSwitched = errors.New("the provider's switchover did not happen")

// Run performs the cutover. On error before the point of no return it has
// already undone the fence; the report says why either way.
func Run(ctx context.Context, source, target *dbconn.Conn, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	o.defaults()
	if len(o.Journal.Entries()) > 0 {
		return nil, errors.New("the cutover journal is not empty: resume the cutover it records (--resume) or start with a fresh state directory")
	}
	// 0. Which servers this is about, first: resume, open-writes and
	// rollback act on these and no others.
	if err := recordServers(ctx, o.Journal, source, target, o.Purpose, o.instances()); err != nil {
		return nil, err
	}
	r := newReport(source, target)
	c := &run{ctx: ctx, src: source, tgt: target, o: o, r: r}

	// 1. Gate: nothing is touched unless the target could take over now.
	if err := c.phase("gate", c.gate); err != nil {
		return c.abort(err, false)
	}
	// 2. Hook before-fence (maintenance mode on, for instance).
	if err := c.hook(HookBeforeFence); err != nil {
		return c.abort(err, false)
	}
	// 3. Fence the source and wait until the fence is observed.
	if err := c.phase("fence", c.fence); err != nil {
		return c.abort(err, true)
	}
	if err := c.hook(HookAfterFence); err != nil {
		return c.abort(err, true)
	}
	// 4. Drain: no application write transaction still open.
	if err := c.phase("drain", c.drain); err != nil {
		return c.abort(err, true)
	}
	// 5-6. Record the final coordinates and wait for the target to execute
	// exactly them; repeat if the source moved (writes from accounts the
	// fence does not bind, or RDS's own heartbeat).
	if err := c.phase("catch-up", c.recordAndCatchUp); err != nil {
		return c.abort(err, true)
	}
	// 6b. RDS blue/green: the provider switches (renames the instances, ends
	// green's replication). Until it reports completion the source is still
	// the primary; a switchover it rolled back backs out.
	if c.o.Switchover != nil {
		if err, back := c.switchover(); back {
			return c.abort(err, true)
		} else if err != nil {
			return r, c.finishErr(fmt.Errorf("switchover state unknown (re-run with --resume to re-attach to it): %w", err))
		}
	}
	// 7. Point of no return.
	if err := c.phase("promote", c.promote); err != nil {
		c.releaseBlockAfterPromotion()
		return r, c.finishErr(fmt.Errorf("promote (past the point of no return; re-run with --resume): %w", err))
	}
	return c.afterPromote()
}

// run carries one cutover's state between its steps.
type run struct {
	ctx      context.Context
	src, tgt *dbconn.Conn
	o        Options
	r        *Report
	final    replication.Coordinates
	promoted replication.Coordinates
	block    *commitBlock // MariaDB: held from the fence until traffic switched
	// wasFenced: the source was read-only before the fence (not ours to lift).
	wasFenced bool
}

func (c *run) afterPromote() (*Report, error) {
	if err := c.hook(HookAfterPromote); err != nil {
		c.r.Warnings = append(c.r.Warnings, err.Error())
	}
	// Writes that bypassed the fence (MariaDB accounts with READ ONLY ADMIN
	// or SUPER) are not on the new primary: say so, loudly.
	c.checkSourceStill()
	// 8. Switch traffic. A failure here leaves the target promoted and the
	// source fenced: report it and let --resume finish the switch.
	err := c.phase("switch", c.switchTraffic)
	// Traffic has moved (or could not): commits that waited behind the
	// MariaDB commit block are killed, never acknowledged, not let through.
	c.releaseBlockAfterPromotion()
	if err != nil {
		return c.r, c.finishErr(fmt.Errorf("promoted, but traffic was not switched (re-run with --resume): %w", err))
	}
	if err := c.hook(HookAfterSwitch); err != nil {
		c.r.Warnings = append(c.r.Warnings, err.Error())
	}
	// Once more, after the switch and before reverse replication makes the
	// old source's binlog grow with the new primary's events: a privileged
	// write that raced the release of the commit block lands here.
	c.checkSourceStill()
	// 9. The old source stays fenced; optionally it replicates back.
	if c.o.Reverse {
		if err := c.phase("reverse", c.reverse); err != nil {
			return c.r, c.finishErr(fmt.Errorf("promoted and switched, but reverse replication did not start (re-run with --resume): %w", err))
		}
		if c.o.FenceOld != nil {
			c.r.Warnings = append(c.r.Warnings, "old source not fenced off the network: reverse replication needs it to reach the new primary")
		}
	} else if c.o.FenceOld != nil {
		if err := c.phase("fence-old", func() error { return c.o.FenceOld(c.ctx) }); err != nil {
			return c.r, c.finishErr(fmt.Errorf("promoted and switched, but the old source was not fenced off the network; it stays fenced by %s (re-run with --resume): %w", c.o.Fence.Describe(), err))
		}
	}
	// 10. Report.
	c.r.complete()
	if err := c.o.Journal.Append(stepReport, "done", map[string]string{"outcome": c.r.Outcome}); err != nil {
		return c.r, err
	}
	if c.r.SourceWritesAfterFinal > 0 {
		return c.r, fmt.Errorf("%d bytes were written on the old source after its final coordinates by accounts read_only does not bind; those writes are not on the new primary", c.r.SourceWritesAfterFinal)
	}
	return c.r, nil
}

// checkSourceStill re-reads the old source's position after promotion.
func (c *run) checkSourceStill() {
	now, err := replication.SourcePosition(c.ctx, c.src)
	if err != nil || c.final.IsZero() || replication.Compare(now, c.final) <= 0 {
		return
	}
	n := int64(-1)
	if now.File == c.final.File {
		n = int64(now.Position - c.final.Position)
	} else if logs, err := replication.BinaryLogs(c.ctx, c.src); err == nil {
		n = replication.BytesBetween(logs, c.final, now)
	}
	if n <= 0 {
		n = 1
	}
	if n <= c.r.SourceWritesAfterFinal {
		return
	}
	c.r.SourceWritesAfterFinal = n
	c.r.Warnings = append(c.r.Warnings, fmt.Sprintf("the old source moved from %s to %s after the final coordinates: writes by accounts that bypass read_only (SUPER / READ ONLY ADMIN on MariaDB) are NOT on the new primary", c.final, now))
}

func (c *run) phase(name string, f func() error) error {
	p := c.r.start(name)
	c.o.Log.Info("cutover phase", "phase", name)
	err := f()
	c.r.end(p, err)
	return err
}

func (c *run) hook(phase string) error {
	out, err := runHook(c.ctx, c.o.Hooks, phase, c.src.Addr, c.tgt.Addr)
	if out != "" {
		c.r.HookOutput = append(c.r.HookOutput, phase+": "+out)
	}
	return err
}

// gate: target IO and SQL threads running, no error, heartbeat lag under
// the bound for a stable period, target read-only, switch possible.
func (c *run) gate() error {
	if err := c.o.Journal.Append(stepGate, "start", nil); err != nil {
		return err
	}
	lag, err := replication.WaitCaughtUp(c.ctx, c.src, c.tgt, replication.WaitOptions{
		MaxLag: c.o.MaxLag, Stable: c.o.GateStable, Timeout: c.o.GateTimeout,
	})
	if err != nil {
		return fmt.Errorf("gate: %w", err)
	}
	c.r.GateLagMS = lag.Heartbeat.Milliseconds()
	st, err := replication.ReadStatus(c.ctx, c.tgt)
	if err != nil {
		return err
	}
	if st.SourceServerID != 0 && st.SourceServerID != c.src.ServerID {
		// A chained replica sees the heartbeat too, but its coordinates are
		// its own source's: waiting on this source's file:pos would be wrong.
		return fmt.Errorf("gate: %s replicates from server_id %d, not from %s (server_id %d)", c.tgt, st.SourceServerID, c.src, c.src.ServerID)
	}
	if c.o.Reverse && !c.o.KeepReadOnly {
		if _, err := replication.SourcePosition(c.ctx, c.tgt); err != nil {
			return fmt.Errorf("gate: --reverse needs the target's binary log: %w", err)
		}
	}
	if _, sqlRO := c.o.ReadOnly.(SQLReadOnly); sqlRO && c.tgt.Flavor.RDS && !c.o.KeepReadOnly {
		return fmt.Errorf("gate: %s is RDS, where SET GLOBAL read_only is refused: use --keep-read-only and open writes with its parameter group, or the aws provider", c.tgt)
	}
	if users, err := bypassSessions(c.ctx, c.src); err == nil && len(users) > 0 {
		c.r.Warnings = append(c.r.Warnings, "sessions of accounts that bypass read_only are connected to the source ("+strings.Join(users, ", ")+"): their writes after the fence would not reach the target")
	}
	ro, err := replication.ReadOnly(c.ctx, c.tgt)
	if err != nil {
		return err
	}
	if !ro {
		return fmt.Errorf("gate: %s is writable: a replica that takes writes could diverge; set it read-only first", c.tgt)
	}
	if c.o.Switch != nil {
		if err := c.o.Switch.Check(c.ctx, endpointOf(c.src), endpointOf(c.tgt)); err != nil {
			return fmt.Errorf("gate: switch %s: %w", c.o.Switch.Name(), err)
		}
	}
	return c.o.Journal.Append(stepGate, "done", map[string]string{"lag_ms": strconv.FormatInt(lag.Heartbeat.Milliseconds(), 10)})
}

func (c *run) fence() error {
	// A source already read-only before the cutover was not fenced by it:
	// backing out must leave it so (the operator, or a maintenance window,
	// closed it), so the journal says which it was.
	if _, ro := c.o.Fence.(ReadOnlyFence); ro {
		was, err := c.o.Fence.Observed(c.ctx, c.src)
		if err != nil {
			return fmt.Errorf("fence: %w", err)
		}
		c.wasFenced = was
	}
	if err := c.o.Journal.Append(stepFence, "start", map[string]string{"kind": c.o.Fence.Describe(), "was_fenced": strconv.FormatBool(c.wasFenced)}); err != nil {
		return err
	}
	c.r.FenceStart = time.Now()
	if err := c.o.Fence.Fence(c.ctx, c.src); err != nil {
		// MySQL's read_only waits for open write transactions: name them.
		if bs, lerr := openWriteTransactions(c.ctx, c.src); lerr == nil {
			c.r.Blockers = bs
		}
		return fmt.Errorf("fence: %w", err)
	}
	deadline := time.Now().Add(c.o.FenceTimeout)
	for {
		ok, err := c.o.Fence.Observed(c.ctx, c.src)
		if err != nil {
			return fmt.Errorf("fence: %w", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fence: %s not observed on %s after %s", c.o.Fence.Describe(), c.src, c.o.FenceTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.r.FenceObserved = time.Now()
	block, err := blockCommits(c.ctx, c.src, c.o.FenceTimeout)
	if err != nil {
		return fmt.Errorf("fence: blocking commits of accounts read_only does not bind: %w", err)
	}
	c.block = block
	return c.o.Journal.Append(stepFence, "done", nil)
}

// releaseBlockAfterPromotion ends the block once the old source is no
// longer the primary: sessions waiting to commit are killed.
func (c *run) releaseBlockAfterPromotion() {
	if err := c.releaseBlock(context.WithoutCancel(c.ctx), true); err != nil {
		c.r.Warnings = append(c.r.Warnings, err.Error())
	}
}

// releaseBlock ends the MariaDB commit block (see commitBlock).
func (c *run) releaseBlock(ctx context.Context, kill bool) error {
	n, err := c.block.release(ctx, c.src, kill)
	c.block = nil
	if n > 0 {
		c.r.KilledBlockedCommits = n
		c.r.Warnings = append(c.r.Warnings, fmt.Sprintf("%d session(s) of accounts read_only does not bind tried to commit on the old source after the fence; they were killed, never acknowledged", n))
	}
	return err
}

func (c *run) drain() error {
	blockers, err := drain(c.ctx, c.src, c.o.DrainTimeout, c.o.KillAfter)
	c.r.Blockers = blockers
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	return c.o.Journal.Append(stepDrain, "done", map[string]string{"blockers": strconv.Itoa(len(blockers))})
}

func (c *run) recordAndCatchUp() error {
	for attempt := 1; ; attempt++ {
		final, err := replication.SourcePosition(c.ctx, c.src)
		if err != nil {
			return fmt.Errorf("record: %w", err)
		}
		// Losing these is the one unrecoverable mistake: journal first.
		if err := c.o.Journal.Append(stepRecord, "data", coordData(final)); err != nil {
			return err
		}
		c.final = final
		c.r.SourceFinal = final
		if err := replication.WaitExecuted(c.ctx, c.tgt, final, false, c.o.CatchupTimeout); err != nil {
			return fmt.Errorf("catch-up: %w", err)
		}
		again, err := replication.SourcePosition(c.ctx, c.src)
		if err != nil {
			return fmt.Errorf("record: %w", err)
		}
		if replication.Compare(again, final) == 0 {
			return c.o.Journal.Append(stepCatchup, "done", coordData(final))
		}
		if attempt == 5 {
			return fmt.Errorf("catch-up: %s keeps writing after the fence (%s -> %s): accounts with SUPER or READ ONLY ADMIN bypass read_only", c.src, final, again)
		}
		c.o.Log.Warn("source moved after the fence; waiting again", "from", final.String(), "to", again.String())
	}
}

// promote crosses the point of no return: from here on the target is the
// primary, so failures are reported and resumed forward, never undone. Every
// step checks the servers first, so a resumed run can re-enter it.
func (c *run) promote() error {
	j := c.o.Journal
	if _, crossed := j.Last(stepPromote, "start"); !crossed {
		data := coordData(c.final)
		// Resume must finish the cutover the way it was started.
		data["keep_read_only"] = strconv.FormatBool(c.o.KeepReadOnly)
		if err := j.Append(stepPromote, "start", data); err != nil {
			return err
		}
	}
	st, err := replication.ReadStatus(c.ctx, c.tgt)
	if err != nil {
		return err
	}
	if c.o.Switchover != nil {
		// The provider ended replication; keep the target read-only.
		if err := c.reassertReadOnly(); err != nil {
			return err
		}
	} else if st.Configured {
		// The target must hold exactly the final coordinates before
		// replication is thrown away.
		if st.SQLRunning == "Yes" {
			if err := replication.WaitExecuted(c.ctx, c.tgt, c.final, false, c.o.CatchupTimeout); err != nil {
				return err
			}
		} else if cmp := replication.Compare(st.Executed, c.final); cmp < 0 {
			return fmt.Errorf("%s stopped replicating at %s, before the source's final %s", c.tgt, st.Executed, c.final)
		} else if cmp > 0 {
			// A resumed promote: an earlier attempt stopped replication
			// and was killed before the reset, after the fenced source
			// took writes from an account read_only does not bind. The
			// target holds them; finish the reset (checkSourceStill
			// reports them).
			c.r.Warnings = append(c.r.Warnings, fmt.Sprintf("%s stopped replicating at %s, past the source's final %s: it holds the writes made on the fenced source since", c.tgt, st.Executed, c.final))
		}
		if c.o.KeepReadOnly {
			// Keep replication configured (stopped) so a rollback before
			// writes open has nothing to undo.
			err = replication.Stop(c.ctx, c.tgt)
		} else {
			err = replication.Reset(c.ctx, c.tgt)
		}
		if err != nil {
			return err
		}
	}
	if v, ok := j.Value(stepPromote, "target_file"); ok && v != "" {
		e, _ := j.Last(stepPromote, "data")
		c.promoted = coordFrom(e.Data, "target_")
	} else {
		if c.promoted, err = replication.SourcePosition(c.ctx, c.tgt); err != nil {
			if c.o.Reverse {
				return err
			}
			// Without --reverse nothing needs the target's own position;
			// a target without a binary log must not block its promotion.
			c.r.Warnings = append(c.r.Warnings, "target promotion coordinates not recorded: "+err.Error())
		}
		if err := j.Append(stepPromote, "data", prefixed("target_", coordData(c.promoted))); err != nil {
			return err
		}
	}
	c.r.TargetPromotion = c.promoted
	// An account lock put on the source replicated to the target: undo it
	// there. RDS's admin has no SUPER/READ ONLY ADMIN, so read_only binds it
	// and the unlock must wait until writes are open; the locked accounts
	// cannot log in meanwhile, so nothing writes early.
	prep, _ := c.o.Fence.(TargetPreparer)
	unlockAfterOpen := c.tgt.Flavor.RDS
	if prep != nil && !unlockAfterOpen {
		if err := prep.PrepareTarget(c.ctx, c.tgt); err != nil {
			return err
		}
	}
	if !c.o.KeepReadOnly && !j.Done(stepOpen) {
		if err := j.Append(stepOpen, "start", nil); err != nil {
			return err
		}
		if err := c.o.ReadOnly.SetReadOnly(c.ctx, c.tgt, false); err != nil {
			return fmt.Errorf("opening writes on %s: %w", c.tgt, err)
		}
		c.r.TargetWritable = time.Now()
		if err := j.Append(stepOpen, "done", nil); err != nil {
			return err
		}
	}
	if prep != nil && unlockAfterOpen {
		if c.o.KeepReadOnly {
			c.r.Warnings = append(c.r.Warnings, "the application accounts stay locked on "+c.tgt.String()+" (RDS: read_only binds the admin): unlock them with ALTER USER ... ACCOUNT UNLOCK once writes are open")
		} else if err := prep.PrepareTarget(c.ctx, c.tgt); err != nil {
			return err
		}
	}
	return j.Append(stepPromote, "done", nil)
}

// switchover runs the provider's switchover (journaled, so resume
// re-attaches to it). back says the source is still the primary.
func (c *run) switchover() (err error, back bool) {
	err = c.phase("switchover", func() error {
		if !c.o.Journal.Done(stepSwitchover) {
			if _, started := c.o.Journal.Last(stepSwitchover, "start"); !started {
				if err := c.o.Journal.Append(stepSwitchover, "start", coordData(c.final)); err != nil {
					return err
				}
			}
			if err := c.o.Switchover(c.ctx); err != nil {
				return fmt.Errorf("switchover: %w", err)
			}
		}
		st, err := replication.ReadStatus(c.ctx, c.tgt)
		if err != nil {
			return err
		}
		if st.Configured && (st.IORunning == "Yes" || st.SQLRunning == "Yes") {
			return fmt.Errorf("switchover: %s still replicates after the provider reported the switchover complete", c.tgt)
		}
		return c.o.Journal.Append(stepSwitchover, "done", nil)
	})
	return err, errors.Is(err, ErrNotSwitched)
}

// reassertReadOnly keeps the new primary read-only through a provider's
// switchover. The target's own read_only setting should have held it
// (dbshift pins read_only=1 in green's parameter group before switching);
// if the provider opened it anyway, close it now and say how long it was
// open to writes.
func (c *run) reassertReadOnly() error {
	ro, err := replication.ReadOnly(c.ctx, c.tgt)
	if err != nil {
		return err
	}
	if ro {
		return nil
	}
	seen := time.Now()
	// Journaled first: writes it took in between are on it only, so a
	// rollback that just points traffic back must know, even if this run
	// is killed before it closes the target.
	if err := c.o.Journal.Append(stepWritable, "start", map[string]string{"seen": seen.UTC().Format(time.RFC3339Nano)}); err != nil {
		return err
	}
	if err := c.o.ReadOnly.SetReadOnly(c.ctx, c.tgt, true); err != nil {
		return fmt.Errorf("%s came out of the switchover writable and could not be made read-only again: %w", c.tgt, err)
	}
	open := time.Since(seen).Round(time.Millisecond)
	if err := c.o.Journal.Append(stepWritable, "done", map[string]string{"open_ms": strconv.FormatInt(open.Milliseconds(), 10)}); err != nil {
		return err
	}
	c.r.Warnings = append(c.r.Warnings, fmt.Sprintf("%s came out of the switchover writable; it was made read-only again %s later (writes in between are on it only)", c.tgt, open))
	return nil
}

// TargetCameOutWritable says whether the provider's switchover left the
// target writable (it was closed again, but may have taken writes the old
// source lacks) and when that was seen.
func TargetCameOutWritable(j *journal.Journal) (seen time.Time, ok bool) {
	e, ok := j.Last(stepWritable, "start")
	return e.Time, ok
}

func (c *run) switchTraffic() error {
	if c.o.Journal.Done(stepSwitch) {
		return nil
	}
	if c.o.Switch != nil {
		if err := c.o.Switch.Switch(c.ctx, endpointOf(c.src), endpointOf(c.tgt)); err != nil {
			return err
		}
	}
	c.r.SwitchDone = time.Now()
	return c.o.Journal.Append(stepSwitch, "done", nil)
}

// reverse points the old source at the new primary from the promotion
// coordinates, so a rollback loses no write made after the cutover.
func (c *run) reverse() error {
	if c.o.KeepReadOnly {
		return errors.New("--reverse starts only once writes are open (after open-writes)")
	}
	if c.o.Journal.Done(stepReverse) {
		return nil
	}
	res, err := replication.Setup(c.ctx, c.tgt, c.src, replication.SetupOptions{
		From: c.promoted, ReplUser: c.o.ReplUser, ReplHost: c.src.Host(), SourceAddr: c.o.TargetAddr,
		TLS: c.o.ReplTLS, TLSCA: c.o.ReplTLSCA,
	})
	if err != nil {
		return err
	}
	c.r.Reverse = &res
	return c.o.Journal.Append(stepReverse, "done", prefixed("target_", coordData(c.promoted)))
}

// abort undoes the fence (if it was put up) and reports why; the target
// was never touched, so it still replicates.
func (c *run) abort(cause error, unfence bool) (*Report, error) {
	// A fresh context: an interrupted run must still unfence.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 30*time.Second)
	defer cancel()
	var errs []error
	// Before the point of no return the source stays the primary: commits
	// waiting behind the block go through.
	if err := c.releaseBlock(ctx, false); err != nil {
		errs = append(errs, err)
	}
	if unfence && c.wasFenced {
		c.r.Warnings = append(c.r.Warnings, c.src.String()+" was read-only before the cutover fenced it: left read-only")
	} else if unfence {
		if err := c.o.Fence.Unfence(ctx, c.src); err != nil {
			errs = append(errs, fmt.Errorf("UNFENCE FAILED, the source may still refuse writes: %w", err))
		}
	}
	if _, err := runHook(ctx, c.o.Hooks, HookAfterAbort, c.src.Addr, c.tgt.Addr); err != nil {
		errs = append(errs, err)
	}
	_ = c.o.Journal.Append(stepAbort, "done", map[string]string{"reason": cause.Error()})
	c.r.abort(cause)
	if len(errs) > 0 {
		return c.r, fmt.Errorf("%w: %w; %w", ErrAborted, cause, errors.Join(errs...))
	}
	return c.r, fmt.Errorf("%w: %w", ErrAborted, cause)
}

// fencedBefore says whether the journal's fence found the source already
// read-only: then no back-out or rollback may open it.
func fencedBefore(j *journal.Journal) bool {
	e, ok := j.Last(stepFence, "start")
	return ok && e.Data["was_fenced"] == "true"
}

func (c *run) finishErr(err error) error {
	c.r.Outcome = "failed"
	c.r.Reason = err.Error()
	return err
}

func coordData(co replication.Coordinates) map[string]string {
	return map[string]string{"file": co.File, "pos": strconv.FormatUint(co.Position, 10), "gtid": co.GTID}
}

func prefixed(p string, m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[p+k] = v
	}
	return out
}

func coordFrom(data map[string]string, p string) replication.Coordinates {
	pos, _ := strconv.ParseUint(data[p+"pos"], 10, 64)
	return replication.Coordinates{File: data[p+"file"], Position: pos, GTID: data[p+"gtid"]}
}

// endpointOf names a server for the traffic switch.
func endpointOf(conn *dbconn.Conn) switcher.Endpoint {
	return switcher.Endpoint{Name: conn.Role, Addr: conn.Addr}
}

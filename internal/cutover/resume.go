package cutover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/replication"
)

// Resume finishes a cutover that was interrupted (Ctrl-C, SIGKILL, a lost
// machine), using the journal and the servers:
//   - past the point of no return, it goes forward: the target is the
//     primary; finish promotion, switch, reverse;
//   - before it, it backs out: unfence the source; the target never stopped
//     replicating. Exactly one server takes writes either way.
func Resume(ctx context.Context, source, target *dbconn.Conn, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	o.defaults()
	j := o.Journal
	if len(j.Entries()) == 0 {
		return nil, errors.New("the journal is empty: no cutover to resume")
	}
	// Going forward opens the target and backing out unfences the source:
	// either on servers other than the journal's makes two primaries.
	if err := checkServers(ctx, j, source, target, o.instances()); err != nil {
		return nil, err
	}
	r := newReport(source, target)
	c := &run{ctx: ctx, src: source, tgt: target, o: o, r: r, wasFenced: fencedBefore(j)}
	if e, ok := j.Last(stepReport, "done"); ok {
		r.Outcome = e.Data["outcome"]
		r.Reason = "already finished; nothing to resume"
		return r, nil
	}
	if e, crossed := j.Last(stepPromote, "start"); crossed {
		c.final = coordFrom(e.Data, "")
		// Finish it the way it was started, whatever the flags say now.
		c.o.KeepReadOnly = e.Data["keep_read_only"] == "true"
		r.SourceFinal = c.final
		r.Warnings = append(r.Warnings, "resumed past the point of no return: going forward")
		if err := c.phase("promote", c.promote); err != nil {
			return r, c.finishErr(fmt.Errorf("promote (resumed): %w", err))
		}
		return c.afterPromote()
	}
	if _, ok := j.Last(stepAbort, "done"); ok {
		r.Outcome = "aborted"
		r.Reason = "already aborted; nothing to resume"
		return r, nil
	}
	// A provider switchover that was started: ask the provider where it is.
	if e, started := j.Last(stepSwitchover, "start"); started && o.Switchover != nil {
		c.final = coordFrom(e.Data, "")
		r.SourceFinal = c.final
		if err, back := c.switchover(); back {
			return c.abort(err, true)
		} else if err != nil {
			return r, c.finishErr(fmt.Errorf("switchover (resumed): %w", err))
		}
		if err := c.phase("promote", c.promote); err != nil {
			return r, c.finishErr(fmt.Errorf("promote (resumed): %w", err))
		}
		return c.afterPromote()
	}
	if _, started := j.Last(stepSwitchover, "start"); started {
		// Backing out while the provider may be switching could leave the
		// source writable beside a promoted target.
		return r, errors.New("this cutover started the provider's switchover: resume it through its run (dbshift cutover --state RUN_DIR --resume), which asks the provider where the switchover is")
	}
	// Before the point of no return: back out.
	if _, fenced := j.Last(stepFence, "start"); fenced {
		return c.abort(errors.New("interrupted before the point of no return; resumed by backing out"), true)
	}
	return c.abort(errors.New("interrupted before the fence; nothing was changed"), false)
}

// OpenWrites ends a --keep-read-only cutover: it forgets the old source and
// opens writes on the target.
func OpenWrites(ctx context.Context, target *dbconn.Conn, o Options) (*Report, error) {
	o.defaults()
	r := &Report{Target: target.String(), Blockers: []Blocker{}}
	if err := checkServers(ctx, o.Journal, o.OldSource, target, o.instances()); err != nil {
		return r, err
	}
	if !o.Journal.Done(stepPromote) {
		return r, errors.New("no promoted target in the journal: run the cutover first")
	}
	if kind, at, ok := RollbackStarted(o.Journal); ok {
		// An interrupted rollback may have made the old source writable
		// already: opening the target too would make two writable servers.
		return r, fmt.Errorf("a rollback (%s) of this cutover started at %s: the old source may take writes again, so %s stays as it is; finish the rollback (run it again) instead of opening writes", kind, at.Format(time.RFC3339), target)
	}
	if o.Journal.Done(stepOpen) {
		r.Outcome, r.Reason = "completed", "writes were already open"
		// An earlier open-writes opened the target but did not finish
		// reverse replication: finish it from the point it journaled.
		if e, ok := o.Journal.Last(stepReverse, "start"); ok && o.OldSource != nil && !o.Journal.Done(stepReverse) {
			return r, reverseFrom(ctx, o.OldSource, target, coordFrom(e.Data, "target_"), o, r)
		}
		return r, nil
	}
	if e, ok := o.Journal.Last(stepReport, "done"); ok && (e.Data["outcome"] == "rolled back" || e.Data["outcome"] == "pointed back") {
		// The source took writes again since: opening the target now would
		// make two writable servers, the target missing the source's writes.
		return r, fmt.Errorf("the read-only switchover was %s; cut over again instead of opening writes", e.Data["outcome"])
	}
	promoted, _ := o.Journal.Last(stepPromote, "start")
	final := coordFrom(promoted.Data, "")
	if st, err := replication.ReadStatus(ctx, target); err != nil {
		return r, err
	} else if st.Configured {
		if st.SQLRunning == "Yes" || replication.Compare(st.Executed, final) != 0 {
			return r, fmt.Errorf("%s is not stopped at the source's final coordinates %s (SQL %s at %s): cut over again", target, final, st.SQLRunning, st.Executed)
		}
		if err := replication.Reset(ctx, target); err != nil {
			return r, err
		}
	}
	reverse := o.Reverse && o.OldSource != nil && !o.Journal.Done(stepReverse)
	var from replication.Coordinates
	if reverse {
		var err error
		if from, err = reversePoint(ctx, o.OldSource, target, o); err != nil {
			return r, err
		}
	}
	// Journaled before read_only is lifted: from here on the target may
	// take writes the old source lacks, even if this call fails or is
	// killed, and a rollback that only points traffic back would lose them.
	if err := o.Journal.Append(stepOpen, "start", nil); err != nil {
		return r, err
	}
	if err := o.ReadOnly.SetReadOnly(ctx, target, false); err != nil {
		return r, err
	}
	r.TargetWritable = time.Now()
	r.Outcome = "completed"
	if err := o.Journal.Append(stepOpen, "done", nil); err != nil {
		return r, err
	}
	if reverse {
		if err := reverseFrom(ctx, o.OldSource, target, from, o, r); err != nil {
			return r, fmt.Errorf("writes are open on %s, but the old source does not replicate from it (re-run open-writes to retry; until then a rollback would lose writes): %w", target, err)
		}
	}
	return r, nil
}

// reversePoint reads, and journals, where the old source will replicate
// from: the target's position while it is still read-only, so every write
// it takes once open comes after it. A repeated open-writes reuses it.
func reversePoint(ctx context.Context, old, target *dbconn.Conn, o Options) (replication.Coordinates, error) {
	if e, ok := o.Journal.Last(stepReverse, "start"); ok {
		return coordFrom(e.Data, "target_"), nil
	}
	if err := ReverseAllowed(old, target); err != nil {
		return replication.Coordinates{}, err
	}
	if ro, err := replication.ReadOnly(ctx, target); err != nil {
		return replication.Coordinates{}, err
	} else if !ro {
		return replication.Coordinates{}, fmt.Errorf("%s is already writable: its position no longer marks where its own writes begin; reverse replication needs it read-only", target)
	}
	from, err := replication.SourcePosition(ctx, target)
	if err != nil {
		return from, fmt.Errorf("reverse replication needs the binary log of %s: %w", target, err)
	}
	return from, o.Journal.Append(stepReverse, "start", prefixed("target_", coordData(from)))
}

// reverseFrom makes the old source replicate from the target from the
// point read before it opened: every write the target took since reaches
// the old source, so a later rollback (a cutover in the other direction)
// loses nothing. The replication account is made on the target once it
// is writable (RDS: read_only binds the admin).
func reverseFrom(ctx context.Context, old, target *dbconn.Conn, from replication.Coordinates, o Options, r *Report) error {
	res, err := replication.Setup(ctx, target, old, replication.SetupOptions{
		From: from, ReplUser: o.ReplUser, ReplHost: old.Host(), SourceAddr: o.TargetAddr,
		TLS: o.ReplTLS, TLSCA: o.ReplTLSCA,
	})
	if err != nil {
		return fmt.Errorf("reverse replication %s <- %s: %w", old, target, err)
	}
	r.Reverse = &res
	r.TargetPromotion = from
	return o.Journal.Append(stepReverse, "done", prefixed("target_", coordData(from)))
}

// ReverseAllowed says whether old can replicate from newer: MySQL and
// MariaDB support replication from a source to a replica of the same
// release series or a newer one, never from a newer series to an older
// one (8.0 to 5.7, 8.4 to 8.0), nor between vendors.
func ReverseAllowed(old, newer *dbconn.Conn) error {
	o, n := old.Flavor, newer.Flavor
	if o.Vendor != n.Vendor {
		return fmt.Errorf("%s runs %s and %s runs %s: replication between them in that direction is not supported, so writes made on %s once open could not be carried back", old, o, newer, n, newer)
	}
	if o.Major < n.Major || (o.Major == n.Major && o.Minor < n.Minor) {
		return fmt.Errorf("%s runs %d.%d and %s runs %d.%d: replication from a newer release series to an older one is not supported, so writes made on %s once open could not be carried back to %s", old, o.Major, o.Minor, newer, n.Major, n.Minor, newer, old)
	}
	return nil
}

// BackedOut says whether the cutover journaled in j ended before its point
// of no return, undone: the fence lifted, the source the primary again,
// the target untouched (a failure before the promotion, an interrupted run
// resumed by backing out, or a provider's switchover that the provider
// rolled back itself).
func BackedOut(j *journal.Journal) bool {
	_, aborted := j.Last(stepAbort, "done")
	_, crossed := j.Last(stepPromote, "start")
	return aborted && !crossed
}

// Completed says whether the cutover journaled in j reported itself
// completed.
func Completed(j *journal.Journal) bool {
	e, ok := j.Last(stepReport, "done")
	return ok && e.Data["outcome"] == "completed"
}

// WritesOpened says whether writes were (or may have been) opened on the
// target: open-writes journals its start before it lifts read_only.
func WritesOpened(j *journal.Journal) bool {
	_, started := j.Last(stepOpen, "start")
	return started || j.Done(stepOpen)
}

// BeginRollback journals that a rollback of kind ("read-only": traffic
// pointed back; "reverse": a cutover the other way) starts, before it
// touches anything: from then on open-writes refuses, even if the rollback
// is interrupted. A rollback that already started keeps its kind.
func BeginRollback(j *journal.Journal, kind string) error {
	if _, _, ok := RollbackStarted(j); ok {
		return nil
	}
	return j.Append(stepRollback, "start", map[string]string{"kind": kind})
}

// RollbackStarted says whether, when and how a rollback of the cutover in
// j started.
func RollbackStarted(j *journal.Journal) (kind string, at time.Time, ok bool) {
	e, ok := j.Last(stepRollback, "start")
	return e.Data["kind"], e.Time, ok
}

// RollbackReadOnly undoes a --keep-read-only cutover before writes opened:
// the target is closed to writes first, then traffic goes back to the
// source, the target replicates again from where it stopped (the source's
// final coordinates), and the source takes writes again. Nothing was
// written anywhere in between, so nothing is undone.
func RollbackReadOnly(ctx context.Context, source, target *dbconn.Conn, o Options) (*Report, error) {
	o.defaults()
	r := newReport(source, target)
	if err := checkServers(ctx, o.Journal, source, target, o.instances()); err != nil {
		return r, err
	}
	if WritesOpened(o.Journal) {
		return r, fmt.Errorf("open-writes ran on %s: it may hold writes %s lacks, so pointing traffic back would lose them; %s stays read-only. Roll back with a cutover the other way over reverse replication (dbshift rollback), or keep %s", target, source, source, target)
	}
	if !o.Journal.Done(stepPromote) {
		return r, errors.New("no read-only switchover in the journal to roll back")
	}
	if seen, ok := TargetCameOutWritable(o.Journal); ok {
		return r, fmt.Errorf("%s came out of the switchover writable (seen at %s, then made read-only again): it may hold writes %s lacks, so pointing traffic back could lose them; %s stays read-only. Go forward with open-writes, or check %s's binary log after the switchover for writes and, if it holds none, open %s by hand", target, seen.Format(time.RFC3339), source, source, target, source)
	}
	if kind, _, ok := RollbackStarted(o.Journal); ok && kind != "read-only" {
		return r, fmt.Errorf("a rollback over reverse replication started: finish it the same way (rollback --resume)")
	}
	if err := BeginRollback(o.Journal, "read-only"); err != nil {
		return r, err
	}
	c := &run{ctx: ctx, src: source, tgt: target, o: o, r: r}
	// Never two writable servers: the source opens only once the target
	// is closed, whatever opened it.
	if err := c.phase("close-target", c.closeTarget); err != nil {
		return r, fmt.Errorf("%s could not be made read-only, so %s stays read-only (nothing else was changed; fix it and roll back again): %w", target, source, err)
	}
	if err := c.phase("switch-back", func() error {
		if o.Switch != nil {
			return o.Switch.Switch(ctx, endpointOf(target), endpointOf(source))
		}
		return nil
	}); err != nil {
		return r, fmt.Errorf("switching traffic back to %s failed; %s is read-only and %s still fenced, so neither takes writes: %w", source, target, source, err)
	}
	if o.Switchover != nil {
		// The provider's switchover ended the target's replication and
		// cannot be undone by restarting it.
		r.Warnings = append(r.Warnings, target.String()+" stays read-only and no longer replicates (the provider's switchover ended it): delete the blue/green deployment and create a new one to try again")
	} else if err := c.phase("replicate", func() error {
		_, err := replication.Start(ctx, target, 30*time.Second)
		return err
	}); err != nil {
		return r, fmt.Errorf("restarting replication on %s failed; %s is still fenced: %w", target, source, err)
	}
	if err := c.phase("unfence", func() error {
		if fencedBefore(o.Journal) {
			r.Warnings = append(r.Warnings, source.String()+" was read-only before the cutover fenced it: left read-only")
			return nil
		}
		return o.Fence.Unfence(ctx, source)
	}); err != nil {
		return r, fmt.Errorf("UNFENCE FAILED: %s may still refuse writes and %s is read-only, so neither may take writes: %w", source, target, err)
	}
	r.Outcome = "rolled back"
	return r, o.Journal.Append(stepReport, "done", map[string]string{"outcome": "rolled back"})
}

// closeTarget makes the target read-only before the source opens again.
// It should be read-only already (writes never opened); if it is not,
// something outside the cutover opened it: say so.
func (c *run) closeTarget() error {
	ro, err := replication.ReadOnly(c.ctx, c.tgt)
	if err != nil {
		return err
	}
	if _, sqlRO := c.o.ReadOnly.(SQLReadOnly); sqlRO && c.tgt.Flavor.RDS {
		if ro {
			return nil // RDS refuses SET GLOBAL; it is read-only already
		}
		return fmt.Errorf("%s is writable and RDS refuses SET GLOBAL read_only: set read_only=1 in its parameter group", c.tgt)
	}
	if !ro {
		c.r.Warnings = append(c.r.Warnings, c.tgt.String()+" was writable although writes were never opened on it: something else opened it; writes it took since the switchover are only on it")
	}
	return c.o.ReadOnly.SetReadOnly(c.ctx, c.tgt, true)
}

package cutover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
)

// Resume finishes a cutover that was interrupted (Ctrl-C, SIGKILL, a lost
// machine), using the journal and the servers:
//   - past the point of no return, it goes forward: the target is the
//     primary; finish promotion, switch, reverse;
//   - before it, it backs out: unfence the source; the target never stopped
//     replicating. Exactly one server takes writes either way.
func Resume(ctx context.Context, source, target *dbconn.Conn, o Options) (*Report, error) {
	o.defaults()
	j := o.Journal
	if len(j.Entries()) == 0 {
		return nil, errors.New("the journal is empty: no cutover to resume")
	}
	r := newReport(source, target)
	c := &run{ctx: ctx, src: source, tgt: target, o: o, r: r}
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
	if !o.Journal.Done(stepPromote) {
		return r, errors.New("no promoted target in the journal: run the cutover first")
	}
	if o.Journal.Done(stepOpen) {
		r.Outcome, r.Reason = "completed", "writes were already open"
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
	if err := o.ReadOnly.SetReadOnly(ctx, target, false); err != nil {
		return r, err
	}
	r.TargetWritable = time.Now()
	r.Outcome = "completed"
	return r, o.Journal.Append(stepOpen, "done", nil)
}

// RollbackReadOnly undoes a --keep-read-only cutover before writes opened:
// traffic back to the source, the target replicates again from where it
// stopped (the source's final coordinates), the source takes writes again.
// Nothing was written anywhere in between, so nothing is undone.
func RollbackReadOnly(ctx context.Context, source, target *dbconn.Conn, o Options) (*Report, error) {
	o.defaults()
	r := newReport(source, target)
	if o.Journal.Done(stepOpen) {
		return r, errors.New("writes are already open on the target: roll back with a reverse cutover (dbshift rollback)")
	}
	if !o.Journal.Done(stepPromote) {
		return r, errors.New("no read-only switchover in the journal to roll back")
	}
	c := &run{ctx: ctx, src: source, tgt: target, o: o, r: r}
	if err := c.phase("switch-back", func() error {
		if o.Switch != nil {
			return o.Switch.Switch(ctx, endpointOf(target), endpointOf(source))
		}
		return nil
	}); err != nil {
		return r, err
	}
	if err := c.phase("replicate", func() error {
		_, err := replication.Start(ctx, target, 30*time.Second)
		return err
	}); err != nil {
		return r, err
	}
	if err := c.phase("unfence", func() error { return o.Fence.Unfence(ctx, source) }); err != nil {
		return r, err
	}
	r.Outcome = "rolled back"
	return r, o.Journal.Append(stepReport, "done", map[string]string{"outcome": "rolled back"})
}

package cutover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
)

// Window is runbook 2's read-only maintenance window: the switch happens
// while nobody can write, the new server is checked read-only first, then
// writable, and only then kept — or traffic is pointed back.
type Window struct {
	On          string // command: maintenance mode on (page with a staff bypass)
	ReadChecks  string // command: the user's read checks against the target
	WriteChecks string // command: the user's write checks (through the bypass)
	Off         string // command: maintenance mode off
	// PointBack ends the window on the source instead of the target (a
	// rehearsal, or checks that found a problem).
	PointBack bool
	// Env names the variables of dbshift's environment the commands get
	// besides the allow-list (the spec's cutover.hook_env).
	Env []string
}

// Window phases, in order; commands see the phase in DBSHIFT_PHASE.
const (
	PhaseMaintenanceOn  = "maintenance-on"
	PhaseReadChecks     = "read-checks"
	PhaseWriteChecks    = "write-checks"
	PhaseMaintenanceOff = "maintenance-off"
)

// RunWindow runs the window:
//
//  1. maintenance on;
//  2. cutover with the target kept read-only: fence the source, drain,
//     catch up exactly, stop replication (kept), switch traffic;
//  3. read checks on the still read-only target — a failure points back;
//  4. open writes on the target. From here writes exist only on the target:
//     pointing back discards them (the source stays authoritative);
//  5. write checks — a failure points back;
//  6. maintenance off, on the target (switch for good) or the source.
func RunWindow(ctx context.Context, source, target *dbconn.Conn, o Options, w Window) (*Report, error) {
	o.defaults()
	o.KeepReadOnly = true
	o.Reverse = false
	if err := runWindowHook(ctx, w.On, w.Env, PhaseMaintenanceOn, source, target); err != nil {
		return nil, fmt.Errorf("maintenance on: %w", err)
	}
	rep, err := Run(ctx, source, target, o)
	if err != nil {
		if !errors.Is(err, ErrAborted) {
			// Past the point of no return: the target is promoted (read-only)
			// and the source fenced; maintenance stays on for the operator.
			return rep, fmt.Errorf("%w (maintenance mode left on)", err)
		}
		// The cutover backed out by itself: the source takes writes again.
		if offErr := runWindowHook(ctx, w.Off, w.Env, PhaseMaintenanceOff, source, target); offErr != nil {
			err = fmt.Errorf("%w; maintenance off: %v", err, offErr)
		}
		return rep, err
	}
	if err := runWindowHook(ctx, w.ReadChecks, w.Env, PhaseReadChecks, source, target); err != nil {
		return pointBack(ctx, source, target, o, w, rep, fmt.Errorf("read checks failed: %w", err))
	}
	if w.PointBack && w.WriteChecks == "" {
		return pointBack(ctx, source, target, o, w, rep, nil)
	}
	o.Log.Warn("opening writes on the target: writes made from now on exist only there", "target", target.String())
	if _, err := OpenWrites(ctx, target, o); err != nil {
		return pointBack(ctx, source, target, o, w, rep, fmt.Errorf("opening writes: %w", err))
	}
	rep.TargetWritable = time.Now()
	if err := runWindowHook(ctx, w.WriteChecks, w.Env, PhaseWriteChecks, source, target); err != nil {
		return pointBack(ctx, source, target, o, w, rep, fmt.Errorf("write checks failed: %w", err))
	}
	if w.PointBack {
		return pointBack(ctx, source, target, o, w, rep, nil)
	}
	if err := runWindowHook(ctx, w.Off, w.Env, PhaseMaintenanceOff, source, target); err != nil {
		rep.Warnings = append(rep.Warnings, "maintenance off: "+err.Error())
	}
	rep.complete()
	return rep, nil
}

// pointBack makes the source authoritative again: traffic back, target
// read-only, source writable. Writes made on the target during write checks
// are not carried back (the warning said so); the target must be re-cloned
// or resynchronised before another attempt.
func pointBack(ctx context.Context, source, target *dbconn.Conn, o Options, w Window, rep *Report, cause error) (*Report, error) {
	ctx = context.WithoutCancel(ctx)
	var errs []error
	if o.Switch != nil {
		if err := o.Switch.Switch(ctx, endpointOf(target), endpointOf(source)); err != nil {
			errs = append(errs, fmt.Errorf("switching back: %w", err))
		}
	}
	writesOpened := WritesOpened(o.Journal)
	targetFenced := true
	if writesOpened {
		if err := o.ReadOnly.SetReadOnly(ctx, target, true); err != nil {
			targetFenced = false
			errs = append(errs, fmt.Errorf("fencing the target again failed, so the source stays fenced too (fix the target, then point back again): %w", err))
		}
	} else if o.Switchover != nil {
		// The provider's switchover ended the target's replication for good.
		rep.Warnings = append(rep.Warnings, target.String()+" stays read-only and no longer replicates (the provider's switchover ended it)")
	} else if _, err := replication.Start(ctx, target, 30*time.Second); err != nil {
		errs = append(errs, fmt.Errorf("restarting replication on the target: %w", err))
	}
	// Never two writable servers: the source opens only once the target
	// is fenced again.
	if targetFenced && fencedBefore(o.Journal) {
		rep.Warnings = append(rep.Warnings, source.String()+" was read-only before the cutover fenced it: left read-only")
	} else if targetFenced {
		if err := o.Fence.Unfence(ctx, source); err != nil {
			errs = append(errs, fmt.Errorf("UNFENCE FAILED, the source may still refuse writes: %w", err))
		}
	}
	if err := runWindowHook(ctx, w.Off, w.Env, PhaseMaintenanceOff, source, target); err != nil {
		errs = append(errs, fmt.Errorf("maintenance off: %w", err))
	}
	_ = o.Journal.Append(stepReport, "done", map[string]string{"outcome": "pointed back"})
	rep.Outcome = "pointed back"
	if writesOpened {
		rep.Warnings = append(rep.Warnings, "writes made on the target during the write checks stay only there; re-clone the target before the next attempt")
	}
	if cause != nil {
		rep.Reason = cause.Error()
	}
	for _, e := range errs {
		rep.Warnings = append(rep.Warnings, e.Error())
	}
	if !targetFenced {
		rep.Outcome = "failed"
		return rep, fmt.Errorf("pointing back: %w", errors.Join(errs...))
	}
	if cause != nil {
		return rep, fmt.Errorf("%w: pointed back to the source", cause)
	}
	return rep, nil
}

func runWindowHook(ctx context.Context, command string, env []string, phase string, source, target *dbconn.Conn) error {
	if command == "" {
		return nil
	}
	_, err := runHook(ctx, []Hook{{Phase: phase, Command: command, Env: env}}, phase, source.Addr, target.Addr)
	return err
}

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/bufferpool"
	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
)

// errPendingReboot is a step RDS will only apply at the next reboot, which
// dbshift does not do on its own.
var errPendingReboot = errors.New("pending-reboot")

// rdsBufferPool changes innodb_buffer_pool_size through an RDS instance's
// custom DB parameter group: RDS for MySQL 5.7+/8.0 and MariaDB apply it
// online (the parameter is dynamic), as SET GLOBAL would.
type rdsBufferPool struct {
	api      *awsprov.Provider
	db       *sql.DB // the instance itself, to see the value arrive
	instance string
	group    string
	timeout  time.Duration
	progress func(string)
}

// check refuses before any change. A flag that names the wrong group comes
// back as a usage reason; an API failure or a reboot already pending (a new
// immediate change would stay pending-reboot too) as an error.
func (r *rdsBufferPool) check(ctx context.Context) (usageReason string, err error) {
	if strings.HasPrefix(r.group, "default.") {
		return fmt.Sprintf("--rds-parameter-group %s is a default parameter group, which RDS does not let anyone modify; attach a custom group to %s first", r.group, r.instance), nil
	}
	i, err := r.api.DescribeInstance(ctx, r.instance)
	if err != nil {
		return "", err
	}
	if i.ParameterGroup != r.group {
		return fmt.Sprintf("%s uses parameter group %s, not --rds-parameter-group %s", r.instance, i.ParameterGroup, r.group), nil
	}
	if i.ParameterApplyStatus == "pending-reboot" {
		return "", fmt.Errorf("%w: parameter group %s of %s already has changes waiting for a reboot; reboot the instance (dbshift will not) or undo them, then re-run", errPendingReboot, r.group, r.instance)
	}
	return "", nil
}

// alsoChanged lists the other instances using the group: every step
// resizes their pools too, unwatched.
func (r *rdsBufferPool) alsoChanged(ctx context.Context) ([]string, error) {
	ids, err := r.api.InstancesUsingParameterGroup(ctx, r.group)
	return slices.DeleteFunc(ids, func(id string) bool { return id == r.instance }), err
}

// set is one step: ModifyDBParameterGroup (immediate), wait for in-sync,
// then for the server to report the new value.
func (r *rdsBufferPool) set(ctx context.Context, size uint64) error {
	v := strconv.FormatUint(size, 10)
	if err := r.api.ModifyParameters(ctx, r.group, []awsprov.Param{{Name: "innodb_buffer_pool_size", Value: v, Immediate: true}}); err != nil {
		return err
	}
	last := ""
	inst, err := r.api.WaitParametersInSync(ctx, r.instance, awsprov.WaitOptions{Timeout: r.timeout, Progress: func(p awsprov.Progress) {
		if p.Status != last {
			last = p.Status
			r.progress(fmt.Sprintf("parameter group %s on %s: %s", r.group, r.instance, p.Status))
		}
	}})
	if errors.Is(err, awsprov.ErrFailed) && inst.ParameterApplyStatus == "pending-reboot" {
		return fmt.Errorf("%w: RDS will apply innodb_buffer_pool_size=%s in parameter group %s only when %s reboots, and dbshift does not reboot instances; reboot it yourself or set the parameter back", errPendingReboot, v, r.group, r.instance)
	}
	if err != nil {
		return fmt.Errorf("waiting for %s to apply parameter group %s: %w", r.instance, r.group, err)
	}
	// DescribeDBInstances may say in-sync a moment before the instance has
	// the value (or, right after the call, before it noticed the change).
	// ctx carries the step's --resize-timeout.
	for {
		var cur uint64
		if err := r.db.QueryRowContext(ctx, "SELECT @@GLOBAL.innodb_buffer_pool_size").Scan(&cur); err != nil {
			return fmt.Errorf("reading innodb_buffer_pool_size after the parameter change: %w", err)
		}
		if cur == size {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("parameter group %s is in-sync on %s but innodb_buffer_pool_size is still %s, not %s: %w",
				r.group, r.instance, bufferpool.FormatSize(cur), bufferpool.FormatSize(size), ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

package aws

import (
	"context"
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
)

// ParameterGroupReadOnly sets read_only on an RDS instance the only way RDS
// allows: in its DB parameter group (ApplyMethod=immediate), waiting until
// the instance reports the group in-sync and then until @@read_only reads
// the new value (RDS can report in-sync for a moment before it reports
// applying). The group must be the instance's alone: every instance using it
// changes too. It implements cutover.ReadOnlyControl.
type ParameterGroupReadOnly struct {
	API        *Provider
	InstanceID string
	Group      string
	// Timeout bounds the whole change (default 10 minutes).
	Timeout time.Duration
}

// SetReadOnly sets read_only=1 (on) or 0 in the group and waits until c,
// the instance's connection, shows it.
func (p ParameterGroupReadOnly) SetReadOnly(ctx context.Context, c *dbconn.Conn, on bool) error {
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Minute
	}
	v := map[bool]string{true: "1", false: "0"}[on]
	if err := p.API.ModifyParameters(ctx, p.Group, []Param{{Name: "read_only", Value: v, Immediate: true}}); err != nil {
		return err
	}
	if _, err := p.API.WaitParametersInSync(ctx, p.InstanceID, WaitOptions{Timeout: p.Timeout}); err != nil {
		return err
	}
	return p.API.poll(ctx, "@@read_only="+v+" on "+p.InstanceID, WaitOptions{Timeout: p.Timeout}, func() (bool, Progress, error) {
		var ro int
		if err := c.DB.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&ro); err != nil {
			return false, Progress{}, fmt.Errorf("reading @@read_only on %s: %w", c, err)
		}
		return (ro == 1) == on, Progress{Kind: "parameters", ID: p.InstanceID, Status: fmt.Sprintf("read_only=%d", ro), Percent: -1}, nil
	})
}

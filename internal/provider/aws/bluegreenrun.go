package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/provider"
)

var _ provider.BlueGreener = (*RDS)(nil)

// instanceIDOf accepts an instance ARN or identifier: a deployment names
// its members by ARN.
func instanceIDOf(arn string) string {
	if i := strings.LastIndex(arn, ":db:"); i >= 0 {
		return arn[i+len(":db:"):]
	}
	return arn
}

// members resolves the deployment's instances as they are named now.
func (r *RDS) members(ctx context.Context, d BlueGreen) (provider.BlueGreen, error) {
	out := provider.BlueGreen{ID: d.ID, Status: d.Status}
	b, err := r.api.DescribeInstance(ctx, instanceIDOf(d.SourceARN))
	if err != nil {
		return out, fmt.Errorf("blue of deployment %s: %w", d.ID, err)
	}
	g, err := r.api.DescribeInstance(ctx, instanceIDOf(d.TargetARN))
	if err != nil {
		return out, fmt.Errorf("green of deployment %s: %w", d.ID, err)
	}
	out.Blue, out.Green = r.instance(b, "blue"), r.instance(g, "green")
	out.BlueVersion, out.GreenVersion = b.EngineVersion, g.EngineVersion
	return out, nil
}

// CreateBlueGreen creates (or adopts) the run's deployment of the source
// and waits until it is AVAILABLE (green created and replicating).
func (r *RDS) CreateBlueGreen(ctx context.Context, req provider.BlueGreenRequest, p provider.Progress) (provider.BlueGreen, error) {
	d, err := r.api.CreateBlueGreen(ctx, BlueGreenRequest{
		RunID: req.RunID, Name: req.Name, SourceID: r.cfg.SourceID, TargetEngineVersion: req.EngineVersion,
		TargetParameterGroup: req.ParameterGroup, TargetInstanceClass: req.InstanceClass,
	})
	if err != nil {
		return provider.BlueGreen{}, err
	}
	if d.Status == "PROVISIONING" {
		if d, err = r.api.WaitBlueGreen(ctx, d.ID, "AVAILABLE", r.wait(p)); err != nil {
			return provider.BlueGreen{}, err
		}
	}
	return r.members(ctx, d)
}

// FindBlueGreen finds the run's deployment by name; one of the same name
// that the run did not create is an error, never adopted.
func (r *RDS) FindBlueGreen(ctx context.Context, runID, name string) (provider.BlueGreen, bool, error) {
	out, err := r.api.rds.DescribeBlueGreenDeployments(ctx, &rds.DescribeBlueGreenDeploymentsInput{
		Filters: []rdstypes.Filter{{Name: awssdk.String("blue-green-deployment-name"), Values: []string{name}}},
	})
	if err != nil {
		return provider.BlueGreen{}, false, fmt.Errorf("looking for blue/green deployment %s: %w", name, err)
	}
	for _, x := range out.BlueGreenDeployments {
		d := fromBlueGreen(x)
		if !ours(d.Tags, runID, RoleBlueGreen) {
			return provider.BlueGreen{}, false, fmt.Errorf("blue/green deployment %s: %w", name, ErrNotOurs)
		}
		if d.Status == "DELETING" {
			return provider.BlueGreen{}, false, nil
		}
		bg, err := r.members(ctx, d)
		return bg, err == nil, err
	}
	return provider.BlueGreen{}, false, nil
}

// PrepareBlueGreen checks both parameter groups and pins read_only=1 in
// green's. RDS's default read_only is {TrueIfReplica}: green would open for
// writes the moment the switchover ends its replication.
func (r *RDS) PrepareBlueGreen(ctx context.Context, bg provider.BlueGreen, green *dbconn.Conn) error {
	for _, m := range []struct {
		inst provider.Instance
		what string
	}{{bg.Blue, "blue (fenced with read_only=1 in it at the cutover)"}, {bg.Green, "green (kept read_only=1 through the switchover)"}} {
		i, err := r.api.DescribeInstance(ctx, m.inst.ID)
		if err != nil {
			return err
		}
		if strings.HasPrefix(i.ParameterGroup, "default.") {
			return fmt.Errorf("%s uses the default parameter group %s, which cannot be modified; the parameter group of %s must be a custom one of its own", i.ID, i.ParameterGroup, m.what)
		}
		users, err := r.api.InstancesUsingParameterGroup(ctx, i.ParameterGroup)
		if err != nil {
			return err
		}
		if others := slices.DeleteFunc(users, func(id string) bool { return id == i.ID }); len(others) > 0 {
			return fmt.Errorf("parameter group %s of %s is also used by %s: read_only set in it would reach them too; give %s a group of its own", i.ParameterGroup, i.ID, strings.Join(others, ", "), m.what)
		}
	}
	g, err := r.api.DescribeInstance(ctx, bg.Green.ID)
	if err != nil {
		return err
	}
	params, err := r.api.Parameters(ctx, g.ParameterGroup)
	if err != nil {
		return err
	}
	if params["read_only"] == "1" {
		return nil
	}
	return ParameterGroupReadOnly{API: r.api, InstanceID: g.ID, Group: g.ParameterGroup, Timeout: r.cfg.Timeout}.SetReadOnly(ctx, green, true)
}

// GreenReadOnlySetting reads read_only in green's parameter group.
func (r *RDS) GreenReadOnlySetting(ctx context.Context, bg provider.BlueGreen) (provider.GroupSetting, error) {
	g, err := r.api.DescribeInstance(ctx, bg.Green.ID)
	if err != nil {
		return provider.GroupSetting{}, err
	}
	v, set, err := r.api.Parameter(ctx, g.ParameterGroup, "read_only")
	return provider.GroupSetting{Group: g.ParameterGroup, Name: "read_only", Value: v, Set: set}, err
}

// RestoreSetting puts the setting back: the value the group had, or the
// engine's default (ResetDBParameterGroup) when it had none.
func (r *RDS) RestoreSetting(ctx context.Context, s provider.GroupSetting) error {
	if !s.Set {
		return r.api.ResetParameters(ctx, s.Group, []string{s.Name})
	}
	return r.api.ModifyParameters(ctx, s.Group, []Param{{Name: s.Name, Value: s.Value, Immediate: true}})
}

// memberReadOnly sets read_only of a deployment member through its own
// parameter group, resolving the member's name at each call (the
// switchover renames both).
type memberReadOnly struct {
	r     *RDS
	id    string
	green bool
}

// ReadOnly returns the read_only control of blue or green.
func (r *RDS) ReadOnly(bg provider.BlueGreen, green bool) provider.ReadOnlyControl {
	return memberReadOnly{r: r, id: bg.ID, green: green}
}

func (m memberReadOnly) SetReadOnly(ctx context.Context, c *dbconn.Conn, on bool) error {
	d, err := m.r.api.DescribeBlueGreen(ctx, m.id)
	if err != nil {
		return err
	}
	arn := d.SourceARN
	if m.green {
		arn = d.TargetARN
	}
	i, err := m.r.api.DescribeInstance(ctx, instanceIDOf(arn))
	if err != nil {
		return err
	}
	return ParameterGroupReadOnly{API: m.r.api, InstanceID: i.ID, Group: i.ParameterGroup, Timeout: m.r.cfg.Timeout}.SetReadOnly(ctx, c, on)
}

// Switchover starts the deployment's switchover or re-attaches to the one
// under way, and waits until RDS reports it complete.
func (r *RDS) Switchover(ctx context.Context, id string, timeout time.Duration, p provider.Progress) error {
	d, err := r.api.DescribeBlueGreen(ctx, id)
	if err != nil {
		return err
	}
	switch d.Status {
	case "SWITCHOVER_COMPLETED":
		return nil
	case "SWITCHOVER_IN_PROGRESS":
		d, err = r.api.WaitBlueGreen(ctx, id, "SWITCHOVER_COMPLETED", r.wait(p))
	case "AVAILABLE":
		d, err = r.api.SwitchoverBlueGreen(ctx, id, timeout, r.wait(p))
	case "SWITCHOVER_FAILED":
		return fmt.Errorf("blue/green deployment %s is %s: %w", id, d.Status, provider.ErrSwitchoverRolledBack)
	default:
		return fmt.Errorf("blue/green deployment %s is %s: no switchover possible", id, d.Status)
	}
	if err != nil && d.Status == "SWITCHOVER_FAILED" {
		return fmt.Errorf("%w: %w", provider.ErrSwitchoverRolledBack, err)
	}
	return err
}

// DeleteBlueGreen deletes the deployment; before a switchover with its
// green instance (waiting until it is gone), after one without: both
// instances are then the operator's (the old blue is the way back).
func (r *RDS) DeleteBlueGreen(ctx context.Context, bg provider.BlueGreen) error {
	switched := bg.Switched()
	if err := r.api.DeleteBlueGreen(ctx, bg.ID, !switched); err != nil {
		return err
	}
	if switched {
		return nil
	}
	err := r.api.WaitInstanceDeleted(ctx, bg.Green.ID, r.wait(nil))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

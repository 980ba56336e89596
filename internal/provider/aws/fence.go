package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// FenceRequest asks for the deny-all security group that fences the old
// source for good after cutover.
type FenceRequest struct {
	RunID string
	VpcID string
	Name  string
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// CreateFenceSecurityGroup creates (or adopts) a security group with no
// ingress and no egress rule, tagged with the run.
func (p *Provider) CreateFenceSecurityGroup(ctx context.Context, r FenceRequest) (string, error) {
	existing, err := p.runSecurityGroups(ctx, r.RunID)
	if err != nil {
		return "", err
	}
	var id string
	for _, g := range existing {
		if g.Tags[TagRole] == string(RoleFence) {
			id = g.ID
			p.log.Info("adopting fence security group of this run", "id", id)
		}
	}
	if id == "" {
		out, err := p.ec2.CreateSecurityGroup(ctx, fenceInput(r))
		if err != nil {
			return "", fmt.Errorf("creating fence security group %s in %s: %w", r.Name, r.VpcID, err)
		}
		id = awssdk.ToString(out.GroupId)
		p.log.Info("fence security group created", "id", id)
	}
	// A new group allows all egress; a fence allows nothing.
	_, err = p.ec2.RevokeSecurityGroupEgress(ctx, revokeEgressInput(id))
	if err != nil && errorCode(err) != "InvalidPermission.NotFound" {
		return id, fmt.Errorf("revoking default egress of %s: %w", id, err)
	}
	return id, nil
}

func fenceInput(r FenceRequest) *ec2.CreateSecurityGroupInput {
	return &ec2.CreateSecurityGroupInput{
		GroupName:   awssdk.String(r.Name),
		Description: awssdk.String("dbshift run " + r.RunID + ": deny-all fence of the old source"),
		VpcId:       awssdk.String(r.VpcID),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags:         ec2Tags(runTags(r.RunID, RoleFence)),
		}},
	}
}

func revokeEgressInput(groupID string) *ec2.RevokeSecurityGroupEgressInput {
	return &ec2.RevokeSecurityGroupEgressInput{
		GroupId: awssdk.String(groupID),
		IpPermissions: []ec2types.IpPermission{{
			IpProtocol: awssdk.String("-1"),
			IpRanges:   []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}},
		}},
	}
}

func setSecurityGroupsInput(instanceID string, groupIDs []string) *rds.ModifyDBInstanceInput {
	return &rds.ModifyDBInstanceInput{
		DBInstanceIdentifier: awssdk.String(instanceID),
		VpcSecurityGroupIds:  groupIDs,
		ApplyImmediately:     awssdk.Bool(true),
	}
}

func ec2Tags(m map[string]string) []ec2types.Tag {
	var out []ec2types.Tag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, ec2types.Tag{Key: awssdk.String(k), Value: awssdk.String(m[k])})
	}
	return out
}

// SecurityGroup is a VPC security group of a run.
type SecurityGroup struct {
	ID, Name, VpcID string
	Tags            map[string]string
}

func (p *Provider) runSecurityGroups(ctx context.Context, runID string) ([]SecurityGroup, error) {
	var out []SecurityGroup
	pages := ec2.NewDescribeSecurityGroupsPaginator(p.ec2, &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: awssdk.String("tag:" + TagRunID), Values: []string{runID}}},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing security groups of run %s: %w", runID, err)
		}
		for _, g := range page.SecurityGroups {
			tags := map[string]string{}
			for _, t := range g.Tags {
				tags[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
			}
			out = append(out, SecurityGroup{ID: awssdk.ToString(g.GroupId), Name: awssdk.ToString(g.GroupName),
				VpcID: awssdk.ToString(g.VpcId), Tags: tags})
		}
	}
	return out, nil
}

// SetSecurityGroups replaces the instance's VPC security groups and waits
// until exactly those are active.
func (p *Provider) SetSecurityGroups(ctx context.Context, instanceID string, groupIDs []string, o WaitOptions) (Instance, error) {
	_, err := p.rds.ModifyDBInstance(ctx, setSecurityGroupsInput(instanceID, groupIDs))
	if err != nil {
		return Instance{}, fmt.Errorf("setting security groups %v on %s: %w", groupIDs, instanceID, err)
	}
	var last Instance
	err = p.poll(ctx, "security groups of "+instanceID, o, func() (bool, Progress, error) {
		i, err := p.DescribeInstance(ctx, instanceID)
		if err != nil {
			return false, Progress{}, err
		}
		last = i
		var active []string
		done := i.Status == "available"
		for _, g := range i.SecurityGroups {
			if g.Status != "active" {
				done = false
			}
			active = append(active, g.ID)
		}
		sort.Strings(active)
		want := slices.Sorted(slices.Values(groupIDs))
		done = done && slices.Equal(active, want)
		return done, Progress{Kind: "security-groups", ID: instanceID, Status: i.Status, Percent: -1}, nil
	})
	return last, err
}

// Param is one DB parameter group setting.
type Param struct {
	Name, Value string
	// Immediate applies a dynamic parameter at once; otherwise at the next reboot.
	Immediate bool
}

// ModifyParameters changes parameters of a custom DB parameter group.
func (p *Provider) ModifyParameters(ctx context.Context, group string, params []Param) error {
	var ps []rdstypes.Parameter
	for _, x := range params {
		m := rdstypes.ApplyMethodPendingReboot
		if x.Immediate {
			m = rdstypes.ApplyMethodImmediate
		}
		ps = append(ps, rdstypes.Parameter{ParameterName: awssdk.String(x.Name), ParameterValue: awssdk.String(x.Value), ApplyMethod: m})
	}
	// The API takes at most 20 parameters per call.
	for start := 0; start < len(ps); start += 20 {
		_, err := p.rds.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{
			DBParameterGroupName: awssdk.String(group),
			Parameters:           ps[start:min(start+20, len(ps))],
		})
		if err != nil {
			return fmt.Errorf("modifying parameter group %s: %w", group, err)
		}
	}
	return nil
}

// Parameters reads the user-set parameters of a DB parameter group.
func (p *Provider) Parameters(ctx context.Context, group string) (map[string]string, error) {
	out := map[string]string{}
	err := p.eachParameter(ctx, group, func(x rdstypes.Parameter) bool {
		if x.ParameterValue != nil {
			out[awssdk.ToString(x.ParameterName)] = awssdk.ToString(x.ParameterValue)
		}
		return true
	})
	return out, err
}

// Parameter reads one parameter of a DB parameter group: its value, and
// whether the group sets it (Source "user") or leaves it to the engine's
// default (such as read_only's {TrueIfReplica}).
func (p *Provider) Parameter(ctx context.Context, group, name string) (value string, userSet bool, err error) {
	err = p.eachParameter(ctx, group, func(x rdstypes.Parameter) bool {
		if awssdk.ToString(x.ParameterName) != name {
			return true
		}
		value, userSet = awssdk.ToString(x.ParameterValue), awssdk.ToString(x.Source) == "user"
		return false
	})
	return value, userSet, err
}

// eachParameter calls f on the parameters of group, page by page, until f
// returns false.
func (p *Provider) eachParameter(ctx context.Context, group string, f func(rdstypes.Parameter) bool) error {
	pages := rds.NewDescribeDBParametersPaginator(p.rds, &rds.DescribeDBParametersInput{DBParameterGroupName: awssdk.String(group)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("reading parameter group %s: %w", group, err)
		}
		for _, x := range page.Parameters {
			if !f(x) {
				return nil
			}
		}
	}
	return nil
}

// ResetParameters sets parameters of a custom DB parameter group back to
// the engine's defaults, applied at once.
func (p *Provider) ResetParameters(ctx context.Context, group string, names []string) error {
	var ps []rdstypes.Parameter
	for _, n := range names {
		ps = append(ps, rdstypes.Parameter{ParameterName: awssdk.String(n), ApplyMethod: rdstypes.ApplyMethodImmediate})
	}
	if _, err := p.rds.ResetDBParameterGroup(ctx, &rds.ResetDBParameterGroupInput{DBParameterGroupName: awssdk.String(group), Parameters: ps}); err != nil {
		return fmt.Errorf("resetting %s in parameter group %s: %w", strings.Join(names, ", "), group, err)
	}
	return nil
}

// WaitParametersInSync polls until the instance's parameter group reports
// in-sync (the applied state; pending-reboot needs a reboot and is an error).
func (p *Provider) WaitParametersInSync(ctx context.Context, instanceID string, o WaitOptions) (Instance, error) {
	var last Instance
	err := p.poll(ctx, "parameters of "+instanceID+" to be in-sync", o, func() (bool, Progress, error) {
		i, err := p.DescribeInstance(ctx, instanceID)
		if err != nil {
			return false, Progress{}, err
		}
		last = i
		pr := Progress{Kind: "parameters", ID: instanceID, Status: i.ParameterApplyStatus, Percent: -1}
		if i.ParameterApplyStatus == "pending-reboot" {
			return false, pr, fmt.Errorf("parameter group %s of %s needs a reboot: %w", i.ParameterGroup, instanceID, ErrFailed)
		}
		return i.ParameterApplyStatus == "in-sync", pr, nil
	})
	return last, err
}

// InstancesUsingParameterGroup lists the instances whose parameter group is
// group: a change to it reaches every one of them. (DescribeDBInstances has
// no filter by parameter group, so this pages through all instances.)
func (p *Provider) InstancesUsingParameterGroup(ctx context.Context, group string) ([]string, error) {
	var ids []string
	pages := rds.NewDescribeDBInstancesPaginator(p.rds, &rds.DescribeDBInstancesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the instances of parameter group %s: %w", group, err)
		}
		for _, d := range page.DBInstances {
			if i := fromInstance(d); i.ParameterGroup == group {
				ids = append(ids, i.ID)
			}
		}
	}
	return ids, nil
}

package aws

import (
	"context"
	"errors"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// Resources are what a run created, found by the dbshift:run-id tag.
type Resources struct {
	Instances      []Instance
	Snapshots      []Snapshot
	SecurityGroups []SecurityGroup
}

// FindByRunID lists the instances, manual snapshots and security groups
// tagged with the run id. DescribeDBInstances and DescribeDBSnapshots have
// no tag filter, so it pages through all of them and reads their TagList.
func (p *Provider) FindByRunID(ctx context.Context, runID string) (Resources, error) {
	var r Resources
	ipages := rds.NewDescribeDBInstancesPaginator(p.rds, &rds.DescribeDBInstancesInput{})
	for ipages.HasMorePages() {
		page, err := ipages.NextPage(ctx)
		if err != nil {
			return r, fmt.Errorf("listing DB instances of run %s: %w", runID, err)
		}
		for _, d := range page.DBInstances {
			if i := fromInstance(d); i.Tags[TagRunID] == runID {
				r.Instances = append(r.Instances, i)
			}
		}
	}
	spages := rds.NewDescribeDBSnapshotsPaginator(p.rds, &rds.DescribeDBSnapshotsInput{SnapshotType: awssdk.String("manual")})
	for spages.HasMorePages() {
		page, err := spages.NextPage(ctx)
		if err != nil {
			return r, fmt.Errorf("listing DB snapshots of run %s: %w", runID, err)
		}
		for _, d := range page.DBSnapshots {
			if s := fromSnapshot(d); s.Tags[TagRunID] == runID {
				r.Snapshots = append(r.Snapshots, s)
			}
		}
	}
	sgs, err := p.runSecurityGroups(ctx, runID)
	if err != nil {
		return r, err
	}
	r.SecurityGroups = sgs
	return r, nil
}

// Deleted lists what DeleteRunResources removed.
type Deleted struct {
	Instances      []string
	Snapshots      []string
	SecurityGroups []string
}

// DeleteRunResources deletes the resources of the run whose role is in
// roles, and nothing else: instances first (and waits until they are gone,
// since security groups in use cannot be deleted), then snapshots, then
// security groups. It carries on past a failure and returns them all joined.
func (p *Provider) DeleteRunResources(ctx context.Context, runID string, roles []Role, o WaitOptions) (Deleted, error) {
	var d Deleted
	want := map[string]bool{}
	for _, r := range roles {
		want[string(r)] = true
	}
	found, err := p.FindByRunID(ctx, runID)
	if err != nil {
		return d, err
	}
	var errs []error
	for _, i := range found.Instances {
		if !want[i.Tags[TagRole]] {
			continue
		}
		if err := p.DeleteInstanceWhenPossible(ctx, i.ID, o); err != nil {
			errs = append(errs, err)
			continue
		}
		d.Instances = append(d.Instances, i.ID)
	}
	for _, id := range d.Instances {
		if err := p.WaitInstanceDeleted(ctx, id, o); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range found.Snapshots {
		if !want[s.Tags[TagRole]] {
			continue
		}
		if err := p.DeleteSnapshotWhenPossible(ctx, s.ID, o); err != nil {
			errs = append(errs, err)
			continue
		}
		d.Snapshots = append(d.Snapshots, s.ID)
	}
	for _, g := range found.SecurityGroups {
		if !want[g.Tags[TagRole]] {
			continue
		}
		_, err := p.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: awssdk.String(g.ID)})
		if err != nil && errorCode(err) != "InvalidGroup.NotFound" {
			errs = append(errs, fmt.Errorf("deleting security group %s: %w", g.ID, err))
			continue
		}
		d.SecurityGroups = append(d.SecurityGroups, g.ID)
	}
	return d, errors.Join(errs...)
}

// DeleteSnapshotWhenPossible deletes a snapshot. A snapshot being taken
// cannot be deleted (a copy can: deleting it cancels the copy), so on
// InvalidDBSnapshotState it waits for the snapshot to finish, then deletes it.
func (p *Provider) DeleteSnapshotWhenPossible(ctx context.Context, id string, o WaitOptions) error {
	err := p.DeleteSnapshot(ctx, id)
	if errorCode(err) == "InvalidDBSnapshotState" {
		if _, err = p.WaitSnapshotAvailable(ctx, id, o); err == nil || errors.Is(err, ErrFailed) {
			err = p.DeleteSnapshot(ctx, id)
		}
	}
	return err
}

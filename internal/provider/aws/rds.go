package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// Instance is what dbshift needs to know about a DB instance.
type Instance struct {
	ID, ARN, Status      string
	Class                string
	Engine               string
	EngineVersion        string
	Address              string // empty while creating
	Port                 int
	StorageEncrypted     bool
	KmsKeyID             string
	SubnetGroup          string
	VpcID                string
	ParameterGroup       string
	ParameterApplyStatus string
	SecurityGroups       []SecurityGroupMembership
	ReplicaSource        string
	MultiAZ              bool
	Tags                 map[string]string
}

// SecurityGroupMembership is a VPC security group attached to an instance.
type SecurityGroupMembership struct {
	ID     string
	Status string // adding, active, removing
}

// Snapshot is what dbshift needs to know about a DB snapshot.
type Snapshot struct {
	ID, ARN, Status  string
	InstanceID       string
	EngineVersion    string
	PercentProgress  int
	Encrypted        bool
	KmsKeyID         string
	SourceSnapshotID string // ARN of the snapshot a copy was made from
	Tags             map[string]string
}

func tagMap(tags []rdstypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return m
}

func rdsTags(m map[string]string) []rdstypes.Tag {
	var out []rdstypes.Tag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, rdstypes.Tag{Key: awssdk.String(k), Value: awssdk.String(m[k])})
	}
	return out
}

func fromInstance(d rdstypes.DBInstance) Instance {
	i := Instance{
		ID: awssdk.ToString(d.DBInstanceIdentifier), ARN: awssdk.ToString(d.DBInstanceArn),
		Status: awssdk.ToString(d.DBInstanceStatus), Class: awssdk.ToString(d.DBInstanceClass),
		Engine: awssdk.ToString(d.Engine), EngineVersion: awssdk.ToString(d.EngineVersion),
		StorageEncrypted: awssdk.ToBool(d.StorageEncrypted), KmsKeyID: awssdk.ToString(d.KmsKeyId),
		ReplicaSource: awssdk.ToString(d.ReadReplicaSourceDBInstanceIdentifier),
		MultiAZ:       awssdk.ToBool(d.MultiAZ), Tags: tagMap(d.TagList),
	}
	if d.Endpoint != nil {
		i.Address, i.Port = awssdk.ToString(d.Endpoint.Address), int(awssdk.ToInt32(d.Endpoint.Port))
	}
	if d.DBSubnetGroup != nil {
		i.SubnetGroup, i.VpcID = awssdk.ToString(d.DBSubnetGroup.DBSubnetGroupName), awssdk.ToString(d.DBSubnetGroup.VpcId)
	}
	if len(d.DBParameterGroups) > 0 {
		i.ParameterGroup = awssdk.ToString(d.DBParameterGroups[0].DBParameterGroupName)
		i.ParameterApplyStatus = awssdk.ToString(d.DBParameterGroups[0].ParameterApplyStatus)
	}
	for _, g := range d.VpcSecurityGroups {
		i.SecurityGroups = append(i.SecurityGroups, SecurityGroupMembership{ID: awssdk.ToString(g.VpcSecurityGroupId), Status: awssdk.ToString(g.Status)})
	}
	return i
}

func fromSnapshot(d rdstypes.DBSnapshot) Snapshot {
	return Snapshot{
		ID: awssdk.ToString(d.DBSnapshotIdentifier), ARN: awssdk.ToString(d.DBSnapshotArn),
		Status: awssdk.ToString(d.Status), InstanceID: awssdk.ToString(d.DBInstanceIdentifier),
		EngineVersion:   awssdk.ToString(d.EngineVersion),
		PercentProgress: int(awssdk.ToInt32(d.PercentProgress)), Encrypted: awssdk.ToBool(d.Encrypted),
		KmsKeyID: awssdk.ToString(d.KmsKeyId), SourceSnapshotID: awssdk.ToString(d.SourceDBSnapshotIdentifier),
		Tags: tagMap(d.TagList),
	}
}

// DescribeInstance returns one instance; ErrNotFound when it does not exist.
func (p *Provider) DescribeInstance(ctx context.Context, id string) (Instance, error) {
	out, err := p.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: awssdk.String(id)})
	if errorCode(err) == "DBInstanceNotFound" {
		return Instance{}, fmt.Errorf("describing DB instance %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Instance{}, fmt.Errorf("describing DB instance %s: %w", id, err)
	}
	if len(out.DBInstances) != 1 {
		return Instance{}, fmt.Errorf("describing DB instance %s: %d answers: %w", id, len(out.DBInstances), ErrNotFound)
	}
	return fromInstance(out.DBInstances[0]), nil
}

// DescribeSnapshot returns one snapshot; ErrNotFound when it does not exist.
func (p *Provider) DescribeSnapshot(ctx context.Context, id string) (Snapshot, error) {
	out, err := p.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: awssdk.String(id)})
	if errorCode(err) == "DBSnapshotNotFound" {
		return Snapshot{}, fmt.Errorf("describing DB snapshot %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("describing DB snapshot %s: %w", id, err)
	}
	if len(out.DBSnapshots) != 1 {
		return Snapshot{}, fmt.Errorf("describing DB snapshot %s: %d answers: %w", id, len(out.DBSnapshots), ErrNotFound)
	}
	return fromSnapshot(out.DBSnapshots[0]), nil
}

// adoptInstance returns the instance id when it exists and belongs to the
// run in that role; found=false when it does not exist.
func (p *Provider) adoptInstance(ctx context.Context, id, runID string, role Role) (Instance, bool, error) {
	i, err := p.DescribeInstance(ctx, id)
	if err != nil {
		if isNotFound(err) {
			return Instance{}, false, nil
		}
		return Instance{}, false, err
	}
	if !ours(i.Tags, runID, role) {
		return Instance{}, false, fmt.Errorf("DB instance %s (tags %v, want run %s role %s): %w", id, i.Tags, runID, role, ErrNotOurs)
	}
	p.log.Info("adopting DB instance of this run", "id", id, "role", role, "status", i.Status)
	return i, true, nil
}

func (p *Provider) adoptSnapshot(ctx context.Context, id, runID string, role Role) (Snapshot, bool, error) {
	s, err := p.DescribeSnapshot(ctx, id)
	if err != nil {
		if isNotFound(err) {
			return Snapshot{}, false, nil
		}
		return Snapshot{}, false, err
	}
	if !ours(s.Tags, runID, role) {
		return Snapshot{}, false, fmt.Errorf("DB snapshot %s (tags %v, want run %s role %s): %w", id, s.Tags, runID, role, ErrNotOurs)
	}
	p.log.Info("adopting DB snapshot of this run", "id", id, "role", role, "status", s.Status)
	return s, true, nil
}

// ReplicaRequest asks for a temporary read replica of the source.
type ReplicaRequest struct {
	RunID     string
	SourceID  string
	ReplicaID string
	// InstanceClass defaults to the source's class.
	InstanceClass string
}

func replicaInput(r ReplicaRequest) *rds.CreateDBInstanceReadReplicaInput {
	in := &rds.CreateDBInstanceReadReplicaInput{
		DBInstanceIdentifier:       awssdk.String(r.ReplicaID),
		SourceDBInstanceIdentifier: awssdk.String(r.SourceID),
		Tags:                       rdsTags(runTags(r.RunID, RoleReplica)),
	}
	if r.InstanceClass != "" {
		in.DBInstanceClass = awssdk.String(r.InstanceClass)
	}
	return in
}

// CreateReadReplica creates (or adopts) the run's temporary read replica.
func (p *Provider) CreateReadReplica(ctx context.Context, r ReplicaRequest) (Instance, error) {
	if i, ok, err := p.adoptInstance(ctx, r.ReplicaID, r.RunID, RoleReplica); ok || err != nil {
		return i, err
	}
	out, err := p.rds.CreateDBInstanceReadReplica(ctx, replicaInput(r))
	if errorCode(err) == "DBInstanceAlreadyExists" {
		// Lost a race with ourselves (a retried request that had succeeded).
		if i, ok, aerr := p.adoptInstance(ctx, r.ReplicaID, r.RunID, RoleReplica); ok || aerr != nil {
			return i, aerr
		}
	}
	if err != nil {
		return Instance{}, fmt.Errorf("creating read replica %s of %s: %w", r.ReplicaID, r.SourceID, err)
	}
	p.log.Info("read replica requested", "id", r.ReplicaID, "source", r.SourceID)
	return fromInstance(*out.DBInstance), nil
}

// failedInstanceStates are the statuses an instance does not leave by itself.
var failedInstanceStates = map[string]bool{
	"failed": true, "incompatible-restore": true, "incompatible-parameters": true,
	"incompatible-network": true, "incompatible-option-group": true, "storage-full": true,
	"inaccessible-encryption-credentials": true, "restore-error": true,
}

// WaitInstanceAvailable polls until the instance is available.
func (p *Provider) WaitInstanceAvailable(ctx context.Context, id string, o WaitOptions) (Instance, error) {
	var last Instance
	err := p.poll(ctx, "DB instance "+id+" to be available", o, func() (bool, Progress, error) {
		i, err := p.DescribeInstance(ctx, id)
		if err != nil {
			return false, Progress{}, err
		}
		last = i
		pr := Progress{Kind: "instance", ID: id, Status: i.Status, Percent: -1}
		if failedInstanceStates[i.Status] {
			return false, pr, fmt.Errorf("DB instance %s is %s: %w", id, i.Status, ErrFailed)
		}
		return i.Status == "available", pr, nil
	})
	return last, err
}

// WaitInstanceDeleted polls until the instance no longer exists.
func (p *Provider) WaitInstanceDeleted(ctx context.Context, id string, o WaitOptions) error {
	return p.poll(ctx, "DB instance "+id+" to be deleted", o, func() (bool, Progress, error) {
		i, err := p.DescribeInstance(ctx, id)
		if isNotFound(err) {
			return true, Progress{Kind: "instance", ID: id, Status: "deleted", Percent: -1}, nil
		}
		if err != nil {
			return false, Progress{}, err
		}
		return false, Progress{Kind: "instance", ID: id, Status: i.Status, Percent: -1}, nil
	})
}

// SnapshotRequest asks for a manual snapshot of an instance.
type SnapshotRequest struct {
	RunID      string
	InstanceID string
	SnapshotID string
}

func snapshotInput(r SnapshotRequest) *rds.CreateDBSnapshotInput {
	return &rds.CreateDBSnapshotInput{
		DBInstanceIdentifier: awssdk.String(r.InstanceID),
		DBSnapshotIdentifier: awssdk.String(r.SnapshotID),
		Tags:                 rdsTags(runTags(r.RunID, RoleSnapshot)),
	}
}

// CreateSnapshot creates (or adopts) the run's snapshot of the replica.
func (p *Provider) CreateSnapshot(ctx context.Context, r SnapshotRequest) (Snapshot, error) {
	if s, ok, err := p.adoptSnapshot(ctx, r.SnapshotID, r.RunID, RoleSnapshot); ok || err != nil {
		return s, err
	}
	out, err := p.rds.CreateDBSnapshot(ctx, snapshotInput(r))
	if errorCode(err) == "DBSnapshotAlreadyExists" {
		if s, ok, aerr := p.adoptSnapshot(ctx, r.SnapshotID, r.RunID, RoleSnapshot); ok || aerr != nil {
			return s, aerr
		}
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("creating snapshot %s of %s: %w", r.SnapshotID, r.InstanceID, err)
	}
	p.log.Info("snapshot requested", "id", r.SnapshotID, "instance", r.InstanceID)
	return fromSnapshot(*out.DBSnapshot), nil
}

// WaitSnapshotAvailable polls until the snapshot is available, reporting
// PercentProgress.
func (p *Provider) WaitSnapshotAvailable(ctx context.Context, id string, o WaitOptions) (Snapshot, error) {
	var last Snapshot
	err := p.poll(ctx, "DB snapshot "+id+" to be available", o, func() (bool, Progress, error) {
		s, err := p.DescribeSnapshot(ctx, id)
		if err != nil {
			return false, Progress{}, err
		}
		last = s
		pr := Progress{Kind: "snapshot", ID: id, Status: s.Status, Percent: s.PercentProgress}
		if s.Status == "failed" || s.Status == "error" {
			return false, pr, fmt.Errorf("DB snapshot %s is %s: %w", id, s.Status, ErrFailed)
		}
		return s.Status == "available", pr, nil
	})
	return last, err
}

// CopyRequest asks for an encrypted copy of a snapshot.
type CopyRequest struct {
	RunID            string
	SourceSnapshotID string
	TargetSnapshotID string
	KmsKeyID         string
}

func copyInput(r CopyRequest) *rds.CopyDBSnapshotInput {
	return &rds.CopyDBSnapshotInput{
		SourceDBSnapshotIdentifier: awssdk.String(r.SourceSnapshotID),
		TargetDBSnapshotIdentifier: awssdk.String(r.TargetSnapshotID),
		KmsKeyId:                   awssdk.String(r.KmsKeyID),
		Tags:                       rdsTags(runTags(r.RunID, RoleEncryptedCopy)),
	}
}

// CopySnapshotEncrypted copies the snapshot under a KMS key. A copy of this
// run found by its tags is adopted whatever its name, so a run killed
// between "copy started" and "copy recorded" does not start a second copy.
func (p *Provider) CopySnapshotEncrypted(ctx context.Context, r CopyRequest) (Snapshot, error) {
	if r.KmsKeyID == "" {
		return Snapshot{}, fmt.Errorf("copying snapshot %s: %w", r.SourceSnapshotID, ErrKMSKeyRequired)
	}
	found, err := p.FindByRunID(ctx, r.RunID)
	if err != nil {
		return Snapshot{}, fmt.Errorf("looking for an earlier copy of %s: %w", r.SourceSnapshotID, err)
	}
	for _, s := range found.Snapshots {
		if s.Tags[TagRole] == string(RoleEncryptedCopy) {
			p.log.Info("adopting encrypted copy of this run", "id", s.ID, "status", s.Status)
			return s, nil
		}
	}
	out, err := p.rds.CopyDBSnapshot(ctx, copyInput(r))
	if errorCode(err) == "DBSnapshotAlreadyExists" {
		if s, ok, aerr := p.adoptSnapshot(ctx, r.TargetSnapshotID, r.RunID, RoleEncryptedCopy); ok || aerr != nil {
			return s, aerr
		}
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("copying snapshot %s to %s under KMS key %s: %w", r.SourceSnapshotID, r.TargetSnapshotID, r.KmsKeyID, err)
	}
	s := fromSnapshot(*out.DBSnapshot)
	if !s.Encrypted {
		return s, fmt.Errorf("copy %s of %s: %w", s.ID, r.SourceSnapshotID, ErrNotEncrypted)
	}
	p.log.Info("encrypted copy requested", "id", s.ID, "source", r.SourceSnapshotID)
	return s, nil
}

// RestoreRequest asks for the target instance from the encrypted snapshot.
// Empty settings are copied from the instance named by SettingsFrom (the
// migration source), not left to RDS's defaults (default subnet group,
// default parameter group, the VPC's default security group).
type RestoreRequest struct {
	RunID          string
	SnapshotID     string
	TargetID       string
	SettingsFrom   string
	InstanceClass  string
	SubnetGroup    string
	ParameterGroup string
	SecurityGroups []string
	MultiAZ        *bool
}

// RestoreFromSnapshot restores (or adopts) the run's target instance.
func (p *Provider) RestoreFromSnapshot(ctx context.Context, r RestoreRequest) (Instance, error) {
	if i, ok, err := p.adoptInstance(ctx, r.TargetID, r.RunID, RoleTarget); ok || err != nil {
		return i, err
	}
	in, err := p.restoreInput(ctx, r)
	if err != nil {
		return Instance{}, err
	}
	out, err := p.rds.RestoreDBInstanceFromDBSnapshot(ctx, in)
	if errorCode(err) == "DBInstanceAlreadyExists" {
		if i, ok, aerr := p.adoptInstance(ctx, r.TargetID, r.RunID, RoleTarget); ok || aerr != nil {
			return i, aerr
		}
	}
	if err != nil {
		return Instance{}, fmt.Errorf("restoring %s from snapshot %s: %w", r.TargetID, r.SnapshotID, err)
	}
	p.log.Info("restore requested", "id", r.TargetID, "snapshot", r.SnapshotID)
	return fromInstance(*out.DBInstance), nil
}

// restoreInput fills the request's empty settings from the SettingsFrom
// instance, then builds the API input.
func (p *Provider) restoreInput(ctx context.Context, r RestoreRequest) (*rds.RestoreDBInstanceFromDBSnapshotInput, error) {
	if r.SettingsFrom != "" {
		src, err := p.DescribeInstance(ctx, r.SettingsFrom)
		if err != nil {
			return nil, fmt.Errorf("reading settings of %s for the restore: %w", r.SettingsFrom, err)
		}
		var sgs []string
		for _, g := range src.SecurityGroups {
			if g.Status != "removing" {
				sgs = append(sgs, g.ID)
			}
		}
		r = r.withDefaults(src.Class, src.SubnetGroup, src.ParameterGroup, sgs, src.MultiAZ)
	}
	return buildRestoreInput(r), nil
}

func (r RestoreRequest) withDefaults(class, subnet, pg string, sgs []string, multiAZ bool) RestoreRequest {
	if r.InstanceClass == "" {
		r.InstanceClass = class
	}
	if r.SubnetGroup == "" {
		r.SubnetGroup = subnet
	}
	if r.ParameterGroup == "" {
		r.ParameterGroup = pg
	}
	if len(r.SecurityGroups) == 0 {
		r.SecurityGroups = sgs
	}
	if r.MultiAZ == nil {
		r.MultiAZ = awssdk.Bool(multiAZ)
	}
	return r
}

func buildRestoreInput(r RestoreRequest) *rds.RestoreDBInstanceFromDBSnapshotInput {
	in := &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: awssdk.String(r.TargetID),
		DBSnapshotIdentifier: awssdk.String(r.SnapshotID),
		Tags:                 rdsTags(runTags(r.RunID, RoleTarget)),
		MultiAZ:              r.MultiAZ,
		VpcSecurityGroupIds:  r.SecurityGroups,
	}
	if r.InstanceClass != "" {
		in.DBInstanceClass = awssdk.String(r.InstanceClass)
	}
	if r.SubnetGroup != "" {
		in.DBSubnetGroupName = awssdk.String(r.SubnetGroup)
	}
	if r.ParameterGroup != "" {
		in.DBParameterGroupName = awssdk.String(r.ParameterGroup)
	}
	return in
}

// VerifyEncrypted fails with ErrNotEncrypted unless the instance reports
// StorageEncrypted=true.
func (p *Provider) VerifyEncrypted(ctx context.Context, id string) (Instance, error) {
	i, err := p.DescribeInstance(ctx, id)
	if err != nil {
		return Instance{}, err
	}
	if !i.StorageEncrypted {
		return i, fmt.Errorf("DB instance %s: %w", id, ErrNotEncrypted)
	}
	return i, nil
}

func deleteInstanceInput(id string) *rds.DeleteDBInstanceInput {
	return &rds.DeleteDBInstanceInput{
		DBInstanceIdentifier:   awssdk.String(id),
		SkipFinalSnapshot:      awssdk.Bool(true),
		DeleteAutomatedBackups: awssdk.Bool(true),
	}
}

// DeleteInstance deletes an instance without a final snapshot; deleting one
// that is gone or already being deleted succeeds.
func (p *Provider) DeleteInstance(ctx context.Context, id string) error {
	_, err := p.rds.DeleteDBInstance(ctx, deleteInstanceInput(id))
	switch errorCode(err) {
	case "":
		if err != nil {
			return fmt.Errorf("deleting DB instance %s: %w", id, err)
		}
		p.log.Info("DB instance deletion requested", "id", id)
		return nil
	case "DBInstanceNotFound":
		return nil
	case "InvalidDBInstanceState":
		if i, derr := p.DescribeInstance(ctx, id); derr == nil && i.Status == "deleting" {
			return nil
		}
	}
	return fmt.Errorf("deleting DB instance %s: %w", id, err)
}

// DeleteInstanceWhenPossible deletes an instance; one that RDS will not
// delete yet (modifying, backing-up, rebooting) is waited for first.
func (p *Provider) DeleteInstanceWhenPossible(ctx context.Context, id string, o WaitOptions) error {
	err := p.DeleteInstance(ctx, id)
	if errorCode(err) == "InvalidDBInstanceState" {
		if _, err = p.WaitInstanceAvailable(ctx, id, o); err == nil || errors.Is(err, ErrFailed) {
			err = p.DeleteInstance(ctx, id)
		}
	}
	return err
}

// DeleteSnapshot deletes a snapshot; deleting one that is gone succeeds.
func (p *Provider) DeleteSnapshot(ctx context.Context, id string) error {
	_, err := p.rds.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: awssdk.String(id)})
	if err == nil {
		p.log.Info("DB snapshot deleted", "id", id)
		return nil
	}
	if errorCode(err) == "DBSnapshotNotFound" {
		return nil
	}
	return fmt.Errorf("deleting DB snapshot %s: %w", id, err)
}

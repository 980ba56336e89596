package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/spec"
)

// BindConfig is what `provider: aws` needs beyond the API clients.
type BindConfig struct {
	SourceID string
	// AdminUser, PasswordFile and PasswordEnv are how dbshift logs in to
	// every instance: RDS read replicas and restores keep the source's
	// master user and password.
	AdminUser string
	// SourceDSN, when set, is the model of every instance's DSN: its user,
	// database and parameters (timeouts, TLS) with the instance's endpoint.
	SourceDSN    string
	PasswordFile string
	PasswordEnv  string
	// Target settings that override the source's.
	SubnetGroup      string
	ParameterGroup   string
	SecurityGroupIDs []string
	// Timeout bounds each wait (default 12h: a large restore takes hours).
	Timeout time.Duration
}

// RDS implements provider.Provider on Amazon RDS.
type RDS struct {
	api *Provider
	cfg BindConfig
}

var _ provider.Provider = (*RDS)(nil)

// NewRDS binds the API type to the provider interface.
func NewRDS(api *Provider, c BindConfig) *RDS {
	if c.Timeout <= 0 {
		c.Timeout = 12 * time.Hour
	}
	return &RDS{api: api, cfg: c}
}

// NewFromSpec builds the aws provider of a spec: region, profile and
// endpoint from aws:, the admin user from the source DSN, credentials from
// the SDK's default chain.
func NewFromSpec(ctx context.Context, s *spec.Spec, log *slog.Logger) (*RDS, error) {
	api, err := New(ctx, Config{Region: s.AWS.Region, Profile: s.AWS.Profile, Endpoint: s.AWS.Endpoint, Logger: log,
		PollMin: s.AWS.PollInterval, PollMax: 6 * s.AWS.PollInterval})
	if err != nil {
		return nil, err
	}
	dsn, _, err := dbconn.ParseDSN(s.Source.DSN)
	if err != nil {
		return nil, fmt.Errorf("reading the admin user from source.dsn: %w", err)
	}
	return NewRDS(api, BindConfig{
		SourceID: s.AWS.SourceInstance, AdminUser: dsn.User, SourceDSN: s.Source.DSN,
		PasswordFile: s.Source.PasswordFile, PasswordEnv: s.Source.PasswordEnv,
		SubnetGroup: s.AWS.SubnetGroup, ParameterGroup: s.AWS.ParameterGroup, SecurityGroupIDs: s.AWS.SecurityGroupIDs,
	}), nil
}

// API is the typed API underneath, for the steps the interface does not
// cover (fence security group, Route53, blue/green, logs).
func (r *RDS) API() *Provider { return r.api }

// Name is the spec's provider name.
func (r *RDS) Name() string { return "aws" }

func (r *RDS) instance(i Instance, role string) provider.Instance {
	if role == "" {
		role = i.Tags[TagRole]
	}
	out := provider.Instance{ID: i.ID, Role: role, Encrypted: i.StorageEncrypted, Status: i.Status,
		PasswordFile: r.cfg.PasswordFile, PasswordEnv: r.cfg.PasswordEnv}
	if i.Address != "" {
		out.Addr = net.JoinHostPort(i.Address, strconv.Itoa(i.Port))
		out.DSN = r.dsnFor(out.Addr)
	}
	return out
}

// dsnFor is the source DSN pointed at addr; the password is never in it.
func (r *RDS) dsnFor(addr string) string {
	if r.cfg.SourceDSN != "" {
		if cfg, _, err := dbconn.ParseDSN(r.cfg.SourceDSN); err == nil {
			cfg.Net, cfg.Addr, cfg.Passwd = "tcp", addr, ""
			return cfg.FormatDSN()
		}
	}
	return r.cfg.AdminUser + "@tcp(" + addr + ")/"
}

func snapshot(s Snapshot, role string) provider.Snapshot {
	if role == "" {
		role = s.Tags[TagRole]
	}
	return provider.Snapshot{ID: s.ID, Role: role, Source: s.InstanceID, Encrypted: s.Encrypted,
		KeyID: s.KmsKeyID, Status: s.Status, Location: s.ARN}
}

func (r *RDS) wait(p provider.Progress) WaitOptions {
	o := WaitOptions{Timeout: r.cfg.Timeout}
	if p != nil {
		o.Progress = func(pr Progress) { p(max(pr.Percent, 0), pr.Status) }
	}
	return o
}

// Source describes the migration's source instance.
func (r *RDS) Source(ctx context.Context) (provider.Instance, error) {
	i, err := r.api.DescribeInstance(ctx, r.cfg.SourceID)
	if err != nil {
		return provider.Instance{}, err
	}
	return r.instance(i, "source"), nil
}

// CreateReplica creates (or adopts) the temporary read replica and waits
// until it is available.
func (r *RDS) CreateReplica(ctx context.Context, req provider.ReplicaRequest, p provider.Progress) (provider.Instance, error) {
	if _, err := r.api.CreateReadReplica(ctx, ReplicaRequest{RunID: req.RunID, SourceID: req.Source.ID, ReplicaID: req.ID}); err != nil {
		return provider.Instance{}, err
	}
	i, err := r.api.WaitInstanceAvailable(ctx, req.ID, r.wait(p))
	if err != nil {
		return provider.Instance{}, err
	}
	return r.instance(i, provider.RoleTempReplica), nil
}

// Snapshot snapshots the (stopped) replica and waits until it is available.
func (r *RDS) Snapshot(ctx context.Context, runID, id string, of provider.Instance, p provider.Progress) (provider.Snapshot, error) {
	if _, err := r.api.CreateSnapshot(ctx, SnapshotRequest{RunID: runID, InstanceID: of.ID, SnapshotID: id}); err != nil {
		return provider.Snapshot{}, err
	}
	s, err := r.api.WaitSnapshotAvailable(ctx, id, r.wait(p))
	if err != nil {
		return provider.Snapshot{}, err
	}
	return snapshot(s, provider.RoleSnapshot), nil
}

// CopyEncrypted copies the snapshot under keyID and waits for the copy.
func (r *RDS) CopyEncrypted(ctx context.Context, runID, id string, snap provider.Snapshot, keyID string, p provider.Progress) (provider.Snapshot, error) {
	c, err := r.api.CopySnapshotEncrypted(ctx, CopyRequest{RunID: runID, SourceSnapshotID: snap.ID, TargetSnapshotID: id, KmsKeyID: keyID})
	if err != nil {
		return provider.Snapshot{}, err
	}
	s, err := r.api.WaitSnapshotAvailable(ctx, c.ID, r.wait(p))
	if err != nil {
		return provider.Snapshot{}, err
	}
	return snapshot(s, provider.RoleEncryptedCopy), nil
}

// Restore creates the target from the snapshot with the source's settings
// (unless the spec overrides them) and waits until it is available.
func (r *RDS) Restore(ctx context.Context, snap provider.Snapshot, req provider.TargetRequest, p provider.Progress) (provider.Instance, error) {
	s, err := r.api.DescribeSnapshot(ctx, snap.ID)
	if err != nil {
		return provider.Instance{}, err
	}
	if req.Encrypted && !s.Encrypted {
		return provider.Instance{}, fmt.Errorf("restoring %s from %s: the snapshot is not encrypted, the target would not be: %w", req.ID, snap.ID, ErrNotEncrypted)
	}
	if req.EngineVersion != "" && req.EngineVersion != s.EngineVersion {
		return provider.Instance{}, fmt.Errorf("restoring %s: RDS restores the snapshot's engine version %s, not %s; use strategy blue-green to upgrade",
			req.ID, s.EngineVersion, req.EngineVersion)
	}
	if len(req.Parameters) > 0 {
		// The target's parameter group may be shared (with the source, by
		// default): changing it here could change other instances.
		return provider.Instance{}, fmt.Errorf("restoring %s: on aws, target parameters come from aws.parameter_group (a group for the target only), not target.parameters", req.ID)
	}
	if r.cfg.ParameterGroup != "" {
		// The target's own group: it starts read-only, as a replica must
		// until the cutover opens it through the same group.
		if err := r.api.ModifyParameters(ctx, r.cfg.ParameterGroup, []Param{{Name: "read_only", Value: "1", Immediate: true}}); err != nil {
			return provider.Instance{}, fmt.Errorf("restoring %s: %w", req.ID, err)
		}
	}
	_, err = r.api.RestoreFromSnapshot(ctx, RestoreRequest{RunID: req.RunID, SnapshotID: snap.ID, TargetID: req.ID,
		SettingsFrom: req.CopyFrom.ID, InstanceClass: req.InstanceClass, SubnetGroup: r.cfg.SubnetGroup,
		ParameterGroup: r.cfg.ParameterGroup, SecurityGroups: r.cfg.SecurityGroupIDs})
	if err != nil {
		return provider.Instance{}, err
	}
	i, err := r.api.WaitInstanceAvailable(ctx, req.ID, r.wait(p))
	if err != nil {
		return provider.Instance{}, err
	}
	return r.instance(i, provider.RoleTarget), nil
}

// VerifyEncrypted reads StorageEncrypted; an unencrypted instance is an
// error (ErrNotEncrypted), since waiting will not change it.
func (r *RDS) VerifyEncrypted(ctx context.Context, inst provider.Instance) (provider.EncryptionStatus, error) {
	i, err := r.api.VerifyEncrypted(ctx, inst.ID)
	st := provider.EncryptionStatus{Encrypted: i.StorageEncrypted, Total: 1,
		Detail: fmt.Sprintf("StorageEncrypted=%v (KmsKeyId %s)", i.StorageEncrypted, i.KmsKeyID)}
	if st.Encrypted {
		st.Done = 1
	}
	return st, err
}

// FindInstance returns the run's instance with the role, if it exists and
// is not being deleted.
func (r *RDS) FindInstance(ctx context.Context, runID, role string) (provider.Instance, bool, error) {
	found, err := r.api.FindByRunID(ctx, runID)
	if err != nil {
		return provider.Instance{}, false, err
	}
	for _, i := range found.Instances {
		if i.Tags[TagRole] == role && i.Status != "deleting" {
			return r.instance(i, role), true, nil
		}
	}
	return provider.Instance{}, false, nil
}

// FindSnapshot returns the run's snapshot with the role, if it exists.
func (r *RDS) FindSnapshot(ctx context.Context, runID, role string) (provider.Snapshot, bool, error) {
	found, err := r.api.FindByRunID(ctx, runID)
	if err != nil {
		return provider.Snapshot{}, false, err
	}
	for _, s := range found.Snapshots {
		if s.Tags[TagRole] == role && s.Status != "deleted" {
			return snapshot(s, role), true, nil
		}
	}
	return provider.Snapshot{}, false, nil
}

// DeleteInstance deletes an instance the run created and waits until it is
// gone. It refuses an instance without the run tags.
func (r *RDS) DeleteInstance(ctx context.Context, inst provider.Instance) error {
	i, err := r.api.DescribeInstance(ctx, inst.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if i.Tags[TagRunID] == "" {
		return fmt.Errorf("deleting DB instance %s: it has no %s tag: %w", inst.ID, TagRunID, ErrNotOurs)
	}
	if err := r.api.DeleteInstanceWhenPossible(ctx, inst.ID, r.wait(nil)); err != nil {
		return err
	}
	return r.api.WaitInstanceDeleted(ctx, inst.ID, r.wait(nil))
}

// DeleteSnapshot deletes a snapshot the run created.
func (r *RDS) DeleteSnapshot(ctx context.Context, snap provider.Snapshot) error {
	s, err := r.api.DescribeSnapshot(ctx, snap.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if s.Tags[TagRunID] == "" {
		return fmt.Errorf("deleting DB snapshot %s: it has no %s tag: %w", snap.ID, TagRunID, ErrNotOurs)
	}
	return r.api.DeleteSnapshotWhenPossible(ctx, snap.ID, r.wait(nil))
}

// FenceSourceForGood attaches the run's deny-all security group (created,
// tagged, or adopted) to the source as its only group and waits until it is
// the only active one: after cutover no client, and no replica, reaches the
// old source any more. It returns the group's id.
func (r *RDS) FenceSourceForGood(ctx context.Context, runID string) (string, error) {
	src, err := r.api.DescribeInstance(ctx, r.cfg.SourceID)
	if err != nil {
		return "", err
	}
	if src.VpcID == "" {
		return "", fmt.Errorf("fencing %s: it is in no VPC (no DB subnet group), so no security group can fence it", src.ID)
	}
	sg, err := r.api.CreateFenceSecurityGroup(ctx, FenceRequest{RunID: runID, VpcID: src.VpcID, Name: "dbshift-fence-" + runID})
	if err != nil {
		return "", err
	}
	if _, err := r.api.SetSecurityGroups(ctx, src.ID, []string{sg}, r.wait(nil)); err != nil {
		return sg, err
	}
	r.api.log.Info("old source fenced off the network", "instance", src.ID, "security_group", sg)
	return sg, nil
}

// TargetReadOnly is how the cutover opens the target: through the target's
// own parameter group (aws.parameter_group). Without one, the target shares
// the source's group, and nil says the cutover cannot open it.
func (r *RDS) TargetReadOnly(targetID string) *ParameterGroupReadOnly {
	if r.cfg.ParameterGroup == "" {
		return nil
	}
	return &ParameterGroupReadOnly{API: r.api, InstanceID: targetID, Group: r.cfg.ParameterGroup}
}

// SourceReadOnly is the source's read_only through its own parameter group,
// the fence of a cutover without application accounts to lock. It fails
// when the group is a default one (unmodifiable) or shared with another
// instance (read_only would reach it too).
func (r *RDS) SourceReadOnly(ctx context.Context) (*ParameterGroupReadOnly, error) {
	src, err := r.api.DescribeInstance(ctx, r.cfg.SourceID)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(src.ParameterGroup, "default.") {
		return nil, fmt.Errorf("%s uses the default parameter group %s, which cannot be modified: fence it by locking the application accounts (cutover.app_accounts) or give it a custom group of its own", src.ID, src.ParameterGroup)
	}
	users, err := r.api.InstancesUsingParameterGroup(ctx, src.ParameterGroup)
	if err != nil {
		return nil, err
	}
	if others := slices.DeleteFunc(users, func(id string) bool { return id == src.ID }); len(others) > 0 {
		return nil, fmt.Errorf("parameter group %s of %s is also used by %s, which read_only=1 would fence too: lock the application accounts instead (cutover.app_accounts)", src.ParameterGroup, src.ID, strings.Join(others, ", "))
	}
	return &ParameterGroupReadOnly{API: r.api, InstanceID: src.ID, Group: src.ParameterGroup, Timeout: r.cfg.Timeout}, nil
}

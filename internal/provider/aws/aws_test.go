package aws

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/dbshift/dbshift/internal/awsfake"
)

const (
	testKMSKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	testVPC    = "vpc-0fake0000000001"
	testZone   = "Z0FAKEZONE"
)

type env struct {
	fake *awsfake.Server
	p    *Provider
}

// newEnv starts a fake holding the migration source "prod" (unencrypted,
// custom class, subnet group, parameter group and security group) and a
// hosted zone, and a provider pointed at it on the fake's virtual clock.
func newEnv(t *testing.T, mod func(*Config)) env {
	t.Helper()
	f := awsfake.New(awsfake.Options{})
	t.Cleanup(f.Close)
	f.AddSecurityGroup("sg-0app0000000000001", "app-db", testVPC)
	f.AddSubnetGroup("prod-db", testVPC)
	f.AddParameterGroup("prod-mariadb1011", "mariadb10.11", map[string]string{"binlog_format": "ROW"})
	f.AddInstance(awsfake.InstanceSpec{ID: "prod", Class: "db.r6g.xlarge", SubnetGroup: "prod-db",
		ParameterGroup: "prod-mariadb1011", SecurityGroups: []string{"sg-0app0000000000001"}})
	f.AddHostedZone(testZone, "example.internal")
	return env{fake: f, p: newProviderFor(t, f, mod)}
}

var wait = WaitOptions{Timeout: 3 * time.Hour}

func (e env) mustInstanceAvailable(t *testing.T, id string) Instance {
	t.Helper()
	i, err := e.p.WaitInstanceAvailable(context.Background(), id, wait)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return i
}

func (e env) mustSnapshotAvailable(t *testing.T, id string, progress func(Progress)) Snapshot {
	t.Helper()
	s, err := e.p.WaitSnapshotAvailable(context.Background(), id, WaitOptions{Timeout: 3 * time.Hour, Progress: progress})
	if err != nil {
		t.Fatalf("wait snapshot %s: %v", id, err)
	}
	return s
}

func TestRunbook1_ControlPlane(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const run = "run-7f3a"

	// Resources that are not this run's and must survive its cleanup.
	if _, err := e.p.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
		DBInstanceIdentifier: awssdk.String("prod"), DBSnapshotIdentifier: awssdk.String("prod-manual-keep"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.CreateReadReplica(ctx, ReplicaRequest{RunID: "other-run", SourceID: "prod", ReplicaID: "prod-other-replica"}); err != nil {
		t.Fatal(err)
	}

	replica, err := e.p.CreateReadReplica(ctx, ReplicaRequest{RunID: run, SourceID: "prod", ReplicaID: "prod-dbshift-replica"})
	if err != nil {
		t.Fatal(err)
	}
	if replica.Status != "creating" || replica.Address != "" {
		t.Fatalf("new replica: status %q address %q, want creating and no endpoint yet", replica.Status, replica.Address)
	}
	replica = e.mustInstanceAvailable(t, replica.ID)
	if replica.ReplicaSource != "prod" || replica.Address == "" || replica.Class != "db.r6g.xlarge" {
		t.Fatalf("available replica: %+v", replica)
	}

	snap, err := e.p.CreateSnapshot(ctx, SnapshotRequest{RunID: run, InstanceID: replica.ID, SnapshotID: "prod-dbshift-snap"})
	if err != nil {
		t.Fatal(err)
	}
	var percents []int
	snap = e.mustSnapshotAvailable(t, snap.ID, func(pr Progress) { percents = append(percents, pr.Percent) })
	if !slices.IsSorted(percents) || percents[len(percents)-1] != 100 || !slices.ContainsFunc(percents, func(p int) bool { return p > 0 && p < 100 }) {
		t.Fatalf("snapshot progress %v: want increasing, with values strictly between 0 and 100, ending at 100", percents)
	}
	if snap.Encrypted {
		t.Fatal("snapshot of an unencrypted replica reports Encrypted")
	}

	cp, err := e.p.CopySnapshotEncrypted(ctx, CopyRequest{RunID: run, SourceSnapshotID: snap.ID, TargetSnapshotID: "prod-dbshift-snap-enc", KmsKeyID: testKMSKey})
	if err != nil {
		t.Fatal(err)
	}
	cp = e.mustSnapshotAvailable(t, cp.ID, nil)
	if !cp.Encrypted || cp.KmsKeyID != testKMSKey {
		t.Fatalf("copy: encrypted %v key %q", cp.Encrypted, cp.KmsKeyID)
	}

	target, err := e.p.RestoreFromSnapshot(ctx, RestoreRequest{RunID: run, SnapshotID: cp.ID, TargetID: "prod-encrypted", SettingsFrom: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	e.mustInstanceAvailable(t, target.ID)
	target, err = e.p.VerifyEncrypted(ctx, target.ID)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := e.fake.Instance("prod-encrypted")
	if st.Class != "db.r6g.xlarge" || st.SubnetGroup != "prod-db" || st.ParameterGroup != "prod-mariadb1011" ||
		!slices.Equal(st.SecurityGroups, []string{"sg-0app0000000000001"}) || st.KmsKeyID != testKMSKey {
		t.Fatalf("restored target did not get the source's settings: %+v", st)
	}

	source, err := e.p.DescribeInstance(ctx, "prod")
	if err != nil {
		t.Fatal(err)
	}
	fence, err := e.p.CreateFenceSecurityGroup(ctx, FenceRequest{RunID: run, VpcID: source.VpcID, Name: "dbshift-fence-" + run})
	if err != nil {
		t.Fatal(err)
	}
	sg, ok := e.fake.SecurityGroup(fence)
	if !ok || sg.IngressRules != 0 || sg.EgressRules != 0 || sg.VpcID != testVPC {
		t.Fatalf("fence group %s: %+v, want no rules in %s", fence, sg, testVPC)
	}
	if _, err := e.p.SetSecurityGroups(ctx, "prod", []string{fence}, wait); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.fake.Instance("prod"); !slices.Equal(st.SecurityGroups, []string{fence}) || st.Status != "available" {
		t.Fatalf("source after fencing: %+v", st)
	}

	if err := e.p.UpsertCNAME(ctx, CNAMERequest{ZoneID: testZone, Name: "db.example.internal", Target: target.Address, TTL: 5}, wait); err != nil {
		t.Fatal(err)
	}
	if v, ttl, ok := e.fake.Record(testZone, "db.example.internal", "CNAME"); !ok || !slices.Equal(v, []string{target.Address}) || ttl != 5 {
		t.Fatalf("CNAME: %v ttl %d ok %v", v, ttl, ok)
	}
	if got, _, err := e.p.CNAME(ctx, testZone, "db.example.internal"); err != nil || got != target.Address {
		t.Fatalf("CNAME read back %q, %v", got, err)
	}

	found, err := e.p.FindByRunID(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Instances) != 2 || len(found.Snapshots) != 2 || len(found.SecurityGroups) != 1 {
		t.Fatalf("found by run id: %+v", found)
	}

	del, err := e.p.DeleteRunResources(ctx, run, []Role{RoleReplica, RoleSnapshot, RoleEncryptedCopy}, wait)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(del.Instances, []string{"prod-dbshift-replica"}) ||
		!slices.Equal(del.Snapshots, []string{"prod-dbshift-snap", "prod-dbshift-snap-enc"}) || len(del.SecurityGroups) != 0 {
		t.Fatalf("deleted %+v", del)
	}
	if got := e.fake.InstanceIDs(); !slices.Equal(got, []string{"prod", "prod-encrypted", "prod-other-replica"}) {
		t.Fatalf("instances left: %v", got)
	}
	if got := e.fake.SnapshotIDs(); !slices.Equal(got, []string{"prod-manual-keep"}) {
		t.Fatalf("snapshots left: %v", got)
	}
	if _, ok := e.fake.SecurityGroup(fence); !ok {
		t.Fatal("cleanup deleted the fence, which guards the old source")
	}
}

func TestDeleteRunResources_AbortRemovesEverythingOfTheRun(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const run = "run-abort"
	r, err := e.p.CreateReadReplica(ctx, ReplicaRequest{RunID: run, SourceID: "prod", ReplicaID: "prod-r"})
	if err != nil {
		t.Fatal(err)
	}
	fence, err := e.p.CreateFenceSecurityGroup(ctx, FenceRequest{RunID: run, VpcID: testVPC, Name: "fence-" + run})
	if err != nil {
		t.Fatal(err)
	}
	// Abort while the replica is still creating.
	del, err := e.p.DeleteRunResources(ctx, run, []Role{RoleReplica, RoleSnapshot, RoleEncryptedCopy, RoleTarget, RoleFence}, wait)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(del.Instances, []string{r.ID}) || !slices.Equal(del.SecurityGroups, []string{fence}) {
		t.Fatalf("deleted %+v", del)
	}
	if got := e.fake.InstanceIDs(); !slices.Equal(got, []string{"prod"}) {
		t.Fatalf("instances left: %v", got)
	}
	// Twice is fine: abort itself can be interrupted and re-run.
	if _, err := e.p.DeleteRunResources(ctx, run, []Role{RoleReplica, RoleFence}, wait); err != nil {
		t.Fatal(err)
	}
}

func TestCreateReadReplica_NameTakenByAnotherRun(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.p.CreateReadReplica(ctx, ReplicaRequest{RunID: "a", SourceID: "prod", ReplicaID: "prod-r"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.p.CreateReadReplica(ctx, ReplicaRequest{RunID: "b", SourceID: "prod", ReplicaID: "prod-r"})
	if !errors.Is(err, ErrNotOurs) {
		t.Fatalf("err = %v, want ErrNotOurs", err)
	}
	// The same run asking again adopts its replica without a second create.
	if _, err := e.p.CreateReadReplica(ctx, ReplicaRequest{RunID: "a", SourceID: "prod", ReplicaID: "prod-r"}); err != nil {
		t.Fatal(err)
	}
	if n := e.fake.CallCount("CreateDBInstanceReadReplica"); n != 1 {
		t.Fatalf("CreateDBInstanceReadReplica called %d times, want 1", n)
	}
}

func TestProvider_ThrottlingIsRetried(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.fake.Throttle("CreateDBInstanceReadReplica", 3)
	e.fake.Throttle("DescribeDBInstances", 4)
	r, err := e.p.CreateReadReplica(ctx, ReplicaRequest{RunID: "run", SourceID: "prod", ReplicaID: "prod-r"})
	if err != nil {
		t.Fatal(err)
	}
	e.mustInstanceAvailable(t, r.ID)
	throttled := 0
	for _, c := range e.fake.Calls() {
		if c.Error == "Throttling" {
			throttled++
		}
	}
	if throttled != 7 || e.fake.CallCount("CreateDBInstanceReadReplica") != 1 {
		t.Fatalf("throttled %d calls (want 7), creates %d (want 1)", throttled, e.fake.CallCount("CreateDBInstanceReadReplica"))
	}
}

func TestProvider_ThrottlingBeyondRetriesSurfaces(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RetryMaxAttempts = 2 })
	e.fake.Throttle("CreateDBSnapshot", 5)
	_, err := e.p.CreateSnapshot(context.Background(), SnapshotRequest{RunID: "run", InstanceID: "prod", SnapshotID: "s"})
	if errorCode(err) != "Throttling" {
		t.Fatalf("err = %v, want the Throttling code", err)
	}
}

func TestRestoreFromSnapshot_RestoreFails(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const run = "run-fail"
	snap, err := e.p.CreateSnapshot(ctx, SnapshotRequest{RunID: run, InstanceID: "prod", SnapshotID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	e.mustSnapshotAvailable(t, snap.ID, nil)
	e.fake.InjectEffect("RestoreDBInstanceFromDBSnapshot", awsfake.Fail)
	target, err := e.p.RestoreFromSnapshot(ctx, RestoreRequest{RunID: run, SnapshotID: snap.ID, TargetID: "t1", SettingsFrom: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	i, err := e.p.WaitInstanceAvailable(ctx, target.ID, wait)
	if !errors.Is(err, ErrFailed) || i.Status != "incompatible-restore" {
		t.Fatalf("wait = %v, status %q; want ErrFailed, incompatible-restore", err, i.Status)
	}
	if _, err := e.p.DeleteRunResources(ctx, run, []Role{RoleTarget, RoleSnapshot}, wait); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.InstanceIDs(); !slices.Equal(got, []string{"prod"}) {
		t.Fatalf("instances left: %v", got)
	}
}

func TestCopySnapshotEncrypted_StallTimesOut(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	snap, err := e.p.CreateSnapshot(ctx, SnapshotRequest{RunID: "run", InstanceID: "prod", SnapshotID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	e.mustSnapshotAvailable(t, snap.ID, nil)
	e.fake.InjectEffect("CopyDBSnapshot", awsfake.Stall)
	cp, err := e.p.CopySnapshotEncrypted(ctx, CopyRequest{RunID: "run", SourceSnapshotID: snap.ID, TargetSnapshotID: "s1-enc", KmsKeyID: testKMSKey})
	if err != nil {
		t.Fatal(err)
	}
	start := e.fake.Clock().Now()
	var last Progress
	_, err = e.p.WaitSnapshotAvailable(ctx, cp.ID, WaitOptions{Timeout: 2 * time.Hour, Progress: func(p Progress) { last = p }})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if waited := e.fake.Clock().Now().Sub(start); waited < 2*time.Hour || waited > 2*time.Hour+time.Minute {
		t.Fatalf("gave up after %s of virtual time, want 2h", waited)
	}
	if last.Status != "creating" || last.Percent != 42 {
		t.Fatalf("last progress %+v, want creating at 42%%", last)
	}
	// Abort: deleting a snapshot being copied cancels the copy.
	del, err := e.p.DeleteRunResources(ctx, "run", []Role{RoleSnapshot, RoleEncryptedCopy}, WaitOptions{Timeout: time.Hour})
	if err != nil || !slices.Equal(del.Snapshots, []string{"s1", "s1-enc"}) || len(e.fake.SnapshotIDs()) != 0 {
		t.Fatalf("abort of a stalled copy: deleted %+v, %v; left %v", del, err, e.fake.SnapshotIDs())
	}
}

func TestCopySnapshotEncrypted_ResumeFindsCopyByTag(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const run = "run-crash"
	snap, err := e.p.CreateSnapshot(ctx, SnapshotRequest{RunID: run, InstanceID: "prod", SnapshotID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	e.mustSnapshotAvailable(t, snap.ID, nil)
	first, err := e.p.CopySnapshotEncrypted(ctx, CopyRequest{RunID: run, SourceSnapshotID: snap.ID, TargetSnapshotID: "s1-enc-0001", KmsKeyID: testKMSKey})
	if err != nil {
		t.Fatal(err)
	}
	// The process dies here, before the journal records the copy's name; a
	// new process resumes with a freshly derived name.
	e.fake.Advance(3 * time.Minute)
	resumed := newProviderFor(t, e.fake, nil)
	again, err := resumed.CopySnapshotEncrypted(ctx, CopyRequest{RunID: run, SourceSnapshotID: snap.ID, TargetSnapshotID: "s1-enc-0002", KmsKeyID: testKMSKey})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Status != "creating" || again.PercentProgress == 0 {
		t.Fatalf("resume got %+v, want the copy %s already under way", again, first.ID)
	}
	if n := e.fake.CallCount("CopyDBSnapshot"); n != 1 {
		t.Fatalf("CopyDBSnapshot called %d times, want 1", n)
	}
	if _, err := resumed.WaitSnapshotAvailable(ctx, again.ID, wait); err != nil {
		t.Fatal(err)
	}
}

func TestCopySnapshotEncrypted_NeedsKMSKey(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.p.CopySnapshotEncrypted(context.Background(), CopyRequest{RunID: "r", SourceSnapshotID: "s", TargetSnapshotID: "t"})
	if !errors.Is(err, ErrKMSKeyRequired) {
		t.Fatalf("err = %v, want ErrKMSKeyRequired", err)
	}
}

func TestVerifyEncrypted_UnencryptedSourceFails(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.p.VerifyEncrypted(context.Background(), "prod"); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("err = %v, want ErrNotEncrypted", err)
	}
}

func TestUpsertCNAME_StalledChangeTimesOut(t *testing.T) {
	e := newEnv(t, nil)
	e.fake.StallDNSChanges(true)
	err := e.p.UpsertCNAME(context.Background(), CNAMERequest{ZoneID: testZone, Name: "db.example.internal", Target: "x.example"}, WaitOptions{Timeout: 10 * time.Minute})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

func TestParameters_ReadOnlyFenceApplied(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.p.ModifyParameters(ctx, "prod-mariadb1011", []Param{{Name: "read_only", Value: "1", Immediate: true}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.fake.Instance("prod"); st.ParameterApplyStatus != "applying" {
		t.Fatalf("apply status right after the change: %q", st.ParameterApplyStatus)
	}
	i, err := e.p.WaitParametersInSync(ctx, "prod", wait)
	if err != nil || i.ParameterApplyStatus != "in-sync" {
		t.Fatalf("wait: %v, %q", err, i.ParameterApplyStatus)
	}
	got, err := e.p.Parameters(ctx, "prod-mariadb1011")
	if err != nil || got["read_only"] != "1" || got["binlog_format"] != "ROW" {
		t.Fatalf("parameters %v, %v", got, err)
	}
}

// A change waiting for a reboot keeps the instance pending-reboot, as on
// RDS: a later immediate change does not make it in-sync.
func TestParameters_PendingRebootStaysPending(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.p.ModifyParameters(ctx, "prod-mariadb1011", []Param{{Name: "max_connections", Value: "500"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.p.ModifyParameters(ctx, "prod-mariadb1011", []Param{{Name: "innodb_buffer_pool_size", Value: "536870912", Immediate: true}}); err != nil {
		t.Fatal(err)
	}
	e.fake.Advance(time.Hour)
	i, err := e.p.WaitParametersInSync(ctx, "prod", wait)
	if !errors.Is(err, ErrFailed) || i.ParameterApplyStatus != "pending-reboot" {
		t.Fatalf("wait: %v, %q; want ErrFailed on pending-reboot", err, i.ParameterApplyStatus)
	}
}

func TestInstancesUsingParameterGroup_AcrossPages(t *testing.T) {
	f := awsfake.New(awsfake.Options{PageSize: 2})
	t.Cleanup(f.Close)
	f.AddParameterGroup("shared", "mariadb10.11", nil)
	f.AddParameterGroup("other", "mariadb10.11", nil)
	for _, id := range []string{"a", "b", "c", "d"} {
		g := "shared"
		if id == "c" {
			g = "other"
		}
		f.AddInstance(awsfake.InstanceSpec{ID: id, ParameterGroup: g})
	}
	got, err := newProviderFor(t, f, nil).InstancesUsingParameterGroup(context.Background(), "shared")
	if err != nil || !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Fatalf("got %v, %v; want [a b d]", got, err)
	}
	if n := f.CallCount("DescribeDBInstances"); n != 2 {
		t.Errorf("%d DescribeDBInstances pages, want 2", n)
	}
}

// newProviderFor is a fresh provider (a new dbshift process) on the fake:
// static credentials, the fake's clock, fast SDK retry backoff.
func newProviderFor(t testing.TB, f *awsfake.Server, mod func(*Config)) *Provider {
	t.Helper()
	// Keep the SDK away from the developer's ~/.aws and AWS_* settings.
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
	c := Config{
		Region:          "us-east-1",
		Endpoint:        f.URL(),
		Credentials:     credentials.NewStaticCredentialsProvider("AKIDFAKEFAKEFAKE", "fake-secret", ""),
		Clock:           f.Clock(),
		PollMin:         5 * time.Second,
		PollMax:         30 * time.Second,
		RetryMaxBackoff: time.Millisecond,
	}
	if mod != nil {
		mod(&c)
	}
	p, err := New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBlueGreen_CreateAdoptSwitchoverDelete(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	req := BlueGreenRequest{RunID: "run-bg", Name: "prod-to-11-4", SourceID: "prod", TargetEngineVersion: "11.4.3"}
	bg, err := e.p.CreateBlueGreen(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.WaitBlueGreen(ctx, bg.ID, "AVAILABLE", wait); err != nil {
		t.Fatal(err)
	}
	again, err := e.p.CreateBlueGreen(ctx, req)
	if err != nil || again.ID != bg.ID || e.fake.CallCount("CreateBlueGreenDeployment") != 1 {
		t.Fatalf("second create: %+v %v, %d creates", again, err, e.fake.CallCount("CreateBlueGreenDeployment"))
	}
	if _, err := e.p.CreateBlueGreen(ctx, BlueGreenRequest{RunID: "other", Name: req.Name, SourceID: "prod"}); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("another run's deployment: %v", err)
	}
	done, err := e.p.SwitchoverBlueGreen(ctx, bg.ID, 5*time.Minute, wait)
	if err != nil || done.Status != "SWITCHOVER_COMPLETED" {
		t.Fatalf("switchover: %+v %v", done, err)
	}
	prod, err := e.p.DescribeInstance(ctx, "prod")
	if err != nil || prod.EngineVersion != "11.4.3" {
		t.Fatalf("prod after switchover: %+v %v", prod, err)
	}
	if err := e.p.DeleteBlueGreen(ctx, bg.ID, false); err != nil {
		t.Fatal(err)
	}
}

func TestBlueGreen_SwitchoverFails(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.fake.InjectEffect("CreateBlueGreenDeployment", awsfake.Fail)
	bg, err := e.p.CreateBlueGreen(ctx, BlueGreenRequest{RunID: "r", Name: "bg", SourceID: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.WaitBlueGreen(ctx, bg.ID, "AVAILABLE", wait); err != nil {
		t.Fatal(err)
	}
	got, err := e.p.SwitchoverBlueGreen(ctx, bg.ID, time.Minute, wait)
	if !errors.Is(err, ErrFailed) || got.Status != "SWITCHOVER_FAILED" {
		t.Fatalf("switchover: %+v %v", got, err)
	}
	if prod, _ := e.p.DescribeInstance(ctx, "prod"); prod.EngineVersion != "10.11.8" {
		t.Fatalf("prod changed by a failed switchover: %+v", prod)
	}
}

func TestDeleteRunResources_WaitsOutAModifyingInstance(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	r, err := e.p.CreateReadReplica(ctx, ReplicaRequest{RunID: "run-m", SourceID: "prod", ReplicaID: "prod-r"})
	if err != nil {
		t.Fatal(err)
	}
	e.mustInstanceAvailable(t, r.ID)
	if _, err := e.p.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: awssdk.String(r.ID),
		DBInstanceClass: awssdk.String("db.r6g.2xlarge"), ApplyImmediately: awssdk.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	del, err := e.p.DeleteRunResources(ctx, "run-m", []Role{RoleReplica}, wait)
	if err != nil || !slices.Equal(del.Instances, []string{r.ID}) {
		t.Fatalf("deleted %+v, %v", del, err)
	}
	refused := 0
	for _, c := range e.fake.Calls() {
		if c.Action == "DeleteDBInstance" && c.Error == "InvalidDBInstanceState" {
			refused++
		}
	}
	if refused != 1 || !slices.Equal(e.fake.InstanceIDs(), []string{"prod"}) {
		t.Fatalf("refused %d deletes (want 1 while modifying); instances left %v", refused, e.fake.InstanceIDs())
	}
}

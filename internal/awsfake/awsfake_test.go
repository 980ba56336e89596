package awsfake_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/dbshift/dbshift/internal/awsfake"
)

type clients struct {
	fake *awsfake.Server
	rds  *rds.Client
	ec2  *ec2.Client
	r53  *route53.Client
}

// newClients starts a fake with an available "prod" and the real SDK
// clients pointed at it, with retries off so every error is seen as sent.
func newClients(t *testing.T) clients {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	f := awsfake.New(awsfake.Options{PageSize: 2})
	t.Cleanup(f.Close)
	f.AddInstance(awsfake.InstanceSpec{ID: "prod"})
	f.AddHostedZone("ZFAKE", "example.internal")
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", "")),
		config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	ep := awssdk.String(f.URL())
	return clients{
		fake: f,
		rds:  rds.NewFromConfig(cfg, func(o *rds.Options) { o.BaseEndpoint = ep }),
		ec2:  ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = ep }),
		r53:  route53.NewFromConfig(cfg, func(o *route53.Options) { o.BaseEndpoint = ep }),
	}
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestRDS_ErrorCodesAreTheAPIs(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	_, err := c.rds.CreateDBInstanceReadReplica(ctx, &rds.CreateDBInstanceReadReplicaInput{
		DBInstanceIdentifier: awssdk.String("prod"), SourceDBInstanceIdentifier: awssdk.String("prod")})
	var exists *rdstypes.DBInstanceAlreadyExistsFault
	if !errors.As(err, &exists) {
		t.Fatalf("replica named like an existing instance: %v, want DBInstanceAlreadyExistsFault", err)
	}
	_, err = c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: awssdk.String("nope")})
	var nf *rdstypes.DBInstanceNotFoundFault
	if !errors.As(err, &nf) {
		t.Fatalf("describe missing: %v, want DBInstanceNotFoundFault", err)
	}
	_, err = c.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: awssdk.String("nope")})
	var snf *rdstypes.DBSnapshotNotFoundFault
	if !errors.As(err, &snf) {
		t.Fatalf("describe missing snapshot: %v, want DBSnapshotNotFoundFault", err)
	}
	if _, err := c.rds.CreateDBInstanceReadReplica(ctx, &rds.CreateDBInstanceReadReplicaInput{
		DBInstanceIdentifier: awssdk.String("r1"), SourceDBInstanceIdentifier: awssdk.String("prod")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.rds.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: awssdk.String("r1"),
		DBInstanceClass: awssdk.String("db.r6g.2xlarge"), ApplyImmediately: awssdk.Bool(true)})
	var state *rdstypes.InvalidDBInstanceStateFault
	if !errors.As(err, &state) {
		t.Fatalf("modify while creating: %v, want InvalidDBInstanceStateFault", err)
	}
	c.fake.Throttle("DescribeDBInstances", 1)
	_, err = c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	var re *awssdk.RequestCanceledError
	if code(err) != "Throttling" || errors.As(err, &re) {
		t.Fatalf("throttled: %v, want code Throttling", err)
	}
	c.fake.InjectError("DeleteDBSnapshot", "InternalFailure", "boom", 1)
	_, err = c.rds.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: awssdk.String("x")})
	var he interface{ HTTPStatusCode() int }
	if code(err) != "InternalFailure" || !errors.As(err, &he) || he.HTTPStatusCode() != http.StatusInternalServerError {
		t.Fatalf("injected 500: %v", err)
	}
}

func TestRDS_SDKWaitersReadTheFakesShapes(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	if _, err := c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
		DBInstanceIdentifier: awssdk.String("prod"), DBSnapshotIdentifier: awssdk.String("s1")}); err != nil {
		t.Fatal(err)
	}
	c.fake.Advance(time.Hour)
	// The waiters' first poll sees the final state, so no wall-clock delay.
	if err := rds.NewDBInstanceAvailableWaiter(c.rds).Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: awssdk.String("prod")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := rds.NewDBSnapshotAvailableWaiter(c.rds).Wait(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: awssdk.String("s1")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := c.rds.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: awssdk.String("s1")}); err != nil {
		t.Fatal(err)
	}
	if err := rds.NewDBSnapshotDeletedWaiter(c.rds).Wait(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: awssdk.String("s1")}, time.Minute); err != nil {
		t.Fatal(err)
	}
}

func TestRDS_SnapshotProgressCopyAndRestoreEncryption(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	out, err := c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
		DBInstanceIdentifier: awssdk.String("prod"), DBSnapshotIdentifier: awssdk.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.DBSnapshot.Status != "creating" || *out.DBSnapshot.PercentProgress != 0 {
		t.Fatalf("new snapshot %s %d%%", *out.DBSnapshot.Status, *out.DBSnapshot.PercentProgress)
	}
	c.fake.Advance(awsfake.DefaultDurations().Snapshot / 2)
	d, err := c.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: awssdk.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	if p := *d.DBSnapshots[0].PercentProgress; p != 50 {
		t.Fatalf("half way: %d%%", p)
	}
	_, err = c.rds.CopyDBSnapshot(ctx, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: awssdk.String("s1"),
		TargetDBSnapshotIdentifier: awssdk.String("s1-enc"), KmsKeyId: awssdk.String("alias/dbshift")})
	if code(err) != "InvalidDBSnapshotState" {
		t.Fatalf("copy of a creating snapshot: %v", err)
	}
	c.fake.Advance(time.Hour)
	cp, err := c.rds.CopyDBSnapshot(ctx, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: awssdk.String("arn:aws:rds:us-east-1:123456789012:snapshot:s1"),
		TargetDBSnapshotIdentifier: awssdk.String("s1-enc"), KmsKeyId: awssdk.String("alias/dbshift"),
		Tags: []rdstypes.Tag{{Key: awssdk.String("k"), Value: awssdk.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	if !*cp.DBSnapshot.Encrypted || *cp.DBSnapshot.KmsKeyId != "alias/dbshift" || len(cp.DBSnapshot.TagList) != 1 {
		t.Fatalf("copy: %+v", cp.DBSnapshot)
	}
	c.fake.Advance(time.Hour)
	r, err := c.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: awssdk.String("t1"), DBSnapshotIdentifier: awssdk.String("s1-enc")})
	if err != nil {
		t.Fatal(err)
	}
	if !*r.DBInstance.StorageEncrypted || r.DBInstance.Endpoint != nil {
		t.Fatalf("restored: encrypted %v endpoint %v", *r.DBInstance.StorageEncrypted, r.DBInstance.Endpoint)
	}
	// RDS's defaults, not the source's: the caller must pass those.
	if *r.DBInstance.DBParameterGroups[0].DBParameterGroupName != "default.mariadb10.11" ||
		*r.DBInstance.DBSubnetGroup.DBSubnetGroupName != "default" {
		t.Fatalf("restore defaults: %+v", r.DBInstance)
	}
}

func TestRDS_PaginationTagsAndFilters(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		c.fake.AddInstance(awsfake.InstanceSpec{ID: id, Engine: "mysql", EngineVersion: "8.0.39"})
	}
	var ids []string
	pages := rds.NewDescribeDBInstancesPaginator(c.rds, &rds.DescribeDBInstancesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.DBInstances) > 2 {
			t.Fatalf("page of %d with PageSize 2", len(page.DBInstances))
		}
		for _, i := range page.DBInstances {
			ids = append(ids, *i.DBInstanceIdentifier)
		}
	}
	if !slices.Equal(ids, []string{"a", "b", "c", "prod"}) {
		t.Fatalf("paged ids %v", ids)
	}
	out, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{Filters: []rdstypes.Filter{{Name: awssdk.String("engine"), Values: []string{"mariadb"}}}})
	if err != nil || len(out.DBInstances) != 1 || *out.DBInstances[0].DBInstanceIdentifier != "prod" {
		t.Fatalf("engine filter: %v %v", out, err)
	}
	arn := *out.DBInstances[0].DBInstanceArn
	if _, err := c.rds.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: &arn,
		Tags: []rdstypes.Tag{{Key: awssdk.String("team"), Value: awssdk.String("db")}}}); err != nil {
		t.Fatal(err)
	}
	tl, err := c.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: &arn})
	if err != nil || len(tl.TagList) != 1 || *tl.TagList[0].Value != "db" {
		t.Fatalf("tags: %v %v", tl, err)
	}
	_, err = c.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: awssdk.String("arn:aws:rds:us-east-1:123456789012:db:gone")})
	if code(err) != "DBInstanceNotFound" {
		t.Fatalf("tags of a missing instance: %v", err)
	}
}

func TestRDS_BlueGreenLifecycle(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	c.fake.AddParameterGroup("mariadb1011-green", "mariadb10.11", nil)
	out, err := c.rds.CreateBlueGreenDeployment(ctx, &rds.CreateBlueGreenDeploymentInput{
		BlueGreenDeploymentName: awssdk.String("upgrade"), Source: awssdk.String("arn:aws:rds:us-east-1:123456789012:db:prod"),
		TargetEngineVersion: awssdk.String("11.4.3"), TargetDBParameterGroupName: awssdk.String("mariadb1011-green")})
	if err != nil {
		t.Fatal(err)
	}
	id := out.BlueGreenDeployment.BlueGreenDeploymentIdentifier
	if *out.BlueGreenDeployment.Status != "PROVISIONING" {
		t.Fatalf("status %s", *out.BlueGreenDeployment.Status)
	}
	_, err = c.rds.SwitchoverBlueGreenDeployment(ctx, &rds.SwitchoverBlueGreenDeploymentInput{BlueGreenDeploymentIdentifier: id})
	var bad *rdstypes.InvalidBlueGreenDeploymentStateFault
	if !errors.As(err, &bad) {
		t.Fatalf("switchover while provisioning: %v", err)
	}
	c.fake.Advance(time.Hour)
	d, err := c.rds.DescribeBlueGreenDeployments(ctx, &rds.DescribeBlueGreenDeploymentsInput{BlueGreenDeploymentIdentifier: id})
	if err != nil || *d.BlueGreenDeployments[0].Status != "AVAILABLE" {
		t.Fatalf("after an hour: %v %v", d, err)
	}
	green := strings.TrimPrefix(*d.BlueGreenDeployments[0].Target, "arn:aws:rds:us-east-1:123456789012:db:")
	if st, _ := c.fake.Instance(green); st.ReplicaSource != "prod" || st.ParameterGroup != "mariadb1011-green" {
		t.Fatalf("green %s: %+v", green, st)
	}
	greenHost := func() string { st, _ := c.fake.Instance(green); return st.Host }()
	if _, err := c.rds.SwitchoverBlueGreenDeployment(ctx, &rds.SwitchoverBlueGreenDeploymentInput{BlueGreenDeploymentIdentifier: id}); err != nil {
		t.Fatal(err)
	}
	c.fake.Advance(5 * time.Minute)
	d, err = c.rds.DescribeBlueGreenDeployments(ctx, &rds.DescribeBlueGreenDeploymentsInput{
		Filters: []rdstypes.Filter{{Name: awssdk.String("blue-green-deployment-name"), Values: []string{"upgrade"}}}})
	if err != nil || *d.BlueGreenDeployments[0].Status != "SWITCHOVER_COMPLETED" {
		t.Fatalf("after switchover: %v %v", d, err)
	}
	// The name "prod" now answers with green's server.
	if st, _ := c.fake.Instance("prod"); st.Host != greenHost || st.ReplicaSource != "" {
		t.Fatalf("prod after switchover: %+v, want green's endpoint %s", st, greenHost)
	}
	if _, ok := c.fake.Instance("prod-old1"); !ok {
		t.Fatal("old blue not renamed prod-old1")
	}
	_, err = c.rds.DeleteBlueGreenDeployment(ctx, &rds.DeleteBlueGreenDeploymentInput{BlueGreenDeploymentIdentifier: id, DeleteTarget: awssdk.Bool(true)})
	if code(err) != "InvalidParameterCombination" {
		t.Fatalf("delete target after switchover: %v", err)
	}
	if _, err := c.rds.DeleteBlueGreenDeployment(ctx, &rds.DeleteBlueGreenDeploymentInput{BlueGreenDeploymentIdentifier: id}); err != nil {
		t.Fatal(err)
	}
	c.fake.Advance(5 * time.Minute)
	_, err = c.rds.DescribeBlueGreenDeployments(ctx, &rds.DescribeBlueGreenDeploymentsInput{BlueGreenDeploymentIdentifier: id})
	var nf *rdstypes.BlueGreenDeploymentNotFoundFault
	if !errors.As(err, &nf) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestRDS_ParameterGroups(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	_, err := c.rds.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{DBParameterGroupName: awssdk.String("missing"),
		Parameters: []rdstypes.Parameter{{ParameterName: awssdk.String("read_only"), ParameterValue: awssdk.String("1"), ApplyMethod: rdstypes.ApplyMethodImmediate}}})
	var nf *rdstypes.DBParameterGroupNotFoundFault
	if !errors.As(err, &nf) {
		t.Fatalf("modify missing group: %v", err)
	}
	c.fake.AddParameterGroup("custom", "mariadb10.11", nil)
	if _, err := c.rds.ModifyDBParameterGroup(ctx, &rds.ModifyDBParameterGroupInput{DBParameterGroupName: awssdk.String("custom"),
		Parameters: []rdstypes.Parameter{{ParameterName: awssdk.String("read_only"), ParameterValue: awssdk.String("1"), ApplyMethod: rdstypes.ApplyMethodImmediate}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.rds.DescribeDBParameters(ctx, &rds.DescribeDBParametersInput{DBParameterGroupName: awssdk.String("custom"), Source: awssdk.String("user")})
	if err != nil || len(out.Parameters) != 1 || *out.Parameters[0].ParameterName != "read_only" || *out.Parameters[0].ParameterValue != "1" {
		t.Fatalf("user parameters: %+v %v", out, err)
	}
	// Reset read_only to the engine's default: no longer set by the user.
	if _, err := c.rds.ResetDBParameterGroup(ctx, &rds.ResetDBParameterGroupInput{DBParameterGroupName: awssdk.String("custom"),
		Parameters: []rdstypes.Parameter{{ParameterName: awssdk.String("read_only"), ApplyMethod: rdstypes.ApplyMethodImmediate}}}); err != nil {
		t.Fatal(err)
	}
	out, err = c.rds.DescribeDBParameters(ctx, &rds.DescribeDBParametersInput{DBParameterGroupName: awssdk.String("custom"), Source: awssdk.String("user")})
	if err != nil || len(out.Parameters) != 0 {
		t.Fatalf("user parameters after the reset: %+v %v", out, err)
	}
	if _, ok := c.fake.ParameterValue("custom", "read_only"); ok {
		t.Error("read_only still set in the group after the reset")
	}
	_, err = c.rds.ResetDBParameterGroup(ctx, &rds.ResetDBParameterGroupInput{DBParameterGroupName: awssdk.String("custom")})
	if code(err) != "InvalidParameterCombination" {
		t.Errorf("reset with neither ResetAllParameters nor Parameters: %v", err)
	}
}

func TestEC2_SecurityGroups(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	out, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("fence"),
		Description: awssdk.String("deny all"), VpcId: awssdk.String("vpc-0fake0000000001"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags: []ec2types.Tag{{Key: awssdk.String("dbshift:run-id"), Value: awssdk.String("r1")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("fence"),
		Description: awssdk.String("again"), VpcId: awssdk.String("vpc-0fake0000000001")})
	if code(err) != "InvalidGroup.Duplicate" {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{*out.GroupId},
		Tags: []ec2types.Tag{{Key: awssdk.String("Name"), Value: awssdk.String("fence")}}}); err != nil {
		t.Fatal(err)
	}
	d, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: awssdk.String("tag:dbshift:run-id"), Values: []string{"r1"}}}})
	if err != nil || len(d.SecurityGroups) != 1 || len(d.SecurityGroups[0].Tags) != 2 || len(d.SecurityGroups[0].IpPermissionsEgress) != 1 {
		t.Fatalf("describe by tag: %+v %v", d, err)
	}
	if _, err := c.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: out.GroupId,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: awssdk.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.fake.SecurityGroup(*out.GroupId); st.EgressRules != 0 {
		t.Fatalf("egress left: %d", st.EgressRules)
	}
	if _, err := c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: out.GroupId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*out.GroupId}})
	if code(err) != "InvalidGroup.NotFound" {
		t.Fatalf("describe deleted: %v", err)
	}
	c.fake.Throttle("DescribeSecurityGroups", 1)
	if _, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{}); code(err) != "RequestLimitExceeded" {
		t.Fatalf("throttled: %v", err)
	}
}

func TestRoute53_UpsertGetChangeList(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	upsert := func(target string) string {
		t.Helper()
		out, err := c.r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: awssdk.String("/hostedzone/ZFAKE"),
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert,
				ResourceRecordSet: &r53types.ResourceRecordSet{Name: awssdk.String("db.example.internal"), Type: r53types.RRTypeCname,
					TTL: awssdk.Int64(5), ResourceRecords: []r53types.ResourceRecord{{Value: awssdk.String(target)}}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if out.ChangeInfo.Status != r53types.ChangeStatusPending {
			t.Fatalf("new change %s", out.ChangeInfo.Status)
		}
		return *out.ChangeInfo.Id
	}
	upsert("old.example")
	id := upsert("new.example")
	c.fake.Advance(time.Minute)
	g, err := c.r53.GetChange(ctx, &route53.GetChangeInput{Id: &id})
	if err != nil || g.ChangeInfo.Status != r53types.ChangeStatusInsync {
		t.Fatalf("GetChange %v %v", g, err)
	}
	l, err := c.r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: awssdk.String("ZFAKE")})
	if err != nil || len(l.ResourceRecordSets) != 1 || *l.ResourceRecordSets[0].ResourceRecords[0].Value != "new.example" {
		t.Fatalf("list %+v %v", l, err)
	}
	_, err = c.r53.GetChange(ctx, &route53.GetChangeInput{Id: awssdk.String("CNOPE")})
	var nc *r53types.NoSuchChange
	if !errors.As(err, &nc) {
		t.Fatalf("missing change: %v", err)
	}
	_, err = c.r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: awssdk.String("ZNOPE")})
	var nz *r53types.NoSuchHostedZone
	if !errors.As(err, &nz) {
		t.Fatalf("missing zone: %v", err)
	}
}

func TestFake_RejectsUnsignedRequests(t *testing.T) {
	c := newClients(t)
	resp, err := http.Post(c.fake.URL(), "application/x-www-form-urlencoded", strings.NewReader("Action=DescribeDBInstances&Version=2014-10-31"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned request: %d", resp.StatusCode)
	}
}

func TestBacking_ToldWhereEachInstanceComesFrom(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	var got []awsfake.Backing
	var snaps []awsfake.SnapshotBacking
	c.fake.SetSnapshotFunc(func(b awsfake.SnapshotBacking) { snaps = append(snaps, b) })
	c.fake.SetBackingFunc(func(b awsfake.Backing) (string, int, bool) {
		got = append(got, b)
		return "127.0.0.1", 40000 + len(got), true
	})
	if _, err := c.rds.CreateDBInstanceReadReplica(ctx, &rds.CreateDBInstanceReadReplicaInput{
		DBInstanceIdentifier: awssdk.String("r1"), SourceDBInstanceIdentifier: awssdk.String("prod")}); err != nil {
		t.Fatal(err)
	}
	c.fake.Advance(time.Hour)
	if _, err := c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: awssdk.String("r1"), DBSnapshotIdentifier: awssdk.String("s1")}); err != nil {
		t.Fatal(err)
	}
	c.fake.Advance(time.Hour)
	if _, err := c.rds.CopyDBSnapshot(ctx, &rds.CopyDBSnapshotInput{SourceDBSnapshotIdentifier: awssdk.String("s1"),
		TargetDBSnapshotIdentifier: awssdk.String("s1-enc"), KmsKeyId: awssdk.String("alias/dbshift")}); err != nil {
		t.Fatal(err)
	}
	c.fake.Advance(time.Hour)
	if _, err := c.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: awssdk.String("t1"), DBSnapshotIdentifier: awssdk.String("s1-enc")}); err != nil {
		t.Fatal(err)
	}
	c.fake.Advance(time.Hour)
	d, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: awssdk.String("t1")})
	if err != nil {
		t.Fatal(err)
	}
	if ep := d.DBInstances[0].Endpoint; ep == nil || *ep.Address != "127.0.0.1" || *ep.Port != 40002 {
		t.Fatalf("t1 endpoint %+v", ep)
	}
	want := []awsfake.Backing{
		{InstanceID: "r1", Kind: "read-replica", SourceInstanceID: "prod"},
		{InstanceID: "t1", Kind: "restore", SourceInstanceID: "r1", SnapshotID: "s1-enc", Encrypted: true},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("backing requests %+v, want %+v", got, want)
	}
	wantSnaps := []awsfake.SnapshotBacking{
		{SnapshotID: "s1", InstanceID: "r1"},
		{SnapshotID: "s1-enc", InstanceID: "r1", SourceSnapshotID: "s1", Encrypted: true, KmsKeyID: "alias/dbshift"},
	}
	if !slices.Equal(snaps, wantSnaps) {
		t.Fatalf("snapshot hooks %+v, want %+v", snaps, wantSnaps)
	}
}

// TestRDS_BlueGreenSwitchoverRenamesBlueToTheFirstFreeOldN: RDS renames the
// old blue <name>-oldN with the first N whose name is free.
func TestRDS_BlueGreenSwitchoverRenamesBlueToTheFirstFreeOldN(t *testing.T) {
	c := newClients(t)
	ctx := context.Background()
	c.fake.AddInstance(awsfake.InstanceSpec{ID: "prod-old1", EngineVersion: "10.11.8"})
	out, err := c.rds.CreateBlueGreenDeployment(ctx, &rds.CreateBlueGreenDeploymentInput{
		BlueGreenDeploymentName: awssdk.String("upgrade"), Source: awssdk.String("arn:aws:rds:us-east-1:123456789012:db:prod")})
	if err != nil {
		t.Fatal(err)
	}
	c.fake.Advance(time.Hour)
	id := out.BlueGreenDeployment.BlueGreenDeploymentIdentifier
	if _, err := c.rds.SwitchoverBlueGreenDeployment(ctx, &rds.SwitchoverBlueGreenDeploymentInput{BlueGreenDeploymentIdentifier: id}); err != nil {
		t.Fatal(err)
	}
	c.fake.Advance(5 * time.Minute)
	bg, _ := c.fake.BlueGreen("upgrade")
	if bg.Status != "SWITCHOVER_COMPLETED" || bg.Blue != "prod-old2" || bg.Green != "prod" {
		t.Fatalf("after the switchover: %+v, want blue renamed prod-old2 (prod-old1 is taken) and green named prod", bg)
	}
	if _, ok := c.fake.Instance("prod-old1"); !ok {
		t.Error("the unrelated prod-old1 is gone")
	}
}

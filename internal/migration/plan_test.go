package migration

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/spec"
	"github.com/dbshift/dbshift/internal/testutil"
)

const awsSpec = `
name: orders
provider: aws
strategy: replica-snapshot
source: {dsn: "admin@tcp(orders.abc.us-east-1.rds.amazonaws.com:3306)/"}
target: {id: orders-encrypted, encrypted: true, kms_key_id: "arn:aws:kms:us-east-1:111122223333:key/k1"}
aws: {region: us-east-1, source_instance: orders}
replication: {host: "10.0.%"}
cutover: {mode: manual, switch: {kind: route53, zone_id: Z1, record: db.example.com}}
`

const blueGreenSpec = `
name: upgrade
provider: aws
strategy: blue-green
source: {dsn: "admin@tcp(orders.abc.us-east-1.rds.amazonaws.com:3306)/"}
target: {id: orders-80, engine_version: "8.0.39", instance_class: db.r6g.xlarge}
aws: {region: us-east-1, source_instance: orders, parameter_group: orders-80-pg}
blue_green: {switchover_timeout: 2m, compare_logs: [/var/log/general.log]}
`

const localSpec = `
name: demo
provider: local
strategy: replica-snapshot
source: {dsn: "dbshift@tcp(127.0.0.1:3307)/"}
target: {id: demo-encrypted, encrypted: true}
local: {sandbox_dir: /tmp/sb}
cutover: {mode: auto}
`

func TestPlan_AWSListsEveryAPICallInOrder(t *testing.T) {
	assertInOrder(t, planText(t, awsSpec),
		"CALL mysql.rds_set_configuration('binlog retention hours', 168)",
		"rds:CreateDBInstanceReadReplica DBInstanceIdentifier=orders-encrypted-temp-replica SourceDBInstanceIdentifier=orders",
		"CALL mysql.rds_stop_replication",
		"rds:CreateDBSnapshot DBSnapshotIdentifier=orders-encrypted-snapshot DBInstanceIdentifier=orders-encrypted-temp-replica",
		"rds:CopyDBSnapshot SourceDBSnapshotIdentifier=orders-encrypted-snapshot TargetDBSnapshotIdentifier=orders-encrypted-snapshot-encrypted KmsKeyId=arn:aws:kms:us-east-1:111122223333:key/k1",
		"rds:RestoreDBInstanceFromDBSnapshot DBInstanceIdentifier=orders-encrypted",
		"StorageEncrypted=true",
		"CALL mysql.rds_set_external_master(",
		"CALL mysql.rds_start_replication",
		"rds:DeleteDBInstance DBInstanceIdentifier=orders-encrypted-temp-replica",
	)
}

func TestPlan_MermaidDeclaresParticipantsAndMarksPointOfNoReturn(t *testing.T) {
	s, err := spec.Parse([]byte(localSpec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Mermaid(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, w := range []string{"sequenceDiagram", "participant TempReplica", "participant EncryptedSnapshot", "participant App", "Note over dbshift,App: point of no return", "rect rgb(", "TempReplica->>Source"} {
		if !strings.Contains(out, w) && !strings.Contains(out, strings.Replace(w, "TempReplica->>Source", "Source->>TempReplica", 1)) {
			t.Errorf("mermaid lacks %q:\n%s", w, out)
		}
	}
	if strings.Count(out, "rect ") != strings.Count(out, "    end\n") {
		t.Errorf("unbalanced rect/end:\n%s", out)
	}
}

func TestSpec_RejectsBadInputWithEveryReason(t *testing.T) {
	_, err := spec.Parse([]byte("name: x\nprovider: gcp\nstrategy: magic\nsource: {dsn: 'u:secret@tcp(h:1)/'}\nbogus_key: 1\n"))
	if err == nil || !strings.Contains(err.Error(), "bogus_key") {
		t.Fatalf("unknown key not rejected: %v", err)
	}
	_, err = spec.Parse([]byte("name: x\nprovider: gcp\nstrategy: magic\nsource: {dsn: 'u:secret@tcp(h:1)/'}\n"))
	for _, w := range []string{"provider", "strategy", "holds a password", "target.id"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %q: %v", w, err)
		}
	}
}

func TestPlan_MermaidAcceptedByMermaid(t *testing.T) {
	var diagrams []string
	for _, y := range []string{localSpec, awsSpec, strings.Replace(localSpec, "replica-snapshot", "backup-clone", 1), blueGreenSpec} {
		s, err := spec.Parse([]byte(y))
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPlan(s)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := p.Mermaid(&b); err != nil {
			t.Fatal(err)
		}
		diagrams = append(diagrams, b.String())
	}
	for _, d := range diagrams {
		testutil.ValidateMermaid(t, d)
	}
}

func TestPlan_AWSCutoverListsReadOnlySwitchAndFenceCalls(t *testing.T) {
	assertInOrder(t, planText(t, strings.Replace(awsSpec, "source_instance: orders}", "source_instance: orders, parameter_group: orders-target-pg}", 1)),
		"rds:ModifyDBParameterGroup DBParameterGroupName=orders-target-pg read_only=1",
		"rds:RestoreDBInstanceFromDBSnapshot",
		"rds:ModifyDBParameterGroup DBParameterGroupName=orders-target-pg read_only=0",
		"route53:ChangeResourceRecordSets HostedZoneId=Z1 UPSERT CNAME db.example.com",
		"route53:GetChange (until INSYNC)",
		"ec2:CreateSecurityGroup GroupName=dbshift-fence-",
		"rds:ModifyDBInstance DBInstanceIdentifier=orders VpcSecurityGroupIds=[fence]",
	)
}

func TestPlan_BlueGreenListsEveryAPICallInOrder(t *testing.T) {
	assertInOrder(t, planText(t, blueGreenSpec),
		"rds:CreateBlueGreenDeployment BlueGreenDeploymentName=orders-80 Source=<ARN of orders> TargetEngineVersion=8.0.39 TargetDBParameterGroupName=orders-80-pg TargetDBInstanceClass=db.r6g.xlarge",
		"(until AVAILABLE)",
		"rds:ModifyDBParameterGroup DBParameterGroupName=orders-80-pg read_only=1 ApplyMethod=immediate",
		"run the SELECTs of /var/log/general.log on blue and green",
		"rds:ModifyDBParameterGroup DBParameterGroupName=<blue's group> read_only=1",
		"rds:SwitchoverBlueGreenDeployment BlueGreenDeploymentIdentifier=<id> SwitchoverTimeout=120",
		"SWITCHOVER_COMPLETED",
		"rds:ModifyDBParameterGroup DBParameterGroupName=orders-80-pg read_only=0",
	)
}

func TestSpec_BlueGreenRejectsWhatItCannotDo(t *testing.T) {
	for _, c := range []struct{ edit, want string }{
		{"provider: aws\n", "strategy blue-green needs provider aws"},
		{"parameter_group: orders-80-pg", "aws.parameter_group: required with strategy blue-green"},
		{"switchover_timeout: 2m", "blue_green.switchover_timeout: 2h0m0s, want 30s to 1h"},
	} {
		y := blueGreenSpec
		switch c.edit {
		case "provider: aws\n":
			y = strings.Replace(y, "provider: aws", "provider: local\nlocal: {sandbox_dir: /tmp/x}", 1)
		case "parameter_group: orders-80-pg":
			y = strings.Replace(y, ", parameter_group: orders-80-pg", "", 1)
		default:
			y = strings.Replace(y, "switchover_timeout: 2m", "switchover_timeout: 2h", 1)
		}
		if _, err := spec.Parse([]byte(y)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to say %q", c.edit, err, c.want)
		}
	}
}

// planText is the text plan of a spec.
func planText(t *testing.T, y string) string {
	t.Helper()
	s, err := spec.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Text(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// assertInOrder checks that out holds every one of want, in that order.
func assertInOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(out[at:], w)
		if i < 0 {
			t.Fatalf("plan lacks (or misorders) %q\n%s", w, out)
		}
		at += i
	}
}

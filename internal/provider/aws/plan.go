package aws

import (
	"fmt"
	"reflect"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// Runbook1 names everything runbook 1 touches on AWS.
type Runbook1 struct {
	RunID    string
	SourceID string
	KmsKeyID string
	// Identifiers default to <source>-dbshift-<run>-{replica,snap,snap-enc}
	// and <source>-encrypted for the target.
	ReplicaID, SnapshotID, CopyID, TargetID string
	ReplicaClass                            string
	// Target settings; empty ones are copied from the source at run time.
	InstanceClass, SubnetGroup, ParameterGroup string
	SecurityGroups                             []string
	// VpcID of the fence group; empty: the source's VPC, read at run time.
	VpcID     string
	FenceName string
	// DNS, when set, switches this CNAME to the target (Target is ignored).
	DNS *CNAMERequest
	// Cleanup deletes the temporary replica and both snapshots at the end.
	Cleanup bool
}

// WithDefaults fills the derived identifiers.
func (r Runbook1) WithDefaults() Runbook1 {
	base := r.SourceID + "-dbshift-" + r.RunID
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&r.ReplicaID, base+"-replica")
	def(&r.SnapshotID, base+"-snap")
	def(&r.CopyID, base+"-snap-enc")
	def(&r.TargetID, r.SourceID+"-encrypted")
	def(&r.FenceName, "dbshift-fence-"+r.RunID)
	return r
}

// PlanParam is one request parameter as the plan shows it.
type PlanParam struct{ Name, Value string }

// PlannedCall is one API call runbook 1 will make.
type PlannedCall struct {
	Step    string
	Service string // rds, ec2, route53
	Action  string
	Params  []PlanParam
	// Wait says what a polling call waits for ("" for a one-off call).
	Wait string
	// Undo is the call that reverts it ("" when it creates nothing).
	Undo string
}

// PlanRunbook1 lists, in order, every AWS API call runbook 1 makes, with
// the parameters it sends. It calls nothing: the values the run reads from
// the source (its settings, its VPC) appear as "(from <source>)". The
// requests are built by the same functions the provider sends them with.
func PlanRunbook1(r Runbook1) []PlannedCall {
	r = r.WithDefaults()
	from := "(from " + r.SourceID + ")"
	poll := func(step, action, id, what string) PlannedCall {
		name := "DBInstanceIdentifier"
		if action == "DescribeDBSnapshots" {
			name = "DBSnapshotIdentifier"
		}
		return PlannedCall{Step: step, Service: "rds", Action: action, Params: []PlanParam{{name, id}}, Wait: what}
	}
	restore := RestoreRequest{RunID: r.RunID, SnapshotID: r.CopyID, TargetID: r.TargetID,
		InstanceClass: r.InstanceClass, SubnetGroup: r.SubnetGroup, ParameterGroup: r.ParameterGroup,
		SecurityGroups: r.SecurityGroups}
	restoreIn := buildRestoreInput(restore.withDefaults(from, from, from, []string{from}, false))
	restoreIn.MultiAZ = nil
	restoreParams := append(requestParams(restoreIn), PlanParam{"MultiAZ", from})
	vpc := r.VpcID
	if vpc == "" {
		vpc = "(VPC of " + r.SourceID + ")"
	}
	fence := "(id of " + r.FenceName + ")"
	calls := []PlannedCall{
		{Step: "read source settings", Service: "rds", Action: "DescribeDBInstances",
			Params: requestParams(&rds.DescribeDBInstancesInput{DBInstanceIdentifier: awssdk.String(r.SourceID)})},
		{Step: "create temporary replica", Service: "rds", Action: "CreateDBInstanceReadReplica",
			Params: requestParams(replicaInput(ReplicaRequest{RunID: r.RunID, SourceID: r.SourceID, ReplicaID: r.ReplicaID, InstanceClass: r.ReplicaClass})),
			Undo:   "DeleteDBInstance " + r.ReplicaID},
		poll("wait replica", "DescribeDBInstances", r.ReplicaID, "DBInstanceStatus=available"),
		{Step: "snapshot replica", Service: "rds", Action: "CreateDBSnapshot",
			Params: requestParams(snapshotInput(SnapshotRequest{RunID: r.RunID, InstanceID: r.ReplicaID, SnapshotID: r.SnapshotID})),
			Undo:   "DeleteDBSnapshot " + r.SnapshotID},
		poll("wait snapshot", "DescribeDBSnapshots", r.SnapshotID, "Status=available (PercentProgress shown)"),
		{Step: "copy snapshot encrypted", Service: "rds", Action: "CopyDBSnapshot",
			Params: requestParams(copyInput(CopyRequest{RunID: r.RunID, SourceSnapshotID: r.SnapshotID, TargetSnapshotID: r.CopyID, KmsKeyID: r.KmsKeyID})),
			Undo:   "DeleteDBSnapshot " + r.CopyID},
		poll("wait encrypted copy", "DescribeDBSnapshots", r.CopyID, "Status=available, Encrypted=true"),
		{Step: "restore target", Service: "rds", Action: "RestoreDBInstanceFromDBSnapshot", Params: restoreParams,
			Undo: "DeleteDBInstance " + r.TargetID},
		poll("wait target", "DescribeDBInstances", r.TargetID, "DBInstanceStatus=available"),
		poll("verify encryption", "DescribeDBInstances", r.TargetID, "StorageEncrypted=true"),
		{Step: "create fence security group", Service: "ec2", Action: "CreateSecurityGroup",
			Params: requestParams(fenceInput(FenceRequest{RunID: r.RunID, VpcID: vpc, Name: r.FenceName})),
			Undo:   "DeleteSecurityGroup " + fence},
		{Step: "make fence deny-all", Service: "ec2", Action: "RevokeSecurityGroupEgress", Params: requestParams(revokeEgressInput(fence))},
		{Step: "fence old source", Service: "rds", Action: "ModifyDBInstance",
			Params: requestParams(setSecurityGroupsInput(r.SourceID, []string{fence})),
			Undo:   "ModifyDBInstance " + r.SourceID + " VpcSecurityGroupIds=" + from},
		poll("wait fence", "DescribeDBInstances", r.SourceID, "VpcSecurityGroups = the fence only, Status=active"),
	}
	if r.DNS != nil {
		d := *r.DNS
		d.Target = "(endpoint of " + r.TargetID + ")"
		calls = append(calls,
			PlannedCall{Step: "switch DNS", Service: "route53", Action: "ChangeResourceRecordSets", Params: requestParams(cnameInput(d)),
				Undo: "ChangeResourceRecordSets UPSERT " + d.Name + " back to the old endpoint"},
			PlannedCall{Step: "wait DNS", Service: "route53", Action: "GetChange", Params: []PlanParam{{"Id", "(change id)"}}, Wait: "Status=INSYNC"})
	}
	if r.Cleanup {
		calls = append(calls,
			PlannedCall{Step: "delete temporary replica", Service: "rds", Action: "DeleteDBInstance", Params: requestParams(deleteInstanceInput(r.ReplicaID))},
			PlannedCall{Step: "delete snapshot", Service: "rds", Action: "DeleteDBSnapshot", Params: requestParams(&rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: awssdk.String(r.SnapshotID)})},
			PlannedCall{Step: "delete encrypted copy", Service: "rds", Action: "DeleteDBSnapshot", Params: requestParams(&rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: awssdk.String(r.CopyID)})})
	}
	return calls
}

// requestParams flattens an SDK input struct into name/value pairs, in
// field order; tag lists read "k=v, k=v", other lists are numbered.
func requestParams(in any) []PlanParam {
	var out []PlanParam
	flattenValue(reflect.ValueOf(in), "", &out)
	return out
}

func flattenValue(v reflect.Value, name string, out *[]PlanParam) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				flattenValue(v.Field(i), join(name, f.Name), out)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			return
		}
		if tags, ok := tagPairs(v); ok {
			*out = append(*out, PlanParam{name, tags})
			return
		}
		if v.Type().Elem().Kind() == reflect.String {
			vals := make([]string, v.Len())
			for i := range vals {
				vals[i] = v.Index(i).String()
			}
			*out = append(*out, PlanParam{name, strings.Join(vals, ", ")})
			return
		}
		for i := range v.Len() {
			flattenValue(v.Index(i), fmt.Sprintf("%s.%d", name, i+1), out)
		}
	case reflect.String:
		// Unset enums (DatabaseInsightsMode, ...) are empty strings, not nil.
		if v.Len() > 0 {
			*out = append(*out, PlanParam{name, v.String()})
		}
	default:
		*out = append(*out, PlanParam{name, fmt.Sprint(v.Interface())})
	}
}

// tagPairs renders a slice of structs with Key and Value as "k=v, k=v".
func tagPairs(v reflect.Value) (string, bool) {
	et := v.Type().Elem()
	if et.Kind() != reflect.Struct {
		return "", false
	}
	if _, ok := et.FieldByName("Key"); !ok {
		return "", false
	}
	if _, ok := et.FieldByName("Value"); !ok {
		return "", false
	}
	pairs := make([]string, v.Len())
	for i := range pairs {
		e := v.Index(i)
		pairs[i] = fmt.Sprintf("%v=%v", reflect.Indirect(e.FieldByName("Key")), reflect.Indirect(e.FieldByName("Value")))
	}
	return strings.Join(pairs, ", "), true
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

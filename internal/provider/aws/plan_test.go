package aws

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func paramOf(c PlannedCall, name string) string {
	for _, p := range c.Params {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func mutating(action string) bool {
	return !strings.HasPrefix(action, "Describe") && !strings.HasPrefix(action, "List") && action != "GetChange"
}

// TestPlanRunbook1_MatchesTheCallsARunMakes runs the steps the plan lists
// against the fake and compares the mutating calls the fake received with
// the plan's, in order, and a few parameters as sent on the wire.
func TestPlanRunbook1_MatchesTheCallsARunMakes(t *testing.T) {
	spec := Runbook1{RunID: "r9", SourceID: "prod", KmsKeyID: testKMSKey, Cleanup: true,
		DNS: &CNAMERequest{ZoneID: testZone, Name: "db.example.internal", TTL: 5}}
	plan := PlanRunbook1(spec)
	r := spec.WithDefaults()

	if c := plan[5]; c.Action != "CopyDBSnapshot" || paramOf(c, "KmsKeyId") != testKMSKey ||
		paramOf(c, "Tags") != "dbshift:role=encrypted-snapshot, dbshift:run-id=r9" || c.Undo == "" {
		t.Fatalf("copy step: %+v", c)
	}
	if c := plan[7]; paramOf(c, "DBInstanceClass") != "(from prod)" || paramOf(c, "VpcSecurityGroupIds") != "(from prod)" {
		t.Fatalf("restore step: %+v", c)
	}

	e := newEnv(t, nil)
	ctx := context.Background()
	rep, err := e.p.CreateReadReplica(ctx, ReplicaRequest{RunID: r.RunID, SourceID: r.SourceID, ReplicaID: r.ReplicaID})
	if err != nil {
		t.Fatal(err)
	}
	e.mustInstanceAvailable(t, rep.ID)
	if _, err := e.p.CreateSnapshot(ctx, SnapshotRequest{RunID: r.RunID, InstanceID: r.ReplicaID, SnapshotID: r.SnapshotID}); err != nil {
		t.Fatal(err)
	}
	e.mustSnapshotAvailable(t, r.SnapshotID, nil)
	if _, err := e.p.CopySnapshotEncrypted(ctx, CopyRequest{RunID: r.RunID, SourceSnapshotID: r.SnapshotID, TargetSnapshotID: r.CopyID, KmsKeyID: r.KmsKeyID}); err != nil {
		t.Fatal(err)
	}
	e.mustSnapshotAvailable(t, r.CopyID, nil)
	if _, err := e.p.RestoreFromSnapshot(ctx, RestoreRequest{RunID: r.RunID, SnapshotID: r.CopyID, TargetID: r.TargetID, SettingsFrom: r.SourceID}); err != nil {
		t.Fatal(err)
	}
	target := e.mustInstanceAvailable(t, r.TargetID)
	fence, err := e.p.CreateFenceSecurityGroup(ctx, FenceRequest{RunID: r.RunID, VpcID: testVPC, Name: r.FenceName})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.SetSecurityGroups(ctx, r.SourceID, []string{fence}, wait); err != nil {
		t.Fatal(err)
	}
	d := *r.DNS
	d.Target = target.Address
	if err := e.p.UpsertCNAME(ctx, d, wait); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.DeleteRunResources(ctx, r.RunID, []Role{RoleReplica, RoleSnapshot, RoleEncryptedCopy}, wait); err != nil {
		t.Fatal(err)
	}

	var planned, made []string
	for _, c := range plan {
		if mutating(c.Action) {
			planned = append(planned, c.Action)
		}
	}
	for _, c := range e.fake.Calls() {
		if mutating(c.Action) && c.Error == "" {
			made = append(made, c.Action)
		}
	}
	if !slices.Equal(planned, made) {
		t.Fatalf("plan lists\n  %v\nthe run made\n  %v", planned, made)
	}
	for _, c := range e.fake.Calls() {
		if c.Action == "CopyDBSnapshot" && c.Params.Get("KmsKeyId") != testKMSKey {
			t.Fatalf("wire KmsKeyId %q", c.Params.Get("KmsKeyId"))
		}
	}
}

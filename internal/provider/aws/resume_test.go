package aws

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

type step struct {
	name string
	run  func(ctx context.Context, p *Provider, r Runbook1) error
}

// runbook1Steps are the control-plane steps of runbook 1 in order, each
// split at the point where a process can die: after a call, before its wait.
func runbook1Steps() []step {
	waitInst := func(id func(Runbook1) string) func(context.Context, *Provider, Runbook1) error {
		return func(ctx context.Context, p *Provider, r Runbook1) error {
			_, err := p.WaitInstanceAvailable(ctx, id(r), wait)
			return err
		}
	}
	waitSnap := func(id func(Runbook1) string) func(context.Context, *Provider, Runbook1) error {
		return func(ctx context.Context, p *Provider, r Runbook1) error {
			_, err := p.WaitSnapshotAvailable(ctx, id(r), wait)
			return err
		}
	}
	return []step{
		{"create replica", func(ctx context.Context, p *Provider, r Runbook1) error {
			_, err := p.CreateReadReplica(ctx, ReplicaRequest{RunID: r.RunID, SourceID: r.SourceID, ReplicaID: r.ReplicaID})
			return err
		}},
		{"wait replica", waitInst(func(r Runbook1) string { return r.ReplicaID })},
		{"snapshot", func(ctx context.Context, p *Provider, r Runbook1) error {
			_, err := p.CreateSnapshot(ctx, SnapshotRequest{RunID: r.RunID, InstanceID: r.ReplicaID, SnapshotID: r.SnapshotID})
			return err
		}},
		{"wait snapshot", waitSnap(func(r Runbook1) string { return r.SnapshotID })},
		{"copy encrypted", func(ctx context.Context, p *Provider, r Runbook1) error {
			_, err := p.CopySnapshotEncrypted(ctx, CopyRequest{RunID: r.RunID, SourceSnapshotID: r.SnapshotID, TargetSnapshotID: r.CopyID, KmsKeyID: r.KmsKeyID})
			return err
		}},
		{"wait copy", waitSnap(func(r Runbook1) string { return r.CopyID })},
		{"restore", func(ctx context.Context, p *Provider, r Runbook1) error {
			_, err := p.RestoreFromSnapshot(ctx, RestoreRequest{RunID: r.RunID, SnapshotID: r.CopyID, TargetID: r.TargetID, SettingsFrom: r.SourceID})
			return err
		}},
		{"wait target", waitInst(func(r Runbook1) string { return r.TargetID })},
		{"verify encrypted", func(ctx context.Context, p *Provider, r Runbook1) error {
			_, err := p.VerifyEncrypted(ctx, r.TargetID)
			return err
		}},
	}
}

var creates = []string{"CreateDBInstanceReadReplica", "CreateDBSnapshot", "CopyDBSnapshot", "RestoreDBInstanceFromDBSnapshot"}

// TestRunbook1_ResumeFromEveryStep kills the process (drops the provider)
// after each step, then a new process runs the whole sequence again from
// the top, as resume does when it re-derives its position from the world:
// every create must adopt what exists, and nothing is created twice.
func TestRunbook1_ResumeFromEveryStep(t *testing.T) {
	steps := runbook1Steps()
	for k := range steps {
		t.Run(fmt.Sprintf("killed after %s", steps[k].name), func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			r := Runbook1{RunID: "run-k", SourceID: "prod", KmsKeyID: testKMSKey}.WithDefaults()
			for _, s := range steps[:k+1] {
				if err := s.run(ctx, e.p, r); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
			}
			resumed := newProviderFor(t, e.fake, nil)
			for _, s := range steps {
				if err := s.run(ctx, resumed, r); err != nil {
					t.Fatalf("resumed %s: %v", s.name, err)
				}
			}
			for _, a := range creates {
				if n := e.fake.CallCount(a); n != 1 {
					t.Fatalf("%s called %d times, want 1", a, n)
				}
			}
			if st, _ := e.fake.Instance(r.TargetID); !st.Encrypted || st.Status != "available" {
				t.Fatalf("target %+v", st)
			}
		})
	}
}

// TestRunbook1_AbortFromEveryStep aborts after each step: what the run
// created is deleted, the source is untouched.
func TestRunbook1_AbortFromEveryStep(t *testing.T) {
	steps := runbook1Steps()
	all := []Role{RoleReplica, RoleSnapshot, RoleEncryptedCopy, RoleTarget, RoleFence}
	for k := range steps {
		t.Run(fmt.Sprintf("abort after %s", steps[k].name), func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			before, _ := e.fake.Instance("prod")
			r := Runbook1{RunID: "run-a", SourceID: "prod", KmsKeyID: testKMSKey}.WithDefaults()
			for _, s := range steps[:k+1] {
				if err := s.run(ctx, e.p, r); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
			}
			// Abort runs in a new process too.
			if _, err := newProviderFor(t, e.fake, nil).DeleteRunResources(ctx, r.RunID, all, wait); err != nil {
				t.Fatal(err)
			}
			if got := e.fake.InstanceIDs(); !slices.Equal(got, []string{"prod"}) {
				t.Fatalf("instances left: %v", got)
			}
			if got := e.fake.SnapshotIDs(); len(got) != 0 {
				t.Fatalf("snapshots left: %v", got)
			}
			after, _ := e.fake.Instance("prod")
			if after.Status != "available" || !slices.Equal(after.SecurityGroups, before.SecurityGroups) || after.ParameterGroup != before.ParameterGroup {
				t.Fatalf("source changed: before %+v after %+v", before, after)
			}
		})
	}
}

package aws

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dbshift/dbshift/internal/awsfake"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/spec"
)

// TestRDS_ProviderInterfaceRunbook1 drives runbook 1's control plane through
// provider.Provider, as the strategy does, with a resume in the middle.
func TestRDS_ProviderInterfaceRunbook1(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var prov provider.Provider = NewRDS(e.p, BindConfig{SourceID: "prod", AdminUser: "admin", PasswordEnv: "DBSHIFT_SOURCE_PASSWORD"})
	const run = "run-if"

	src, err := prov.Source(ctx)
	if err != nil || src.DSN != "admin@tcp(prod.cfake.us-east-1.rds.amazonaws.com:3306)/" || src.PasswordEnv != "DBSHIFT_SOURCE_PASSWORD" {
		t.Fatalf("source %+v %v", src, err)
	}
	rep, err := prov.CreateReplica(ctx, provider.ReplicaRequest{RunID: run, ID: "prod-tmp", Source: src}, nil)
	if err != nil || rep.Status != "available" || rep.Role != provider.RoleTempReplica || rep.Addr == "" {
		t.Fatalf("replica %+v %v", rep, err)
	}
	var percents []int
	snap, err := prov.Snapshot(ctx, run, "prod-tmp-snap", rep, func(p int, _ string) { percents = append(percents, p) })
	if err != nil || snap.Status != "available" || !slices.ContainsFunc(percents, func(p int) bool { return p > 0 && p < 100 }) {
		t.Fatalf("snapshot %+v %v, progress %v", snap, err, percents)
	}
	enc, err := prov.CopyEncrypted(ctx, run, "prod-tmp-snap-enc", snap, testKMSKey, nil)
	if err != nil || !enc.Encrypted || enc.KeyID != testKMSKey {
		t.Fatalf("copy %+v %v", enc, err)
	}

	// A new process resumes: it finds what the run made by role.
	resumed := NewRDS(newProviderFor(t, e.fake, nil), BindConfig{SourceID: "prod", AdminUser: "admin"})
	for _, role := range []string{provider.RoleSnapshot, provider.RoleEncryptedCopy} {
		if s, ok, err := resumed.FindSnapshot(ctx, run, role); err != nil || !ok || s.Role != role {
			t.Fatalf("find %s: %+v %v %v", role, s, ok, err)
		}
	}
	if _, ok, err := resumed.FindInstance(ctx, run, provider.RoleTarget); err != nil || ok {
		t.Fatalf("target found before the restore: %v %v", ok, err)
	}
	_, err = resumed.Restore(ctx, enc, provider.TargetRequest{RunID: run, ID: "prod-enc", Encrypted: true, EngineVersion: "11.4.3", CopyFrom: src}, nil)
	if err == nil {
		t.Fatal("restore to another engine version accepted; RDS cannot do that")
	}
	_, err = resumed.Restore(ctx, snap, provider.TargetRequest{RunID: run, ID: "prod-enc", Encrypted: true, CopyFrom: src}, nil)
	if !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("encrypted target from the unencrypted snapshot: %v", err)
	}
	target, err := resumed.Restore(ctx, enc, provider.TargetRequest{RunID: run, ID: "prod-enc", Encrypted: true, CopyFrom: src}, nil)
	if err != nil || !target.Encrypted {
		t.Fatalf("restore %+v %v", target, err)
	}
	st, err := resumed.VerifyEncrypted(ctx, target)
	if err != nil || !st.Encrypted || st.Done != st.Total {
		t.Fatalf("verify %+v %v", st, err)
	}
	if st, err := resumed.VerifyEncrypted(ctx, src); !errors.Is(err, ErrNotEncrypted) || st.Encrypted {
		t.Fatalf("verify of the unencrypted source: %+v %v", st, err)
	}
	if err := resumed.DeleteInstance(ctx, src); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("deleting the untagged source: %v", err)
	}

	// Cleanup through the interface.
	if err := resumed.DeleteInstance(ctx, rep); err != nil {
		t.Fatal(err)
	}
	for _, s := range []provider.Snapshot{snap, enc} {
		if err := resumed.DeleteSnapshot(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.fake.InstanceIDs(); !slices.Equal(got, []string{"prod", "prod-enc"}) {
		t.Fatalf("instances left: %v", got)
	}
	if _, ok, _ := resumed.FindInstance(ctx, run, provider.RoleTempReplica); ok {
		t.Fatal("deleted replica still found")
	}
}

func TestNewFromSpec_InstanceDSNKeepsTheSourceDSNsSettings(t *testing.T) {
	f := awsfake.New(awsfake.Options{})
	t.Cleanup(f.Close)
	f.AddInstance(awsfake.InstanceSpec{ID: "prod"})
	p := newProviderFor(t, f, nil)
	for _, tc := range []struct{ dsn, want string }{
		{"admin@tcp(db.example.com:3306)/app?readTimeout=30s", "admin@tcp(prod.cfake.us-east-1.rds.amazonaws.com:3306)/app?readTimeout=30s"},
		{"mysql://admin@db.example.com/app", "admin@tcp(prod.cfake.us-east-1.rds.amazonaws.com:3306)/app"},
		{"", "admin@tcp(prod.cfake.us-east-1.rds.amazonaws.com:3306)/"},
	} {
		r := NewRDS(p, BindConfig{SourceID: "prod", AdminUser: "admin", SourceDSN: tc.dsn})
		src, err := r.Source(context.Background())
		if err != nil || src.DSN != tc.want {
			t.Errorf("source DSN %q: instance DSN %q (%v), want %q", tc.dsn, src.DSN, err, tc.want)
		}
	}
}

func TestNewFromSpec_ReachesTheSource(t *testing.T) {
	f := awsfake.New(awsfake.Options{})
	t.Cleanup(f.Close)
	f.AddInstance(awsfake.InstanceSpec{ID: "prod"})
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFAKEFAKEFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
	s := &spec.Spec{Provider: "aws",
		Source: spec.Server{DSN: "admin@tcp(prod.example:3306)/", PasswordFile: "/run/secrets/db"},
		AWS:    spec.AWS{Region: "us-east-1", SourceInstance: "prod", Endpoint: f.URL()}}
	r, err := NewFromSpec(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := r.Source(context.Background())
	if err != nil || src.ID != "prod" || src.PasswordFile != "/run/secrets/db" || src.DSN != "admin@tcp(prod.cfake.us-east-1.rds.amazonaws.com:3306)/" {
		t.Fatalf("source %+v %v", src, err)
	}
}

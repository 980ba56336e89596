package aws

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/dbshift/dbshift/internal/awsfake"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// TestRunbook1_InstancesBackedBySandbox runs the control plane against the
// fake with every RDS instance backed by a real mariadbd in RDS mode: the
// endpoint the API reports is the server behind the instance, and the
// restored target that reports StorageEncrypted=true is an encrypted server.
// This is the seam where the replication package's SQL half (mysql.rds_*)
// plugs into the provider.
func TestRunbook1_InstancesBackedBySandbox(t *testing.T) {
	// mariadb-install-db bootstraps create temporary tables under $TMPDIR
	// with names that collide between concurrent bootstraps (seen here:
	// "Unknown table 'mysql.tmp_user_sys'", "Error on delete of
	// '/tmp/#sql-temptable-...'" when other tests install servers at the
	// same time); a private TMPDIR keeps them apart.
	t.Setenv("TMPDIR", t.TempDir())
	sb := sandboxtest.New(t, sandbox.Options{Instances: 3, RDS: true, Encrypted: []int{3}})
	backing := map[string]*sandbox.Instance{"prod": sb.Instance(1), "prod-r": sb.Instance(2), "prod-enc": sb.Instance(3)}

	f := awsfake.New(awsfake.Options{})
	t.Cleanup(f.Close)
	f.AddParameterGroup("prod-pg", "mariadb10.11", nil)
	f.AddInstance(awsfake.InstanceSpec{ID: "prod", Host: "127.0.0.1", Port: backing["prod"].Port, ParameterGroup: "prod-pg"})
	// Parameter changes take effect on the server behind the instance.
	f.SetParameterApplyFunc(func(id string, params map[string]string) {
		v, ok := params["read_only"]
		if !ok {
			return
		}
		root, err := backing[id].Root(context.Background())
		if err != nil {
			t.Errorf("root on %s: %v", id, err)
			return
		}
		defer root.Close()
		if _, err := root.Exec("SET GLOBAL read_only = " + map[string]string{"1": "ON", "0": "OFF"}[v]); err != nil {
			t.Errorf("read_only on %s: %v", id, err)
		}
	})
	f.SetEndpointFunc(func(id string) (string, int, bool) {
		if i, ok := backing[id]; ok {
			return "127.0.0.1", i.Port, true
		}
		return "", 0, false
	})
	p := newProviderFor(t, f, nil)
	ctx := context.Background()
	const run = "run-sb"

	r, err := p.CreateReadReplica(ctx, ReplicaRequest{RunID: run, SourceID: "prod", ReplicaID: "prod-r"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitInstanceAvailable(ctx, r.ID, wait); err != nil {
		t.Fatal(err)
	}
	s, err := p.CreateSnapshot(ctx, SnapshotRequest{RunID: run, InstanceID: r.ID, SnapshotID: "prod-snap"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitSnapshotAvailable(ctx, s.ID, wait); err != nil {
		t.Fatal(err)
	}
	cp, err := p.CopySnapshotEncrypted(ctx, CopyRequest{RunID: run, SourceSnapshotID: s.ID, TargetSnapshotID: "prod-snap-enc", KmsKeyID: testKMSKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitSnapshotAvailable(ctx, cp.ID, wait); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RestoreFromSnapshot(ctx, RestoreRequest{RunID: run, SnapshotID: cp.ID, TargetID: "prod-enc", SettingsFrom: "prod"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitInstanceAvailable(ctx, "prod-enc", wait); err != nil {
		t.Fatal(err)
	}
	if _, err := p.VerifyEncrypted(ctx, "prod-enc"); err != nil {
		t.Fatal(err)
	}

	for _, id := range []string{"prod", "prod-r", "prod-enc"} {
		inst, err := p.DescribeInstance(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := backing[id]
		c, err := dbconn.Open(ctx, dbconn.Spec{Role: id, TLS: "off",
			DSN:          fmt.Sprintf("%s@tcp(%s)/", want.AdminUser, net.JoinHostPort(inst.Address, strconv.Itoa(inst.Port))),
			PasswordFile: want.PasswordFile()}, nil)
		if err != nil {
			t.Fatalf("connecting to %s's endpoint %s:%d: %v", id, inst.Address, inst.Port, err)
		}
		if c.ServerID != want.ServerID {
			t.Fatalf("%s's endpoint reached server_id %d, want %d", id, c.ServerID, want.ServerID)
		}
		var encrypt string
		if err := c.DB.QueryRowContext(ctx, "SELECT @@innodb_encrypt_tables").Scan(&encrypt); err != nil {
			t.Fatal(err)
		}
		if (encrypt == "ON") != inst.StorageEncrypted {
			t.Fatalf("%s: StorageEncrypted=%v but the server has innodb_encrypt_tables=%s", id, inst.StorageEncrypted, encrypt)
		}
		var procs int
		if err := c.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='mysql' AND ROUTINE_NAME='rds_set_external_master'").Scan(&procs); err != nil {
			t.Fatal(err)
		}
		if procs != 1 {
			t.Fatalf("%s: mysql.rds_set_external_master missing: the SQL half could not run", id)
		}
		c.Close()
	}

	// Fence the source by its parameter group, as RDS cutover does where SET
	// GLOBAL is not allowed: read_only=1 applied, then seen by the server.
	root, err := backing["prod"].Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var ro int
	if err := root.QueryRowContext(ctx, "SELECT @@read_only").Scan(&ro); err != nil || ro != 0 {
		t.Fatalf("@@read_only on the source before the fence: %d, %v", ro, err)
	}
	if err := p.ModifyParameters(ctx, "prod-pg", []Param{{Name: "read_only", Value: "1", Immediate: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitParametersInSync(ctx, "prod", wait); err != nil {
		t.Fatal(err)
	}
	if err := root.QueryRowContext(ctx, "SELECT @@read_only").Scan(&ro); err != nil || ro != 1 {
		t.Fatalf("@@read_only on the source after the parameter group fence: %d, %v", ro, err)
	}
}

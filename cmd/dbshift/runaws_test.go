package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/awsfake"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/provider"
	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
	"github.com/dbshift/dbshift/internal/provider/local"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
	"github.com/dbshift/dbshift/internal/strategy"
)

const awsTestKMSKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// rdsWorld is an awsfake server whose instances are real mariadbd servers
// in RDS mode: the source is a sandbox with data; the read replica, the
// snapshots and the restored target the fake creates are made by the local
// provider (a mariabackup clone attached to the source through the admin
// account, as RDS does internally; prepared backups; a restore started
// encrypted), so the SQL half of runbook 1 runs for real.
type rdsWorld struct {
	fake    *awsfake.Server
	src     *sandbox.Instance
	srcConn *dbconn.Conn
	back    *local.Provider
	env     []string // the child dbshift's environment (AWS credentials)
	// targetHost is the endpoint host of restored instances ("127.0.0.1"
	// unless a test needs the target's name to differ from the source's).
	targetHost string
	backDir    string

	mu    sync.Mutex
	insts map[string]provider.Instance // fake instance id -> backing server
	snaps map[string]provider.Snapshot // fake snapshot id -> backing backup
}

// backingRun tags the local provider's resources; they belong to the test.
const backingRun = "rds-backing"

// newRDSWorld starts the fake around src (a sandbox in RDS mode) and an
// unrelated instance and snapshot that no run may touch.
// sourceParamGroup, when given, is the source's own custom parameter group.
func newRDSWorld(t *testing.T, src *sandbox.Instance, sc *dbconn.Conn, sourceParamGroup ...string) *rdsWorld {
	t.Helper()
	d := awsfake.Durations{CreateInstance: 10 * time.Minute, Modify: time.Minute, DeleteInstance: 5 * time.Minute,
		Snapshot: 15 * time.Minute, CopySnapshot: 20 * time.Minute, DeleteSnapshot: time.Minute, ParameterApply: 30 * time.Second,
		BlueGreenCreate: 30 * time.Minute, Switchover: 2 * time.Minute, DNSChange: 30 * time.Second}
	f := awsfake.New(awsfake.Options{Durations: &d})
	t.Cleanup(f.Close)
	prodSpec := awsfake.InstanceSpec{ID: "prod", Host: "127.0.0.1", Port: src.Port, EngineVersion: "10.11.8"}
	if len(sourceParamGroup) > 0 {
		f.AddParameterGroup(sourceParamGroup[0], "mariadb10.11", nil)
		prodSpec.ParameterGroup = sourceParamGroup[0]
	}
	f.AddInstance(prodSpec)
	f.AddInstance(awsfake.InstanceSpec{ID: "unrelated", EngineVersion: "10.11.8"})

	// Not t.TempDir(): a subtest's long name would push the backing
	// servers' socket paths past the 107 bytes mariadbd accepts.
	dir, err := os.MkdirTemp("", "rdsback")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	back, err := local.New(filepath.Join(dir, "backing"), provider.Instance{ID: "prod", Role: "source", DSN: src.DSN(), PasswordFile: src.PasswordFile()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sb, err := sandbox.Load(filepath.Join(dir, "backing")); err == nil {
			sb.Down(context.Background(), true)
		}
	})
	w := &rdsWorld{fake: f, src: src, srcConn: sc, back: back, targetHost: "127.0.0.1", backDir: filepath.Join(dir, "backing"),
		insts: map[string]provider.Instance{"prod": {ID: "prod", Addr: src.Addr()}}, snaps: map[string]provider.Snapshot{}}
	ctx := context.Background()
	f.SetBackingFunc(func(b awsfake.Backing) (string, int, bool) {
		var inst provider.Instance
		var err error
		switch b.Kind {
		case "read-replica", "blue-green":
			inst, err = back.CreateReplica(ctx, provider.ReplicaRequest{RunID: backingRun, ID: b.InstanceID}, nil)
		case "restore":
			w.mu.Lock()
			snap, ok := w.snaps[b.SnapshotID]
			w.mu.Unlock()
			if !ok {
				err = fmt.Errorf("snapshot %s has no data", b.SnapshotID)
				break
			}
			inst, err = back.Restore(ctx, snap, provider.TargetRequest{RunID: backingRun, ID: b.InstanceID, Encrypted: b.Encrypted}, nil)
		default:
			return "", 0, false
		}
		if err != nil {
			t.Errorf("backing %s %s: %v", b.Kind, b.InstanceID, err)
			return "", 0, false
		}
		w.mu.Lock()
		w.insts[b.InstanceID] = inst
		w.mu.Unlock()
		if b.Kind == "blue-green" {
			// Green is read-only while it replicates: RDS's default
			// read_only is {TrueIfReplica}.
			if err := w.setReadOnly(ctx, b.InstanceID, true); err != nil {
				t.Errorf("green %s read-only: %v", b.InstanceID, err)
			}
		}
		if b.Kind == "restore" {
			return w.targetHost, portOf(inst.Addr), true
		}
		return "127.0.0.1", portOf(inst.Addr), true
	})
	f.SetSnapshotFunc(func(b awsfake.SnapshotBacking) {
		w.mu.Lock()
		of, isInst := w.insts[b.InstanceID]
		from, isCopy := w.snaps[b.SourceSnapshotID]
		w.mu.Unlock()
		var snap provider.Snapshot
		var err error
		switch {
		case b.SourceSnapshotID != "" && isCopy:
			snap, err = back.CopyEncrypted(ctx, backingRun, b.SnapshotID, from, b.KmsKeyID, nil)
		case b.SourceSnapshotID == "" && isInst:
			snap, err = back.Snapshot(ctx, backingRun, b.SnapshotID, of, nil)
		default:
			return // a snapshot of something with no server behind it
		}
		if err != nil {
			t.Errorf("backing snapshot %s: %v", b.SnapshotID, err)
			return
		}
		w.mu.Lock()
		w.snaps[b.SnapshotID] = snap
		w.mu.Unlock()
	})

	// read_only in a parameter group reaches the server behind each
	// instance using it, as RDS applies it.
	f.SetParameterApplyFunc(func(id string, params map[string]string) {
		v, ok := params["read_only"]
		if !ok {
			return
		}
		if err := w.setReadOnly(ctx, id, v == "1"); err != nil {
			t.Errorf("read_only=%s on %s: %v", v, id, err)
		}
	})

	// What RDS does to the servers when a blue/green switchover completes:
	// green stops replicating and opens unless its group pins read_only=1;
	// blue turns read-only; the names swap.
	f.SetSwitchoverFunc(func(ev awsfake.SwitchoverEvent) { w.switchover(t, ev) })

	// A ten-minute restore takes well under a second of the test's time.
	runFakeClock(t, f)

	cfg := t.TempDir()
	w.env = []string{"AWS_ACCESS_KEY_ID=AKIDFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY=fake-secret", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(cfg, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(cfg, "credentials"), "AWS_PROFILE="}
	return w
}

// switchover is what RDS does to the servers when a blue/green switchover
// completes: green stops replicating and opens unless its group pins
// read_only=1; blue turns read-only; the names swap.
func (w *rdsWorld) switchover(t *testing.T, ev awsfake.SwitchoverEvent) {
	ctx := context.Background()
	w.mu.Lock()
	blue, green := w.insts[ev.Blue.OldID], w.insts[ev.Green.OldID]
	w.insts[ev.Blue.NewID], w.insts[ev.Green.NewID] = blue, green
	w.mu.Unlock()
	if err := w.rootExec(ctx, ev.Green.NewID, "STOP SLAVE", "RESET SLAVE ALL",
		"SET GLOBAL read_only = "+map[bool]string{true: "ON", false: "OFF"}[ev.GreenReadOnly]); err != nil {
		t.Errorf("switchover on green: %v", err)
	}
	if err := w.setReadOnly(ctx, ev.Blue.NewID, true); err != nil {
		t.Errorf("switchover on blue: %v", err)
	}
}

// setReadOnly is RDS applying read_only to the server behind id (as root,
// which RDS is and the admin is not).
func (w *rdsWorld) setReadOnly(ctx context.Context, id string, on bool) error {
	return w.rootExec(ctx, id, "SET GLOBAL read_only = "+map[bool]string{true: "ON", false: "OFF"}[on])
}

// rootExec runs statements as root on the server behind instance id.
func (w *rdsWorld) rootExec(ctx context.Context, id string, stmts ...string) error {
	w.mu.Lock()
	pi, ok := w.insts[id]
	w.mu.Unlock()
	if !ok {
		return fmt.Errorf("no server behind %s", id)
	}
	inst := w.src
	if portOf(pi.Addr) != w.src.Port {
		sb, err := sandbox.Load(w.backDir)
		if err != nil {
			return err
		}
		inst = nil
		for _, si := range sb.Instances {
			if si.Port == portOf(pi.Addr) {
				inst = si
			}
		}
		if inst == nil {
			return fmt.Errorf("no sandbox server on %s", pi.Addr)
		}
	}
	root, err := inst.Root(ctx)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, q := range stmts {
		if _, err := root.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s on %s: %w", q, id, err)
		}
	}
	return nil
}

func portOf(addr string) int {
	var p int
	fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &p)
	return p
}

// spec writes the run's spec: the fake as the AWS endpoint, polls small.
// The admin password comes from a file, or with passwordEnv from
// DBSHIFT_SOURCE_PASSWORD in the child's environment.
// awsExtra goes into the aws: mapping, extra lines after it.
func (w *rdsWorld) spec(t *testing.T, passwordEnv bool, awsExtra string, extra ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.yaml")
	pw := "password_file: " + w.src.PasswordFile()
	if passwordEnv {
		pw = "password_env: DBSHIFT_SOURCE_PASSWORD"
		w.env = append(w.env, "DBSHIFT_SOURCE_PASSWORD="+w.src.Password)
	}
	body := fmt.Sprintf(`name: accept-aws
provider: aws
strategy: replica-snapshot
source: {dsn: "%s", %s}
target: {id: prod-encrypted, encrypted: true, kms_key_id: "%s"}
replication: {max_lag: 1s, tls: required}
aws: {region: us-east-1, source_instance: prod, endpoint: "%s", poll_interval: 20ms%s}
`, w.src.DSN(), pw, awsTestKMSKey, w.fake.URL(), awsExtra) + strings.Join(extra, "\n") + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cli runs dbshift in-process with the child's AWS environment; the
// secrets in it are checked never to be printed.
func (w *rdsWorld) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	secrets := map[string]string{}
	for _, kv := range w.env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "AWS_SECRET_ACCESS_KEY" || k == "DBSHIFT_SOURCE_PASSWORD" {
			secrets[k] = v
		} else {
			t.Setenv(k, v)
		}
	}
	return runCLI(t, secrets, args...)
}

// rdsSource starts a source in RDS mode with the two tables of data.
func rdsSource(t *testing.T) (*sandbox.Instance, *dbconn.Conn) {
	t.Helper()
	src := sandboxtest.New(t, sandbox.Options{Instances: 1, RDS: true}).Instances[0]
	c := sandboxtest.Conn(t, src)
	mustExec(t, c.DB,
		"CREATE DATABASE app",
		"CREATE TABLE app.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT NOT NULL, amount DECIMAL(10,2), note VARCHAR(200), KEY (customer)) ENGINE=InnoDB",
		"CREATE TABLE app.customers (id INT PRIMARY KEY, name VARCHAR(100), updated_at TIMESTAMP(6) DEFAULT NOW(6)) ENGINE=InnoDB",
		"INSERT INTO app.customers (id, name) SELECT seq, CONCAT('customer-', seq) FROM app.seq_1_to_2000",
		"INSERT INTO app.orders (customer, amount, note) SELECT seq % 2000 + 1, seq / 100, REPEAT('x', seq % 150) FROM app.seq_1_to_20000",
	)
	return src, c
}

// runResources are the fake's resources tagged with a dbshift run id.
func runResources(t *testing.T, f *awsfake.Server) (insts, snaps []string) {
	t.Helper()
	for _, id := range f.InstanceIDs() {
		if st, ok := f.Instance(id); ok && hasRunTag(st.Tags) {
			insts = append(insts, id)
		}
	}
	for _, id := range f.SnapshotIDs() {
		if st, ok := f.Snapshot(id); ok && hasRunTag(st.Tags) {
			snaps = append(snaps, id)
		}
	}
	return insts, snaps
}

func hasRunTag(tags []awsfake.Tag) bool {
	return slices.ContainsFunc(tags, func(t awsfake.Tag) bool { return t.Key == provider.TagRunID && t.Value != "" })
}

func TestRunAWS_KilledInEveryStepThenResumedReachesSync(t *testing.T) {
	src, sc := rdsSource(t)
	w := newRDSWorld(t, src, sc)
	specPath := w.spec(t, false, "")
	state := filepath.Join(t.TempDir(), "state")
	jpath := filepath.Join(state, "run.journal")
	writer := startAppWriter(sandboxtest.Conn(t, src).DB, 5*time.Millisecond)
	steps := []string{strategy.StepPreflight, strategy.StepRetention, strategy.StepCreateRepl, strategy.StepReplicaSync, strategy.StepCapture,
		strategy.StepSnapshot, strategy.StepCopy, strategy.StepRestore, strategy.StepVerify, strategy.StepReplicate, strategy.StepTargetInSync, strategy.StepCleanup}
	args := []string{"run", "-f", specPath, "--state", state, "--yes"}
	kills := 0
	start := time.Now()
	for _, step := range steps {
		if killAt(t, w.env, jpath, step, "start", args...) {
			kills++
		}
		args = []string{"resume", "--state", state}
	}
	t.Logf("killed dbshift %d times, once inside each step (%s)", kills, time.Since(start).Round(time.Millisecond))
	if kills < len(steps)-2 {
		t.Errorf("only %d of %d kills landed", kills, len(steps))
	}
	code, out, errs := w.cli(t, "resume", "--state", state)
	if code != 0 || !strings.Contains(out, "target in sync") {
		t.Fatalf("final resume: exit %d\n%s\n%s", code, out, errs)
	}
	n := writer.halt()
	t.Logf("the writer made %d rounds of insert+update during the run", n)

	// The SQL half ran on the servers: retention set through the RDS
	// procedure, the target replicating over TLS from the recorded file:pos.
	var retention string
	if err := sc.DB.QueryRow("SELECT value FROM mysql.rds_configuration WHERE name = 'binlog retention hours'").Scan(&retention); err != nil || retention != "168" {
		t.Errorf("binlog retention hours on the source: %q, %v", retention, err)
	}
	j, err := journal.Open(jpath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	addr, _ := j.Value(strategy.StepRestore, "addr")
	if addr == "" {
		t.Fatal("no target address in the journal")
	}
	if tls, _ := j.Value(strategy.StepReplicate, "tls"); tls != "true" {
		t.Errorf("target replicates with tls=%q, want true", tls)
	}
	tgt, ok := w.fake.Instance("prod-encrypted")
	if !ok {
		t.Fatal("no target instance in the fake")
	}
	if fmt.Sprintf("%s:%d", tgt.Host, tgt.Port) != addr {
		t.Errorf("journal has target %s, the fake's endpoint is %s:%d", addr, tgt.Host, tgt.Port)
	}
	if !tgt.Encrypted || tgt.KmsKeyID != awsTestKMSKey {
		t.Errorf("target StorageEncrypted=%v KmsKeyId=%s", tgt.Encrypted, tgt.KmsKeyID)
	}
	// The restored instance keeps the source's master password.
	tc, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "target", DSN: src.AdminUser + "@tcp(" + addr + ")/", PasswordFile: src.PasswordFile()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if !tc.Flavor.RDS {
		t.Error("the target is not seen as RDS")
	}
	assertSyncedAndEncrypted(t, sc, tc, "tablespaces of the server behind the target")

	// Cleanup deleted the temporary replica and both snapshots, nothing else.
	insts, snaps := runResources(t, w.fake)
	if !slices.Equal(insts, []string{"prod-encrypted"}) || len(snaps) != 0 {
		t.Errorf("after cleanup the run still has instances %v, snapshots %v; want only the target", insts, snaps)
	}
	for _, id := range []string{"prod", "unrelated"} {
		if _, ok := w.fake.Instance(id); !ok {
			t.Errorf("instance %s is gone", id)
		}
	}
	for _, a := range []string{"CreateDBInstanceReadReplica", "CreateDBSnapshot", "CopyDBSnapshot", "RestoreDBInstanceFromDBSnapshot"} {
		if n := w.fake.CallCount(a); n != 1 {
			t.Errorf("%s called %d times across the kills, want once", a, n)
		}
	}
}

func TestAbortAWS_FromSeveralStepsDeletesWhatTheRunCreated(t *testing.T) {
	src, sc := rdsSource(t)
	// A retention longer than the run needs is the operator's: kept.
	mustExec(t, sc.DB, "CALL mysql.rds_set_configuration('binlog retention hours', 720)")
	for _, at := range []string{strategy.StepCreateRepl, strategy.StepCopy, strategy.StepTargetInSync} {
		t.Run(at, func(t *testing.T) {
			w := newRDSWorld(t, src, sc)
			before := checksums(t, sc.DB)
			state := filepath.Join(t.TempDir(), "state")
			if !killAt(t, w.env, filepath.Join(state, "run.journal"), at, "done", "run", "-f", w.spec(t, true, ""), "--state", state, "--yes") {
				t.Fatalf("the run ended before %s was done", at)
			}
			insts, snaps := runResources(t, w.fake)
			t.Logf("the run had created instances %v, snapshots %v", insts, snaps)
			code, out, errs := w.cli(t, "abort", "--state", state, "--yes")
			if code != 0 {
				t.Fatalf("abort: exit %d\n%s\n%s", code, out, errs)
			}
			if insts, snaps := runResources(t, w.fake); len(insts)+len(snaps) != 0 {
				t.Errorf("after abort the run still has instances %v, snapshots %v", insts, snaps)
			}
			if ids := w.fake.InstanceIDs(); !slices.Equal(ids, []string{"prod", "unrelated"}) {
				t.Errorf("instances after abort: %v, want prod and unrelated", ids)
			}
			if after := checksums(t, sc.DB); fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("the source changed: %v -> %v", before, after)
			}
			var retention string
			if err := sc.DB.QueryRow("SELECT value FROM mysql.rds_configuration WHERE name = 'binlog retention hours'").Scan(&retention); err != nil || retention != "720" {
				t.Errorf("binlog retention hours on the source: %q, %v; want the operator's 720 kept", retention, err)
			}
			if sandboxtest.ReadOnly(t, sc) {
				t.Error("the source is read-only after abort")
			}
			if n := count(t, sc.DB, "SELECT COUNT(*) FROM mysql.user WHERE User = 'dbshift_repl'"); n != 0 {
				t.Error("the replication user is still on the source")
			}
		})
	}
}

// TestRunAWS_AutoCutoverSwitchesRoute53AndFencesTheOldSource runs the whole
// runbook through the cutover on RDS: the source fenced by locking the
// application account (no SET GLOBAL on RDS), the target opened through its
// own parameter group, the application's CNAME moved to the target and
// waited INSYNC, and the old source put behind the run's deny-all security
// group once replication stopped.
func TestRunAWS_AutoCutoverSwitchesRoute53AndFencesTheOldSource(t *testing.T) {
	src, sc := rdsSource(t)
	mustExec(t, sc.DB, "CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret-1'", "GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'%'")
	w := newRDSWorld(t, src, sc)
	w.targetHost = "localhost" // so the switch visibly moves the name
	w.fake.AddParameterGroup("prod-target-pg", "mariadb10.11", nil)
	w.fake.AddHostedZone("Z0FAKEZONE", "example.com")
	for _, kv := range w.env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	api, err := awsprov.New(context.Background(), awsprov.Config{Endpoint: w.fake.URL(), Clock: w.fake.Clock()})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.UpsertCNAME(context.Background(), awsprov.CNAMERequest{ZoneID: "Z0FAKEZONE", Name: "db.example.com", Target: "127.0.0.1", TTL: 60}, awsprov.WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	specPath := w.spec(t, false, ", parameter_group: prod-target-pg",
		`cutover: {mode: auto, app_accounts: ["app@%"], catchup_timeout: 30s, switch: {kind: route53, zone_id: Z0FAKEZONE, record: db.example.com}}`)
	state := filepath.Join(t.TempDir(), "state")
	code, out, errs := w.cli(t, "run", "-f", specPath, "--state", state, "--yes")
	if code != 0 || !strings.Contains(out, "completed") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("cutover report:\n%s", out)

	vals, ttl, ok := w.fake.Record("Z0FAKEZONE", "db.example.com", "CNAME")
	if !ok || !slices.Equal(vals, []string{"localhost"}) || ttl != 5 {
		t.Errorf("db.example.com after the cutover: %v ttl %d, want the target's endpoint localhost, ttl 5", vals, ttl)
	}
	if v, _ := w.fake.ParameterValue("prod-target-pg", "read_only"); v != "0" {
		t.Errorf("target parameter group read_only=%q after the cutover, want 0", v)
	}
	prod, _ := w.fake.Instance("prod")
	if len(prod.SecurityGroups) != 1 {
		t.Fatalf("old source's security groups: %v, want only the fence", prod.SecurityGroups)
	}
	sg, ok := w.fake.SecurityGroup(prod.SecurityGroups[0])
	if !ok || sg.IngressRules != 0 || sg.EgressRules != 0 || !hasRunTag(sg.Tags) ||
		!slices.Contains(sg.Tags, awsfake.Tag{Key: provider.TagRole, Value: provider.RoleFenceGroup}) {
		t.Errorf("fence group %+v: want no rule either way, tagged with the run", sg)
	}
	tgt, _ := w.fake.Instance("prod-encrypted")
	if slices.Equal(tgt.SecurityGroups, prod.SecurityGroups) {
		t.Error("the target got the deny-all group too")
	}

	// The target is the writable primary with everything the source had.
	tc, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "target", DSN: src.AdminUser + "@tcp(" + net.JoinHostPort(tgt.Host, fmt.Sprint(tgt.Port)) + ")/", PasswordFile: src.PasswordFile()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if sandboxtest.ReadOnly(t, tc) {
		t.Error("the target is still read-only after the cutover")
	}
	if st, err := replication.ReadStatus(context.Background(), tc); err != nil || st.Configured {
		t.Errorf("the target still replicates after promotion: %+v %v", st, err)
	}
	if s, tg := checksums(t, sc.DB), checksums(t, tc.DB); fmt.Sprint(s) != fmt.Sprint(tg) {
		t.Errorf("checksums differ: source %v target %v", s, tg)
	}
	// The application account writes on the new primary and is locked out
	// of the old one.
	appOn := func(addr string) (*dbconn.Conn, error) {
		return dbconn.Open(context.Background(), dbconn.Spec{Role: "app", DSN: "app@tcp(" + addr + ")/", Password: "app-secret-1"}, nil)
	}
	ac, err := appOn(net.JoinHostPort(tgt.Host, fmt.Sprint(tgt.Port)))
	if err != nil {
		t.Fatalf("the application account on the new primary: %v", err)
	}
	defer ac.Close()
	if _, err := ac.DB.Exec("INSERT INTO app.orders (customer, amount, note) VALUES (1, 1, 'after cutover')"); err != nil {
		t.Errorf("application write on the new primary: %v", err)
	}
	if oc, err := appOn(src.Addr()); err == nil {
		oc.Close()
		t.Error("the application account still logs in to the old source")
	}
}

// TestRunAWS_AutoCutoverFencesThroughTheSourceParameterGroup: without
// application accounts to lock, the source is fenced with read_only=1 in
// its own parameter group, waited until the server shows it.
func TestRunAWS_AutoCutoverFencesThroughTheSourceParameterGroup(t *testing.T) {
	src, sc := rdsSource(t)
	w := newRDSWorld(t, src, sc, "prod-pg")
	w.fake.AddParameterGroup("prod-target-pg", "mariadb10.11", nil)
	specPath := w.spec(t, false, ", parameter_group: prod-target-pg", `cutover: {mode: auto, catchup_timeout: 30s}`)
	state := filepath.Join(t.TempDir(), "state")
	writer := startAppWriter(sandboxtest.Conn(t, src).DB, 5*time.Millisecond)
	code, out, errs := w.cli(t, "run", "-f", specPath, "--state", state, "--yes")
	writer.halt()
	if code != 0 || !strings.Contains(out, "completed") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	if v, _ := w.fake.ParameterValue("prod-pg", "read_only"); v != "1" {
		t.Errorf("source parameter group read_only=%q after the cutover, want 1", v)
	}
	if !sandboxtest.ReadOnly(t, sc) {
		t.Error("the old source is writable after the cutover")
	}
	tgt, _ := w.fake.Instance("prod-encrypted")
	tc, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "target", DSN: src.AdminUser + "@tcp(" + net.JoinHostPort(tgt.Host, fmt.Sprint(tgt.Port)) + ")/", PasswordFile: src.PasswordFile()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if sandboxtest.ReadOnly(t, tc) {
		t.Error("the target is read-only after the cutover")
	}
	if s, tg := checksums(t, sc.DB), checksums(t, tc.DB); fmt.Sprint(s) != fmt.Sprint(tg) {
		t.Errorf("checksums differ: source %v target %v", s, tg)
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/awsfake"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// bgWorld is an RDS world for strategy blue-green: the source "prod" with a
// custom parameter group of its own, green's group, an application account
// and a general log of the application's reads.
type bgWorld struct {
	*rdsWorld
	spec, state string
}

// assertAborted checks that abort deleted the deployment and green and
// left the other instances.
func (w *bgWorld) assertAborted(t *testing.T) {
	t.Helper()
	if bg, ok := w.fake.BlueGreen("prod-upgrade"); ok && bg.Status != "DELETING" {
		t.Errorf("the deployment after abort: %+v, want deleted", bg)
	}
	if ids := w.fake.InstanceIDs(); fmt.Sprint(ids) != "[prod unrelated]" {
		t.Errorf("instances after abort: %v, want prod and unrelated", ids)
	}
}

// checkVersion is the upgrade checks' target ("": none, as for green's
// MariaDB 10.11.9).
func newBGWorld(t *testing.T, checkVersion string, extra ...string) *bgWorld {
	t.Helper()
	src, sc := rdsSource(t)
	mustExec(t, sc.DB, "CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret-1'", "GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'%'")
	w := newRDSWorld(t, src, sc, "prod-pg")
	w.fake.AddParameterGroup("green-pg", "mariadb10.11", nil)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "general.log")
	log := "/usr/sbin/mariadbd, Version: 10.11.8-MariaDB-log (Source distribution). started with:\n" +
		"Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\n" +
		"Time                 Id Command    Argument\n" +
		"2026-11-01T10:00:00.000001Z\t    8 Connect\tapp@10.0.0.5 on app using TCP/IP\n" +
		"2026-11-01T10:00:00.000002Z\t    8 Query\tSELECT COUNT(*), SUM(amount) FROM orders WHERE customer < 100\n" +
		"2026-11-01T10:00:00.000003Z\t    8 Query\tSELECT name FROM customers WHERE id = 42\n" +
		"2026-11-01T10:00:00.000004Z\t    8 Query\tSELECT customer, COUNT(*) FROM orders GROUP BY customer ORDER BY customer LIMIT 20\n" +
		"2026-11-01T10:00:00.000005Z\t    8 Quit\t\n"
	if err := os.WriteFile(logPath, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(dir, "spec.yaml")
	body := fmt.Sprintf(`name: upgrade-bg
provider: aws
strategy: blue-green
source: {dsn: "%s", password_file: %s}
target: {id: prod-upgrade, engine_version: "10.11.9"}
replication: {max_lag: 1s}
aws: {region: us-east-1, source_instance: prod, parameter_group: green-pg, endpoint: "%s", poll_interval: 20ms}
blue_green: {compare_logs: ["%s"]%s}
`, w.src.DSN(), w.src.PasswordFile(), w.fake.URL(), logPath, map[bool]string{true: ", check_version: " + checkVersion}[checkVersion != ""]) + strings.Join(extra, "\n") + "\n"
	if err := os.WriteFile(spec, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return &bgWorld{rdsWorld: w, spec: spec, state: filepath.Join(dir, "state")}
}

// member connects as the admin to the server now named id in the fake.
func (w *rdsWorld) member(t *testing.T, id string) *dbconn.Conn {
	t.Helper()
	inst, ok := w.fake.Instance(id)
	if !ok {
		t.Fatalf("no instance %s in the fake", id)
	}
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "member", DSN: fmt.Sprintf("%s@tcp(%s:%d)/", w.src.AdminUser, inst.Host, inst.Port), PasswordFile: w.src.PasswordFile()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// appWrite inserts as the application account on c's server.
func appWrite(c *dbconn.Conn, note string) error {
	ac, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "app", DSN: "app@tcp(" + c.Addr + ")/", Password: "app-secret-1"}, nil)
	if err != nil {
		return err
	}
	defer ac.Close()
	_, err = ac.DB.Exec("INSERT INTO app.orders (customer, amount, note) VALUES (1, 1, ?)", note)
	return err
}

// switchedOver runs the blue-green run through its read-only switchover
// with an application writer on blue, and checks the state it leaves:
// green (now named prod) and the old blue (prod-old1) both read-only,
// holding the same data; the writer's last acknowledged write on green.
func (w *bgWorld) switchedOver(t *testing.T) (blue, green *dbconn.Conn) {
	t.Helper()
	writer := startAppWriter(sandboxtest.Conn(t, w.src).DB, 5*time.Millisecond)
	code, out, errs := w.cli(t, "run", "-f", w.spec, "--state", w.state, "--yes")
	n := writer.halt()
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("the writer made %d rounds during the run; report:\n%s", n, out)
	return w.assertSwitchedReadOnly(t, out)
}

// assertSwitchedReadOnly checks what a read-only switchover leaves: green
// (now named prod) and the old blue (prod-old1) both read-only, holding the
// same data, green no longer replicating.
func (w *bgWorld) assertSwitchedReadOnly(t *testing.T, out string) (blue, green *dbconn.Conn) {
	t.Helper()
	if strings.Contains(out, "came out of the switchover writable") {
		t.Error("green was writable after the switchover (read_only not pinned in its group)")
	}
	bg, ok := w.fake.BlueGreen("prod-upgrade")
	if !ok || bg.Status != "SWITCHOVER_COMPLETED" {
		t.Fatalf("deployment after the run: %+v (found %v), want SWITCHOVER_COMPLETED", bg, ok)
	}
	green, blue = w.member(t, "prod"), w.member(t, "prod-old1")
	if green.Addr == blue.Addr || blue.Addr != w.src.Addr() {
		t.Fatalf("after the switchover prod is %s and prod-old1 %s; the original server is %s", green.Addr, blue.Addr, w.src.Addr())
	}
	// Read-only through the switchover: green never opened.
	if !sandboxtest.ReadOnly(t, green) || !sandboxtest.ReadOnly(t, blue) {
		t.Fatalf("read_only after the switchover: green %v, old blue %v; want both", sandboxtest.ReadOnly(t, green), sandboxtest.ReadOnly(t, blue))
	}
	if v, _ := w.fake.ParameterValue("green-pg", "read_only"); v != "1" {
		t.Errorf("green's parameter group read_only=%q, want the pinned 1", v)
	}
	if err := appWrite(green, "during the window"); err == nil || !strings.Contains(err.Error(), "1290") {
		t.Errorf("an application write on green before open-writes: %v, want error 1290 (read-only)", err)
	}
	if b, g := checksums(t, blue.DB), checksums(t, green.DB); fmt.Sprint(b) != fmt.Sprint(g) {
		t.Errorf("green does not hold exactly blue's data: blue %v green %v", b, g)
	}
	if st, err := replication.ReadStatus(context.Background(), green); err != nil || st.Configured {
		t.Errorf("green still replicates after the switchover: %+v %v", st, err)
	}
	if b, err := os.ReadFile(filepath.Join(w.state, "compare.txt")); err != nil || !strings.Contains(string(b), "queries_no_diffs") && !strings.Contains(string(b), "3") {
		t.Errorf("the comparison's report: %v\n%s", err, b)
	}
	return blue, green
}

// TestRunAWS_BlueGreenReadOnlySwitchoverThenOpenWritesAndRollbackOverReverse:
// the switchover keeps writes fenced until open-writes; open-writes --reverse
// makes the old blue replicate from green first, so the rollback after
// writes opened loses none of them.
func TestRunAWS_BlueGreenReadOnlySwitchoverThenOpenWritesAndRollbackOverReverse(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}")
	blue, green := w.switchedOver(t)

	code, out, errs := w.cli(t, "cutover", "open-writes", "--state", w.state, "--reverse", "--yes")
	if code != 0 {
		t.Fatalf("open-writes: exit %d\n%s\n%s", code, out, errs)
	}
	if sandboxtest.ReadOnly(t, green) {
		t.Fatal("green is still read-only after open-writes")
	}
	if v, _ := w.fake.ParameterValue("green-pg", "read_only"); v != "0" {
		t.Errorf("green's parameter group read_only=%q after open-writes, want 0", v)
	}
	if !sandboxtest.ReadOnly(t, blue) {
		t.Error("the old blue is writable beside the open green")
	}
	for i := 0; i < 20; i++ {
		if err := appWrite(green, fmt.Sprintf("on green %d", i)); err != nil {
			t.Fatalf("application write on the open green: %v", err)
		}
	}
	st, err := replication.ReadStatus(context.Background(), blue)
	if err != nil || st.IORunning != "Yes" || st.SQLRunning != "Yes" {
		t.Fatalf("the old blue does not replicate from green: %+v %v", st, err)
	}

	code, out, errs = w.cli(t, "rollback", "--state", w.state, "--yes")
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("rollback report:\n%s", out)
	if sandboxtest.ReadOnly(t, blue) || !sandboxtest.ReadOnly(t, green) {
		t.Errorf("after the rollback: old blue read_only=%v, green read_only=%v; want blue writable, green read-only", sandboxtest.ReadOnly(t, blue), sandboxtest.ReadOnly(t, green))
	}
	if n := count(t, blue.DB, "SELECT COUNT(*) FROM app.orders WHERE note LIKE 'on green %'"); n != 20 {
		t.Errorf("the old blue has %d of the 20 writes green took, want all", n)
	}
	if err := appWrite(blue, "back on blue"); err != nil {
		t.Errorf("application write on the old blue after the rollback: %v", err)
	}
}

// TestRunAWS_BlueGreenKilledInsideTheCutoverResumes kills dbshift inside
// the cutover: after blue is fenced (resume backs out: blue writable, the
// deployment untouched, a new cutover goes through) and right after it
// asked RDS for the switchover (resume re-attaches to it and finishes; no
// second switchover).
func TestRunAWS_BlueGreenKilledInsideTheCutoverResumes(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: manual, catchup_timeout: 30s}")
	code, out, errs := w.cli(t, "run", "-f", w.spec, "--state", w.state, "--yes")
	if code != 0 || !strings.Contains(out, "Cut over when ready") {
		t.Fatalf("run to the cutover: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = w.cli(t, "status", "--state", w.state)
	if code != 0 || !strings.Contains(out, "target prod-green-") || !strings.Contains(out, "in sync") {
		t.Errorf("status before the cutover: exit %d, want green's lag\n%s\n%s", code, out, errs)
	}
	cj := filepath.Join(w.state, "cutover", "cutover.journal")
	if !killAt(t, w.env, cj, "fence", "done", "cutover", "--state", w.state, "--yes") {
		t.Fatal("the cutover finished before the kill")
	}
	if !sandboxtest.ReadOnly(t, w.srcConn) {
		t.Fatal("blue is not fenced at the kill")
	}
	code, out, errs = w.cli(t, "cutover", "--state", w.state, "--resume", "--yes")
	if code == 0 || sandboxtest.ReadOnly(t, w.srcConn) {
		t.Fatalf("resume before the switchover: exit %d, blue read_only=%v; want backed out (exit 1) and blue writable\n%s\n%s", code, sandboxtest.ReadOnly(t, w.srcConn), out, errs)
	}
	if bg, _ := w.fake.BlueGreen("prod-upgrade"); bg.Status != "AVAILABLE" {
		t.Fatalf("deployment after backing out: %+v, want AVAILABLE", bg)
	}
	if !killAt(t, w.env, cj, "switchover", "start", "cutover", "--state", w.state, "--yes") {
		t.Fatal("the cutover finished before the kill")
	}
	code, out, errs = w.cli(t, "cutover", "--state", w.state, "--resume", "--yes")
	if code != 0 {
		t.Fatalf("resume inside the switchover: exit %d\n%s\n%s", code, out, errs)
	}
	w.assertSwitchedReadOnly(t, out)
	if n := w.fake.CallCount("SwitchoverBlueGreenDeployment"); n != 1 {
		t.Errorf("SwitchoverBlueGreenDeployment called %d times, want once", n)
	}
}

// TestRunAWS_BlueGreenRollbackBeforeWritesOpen: before open-writes the way
// back is to unfence the old blue; green stays read-only, and open-writes
// is refused afterwards (two writable servers).
func TestRunAWS_BlueGreenRollbackBeforeWritesOpen(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}")
	blue, green := w.switchedOver(t)
	// abort after the switchover: refused, naming who is who and the way back.
	code, out, errs := w.cli(t, "abort", "--state", w.state)
	if code != 2 || !strings.Contains(errs, "green prod is the primary") || !strings.Contains(errs, "prod-old1 the old blue") || !strings.Contains(errs, "dbshift rollback --state") {
		t.Errorf("abort after the switchover: exit %d, want 2 naming green prod, the old blue prod-old1 and rollback\n%s\n%s", code, out, errs)
	}
	// Unconfirmed (no terminal): the rollback says what it would touch,
	// by name, and touches nothing.
	code, out, errs = w.cli(t, "rollback", "--state", w.state)
	for _, want := range []string{"green prod is read-only (read_only=1 in its parameter group) before anything else",
		"point the application at prod-old1", "make the old blue prod-old1 writable again"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the rollback's confirmation lacks %q:\n%s", want, errs)
		}
	}
	if code != 2 || !sandboxtest.ReadOnly(t, blue) {
		t.Fatalf("unconfirmed rollback: exit %d, blue read_only=%v; want 2 and nothing changed\n%s\n%s", code, sandboxtest.ReadOnly(t, blue), out, errs)
	}
	code, out, errs = w.cli(t, "rollback", "--state", w.state, "--yes")
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errs)
	}
	if sandboxtest.ReadOnly(t, blue) || !sandboxtest.ReadOnly(t, green) {
		t.Errorf("after the rollback: old blue read_only=%v, green read_only=%v; want blue writable, green read-only", sandboxtest.ReadOnly(t, blue), sandboxtest.ReadOnly(t, green))
	}
	if v, _ := w.fake.ParameterValue("prod-pg", "read_only"); v != "0" {
		t.Errorf("blue's parameter group read_only=%q after the rollback, want 0", v)
	}
	if err := appWrite(blue, "back on blue"); err != nil {
		t.Errorf("application write on the old blue: %v", err)
	}
	code, out, errs = w.cli(t, "cutover", "open-writes", "--state", w.state, "--yes")
	if code == 0 || sandboxtest.ReadOnly(t, green) == false {
		t.Errorf("open-writes after the rollback: exit %d, green read_only=%v; want refused\n%s\n%s", code, sandboxtest.ReadOnly(t, green), out, errs)
	}
}

// TestRunAWS_BlueGreenFailedChecksStopBeforeTheSwitchover: an upgrade check
// error stops the run with blue untouched; abort deletes the deployment
// and green, nothing else.
func TestRunAWS_BlueGreenFailedChecksStopBeforeTheSwitchover(t *testing.T) {
	w := newBGWorld(t, "8.0", "cutover: {mode: auto}")
	mustExec(t, w.srcConn.DB, "CREATE VIEW app.v_pw AS SELECT PASSWORD('x') AS p")
	code, out, errs := w.cli(t, "run", "-f", w.spec, "--state", w.state, "--yes")
	// MariaDB's default sql_mode holds NO_AUTO_CREATE_USER, which 8.0 removed.
	if code != 1 || !strings.Contains(errs, "upgrade checks for 8.0: 2 error(s)") || !strings.Contains(errs, "removed-functions app.v_pw") ||
		!strings.Contains(errs, "obsolete-sql-mode-global") {
		t.Fatalf("run with a view on a removed function: exit %d, want 1 naming the failed checks\n%s\n%s", code, out, errs)
	}
	if bg, _ := w.fake.BlueGreen("prod-upgrade"); bg.Status != "AVAILABLE" {
		t.Errorf("deployment %+v, want AVAILABLE (never switched)", bg)
	}
	if sandboxtest.ReadOnly(t, w.srcConn) {
		t.Error("blue was fenced although the checks failed")
	}
	// Unconfirmed (no terminal): abort says what it would delete and put
	// back, by name, and which side stays writable.
	bg, _ := w.fake.BlueGreen("prod-upgrade")
	code, out, errs = w.cli(t, "abort", "--state", w.state)
	for _, want := range []string{"delete blue/green deployment prod-upgrade (" + bg.ID, "its green instance " + bg.Green,
		"put read_only in green's parameter group green-pg back to the engine's default", "blue prod is not touched: it stays the primary and stays writable"} {
		if !strings.Contains(errs, want) {
			t.Errorf("abort's confirmation lacks %q:\n%s", want, errs)
		}
	}
	if code != 2 {
		t.Fatalf("unconfirmed abort: exit %d, want 2\n%s\n%s", code, out, errs)
	}
	code, out, errs = w.cli(t, "abort", "--state", w.state, "--yes")
	if code != 0 {
		t.Fatalf("abort: exit %d\n%s\n%s", code, out, errs)
	}
	w.assertAborted(t)
	// prepare-green pinned read_only=1 in green's group, which did not set
	// it: abort leaves it to the engine's default again.
	if v, set := w.fake.ParameterValue("green-pg", "read_only"); set {
		t.Errorf("green's parameter group read_only=%q after abort, want it unset as before the run", v)
	}
}

// TestRunAWS_BlueGreenSwitchoverRolledBackByRDSUnfencesBlue: RDS abandons
// the switchover (SWITCHOVER_FAILED); the cutover backs out like any failure
// before the point of no return: blue writable again, green read-only.
func TestRunAWS_BlueGreenSwitchoverRolledBackByRDSUnfencesBlue(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}")
	w.fake.InjectEffect("CreateBlueGreenDeployment", awsfake.Fail)
	code, out, errs := w.cli(t, "run", "-f", w.spec, "--state", w.state, "--yes")
	if code != 1 || !strings.Contains(out+errs, "SWITCHOVER_FAILED") {
		t.Fatalf("run with a failing switchover: exit %d, want 1 naming SWITCHOVER_FAILED\n%s\n%s", code, out, errs)
	}
	if sandboxtest.ReadOnly(t, w.srcConn) {
		t.Error("blue is still fenced after RDS rolled the switchover back")
	}
	if v, _ := w.fake.ParameterValue("prod-pg", "read_only"); v != "0" {
		t.Errorf("blue's parameter group read_only=%q, want 0", v)
	}
	bg, _ := w.fake.BlueGreen("prod-upgrade")
	if bg.Status != "SWITCHOVER_FAILED" || bg.Blue != "prod" {
		t.Fatalf("deployment %+v, want SWITCHOVER_FAILED with blue still named prod", bg)
	}
	if !sandboxtest.ReadOnly(t, w.member(t, bg.Green)) {
		t.Error("green is writable after the failed switchover")
	}
	if err := appWrite(w.srcConn, "after the failed switchover"); err != nil {
		t.Errorf("application write on blue: %v", err)
	}
	// RDS will not switch this deployment over again: a second cutover
	// refuses before it fences blue, instead of fencing, draining and
	// backing out again.
	modifies := w.fake.CallCount("ModifyDBParameterGroup")
	code, out, errs = w.cli(t, "cutover", "--state", w.state, "--yes")
	if code == 0 || !strings.Contains(out+errs, "SWITCHOVER_FAILED") || !strings.Contains(out+errs, "dbshift abort --state") {
		t.Errorf("cutover again after SWITCHOVER_FAILED: exit %d, want refused naming the state and abort\n%s\n%s", code, out, errs)
	}
	if n := w.fake.CallCount("ModifyDBParameterGroup"); n != modifies {
		t.Errorf("the second cutover changed parameter groups %d times (blue fenced for nothing)", n-modifies)
	}
	// Blue is the primary again: the run can be undone like one that
	// never reached the cutover.
	code, out, errs = w.cli(t, "abort", "--state", w.state, "--yes")
	if code != 0 {
		t.Fatalf("abort after RDS rolled the switchover back: exit %d\n%s\n%s", code, out, errs)
	}
	w.assertAborted(t)
	if sandboxtest.ReadOnly(t, w.srcConn) {
		t.Error("blue is read-only after abort")
	}
	if v, set := w.fake.ParameterValue("green-pg", "read_only"); set {
		t.Errorf("green's parameter group read_only=%q after abort, want it unset as before the run", v)
	}
}

// TestRunAWS_BlueGreenMaintenanceWindowPointsBackOnFailedReadChecks is
// runbook 2's switch on RDS Blue/Green: maintenance on, read-only
// switchover, read checks against green while nobody can write; a failing
// read check points back: blue writable again, green read-only, maintenance
// off.
func TestRunAWS_BlueGreenMaintenanceWindowPointsBackOnFailedReadChecks(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "phases")
	hook := func(phase string, fail bool) string {
		cmd := "echo " + phase + " >> " + rec
		if fail {
			cmd += "; exit 3"
		}
		return fmt.Sprintf("%q", cmd)
	}
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}",
		"maintenance: {on: "+hook("on", false)+", read_checks: "+hook("read-checks", true)+", write_checks: "+hook("write-checks", false)+", off: "+hook("off", false)+"}")
	code, out, errs := w.cli(t, "run", "-f", w.spec, "--state", w.state, "--yes")
	if code != 1 || !strings.Contains(out+errs, "read checks failed") {
		t.Fatalf("run with failing read checks: exit %d, want 1 saying so\n%s\n%s", code, out, errs)
	}
	b, err := os.ReadFile(rec)
	if err != nil || string(b) != "on\nread-checks\noff\n" {
		t.Errorf("phases run: %q (%v), want on, read-checks, off", b, err)
	}
	bg, _ := w.fake.BlueGreen("prod-upgrade")
	if bg.Status != "SWITCHOVER_COMPLETED" {
		t.Fatalf("deployment %+v, want switched over", bg)
	}
	blue, green := w.member(t, "prod-old1"), w.member(t, "prod")
	if sandboxtest.ReadOnly(t, blue) || !sandboxtest.ReadOnly(t, green) {
		t.Errorf("after pointing back: old blue read_only=%v, green read_only=%v; want blue writable, green read-only", sandboxtest.ReadOnly(t, blue), sandboxtest.ReadOnly(t, green))
	}
	if strings.Contains(out, "restarting replication") {
		t.Errorf("pointing back tried to restart green's replication:\n%s", out)
	}
	if err := appWrite(blue, "after the window"); err != nil {
		t.Errorf("application write on blue after pointing back: %v", err)
	}
}

// TestRunAWS_BlueGreenRollbackClosesGreenFirst: green was opened behind
// dbshift's back after the switchover; the rollback before open-writes
// closes it before it opens the old blue, so at no moment are both
// writable, and says that green had been writable.
func TestRunAWS_BlueGreenRollbackClosesGreenFirst(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}")
	blue, green := w.switchedOver(t)
	if err := w.setReadOnly(context.Background(), "prod", false); err != nil {
		t.Fatal(err)
	}
	code, out, errs := w.cli(t, "rollback", "--state", w.state, "--yes")
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errs)
	}
	if !sandboxtest.ReadOnly(t, green) || sandboxtest.ReadOnly(t, blue) {
		t.Errorf("after the rollback: green read_only=%v, old blue read_only=%v; want green read-only, blue writable", sandboxtest.ReadOnly(t, green), sandboxtest.ReadOnly(t, blue))
	}
	if !strings.Contains(out, "was writable although writes were never opened") {
		t.Errorf("the rollback's report does not say green had been writable:\n%s", out)
	}
}

// TestRunAWS_BlueGreenRollbackRefusedOnceOpenWritesStarted: open-writes is
// killed right after it journaled its start (green may be open, and may
// have taken writes); the rollback that only points back must refuse and
// leave the old blue read-only.
func TestRunAWS_BlueGreenRollbackRefusedOnceOpenWritesStarted(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}")
	blue, _ := w.switchedOver(t)
	cj := filepath.Join(w.state, "cutover", "cutover.journal")
	if !killAt(t, w.env, cj, "open-writes", "start", "cutover", "open-writes", "--state", w.state, "--yes") {
		t.Fatal("open-writes finished before the kill")
	}
	code, out, errs := w.cli(t, "rollback", "--state", w.state, "--yes")
	if code == 0 || !strings.Contains(out+errs, "open-writes ran on") {
		t.Errorf("rollback after an interrupted open-writes: exit %d, want refused saying open-writes ran\n%s\n%s", code, out, errs)
	}
	if !sandboxtest.ReadOnly(t, blue) {
		t.Error("the old blue was opened although green may hold writes it lacks")
	}
	if v, _ := w.fake.ParameterValue("prod-pg", "read_only"); v != "1" {
		t.Errorf("blue's parameter group read_only=%q after the refused rollback, want 1", v)
	}
}

// TestRunAWS_BlueGreenOpenWritesRefusedAfterAnInterruptedRollback: the
// rollback is killed once it asked RDS to open the old blue; open-writes
// must not open green beside it.
func TestRunAWS_BlueGreenOpenWritesRefusedAfterAnInterruptedRollback(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}")
	blue, green := w.switchedOver(t)
	blueOpening := func() bool { v, _ := w.fake.ParameterValue("prod-pg", "read_only"); return v == "0" }
	if !killWhen(t, w.env, blueOpening, "rollback", "--state", w.state, "--yes") {
		t.Fatal("the rollback finished before the kill")
	}
	code, out, errs := w.cli(t, "cutover", "open-writes", "--state", w.state, "--yes")
	if code == 0 || !strings.Contains(out+errs, "a rollback (read-only) of this cutover started") {
		t.Errorf("open-writes after an interrupted rollback: exit %d, want refused naming the rollback\n%s\n%s", code, out, errs)
	}
	if !sandboxtest.ReadOnly(t, green) {
		t.Errorf("green was opened beside the old blue (blue read_only=%v)", sandboxtest.ReadOnly(t, blue))
	}
	code, out, errs = w.cli(t, "rollback", "--state", w.state, "--yes")
	if code != 0 || sandboxtest.ReadOnly(t, blue) || !sandboxtest.ReadOnly(t, green) {
		t.Errorf("the rollback run again: exit %d, blue read_only=%v, green read_only=%v; want it finished: blue writable, green read-only\n%s\n%s", code, sandboxtest.ReadOnly(t, blue), sandboxtest.ReadOnly(t, green), out, errs)
	}
}

// TestRunAWS_BlueGreenGreenCameOutWritableRefusesReadOnlyRollback: RDS
// opens green at the switchover (its group did not hold read_only=1); the
// cutover closes it again and journals it, and the rollback that only
// points traffic back refuses: green may hold writes the old blue lacks.
func TestRunAWS_BlueGreenGreenCameOutWritableRefusesReadOnlyRollback(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}")
	w.fake.SetSwitchoverFunc(func(ev awsfake.SwitchoverEvent) {
		ev.GreenReadOnly = false
		w.switchover(t, ev)
	})
	code, out, errs := w.cli(t, "run", "-f", w.spec, "--state", w.state, "--yes")
	if code != 0 || !strings.Contains(out, "came out of the switchover writable") {
		t.Fatalf("run: exit %d, want it completed, saying green came out writable\n%s\n%s", code, out, errs)
	}
	blue, green := w.member(t, "prod-old1"), w.member(t, "prod")
	if !sandboxtest.ReadOnly(t, green) {
		t.Fatal("green was not made read-only again after the switchover")
	}
	code, out, errs = w.cli(t, "rollback", "--state", w.state, "--yes")
	if code == 0 || !strings.Contains(errs, "came out of the switchover writable") || !strings.Contains(errs, "prod-old1") {
		t.Errorf("rollback after green came out writable: exit %d, want refused naming green's window and the old blue\n%s\n%s", code, out, errs)
	}
	if !sandboxtest.ReadOnly(t, blue) || !sandboxtest.ReadOnly(t, green) {
		t.Errorf("after the refused rollback: old blue read_only=%v, green read_only=%v; want both read-only", sandboxtest.ReadOnly(t, blue), sandboxtest.ReadOnly(t, green))
	}
}

// TestRunAWS_BlueGreenRollbackOverReverseKilledResumes: the rollback after
// open-writes --reverse is killed once it asked RDS to open the old blue
// (past its point of no return); rollback --resume finishes it from its own
// journal (RUN/rollback): blue writable with every write green took, green
// fenced. Run again, it says it is done and changes nothing.
func TestRunAWS_BlueGreenRollbackOverReverseKilledResumes(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}")
	blue, green := w.switchedOver(t)
	code, out, errs := w.cli(t, "cutover", "open-writes", "--state", w.state, "--reverse", "--yes")
	if code != 0 {
		t.Fatalf("open-writes: exit %d\n%s\n%s", code, out, errs)
	}
	for i := 0; i < 20; i++ {
		if err := appWrite(green, fmt.Sprintf("on green %d", i)); err != nil {
			t.Fatalf("application write on the open green: %v", err)
		}
	}
	blueOpening := func() bool { v, _ := w.fake.ParameterValue("prod-pg", "read_only"); return v == "0" }
	if !killWhen(t, w.env, blueOpening, "rollback", "--state", w.state, "--yes") {
		t.Fatal("the rollback finished before the kill")
	}
	if _, err := os.Stat(filepath.Join(w.state, "rollback", "cutover.journal")); err != nil {
		t.Errorf("the rollback's journal: %v", err)
	}
	code, out, errs = w.cli(t, "rollback", "--state", w.state, "--resume", "--yes")
	if code != 0 {
		t.Fatalf("rollback --resume: exit %d\n%s\n%s", code, out, errs)
	}
	if sandboxtest.ReadOnly(t, blue) || !sandboxtest.ReadOnly(t, green) {
		t.Errorf("after the resumed rollback: old blue read_only=%v, green read_only=%v; want blue writable, green read-only", sandboxtest.ReadOnly(t, blue), sandboxtest.ReadOnly(t, green))
	}
	if n := count(t, blue.DB, "SELECT COUNT(*) FROM app.orders WHERE note LIKE 'on green %'"); n != 20 {
		t.Errorf("the old blue has %d of the 20 writes green took, want all", n)
	}
	if st, err := replication.ReadStatus(context.Background(), blue); err != nil || st.Configured {
		t.Errorf("the old blue still replicates from green after the rollback: %+v %v", st, err)
	}
	code, out, errs = w.cli(t, "rollback", "--state", w.state, "--yes")
	if code != 0 || !strings.Contains(out, "already rolled back") || sandboxtest.ReadOnly(t, blue) || !sandboxtest.ReadOnly(t, green) {
		t.Errorf("rollback run again: exit %d, want it to say it is done and change nothing\n%s\n%s", code, out, errs)
	}
}

// TestRunAWS_BlueGreenRollbackRefusedWithoutReverse: after open-writes
// without --reverse the old blue lacks green's writes; the rollback refuses,
// naming both instances, which one takes writes, and what is left to do.
func TestRunAWS_BlueGreenRollbackRefusedWithoutReverse(t *testing.T) {
	w := newBGWorld(t, "", "cutover: {mode: auto, catchup_timeout: 30s}")
	blue, green := w.switchedOver(t)
	code, out, errs := w.cli(t, "cutover", "open-writes", "--state", w.state, "--yes")
	if code != 0 {
		t.Fatalf("open-writes: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = w.cli(t, "rollback", "--state", w.state, "--yes")
	for _, want := range []string{"writes are open on green prod", "the old blue prod-old1 does not have green's writes",
		"Nothing was changed: prod takes writes, prod-old1 stays read-only", "keep prod, or move to a new instance with a new run"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the refused rollback's message lacks %q:\n%s", want, errs)
		}
	}
	if code != 1 || !sandboxtest.ReadOnly(t, blue) || sandboxtest.ReadOnly(t, green) {
		t.Errorf("rollback without reverse replication: exit %d, blue read_only=%v, green read_only=%v; want 1, nothing changed", code, sandboxtest.ReadOnly(t, blue), sandboxtest.ReadOnly(t, green))
	}
}

package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
	"github.com/dbshift/dbshift/internal/strategy"
)

// migrationSource starts a source with two tables of data and returns it
// with a spec file for a local replica-snapshot run into an encrypted target.
func migrationSource(t *testing.T) (*sandbox.Instance, *dbconn.Conn, string) {
	t.Helper()
	src := sandboxtest.New(t, sandbox.Options{Instances: 1}).Instances[0]
	c := sandboxtest.Conn(t, src)
	mustExec(t, c.DB,
		"CREATE DATABASE app",
		"CREATE TABLE app.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT NOT NULL, amount DECIMAL(10,2), note VARCHAR(200), KEY (customer)) ENGINE=InnoDB",
		"CREATE TABLE app.customers (id INT PRIMARY KEY, name VARCHAR(100), updated_at TIMESTAMP(6) DEFAULT NOW(6)) ENGINE=InnoDB",
		"INSERT INTO app.customers (id, name) SELECT seq, CONCAT('customer-', seq) FROM app.seq_1_to_2000",
		"INSERT INTO app.orders (customer, amount, note) SELECT seq % 2000 + 1, seq / 100, REPEAT('x', seq % 150) FROM app.seq_1_to_20000",
	)
	dir := t.TempDir()
	specPath := filepath.Join(dir, "spec.yaml")
	body := fmt.Sprintf(`name: accept
provider: local
strategy: replica-snapshot
source: {dsn: "%s", password_file: %s}
target: {id: accept-encrypted, encrypted: true}
replication: {max_lag: 1s}
local: {sandbox_dir: %s}
`, src.DSN(), src.PasswordFile(), filepath.Join(dir, "instances"))
	if err := os.WriteFile(specPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return src, c, specPath
}

// appWriter inserts and updates on the source until stopped.
type appWriter struct {
	stop chan struct{}
	wg   sync.WaitGroup
	n    int
}

func startAppWriter(db *sql.DB, every time.Duration) *appWriter {
	w := &appWriter{stop: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			db.Exec("INSERT INTO app.orders (customer, amount, note) VALUES (?, ?, 'live')", i%2000+1, i)
			db.Exec("UPDATE app.customers SET name = CONCAT('renamed-', ?) WHERE id = ?", i, i%2000+1)
			w.n++
		}
	}()
	return w
}

func (w *appWriter) halt() int { close(w.stop); w.wg.Wait(); return w.n }

// killAt runs dbshift with args in a child process and SIGKILLs it the
// moment the journal at path shows step's event. It reports whether the
// process was killed (false: it finished first).
func killAt(t *testing.T, env []string, journalPath, step, event string, args ...string) bool {
	t.Helper()
	want := fmt.Sprintf(`"step":%q,"event":%q`, step, event)
	return killWhen(t, env, func() bool {
		f, err := os.Open(journalPath)
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				return true
			}
		}
		return false
	}, args...)
}

// killWhen runs dbshift with args in a child process and SIGKILLs it as
// soon as cond holds; false when dbshift finished first.
func killWhen(t *testing.T, env []string, cond func() bool, args ...string) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "DBSHIFT_TEST_MAIN=1"), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for {
		select {
		case err := <-exited:
			t.Logf("dbshift %s finished before the kill: %v\n%s", args[0], err, out.String())
			return false
		default:
		}
		if cond() {
			cmd.Process.Signal(syscall.SIGKILL)
			err := <-exited
			if ws, ok := err.(*exec.ExitError); !ok || ws.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("dbshift %s was not killed (it exited first): %v\n%s", args[0], err, out.String())
			}
			return true
		}
		time.Sleep(2 * time.Millisecond) // polling a file or the fake, not waiting on a race
	}
}

func checksums(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query("CHECKSUM TABLE app.orders, app.customers")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var name string
		var sum sql.NullString
		if err := rows.Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		m[name] = sum.String
	}
	return m
}

func TestRun_KilledAtEveryStepThenResumedReachesSync(t *testing.T) {
	src, sc, specPath := migrationSource(t)
	state := filepath.Join(t.TempDir(), "state")
	w := startAppWriter(sandboxtest.Conn(t, src).DB, 5*time.Millisecond)
	jpath := filepath.Join(state, "run.journal")
	steps := []string{strategy.StepPreflight, strategy.StepRetention, strategy.StepCreateRepl, strategy.StepReplicaSync, strategy.StepCapture,
		strategy.StepSnapshot, strategy.StepCopy, strategy.StepRestore, strategy.StepVerify, strategy.StepReplicate, strategy.StepTargetInSync, strategy.StepCleanup}
	args := []string{"run", "-f", specPath, "--state", state, "--yes"}
	kills := 0
	for _, step := range steps {
		if killAt(t, nil, jpath, step, "start", args...) {
			kills++
		}
		args = []string{"resume", "--state", state}
	}
	t.Logf("killed dbshift %d times, once inside each step", kills)
	if kills < len(steps)-2 {
		t.Errorf("only %d of %d kills landed", kills, len(steps))
	}
	code, out, errs := runCLI(t, nil, "resume", "--state", state)
	if code != 0 || !strings.Contains(out, "target in sync") {
		t.Fatalf("final resume: exit %d\n%s\n%s", code, out, errs)
	}
	n := w.halt()
	t.Logf("the writer made %d rounds of insert+update during the run", n)

	j, err := journal.Open(jpath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	addr, _ := j.Value(strategy.StepRestore, "addr")
	if addr == "" {
		t.Fatal("no target address in the journal")
	}
	tc, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "target", DSN: "dbshift@tcp(" + addr + ")/", Password: src.Password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	assertSyncedAndEncrypted(t, sc, tc, "target tablespaces")
	var userTables int
	tc.DB.QueryRow("SELECT COUNT(*) FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE 'app/%'").Scan(&userTables)
	if userTables != 2 {
		t.Errorf("target has %d app tablespaces, want 2", userTables)
	}
	instances := filepath.Join(filepath.Dir(specPath), "instances")
	if snaps, _ := os.ReadDir(filepath.Join(instances, "snapshots")); len(snaps) != 0 {
		t.Errorf("snapshots left behind: %v", snaps)
	}
	var running []string
	if sb, err := sandbox.Load(instances); err == nil {
		for _, st := range sb.Status(context.Background()) {
			if st.Running {
				running = append(running, st.Name)
			}
		}
	}
	if len(running) != 1 {
		t.Errorf("instances running after cleanup: %v, want only the target", running)
	}
	var sum struct {
		Steps []struct{ Name, State string }
	}
	code, out, _ = runCLI(t, nil, "status", "--state", state, "--format", "json")
	if code != 0 || json.Unmarshal([]byte(out), &sum) != nil {
		t.Fatalf("status: %d %s", code, out)
	}
	for _, s := range sum.Steps {
		if s.Name != strategy.StepCutover && s.State != "done" {
			t.Errorf("step %s is %s", s.Name, s.State)
		}
	}
}

func TestAbort_FromEachPhaseLeavesSourceUntouched(t *testing.T) {
	for _, at := range []string{strategy.StepCreateRepl, strategy.StepSnapshot, strategy.StepRestore, strategy.StepTargetInSync} {
		t.Run(at, func(t *testing.T) {
			src, sc, specPath := migrationSource(t)
			before := checksums(t, sc.DB)
			state := filepath.Join(t.TempDir(), "state")
			killAt(t, nil, filepath.Join(state, "run.journal"), at, "done", "run", "-f", specPath, "--state", state, "--yes")
			code, out, errs := runCLI(t, nil, "abort", "--state", state, "--yes")
			if code != 0 {
				t.Fatalf("abort: exit %d\n%s\n%s", code, out, errs)
			}
			if after := checksums(t, sc.DB); fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("the source changed: %v -> %v", before, after)
			}
			if sandboxtest.ReadOnly(t, sc) {
				t.Error("the source is read-only after abort")
			}
			if n := count(t, sc.DB, "SELECT COUNT(*) FROM mysql.user WHERE User = 'dbshift_repl'"); n != 0 {
				t.Error("the replication user is still on the source")
			}
			instances := filepath.Join(filepath.Dir(specPath), "instances")
			if snaps, _ := os.ReadDir(filepath.Join(instances, "snapshots")); len(snaps) != 0 {
				t.Errorf("snapshots left behind: %v", snaps)
			}
			if sb, err := sandbox.Load(instances); err == nil {
				for _, st := range sb.Status(context.Background()) {
					if st.Running {
						t.Errorf("instance %s still running after abort", st.Name)
					}
				}
			}
			_ = src
		})
	}
}

// assertSyncedAndEncrypted waits until tc caught up with sc (the writer has
// stopped), then checks every table matches and every tablespace of tc is
// encrypted.
func assertSyncedAndEncrypted(t *testing.T, sc, tc *dbconn.Conn, what string) {
	t.Helper()
	if _, err := replication.WaitCaughtUp(context.Background(), sc, tc, replication.WaitOptions{MaxLag: time.Second, Stable: 300 * time.Millisecond, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if s, tg := checksums(t, sc.DB), checksums(t, tc.DB); fmt.Sprint(s) != fmt.Sprint(tg) {
		t.Errorf("checksums differ: source %v target %v", s, tg)
	}
	var total, enc int
	if err := tc.DB.QueryRow("SELECT COUNT(*), SUM(ENCRYPTION_SCHEME = 1 AND ROTATING_OR_FLUSHING = 0) FROM information_schema.INNODB_TABLESPACES_ENCRYPTION").Scan(&total, &enc); err != nil {
		t.Fatal(err)
	}
	if total == 0 || total != enc {
		t.Errorf("%d of %d %s encrypted", enc, total, what)
	}
}

package local

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// world is a source with data and the provider's own sandbox directory.
type world struct {
	source     *sandbox.Instance
	sourceInst provider.Instance
	src        *dbconn.Conn
	dir        string
	p          *Provider
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	w := &world{source: s.Instances[0], dir: t.TempDir()}
	w.sourceInst = provider.Instance{ID: "source", Role: "source", Addr: w.source.Addr(), DSN: w.source.DSN(), PasswordFile: w.source.PasswordFile()}
	w.src = sandboxtest.Conn(t, w.source)
	w.p = newProvider(t, w.dir, w.sourceInst)
	t.Cleanup(func() {
		// Whatever a test left running in the provider's sandbox.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if sb, err := sandbox.Load(w.dir); err == nil {
			_ = sb.Down(ctx, false)
		}
	})
	loadData(t, w.src)
	return w
}

func newProvider(t *testing.T, dir string, source provider.Instance) *Provider {
	t.Helper()
	p, err := New(dir, source, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.EncryptTimeout = time.Minute
	return p
}

func mustExec(t *testing.T, c *dbconn.Conn, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := c.DB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// loadData creates a few tables with a few thousand rows, InnoDB and one
// Aria table (copied by mariabackup too).
func loadData(t *testing.T, c *dbconn.Conn) {
	t.Helper()
	mustExec(t, c,
		"CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, name VARCHAR(64), n INT NOT NULL DEFAULT 0)",
		"CREATE TABLE app.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, item INT, note VARCHAR(200), at DATETIME(6))",
		"CREATE TABLE app.notes (id INT PRIMARY KEY, body TEXT) ENGINE=Aria",
		"CREATE DATABASE other",
		"CREATE TABLE other.kv (k VARCHAR(32) PRIMARY KEY, v BLOB)",
		"INSERT INTO app.items SELECT seq, CONCAT('item-', seq), 0 FROM app.seq_1_to_2000",
		"INSERT INTO app.orders (item, note, at) SELECT seq % 2000 + 1, REPEAT('x', seq % 150), NOW(6) FROM app.seq_1_to_3000",
		"INSERT INTO app.notes SELECT seq, REPEAT('note ', seq % 40) FROM app.seq_1_to_300",
		"INSERT INTO other.kv SELECT CONCAT('k', seq), RANDOM_BYTES(64) FROM app.seq_1_to_500",
	)
}

// startWriter inserts and updates on the source (about 200 writes/s) until
// the returned stop is called; stop returns how many writes were made.
func startWriter(t *testing.T, c *dbconn.Conn) (stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var n int
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var err error
			if i%2 == 0 {
				_, err = c.DB.ExecContext(ctx, "INSERT INTO app.orders (item, note, at) VALUES (?, ?, NOW(6))", rand.IntN(2000)+1, fmt.Sprintf("w%d", i))
			} else {
				_, err = c.DB.ExecContext(ctx, "UPDATE app.items SET n = n + 1 WHERE id = ?", rand.IntN(2000)+1)
			}
			if err != nil {
				if ctx.Err() == nil {
					werr = err
				}
				return
			}
			n++
		}
	}()
	return func() int {
		cancel()
		wg.Wait()
		if werr != nil {
			t.Errorf("writer: %v", werr)
		}
		return n
	}
}

func open(t testing.TB, inst provider.Instance) *dbconn.Conn {
	t.Helper()
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: inst.ID, DSN: inst.DSN, PasswordFile: inst.PasswordFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checksums is CHECKSUM TABLE of every user table, in name order.
func checksums(t *testing.T, c *dbconn.Conn) map[string]int64 {
	t.Helper()
	rows, err := c.DB.Query(`SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.TABLES
		WHERE TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string]int64{}
	for _, n := range names {
		parts := strings.SplitN(n, ".", 2)
		var name string
		var sum sql.NullInt64
		if err := c.DB.QueryRow(fmt.Sprintf("CHECKSUM TABLE `%s`.`%s` EXTENDED", parts[0], parts[1])).Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		out[n] = sum.Int64
	}
	return out
}

// assertSameData waits until target has executed everything the (quiet)
// source wrote, then compares every table.
func assertSameData(t *testing.T, src, target *dbconn.Conn) {
	t.Helper()
	ctx := context.Background()
	pos, err := replication.SourcePosition(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := replication.WaitExecuted(ctx, target, pos, false, time.Minute); err != nil {
		t.Fatal(err)
	}
	a, b := checksums(t, src), checksums(t, target)
	if len(a) < 4 {
		t.Fatalf("source has only %d tables: %v", len(a), a)
	}
	for name, sum := range a {
		if b[name] != sum {
			t.Errorf("%s: source checksum %d, target %d", name, sum, b[name])
		}
	}
	if len(a) != len(b) {
		t.Errorf("tables differ: source %v, target %v", a, b)
	}
}

// progressLog collects progress calls.
type progressLog struct {
	mu  sync.Mutex
	pct []int
}

func (l *progressLog) f(pct int, _ string) {
	l.mu.Lock()
	l.pct = append(l.pct, pct)
	l.mu.Unlock()
}

func (l *progressLog) check(t *testing.T, what string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pct) == 0 || l.pct[len(l.pct)-1] != 100 {
		t.Errorf("%s progress did not end at 100: %v", what, l.pct)
	}
	for i := 1; i < len(l.pct); i++ {
		if l.pct[i] < l.pct[i-1] {
			t.Errorf("%s progress went backwards: %v", what, l.pct)
			break
		}
	}
}

func TestProvider_ReplicaSnapshotEncryptedRestore(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	p := w.p
	stopWriter := startWriter(t, w.src)

	var prog progressLog
	replica, err := p.CreateReplica(ctx, provider.ReplicaRequest{RunID: "run1", ID: "run1-replica", Source: w.sourceInst}, prog.f)
	if err != nil {
		stopWriter()
		t.Fatal(err)
	}
	prog.check(t, "CreateReplica")
	if replica.Status != "available" || replica.Encrypted || replica.Role != provider.RoleTempReplica {
		t.Errorf("replica = %+v", replica)
	}
	rc := open(t, replica)
	if rc.ServerID == w.src.ServerID {
		t.Fatalf("replica has the source's server_id %d", rc.ServerID)
	}
	if _, err := replication.WaitCaughtUp(ctx, w.src, rc, replication.WaitOptions{MaxLag: time.Second, Stable: 200 * time.Millisecond, Timeout: time.Minute}); err != nil {
		stopWriter()
		t.Fatal(err)
	}
	captured, err := replication.StopAndCapture(ctx, rc, 30*time.Second)
	if err != nil {
		stopWriter()
		t.Fatal(err)
	}

	prog = progressLog{}
	snap, err := p.Snapshot(ctx, "run1", "run1-snap", replica, prog.f)
	if err != nil {
		stopWriter()
		t.Fatal(err)
	}
	prog.check(t, "Snapshot")
	prog = progressLog{}
	enc, err := p.CopyEncrypted(ctx, "run1", "run1-snap-enc", snap, "local-key-1", prog.f)
	if err != nil {
		stopWriter()
		t.Fatal(err)
	}
	prog.check(t, "CopyEncrypted")
	if !enc.Encrypted || enc.KeyID != "local-key-1" || enc.Location == snap.Location {
		t.Errorf("encrypted copy = %+v", enc)
	}
	prog = progressLog{}
	target, err := p.Restore(ctx, enc, provider.TargetRequest{RunID: "run1", ID: "run1-target", Encrypted: true, CopyFrom: w.sourceInst}, prog.f)
	if err != nil {
		stopWriter()
		t.Fatal(err)
	}
	prog.check(t, "Restore")
	es, err := p.VerifyEncrypted(ctx, target)
	if err != nil {
		stopWriter()
		t.Fatal(err)
	}
	if !es.Encrypted || es.Total < 5 || es.Done != es.Total || !regexp.MustCompile(`^\d+/\d+ tablespaces encrypted`).MatchString(es.Detail) {
		t.Errorf("VerifyEncrypted = %+v", es)
	}
	t.Logf("target: %s", es.Detail)
	// The unencrypted replica must not pass.
	if es, err := p.VerifyEncrypted(ctx, replica); err != nil || es.Encrypted {
		t.Errorf("VerifyEncrypted(replica) = %+v, %v; want not encrypted", es, err)
	}

	tc := open(t, target)
	// On disk, not just in information_schema: the replica's file holds the
	// rows in clear, the target's does not.
	if !fileContains(t, rc, "app/items.ibd", "item-1999") {
		t.Error("control: the replica's items.ibd lacks the row text")
	}
	if fileContains(t, tc, "app/items.ibd", "item-1999") {
		t.Error("the target's items.ibd holds row text in clear")
	}
	if st, err := replication.ReadStatus(ctx, tc); err != nil || st.Configured {
		t.Fatalf("restored target still has replication configured: %+v %v", st, err)
	}
	if _, err := replication.Setup(ctx, w.src, tc, replication.SetupOptions{From: captured}); err != nil {
		stopWriter()
		t.Fatal(err)
	}
	if n := stopWriter(); n < 20 {
		t.Fatalf("writer made only %d writes", n)
	}
	assertSameData(t, w.src, tc)

	// A crash: a new process finds the run's resources and reuses them.
	p2 := newProvider(t, w.dir, w.sourceInst)
	for _, role := range []string{provider.RoleTempReplica, provider.RoleTarget} {
		got, ok, err := p2.FindInstance(ctx, "run1", role)
		if err != nil || !ok || got.Status != "available" || got.Addr == "" {
			t.Errorf("FindInstance(%s) = %+v, %v, %v", role, got, ok, err)
		}
	}
	for _, role := range []string{provider.RoleSnapshot, provider.RoleEncryptedCopy} {
		if got, ok, err := p2.FindSnapshot(ctx, "run1", role); err != nil || !ok || got.Status != "available" {
			t.Errorf("FindSnapshot(%s) = %+v, %v, %v", role, got, ok, err)
		}
	}
	if _, ok, _ := p2.FindInstance(ctx, "run2", provider.RoleTarget); ok {
		t.Error("found a target of a run that made none")
	}
	again, err := p2.CreateReplica(ctx, provider.ReplicaRequest{RunID: "run1", ID: "run1-replica"}, nil)
	if err != nil || again.Addr != replica.Addr {
		t.Errorf("CreateReplica again = %+v, %v; want the existing %s", again, err, replica.Addr)
	}

	// Another run's snapshot must survive the deletion of run1's.
	other, err := p2.Snapshot(ctx, "run2", "run2-snap", replica, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []provider.Snapshot{snap, enc} {
		if err := p2.DeleteSnapshot(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(s.Location); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("snapshot %s still on disk: %v", s.ID, err)
		}
	}
	if err := p2.DeleteInstance(ctx, replica); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := p2.FindInstance(ctx, "run1", provider.RoleTempReplica); ok {
		t.Error("deleted replica still found")
	}
	if err := rc.DB.PingContext(ctx); err == nil {
		t.Error("deleted replica still answers")
	}
	if _, ok, _ := p2.FindSnapshot(ctx, "run2", provider.RoleSnapshot); !ok {
		t.Error("run2's snapshot went with run1's")
	}
	if _, err := os.Stat(other.Location); err != nil {
		t.Errorf("run2's snapshot directory: %v", err)
	}
	if err := tc.DB.PingContext(ctx); err != nil {
		t.Errorf("target stopped by deleting the replica: %v", err)
	}
	if err := p2.DeleteInstance(ctx, w.sourceInst); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("DeleteInstance(source) = %v; want ErrNotFound", err)
	}
	if err := w.src.DB.PingContext(ctx); err != nil {
		t.Errorf("source: %v", err)
	}
	info, err := os.Stat(filepath.Join(w.dir, stateFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("state file: %v %v", info, err)
	}
}

func TestProvider_InterruptedCreateIsReplaced(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// What a crash between "record" and "done" leaves.
	if err := w.p.put(resource{Kind: kindInstance, ID: "r-replica", Tags: tags("r", provider.RoleTempReplica), Status: statusCreating,
		Dir: filepath.Join(w.dir, "db9")}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(w.dir, "db9", "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, ok, err := w.p.FindInstance(ctx, "r", provider.RoleTempReplica)
	if err != nil || !ok || got.Status != StatusIncomplete {
		t.Fatalf("FindInstance = %+v, %v, %v; want incomplete", got, ok, err)
	}
	inst, err := w.p.CreateReplica(ctx, provider.ReplicaRequest{RunID: "r", ID: "r-replica"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if inst.Status != "available" {
		t.Errorf("replica = %+v", inst)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "db9")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("half-made directory left: %v", err)
	}
	st, err := w.p.readState()
	if err != nil || len(st.Resources) != 1 {
		t.Errorf("state = %+v, %v; want one resource", st, err)
	}
}

func TestBackupClone_FromSourceAndFromReplica(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	stopWriter := startWriter(t, w.src)
	defer stopWriter()

	var journaled replication.Coordinates
	target, co, err := w.p.BackupClone(ctx, CloneRequest{RunID: "c", ID: "c-target", Encrypted: true,
		OnCoordinates: func(c replication.Coordinates) error { journaled = c; return nil }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if journaled != co || co.File == "" || co.Position < 4 {
		t.Errorf("coordinates %v, journaled %v", co, journaled)
	}
	if es, err := w.p.VerifyEncrypted(ctx, target); err != nil || !es.Encrypted {
		t.Errorf("VerifyEncrypted = %+v, %v", es, err)
	}

	// From a replica: the coordinates are the source's (--slave-info),
	// not the replica's own binlog position.
	replica, err := w.p.CreateReplica(ctx, provider.ReplicaRequest{RunID: "c", ID: "c-replica"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	target2, co2, err := w.p.BackupClone(ctx, CloneRequest{RunID: "c2", ID: "c2-target", From: replica, Encrypted: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("from source %v, from replica %v", co, co2)
	stopWriter()
	tc, tc2 := open(t, target), open(t, target2)
	st2, err := replication.ReadStatus(ctx, tc2)
	if err != nil || st2.SourcePort != w.src.Port() {
		t.Errorf("clone from replica replicates from port %d, want the source's %d (%v)", st2.SourcePort, w.src.Port(), err)
	}
	assertSameData(t, w.src, tc)
	assertSameData(t, w.src, tc2)
	// The replica kept replicating after --safe-slave-backup.
	assertSameData(t, w.src, open(t, replica))
}

// An encrypted source's pages need its key: the replica and the target get
// it, or their data would be unreadable.
func TestProvider_EncryptedSource(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 1, Encrypted: []int{1}})
	src := s.Instances[0]
	srcInst := provider.Instance{ID: "source", DSN: src.DSN(), PasswordFile: src.PasswordFile()}
	sc := sandboxtest.Conn(t, src)
	loadData(t, sc)
	dir := t.TempDir()
	p := newProvider(t, dir, srcInst)
	t.Cleanup(func() {
		if sb, err := sandbox.Load(dir); err == nil {
			_ = sb.Down(context.Background(), false)
		}
	})
	ctx := context.Background()
	replica, err := p.CreateReplica(ctx, provider.ReplicaRequest{RunID: "e", ID: "e-replica"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !replica.Encrypted {
		t.Errorf("replica of an encrypted source not encrypted: %+v", replica)
	}
	rc := open(t, replica)
	assertSameData(t, sc, rc)
	if _, err := replication.StopAndCapture(ctx, rc, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	snap, err := p.Snapshot(ctx, "e", "e-snap", replica, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(snap.Location, "keys.txt")); err == nil {
		t.Error("key file inside the snapshot's data")
	}
	target, err := p.Restore(ctx, snap, provider.TargetRequest{RunID: "e", ID: "e-target", Encrypted: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if es, err := p.VerifyEncrypted(ctx, target); err != nil || !es.Encrypted {
		t.Errorf("VerifyEncrypted = %+v, %v", es, err)
	}
	a, b := checksums(t, rc), checksums(t, open(t, target))
	for name, sum := range a {
		if b[name] != sum {
			t.Errorf("%s: replica %d, target %d", name, sum, b[name])
		}
	}
}

// fileContains reports whether a file of c's data directory holds text.
func fileContains(t *testing.T, c *dbconn.Conn, rel, text string) bool {
	t.Helper()
	var datadir string
	if err := c.DB.QueryRow("SELECT @@datadir").Scan(&datadir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(datadir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), text)
}

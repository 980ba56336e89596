package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// phasedWriter writes about 200 times a second (inserts and updates) and
// keeps one latency histogram per named phase.
type phasedWriter struct {
	mu     sync.Mutex
	phase  string
	hists  map[string]*hdrhistogram.Histogram
	order  []string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func startPhasedWriter(c *dbconn.Conn, phase string) *phasedWriter {
	ctx, cancel := context.WithCancel(context.Background())
	w := &phasedWriter{hists: map[string]*hdrhistogram.Histogram{}, cancel: cancel, done: make(chan struct{})}
	w.setPhase(phase)
	go func() {
		defer close(w.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			start := time.Now()
			var err error
			if i%2 == 0 {
				_, err = c.DB.ExecContext(ctx, "INSERT INTO app.orders (item, note, at) VALUES (?, ?, NOW(6))", rand.IntN(2000)+1, fmt.Sprintf("w%d", i))
			} else {
				_, err = c.DB.ExecContext(ctx, "UPDATE app.items SET n = n + 1 WHERE id = ?", rand.IntN(2000)+1)
			}
			if err != nil {
				if ctx.Err() == nil {
					w.err = err
				}
				return
			}
			w.mu.Lock()
			_ = w.hists[w.phase].RecordValue(time.Since(start).Microseconds())
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *phasedWriter) setPhase(p string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.hists[p]; !ok {
		w.hists[p] = hdrhistogram.New(1, 60_000_000, 3)
		w.order = append(w.order, p)
	}
	w.phase = p
}

func (w *phasedWriter) stop() error {
	w.cancel()
	<-w.done
	return w.err
}

// BenchmarkReplicaSnapshotRestore runs the replica-snapshot pipeline of the
// local provider once on a source of DBSHIFT_BENCH_MB megabytes of InnoDB
// data (default 200) with a writer at ~200 writes/s, and reports the wall
// time of each phase and the writer's latency during each.
//
//	DBSHIFT_BENCH_MB=1024 go test -run '^$' -bench ReplicaSnapshotRestore -benchtime 1x ./internal/provider/local/
func BenchmarkReplicaSnapshotRestore(b *testing.B) {
	mb := 200
	if v, err := strconv.Atoi(os.Getenv("DBSHIFT_BENCH_MB")); err == nil && v > 0 {
		mb = v
	}
	s := sandboxtest.New(b, sandbox.Options{Instances: 1, Extra: []string{"innodb_buffer_pool_size=512M", "innodb_log_file_size=256M"}})
	src := s.Instances[0]
	srcInst := provider.Instance{ID: "source", DSN: src.DSN(), PasswordFile: src.PasswordFile()}
	sc := sandboxtest.Conn(b, src)
	dir := b.TempDir()
	b.Cleanup(func() {
		if sb, err := sandbox.Load(dir); err == nil {
			_ = sb.Down(context.Background(), false)
		}
	})
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, name VARCHAR(64), n INT NOT NULL DEFAULT 0)",
		"CREATE TABLE app.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, item INT, note VARCHAR(200), at DATETIME(6))",
		"CREATE TABLE app.blob_data (id INT PRIMARY KEY, pad VARCHAR(1000))",
		"INSERT INTO app.items SELECT seq, CONCAT('item-', seq), 0 FROM app.seq_1_to_2000",
	} {
		if _, err := sc.DB.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	// ~1 KB rows of incompressible-ish text, in 50k-row statements.
	rows := mb * 1000
	loadStart := time.Now()
	for lo := 1; lo <= rows; lo += 50000 {
		hi := min(lo+49999, rows)
		q := fmt.Sprintf("INSERT INTO app.blob_data SELECT seq, REPEAT(MD5(seq), 31) FROM app.seq_%d_to_%d", lo, hi)
		if _, err := sc.DB.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := sc.DB.ExecContext(ctx, "ANALYZE TABLE app.blob_data, app.orders, app.items"); err != nil {
		b.Fatal(err)
	}
	var size int64
	if err := sc.DB.QueryRowContext(ctx, "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'").Scan(&size); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d MB of InnoDB data in %s", size>>20, time.Since(loadStart).Round(time.Second))

	p, err := New(dir, srcInst, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := startPhasedWriter(sc, "idle")
	idleUntil := time.Now().Add(5 * time.Second)
	<-time.After(time.Until(idleUntil)) // the baseline window: time is what is measured here
	type phase struct {
		name string
		d    time.Duration
	}
	var phases []phase
	run := func(name string, f func() error) {
		b.Helper()
		w.setPhase(name)
		start := time.Now()
		if err := f(); err != nil {
			_ = w.stop()
			b.Fatalf("%s: %v", name, err)
		}
		phases = append(phases, phase{name, time.Since(start)})
	}
	b.ResetTimer()
	var replica, target provider.Instance
	var rc *dbconn.Conn
	var captured replication.Coordinates
	var snap, enc provider.Snapshot
	run("create-replica", func() (err error) {
		replica, err = p.CreateReplica(ctx, provider.ReplicaRequest{RunID: "bench", ID: "bench-replica"}, nil)
		return err
	})
	rc = open(b, replica)
	run("catch-up", func() error {
		_, err := replication.WaitCaughtUp(ctx, sc, rc, replication.WaitOptions{MaxLag: time.Second, Stable: time.Second, Timeout: 10 * time.Minute})
		return err
	})
	run("stop-and-capture", func() (err error) {
		captured, err = replication.StopAndCapture(ctx, rc, time.Minute)
		return err
	})
	run("snapshot", func() (err error) {
		snap, err = p.Snapshot(ctx, "bench", "bench-snap", replica, nil)
		return err
	})
	run("copy-encrypted", func() (err error) {
		enc, err = p.CopyEncrypted(ctx, "bench", "bench-snap-enc", snap, "bench-key", nil)
		return err
	})
	run("restore+encrypt", func() (err error) {
		target, err = p.Restore(ctx, enc, provider.TargetRequest{RunID: "bench", ID: "bench-target", Encrypted: true}, nil)
		return err
	})
	tc := open(b, target)
	run("attach+catch-up", func() error {
		if _, err := replication.Setup(ctx, sc, tc, replication.SetupOptions{From: captured}); err != nil {
			return err
		}
		_, err := replication.WaitCaughtUp(ctx, sc, tc, replication.WaitOptions{MaxLag: time.Second, Stable: time.Second, Timeout: 10 * time.Minute})
		return err
	})
	run("cleanup", func() error {
		for _, s := range []provider.Snapshot{snap, enc} {
			if err := p.DeleteSnapshot(ctx, s); err != nil {
				return err
			}
		}
		return p.DeleteInstance(ctx, replica)
	})
	b.StopTimer()
	if err := w.stop(); err != nil {
		b.Fatal(err)
	}
	es, err := p.VerifyEncrypted(ctx, target)
	if err != nil || !es.Encrypted {
		b.Fatalf("target not encrypted: %+v %v", es, err)
	}
	var total time.Duration
	for _, ph := range phases {
		total += ph.d
		b.ReportMetric(ph.d.Seconds(), ph.name+"-s")
	}
	// Printed, not logged: the figures are the point of the benchmark.
	fmt.Printf("source data %d MB; target %s\n", size>>20, es.Detail)
	fmt.Printf("%-18s %9s | writer latency p50 / p99 / max (ms), writes\n", "phase", "wall")
	for _, name := range w.order {
		h := w.hists[name]
		d := "-"
		for _, ph := range phases {
			if ph.name == name {
				d = ph.d.Round(10 * time.Millisecond).String()
			}
		}
		if name == "idle" {
			d = "5s"
		}
		fmt.Printf("%-18s %9s | %6.2f / %6.2f / %7.2f, %d\n", name, d,
			float64(h.ValueAtQuantile(50))/1000, float64(h.ValueAtQuantile(99))/1000, float64(h.Max())/1000, h.TotalCount())
	}
	fmt.Printf("total %s\n", total.Round(100*time.Millisecond))
}

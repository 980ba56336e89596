package main

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// failoverWriter writes sequenced ids to whichever server takes them, like
// an application behind a switch, and samples that never both take writes.
type failoverWriter struct {
	dbs        [2]*sql.DB
	admins     [2]*dbconn.Conn
	mu         sync.Mutex
	acked      []int64
	bothWrites atomic.Int32
	stop, done chan struct{}
}

func startFailoverWriter(a, b *sql.DB, ca, cb *dbconn.Conn) *failoverWriter {
	w := &failoverWriter{dbs: [2]*sql.DB{a, b}, admins: [2]*dbconn.Conn{ca, cb}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		id, cur := int64(1), 0
		for n := 0; ; n++ {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			_, err := w.dbs[cur].Exec("INSERT INTO app.w (id) VALUES (?)", id)
			switch {
			case err == nil:
				w.mu.Lock()
				w.acked = append(w.acked, id)
				w.mu.Unlock()
				id++
			case dbconn.ErrorNumber(err) == 1062:
				id++
			default:
				cur = 1 - cur
			}
			if n%5 == 0 {
				ctx := context.Background()
				roA, errA := replication.ReadOnly(ctx, w.admins[0])
				roB, errB := replication.ReadOnly(ctx, w.admins[1])
				if errA == nil && errB == nil && !roA && !roB {
					w.bothWrites.Add(1)
				}
			}
		}
	}()
	return w
}

func (w *failoverWriter) halt() []int64 {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.acked...)
}

func TestCutover_SIGKILLInEachPhaseThenResume(t *testing.T) {
	phases := []struct {
		hook        string
		pastPNR     bool
		resumedExit int
	}{
		{"before-fence", false, 1},
		{"after-fence", false, 1},
		{"after-promote", true, 0},
		{"after-switch", true, 0},
	}
	for _, ph := range phases {
		t.Run(ph.hook, func(t *testing.T) {
			s := sandboxtest.ReplicatingPair(t, sandbox.Options{})
			src, tgt := s.Instances[0], s.Instances[1]
			ca, cb := sandboxtest.Conn(t, src), sandboxtest.Conn(t, tgt)
			w := startFailoverWriter(sandboxtest.AppConn(t, src).DB, sandboxtest.AppConn(t, tgt).DB, ca, cb)
			state := t.TempDir()
			args := []string{"cutover", "--source", src.DSN(), "--target", tgt.DSN(), "--state", state, "--yes", "--reverse"}
			// The hook runs as a child of dbshift: $PPID is dbshift itself.
			cmd := exec.Command(os.Args[0], append(args, "--hook", ph.hook+"=kill -9 $PPID")...)
			cmd.Env = append(os.Environ(), "DBSHIFT_TEST_MAIN=1", "DBSHIFT_SOURCE_PASSWORD="+src.Password, "DBSHIFT_TARGET_PASSWORD="+tgt.Password)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !asExit(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("dbshift was not killed at %s: %v\n%s", ph.hook, err, out)
			}
			env := map[string]string{"DBSHIFT_SOURCE_PASSWORD": src.Password, "DBSHIFT_TARGET_PASSWORD": tgt.Password}
			code, rout, rerr := runCLI(t, env, append(args, "--resume")...)
			if code != ph.resumedExit {
				t.Fatalf("resume: exit %d, want %d\n%s\n%s", code, ph.resumedExit, rout, rerr)
			}
			roA, roB := sandboxtest.ReadOnly(t, ca), sandboxtest.ReadOnly(t, cb)
			if roA == roB {
				t.Fatalf("after resume: source read_only=%v, target read_only=%v; want exactly one writable", roA, roB)
			}
			if ph.pastPNR != roA {
				t.Fatalf("after resume past the point of no return=%v: source read_only=%v", ph.pastPNR, roA)
			}
			acked := w.halt()
			if w.bothWrites.Load() > 0 {
				t.Errorf("both servers accepted writes at %d samples", w.bothWrites.Load())
			}
			primary, replica := ca, cb
			if ph.pastPNR {
				primary, replica = cb, ca
			}
			if _, err := replication.WaitCaughtUp(context.Background(), primary, replica, replication.WaitOptions{MaxLag: time.Second, Stable: 100 * time.Millisecond, Timeout: 30 * time.Second}); err != nil {
				t.Fatalf("the other server does not replicate from the primary after resume: %v", err)
			}
			for _, c := range []*dbconn.Conn{primary, replica} {
				if m := sandboxtest.MissingIDs(t, c.DB, acked); len(m) > 0 {
					t.Errorf("%s lacks %d of %d acknowledged writes: %v", c, len(m), len(acked), m[:min(5, len(m))])
				}
			}
			if len(acked) == 0 {
				t.Error("the writer got no write acknowledged")
			}
			if b, _ := os.ReadFile(state + "/cutover.journal"); strings.Contains(string(b), src.Password) || strings.Contains(string(b), tgt.Password) {
				t.Error("a password is in the journal")
			}
		})
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

package replication_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// The replication primitives on both real servers: MariaDB and MySQL 9.7
// (whose SHOW REPLICA STATUS columns, CHANGE REPLICATION SOURCE TO,
// SOURCE_POS_WAIT and WAIT_FOR_EXECUTED_GTID_SET are otherwise only checked as
// strings).

// TestPrimitives_FromFilePos: a pair started from file:pos replicates,
// reports its status, waits on file:pos and on the GTID set, and
// StopAndCapture returns the source's final coordinates once writes stop.
func TestPrimitives_FromFilePos(t *testing.T) {
	sandboxtest.Flavors(t, func(t *testing.T, fl string) {
		s := sandboxtest.ReplicatingPair(t, sandbox.Options{Flavor: fl})
		src, rep := sandboxtest.Conn(t, s.Instances[0]), sandboxtest.Conn(t, s.Instances[1])
		ctx := context.Background()
		st, err := replication.ReadStatus(ctx, rep)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Configured || !st.Running() || st.SourcePort != s.Instances[0].Port || st.SourceServerID != s.Instances[0].ServerID {
			t.Fatalf("status = %+v, want running from %s (server_id %d)", st, s.Instances[0].Addr(), s.Instances[0].ServerID)
		}
		if !sandboxtest.ReadOnly(t, rep) {
			t.Error("the replica is not read-only after Setup")
		}
		insertIDs(t, src, 1, 50)
		co, err := replication.SourcePosition(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if co.File == "" || co.Position < 4 || co.GTID == "" {
			t.Fatalf("source position %+v: want file, position and GTID set", co)
		}
		if err := replication.WaitExecuted(ctx, rep, co, false, 30*time.Second); err != nil {
			t.Fatalf("wait on file:pos: %v", err)
		}
		if err := replication.WaitExecuted(ctx, rep, co, true, 30*time.Second); err != nil {
			t.Fatalf("wait on GTID: %v", err)
		}
		if got := countRows(t, rep); got != 50 {
			t.Errorf("replica has %d rows after the wait, want 50", got)
		}
		// A wait for coordinates the source has not reached times out.
		ahead := co
		ahead.Position += 1 << 20
		if err := replication.WaitExecuted(ctx, rep, ahead, false, time.Second); err == nil {
			t.Error("wait for a position past the source's end returned no error")
		}
		stopped, err := replication.StopAndCapture(ctx, rep, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if stopped.File != co.File || stopped.Position != co.Position {
			t.Errorf("StopAndCapture = %s, the idle source is at %s", stopped, co)
		}
		if st, _ := replication.ReadStatus(ctx, rep); st.IORunning == "Yes" || st.SQLRunning == "Yes" {
			t.Errorf("threads still running after StopAndCapture: %+v", st)
		}
		insertIDs(t, src, 51, 60)
		if _, err := replication.Start(ctx, rep, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := replication.WaitCaughtUp(ctx, src, rep, replication.WaitOptions{MaxLag: time.Second, Stable: 100 * time.Millisecond, Timeout: 30 * time.Second}); err != nil {
			t.Fatal(err)
		}
		if got := countRows(t, rep); got != 60 {
			t.Errorf("replica has %d rows after restart, want 60", got)
		}
	})
}

// TestSetup_FromGTIDSet: a target seeded by hand (the rows copied outside
// the binlog, as a restored dump is) starts from the source's GTID set and
// applies exactly what came after it: a re-applied seed row would stop it
// with a duplicate key.
func TestSetup_FromGTIDSet(t *testing.T) {
	sandboxtest.Flavors(t, func(t *testing.T, fl string) {
		s := sandboxtest.New(t, sandbox.Options{Instances: 2, Flavor: fl})
		src, dst := sandboxtest.Conn(t, s.Instances[0]), sandboxtest.Conn(t, s.Instances[1])
		ctx := context.Background()
		seed := []string{
			"CREATE DATABASE app",
			"CREATE TABLE app.w (id BIGINT PRIMARY KEY, at TIMESTAMP(6) DEFAULT NOW(6))",
		}
		for i := 1; i <= 20; i++ {
			seed = append(seed, fmt.Sprintf("INSERT INTO app.w (id) VALUES (%d)", i))
		}
		execAll(t, src, seed...)
		co, err := replication.SourcePosition(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := dst.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SET SESSION sql_log_bin = 0"); err != nil {
			t.Fatal(err)
		}
		for _, q := range seed {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if dst.Flavor.IsMySQL() {
			// What mysqldump --set-gtid-purged=ON writes: the target holds
			// the source's transactions up to the snapshot.
			if _, err := conn.ExecContext(ctx, "SET GLOBAL gtid_purged = ?", co.GTID); err != nil {
				t.Fatal(err)
			}
		}
		insertIDs(t, src, 21, 30)
		res, err := replication.Setup(ctx, src, dst, replication.SetupOptions{From: co, UseGTID: true})
		if err != nil {
			t.Fatal(err)
		}
		if !res.UseGTID || !res.TLS {
			t.Errorf("setup result %+v: want GTID over TLS", res)
		}
		waitRows(t, src, dst, true, 30)
		st, err := replication.ReadStatus(ctx, dst)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running() || st.Err() != nil {
			t.Errorf("target status after catching up: %+v", st)
		}
	})
}

func insertIDs(t *testing.T, c *dbconn.Conn, from, to int) {
	t.Helper()
	for id := from; id <= to; id++ {
		execAll(t, c, fmt.Sprintf("INSERT INTO app.w (id) VALUES (%d)", id))
	}
}

func execAll(t *testing.T, c *dbconn.Conn, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := c.DB.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func countRows(t *testing.T, c *dbconn.Conn) int {
	t.Helper()
	var n int
	if err := c.DB.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM app.w").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSetup_TLSOff: with TLS off the replication account still connects. On
// MySQL it is a caching_sha2_password account, never used before, so the
// replica's first (full) authentication needs the source's RSA public key:
// GET_SOURCE_PUBLIC_KEY=1.
func TestSetup_TLSOff(t *testing.T) {
	sandboxtest.Flavors(t, func(t *testing.T, fl string) {
		s := sandboxtest.New(t, sandbox.Options{Instances: 2, Flavor: fl})
		src, dst := sandboxtest.Conn(t, s.Instances[0]), sandboxtest.Conn(t, s.Instances[1])
		ctx := context.Background()
		co, err := replication.SourcePosition(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		res, err := replication.Setup(ctx, src, dst, replication.SetupOptions{From: co, TLS: "off"})
		if err != nil {
			t.Fatal(err)
		}
		if res.TLS {
			t.Errorf("setup with TLS off reports TLS on")
		}
		if src.Flavor.IsMySQL() {
			var plugin string
			if err := src.DB.QueryRowContext(ctx, "SELECT plugin FROM mysql.user WHERE User = 'dbshift_repl'").Scan(&plugin); err != nil {
				t.Fatal(err)
			}
			if plugin != "caching_sha2_password" {
				t.Errorf("replication account uses %s, want caching_sha2_password", plugin)
			}
		}
		execAll(t, src, "CREATE DATABASE app", "CREATE TABLE app.w (id BIGINT PRIMARY KEY)")
		insertIDs(t, src, 1, 5)
		waitRows(t, src, dst, false, 5)
	})
}

// waitRows waits until dst executed the source's current coordinates (by
// GTID or file:pos) and checks that it then holds want rows in app.w.
func waitRows(t *testing.T, src, dst *dbconn.Conn, useGTID bool, want int) {
	t.Helper()
	ctx := context.Background()
	end, err := replication.SourcePosition(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := replication.WaitExecuted(ctx, dst, end, useGTID, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, dst); got != want {
		t.Errorf("%s has %d rows, want %d", dst, got, want)
	}
}

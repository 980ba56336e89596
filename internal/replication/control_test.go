package replication_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// txRows is how many rows each of the writer's transactions inserts: about
// 50 row events, so the replica's IO thread spends most of its time inside a
// transaction.
const txRows = 2000

// TestStopAndCapture_IOThreadStoppedInsideATransaction: when the IO thread
// stops with only the head of a transaction fetched, the SQL thread can never
// execute up to what was fetched. StopAndCapture must still return (the SQL
// thread rolls the unfinished transaction back when it stops) with
// coordinates at a transaction boundary, and the replica must hold whole
// transactions only.
func TestStopAndCapture_IOThreadStoppedInsideATransaction(t *testing.T) {
	sandboxtest.Flavors(t, testStopAndCaptureInsideATransaction)
}

func testStopAndCaptureInsideATransaction(t *testing.T, fl string) {
	s := sandboxtest.ReplicatingPair(t, sandbox.Options{Flavor: fl})
	src, rep := sandboxtest.Conn(t, s.Instances[0]), sandboxtest.Conn(t, s.Instances[1])
	ctx := context.Background()
	if _, err := src.DB.ExecContext(ctx, "CREATE TABLE app.big (id BIGINT AUTO_INCREMENT PRIMARY KEY, pad VARCHAR(255)) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	if src.Flavor.IsMySQL() {
		// MariaDB's Sequence engine makes seq_1_to_2000 up; MySQL needs the rows.
		execAll(t, src, "CREATE TABLE app.seq_1_to_2000 (seq INT PRIMARY KEY)",
			// cte_max_recursion_depth is 1000.
			"INSERT INTO app.seq_1_to_2000 WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) SELECT i FROM n",
			"INSERT INTO app.seq_1_to_2000 SELECT seq + 1000 FROM app.seq_1_to_2000")
	}

	wctx, stop := context.WithCancel(ctx)
	werr := make(chan error, 1)
	go func() {
		for wctx.Err() == nil {
			_, err := src.DB.ExecContext(wctx, "INSERT INTO app.big (pad) SELECT REPEAT('x', 200) FROM app.seq_1_to_2000")
			if err != nil && wctx.Err() == nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	defer func() {
		stop()
		if err := <-werr; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("writer: %v", err)
		}
	}()

	inside, enough := 0, 3
	if src.Flavor.IsMySQL() {
		// Each stop inside a transaction costs 60 s on MySQL: its
		// multi-threaded applier (replica_parallel_workers=4 by default)
		// makes STOP REPLICA wait that long for the rest of a transaction the
		// IO thread will not fetch. StopAndCapture is still right, only slow.
		enough = 1
	}
	for try := 0; try < 40 && inside < enough; try++ {
		if err := waitFetching(ctx, rep); err != nil {
			t.Fatal(err)
		}
		co, err := replication.StopAndCapture(ctx, rep, 30*time.Second)
		if err != nil {
			t.Fatalf("try %d: %v", try, err)
		}
		st, err := replication.ReadStatus(ctx, rep)
		if err != nil {
			t.Fatal(err)
		}
		if st.Executed != st.Fetched {
			inside++
		}
		if co.File != st.Executed.File || co.Position != st.Executed.Position {
			t.Errorf("try %d: captured %s, the stopped replica executed %s", try, co, st.Executed)
		}
		var n int64
		if err := rep.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM app.big").Scan(&n); err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		if n%txRows != 0 {
			t.Fatalf("try %d: the replica holds %d rows, not whole transactions of %d", try, n, txRows)
		}
		if _, err := replication.Start(ctx, rep, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if inside == 0 {
		t.Skip("the IO thread never stopped inside a transaction in 40 tries; nothing was shown")
	}
	t.Logf("the IO thread stopped inside a transaction %d times", inside)
}

// waitFetching waits until the replica's IO thread has fetched something new.
func waitFetching(ctx context.Context, rep *dbconn.Conn) error {
	first, err := replication.ReadStatus(ctx, rep)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		st, err := replication.ReadStatus(ctx, rep)
		if err != nil {
			return err
		}
		if st.Fetched != first.Fetched {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the replica fetched nothing new in 30s (at %s)", first.Fetched)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

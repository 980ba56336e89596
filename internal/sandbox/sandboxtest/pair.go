package sandboxtest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
)

// ReplicatingPair starts two instances, db2 replicating from db1 from db1's
// current position, with schema app, table app.w (id BIGINT PRIMARY KEY) and
// an application account 'app'@'%' (password AppPassword) on both.
func ReplicatingPair(t testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	opts.Instances = 2
	s := New(t, opts)
	ctx := context.Background()
	a, b := Conn(t, s.Instances[0]), Conn(t, s.Instances[1])
	pos, err := replication.SourcePosition(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replication.Setup(ctx, a, b, replication.SetupOptions{From: pos}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE DATABASE app",
		"CREATE TABLE app.w (id BIGINT PRIMARY KEY, at TIMESTAMP(6) DEFAULT NOW(6))",
		"CREATE USER 'app'@'%' IDENTIFIED BY '" + AppPassword + "'",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'%'",
	} {
		if _, err := a.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := replication.WaitCaughtUp(ctx, a, b, replication.WaitOptions{MaxLag: time.Second, Stable: 100 * time.Millisecond, Timeout: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	return s
}

// AppPassword is the sandbox application account's password (test only).
const AppPassword = "app-secret-1"

// Conn opens the admin connection to inst, closed with the test.
func Conn(t testing.TB, inst *sandbox.Instance) *dbconn.Conn {
	t.Helper()
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: inst.Name, DSN: inst.DSN(), Password: inst.Password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// AppConn opens the application account's connection to inst.
func AppConn(t testing.TB, inst *sandbox.Instance) *dbconn.Conn {
	t.Helper()
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "app", DSN: "app@tcp(" + inst.Addr() + ")/", Password: AppPassword}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ReadOnly reads @@read_only of c or fails the test.
func ReadOnly(t testing.TB, c *dbconn.Conn) bool {
	t.Helper()
	ro, err := replication.ReadOnly(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return ro
}

// MissingIDs returns the ids of want that app.w on db lacks.
func MissingIDs(t testing.TB, db *sql.DB, want []int64) []int64 {
	t.Helper()
	have := map[int64]bool{}
	rows, err := db.Query("SELECT id FROM app.w")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		have[id] = true
	}
	var out []int64
	for _, id := range want {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

package dbconn_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// sendOnReadPool opens a pool whose connections come from DialSendOnRead and
// counts the dials, so a test knows its queries went through it.
func sendOnReadPool(t *testing.T, inst *sandbox.Instance, dsn, tlsMode string, dials *atomic.Int64) *dbconn.Conn {
	t.Helper()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dbconn.DialSendOnRead(ctx, network, addr)
		if err == nil {
			if _, plain := c.(*net.TCPConn); plain {
				t.Errorf("DialSendOnRead returned a plain *net.TCPConn")
			}
			dials.Add(1)
		}
		return c, err
	}
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "target", DSN: dsn, Password: inst.Password, TLS: tlsMode, MaxOpen: 4, Dial: dial}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSendOnRead_RealServer(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	inst := s.Instance(1)
	admin := sandboxtest.Conn(t, inst)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE sor",
		"CREATE TABLE sor.big (id INT PRIMARY KEY, b LONGBLOB)",
	} {
		if _, err := admin.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, mode := range []string{"off", "required"} {
		t.Run("TLS="+mode, func(t *testing.T) {
			var dials atomic.Int64
			c := sendOnReadPool(t, inst, inst.DSN(), mode, &dials)
			if dials.Load() == 0 {
				t.Fatal("the pool did not dial through DialSendOnRead")
			}
			var name, cipher string
			if err := c.DB.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil {
				t.Fatal(err)
			}
			if (cipher != "") != (mode == "required") {
				t.Fatalf("TLS %s: session cipher %q", mode, cipher)
			}
			testSmallQueries(t, c.DB)
			testLargeResult(t, c.DB)
			testLargeStatement(t, c.DB, mode)
		})
	}
	t.Run("ContextCancel", func(t *testing.T) {
		var dials atomic.Int64
		c := sendOnReadPool(t, inst, inst.DSN(), "off", &dials)
		qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		var v int
		err := c.DB.QueryRowContext(qctx, "SELECT SLEEP(20)").Scan(&v)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("SELECT SLEEP(20) with a 300 ms context: %v", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("cancel took %v: the blocked read was not interrupted", d)
		}
		// The pool replaces the connection the watcher closed.
		if err := c.DB.QueryRowContext(ctx, "SELECT 7").Scan(&v); err != nil || v != 7 {
			t.Fatalf("after cancel: %d, %v", v, err)
		}
	})
	t.Run("ReadDeadline", func(t *testing.T) {
		var dials atomic.Int64
		c := sendOnReadPool(t, inst, inst.DSN()+"?readTimeout=300ms", "off", &dials)
		start := time.Now()
		var v int
		err := c.DB.QueryRowContext(ctx, "SELECT SLEEP(20)").Scan(&v)
		if err == nil {
			t.Fatal("SELECT SLEEP(20) with readTimeout=300ms succeeded")
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("read timeout took %v: %v", d, err)
		}
	})
	t.Run("CloseSendsQuit", func(t *testing.T) {
		// A connection closed without COM_QUIT counts in Aborted_clients:
		// Close must send the quit that Write held back.
		before := globalStatus(t, admin.DB, "Aborted_clients")
		var dials atomic.Int64
		c := sendOnReadPool(t, inst, inst.DSN(), "off", &dials)
		conns := make([]*sql.Conn, 3)
		ids := make([]int64, len(conns))
		for i := range conns {
			cn, err := c.DB.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := cn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&ids[i]); err != nil {
				t.Fatal(err)
			}
			conns[i] = cn
		}
		for _, cn := range conns {
			cn.Close()
		}
		c.Close()
		for _, id := range ids {
			waitGone(t, admin.DB, id)
		}
		if after := globalStatus(t, admin.DB, "Aborted_clients"); after != before {
			t.Fatalf("Aborted_clients %d -> %d: a connection closed without COM_QUIT", before, after)
		}
	})
}

func testSmallQueries(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 2000; i++ {
		var v int
		var s string
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT %d, REPEAT('a', %d)", i, i%300)).Scan(&v, &s); err != nil {
			t.Fatal(err)
		}
		if v != i || len(s) != i%300 {
			t.Fatalf("query %d: got %d and %d bytes", i, v, len(s))
		}
	}
}

// testLargeResult reads answers of many packets: one 6 MB value and
// 20 000 rows of 500 bytes.
func testLargeResult(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	var b []byte
	if err := db.QueryRowContext(ctx, "SELECT REPEAT('xyz', 2<<20)").Scan(&b); err != nil {
		t.Fatal(err)
	}
	if len(b) != 6<<20 || strings.Trim(string(b), "xyz") != "" {
		t.Fatalf("6 MB value: got %d bytes", len(b))
	}
	rows, err := db.QueryContext(ctx, "SELECT seq, REPEAT(CHAR(65 + seq % 26), 500) FROM sor.seq_1_to_20000")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, sum := 0, 0
	for rows.Next() {
		var seq int
		var s string
		if err := rows.Scan(&seq, &s); err != nil {
			t.Fatal(err)
		}
		if len(s) != 500 || s[0] != byte(65+seq%26) {
			t.Fatalf("row %d: %d bytes starting %q", seq, len(s), s[:1])
		}
		n++
		sum += seq
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 20000 || sum != 20000*20001/2 {
		t.Fatalf("%d rows, sum %d", n, sum)
	}
}

// testLargeStatement sends statements above maxPending (written at once)
// and reads them back.
func testLargeStatement(t *testing.T, db *sql.DB, mode string) {
	t.Helper()
	ctx := context.Background()
	payload := make([]byte, 5<<20)
	for i := range payload {
		payload[i] = 'a' + byte(i*7%26)
	}
	id := len(mode)
	q := fmt.Sprintf("INSERT INTO sor.big VALUES (%d, '%s')", id, payload)
	if _, err := db.ExecContext(ctx, q); err != nil {
		t.Fatal(err)
	}
	var n int
	var sum string
	if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT LENGTH(b), SHA2(b, 256) FROM sor.big WHERE id = %d", id)).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(payload)); n != len(payload) || sum != want {
		t.Fatalf("5 MB statement: stored %d bytes, sha256 %s, want %d %s", n, sum, len(payload), want)
	}
	var back []byte
	if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT b FROM sor.big WHERE id = %d", id)).Scan(&back); err != nil {
		t.Fatal(err)
	}
	if string(back) != string(payload) {
		t.Fatalf("5 MB value read back differs (%d bytes)", len(back))
	}
}

func globalStatus(t *testing.T, db *sql.DB, name string) int64 {
	t.Helper()
	var n string
	var v int64
	if err := db.QueryRow("SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// waitGone waits until the server has finished with connection id.
func waitGone(t *testing.T, db *sql.DB, id int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d still open on the server", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

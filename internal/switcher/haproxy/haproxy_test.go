package haproxy_test

import (
	"context"
	"database/sql"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/probe/probetest"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
	"github.com/dbshift/dbshift/internal/switcher"
	"github.com/dbshift/dbshift/internal/switcher/haproxy"
)

// twoServersBehindHAProxy starts two sandbox servers with the same
// application account on both (the probe's), and haproxy in front of them (db1 live, db2
// disabled).
func twoServersBehindHAProxy(t *testing.T) (*haproxy.Local, []switcher.Endpoint) {
	t.Helper()
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatal("haproxy not installed: run `make deps` (as root) or apt-get install haproxy")
	}
	ctx := context.Background()
	s := sandboxtest.New(t, sandbox.Options{Instances: 2})
	probetest.CreateAccount(t, s.Instances...)
	var eps []switcher.Endpoint
	for _, inst := range s.Instances {
		eps = append(eps, switcher.Endpoint{Name: inst.Name, Addr: inst.Addr()})
	}
	l, err := haproxy.StartLocal(ctx, t.TempDir(), 0, eps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop() })
	return l, eps
}

func openApp(t *testing.T, addr string) *sql.DB {
	t.Helper()
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "app", DSN: probetest.DSN(addr), Password: probetest.Password, TLS: "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.DB
}

// serverIDs opens n fresh connections and returns the @@server_id each one
// landed on.
func serverIDs(t *testing.T, addr string, n int) []int {
	t.Helper()
	db := openApp(t, addr)
	ctx := context.Background()
	var ids []int
	var conns []*sql.Conn
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var id int
		if err := c.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, c := range conns {
		c.Close()
	}
	return ids
}

func allEqual(ids []int, want int) bool {
	for _, id := range ids {
		if id != want {
			return false
		}
	}
	return len(ids) > 0
}

func TestSwitch_MovesTrafficAndClosesOldSessions(t *testing.T) {
	l, eps := twoServersBehindHAProxy(t)
	ctx := context.Background()
	sw := l.Switcher()

	if ids := serverIDs(t, l.Addr(), 4); !allEqual(ids, 101) {
		t.Fatalf("before the switch connections landed on %v, want all on 101", ids)
	}
	old, err := openApp(t, l.Addr()).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	var id int
	if err := old.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id); err != nil || id != 101 {
		t.Fatalf("old session on %d, %v", id, err)
	}

	if err := sw.Check(ctx, eps[0], eps[1]); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := sw.Switch(ctx, eps[0], eps[1]); err != nil {
		t.Fatalf("Switch: %v", err)
	}
	if ids := serverIDs(t, l.Addr(), 4); !allEqual(ids, 102) {
		t.Fatalf("after the switch connections landed on %v, want all on 102", ids)
	}
	if err := old.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id); err == nil {
		t.Fatalf("old session still answers (server %d) after its sessions were shut", id)
	}
	servers, err := sw.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, v := range servers {
		states[v.Name] = v.State()
	}
	if states["db1"] != "maint" || states["db2"] != "ready" {
		t.Fatalf("states after the switch = %v", states)
	}

	// And back: the same call the other way round is the rollback.
	if err := sw.Switch(ctx, eps[1], eps[0]); err != nil {
		t.Fatalf("Switch back: %v", err)
	}
	if ids := serverIDs(t, l.Addr(), 4); !allEqual(ids, 101) {
		t.Fatalf("after switching back connections landed on %v, want all on 101", ids)
	}
}

func TestCheck_Failures(t *testing.T) {
	l, eps := twoServersBehindHAProxy(t)
	ctx := context.Background()
	unknown := switcher.Endpoint{Name: "nowhere", Addr: "127.0.0.1:1"}
	cases := []struct {
		name     string
		sw       *haproxy.Switcher
		from, to switcher.Endpoint
		want     string
	}{
		{"unknown server", l.Switcher(), eps[0], unknown, "no server at 127.0.0.1:1"},
		{"unknown backend", haproxy.New(l.Socket(), "nope"), eps[0], eps[1], "Can't find backend"},
		{"no socket", haproxy.New(filepath.Join(t.TempDir(), "missing.sock"), haproxy.Backend), eps[0], eps[1], "admin socket"},
		{"bad address", l.Switcher(), switcher.Endpoint{Addr: "db1"}, eps[1], "host:port"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.sw.Check(ctx, c.from, c.to)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v, want an error containing %q", err, c.want)
			}
		})
	}
	// A failed Check changed nothing: db1 still takes the traffic.
	if ids := serverIDs(t, l.Addr(), 2); !allEqual(ids, 101) {
		t.Fatalf("after failed checks connections landed on %v", ids)
	}
	// Switch refuses an unknown target before touching from.
	if err := l.Switcher().Switch(ctx, eps[0], unknown); err == nil {
		t.Fatal("Switch to an unknown server succeeded")
	}
	if ids := serverIDs(t, l.Addr(), 2); !allEqual(ids, 101) {
		t.Fatalf("a refused Switch moved traffic: %v", ids)
	}
}

func TestStartLocal_PortTaken(t *testing.T) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatal("haproxy not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A port held by a listener without SO_REUSEPORT makes haproxy exit at
	// start; StartLocal must say so rather than hang.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = haproxy.StartLocal(ctx, t.TempDir(), ln.Addr().(*net.TCPAddr).Port, []switcher.Endpoint{{Name: "a", Addr: "127.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), "haproxy exited") {
		t.Fatalf("StartLocal on a busy port = %v", err)
	}
}

package haproxy_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/dbshift/dbshift/internal/switcher"
	"github.com/dbshift/dbshift/internal/switcher/haproxy"
)

// BenchmarkSwitch measures one Switch (maint, shut sessions, ready, read
// back) on a real haproxy: the traffic layer's share of a cutover's
// client-visible window. No database is needed: without health checks
// haproxy takes the servers' state as set.
func BenchmarkSwitch(b *testing.B) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		b.Skip("haproxy not installed")
	}
	eps := []switcher.Endpoint{{Name: "a", Addr: "127.0.0.1:1"}, {Name: "b", Addr: "127.0.0.1:2"}}
	l, err := haproxy.StartLocal(context.Background(), b.TempDir(), 0, eps)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Stop()
	sw := l.Switcher()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		from, to := eps[i%2], eps[(i+1)%2]
		if err := sw.Switch(ctx, from, to); err != nil {
			b.Fatal(err)
		}
	}
}

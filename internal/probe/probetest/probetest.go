// Package probetest gives tests an application account for the probe on
// sandbox servers: no SUPER, so read_only fences it as it fences a real
// application.
package probetest

import (
	"context"
	"testing"

	"github.com/dbshift/dbshift/internal/flavor"
	"github.com/dbshift/dbshift/internal/probe"
	"github.com/dbshift/dbshift/internal/sandbox"
)

// User and Password of the account CreateAccount makes.
const (
	User     = "probe"
	Password = "probe-secret-for-tests"
)

// CreateAccount creates the probe's account on each instance, outside the
// binlog: every server of a test gets it as a clone would have it, and a
// replica never replays it.
func CreateAccount(t testing.TB, insts ...*sandbox.Instance) {
	t.Helper()
	ctx := context.Background()
	for _, inst := range insts {
		root, err := inst.Root(ctx)
		if err != nil {
			t.Fatalf("%s: %v", inst.Name, err)
		}
		// One connection, so sql_log_bin=0 holds for what follows.
		conn, err := root.Conn(ctx)
		if err != nil {
			root.Close()
			t.Fatalf("%s: %v", inst.Name, err)
		}
		for _, q := range []string{
			"SET SESSION sql_log_bin = 0",
			"CREATE USER IF NOT EXISTS " + flavor.Quote(User) + "@'%' IDENTIFIED BY " + flavor.Quote(Password),
			"GRANT SELECT, INSERT, CREATE ON " + flavor.QuoteIdent(probe.DefaultSchema) + ".* TO " + flavor.Quote(User) + "@'%'",
		} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				conn.Close()
				root.Close()
				t.Fatalf("%s: %s: %v", inst.Name, q, err)
			}
		}
		conn.Close()
		root.Close()
	}
}

// DSN is the account's DSN for addr (host:port); the password is Password.
func DSN(addr string) string { return User + "@tcp(" + addr + ")/" }

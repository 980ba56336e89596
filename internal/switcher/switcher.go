// Package switcher moves application traffic from one database server to
// another during a cutover. Each kind (HAProxy runtime API, a user command,
// later ProxySQL and Route53) lives in a subpackage and implements Switcher.
package switcher

import "context"

// Switcher moves application traffic from one server to another.
type Switcher interface {
	Name() string
	// Check verifies before any fence that the switch can be made (backends
	// known, socket reachable): a switch that cannot happen must be found
	// while aborting still costs nothing.
	Check(ctx context.Context, from, to Endpoint) error
	// Switch stops new traffic to from, closes its sessions, and sends
	// traffic to to.
	Switch(ctx context.Context, from, to Endpoint) error
}

// Endpoint is one database server as the traffic layer knows it.
type Endpoint struct {
	Name string
	Addr string // host:port of the database server
}

func (e Endpoint) String() string {
	if e.Name == "" {
		return e.Addr
	}
	return e.Name + " (" + e.Addr + ")"
}

// Package route53 switches traffic by pointing the application's DNS name
// (a CNAME in a Route53 hosted zone) at the new instance's endpoint, with a
// short TTL, and returns once Route53 reports the change INSYNC on all its
// authoritative servers.
package route53

import (
	"context"
	"fmt"
	"net"
	"strings"

	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
	"github.com/dbshift/dbshift/internal/switcher"
)

// Switcher is the route53 kind of switcher.Switcher.
type Switcher struct {
	api    *awsprov.Provider
	zoneID string
	record string
	ttl    int64
	wait   awsprov.WaitOptions
}

var _ switcher.Switcher = (*Switcher)(nil)

// New switches record (the application's name) in the hosted zone zoneID.
// ttl 0 means 5 seconds, so clients follow the switch quickly.
func New(api *awsprov.Provider, zoneID, record string, ttl int64, wait awsprov.WaitOptions) *Switcher {
	return &Switcher{api: api, zoneID: zoneID, record: record, ttl: ttl, wait: wait}
}

// Name names the switch in reports.
func (s *Switcher) Name() string { return "route53 " + s.record }

// Check reads the record before any fence: the zone must be readable, and
// the name must point at the old server (or already at the new one, a
// resumed cutover). A name that points elsewhere means traffic does not
// flow the way the cutover believes; switching it would move someone
// else's clients onto a server this run did not fence.
func (s *Switcher) Check(ctx context.Context, from, to switcher.Endpoint) error {
	cur, _, err := s.api.CNAME(ctx, s.zoneID, s.record)
	if err != nil {
		return err
	}
	switch {
	case cur == "":
		return fmt.Errorf("%s has no CNAME in zone %s: create it pointing at %s first, so the switch moves traffic the application already sends there", s.record, s.zoneID, host(from.Addr))
	case sameName(cur, host(from.Addr)), sameName(cur, host(to.Addr)):
		return nil
	}
	return fmt.Errorf("%s points at %s, neither the old server %s nor the new %s", s.record, cur, host(from.Addr), host(to.Addr))
}

// Switch upserts the CNAME to the new server's host and waits for INSYNC.
// The old server is already fenced; clients holding the old answer for the
// TTL reach the fenced server and fail until they resolve again.
func (s *Switcher) Switch(ctx context.Context, from, to switcher.Endpoint) error {
	return s.api.UpsertCNAME(ctx, awsprov.CNAMERequest{ZoneID: s.zoneID, Name: s.record, Target: host(to.Addr), TTL: s.ttl}, s.wait)
}

func host(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

package haproxy

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// SetAddr points one server of the backend at another address (runtime API
// `set server B/S addr IP port P`): a server whose address is only known
// once it exists, like a restored target, joins the backend without a reload.
func (s *Switcher) SetAddr(ctx context.Context, server, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("haproxy: address %q: %w", addr, err)
	}
	out, err := s.command(ctx, "set server "+s.backend+"/"+server+" addr "+host+" port "+port)
	if err != nil {
		return err
	}
	// HAProxy answers with what changed ("IP changed from ... port changed
	// from ...") or that nothing needed to; anything else is an error.
	if msg := strings.TrimSpace(out); msg != "" && !strings.Contains(msg, "changed") && !strings.Contains(msg, "no need to change") {
		return fmt.Errorf("haproxy: set server %s/%s addr: %s", s.backend, server, msg)
	}
	return nil
}

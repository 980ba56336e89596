// Package haproxy switches traffic with HAProxy's runtime API over its UNIX
// admin socket (https://docs.haproxy.org/2.6/management.html#9.3): the old
// server goes to maintenance, its sessions are shut, the new one is made
// ready, and the result is read back with `show servers state`.
package haproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/switcher"
)

// Switcher drives one backend of one HAProxy.
type Switcher struct {
	socket  string
	backend string
	// VerifyTimeout bounds how long Switch waits for the new server to be
	// reported running (a health check, when configured, must pass first).
	VerifyTimeout time.Duration
	// CommandTimeout bounds one round trip on the admin socket.
	CommandTimeout time.Duration
}

var _ switcher.Switcher = (*Switcher)(nil)

// New returns a Switcher for backend behind the admin socket adminSocket
// (the `stats socket ... level admin` path).
func New(adminSocket, backend string) *Switcher {
	return &Switcher{socket: adminSocket, backend: backend, VerifyTimeout: 5 * time.Second, CommandTimeout: 5 * time.Second}
}

func (s *Switcher) Name() string { return "haproxy" }

// Server is one line of `show servers state` for the backend.
type Server struct {
	Name       string
	Addr       string // srv_addr: the resolved IP
	FQDN       string // srv_fqdn, "-" when the config gave an IP
	Port       int
	OpState    int // srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping
	AdminState int // srv_admin_state bit field, see the adm* constants
}

// srv_admin_state bits (include/haproxy/server-t.h). CMAINT alone only says
// "disabled in the configuration"; it stays set after `state ready` while
// the server takes traffic, so maintenance is FMAINT|IMAINT|RMAINT.
const (
	admForcedMaint    = 0x01
	admInheritedMaint = 0x02
	admConfigMaint    = 0x04
	admForcedDrain    = 0x08
	admInheritedDrain = 0x10
	admResolvMaint    = 0x20
	admMaint          = admForcedMaint | admInheritedMaint | admResolvMaint
	admDrain          = admForcedDrain | admInheritedDrain
	opRunning         = 2
)

// InMaintenance reports whether HAProxy sends this server no traffic.
func (v Server) InMaintenance() bool { return v.AdminState&admMaint != 0 }

// Ready reports whether the server takes new connections.
func (v Server) Ready() bool {
	return v.AdminState&(admMaint|admDrain) == 0 && v.OpState == opRunning
}

// State names the server's state for messages.
func (v Server) State() string {
	switch {
	case v.InMaintenance():
		return "maint"
	case v.AdminState&admDrain != 0:
		return "drain"
	case v.OpState == opRunning:
		return "ready"
	}
	return "down"
}

// Check verifies that the socket answers, the backend exists, and both
// endpoints are servers of it.
func (s *Switcher) Check(ctx context.Context, from, to switcher.Endpoint) error {
	servers, err := s.Servers(ctx)
	if err != nil {
		return err
	}
	if _, err := s.match(ctx, servers, from); err != nil {
		return err
	}
	if _, err := s.match(ctx, servers, to); err != nil {
		return err
	}
	return nil
}

// Switch puts from in maintenance, shuts its sessions, readies to and reads
// the state back. from goes first so no new connection reaches the old
// server once to takes writes; clients see refused connections for the few
// milliseconds in between and retry.
func (s *Switcher) Switch(ctx context.Context, from, to switcher.Endpoint) error {
	servers, err := s.Servers(ctx)
	if err != nil {
		return err
	}
	fromNames, err := s.match(ctx, servers, from)
	if err != nil {
		return err
	}
	toNames, err := s.match(ctx, servers, to)
	if err != nil {
		return err
	}
	for _, n := range fromNames {
		if err := s.SetState(ctx, n, "maint"); err != nil {
			return err
		}
	}
	for _, n := range fromNames {
		if err := s.ShutdownSessions(ctx, n); err != nil {
			return err
		}
	}
	for _, n := range toNames {
		if err := s.SetState(ctx, n, "ready"); err != nil {
			return err
		}
	}
	return s.verify(ctx, fromNames, toNames)
}

// verify polls `show servers state` until from is in maintenance and to
// runs, within VerifyTimeout.
func (s *Switcher) verify(ctx context.Context, fromNames, toNames []string) error {
	ctx, cancel := context.WithTimeout(ctx, s.VerifyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		servers, err := s.Servers(ctx)
		if err != nil {
			return err
		}
		byName := map[string]Server{}
		for _, v := range servers {
			byName[v.Name] = v
		}
		var problems []string
		for _, n := range fromNames {
			if v := byName[n]; !v.InMaintenance() {
				problems = append(problems, fmt.Sprintf("%s/%s is %s, want maint", s.backend, n, v.State()))
			}
		}
		for _, n := range toNames {
			if v := byName[n]; !v.Ready() {
				problems = append(problems, fmt.Sprintf("%s/%s is %s, want ready", s.backend, n, v.State()))
			}
		}
		if len(problems) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("haproxy after the switch: %s", strings.Join(problems, "; "))
		case <-tick.C:
		}
	}
}

// SetState sets one server of the backend to maint, ready or drain.
func (s *Switcher) SetState(ctx context.Context, server, state string) error {
	switch state {
	case "maint", "ready", "drain":
	default:
		return fmt.Errorf("haproxy: unknown server state %q", state)
	}
	if err := s.exec(ctx, "set server "+s.backend+"/"+server+" state "+state); err != nil {
		return fmt.Errorf("setting %s/%s to %s: %w", s.backend, server, state, err)
	}
	return nil
}

// ShutdownSessions closes every session of one server of the backend:
// maintenance alone only stops new ones.
func (s *Switcher) ShutdownSessions(ctx context.Context, server string) error {
	if err := s.exec(ctx, "shutdown sessions server "+s.backend+"/"+server); err != nil {
		return fmt.Errorf("closing the sessions of %s/%s: %w", s.backend, server, err)
	}
	return nil
}

// Servers reads `show servers state` for the backend.
func (s *Switcher) Servers(ctx context.Context) ([]Server, error) {
	out, err := s.command(ctx, "show servers state "+s.backend)
	if err != nil {
		return nil, err
	}
	servers, err := parseServersState(out)
	if err != nil {
		return nil, fmt.Errorf("haproxy backend %q: %w", s.backend, err)
	}
	return servers, nil
}

// match names the backend's servers whose address is ep.Addr. A host name
// in ep is resolved so "localhost:3307" finds "127.0.0.1 3307".
func (s *Switcher) match(ctx context.Context, servers []Server, ep switcher.Endpoint) ([]string, error) {
	host, portStr, err := net.SplitHostPort(ep.Addr)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: want host:port: %w", ep, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: bad port", ep)
	}
	hosts := []string{host}
	if net.ParseIP(host) == nil {
		if ips, err := net.DefaultResolver.LookupHost(ctx, host); err == nil {
			hosts = append(hosts, ips...)
		}
	}
	var names []string
	for _, v := range servers {
		if v.Port != port {
			continue
		}
		for _, h := range hosts {
			if h == v.Addr || h == v.FQDN {
				names = append(names, v.Name)
				break
			}
		}
	}
	if len(names) == 0 {
		var have []string
		for _, v := range servers {
			have = append(have, fmt.Sprintf("%s=%s:%d", v.Name, v.Addr, v.Port))
		}
		return nil, fmt.Errorf("haproxy backend %q has no server at %s (it has %s)", s.backend, ep.Addr, strings.Join(have, ", "))
	}
	return names, nil
}

// exec runs a command that answers nothing on success; any text back is
// HAProxy's error message ("No such server.", "Can't find backend.").
func (s *Switcher) exec(ctx context.Context, cmd string) error {
	out, err := s.command(ctx, cmd)
	if err != nil {
		return err
	}
	if msg := strings.TrimSpace(out); msg != "" {
		return errors.New("haproxy: " + msg)
	}
	return nil
}

// command sends one command on a fresh connection: without `prompt` HAProxy
// answers and closes, so the answer is everything up to EOF.
func (s *Switcher) command(ctx context.Context, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.CommandTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", s.socket)
	if err != nil {
		return "", fmt.Errorf("haproxy admin socket %s: %w", s.socket, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy %q: %w", cmd, err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return "", fmt.Errorf("haproxy %q: %w", cmd, err)
	}
	return string(b), nil
}

// parseServersState reads the version-1 format: a "1" line, a "# " header
// naming the columns, then one line per server. Columns are found by name
// because later versions append some.
func parseServersState(out string) ([]Server, error) {
	sc := bufio.NewScanner(strings.NewReader(out))
	var cols map[string]int
	var servers []Server
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if first {
			first = false
			if line != "1" {
				return nil, errors.New(line)
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			cols = map[string]int{}
			for i, c := range strings.Fields(strings.TrimPrefix(line, "#")) {
				cols[c] = i
			}
			continue
		}
		if cols == nil {
			return nil, fmt.Errorf("servers state without a header: %q", line)
		}
		f := strings.Fields(line)
		get := func(name string) (string, error) {
			i, ok := cols[name]
			if !ok || i >= len(f) {
				return "", fmt.Errorf("servers state line lacks %s: %q", name, line)
			}
			return f[i], nil
		}
		var v Server
		var err error
		var port, op, adm string
		for _, c := range []struct {
			dst  *string
			name string
		}{{&v.Name, "srv_name"}, {&v.Addr, "srv_addr"}, {&v.FQDN, "srv_fqdn"}, {&port, "srv_port"}, {&op, "srv_op_state"}, {&adm, "srv_admin_state"}} {
			if *c.dst, err = get(c.name); err != nil {
				return nil, err
			}
		}
		if v.Port, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("servers state: bad port in %q", line)
		}
		if v.OpState, err = strconv.Atoi(op); err != nil {
			return nil, fmt.Errorf("servers state: bad op state in %q", line)
		}
		if v.AdminState, err = strconv.Atoi(adm); err != nil {
			return nil, fmt.Errorf("servers state: bad admin state in %q", line)
		}
		servers = append(servers, v)
	}
	if first {
		return nil, errors.New("empty answer to show servers state")
	}
	return servers, sc.Err()
}

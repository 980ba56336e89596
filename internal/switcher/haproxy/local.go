package haproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbshift/dbshift/internal/switcher"
)

// Backend is the backend name StartLocal configures.
const Backend = "db"

// Local is a haproxy process started for the tests and the demo: a TCP
// frontend on loopback in front of the given servers, the first one live and
// the others disabled, with an admin socket.
type Local struct {
	dir    string
	addr   string
	socket string
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, valid once done is closed
}

// StartLocal writes dir/haproxy.cfg and starts the haproxy binary in the
// foreground (-db) as a child process. listenPort 0 picks a free port.
func StartLocal(ctx context.Context, dir string, listenPort int, servers []switcher.Endpoint) (*Local, error) {
	if len(servers) == 0 {
		return nil, errors.New("haproxy: at least one server")
	}
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/haproxy"); err != nil {
			return nil, errors.New("haproxy not found: install the haproxy package (make deps does, as root)")
		}
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("haproxy dir: %w", err)
	}
	if listenPort == 0 {
		if listenPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	l := &Local{
		dir:    dir,
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(listenPort)),
		socket: filepath.Join(dir, "admin.sock"),
		done:   make(chan struct{}),
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(config(l.addr, l.socket, servers)), 0o600); err != nil {
		return nil, fmt.Errorf("writing haproxy.cfg: %w", err)
	}
	_ = os.Remove(l.socket)
	logf, err := os.OpenFile(filepath.Join(dir, "haproxy.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	l.cmd = exec.Command(bin, "-db", "-f", cfg)
	l.cmd.Stdout, l.cmd.Stderr = logf, logf
	// Not the terminal's process group: Ctrl-C on the demo goes to dbshift,
	// which stops haproxy itself.
	l.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := l.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting haproxy: %w", err)
	}
	go func() { l.err = l.cmd.Wait(); close(l.done) }()
	if err := l.waitReady(ctx); err != nil {
		_ = l.Stop()
		return nil, err
	}
	return l, nil
}

// config is a minimal TCP proxy: short connect timeout so a dead server is
// noticed at once, client/server timeouts long enough for an idle pooled
// connection, and servers without health checks so `state ready` takes
// effect immediately.
func config(addr, socket string, servers []switcher.Endpoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n    stats socket %s mode 600 level admin\n    maxconn 4000\n\n", socket)
	b.WriteString("defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 60s\n    timeout server 60s\n\n")
	fmt.Fprintf(&b, "frontend app\n    bind %s\n    default_backend %s\n\n", addr, Backend)
	fmt.Fprintf(&b, "backend %s\n", Backend)
	for i, s := range servers {
		line := fmt.Sprintf("    server %s %s", serverName(s, i), s.Addr)
		if i > 0 {
			line += " disabled"
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func serverName(s switcher.Endpoint, i int) string {
	if n := unsafeName.ReplaceAllString(s.Name, "_"); n != "" {
		return n
	}
	return "srv" + strconv.Itoa(i+1)
}

func (l *Local) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	sw := New(l.socket, Backend)
	for {
		select {
		case <-l.done:
			log, _ := os.ReadFile(filepath.Join(l.dir, "haproxy.log"))
			return fmt.Errorf("haproxy exited: %v: %s", l.err, strings.TrimSpace(string(log)))
		default:
		}
		if _, err := sw.Servers(ctx); err == nil {
			if c, err := net.DialTimeout("tcp", l.addr, time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("haproxy did not come up on %s: %w", l.addr, ctx.Err())
		case <-tick.C:
		}
	}
}

// Addr is the frontend's host:port: the application endpoint.
func (l *Local) Addr() string { return l.addr }

// Socket is the admin socket path.
func (l *Local) Socket() string { return l.socket }

// Switcher returns a Switcher for this haproxy's backend.
func (l *Local) Switcher() *Switcher { return New(l.socket, Backend) }

// Stop terminates haproxy and waits for it.
func (l *Local) Stop() error {
	select {
	case <-l.done:
		return nil
	default:
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		_ = l.cmd.Process.Kill()
		<-l.done
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

package dbconn_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// stripTLSProxy forwards to upstream, clearing CLIENT_SSL (0x0800) in the
// server's initial handshake: what a man in the middle does to downgrade
// a client to plaintext. It listens on listenHost.
func stripTLSProxy(t *testing.T, listenHost, upstream string, strip bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(listenHost, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", listenHost, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				proxyConn(c, upstream, strip)
			}()
		}
	}()
	return ln.Addr().String()
}

func proxyConn(c net.Conn, upstream string, strip bool) {
	defer c.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	// The server speaks first: one packet, 3-byte length + sequence id.
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(u, hdr); err != nil {
		return
	}
	body := make([]byte, int(hdr[0])|int(hdr[1])<<8|int(hdr[2])<<16)
	if _, err := io.ReadFull(u, body); err != nil {
		return
	}
	if strip && len(body) > 0 && body[0] == 10 {
		// Protocol 10: version string, NUL, connection id (4), auth data
		// part 1 (8), filler (1), then the capability flags' low 2 bytes.
		if nul := bytes.IndexByte(body[1:], 0); nul >= 0 {
			off := 1 + nul + 1 + 4 + 8 + 1
			if off+2 <= len(body) {
				body[off+1] &^= 0x08 // CLIENT_SSL is 0x0800
			}
		}
	}
	if _, err := c.Write(append(hdr, body...)); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(u, c); done <- struct{}{} }()
	go func() { io.Copy(c, u); done <- struct{}{} }()
	<-done
}

func openTLS(inst *sandbox.Instance, addr, mode, ca string, log *slog.Logger) (*dbconn.Conn, error) {
	return dbconn.Open(context.Background(), dbconn.Spec{Role: "source", DSN: inst.AdminUser + "@tcp(" + addr + ")/", Password: inst.Password, TLS: mode, TLSCA: ca}, log)
}

func cipher(t *testing.T, c *dbconn.Conn) string {
	t.Helper()
	var name, v string
	if err := c.DB.QueryRow("SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTLS_VerifyAgainstTheSandboxCA(t *testing.T) {
	inst := sandboxtest.New(t, sandbox.Options{Instances: 1}).Instance(1)
	for _, mode := range []string{"verify-ca", "verify-identity"} {
		c, err := openTLS(inst, inst.Addr(), mode, inst.CAFile(), nil)
		if err != nil {
			t.Fatalf("%s with the sandbox CA: %v", mode, err)
		}
		if cipher(t, c) == "" || !c.TLS {
			t.Errorf("%s: session not encrypted (TLS=%v)", mode, c.TLS)
		}
		c.Close()
	}
	wrong := sandboxtest.OtherCA(t)
	for _, mode := range []string{"verify-ca", "verify-identity"} {
		_, err := openTLS(inst, inst.Addr(), mode, wrong, nil)
		var de *dbconn.Error
		if err == nil || !errors.As(err, &de) {
			t.Fatalf("%s with a CA that signed nothing: err = %v, want a *dbconn.Error", mode, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "certificate") || !strings.Contains(msg, wrong) || !strings.Contains(msg, mode) {
			t.Errorf("%s with the wrong CA: error does not name the certificate, the mode and the CA file: %v", mode, err)
		}
	}
	// The certificate is for 127.0.0.1 and localhost: reached as 127.0.0.2
	// the chain is good (verify-ca passes) but the identity is not.
	addr := stripTLSProxy(t, "127.0.0.2", inst.Addr(), false)
	c, err := openTLS(inst, addr, "verify-ca", inst.CAFile(), nil)
	if err != nil {
		t.Fatalf("verify-ca through 127.0.0.2: %v", err)
	}
	c.Close()
	if _, err := openTLS(inst, addr, "verify-identity", inst.CAFile(), nil); err == nil || !strings.Contains(err.Error(), "127.0.0.2") {
		t.Errorf("verify-identity against a certificate for another name: err = %v, want a refusal naming 127.0.0.2", err)
	}
}

func TestTLS_DowngradeRefusedOrWarned(t *testing.T) {
	inst := sandboxtest.New(t, sandbox.Options{Instances: 1}).Instance(1)
	addr := stripTLSProxy(t, "127.0.0.1", inst.Addr(), true)
	for _, mode := range []string{"required", "verify-ca", "verify-identity"} {
		_, err := openTLS(inst, addr, mode, inst.CAFile(), nil)
		if err == nil || !strings.Contains(err.Error(), "offers no TLS") {
			t.Errorf("%s through a proxy that strips CLIENT_SSL: err = %v, want a refusal saying the server offers no TLS", mode, err)
		}
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	c, err := openTLS(inst, addr, "preferred", "", log)
	if err != nil {
		t.Fatalf("preferred through the proxy: %v", err)
	}
	defer c.Close()
	if cipher(t, c) != "" || c.TLS {
		t.Error("the proxy did not downgrade the session: the test proves nothing")
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), addr) || !strings.Contains(logs.String(), "plaintext") {
		t.Errorf("preferred that ended in plaintext did not warn naming the server:\n%s", logs.String())
	}
	// Straight to the server, preferred gets TLS and says nothing.
	logs.Reset()
	d, err := openTLS(inst, inst.Addr(), "preferred", "", log)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.TLS || strings.Contains(logs.String(), "plaintext") {
		t.Errorf("preferred with a TLS server: TLS=%v, logs:\n%s", d.TLS, logs.String())
	}
	// "off" stays an alias of disabled.
	e, err := openTLS(inst, inst.Addr(), "off", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.TLS || cipher(t, e) != "" {
		t.Error("--tls off negotiated TLS")
	}
}

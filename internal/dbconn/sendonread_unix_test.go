//go:build unix

package dbconn

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestSendOnRead_FullSendBuffer sends requests that cannot leave in one
// write(2) (a 4 KB send buffer, a peer that reads slowly) and requests
// that Close must flush, against a plain TCP peer that answers each
// request with its own bytes reversed.
func TestSendOnRead_FullSendBuffer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const reqLen = 60 << 10 // under maxPending: held back, sent by Read
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for i := 0; i < 3; i++ {
			req := make([]byte, reqLen)
			// Small reads so the client's send buffer fills.
			for n := 0; n < reqLen; {
				k, err := c.Read(req[n:min(n+512, reqLen)])
				if err != nil {
					return
				}
				n += k
			}
			for l, r := 0, len(req)-1; l < r; l, r = l+1, r-1 {
				req[l], req[r] = req[r], req[l]
			}
			if _, err := c.Write(req); err != nil {
				return
			}
		}
		rest, _ := io.ReadAll(c) // what the client's Close sent
		got <- rest
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	c, err := newSendOnRead(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*sendOnRead); !ok {
		t.Fatalf("newSendOnRead returned a %T", c)
	}
	for i := 0; i < 3; i++ {
		req := make([]byte, reqLen)
		for j := range req {
			req[j] = byte(i + j*13)
		}
		// Two writes, as the driver writes a header and a body.
		if n, err := c.Write(req[:100]); err != nil || n != 100 {
			t.Fatalf("write: %d, %v", n, err)
		}
		if n, err := c.Write(req[100:]); err != nil || n != reqLen-100 {
			t.Fatalf("write: %d, %v", n, err)
		}
		ans := make([]byte, reqLen)
		if _, err := io.ReadFull(c, ans); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		for l, r := 0, len(req)-1; l < r; l, r = l+1, r-1 {
			req[l], req[r] = req[r], req[l]
		}
		if !bytes.Equal(ans, req) {
			t.Fatalf("request %d: wrong answer", i)
		}
	}
	if _, err := c.Write([]byte("quit")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if rest := <-got; string(rest) != "quit" {
		t.Fatalf("the peer got %q after the last answer, want the held-back \"quit\"", rest)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

// TestSendOnRead_DataAlreadyQueued: a Read that sends a held-back write
// returns what the peer sent before it, when the previous Read filled its
// buffer and left the rest in the socket (a TLS record layer reading a
// result set, which may answer a KeyUpdate mid-stream), rather than wait
// for an answer the peer may never send.
func TestSendOnRead_DataAlreadyQueued(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if _, err := c.Write([]byte("AB")); err != nil {
			return
		}
		req := make([]byte, 3)
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		<-done // no answer to the request
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := newSendOnRead(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil || b[0] != 'A' {
		t.Fatalf("first read: %q, %v", b, err)
	}
	if _, err := c.Write([]byte("req")); err != nil {
		t.Fatal(err)
	}
	// Only a bound on a failure: the byte is already in the socket.
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(b); err != nil || n != 1 || b[0] != 'B' {
		t.Fatalf("read after the held-back write: %q, %v; want the queued \"B\"", b[:n], err)
	}
}

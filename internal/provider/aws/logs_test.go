package aws

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/awsfake"
)

const generalLog = "general/mysql-general.log"

// logLines returns n general-log lines tagged with prefix, each ~60 bytes.
func logLines(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "2026-01-01T00:00:00.000000Z\t   %2d Query\tSELECT '%s-%03d'\n", i%50, prefix, i)
	}
	return b.String()
}

// rotateAfter is a writer that, once it has seen `after` bytes, has the
// fake rotate the log (as RDS does on the hour) and write more to the new
// current file: the rotation then happens in the middle of FetchLog.
type rotateAfter struct {
	buf     bytes.Buffer // not embedded: its WriteString would bypass Write
	after   int
	rotate  func()
	rotated bool
}

func (w *rotateAfter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if !w.rotated && w.buf.Len() >= w.after {
		w.rotated = true
		w.rotate()
	}
	return n, err
}

func newLogEnv(t *testing.T) env {
	t.Helper()
	// Small portions so one file takes many markers.
	f := awsfake.New(awsfake.Options{PortionBytes: 500})
	t.Cleanup(f.Close)
	f.AddInstance(awsfake.InstanceSpec{ID: "prod"})
	return env{fake: f, p: newProviderFor(t, f, nil)}
}

func TestFetchLog_MarkersAndRotation(t *testing.T) {
	e := newLogEnv(t)
	f := e.fake
	f.Advance(22 * time.Hour) // 22:00
	f.AppendLog("prod", generalLog, []byte(logLines("h22", 40)))
	f.Advance(time.Hour)
	f.RotateLog("prod", generalLog) // -> .log.23 holds h22
	f.AppendLog("prod", generalLog, []byte(logLines("h23", 40)))
	f.Advance(time.Hour)
	f.RotateLog("prod", generalLog) // -> .log.0 holds h23
	f.AppendLog("prod", generalLog, []byte(logLines("h00", 100)))
	f.AppendLog("prod", "slowquery/mysql-slowquery.log", []byte("# not the general log\n"))

	tail := logLines("h01", 30)
	w := &rotateAfter{after: len(logLines("h22", 40)) + len(logLines("h23", 40)) + 1500, rotate: func() {
		f.AppendLog("prod", generalLog, []byte(logLines("h00late", 5)))
		f.Advance(time.Hour)
		f.RotateLog("prod", generalLog) // -> .log.1 holds h00 + h00late
		f.AppendLog("prod", generalLog, []byte(tail))
	}}
	if err := e.p.FetchLog(context.Background(), "prod", "general", time.Time{}, w); err != nil {
		t.Fatal(err)
	}
	want := logLines("h22", 40) + logLines("h23", 40) + logLines("h00", 100) + logLines("h00late", 5) + tail
	if !w.rotated {
		t.Fatal("the log never rotated during the fetch")
	}
	if got := w.buf.String(); got != want {
		t.Fatalf("fetched %d bytes, want %d; first difference at byte %d", len(got), len(want), firstDiff(got, want))
	}
	if n := f.CallCount("DownloadDBLogFilePortion"); n < 20 {
		t.Fatalf("only %d DownloadDBLogFilePortion calls: markers were not exercised", n)
	}
}

func TestFetchLog_Since(t *testing.T) {
	e := newLogEnv(t)
	f := e.fake
	f.AppendLog("prod", generalLog, []byte(logLines("old", 10)))
	f.Advance(time.Hour)
	f.RotateLog("prod", generalLog)
	since := f.Clock().Now()
	f.Advance(time.Minute)
	f.AppendLog("prod", generalLog, []byte(logLines("new", 10)))
	var b bytes.Buffer
	if err := e.p.FetchLog(context.Background(), "prod", "general", since, &b); err != nil {
		t.Fatal(err)
	}
	if b.String() != logLines("new", 10) {
		t.Fatalf("got %q", b.String())
	}
}

func TestFetchLog_UnknownKind(t *testing.T) {
	e := newLogEnv(t)
	if err := e.p.FetchLog(context.Background(), "prod", "audit", time.Time{}, &bytes.Buffer{}); err == nil {
		t.Fatal("want an error for an unknown log kind")
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

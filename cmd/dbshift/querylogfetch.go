package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
)

// QuerylogFetchCmd is "dbshift querylog fetch": an RDS instance's general
// or slow log, read from the log files themselves (DownloadDBLogFilePortion,
// following markers and the hourly rotation), not from CloudWatch Logs,
// which splits events over 256 KB and can reorder them.
type QuerylogFetchCmd struct {
	Instance string `name:"instance" required:"" help:"RDS DB instance identifier."`
	Log      string `name:"log" required:"" enum:"general,slow" help:"Which log (${enum})."`
	Since    string `name:"since" help:"Only files written since this time: RFC 3339 (2026-01-02T15:04:05Z) or a duration before now (2h)."`
	Out      string `name:"out" type:"path" help:"Write to this file (mode 0600, replaced only once the download is complete) instead of stdout."`
	Region   string `name:"region" help:"AWS region (default: the SDK's, e.g. AWS_REGION)."`
	Profile  string `name:"profile" help:"Shared-config profile (default: the SDK's default credential chain)."`
	Endpoint string `name:"endpoint" help:"API endpoint override (a VPC endpoint, or a test server)."`
}

func (c *QuerylogFetchCmd) Run(app *App) error {
	since, err := parseSince(c.Since, time.Now())
	if err != nil {
		return usage("--since: %v", err)
	}
	where := c.Endpoint
	if where == "" {
		where = "the RDS API"
		if c.Region != "" {
			where += " in " + c.Region
		}
	}
	fmt.Fprintf(app.Stderr, "querylog: fetching the %s log of %s from %s\n", c.Log, c.Instance, where)
	if err := c.probe(app, where); err != nil {
		return err
	}
	p, err := awsprov.New(app.Ctx, awsprov.Config{Region: c.Region, Profile: c.Profile, Endpoint: c.Endpoint, Logger: app.Log})
	if err != nil {
		return usage("%v", err)
	}
	if c.Out == "" {
		w := bufio.NewWriterSize(app.Stdout, 1<<20)
		if err := p.FetchLog(app.Ctx, c.Instance, c.Log, since, w); err != nil {
			w.Flush()
			return failed("%v", err)
		}
		return w.Flush()
	}
	n, err := fetchToFile(app, p, c.Instance, c.Log, since, c.Out)
	if err != nil {
		return failed("%v", err)
	}
	fmt.Fprintf(app.Stderr, "querylog: %d bytes of the %s log of %s in %s\n", n, c.Log, c.Instance, c.Out)
	return nil
}

// probe asks for the instance once, with one retry and a time limit: the
// download's own client retries ten times with backoff (meant for throttling
// during a long download), which kept an unreachable endpoint silent for
// nearly two minutes before it said anything.
func (c *QuerylogFetchCmd) probe(app *App, where string) error {
	p, err := awsprov.New(app.Ctx, awsprov.Config{Region: c.Region, Profile: c.Profile, Endpoint: c.Endpoint, Logger: app.Log,
		RetryMaxAttempts: 2, RetryMaxBackoff: time.Second})
	if err != nil {
		return usage("%v", err)
	}
	ctx, cancel := context.WithTimeout(app.Ctx, probeTimeout)
	defer cancel()
	_, err = p.DescribeInstance(ctx, c.Instance)
	var send *smithyhttp.RequestSendError
	switch {
	case app.Ctx.Err() != nil:
		return app.Ctx.Err()
	case errors.As(err, &send) || ctx.Err() != nil:
		return usage("cannot reach %s: %v", where, err)
	case err != nil:
		return failed("%v", err)
	}
	return nil
}

// probeTimeout bounds the first call: connect, TLS and an answer to one
// small request.
const probeTimeout = 20 * time.Second

// fetchToFile downloads into a temporary file next to out and renames it,
// so out never holds half a log that a later replay would take for all.
func fetchToFile(app *App, p *awsprov.Provider, instance, kind string, since time.Time, out string) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return 0, fmt.Errorf("creating the output file: %w", err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	cw := &countingWriter{w: bufio.NewWriterSize(f, 1<<20)}
	err = p.FetchLog(app.Ctx, instance, kind, since, cw)
	if err == nil {
		err = cw.w.(*bufio.Writer).Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), out)
	}
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// parseSince reads an RFC 3339 time or a duration before now; "" is the
// zero time (every file).
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a positive duration", s)
	}
	return now.Add(-d), nil
}

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/querylog"
)

// QuerylogCmd groups the query-log commands.
type QuerylogCmd struct {
	Extract QuerylogExtractCmd `cmd:"" help:"Print the statements of general/slow logs with their connection context."`
	Fetch   QuerylogFetchCmd   `cmd:"" help:"Download an RDS instance's general or slow log files (following rotation)."`
}

// QuerylogExtractCmd is "dbshift querylog extract".
type QuerylogExtractCmd struct {
	Log    []string `name:"log" required:"" type:"existingfile" help:"Log file (repeatable; .gz read transparently)."`
	Type   string   `name:"type" enum:"general,slow,auto" default:"auto" help:"Log format (${enum})."`
	Filter string   `name:"filter" enum:"select,read,all" default:"all" help:"Which statements to print: select, read (select+show/describe/explain) or all."`
	Format string   `name:"format" enum:"sql,json" default:"sql" help:"Output: sql (annotated statements) or json (one object per line)."`
}

// Run prints one event per statement and reports unparsed lines on stderr;
// any unparsed line makes the exit status 1, so nothing is lost unnoticed.
func (c *QuerylogExtractCmd) Run(app *App) error {
	kind, filter, err := logOptions(c.Type, c.Filter)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(app.Stdout, 1<<20)
	var total querylog.Stats
	for _, path := range c.Log {
		st, err := extractOne(app, w, path, kind, filter, c.Format)
		total.Add(st)
		if err != nil {
			w.Flush()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	fmt.Fprintf(app.Stderr, "querylog: %d files, %d lines, %d statements, %d unparsed lines\n",
		len(c.Log), total.Lines, total.Events, total.Unparsed)
	for _, ex := range total.Examples {
		fmt.Fprintf(app.Stderr, "  unparsed %s:%d: %q\n", ex.File, ex.Line, ex.Text)
	}
	if total.Unparsed > 0 {
		return failed("%d lines could not be parsed", total.Unparsed)
	}
	if total.Events == 0 {
		// An empty file, or the wrong one: say so rather than print nothing.
		return failed("no statement found in %d lines (--type %s, --filter %s)", total.Lines, c.Type, c.Filter)
	}
	return nil
}

// logOptions reads the --type and --filter flags shared by querylog and replay.
func logOptions(typ, filter string) (querylog.Kind, querylog.Filter, error) {
	kind, err := querylog.ParseKind(typ)
	if err != nil {
		return kind, 0, usage("%v", err)
	}
	f, err := querylog.ParseFilter(filter)
	if err != nil {
		return kind, f, usage("%v", err)
	}
	return kind, f, nil
}

func extractOne(app *App, w io.Writer, path string, kind querylog.Kind, filter querylog.Filter, format string) (querylog.Stats, error) {
	r, err := querylog.Open(path, kind)
	if err != nil {
		return querylog.Stats{}, err
	}
	defer r.Close()
	enc := json.NewEncoder(w)
	for {
		if err := app.Ctx.Err(); err != nil {
			return r.Stats(), err
		}
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Stats(), nil
		}
		if err != nil {
			return r.Stats(), err
		}
		if !filter.Match(ev.Query) {
			continue
		}
		if format == "json" {
			if err := enc.Encode(jsonEvent(ev)); err != nil {
				return r.Stats(), fmt.Errorf("write output: %w", err)
			}
			continue
		}
		if err := writeSQLEvent(w, ev); err != nil {
			return r.Stats(), fmt.Errorf("write output: %w", err)
		}
	}
}

type eventJSON struct {
	File    string   `json:"file"`
	Line    int      `json:"line"`
	ConnID  uint64   `json:"conn_id"`
	Time    string   `json:"time,omitempty"`
	User    string   `json:"user,omitempty"`
	Host    string   `json:"host,omitempty"`
	DB      string   `json:"db"`
	Command string   `json:"command"`
	Query   string   `json:"query"`
	Session []string `json:"session,omitempty"`
}

func jsonEvent(ev querylog.Event) eventJSON {
	j := eventJSON{File: ev.File, Line: ev.Line, ConnID: ev.ConnID, User: ev.User, Host: ev.Host,
		DB: ev.DB, Command: ev.Command, Query: ev.Query, Session: ev.Session}
	if !ev.Time.IsZero() {
		j.Time = ev.Time.Format(time.RFC3339Nano)
	}
	return j
}

// writeSQLEvent prints a comment line with the context (and one per session
// statement in effect), then the statement ended by ';'.
func writeSQLEvent(w io.Writer, ev querylog.Event) error {
	ts := ""
	if !ev.Time.IsZero() {
		ts = " time=" + ev.Time.Format(time.RFC3339Nano)
	}
	_, err := fmt.Fprintf(w, "-- %s:%d conn=%d%s db=%q", ev.File, ev.Line, ev.ConnID, ts, ev.DB)
	if err != nil {
		return err
	}
	for _, s := range ev.Session {
		if _, err := fmt.Fprintf(w, "\n--   session: %s", strings.ReplaceAll(s, "\n", " ")); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "\n%s;\n", ev.Query)
	return err
}

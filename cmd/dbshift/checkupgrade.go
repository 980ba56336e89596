package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/dbshift/dbshift/internal/compat"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/querylog"
)

// CheckUpgradeCmd is `dbshift check-upgrade`: what breaks when the source is
// upgraded to MySQL 8.0 or 8.4, in its schema, accounts, variables and logged
// queries.
type CheckUpgradeCmd struct {
	// Not OptionalSourceFlags: the help text is this command's own, and the
	// source is optional only for --list.
	Source             string   `name:"source" placeholder:"DSN" help:"Server to check: user@tcp(host:port)/ or mysql://user@host:port/ (password from DBSHIFT_SOURCE_PASSWORD or --source-password-file)."`
	SourcePasswordFile string   `name:"source-password-file" type:"path" placeholder:"FILE" help:"File holding the source password."`
	TargetVersion      string   `name:"target-version" placeholder:"8.0|8.4" help:"MySQL series to upgrade to (8.0 or 8.4)."`
	QueryLog           []string `name:"query-log" type:"existingfile" placeholder:"FILE" help:"General or slow query log to check (repeatable)."`
	Schemas            []string `name:"schemas" sep:"," placeholder:"LIST" help:"Only these schemas (comma-separated); default all but the system schemas."`
	FormatFlag
	List bool `name:"list" help:"Print the documentation of every check and exit."`
}

func (c *CheckUpgradeCmd) Run(app *App) error {
	if c.List {
		return compat.PrintList(app.Stdout, compat.Checks())
	}
	if c.Source == "" {
		return usage("check-upgrade: --source is required")
	}
	target, err := compat.ParseTarget(c.TargetVersion)
	if err != nil {
		return usage("check-upgrade: %v", err)
	}
	conn, err := app.open(dbconn.Spec{Role: "source", DSN: c.Source, PasswordFile: c.SourcePasswordFile})
	if err != nil {
		return err
	}
	defer conn.Close()
	live, err := compat.Inspect(app.Ctx, conn, compat.LiveOptions{Target: target, Schemas: c.Schemas})
	if err != nil {
		return usage("check-upgrade: %v", err)
	}
	defer live.Close()
	rep := &compat.Report{Source: live.Source, TargetVersion: target}
	rep.Findings = live.Run(app.Ctx)
	for _, t := range live.Timings {
		app.Log.Debug("live check", "check", t.Check, "took", t.Took)
	}
	if len(c.QueryLog) > 0 {
		// A batch job whose garbage is parse trees: trading memory for
		// less GC work makes a 1 GB log about 15% faster.
		defer debug.SetGCPercent(debug.SetGCPercent(400))
		schema, err := compat.LoadSchemaInfo(app.Ctx, conn.DB, live.Schemas())
		if err != nil {
			return usage("check-upgrade: %v", err)
		}
		a := compat.NewAnalyzer(live.Version(), target, schema)
		for _, path := range c.QueryLog {
			if err := analyzeLog(app, a, path); err != nil {
				return usage("check-upgrade: %v", err)
			}
		}
		rep.QueryLog = a.Stats(c.QueryLog)
		rep.Findings = append(rep.Findings, a.Findings()...)
	}
	if app.Ctx.Err() != nil {
		return usage("check-upgrade: interrupted")
	}
	if c.Format == "json" {
		err = rep.WriteJSON(app.Stdout)
	} else {
		err = rep.WriteText(app.Stdout)
	}
	if err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if n := rep.Count(compat.SevError); n > 0 {
		return failed("check-upgrade: %d error(s) would break the upgrade to %s", n, target)
	}
	return nil
}

// analyzeLog feeds one query log to the analyzer.
func analyzeLog(app *App, a *compat.Analyzer, path string) error {
	r, err := querylog.Open(path, querylog.Auto)
	if err != nil {
		return fmt.Errorf("opening query log: %w", err)
	}
	defer r.Close()
	// A 1 GB log takes tens of seconds: say how far it is, every 5 s.
	size := int64(0)
	if st, err := os.Stat(path); err == nil {
		size = st.Size()
	}
	last := time.Now()
	a.Progress = func(read int) {
		if time.Since(last) < 5*time.Second {
			return
		}
		last = time.Now()
		app.Log.Info("checking query log", "file", path, "statements", read, "read_mib", r.Stats().Bytes>>20, "size_mib", size>>20)
	}
	defer func() { a.Progress = nil }()
	if err := a.Run(app.Ctx, logSource{r}); err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if st := r.Stats(); st.Unparsed > 0 {
		app.Log.Warn("query log lines that fitted no entry", "file", path, "lines", st.Unparsed)
	}
	return nil
}

// logSource adapts a querylog reader to the analyzer's QuerySource.
type logSource struct{ r *querylog.Reader }

func (s logSource) Next() (compat.Query, error) {
	ev, err := s.r.Next()
	if err != nil {
		return compat.Query{}, err
	}
	user := ev.User
	if ev.Host != "" {
		user += "@" + ev.Host
	}
	return compat.Query{Text: ev.Query, DB: ev.DB, ConnID: ev.ConnID, User: user}, nil
}

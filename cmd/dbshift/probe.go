package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/probe"
	"github.com/dbshift/dbshift/internal/progress"
)

type ProbeCmd struct {
	DSN          string        `name:"dsn" required:"" placeholder:"DSN" help:"Endpoint the application writes through (e.g. the HAProxy frontend); password from DBSHIFT_PROBE_PASSWORD or --password-file."`
	PasswordFile string        `name:"password-file" type:"path" placeholder:"FILE" help:"File holding the probe account's password."`
	VerifyDSN    string        `name:"verify-dsn" placeholder:"DSN" help:"Server to check afterwards (default: --dsn, which by then leads to the final primary); same account and password."`
	Rate         int           `name:"rate" default:"100" help:"Writes per second."`
	Duration     time.Duration `name:"duration" default:"60s" help:"How long to write (Ctrl-C ends early and still verifies)."`
	Report       string        `name:"report" type:"path" placeholder:"FILE" help:"Write the JSON report to FILE."`
	Table        string        `name:"table" default:"_dbshift_probe.probe" help:"schema.table the probe creates and writes to."`
	RunID        string        `name:"run-id" help:"Identifies this run's rows (default: random)."`
	FormatFlag
}

func (c *ProbeCmd) Run(app *App) error {
	if c.Rate <= 0 {
		return usage("--rate must be positive")
	}
	if c.Duration <= 0 {
		return usage("--duration must be positive")
	}
	spec := dbconn.Spec{Role: "probe", DSN: c.DSN, PasswordFile: c.PasswordFile}
	conn, err := app.open(spec)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The writer outlives Ctrl-C by one statement so the last write's
	// outcome is known; the wait below is what Ctrl-C ends.
	runCtx := context.WithoutCancel(app.Ctx)
	p, err := probe.Start(runCtx, conn.DB, probe.Options{Rate: c.Rate, RunID: c.RunID, Table: c.Table})
	if err != nil {
		return failed("%v", err)
	}
	app.Log.Info("probe writing", "endpoint", conn.String(), "rate", c.Rate, "duration", c.Duration, "run_id", p.RunID())
	bar := progress.New(app.Stderr, app.isTerminal(), "probe", int64(c.Duration/time.Second))
	start := time.Now()
	end := time.NewTimer(c.Duration)
	defer end.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-app.Ctx.Done():
			app.Log.Warn("interrupted: stopping the probe and verifying what was written")
			break wait
		case <-end.C:
			break wait
		case <-tick.C:
			bar.Update(int64(time.Since(start)/time.Second), fmt.Sprintf("%d acknowledged, %d errors", p.Acked(), p.Errors()))
		}
	}
	res := p.Stop()
	bar.Done(fmt.Sprintf("%d acknowledged, %d errors", len(res.Acked), p.Errors()))

	verifyDB := conn
	if c.VerifyDSN != "" {
		spec.DSN = c.VerifyDSN
		if verifyDB, err = app.open(spec); err != nil {
			return err
		}
		defer verifyDB.Close()
	}
	vctx, cancel := context.WithTimeout(runCtx, 5*time.Minute)
	defer cancel()
	rep, err := probe.Verify(vctx, verifyDB.DB, res)
	if err != nil {
		return failed("%v", err)
	}
	if c.Report != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.Report, append(b, '\n'), 0o644); err != nil {
			return failed("writing the report: %v", err)
		}
	}
	if c.Format == "json" {
		if err := app.printJSON(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(app.Stdout); err != nil {
		return err
	}
	if !rep.OK() {
		return failed("probe: %d acknowledged writes lost, %d duplicated by the servers", len(rep.Lost), rep.ServerDuplicates())
	}
	return nil
}

package main

import (
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/preflight"
)

type PreflightCmd struct {
	SourceFlags
	Target             string        `name:"target" placeholder:"DSN" help:"Target server DSN (password from DBSHIFT_TARGET_PASSWORD or --target-password-file)."`
	TargetPasswordFile string        `name:"target-password-file" type:"path" placeholder:"FILE" help:"File holding the target password."`
	MinRetention       time.Duration `name:"min-binlog-retention" default:"24h" help:"Binlog retention the migration needs."`
	FormatFlag
}

func (c *PreflightCmd) Run(app *App) error {
	if err := notNegative(durationFlag{"min-binlog-retention", c.MinRetention}); err != nil {
		return err
	}
	src, err := app.open(c.spec())
	if err != nil {
		return err
	}
	defer src.Close()
	var tgt *dbconn.Conn
	if c.Target != "" {
		if tgt, err = app.open(dbconn.Spec{Role: "target", DSN: c.Target, PasswordFile: c.TargetPasswordFile}); err != nil {
			return err
		}
		defer tgt.Close()
	}
	rep, err := preflight.Run(app.Ctx, src, tgt, preflight.Options{MinRetention: c.MinRetention})
	if err != nil {
		return err
	}
	if c.Format == "json" {
		if err := app.printJSON(rep); err != nil {
			return err
		}
	} else {
		for _, f := range rep.Findings {
			fmt.Fprintf(app.Stdout, "%-4s  %-17s %s: %s\n", f.Status, f.Check, f.Server, f.Message)
			if f.Fix != "" && f.Status != preflight.Pass {
				fmt.Fprintf(app.Stdout, "      fix: %s\n", f.Fix)
			}
		}
	}
	if rep.Failed() {
		return failed("preflight failed: fix the findings marked fail")
	}
	return nil
}

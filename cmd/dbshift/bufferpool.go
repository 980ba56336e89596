package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/bufferpool"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/progress"
	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
)

// BufferpoolCmd groups the buffer pool commands.
type BufferpoolCmd struct {
	Resize BufferpoolResizeCmd `cmd:"" help:"Change innodb_buffer_pool_size in steps, watching the server's health between steps."`
}

type BufferpoolResizeCmd struct {
	DSN          string        `name:"dsn" required:"" help:"Server DSN (user@tcp(host:port)/ or mysql://user@host:port/); password from DBSHIFT_SERVER_PASSWORD or --password-file."`
	PasswordFile string        `name:"password-file" type:"path" placeholder:"FILE" help:"File holding the password."`
	To           string        `name:"to" required:"" help:"Target size: 256M, 4G, 1073741824."`
	Step         string        `name:"step" default:"4G" help:"Largest change per step (rounded up to chunk size x instances)."`
	MaxP99       time.Duration `name:"max-p99" help:"Stop when the probe query's p99 after a step exceeds this (0: not checked)."`
	MaxThreads   uint64        `name:"max-threads-running" help:"Stop when Threads_running exceeds this (0: not checked)."`
	MinHitRatio  float64       `name:"min-hit-ratio" help:"Stop when the buffer pool hit ratio falls below this, e.g. 0.99 (0: not checked)."`
	MaxReads     float64       `name:"max-reads-per-sec" help:"Stop when pages read from disk per second exceed this (0: not checked)."`
	ProbeQuery   string        `name:"probe-query" help:"Query whose latency is watched (default: one row of mysql.innodb_table_stats)."`
	Pause        time.Duration `name:"pause" default:"30s" help:"How long to watch health after each step (and before the first)."`
	Revert       bool          `name:"revert-on-breach" help:"When a bound is crossed, step back to the size before that step."`
	Timeout      time.Duration `name:"resize-timeout" default:"30m" help:"Give up waiting for one step's resize after this."`
	Format       string        `name:"format" enum:"text,json" default:"text" help:"Output format (${enum})."`
	Yes          bool          `name:"yes" help:"Change the server without asking."`
	// RDS mode: each step is a parameter group change; --dsn still
	// connects to the instance for the status wait and the health watch.
	RDSInstance       string        `name:"rds-instance" placeholder:"ID" help:"RDS mode: the DB instance identifier behind --dsn; each step modifies --rds-parameter-group instead of SET GLOBAL."`
	RDSParameterGroup string        `name:"rds-parameter-group" placeholder:"NAME" help:"RDS mode: the instance's custom DB parameter group."`
	AWSRegion         string        `name:"aws-region" help:"RDS mode: AWS region (default: the SDK's, e.g. AWS_REGION)."`
	AWSProfile        string        `name:"aws-profile" help:"RDS mode: shared-config profile (default: the SDK's default credential chain)."`
	AWSEndpoint       string        `name:"aws-endpoint" help:"RDS mode: API endpoint override (a VPC endpoint, or a test server)."`
	AWSPoll           time.Duration `name:"aws-poll-interval" default:"5s" help:"RDS mode: first wait between two polls of the parameter group status (backs off to 6x)."`
}

func (c *BufferpoolResizeCmd) Run(app *App) error {
	if err := positive(durationFlag{"resize-timeout", c.Timeout}, durationFlag{"aws-poll-interval", c.AWSPoll}); err != nil {
		return err
	}
	if err := notNegative(durationFlag{"max-p99", c.MaxP99}); err != nil {
		return err
	}
	to, err := bufferpool.ParseSize(c.To)
	if err != nil {
		return usage("--to: %v", err)
	}
	step, err := bufferpool.ParseSize(c.Step)
	if err != nil {
		return usage("--step: %v", err)
	}
	if step == 0 {
		return usage("--step must be larger than 0")
	}
	if c.Pause <= 0 {
		return usage("--pause must be positive")
	}
	if (c.RDSInstance == "") != (c.RDSParameterGroup == "") {
		return usage("--rds-instance and --rds-parameter-group go together")
	}
	// Refuse before connecting: without a terminal nobody can answer.
	if !c.Yes && !app.isTerminal() {
		return usage("refusing to change innodb_buffer_pool_size without confirmation: no terminal to ask on; re-run with --yes")
	}
	conn, err := app.open(dbconn.Spec{Role: "server", DSN: c.DSN, PasswordFile: c.PasswordFile})
	if err != nil {
		return err
	}
	defer conn.Close()
	rz, err := bufferpool.New(app.Ctx, conn.DB, conn.Flavor, conn.String())
	if err != nil {
		return usage("%s: %v", conn, err)
	}
	target := conn.String()
	if c.RDSInstance != "" {
		api, err := awsprov.New(app.Ctx, awsprov.Config{Region: c.AWSRegion, Profile: c.AWSProfile, Endpoint: c.AWSEndpoint,
			Logger: app.Log, PollMin: c.AWSPoll, PollMax: 6 * c.AWSPoll})
		if err != nil {
			return usage("%v", err)
		}
		rp := &rdsBufferPool{api: api, db: conn.DB, instance: c.RDSInstance, group: c.RDSParameterGroup, timeout: c.Timeout,
			progress: func(line string) { fmt.Fprintln(app.Stderr, "dbshift:", line) }}
		if reason, err := rp.check(app.Ctx); err != nil {
			return failed("%v", err)
		} else if reason != "" {
			return usage("%s", reason)
		}
		others, err := rp.alsoChanged(app.Ctx)
		if err != nil {
			return failed("%v", err)
		}
		rz.UseSetFunc(rp.set)
		target = fmt.Sprintf("RDS instance %s (parameter group %s)", c.RDSInstance, c.RDSParameterGroup)
		if len(others) > 0 {
			target += fmt.Sprintf(" AND, through the same group, unwatched: %s", strings.Join(others, ", "))
			fmt.Fprintf(app.Stderr, "dbshift: parameter group %s is also used by %s: their innodb_buffer_pool_size changes too, and dbshift watches only %s\n",
				c.RDSParameterGroup, strings.Join(others, ", "), c.RDSInstance)
		}
		rz.Name = fmt.Sprintf("%s, RDS instance %s", conn, c.RDSInstance)
	}
	s := rz.Settings
	if err := bufferpool.Validate(to, s); err != nil {
		return usage("%v", err)
	}
	plan, err := bufferpool.Plan(s.Size, to, step, s)
	if err != nil {
		return usage("%v", err)
	}
	if len(plan) > 0 {
		if err := app.confirm(c.Yes, []string{fmt.Sprintf("change innodb_buffer_pool_size on %s from %s to %s in %d step(s): %s",
			target, bufferpool.FormatSize(s.Size), bufferpool.FormatSize(s.RoundUp(to)), len(plan), planString(s.Size, plan))}); err != nil {
			return err
		}
	}
	// One bar (or plain lines without a terminal) per health watch.
	var bar progress.Reporter
	var watching string
	onWatch := func(label string, elapsed, total time.Duration, w bufferpool.Window) {
		if label != watching {
			if watching != "" { // a bound ended the last watch early
				bar.Done("stopped")
			}
			bar = progress.New(app.Stderr, app.isTerminal(), label+" health", total.Milliseconds())
			watching = label
		}
		bar.Update(elapsed.Milliseconds(), w.Summary())
		if elapsed >= total {
			bar.Done(w.Summary())
			watching = ""
		}
	}
	res, runErr := rz.Run(app.Ctx, bufferpool.Options{
		To: to, Step: step, Pause: c.Pause, ProbeQuery: c.ProbeQuery,
		Bounds: bufferpool.Bounds{MaxP99: c.MaxP99, MaxThreadsRunning: c.MaxThreads,
			MinHitRatio: c.MinHitRatio, MaxReadsPerSec: c.MaxReads},
		RevertOnBreach: c.Revert, ResizeTimeout: c.Timeout, Log: app.Log,
		Progress: func(line string) { fmt.Fprintln(app.Stderr, "dbshift:", line) },
		OnWatch:  onWatch,
	})
	if watching != "" {
		bar.Done("stopped")
	}
	if c.Format == "json" {
		err = bufferpool.WriteJSON(app.Stdout, res)
	} else {
		err = bufferpool.WriteText(app.Stdout, res)
	}
	if runErr != nil {
		// A crossed bound and a failed step both exit 1; the table above
		// says which.
		return failed("%v", runErr)
	}
	return err
}

func planString(from uint64, plan []uint64) string {
	parts := []string{bufferpool.FormatSize(from)}
	for _, p := range plan {
		parts = append(parts, bufferpool.FormatSize(p))
	}
	return strings.Join(parts, " -> ")
}

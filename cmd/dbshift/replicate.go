package main

import (
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/progress"
	"github.com/dbshift/dbshift/internal/replication"
)

type ReplicateCmd struct {
	Start  ReplicateStartCmd  `cmd:"" help:"Create the replication user on the source and start the target replicating from exact coordinates."`
	Status ReplicateStatusCmd `cmd:"" help:"Replication threads, last error and lag (seconds, bytes, heartbeat)."`
	Wait   ReplicateWaitCmd   `cmd:"" help:"Wait until the target's lag stays under a bound."`
	Stop   ReplicateStopCmd   `cmd:"" help:"Stop replication on the target."`
	Reset  ReplicateResetCmd  `cmd:"" help:"Stop replication on the target and forget its source."`
}

type ReplicateStartCmd struct {
	SourceFlags
	TargetFlags
	From       string        `name:"from" placeholder:"FILE:POS" xor:"from" required:"" help:"Source binlog coordinates the target's data is at (e.g. from mariadb-dump --master-data=2)."`
	FromGTID   string        `name:"from-gtid" placeholder:"SET" xor:"from" required:"" help:"GTID set the target's data is at."`
	ReplUser   string        `name:"repl-user" default:"dbshift_repl" help:"Replication account to create on the source."`
	ReplHost   string        `name:"repl-host" help:"Host pattern of the replication account (default: the target's address)."`
	SourceAddr string        `name:"source-addr" placeholder:"HOST:PORT" help:"Address the target must use to reach the source, when it differs from the DSN's."`
	ReplTLSCA  string        `name:"repl-tls-ca" placeholder:"PATH" help:"CA file the target's server process reads to verify the source under --tls verify-ca/verify-identity: a path on the target's machine (default: --tls-ca, right when dbshift runs there)."`
	Timeout    time.Duration `name:"timeout" default:"30s" help:"How long to wait for both threads to run."`
	Yes        bool          `name:"yes" help:"Do not ask for confirmation."`
	FormatFlag
}

func (c *ReplicateStartCmd) Run(app *App) error {
	if err := positive(durationFlag{"timeout", c.Timeout}); err != nil {
		return err
	}
	o := replication.SetupOptions{ReplUser: c.ReplUser, ReplHost: c.ReplHost, SourceAddr: c.SourceAddr, TLS: app.TLS, TLSCA: c.ReplTLSCA, StartTimeout: c.Timeout}
	if o.TLSCA == "" {
		o.TLSCA = app.TLSCA
	}
	if c.From != "" {
		co, err := replication.ParseFilePos(c.From)
		if err != nil {
			return usage("--from: %v", err)
		}
		o.From = co
	} else {
		o.From, o.UseGTID = replication.Coordinates{GTID: c.FromGTID}, true
	}
	src, tgt, closeBoth, err := app.openPair(c.SourceFlags.spec(), c.TargetFlags.spec())
	if err != nil {
		return err
	}
	defer closeBoth()
	if !o.UseGTID {
		// Refuse a wrong position before asking anything.
		if err := replication.CheckCoordinates(app.Ctx, src, o.From); err != nil {
			return failed("%v", err)
		}
	}
	if err := app.confirm(c.Yes, o.Actions(src, tgt)); err != nil {
		return err
	}
	res, err := replication.Setup(app.Ctx, src, tgt, o)
	if err != nil {
		return failed("%v", err)
	}
	if c.Format == "json" {
		return app.printJSON(res)
	}
	fmt.Fprintf(app.Stdout, "replicating: %s <- %s:%d from %s (tls %v, %s, user %s, target read-only: %s)\n",
		tgt, res.SourceHost, res.SourcePort, res.From, res.TLS, res.TLSMode, res.ReplUser, res.ReadOnly)
	return nil
}

type ReplicateStatusCmd struct {
	TargetFlags
	OptionalSourceFlags
	FormatFlag
}

type statusOut struct {
	Target string             `json:"target"`
	Status replication.Status `json:"status"`
	Lag    lagOut             `json:"lag"`
}

type lagOut struct {
	SecondsBehind *int64 `json:"seconds_behind_source"`
	BytesBehind   int64  `json:"bytes_behind"`
	HeartbeatMS   int64  `json:"heartbeat_ms"`
}

func toLagOut(l replication.Lag) lagOut {
	hb := int64(-1)
	if l.Heartbeat >= 0 {
		hb = l.Heartbeat.Milliseconds()
	}
	return lagOut{SecondsBehind: l.SecondsBehind, BytesBehind: l.BytesBehind, HeartbeatMS: hb}
}

func (c *ReplicateStatusCmd) Run(app *App) error {
	tgt, err := app.open(c.TargetFlags.spec())
	if err != nil {
		return err
	}
	defer tgt.Close()
	var src *dbconn.Conn
	var hb *replication.Heartbeat
	if c.Source != "" {
		if src, err = app.open(c.OptionalSourceFlags.spec()); err != nil {
			return err
		}
		defer src.Close()
		// One beat, then read it back for up to two seconds: the heartbeat
		// lag is then measured, not guessed from Seconds_Behind_Master.
		if h, err := replication.NewHeartbeat(app.Ctx, src, tgt); err == nil && h.Beat(app.Ctx) == nil {
			hb = h
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				if d, err := h.Observe(app.Ctx); err != nil || d == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		} else if err != nil {
			app.Log.Info("heartbeat not measured", "reason", err)
		}
	}
	lag, st, err := replication.MeasureLag(app.Ctx, src, tgt, hb)
	if err != nil {
		return err
	}
	out := statusOut{Target: tgt.String(), Status: st, Lag: toLagOut(lag)}
	if c.Format == "json" {
		if err := app.printJSON(out); err != nil {
			return err
		}
	} else {
		if !st.Configured {
			fmt.Fprintf(app.Stdout, "%s: not a replica\n", tgt)
		} else {
			sbm := "NULL"
			if st.SecondsBehind != nil {
				sbm = fmt.Sprint(*st.SecondsBehind)
			}
			fmt.Fprintf(app.Stdout, "%s <- %s:%d\n  io: %s  sql: %s\n  executed: %s\n  fetched:  %s\n  lag: %ss behind, %d bytes behind, heartbeat %dms\n",
				tgt, st.SourceHost, st.SourcePort, st.IORunning, st.SQLRunning, st.Executed, st.Fetched, sbm, out.Lag.BytesBehind, out.Lag.HeartbeatMS)
			if e := st.Err(); e != nil {
				fmt.Fprintf(app.Stdout, "  error: %v\n", e)
			}
		}
	}
	if !st.Configured || !st.Running() || st.Err() != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("%s is not replicating (IO %s, SQL %s)", tgt, st.IORunning, st.SQLRunning)}
	}
	return nil
}

type ReplicateWaitCmd struct {
	TargetFlags
	SourceFlags
	MaxLag  time.Duration `name:"max-lag" default:"1s" help:"Heartbeat lag bound."`
	Stable  time.Duration `name:"stable" default:"2s" help:"How long the lag must stay under the bound."`
	Timeout time.Duration `name:"timeout" default:"10m" help:"Give up after this long (exit 1)."`
	FormatFlag
}

func (c *ReplicateWaitCmd) Run(app *App) error {
	if err := positive(durationFlag{"max-lag", c.MaxLag}, durationFlag{"timeout", c.Timeout}); err != nil {
		return err
	}
	if err := notNegative(durationFlag{"stable", c.Stable}); err != nil {
		return err
	}
	tgt, err := app.open(c.TargetFlags.spec())
	if err != nil {
		return err
	}
	defer tgt.Close()
	src, err := app.open(c.SourceFlags.spec())
	if err != nil {
		return err
	}
	defer src.Close()
	bar := progress.New(app.Stderr, app.isTerminal(), "catch-up", -1)
	lag, err := replication.WaitCaughtUp(app.Ctx, src, tgt, replication.WaitOptions{
		MaxLag: c.MaxLag, Stable: c.Stable, Timeout: c.Timeout,
		Progress: func(l replication.Lag, st replication.Status) {
			bar.Update(-1, fmt.Sprintf("heartbeat lag %s, %d bytes behind", l.Heartbeat.Round(time.Millisecond), l.BytesBehind))
		},
	})
	if err != nil {
		bar.Done("failed")
		return failed("%v", err)
	}
	bar.Done(fmt.Sprintf("caught up: heartbeat lag %s", lag.Heartbeat.Round(time.Millisecond)))
	if c.Format == "json" {
		return app.printJSON(map[string]any{"caught_up": true, "lag": toLagOut(lag)})
	}
	return nil
}

type ReplicateStopCmd struct {
	TargetFlags
	Yes bool `name:"yes" help:"Do not ask for confirmation."`
}

func (c *ReplicateStopCmd) Run(app *App) error {
	tgt, err := app.open(c.TargetFlags.spec())
	if err != nil {
		return err
	}
	defer tgt.Close()
	if err := app.confirm(c.Yes, []string{"stop replication on " + tgt.String()}); err != nil {
		return err
	}
	if err := replication.Stop(app.Ctx, tgt); err != nil {
		return failed("%v", err)
	}
	fmt.Fprintf(app.Stdout, "replication stopped on %s\n", tgt)
	return nil
}

type ReplicateResetCmd struct {
	TargetFlags
	Yes bool `name:"yes" help:"Do not ask for confirmation."`
}

func (c *ReplicateResetCmd) Run(app *App) error {
	tgt, err := app.open(c.TargetFlags.spec())
	if err != nil {
		return err
	}
	defer tgt.Close()
	if err := app.confirm(c.Yes, []string{"stop replication on " + tgt.String() + " and forget its source (RESET ... ALL)"}); err != nil {
		return err
	}
	if err := replication.Reset(app.Ctx, tgt); err != nil {
		return failed("%v", err)
	}
	fmt.Fprintf(app.Stdout, "replication reset on %s\n", tgt)
	return nil
}

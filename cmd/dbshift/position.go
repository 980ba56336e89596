package main

import (
	"fmt"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
)

type PositionCmd struct {
	Replica             string        `name:"replica" required:"" placeholder:"DSN" help:"Replica DSN (password from DBSHIFT_REPLICA_PASSWORD or --replica-password-file)."`
	ReplicaPasswordFile string        `name:"replica-password-file" type:"path" placeholder:"FILE" help:"File holding the replica password."`
	Stop                bool          `name:"stop" help:"Stop replication first (after the SQL thread applied all it fetched) so the coordinates hold still."`
	DrainTimeout        time.Duration `name:"drain-timeout" default:"10m" help:"How long the SQL thread may take to apply what was fetched."`
	Yes                 bool          `name:"yes" help:"Do not ask for confirmation."`
	FormatFlag
}

func (c *PositionCmd) Run(app *App) error {
	if err := positive(durationFlag{"drain-timeout", c.DrainTimeout}); err != nil {
		return err
	}
	rep, err := app.open(dbconn.Spec{Role: "replica", DSN: c.Replica, PasswordFile: c.ReplicaPasswordFile})
	if err != nil {
		return err
	}
	defer rep.Close()
	var co replication.Coordinates
	if c.Stop {
		if err := app.confirm(c.Yes, []string{"stop replication on " + rep.String()}); err != nil {
			return err
		}
		if co, err = replication.StopAndCapture(app.Ctx, rep, c.DrainTimeout); err != nil {
			return failed("%v", err)
		}
	} else {
		st, err := replication.ReadStatus(app.Ctx, rep)
		if err != nil {
			return err
		}
		if !st.Configured {
			return failed("%s is not a replica", rep)
		}
		if st.SQLRunning == "Yes" {
			app.Log.Warn("replication is running: the coordinates move on; use --stop to hold them", "server", rep.String())
		}
		co = st.Executed
		if co.GTID, err = replication.ExecutedGTID(app.Ctx, rep); err != nil {
			return err
		}
	}
	if c.Format == "json" {
		return app.printJSON(co)
	}
	_, err = fmt.Fprintf(app.Stdout, "file: %s\nposition: %d\ngtid: %s\n", co.File, co.Position, co.GTID)
	return err
}

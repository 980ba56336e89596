package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dbshift/dbshift/internal/sandbox"
)

type SandboxCmd struct {
	Up     SandboxUpCmd     `cmd:"" help:"Start real mariadbd (or mysqld) instances on loopback ports."`
	Down   SandboxDownCmd   `cmd:"" help:"Stop the sandbox's instances."`
	Status SandboxStatusCmd `cmd:"" help:"Show the sandbox's instances and their DSNs."`
}

type SandboxUpCmd struct {
	Dir       string `name:"dir" required:"" type:"path" help:"Directory of the sandbox."`
	Instances int    `name:"instances" default:"2" help:"Number of instances."`
	Flavor    string `name:"flavor" enum:"mariadb,mysql" default:"mariadb" help:"Server: mariadb, or mysql (the mysqld of $DBSHIFT_MYSQLD; scripts/mysql-from-debian.sh fetches MySQL 9.7)."`
	Encrypted string `name:"encrypted-instances" placeholder:"LIST" help:"Comma-separated instance numbers to encrypt at rest (e.g. 2,3)."`
	RDS       bool   `name:"rds" help:"Emulate RDS: mysql.rds_* procedures and an admin user without SUPER."`
	FormatFlag
}

func (c *SandboxUpCmd) Run(app *App) error {
	var enc []int
	for _, s := range strings.Split(c.Encrypted, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > c.Instances {
			return usage("--encrypted-instances: %q is not an instance number from 1 to %d", s, c.Instances)
		}
		enc = append(enc, n)
	}
	s, err := sandbox.Up(app.Ctx, sandbox.Options{Dir: c.Dir, Instances: c.Instances, Encrypted: enc, RDS: c.RDS, Flavor: c.Flavor, Log: app.Log})
	if err != nil {
		return err
	}
	return printSandbox(app, s, c.Format)
}

func printSandbox(app *App, s *sandbox.Sandbox, format string) error {
	st := s.Status(app.Ctx)
	if format == "json" {
		return app.printJSON(st)
	}
	for _, i := range st {
		state := "down"
		if i.Running {
			state = "up"
		}
		extra := ""
		if i.Flavor == sandbox.FlavorMySQL {
			extra += " mysql"
		}
		if i.Encrypted {
			extra += " encrypted"
		}
		if i.RDS {
			extra += " rds"
		}
		fmt.Fprintf(app.Stdout, "%s %-4s port %d server_id %d%s\n  dsn: %s  password file: %s\n", i.Name, state, i.Port, i.ServerID, extra, i.DSN, i.Password)
	}
	return nil
}

type SandboxDownCmd struct {
	Dir    string `name:"dir" required:"" type:"existingdir" help:"Directory of the sandbox."`
	Remove bool   `name:"remove" help:"Delete the directory (data included) after stopping."`
}

func (c *SandboxDownCmd) Run(app *App) error {
	s, err := sandbox.Load(c.Dir)
	if err != nil {
		return usage("no sandbox in %s: %v", c.Dir, err)
	}
	if err := s.Down(app.Ctx, c.Remove); err != nil {
		return err
	}
	fmt.Fprintf(app.Stdout, "sandbox %s stopped\n", c.Dir)
	return nil
}

type SandboxStatusCmd struct {
	Dir string `name:"dir" required:"" type:"existingdir" help:"Directory of the sandbox."`
	FormatFlag
}

func (c *SandboxStatusCmd) Run(app *App) error {
	s, err := sandbox.Load(c.Dir)
	if err != nil {
		return usage("no sandbox in %s: %v", c.Dir, err)
	}
	return printSandbox(app, s, c.Format)
}

package main

import (
	"time"

	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
	"github.com/dbshift/dbshift/internal/spec"
	"github.com/dbshift/dbshift/internal/switcher"
	"github.com/dbshift/dbshift/internal/switcher/execswitch"
	"github.com/dbshift/dbshift/internal/switcher/haproxy"
	"github.com/dbshift/dbshift/internal/switcher/route53"
)

// SwitchFlags choose how traffic moves at cutover.
type SwitchFlags struct {
	Switch         string        `name:"switch" enum:"none,haproxy,exec,route53" default:"none" help:"How traffic moves to the new primary (${enum})."`
	HAProxySocket  string        `name:"haproxy-socket" type:"path" placeholder:"PATH" help:"HAProxy admin socket (stats socket ... level admin)."`
	HAProxyBackend string        `name:"haproxy-backend" placeholder:"NAME" help:"HAProxy backend holding both servers."`
	SwitchCommand  string        `name:"switch-command" placeholder:"CMD" help:"--switch exec: command run with DBSHIFT_PHASE, DBSHIFT_FROM_ADDR, DBSHIFT_TO_ADDR."`
	SwitchTimeout  time.Duration `name:"switch-timeout" default:"30s" help:"--switch exec: how long the command may take; --switch route53: how long the change may take to be INSYNC."`
	Route53Zone    string        `name:"route53-zone" placeholder:"ZONEID" help:"--switch route53: hosted zone id of the application's name."`
	Route53Record  string        `name:"route53-record" placeholder:"NAME" help:"--switch route53: the application's CNAME (e.g. db.example.com), pointed at the new instance with TTL 5 s."`
	AWSRegion      string        `name:"aws-region" help:"--switch route53: AWS region (default: the SDK's)."`
	AWSProfile     string        `name:"aws-profile" help:"--switch route53: shared-config profile (default: the SDK's credential chain)."`
	AWSEndpoint    string        `name:"aws-endpoint" help:"--switch route53: API endpoint override (a test server)."`
	HookEnv        []string      `name:"hook-env" placeholder:"NAME" help:"Also pass this variable of dbshift's environment to the hooks and the --switch exec command (repeatable); they get only PATH, HOME, LANG, LC_*, TZ and the DBSHIFT_* phase and addresses otherwise."`
	// AWSPoll is the first poll interval of the INSYNC wait (spec aws.poll_interval).
	AWSPoll time.Duration `kong:"-"`
}

// validate checks the switch flags without building anything, so a
// cutover refuses them before it opens a journal or a connection.
func (s SwitchFlags) validate() error {
	switch s.Switch {
	case "", "none":
	case "haproxy":
		if s.HAProxySocket == "" || s.HAProxyBackend == "" {
			return usage("--switch haproxy needs --haproxy-socket and --haproxy-backend")
		}
	case "exec":
		if s.SwitchCommand == "" {
			return usage("--switch exec needs --switch-command")
		}
		return checkHookEnv(s.HookEnv)
	case "route53":
		if s.Route53Zone == "" || s.Route53Record == "" {
			return usage("--switch route53 needs --route53-zone and --route53-record")
		}
	default:
		return usage("--switch %s is not available", s.Switch)
	}
	return nil
}

func (s SwitchFlags) switcher(app *App) (switcher.Switcher, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	switch s.Switch {
	case "haproxy":
		return haproxy.New(s.HAProxySocket, s.HAProxyBackend), nil
	case "exec":
		return execswitch.Shell(s.SwitchCommand, s.SwitchTimeout).PassEnv(s.HookEnv), nil
	case "route53":
		api, err := awsprov.New(app.Ctx, awsprov.Config{Region: s.AWSRegion, Profile: s.AWSProfile, Endpoint: s.AWSEndpoint, Logger: app.Log,
			PollMin: s.AWSPoll, PollMax: 6 * s.AWSPoll})
		if err != nil {
			return nil, usage("--switch route53: %v", err)
		}
		return route53.New(api, s.Route53Zone, s.Route53Record, 0, awsprov.WaitOptions{Timeout: s.SwitchTimeout}), nil
	}
	return nil, nil
}

func switchFlagsFromSpec(s spec.Switch, a spec.AWS) SwitchFlags {
	f := SwitchFlags{Switch: s.Kind, HAProxySocket: s.Socket, HAProxyBackend: s.Backend, SwitchCommand: s.Command, SwitchTimeout: 30 * time.Second,
		Route53Zone: s.ZoneID, Route53Record: s.Record, AWSRegion: a.Region, AWSProfile: a.Profile, AWSEndpoint: a.Endpoint, AWSPoll: a.PollInterval}
	if s.Kind == "route53" {
		// Route53 reports INSYNC within about a minute; leave it room.
		f.SwitchTimeout = 5 * time.Minute
	}
	return f
}

package main

import (
	"time"

	"github.com/dbshift/dbshift/internal/spec"
	"github.com/dbshift/dbshift/internal/switcher"
	"github.com/dbshift/dbshift/internal/switcher/execswitch"
	"github.com/dbshift/dbshift/internal/switcher/haproxy"
)

// SwitchFlags choose how traffic moves at cutover.
type SwitchFlags struct {
	Switch         string        `name:"switch" enum:"none,haproxy,exec" default:"none" help:"How traffic moves to the new primary (${enum})."`
	HAProxySocket  string        `name:"haproxy-socket" type:"path" placeholder:"PATH" help:"HAProxy admin socket (stats socket ... level admin)."`
	HAProxyBackend string        `name:"haproxy-backend" placeholder:"NAME" help:"HAProxy backend holding both servers."`
	SwitchCommand  string        `name:"switch-command" placeholder:"CMD" help:"--switch exec: command run with DBSHIFT_PHASE, DBSHIFT_FROM_ADDR, DBSHIFT_TO_ADDR."`
	SwitchTimeout  time.Duration `name:"switch-timeout" default:"30s" help:"--switch exec: how long the command may take."`
}

func (s SwitchFlags) switcher() (switcher.Switcher, error) {
	switch s.Switch {
	case "", "none":
		return nil, nil
	case "haproxy":
		if s.HAProxySocket == "" || s.HAProxyBackend == "" {
			return nil, usage("--switch haproxy needs --haproxy-socket and --haproxy-backend")
		}
		return haproxy.New(s.HAProxySocket, s.HAProxyBackend), nil
	case "exec":
		if s.SwitchCommand == "" {
			return nil, usage("--switch exec needs --switch-command")
		}
		return execswitch.Shell(s.SwitchCommand, s.SwitchTimeout), nil
	}
	return nil, usage("--switch %s is not available here (route53 comes with the aws provider)", s.Switch)
}

func switchFlagsFromSpec(s spec.Switch) SwitchFlags {
	return SwitchFlags{Switch: s.Kind, HAProxySocket: s.Socket, HAProxyBackend: s.Backend, SwitchCommand: s.Command, SwitchTimeout: 30 * time.Second}
}

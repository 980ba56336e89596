package main

import (
	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/spec"
)

// SwitchFlags choose how traffic moves at cutover.
type SwitchFlags struct {
	Switch string `name:"switch" enum:"none,haproxy,exec" default:"none" help:"How traffic moves to the new primary (${enum})."`
}

func (s SwitchFlags) switcher() (cutover.Switcher, error) {
	switch s.Switch {
	case "none":
		return nil, nil
	}
	return nil, usage("--switch %s is not available in this build", s.Switch)
}

func switchFlagsFromSpec(s spec.Switch) SwitchFlags {
	return SwitchFlags{Switch: s.Kind}
}

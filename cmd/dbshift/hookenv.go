package main

import (
	"github.com/dbshift/dbshift/internal/childenv"
	"github.com/dbshift/dbshift/internal/cutover"
)

// hooksWithEnv parses --hook PHASE=COMMAND flags and gives every hook the
// variables named by --hook-env (spec cutover.hook_env) on top of the
// allow-listed environment; no other variable of dbshift's reaches it.
func hooksWithEnv(specs, names []string) ([]cutover.Hook, error) {
	if err := checkHookEnv(names); err != nil {
		return nil, err
	}
	hooks, err := parseHooks(specs)
	if err != nil {
		return nil, err
	}
	for i := range hooks {
		hooks[i].Env = names
	}
	return hooks, nil
}

func checkHookEnv(names []string) error {
	for _, n := range names {
		if err := childenv.CheckName(n); err != nil {
			return usage("--hook-env: %v", err)
		}
	}
	return nil
}

// Package childenv builds the environment of the commands dbshift runs for
// the operator (cutover hooks, the exec switch, maintenance-window checks).
// It is an allow-list: an operator's shell holds secrets under any name
// (a spec's password_env, MYSQL_PWD, cloud keys), so a filter by name lets
// some through; only what a command needs to run, what dbshift sets itself
// and the names the operator lists pass.
package childenv

import (
	"fmt"
	"os"
	"strings"
)

// base are the variables every command gets when dbshift has them, plus
// every LC_* locale variable.
var base = []string{"PATH", "HOME", "LANG", "TZ"}

// Environ returns the allow-listed part of dbshift's environment plus the
// variables named in pass, then set (NAME=value pairs dbshift sets itself,
// which win). A name in pass that CheckName refuses is left out.
func Environ(pass []string, set ...string) []string {
	var env []string
	seen := map[string]bool{}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		seen[k] = true
	}
	add := func(k string) {
		if seen[k] {
			return
		}
		if v, ok := os.LookupEnv(k); ok {
			seen[k] = true
			env = append(env, k+"="+v)
		}
	}
	for _, k := range base {
		add(k)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "LC_") {
			add(k)
		}
	}
	for _, k := range pass {
		if CheckName(k) == nil {
			add(k)
		}
	}
	return append(env, set...)
}

// CheckName says whether name may be listed for a command: a shell
// variable name, and not one of the variables that carry a password to
// dbshift or the mysql client.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("empty variable name")
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return fmt.Errorf("%q is not a variable name", name)
		}
	}
	if name == "MYSQL_PWD" || strings.HasPrefix(name, "DBSHIFT_") && strings.HasSuffix(name, "_PASSWORD") {
		return fmt.Errorf("%s carries a password: it is never passed to a command", name)
	}
	return nil
}

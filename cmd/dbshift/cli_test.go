package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs dbshift in-process as a user would, returning the exit code,
// stdout and stderr. Passwords go through the environment, never argv.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), args, nil, &out, &errb)
	for _, v := range env {
		if v != "" && (strings.Contains(out.String(), v) || strings.Contains(errb.String(), v)) {
			t.Errorf("a password was printed by dbshift %s", strings.Join(args, " "))
		}
	}
	return code, out.String(), errb.String()
}

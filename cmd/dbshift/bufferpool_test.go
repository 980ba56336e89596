package main

import (
	"strings"
	"testing"
)

func TestBufferpoolResize_BadInputOneLineReason(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad size", []string{"--to", "12Q", "--yes"}, "--to: size \"12Q\" is not a byte count"},
		{"bad step", []string{"--to", "256M", "--step", "lots", "--yes"}, "--step: size \"lots\""},
		{"no terminal, no --yes", []string{"--to", "256M"}, "no terminal to ask on; re-run with --yes"},
		{"bad DSN", []string{"--to", "256M", "--yes", "--dsn", "tcp(127.0.0.1:3306"}, "server (dsn): parsing DSN"},
		{"unreachable server", []string{"--to", "256M", "--yes", "--dsn", "u@tcp(127.0.0.1:1)/"}, "cannot reach the server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"bufferpool", "resize"}, c.args...)
			if !strings.Contains(strings.Join(c.args, " "), "--dsn") {
				args = append(args, "--dsn", "u@tcp(127.0.0.1:1)/")
			}
			code, stdout, stderr := runCLI(t, nil, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not contain %q", stderr, c.want)
			}
			if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n != 0 {
				t.Errorf("reason spans %d lines: %q", n+1, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

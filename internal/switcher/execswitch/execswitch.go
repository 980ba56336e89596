// Package execswitch switches traffic by running the operator's own command
// (a DNS update, a config push, a load-balancer API call). The command learns
// what to do from its environment: DBSHIFT_PHASE, DBSHIFT_FROM_ADDR and
// DBSHIFT_TO_ADDR. No password ever reaches it: its environment is an
// allow-list (childenv), never dbshift's own.
package execswitch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dbshift/dbshift/internal/childenv"
	"github.com/dbshift/dbshift/internal/switcher"
)

// maxOutput caps what is kept of a run's output for the report.
const maxOutput = 64 << 10

// Switcher runs a command to switch traffic.
type Switcher struct {
	argv    []string
	shell   bool
	timeout time.Duration
	pass    []string

	mu   sync.Mutex
	runs []Run
}

var _ switcher.Switcher = (*Switcher)(nil)

// New runs argv directly (no shell).
func New(argv []string, timeout time.Duration) *Switcher {
	return &Switcher{argv: argv, timeout: timeout}
}

// Shell runs a command line with /bin/sh -c, for pipes and variables.
func Shell(cmdline string, timeout time.Duration) *Switcher {
	return &Switcher{argv: []string{"/bin/sh", "-c", cmdline}, shell: true, timeout: timeout}
}

// PassEnv also gives the command the variables named (spec
// cutover.hook_env, --hook-env) from dbshift's environment.
func (s *Switcher) PassEnv(names []string) *Switcher {
	s.pass = append([]string(nil), names...)
	return s
}

func (s *Switcher) Name() string { return "exec" }

// Run is one execution of the command, for the report.
type Run struct {
	Phase    string        `json:"phase"`
	Command  []string      `json:"command"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	ExitCode int           `json:"exit_code"`
	TimedOut bool          `json:"timed_out,omitempty"`
	// Output is stdout and stderr interleaved, cut at 64 KiB.
	Output    string `json:"output"`
	Truncated bool   `json:"output_truncated,omitempty"`
	Err       string `json:"error,omitempty"`
}

// Runs returns every run so far, oldest first.
func (s *Switcher) Runs() []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Run(nil), s.runs...)
}

// Check makes sure the command can be started, without running it: the
// program is found and executable, and a shell command line parses
// (sh -n). Running it would already switch.
func (s *Switcher) Check(ctx context.Context, from, to switcher.Endpoint) error {
	if len(s.argv) == 0 || s.argv[0] == "" {
		return errors.New("exec switch: no command given")
	}
	if s.timeout <= 0 {
		return errors.New("exec switch: a timeout is needed")
	}
	if _, err := exec.LookPath(s.argv[0]); err != nil {
		return fmt.Errorf("exec switch: %w", err)
	}
	if s.shell {
		out, err := exec.CommandContext(ctx, "/bin/sh", "-n", "-c", s.argv[2]).CombinedOutput()
		if err != nil {
			return fmt.Errorf("exec switch: the command line does not parse: %s", strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// Switch runs the command with DBSHIFT_PHASE=switch.
func (s *Switcher) Switch(ctx context.Context, from, to switcher.Endpoint) error {
	r := s.Exec(ctx, "switch", from, to)
	if r.Err != "" {
		return fmt.Errorf("exec switch: %s", r.Err)
	}
	return nil
}

// Exec runs the command once for phase (hooks use the same runner) and
// records the run. Run.Err says why it failed; empty means exit status 0.
func (s *Switcher) Exec(ctx context.Context, phase string, from, to switcher.Endpoint) Run {
	r := Run{Phase: phase, Command: s.argv, Start: time.Now(), ExitCode: -1}
	defer func() {
		s.mu.Lock()
		s.runs = append(s.runs, r)
		s.mu.Unlock()
	}()
	if len(s.argv) == 0 {
		r.Err = "no command given"
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
	cmd.Env = childenv.Environ(s.pass,
		"DBSHIFT_PHASE="+phase,
		"DBSHIFT_FROM_NAME="+from.Name,
		"DBSHIFT_FROM_ADDR="+from.Addr,
		"DBSHIFT_TO_NAME="+to.Name,
		"DBSHIFT_TO_ADDR="+to.Addr,
	)
	var out capped
	cmd.Stdout, cmd.Stderr = &out, &out
	// A process group of its own, so a timeout kills what the command
	// started too (a shell's children would otherwise hold the pipes open).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	r.Duration = time.Since(r.Start)
	r.Output, r.Truncated = out.String(), out.truncated
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
	}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		r.TimedOut = true
		r.Err = fmt.Sprintf("%s phase: command timed out after %s", phase, s.timeout)
	case err != nil:
		r.Err = fmt.Sprintf("%s phase: command failed: %v", phase, err)
	}
	return r
}

// capped keeps the first maxOutput bytes written to it.
type capped struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := maxOutput - c.buf.Len(); room < len(p) {
		c.truncated = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

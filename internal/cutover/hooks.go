package cutover

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Hook phases, in the order a cutover meets them.
const (
	HookBeforeFence  = "before-fence"
	HookAfterFence   = "after-fence"
	HookAfterPromote = "after-promote"
	HookAfterSwitch  = "after-switch"
	HookAfterAbort   = "after-abort"
)

// HookPhases lists every phase a hook can attach to.
var HookPhases = []string{HookBeforeFence, HookAfterFence, HookAfterPromote, HookAfterSwitch, HookAfterAbort}

// Hook is a user command run at a phase (maintenance page on, app restart).
type Hook struct {
	Phase   string
	Command string // run by /bin/sh -c
	Timeout time.Duration
}

// runHook runs the hooks of phase with the phase and both addresses in the
// environment (never a password).
func runHook(ctx context.Context, hooks []Hook, phase, sourceAddr, targetAddr string) (string, error) {
	var out strings.Builder
	for _, h := range hooks {
		if h.Phase != phase {
			continue
		}
		t := h.Timeout
		if t <= 0 {
			t = 30 * time.Second
		}
		hctx, cancel := context.WithTimeout(ctx, t)
		cmd := exec.CommandContext(hctx, "/bin/sh", "-c", h.Command)
		// A hook's children (a client blocked on the fence, say) die with it:
		// its own process group, killed whole, and a bounded wait for pipes.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 2 * time.Second
		cmd.Env = append(environWithoutSecrets(), "DBSHIFT_PHASE="+phase, "DBSHIFT_SOURCE_ADDR="+sourceAddr, "DBSHIFT_TARGET_ADDR="+targetAddr)
		b, err := cmd.CombinedOutput()
		cancel()
		out.Write(b)
		if err != nil {
			// Neither the command line nor its output goes into the error:
			// it ends up in the journal and the report, and either may hold
			// a secret. The output is in the report, cut short.
			return truncate(out.String(), 512), fmt.Errorf("hook %s: %w", phase, err)
		}
	}
	return truncate(out.String(), 512), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "... (cut)"
}

// environWithoutSecrets is the environment less dbshift's password
// variables, so a hook never sees a password.
func environWithoutSecrets() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(k, "DBSHIFT_") && strings.HasSuffix(k, "_PASSWORD")) || k == "MYSQL_PWD" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

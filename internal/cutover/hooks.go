package cutover

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/dbshift/dbshift/internal/childenv"
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
	// Env names variables of dbshift's environment the hook also gets
	// (spec cutover.hook_env, --hook-env).
	Env []string
}

// runHook runs the hooks of phase with the phase and both addresses in an
// allow-listed environment (childenv): never dbshift's own, which may hold
// passwords under any name.
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
		cmd.Env = childenv.Environ(h.Env, "DBSHIFT_PHASE="+phase, "DBSHIFT_SOURCE_ADDR="+sourceAddr, "DBSHIFT_TARGET_ADDR="+targetAddr)
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

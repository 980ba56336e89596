package testutil

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireMermaidEnv, when set to a non-empty value, turns the skips of
// ValidateMermaid (no node, no npm, offline) into failures, so a CI that
// means to check diagrams cannot pass by silently skipping.
const RequireMermaidEnv = "DBSHIFT_REQUIRE_MERMAID"

// mermaidToolDir is the Node project, relative to the module root, that
// parses a diagram with the real mermaid package.
const mermaidToolDir = "tools/mermaid-validate"

// installStamp is written inside node_modules after a successful npm ci and
// holds the hash of the package-lock.json it installed; npm ci empties
// node_modules first, so an interrupted install leaves no stamp.
const installStamp = ".dbshift-installed"

var (
	mermaidOnce  sync.Once
	mermaidReady mermaidTool
)

// MermaidError is Mermaid's own verdict on a diagram it does not accept.
type MermaidError struct {
	Message string
}

func (e *MermaidError) Error() string { return "mermaid: " + e.Message }

// mermaidTool runs validate.mjs; skip says why it cannot run here.
type mermaidTool struct {
	node   string
	script string
	skip   string
}

// ValidateMermaid fails the test unless the real mermaid library parses
// diagram. It skips when Node or npm is missing or the tool's dependencies
// cannot be installed (offline), unless $DBSHIFT_REQUIRE_MERMAID is set.
// The dependencies are installed at most once per test process.
func ValidateMermaid(t testing.TB, diagram string) {
	t.Helper()
	tool := sharedMermaidTool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := tool.check(ctx, diagram); err != nil {
		t.Fatalf("%v\ndiagram:\n%s", err, diagram)
	}
}

// sharedMermaidTool prepares the tool once per process and skips (or fails,
// under $DBSHIFT_REQUIRE_MERMAID) when it cannot be used.
func sharedMermaidTool(t testing.TB) mermaidTool {
	t.Helper()
	mermaidOnce.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			mermaidReady = mermaidTool{skip: fmt.Sprintf("find module root: %v", err)}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		mermaidReady = prepareMermaid(ctx, filepath.Join(root, mermaidToolDir))
	})
	if mermaidReady.skip != "" {
		if os.Getenv(RequireMermaidEnv) != "" {
			t.Fatalf("mermaid validator unavailable and $%s is set: %s", RequireMermaidEnv, mermaidReady.skip)
		}
		t.Skipf("mermaid validator unavailable: %s", mermaidReady.skip)
	}
	return mermaidReady
}

// prepareMermaid finds node and npm and runs npm ci in dir unless the
// installed node_modules already match package-lock.json. Several test
// binaries may get here at once, so the install holds a file lock.
func prepareMermaid(ctx context.Context, dir string) mermaidTool {
	node, err := exec.LookPath("node")
	if err != nil {
		return mermaidTool{skip: fmt.Sprintf("node not found: %v", err)}
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return mermaidTool{skip: fmt.Sprintf("npm not found: %v", err)}
	}
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return mermaidTool{skip: fmt.Sprintf("read lockfile: %v", err)}
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])

	unlock, err := lockFile(filepath.Join(dir, ".install.lock"))
	if err != nil {
		return mermaidTool{skip: fmt.Sprintf("lock %s: %v", dir, err)}
	}
	defer unlock()

	stamp := filepath.Join(dir, "node_modules", installStamp)
	if got, err := os.ReadFile(stamp); err != nil || strings.TrimSpace(string(got)) != want {
		// --engine-strict makes a Node older than package.json's engines a
		// clean skip here rather than an obscure failure later; the short
		// fetch retries make an offline machine skip in seconds.
		cmd := exec.CommandContext(ctx, npm, "ci",
			"--engine-strict", "--ignore-scripts", "--prefer-offline",
			"--no-audit", "--no-fund", "--loglevel=error",
			"--fetch-retries=1", "--fetch-retry-mintimeout=2000", "--fetch-retry-maxtimeout=5000")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			// npm puts the reason (code, failed request) first, a stack after.
			return mermaidTool{skip: fmt.Sprintf("npm ci in %s: %v: %s", dir, err, firstLines(out, 4))}
		}
		if err := os.WriteFile(stamp, []byte(want+"\n"), 0o644); err != nil {
			return mermaidTool{skip: fmt.Sprintf("write install stamp: %v", err)}
		}
	}
	return mermaidTool{node: node, script: filepath.Join(dir, "validate.mjs")}
}

// check parses diagram with the real mermaid library. A diagram Mermaid
// rejects gives a *MermaidError; failing to run the validator at all gives
// a plain error.
func (m mermaidTool) check(ctx context.Context, diagram string) error {
	cmd := exec.CommandContext(ctx, m.node, m.script)
	cmd.Dir = filepath.Dir(m.script)
	cmd.Stdin = strings.NewReader(diagram)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return &MermaidError{Message: strings.TrimSpace(stderr.String())}
	default:
		return fmt.Errorf("run mermaid validator: %w: %s", err, lastLines(stderr.Bytes(), 10))
	}
}

// firstLines keeps the start of a tool's output.
func firstLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// lastLines keeps the end of a tool's output.
func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

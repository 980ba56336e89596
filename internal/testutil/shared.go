// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedTestdata returns the absolute path of ../shared/testdata beside the
// module root (or $DBSHIFT_SHARED_TESTDATA), and skips the test with a clear
// message when it is absent, so a plain clone still passes.
func SharedTestdata(t testing.TB, elem ...string) string {
	t.Helper()
	dir, err := sharedDir()
	if err != nil {
		t.Skipf("shared testdata: %v", err)
	}
	p := filepath.Join(append([]string{dir}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared testdata not available (%s): %v", p, err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatalf("shared testdata: %v", err)
	}
	return abs
}

// sharedDir is $DBSHIFT_SHARED_TESTDATA, else ../shared/testdata beside the
// module root.
func sharedDir() (string, error) {
	if dir := os.Getenv("DBSHIFT_SHARED_TESTDATA"); dir != "" {
		return dir, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "..", "shared", "testdata"), nil
}

// ModuleRoot walks up from the working directory to the folder holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

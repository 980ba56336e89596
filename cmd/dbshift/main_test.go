package main

import (
	"os"
	"testing"
)

// TestMain lets a test run this very binary as dbshift in a child process
// (DBSHIFT_TEST_MAIN=1), so it can be killed with SIGKILL like the real one.
func TestMain(m *testing.M) {
	if os.Getenv("DBSHIFT_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

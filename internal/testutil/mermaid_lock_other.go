//go:build !unix

package testutil

// lockFile does not lock where flock is missing: parallel test binaries may
// then race on npm ci in the same folder; dbshift is tested on Linux.
func lockFile(path string) (func(), error) { return func() {}, nil }

//go:build !linux

package replay

// yieldToServer does nothing where the thread scheduling policy is not
// Linux's: the load test runs under the default policy.
func yieldToServer() (restore func(), err error) { return func() {}, nil }

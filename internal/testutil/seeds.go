package testutil

import (
	"os"
	"path/filepath"
)

// SharedSeeds returns the contents of the files of the shared testdata that
// match pattern (filepath.Glob syntax, relative to its root, such as
// "querylogs/slow-*"), as a fuzz target's seed corpus. None when the
// folder is absent: unlike SharedTestdata it never skips, so a plain clone
// still fuzzes from the target's inline seeds.
func SharedSeeds(pattern string) [][]byte {
	dir, err := sharedDir()
	if err != nil {
		return nil
	}
	paths, _ := filepath.Glob(filepath.Join(dir, pattern))
	var seeds [][]byte
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

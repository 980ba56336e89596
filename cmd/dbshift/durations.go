package main

import "time"

// durationFlag is one duration flag's name and value.
type durationFlag struct {
	name string
	v    time.Duration
}

// positive refuses (exit 2) a duration flag of 0 or less: each bounds a
// wait, and a server given 0 or -1 as a bound often reads "forever"
// (MASTER_POS_WAIT with the source fenced, for one).
func positive(flags ...durationFlag) error {
	for _, f := range flags {
		if f.v <= 0 {
			return usage("--%s %s: must be more than 0 (it bounds a wait)", f.name, f.v)
		}
	}
	return nil
}

// notNegative refuses a negative duration flag where 0 means "off".
func notNegative(flags ...durationFlag) error {
	for _, f := range flags {
		if f.v < 0 {
			return usage("--%s %s: must be 0 (off) or more", f.name, f.v)
		}
	}
	return nil
}

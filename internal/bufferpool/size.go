// Package bufferpool changes innodb_buffer_pool_size on a running server in
// steps, waiting after each step until the server says the resize is done and
// watching the server's health (probe latency p99, Threads_running, buffer
// pool hit ratio, disk reads per second) before taking the next one.
package bufferpool

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	kib = uint64(1) << 10
	mib = uint64(1) << 20
	gib = uint64(1) << 30
	tib = uint64(1) << 40
)

// ParseSize reads sizes the way my.cnf does: a plain byte count
// ("1073741824") or a number with a binary suffix K, M, G or T ("128M",
// "4G", "1.5G"); a trailing "B" or "iB" is accepted ("128MiB", "4GB").
func ParseSize(s string) (uint64, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty size")
	}
	u := strings.ToUpper(in)
	u = strings.TrimSuffix(u, "IB")
	u = strings.TrimSuffix(u, "B")
	mult := uint64(1)
	if n := len(u); n > 0 {
		switch u[n-1] {
		case 'K':
			mult = kib
		case 'M':
			mult = mib
		case 'G':
			mult = gib
		case 'T':
			mult = tib
		}
		if mult != 1 {
			u = u[:n-1]
		}
	}
	if u == "" {
		return 0, fmt.Errorf("size %q has no number", in)
	}
	if n, err := strconv.ParseUint(u, 10, 64); err == nil {
		if n > ^uint64(0)/mult {
			return 0, fmt.Errorf("size %q is too large", in)
		}
		return n * mult, nil
	}
	f, err := strconv.ParseFloat(u, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("size %q is not a byte count or a number with K, M, G or T", in)
	}
	v := f * float64(mult)
	if v >= float64(^uint64(0)) {
		return 0, fmt.Errorf("size %q is too large", in)
	}
	return uint64(v), nil
}

// FormatSize prints a size in the largest binary unit that divides it
// exactly ("896M", "1G", "1536K"), or in bytes.
func FormatSize(n uint64) string {
	for _, u := range []struct {
		div    uint64
		suffix string
	}{{tib, "T"}, {gib, "G"}, {mib, "M"}, {kib, "K"}} {
		if n >= u.div && n%u.div == 0 {
			return strconv.FormatUint(n/u.div, 10) + u.suffix
		}
	}
	if n >= mib {
		return strconv.FormatFloat(float64(n)/float64(mib), 'f', 1, 64) + "M"
	}
	return strconv.FormatUint(n, 10)
}

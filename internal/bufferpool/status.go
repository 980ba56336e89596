package bufferpool

import (
	"regexp"
	"strconv"
	"strings"
)

// Phase is where a resize stands according to Innodb_buffer_pool_resize_status.
type Phase int

const (
	// PhaseIdle: the variable is empty. Either no resize ran since start, or
	// the server resizes inside SET GLOBAL and never sets the variable
	// (MariaDB after the MDEV-29445 rewrite: 10.11.12+, 11.4.6+, 11.8).
	PhaseIdle Phase = iota
	// PhaseRunning: a known in-progress message.
	PhaseRunning
	// PhaseCompleted: "Completed resizing buffer pool ...".
	PhaseCompleted
	// PhaseUnchanged: "Size did not change ..." (the requested size was the
	// current one after rounding).
	PhaseUnchanged
	// PhaseFailed: "Resizing buffer pool failed ..." (memory could not be
	// allocated; the pool keeps its old size).
	PhaseFailed
	// PhaseUnknown: a message this code has not seen. Waiting treats it as
	// running, bounded by the resize timeout.
	PhaseUnknown
)

func (p Phase) String() string {
	return [...]string{"idle", "running", "completed", "unchanged", "failed", "unknown"}[p]
}

// Terminal reports whether the server has stopped working on a resize.
func (p Phase) Terminal() bool {
	return p == PhaseIdle || p == PhaseCompleted || p == PhaseUnchanged || p == PhaseFailed
}

// Status is one reading of the resize status.
type Status struct {
	Raw   string
	Phase Phase
	// Stage names the step in words the operator can act on.
	Stage string
	// Done/Total: withdrawn blocks while shrinking, chunks while resizing,
	// when the message carries them (0/0 otherwise).
	Done, Total uint64
	// Code and Progress are MySQL 8.0.31+'s
	// Innodb_buffer_pool_resize_status_code / _progress; -1 when absent.
	Code, Progress int
}

// The messages, from the InnoDB sources (storage/innobase/buf/buf0buf.cc):
//
//	MySQL 5.7, 8.0, 8.4 and MariaDB 10.2-10.4 (buf_pool_resize):
//	  Resizing buffer pool from 134217728 to 1073741824 (unit=134217728).
//	  Disabling adaptive hash index.
//	  Withdrawing blocks to be shrunken.
//	  buffer pool 0 : withdrawing blocks. (8173/8191)
//	  Latching whole of buffer pool.
//	  Starting pool resize                               (MySQL 8.0.31+)
//	  buffer pool 0 : resizing with chunks 8 to 2.
//	  Resizing hash tables.
//	  Resizing also other hash tables.
//	  Completed resizing buffer pool at 220826  6:25:46.
//	  Resizing buffer pool failed, finished resizing at 220826  6:25:46.
//	  Size did not change (old size = new size = 134217728. Nothing to do.
//	MariaDB 10.5-10.11 (buf_pool_t::resize, one instance):
//	  withdrawing blocks. (8173/8191)
//	  buffer pool resizing with chunks 8 to 2.
//	  Size did not change: old size = new size = 134217728
//	MariaDB, later revisions of the same code (sizes printed in IEC units):
//	  Resizing buffer pool from 1.000GiB to 256.000MiB (unit = 128.000MiB).
//	  Withdrawing blocks. (8173/8191).
//	  Latching entire buffer pool.
//	  Resizing buffer pool from 8 chunks to 2 chunks.
//	  Resizing other hash tables.
//	  Completed resizing buffer pool.
//	  Resizing buffer pool failed
var statusPatterns = []struct {
	re    *regexp.Regexp
	phase Phase
	stage string
}{
	{regexp.MustCompile(`^Completed resizing buffer pool`), PhaseCompleted, "completed"},
	{regexp.MustCompile(`^Resizing buffer pool failed`), PhaseFailed, "failed"},
	{regexp.MustCompile(`^Size did not change`), PhaseUnchanged, "size did not change"},
	{regexp.MustCompile(`^Resizing buffer pool from \S+ chunks to \S+ chunks`), PhaseRunning, "resizing chunks"},
	{regexp.MustCompile(`^Resizing buffer pool from `), PhaseRunning, "starting"},
	{regexp.MustCompile(`^Disabling adaptive hash index`), PhaseRunning, "disabling adaptive hash index"},
	{regexp.MustCompile(`^Withdrawing blocks to be shrunken`), PhaseRunning, "withdrawing blocks"},
	{regexp.MustCompile(`(?i)^(buffer pool \d+ : )?withdrawing blocks\. \((\d+)/(\d+)\)`), PhaseRunning, "withdrawing blocks"},
	{regexp.MustCompile(`^Latching (whole of|entire) buffer pool`), PhaseRunning, "latching the buffer pool"},
	{regexp.MustCompile(`^Starting pool resize`), PhaseRunning, "resizing chunks"},
	{regexp.MustCompile(`^buffer pool (\d+ : )?resizing with chunks (\d+) to (\d+)`), PhaseRunning, "resizing chunks"},
	{regexp.MustCompile(`^Resizing hash tables`), PhaseRunning, "resizing hash tables"},
	{regexp.MustCompile(`^Resizing (also )?other hash tables`), PhaseRunning, "resizing other hash tables"},
}

var fractionRe = regexp.MustCompile(`\((\d+)/(\d+)\)`)

// ParseStatus classifies one Innodb_buffer_pool_resize_status value.
func ParseStatus(raw string) Status {
	s := Status{Raw: raw, Code: -1, Progress: -1}
	t := strings.TrimSpace(raw)
	if t == "" {
		s.Phase, s.Stage = PhaseIdle, "idle"
		return s
	}
	for _, p := range statusPatterns {
		if p.re.MatchString(t) {
			s.Phase, s.Stage = p.phase, p.stage
			break
		}
	}
	if s.Stage == "" {
		s.Phase, s.Stage = PhaseUnknown, "unrecognised status"
		return s
	}
	if m := fractionRe.FindStringSubmatch(t); m != nil && s.Stage == "withdrawing blocks" {
		s.Done, _ = strconv.ParseUint(m[1], 10, 64)
		s.Total, _ = strconv.ParseUint(m[2], 10, 64)
	}
	return s
}

// MySQL 8.0.31+ Innodb_buffer_pool_resize_status_code values
// (buf_pool_resize_status_code_t).
var statusCodeStages = map[int]string{
	0: "completed",
	1: "starting",
	2: "disabling adaptive hash index",
	3: "withdrawing blocks",
	4: "latching the buffer pool",
	5: "resizing chunks",
	6: "resizing hash tables",
	7: "failed",
}

// WithCode folds MySQL 8.0.31+'s numeric status in: the code is exact where
// the string can lag, so it decides the phase when present.
func (s Status) WithCode(code, progress int) Status {
	s.Code, s.Progress = code, progress
	if code < 0 {
		return s
	}
	switch code {
	case 0:
		// "Completed ..." and "Size did not change ..." both report 0.
		if s.Phase != PhaseUnchanged && s.Phase != PhaseIdle {
			s.Phase = PhaseCompleted
		}
	case 7:
		s.Phase = PhaseFailed
	default:
		s.Phase = PhaseRunning
	}
	if st, ok := statusCodeStages[code]; ok && s.Phase != PhaseUnchanged && s.Phase != PhaseIdle {
		s.Stage = st
	}
	return s
}

// Describe is the status in one short phrase for progress lines.
func (s Status) Describe() string {
	d := s.Stage
	switch {
	case s.Total > 0:
		d += " " + strconv.FormatUint(s.Done, 10) + "/" + strconv.FormatUint(s.Total, 10)
	case s.Progress >= 0 && s.Phase == PhaseRunning:
		d += " " + strconv.Itoa(s.Progress) + "%"
	}
	return d
}

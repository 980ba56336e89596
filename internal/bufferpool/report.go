package bufferpool

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	}
}

func fmtPct(f float64) string {
	if f < 0 {
		return "-"
	}
	return strconv.FormatFloat(f*100, 'f', 2, 64) + "%"
}

func fmtP99(l Latency) string {
	if l.Count == 0 {
		return "-"
	}
	return fmtDur(l.P99)
}

// Summary is the window in one short line.
func (w Window) Summary() string {
	return fmt.Sprintf("p99 %s, hit ratio %s, %.0f reads/s, threads %d", fmtP99(w.Probe), fmtPct(w.HitRatio), w.ReadsPerSec, w.ThreadsRunning)
}

// WriteText prints the per-step table and a one-line outcome.
func WriteText(w io.Writer, r *Result) error {
	fmt.Fprintf(w, "%s (%s): innodb_buffer_pool_size %s -> %s, unit %s, probe %q\n",
		r.Server, r.Flavor, FormatSize(r.From), FormatSize(r.To), FormatSize(r.Unit), r.Probe)
	if len(r.Steps) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "step\tsize\tresize\tp99 before\tp99 during\tp99 after\thit ratio\treads/s\tthreads max\t")
		for _, s := range r.Steps {
			n := strconv.Itoa(s.N)
			if s.Revert {
				n += " revert"
			}
			hit, reads, threads := "-", "-", "-"
			if s.After.Seconds > 0 { // no window after a failed step
				hit = fmtPct(s.After.HitRatio)
				reads = strconv.FormatFloat(s.After.ReadsPerSec, 'f', 1, 64)
				threads = strconv.FormatUint(s.After.ThreadsRunning, 10)
			}
			fmt.Fprintf(tw, "%s\t%s -> %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
				n, FormatSize(s.From), FormatSize(s.To), fmtDur(s.Resize),
				fmtP99(s.Before.Probe), fmtP99(s.During), fmtP99(s.After.Probe),
				hit, reads, threads)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	var err error
	switch r.Outcome {
	case Completed:
		_, err = fmt.Fprintf(w, "completed: innodb_buffer_pool_size is %s after %d steps\n", FormatSize(r.Final), len(r.Steps))
	case NoChange:
		_, err = fmt.Fprintf(w, "nothing to do: innodb_buffer_pool_size is already %s\n", FormatSize(r.Final))
	case Breached:
		_, err = fmt.Fprintf(w, "stopped: %s; innodb_buffer_pool_size is %s\n", r.Breach, FormatSize(r.Final))
	default:
		_, err = fmt.Fprintf(w, "failed: %s; innodb_buffer_pool_size is %s\n", r.Error, FormatSize(r.Final))
	}
	return err
}

type jsonWindow struct {
	Seconds        float64  `json:"seconds"`
	Probes         int64    `json:"probes"`
	ProbeErrors    int      `json:"probe_errors"`
	P50ms          float64  `json:"p50_ms"`
	P99ms          float64  `json:"p99_ms"`
	MaxMs          float64  `json:"max_ms"`
	HitRatio       *float64 `json:"hit_ratio"`
	ReadsPerSec    float64  `json:"reads_per_sec"`
	ThreadsRunning uint64   `json:"threads_running_max"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func toJSONWindow(w Window) jsonWindow {
	j := jsonWindow{Seconds: w.Seconds, Probes: w.Probe.Count, ProbeErrors: w.Probe.Errors,
		P50ms: ms(w.Probe.P50), P99ms: ms(w.Probe.P99), MaxMs: ms(w.Probe.Max),
		ReadsPerSec: w.ReadsPerSec, ThreadsRunning: w.ThreadsRunning}
	if w.HitRatio >= 0 {
		h := w.HitRatio
		j.HitRatio = &h
	}
	return j
}

type jsonStep struct {
	Step
	ResizeMs     float64     `json:"resize_ms"`
	DuringP99ms  float64     `json:"during_p99_ms"`
	DuringMaxMs  float64     `json:"during_max_ms"`
	DuringProbes int64       `json:"during_probes"`
	Before       jsonWindow  `json:"before"`
	After        *jsonWindow `json:"after"` // null after a failed step
}

// WriteJSON prints the result as one JSON document.
func WriteJSON(w io.Writer, r *Result) error {
	out := struct {
		*Result
		Baseline jsonWindow `json:"baseline"`
		Steps    []jsonStep `json:"steps"`
	}{Result: r, Baseline: toJSONWindow(r.Baseline), Steps: []jsonStep{}}
	for _, s := range r.Steps {
		js := jsonStep{Step: s, ResizeMs: ms(s.Resize),
			DuringP99ms: ms(s.During.P99), DuringMaxMs: ms(s.During.Max), DuringProbes: s.During.Count,
			Before: toJSONWindow(s.Before)}
		if s.After.Seconds > 0 {
			a := toJSONWindow(s.After)
			js.After = &a
		}
		out.Steps = append(out.Steps, js)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

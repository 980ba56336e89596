package cutover

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
)

// Phase is one timed step of the cutover.
type Phase struct {
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	MS    float64   `json:"ms"`
	Error string    `json:"error,omitempty"`
}

// Report is what a cutover did, for people (Print) and machines (JSON).
type Report struct {
	Source  string  `json:"source"`
	Target  string  `json:"target"`
	Outcome string  `json:"outcome"` // completed, aborted, failed
	Reason  string  `json:"reason,omitempty"`
	Phases  []Phase `json:"phases"`
	// WriteUnavailableMS: fence observed -> target writable.
	WriteUnavailableMS *float64 `json:"write_unavailable_ms"`
	// ClientVisibleMS: fence started -> traffic switched.
	ClientVisibleMS *float64                 `json:"client_visible_ms"`
	GateLagMS       int64                    `json:"gate_lag_ms"`
	SourceFinal     replication.Coordinates  `json:"source_final"`
	TargetPromotion replication.Coordinates  `json:"target_promotion"`
	Blockers        []Blocker                `json:"blockers"`
	Reverse         *replication.SetupResult `json:"reverse,omitempty"`
	Warnings        []string                 `json:"warnings,omitempty"`
	// SourceWritesAfterFinal counts binlog bytes the old source wrote after
	// its final coordinates (accounts that bypass read_only): not on the new
	// primary. 0 when none.
	// KilledBlockedCommits counts sessions killed while waiting to commit
	// behind the MariaDB commit block past the point of no return.
	KilledBlockedCommits   int       `json:"killed_blocked_commits"`
	SourceWritesAfterFinal int64     `json:"source_writes_after_final_bytes"`
	HookOutput             []string  `json:"hook_output,omitempty"`
	FenceStart             time.Time `json:"fence_start"`
	FenceObserved          time.Time `json:"fence_observed"`
	TargetWritable         time.Time `json:"target_writable"`
	SwitchDone             time.Time `json:"switch_done"`
}

func newReport(src, tgt *dbconn.Conn) *Report {
	return &Report{Source: src.String(), Target: tgt.String(), Blockers: []Blocker{}}
}

func (r *Report) start(name string) int {
	r.Phases = append(r.Phases, Phase{Name: name, Start: time.Now()})
	return len(r.Phases) - 1
}

func (r *Report) end(i int, err error) {
	p := &r.Phases[i]
	p.End = time.Now()
	p.MS = ms(p.End.Sub(p.Start))
	if err != nil {
		p.Error = err.Error()
	}
}

func (r *Report) abort(err error) {
	r.Outcome = "aborted"
	r.Reason = err.Error()
}

func (r *Report) complete() {
	r.Outcome = "completed"
	if !r.FenceObserved.IsZero() && !r.TargetWritable.IsZero() {
		v := ms(r.TargetWritable.Sub(r.FenceObserved))
		r.WriteUnavailableMS = &v
	}
	if !r.FenceStart.IsZero() && !r.SwitchDone.IsZero() {
		v := ms(r.SwitchDone.Sub(r.FenceStart))
		r.ClientVisibleMS = &v
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Print writes the human summary.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "cutover %s -> %s: %s", r.Source, r.Target, strings.ToUpper(r.Outcome))
	if r.Reason != "" {
		fmt.Fprintf(w, " (%s)", r.Reason)
	}
	fmt.Fprintln(w)
	for _, p := range r.Phases {
		e := ""
		if p.Error != "" {
			e = "  error: " + p.Error
		}
		fmt.Fprintf(w, "  %-9s %9.1f ms%s\n", p.Name, p.MS, e)
	}
	if r.WriteUnavailableMS != nil {
		fmt.Fprintf(w, "  write-unavailable: %.1f ms (fence observed -> target writable)\n", *r.WriteUnavailableMS)
	}
	if r.ClientVisibleMS != nil {
		fmt.Fprintf(w, "  client-visible:    %.1f ms (fence -> switch done)\n", *r.ClientVisibleMS)
	}
	if !r.SourceFinal.IsZero() {
		fmt.Fprintf(w, "  source final coordinates:    %s\n", r.SourceFinal)
	}
	if !r.TargetPromotion.IsZero() {
		fmt.Fprintf(w, "  target promotion coordinates: %s\n", r.TargetPromotion)
	}
	for _, b := range r.Blockers {
		k := ""
		if b.Killed {
			k = " (killed)"
		}
		fmt.Fprintf(w, "  blocker: session %d %s@%s, %d rows modified since %s%s: %s\n", b.ID, b.User, b.Host, b.RowsModified, b.TrxStarted.Format(time.TimeOnly), k, b.Query)
	}
	if r.Reverse != nil {
		fmt.Fprintf(w, "  reverse replication: old source now replicates from the new primary from %s\n", r.Reverse.From)
	}
	for _, wmsg := range r.Warnings {
		fmt.Fprintf(w, "  WARNING: %s\n", wmsg)
	}
}

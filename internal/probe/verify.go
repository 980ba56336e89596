package probe

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"
)

// Duplicate is a sequence number stored more than once.
type Duplicate struct {
	Seq      int64 `json:"seq"`
	Rows     int   `json:"rows"`
	Attempts []int `json:"attempts"`
	// Retried: every copy comes from a different attempt, following an
	// attempt of unknown outcome, so the probe's own retry explains it. A
	// copy of one attempt stored twice is the servers' doing.
	Retried bool `json:"retried_after_unknown_outcome"`
}

// Latency percentiles of acknowledged writes, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Report is a run checked against the final primary.
type Report struct {
	RunID          string    `json:"run_id"`
	Table          string    `json:"table"`
	Rate           int       `json:"rate"`
	Start          time.Time `json:"start"`
	End            time.Time `json:"end"`
	AchievedRate   float64   `json:"achieved_rate"`
	Sent           int64     `json:"sent"`
	Acked          int       `json:"acked"`
	Attempts       int64     `json:"attempts"`
	VerifiedOn     uint32    `json:"verified_on_server_id"`
	RowsPresent    int       `json:"rows_present"`
	ServersWritten []uint32  `json:"servers_written"`
	// Lost: acknowledged but not on the final primary. Must be empty.
	Lost       []int64     `json:"lost"`
	Duplicates []Duplicate `json:"duplicates"`
	// UnknownOutcome: rows present that were never acknowledged (the
	// attempt's connection died after sending). Neither lost nor wrong.
	UnknownOutcome []int64      `json:"unknown_outcome"`
	Errors         []ErrorCount `json:"errors"`
	LongestGap     Gap          `json:"longest_gap"`
	LongestGapMs   float64      `json:"longest_gap_ms"`
	Latency        Latency      `json:"latency"`
}

// ServerDuplicates counts duplicates the probe's retries do not explain.
func (r Report) ServerDuplicates() int {
	n := 0
	for _, d := range r.Duplicates {
		if !d.Retried {
			n++
		}
	}
	return n
}

// OK: nothing acknowledged is missing and nothing was applied twice.
func (r Report) OK() bool { return len(r.Lost) == 0 && r.ServerDuplicates() == 0 }

// Verify reads the run's rows on the final primary and compares them with
// what the client saw acknowledged.
func Verify(ctx context.Context, finalPrimary *sql.DB, r Result) (Report, error) {
	rep := Report{
		RunID: r.RunID, Table: r.Table, Rate: r.Rate, Start: r.Start, End: r.End,
		Sent: r.Sent, Acked: len(r.Acked), Attempts: r.Attempts,
		Errors: r.Errors, LongestGap: r.LongestGap, LongestGapMs: ms(r.LongestGap.Duration),
		Lost: []int64{}, Duplicates: []Duplicate{}, UnknownOutcome: []int64{}, ServersWritten: []uint32{},
	}
	if rep.Errors == nil {
		rep.Errors = []ErrorCount{}
	}
	if d := r.End.Sub(r.Start); d > 0 {
		rep.AchievedRate = float64(len(r.Acked)) / d.Seconds()
	}
	if h := r.Latency; h != nil && h.TotalCount() > 0 {
		q := func(p float64) float64 { return float64(h.ValueAtQuantile(p)) / 1000 }
		rep.Latency = Latency{Count: h.TotalCount(), P50: q(50), P95: q(95), P99: q(99), Max: float64(h.Max()) / 1000}
	}
	if err := finalPrimary.QueryRowContext(ctx, "SELECT @@server_id").Scan(&rep.VerifiedOn); err != nil {
		return rep, fmt.Errorf("probe verify: %w", err)
	}
	_, table := quotedTable(r.Table)
	rows, err := finalPrimary.QueryContext(ctx,
		"SELECT seq, attempt, server_id, COUNT(*) FROM "+table+" WHERE run_id = ? GROUP BY seq, attempt, server_id ORDER BY seq, attempt, server_id", r.RunID)
	if err != nil {
		return rep, fmt.Errorf("probe verify: reading %s: %w", r.Table, err)
	}
	defer rows.Close()
	type copies struct {
		byAttempt map[int]int
		attempts  []int
		rows      int
	}
	present := map[int64]*copies{}
	var order []int64
	servers := map[uint32]bool{}
	for rows.Next() {
		var seq int64
		var attempt, n int
		var sid uint32
		if err := rows.Scan(&seq, &attempt, &sid, &n); err != nil {
			return rep, fmt.Errorf("probe verify: %w", err)
		}
		if !servers[sid] {
			servers[sid] = true
			rep.ServersWritten = append(rep.ServersWritten, sid)
		}
		c := present[seq]
		if c == nil {
			c = &copies{byAttempt: map[int]int{}}
			present[seq] = c
			order = append(order, seq)
		}
		c.byAttempt[attempt] += n
		for range n {
			c.attempts = append(c.attempts, attempt)
		}
		c.rows += n
		rep.RowsPresent += n
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("probe verify: %w", err)
	}
	ackedAttempt := make(map[int64]int, len(r.Acked))
	for _, a := range r.Acked {
		ackedAttempt[a.Seq] = a.Attempt
		if c := present[a.Seq]; c == nil || c.byAttempt[a.Attempt] == 0 {
			rep.Lost = append(rep.Lost, a.Seq)
		}
	}
	unknown := map[int64]bool{}
	for _, s := range r.UnknownOutcome {
		unknown[s] = true
	}
	for _, seq := range order {
		c := present[seq]
		if c.rows > 1 {
			retried := unknown[seq]
			for _, n := range c.byAttempt {
				if n > 1 {
					retried = false
				}
			}
			rep.Duplicates = append(rep.Duplicates, Duplicate{Seq: seq, Rows: c.rows, Attempts: c.attempts, Retried: retried})
		}
		if _, ok := ackedAttempt[seq]; !ok {
			rep.UnknownOutcome = append(rep.UnknownOutcome, seq)
		}
	}
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteText prints the human summary.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	verdict := "OK: no acknowledged write lost, no duplicate"
	if !r.OK() {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "probe run %s on %s: %s\n", r.RunID, r.Table, verdict)
	fmt.Fprintf(&b, "  writes:      %d sent, %d acknowledged, %d attempts, %.1f/s achieved of %d/s asked over %s\n",
		r.Sent, r.Acked, r.Attempts, r.AchievedRate, r.Rate, r.End.Sub(r.Start).Round(time.Millisecond))
	fmt.Fprintf(&b, "  verified on: server_id %d, %d rows present (written by server_id %s)\n", r.VerifiedOn, r.RowsPresent, joinIDs(r.ServersWritten))
	fmt.Fprintf(&b, "  lost:        %d%s\n", len(r.Lost), list(r.Lost))
	retried := len(r.Duplicates) - r.ServerDuplicates()
	dupSeqs := make([]int64, 0, len(r.Duplicates))
	for _, d := range r.Duplicates {
		dupSeqs = append(dupSeqs, d.Seq)
	}
	fmt.Fprintf(&b, "  duplicates:  %d (%d explained by a retry after an unknown outcome)%s\n", len(r.Duplicates), retried, list(dupSeqs))
	fmt.Fprintf(&b, "  unknown outcome, present but never acknowledged: %d%s\n", len(r.UnknownOutcome), list(r.UnknownOutcome))
	if r.LongestGap.Duration > 0 {
		fmt.Fprintf(&b, "  longest gap: %.1f ms between seq %d and %d (from %s)\n", r.LongestGapMs, r.LongestGap.AfterSeq, r.LongestGap.BeforeSeq, r.LongestGap.From.UTC().Format("15:04:05.000"))
	}
	fmt.Fprintf(&b, "  latency ms:  p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n", r.Latency.P50, r.Latency.P95, r.Latency.P99, r.Latency.Max)
	if len(r.Errors) == 0 {
		b.WriteString("  errors:      none\n")
	} else {
		b.WriteString("  errors:\n")
		for _, e := range r.Errors {
			num := "-"
			if e.Number != 0 {
				num = fmt.Sprint(e.Number)
			}
			fmt.Fprintf(&b, "    %6d  %-5s %-16s %s\n", e.Count, num, e.Kind, e.Example)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// list shows up to 20 sequence numbers.
func list(seqs []int64) string {
	if len(seqs) == 0 {
		return ""
	}
	var parts []string
	for i, s := range seqs {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("... (%d more)", len(seqs)-20))
			break
		}
		parts = append(parts, fmt.Sprint(s))
	}
	return ": " + strings.Join(parts, " ")
}

func joinIDs(ids []uint32) string {
	if len(ids) == 0 {
		return "none"
	}
	var parts []string
	for _, id := range ids {
		parts = append(parts, fmt.Sprint(id))
	}
	return strings.Join(parts, ", ")
}

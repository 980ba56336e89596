package compat

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// QueryStats describes the query logs read.
type QueryStats struct {
	Files        []string `json:"files"`
	Queries      int      `json:"queries"`
	Fingerprints int      `json:"fingerprints"`
	Unparsable   int      `json:"unparsable"`
}

// Report is the outcome of check-upgrade, in the JSON shape of issue 6.
type Report struct {
	Source        Source      `json:"source"`
	TargetVersion Target      `json:"target_version"`
	QueryLog      *QueryStats `json:"query_log,omitempty"`
	Findings      []Finding   `json:"findings"`
}

// Stats of an analyzer run.
func (a *Analyzer) Stats(files []string) *QueryStats {
	fps := map[string]bool{}
	for _, s := range a.shards {
		for _, sh := range s.shapes {
			fps[sh.fp] = true
		}
	}
	return &QueryStats{Files: files, Queries: a.Queries, Fingerprints: len(fps), Unparsable: a.Unparsable}
}

// Count returns how many findings have the severity.
func (r *Report) Count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// examplesPerCheck bounds the text form; the JSON form has everything.
const examplesPerCheck = 10

// WriteText writes findings grouped by check, with counts and the first
// examples, then a summary.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Upgrade check: %s -> MySQL %s", r.Source.Version, r.TargetVersion)
	if r.Source.RDS {
		b.WriteString(" (RDS)")
	}
	fmt.Fprintf(&b, "\n%d schema(s), %d table(s) checked", r.Source.Schemas, r.Source.Tables)
	if q := r.QueryLog; q != nil {
		fmt.Fprintf(&b, "; %d logged statement(s) in %d fingerprint(s), %d unparsable", q.Queries, q.Fingerprints, q.Unparsable)
	}
	b.WriteString("\n\n")
	titles := map[string]string{}
	for _, c := range Checks() {
		titles[c.ID] = c.Title
	}
	for i := 0; i < len(r.Findings); {
		j := i
		total := 0
		for j < len(r.Findings) && r.Findings[j].Check == r.Findings[i].Check {
			total += r.Findings[j].Count
			j++
		}
		group := r.Findings[i:j]
		f0 := group[0]
		fmt.Fprintf(&b, "[%s] %s: %s — %d finding(s)", strings.ToUpper(string(f0.Severity)), f0.Check, titles[f0.Check], len(group))
		if total != len(group) {
			fmt.Fprintf(&b, ", %d occurrence(s)", total)
		}
		b.WriteString("\n")
		for k, f := range group {
			if k == examplesPerCheck {
				fmt.Fprintf(&b, "  ... and %d more (--format json lists all)\n", len(group)-k)
				break
			}
			line := "  - "
			if f.Object != "" {
				line += f.Object + ": "
			}
			line += f.Message
			if f.Count > 1 {
				line += fmt.Sprintf(" (x%d)", f.Count)
			}
			if f.Severity != f0.Severity {
				line += " [" + string(f.Severity) + "]"
			}
			b.WriteString(line + "\n")
			if f.Query != "" {
				b.WriteString("      e.g. " + oneLine(f.Query, 200) + "\n")
			}
		}
		b.WriteString("  fix: " + f0.Fix + "\n\n")
		i = j
	}
	fmt.Fprintf(&b, "Summary: %d error(s), %d warning(s), %d notice(s)\n", r.Count(SevError), r.Count(SevWarning), r.Count(SevNotice))
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine folds whitespace and cuts s to n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

package migration

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/dbshift/dbshift/internal/spec"
	"github.com/dbshift/dbshift/internal/strategy"
)

// Plan is the ordered steps of a spec, described without touching anything.
type Plan struct {
	Name     string          `json:"name"`
	Provider string          `json:"provider"`
	Strategy string          `json:"strategy"`
	Cutover  string          `json:"cutover"`
	Steps    []strategy.Info `json:"steps"`
}

// NewPlan describes the steps the spec's strategy would run.
func NewPlan(s *spec.Spec) (*Plan, error) {
	steps, err := strategy.Build(s)
	if err != nil {
		return nil, err
	}
	p := &Plan{Name: s.Name, Provider: s.Provider, Strategy: s.Strategy, Cutover: s.Cutover.Mode}
	for _, st := range steps {
		p.Steps = append(p.Steps, st.Info())
	}
	return p, nil
}

// Text writes the plan for people.
func (p *Plan) Text(w io.Writer) error {
	fmt.Fprintf(w, "plan %s: provider %s, strategy %s, cutover %s\n\n", p.Name, p.Provider, p.Strategy, p.Cutover)
	for i, s := range p.Steps {
		undo := "undoable by abort"
		if !s.Undoable {
			undo = "not undone by abort"
		}
		if s.PointOfNoReturn {
			fmt.Fprintln(w, "   ---- point of no return (inside the cutover) ----")
		}
		fmt.Fprintf(w, "%2d. %s\n    %s\n    touches: %s\n    needs: %s\n    %s\n", i+1, s.Name, s.Summary, strings.Join(s.Touches, "; "), s.Precondition, undo)
		for _, c := range s.Calls {
			fmt.Fprintf(w, "    call: %s\n", c)
		}
	}
	return nil
}

// JSON writes the plan for machines.
func (p *Plan) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// Mermaid writes a sequence diagram of the participants, like the ones
// DBAs draw for this runbook. Only participants the plan uses are declared.
func (p *Plan) Mermaid(w io.Writer) error {
	order := []string{strategy.PDBShift, strategy.PSource, strategy.PReplica, strategy.PSnapshot, strategy.PEncrypted, strategy.PTarget, strategy.PApp}
	used := map[string]bool{}
	for _, s := range p.Steps {
		for _, a := range s.Arrows {
			used[a.From], used[a.To] = true, true
		}
	}
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	b.WriteString("    autonumber\n")
	for _, part := range order {
		if used[part] {
			fmt.Fprintf(&b, "    participant %s\n", part)
		}
	}
	for _, s := range p.Steps {
		if len(s.Arrows) == 0 {
			continue
		}
		if s.PointOfNoReturn {
			fmt.Fprintf(&b, "    Note over %s,%s: point of no return\n", first(order, used), last(order, used))
			b.WriteString("    rect rgb(255, 240, 240)\n")
		}
		for _, a := range s.Arrows {
			fmt.Fprintf(&b, "    %s->>%s: %s\n", a.From, a.To, mermaidText(a.Text))
		}
		if s.PointOfNoReturn {
			b.WriteString("    end\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func first(order []string, used map[string]bool) string {
	for _, p := range order {
		if used[p] {
			return p
		}
	}
	return order[0]
}

func last(order []string, used map[string]bool) string {
	for i := len(order) - 1; i >= 0; i-- {
		if used[order[i]] {
			return order[i]
		}
	}
	return order[len(order)-1]
}

// mermaidText keeps a message on one line and away from Mermaid's syntax
// (';' ends a statement, '#' starts an entity).
func mermaidText(s string) string {
	r := strings.NewReplacer("\n", " ", ";", ",", "#", "no. ")
	return r.Replace(s)
}

package testutil

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runbookDiagram uses every construct plan --format mermaid is meant to
// draw: aliased participants, notes beside and over two participants,
// alt/else, rect and a line break in a label.
const runbookDiagram = `sequenceDiagram
  participant S as Source (MariaDB 10.11)
  participant R as Temporary replica
  participant T as Target (encrypted)
  participant App
  S->>R: clone and attach
  alt caught up
    R-->>S: lag 0
  else lagging
    R-->>S: wait for catch-up
  end
  rect rgb(230, 240, 255)
    Note over S,R: record binlog coordinates
    R->>T: snapshot, copy encrypted,<br/>restore
  end
  Note right of T: every tablespace encrypted
  App->>T: cutover
`

func TestValidateMermaid_RunbookSequenceDiagramPasses(t *testing.T) {
	ValidateMermaid(t, runbookDiagram)
}

func TestMermaidCheck_BrokenDiagramsRejected(t *testing.T) {
	tool := sharedMermaidTool(t)
	for _, tc := range []struct {
		name, diagram, want string
	}{
		{
			name:    "unclosed alt",
			diagram: "sequenceDiagram\n  participant A\n  participant B\n  alt ok\n    A->>B: hi\n",
			want:    "Parse error",
		},
		{
			name:    "else outside alt",
			diagram: "sequenceDiagram\n  A->>B: hi\n  else no\n  end\n",
			want:    "Parse error",
		},
		{
			name:    "unknown diagram type",
			diagram: "sequence\n  A->>B: hi\n",
			want:    "No diagram type detected",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			err := tool.check(ctx, tc.diagram)
			var merr *MermaidError
			if !errors.As(err, &merr) {
				t.Fatalf("check = %v, want a *MermaidError", err)
			}
			if !strings.Contains(merr.Message, tc.want) {
				t.Errorf("mermaid message %q does not contain %q", merr.Message, tc.want)
			}
		})
	}
}

func TestPrepareMermaid_NoNodeSkips(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tool := prepareMermaid(context.Background(), filepath.Join(root, mermaidToolDir))
	if !strings.Contains(tool.skip, "node not found") {
		t.Errorf("skip = %q, want it to say node was not found", tool.skip)
	}
}

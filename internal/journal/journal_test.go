package journal

import (
	"os"
	"path/filepath"
	"testing"
)

func TestJournal_AppendReopenTornLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "journal")
	j, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append("fence", "start", nil); err != nil {
		t.Fatal(err)
	}
	if err := j.Append("record", "data", map[string]string{"file": "mysql-bin.000003", "pos": "42"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append("fence", "done", nil); err != nil {
		t.Fatal(err)
	}
	j.Close()
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal mode = %v, %v; want 0600", fi.Mode(), err)
	}
	// A crash mid-write leaves a torn line; it must not hide the rest.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2026-`)
	f.Close()
	j, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if !j.Done("fence") || j.Done("record") {
		t.Errorf("Done: fence=%v record=%v", j.Done("fence"), j.Done("record"))
	}
	if v, ok := j.Value("record", "pos"); !ok || v != "42" {
		t.Errorf("Value = %q, %v", v, ok)
	}
	if err := j.Append("after", "done", nil); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(j.Entries()); n != 4 || !j.Done("after") {
		t.Errorf("%d entries after a torn line and one more append, want 4", n)
	}
}

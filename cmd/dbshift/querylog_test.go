package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuerylogExtract_JSONAndFilter(t *testing.T) {
	p := filepath.Join(t.TempDir(), "general.log")
	log := "2024-03-01T10:00:00.000001Z\t5 Connect\tapp@web on shop using TCP/IP\n" +
		"2024-03-01T10:00:00.000002Z\t5 Query\tSET NAMES utf8mb4\n" +
		"2024-03-01T10:00:00.000003Z\t5 Query\tselect *\n  from orders\n" +
		"2024-03-01T10:00:00.000004Z\t5 Query\tdelete from orders\n"
	if err := os.WriteFile(p, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"querylog", "extract", "--log", p, "--filter", "select", "--format", "json"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one select, got:\n%s", out.String())
	}
	var ev eventJSON
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Query != "select *\n  from orders" || ev.DB != "shop" || ev.ConnID != 5 || ev.Line != 3 ||
		len(ev.Session) != 1 || ev.Session[0] != "SET NAMES utf8mb4" {
		t.Errorf("event %+v", ev)
	}
}

func TestQuerylogExtract_UnparsedLinesFail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "general.log")
	if err := os.WriteFile(p, []byte("garbage\n\t\t5 Query\tselect 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"querylog", "extract", "--log", p}, nil, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), `general.log:1: "garbage"`) || !strings.Contains(out.String(), "select 1;") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

func TestReplayCmd_CompareExitCodeAndLoadCSV(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 2})
	for i, rows := range []string{"(1),(2),(3)", "(1),(2)"} {
		inst := s.Instance(i + 1)
		c, err := dbconn.Open(context.Background(), dbconn.Spec{DSN: inst.DSN(), Password: inst.Password}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"DROP DATABASE IF EXISTS cli", "CREATE DATABASE cli", "CREATE TABLE cli.t (id int primary key)",
			"INSERT INTO cli.t VALUES " + rows, "CREATE TABLE cli.same (id int primary key)", "INSERT INTO cli.same VALUES (1)"} {
			if _, err := c.DB.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
	t.Setenv("DBSHIFT_TARGET_PASSWORD", s.Instance(1).Password)
	t.Setenv("DBSHIFT_COMPARE_PASSWORD", s.Instance(2).Password)
	dir := t.TempDir()
	diffLog := filepath.Join(dir, "diff.log")
	sameLog := filepath.Join(dir, "same.log")
	os.WriteFile(diffLog, []byte("\t\t3 Connect\tapp@web on cli\n\t\t3 Query\tselect id from t\n"), 0o600)
	os.WriteFile(sameLog, []byte("\t\t3 Connect\tapp@web on cli\n\t\t3 Query\tselect id from same\n"), 0o600)

	cases := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"difference", []string{"--log", diffLog, "--compare", s.Instance(2).DSN(), "--concurrency", "1"}, 1, "row_count"},
		{"no difference", []string{"--log", sameLog, "--compare", s.Instance(2).DSN(), "--concurrency", "1"}, 0, "No differences."},
		{"load csv", []string{"--log", sameLog, "--concurrency", "1,2", "--trials", "2", "--format", "csv"}, 0, "\n2,2,2,0,"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"replay", "--target", s.Instance(1).DSN()}, tc.args...)
			code := run(context.Background(), args, nil, &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.out) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errb.String())
			}
			if strings.Contains(out.String()+errb.String(), s.Instance(1).Password) {
				t.Error("a password was printed")
			}
		})
	}
}

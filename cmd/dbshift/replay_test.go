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
			"INSERT INTO cli.t VALUES " + rows, "CREATE TABLE cli.same (id int primary key)", "INSERT INTO cli.same VALUES (1)",
			"CREATE TABLE cli.w (id int)"} {
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
	secretLog := filepath.Join(dir, "secret.log")
	os.WriteFile(secretLog, []byte("\t\t3 Connect\tapp@web on cli\n\t\t3 Query\tselect id from t where password('s3cret-cmp') <> ''\n"), 0o600)
	emptyLog := filepath.Join(dir, "empty.log")
	garbageLog := filepath.Join(dir, "garbage.log")
	failLog := filepath.Join(dir, "fail.log")
	writeLog := filepath.Join(dir, "write.log")
	os.WriteFile(emptyLog, nil, 0o600)
	os.WriteFile(garbageLog, []byte("this is not\na query log\n"), 0o600)
	os.WriteFile(failLog, []byte("\t\t3 Connect\tapp@web on cli\n\t\t3 Query\tselect id from missing\n"), 0o600)
	os.WriteFile(writeLog, []byte("\t\t3 Connect\tapp@web on cli\n\t\t3 Query\tinsert into w values (1)\n"), 0o600)

	cases := []struct {
		name string
		args []string
		code int
		out  string
		errs string // on stderr
	}{
		{"difference", []string{"--log", diffLog, "--compare", s.Instance(2).DSN(), "--concurrency", "1"}, 1, "row_count", ""},
		{"no difference", []string{"--log", sameLog, "--compare", s.Instance(2).DSN(), "--concurrency", "1"}, 0, "No differences.", ""},
		{"load csv", []string{"--log", sameLog, "--concurrency", "1,2", "--trials", "2", "--format", "csv"}, 0, "\n2,2,2,0,", ""},
		{"difference with a password", []string{"--log", secretLog, "--compare", s.Instance(2).DSN()}, 1, "password(", ""},
		{"difference with a password json", []string{"--log", secretLog, "--compare", s.Instance(2).DSN(), "--format", "json"}, 1, "password(", ""},
		{"empty log", []string{"--log", emptyLog, "--concurrency", "1"}, 1, "", "no query"},
		{"garbage log", []string{"--log", garbageLog, "--concurrency", "1"}, 1, "", "no query"},
		{"garbage log compared", []string{"--log", garbageLog, "--compare", s.Instance(2).DSN()}, 1, "", "no query"},
		{"every query failed", []string{"--log", failLog, "--concurrency", "1", "--trials", "1"}, 1, "1146×1", "every one of the 1 statements"},
		{"nothing run", []string{"--log", writeLog, "--concurrency", "1", "--trials", "1"}, 1, "", "no statement was run"},
		{"nothing compared", []string{"--log", writeLog, "--compare", s.Instance(2).DSN()}, 1, "not_select          1", "nothing was compared"},
		{"allow-writes compares writes", []string{"--log", writeLog, "--compare", s.Instance(2).DSN(), "--allow-writes"}, 0, "queries_no_diffs    1", ""},
		{"concurrency above max_connections", []string{"--log", sameLog, "--concurrency", "1,100000"}, 2, "", "max_connections"},
		{"compare concurrency above max_connections", []string{"--log", sameLog, "--compare", s.Instance(2).DSN(), "--concurrency", "100000"}, 2, "", "max_connections"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"replay", "--target", s.Instance(1).DSN()}, tc.args...)
			code := run(context.Background(), args, nil, &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.errs) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errb.String())
			}
			if strings.Contains(out.String()+errb.String(), "s3cret-cmp") {
				t.Errorf("a password in the log was printed:\n%s", out.String())
			}
			if strings.Contains(out.String()+errb.String(), s.Instance(1).Password) {
				t.Error("a password was printed")
			}
		})
	}
}

func TestReplayClientProcs_Flag(t *testing.T) {
	for _, tc := range []struct {
		flag, target string
		want         int
		wantErr      bool
	}{
		{"auto", "u@tcp(127.0.0.1:3306)/", 1, false},
		{"auto", "u@tcp(db.example.com:3306)/", 0, false},
		{"all", "u@tcp(127.0.0.1:3306)/", 0, false},
		{"4", "u@tcp(db.example.com:3306)/", 4, false},
		{"0", "u@tcp(127.0.0.1:3306)/", 0, true},
		{"two", "u@tcp(127.0.0.1:3306)/", 0, true},
	} {
		got, err := clientProcs(tc.flag, tc.target)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("clientProcs(%q, %q) = %d, %v; want %d, error %v", tc.flag, tc.target, got, err, tc.want, tc.wantErr)
		}
	}
}

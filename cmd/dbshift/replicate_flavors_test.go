package main

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// TestReplicateCLI_BothFlavors runs the replicate commands as a DBA would,
// on MariaDB and on MySQL 9.7: start one target from file:pos and one from a
// GTID set (targets seeded outside the binlog, as a restored dump is), wait,
// status, and position --stop.
func TestReplicateCLI_BothFlavors(t *testing.T) {
	sandboxtest.Flavors(t, func(t *testing.T, fl string) {
		s := sandboxtest.New(t, sandbox.Options{Instances: 3, Flavor: fl})
		src, byPos, byGTID := s.Instances[0], s.Instances[1], s.Instances[2]
		sc := adminConn(t, src)
		seed := []string{
			"CREATE DATABASE app",
			"CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))",
			"INSERT INTO app.t (v) VALUES ('seed-1'), ('seed-2')",
		}
		mustExec(t, sc.DB, seed...)
		co, err := replication.SourcePosition(context.Background(), sc)
		if err != nil {
			t.Fatal(err)
		}
		for _, dst := range []*sandbox.Instance{byPos, byGTID} {
			root, err := dst.Root(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			root.SetMaxOpenConns(1) // sql_log_bin is per session
			mustExec(t, root, "SET SESSION sql_log_bin = 0")
			mustExec(t, root, seed...)
			if fl == sandbox.FlavorMySQL && dst == byGTID {
				// mysqldump --set-gtid-purged=ON's statement.
				mustExec(t, root, "SET GLOBAL gtid_purged = '"+co.GTID+"'")
			}
			root.Close()
		}
		mustExec(t, sc.DB, "INSERT INTO app.t (v) VALUES ('after-seed')")
		for _, c := range []struct {
			dst  *sandbox.Instance
			from []string
		}{
			{byPos, []string{"--from", co.File + ":" + strconv.FormatUint(co.Position, 10)}},
			{byGTID, []string{"--from-gtid", co.GTID}},
		} {
			env := pwEnv(src, c.dst)
			args := append([]string{"replicate", "start", "--source", src.DSN(), "--target", c.dst.DSN(), "--yes", "--format", "json"}, c.from...)
			if code, out, errs := runCLI(t, env, args...); code != 0 {
				t.Fatalf("replicate start %v: exit %d\n%s\n%s", c.from, code, out, errs)
			}
		}
		mustExec(t, sc.DB, "INSERT INTO app.t (v) VALUES ('after-start')")
		for _, dst := range []*sandbox.Instance{byPos, byGTID} {
			env := pwEnv(src, dst)
			if code, out, errs := runCLI(t, env, "replicate", "wait", "--source", src.DSN(), "--target", dst.DSN(), "--max-lag", "500ms", "--stable", "200ms", "--timeout", "60s"); code != 0 {
				t.Fatalf("replicate wait %s: exit %d\n%s\n%s", dst.Name, code, out, errs)
			}
			if n := count(t, adminConn(t, dst).DB, "SELECT COUNT(*) FROM app.t"); n != 4 {
				t.Errorf("%s has %d rows, want 4", dst.Name, n)
			}
			code, out, errs := runCLI(t, env, "replicate", "status", "--target", dst.DSN(), "--source", src.DSN(), "--format", "json")
			if code != 0 {
				t.Fatalf("replicate status %s: exit %d\n%s\n%s", dst.Name, code, out, errs)
			}
			var st struct {
				Status struct {
					IO  string `json:"io_running"`
					SQL string `json:"sql_running"`
				} `json:"status"`
			}
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("status json: %v\n%s", err, out)
			}
			if st.Status.IO != "Yes" || st.Status.SQL != "Yes" {
				t.Errorf("%s status = %+v\n%s", dst.Name, st, out)
			}
		}
		// position --stop prints the coordinates the stopped replica reports.
		env := pwEnv(src, byPos)
		pos := positionStop(t, env, byPos.DSN())
		tc := adminConn(t, byPos)
		st, err := replication.ReadStatus(context.Background(), tc)
		if err != nil {
			t.Fatal(err)
		}
		gtid, err := replication.ExecutedGTID(context.Background(), tc)
		if err != nil {
			t.Fatal(err)
		}
		end, err := replication.SourcePosition(context.Background(), sc)
		if err != nil {
			t.Fatal(err)
		}
		if pos.File != st.Executed.File || pos.Position != st.Executed.Position || st.IORunning != "No" || st.SQLRunning != "No" {
			t.Errorf("position = %+v; replica says %s io=%s sql=%s", pos, st.Executed, st.IORunning, st.SQLRunning)
		}
		if pos.File != end.File || pos.Position != end.Position {
			t.Errorf("position = %s:%d, the idle source is at %s", pos.File, pos.Position, end)
		}
		if pos.GTID == "" || pos.GTID != gtid {
			t.Errorf("position gtid = %q, the replica executed %q", pos.GTID, gtid)
		}
	})
}

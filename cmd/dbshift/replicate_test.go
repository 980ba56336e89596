package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

func adminConn(t *testing.T, inst *sandbox.Instance) *dbconn.Conn {
	t.Helper()
	c, err := dbconn.Open(context.Background(), dbconn.Spec{Role: inst.Name, DSN: inst.DSN(), Password: inst.Password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// clientDefaults writes a client option file so the mariadb tools get the
// password without it appearing in argv.
func clientDefaults(t *testing.T, inst *sandbox.Instance) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), inst.Name+".cnf")
	body := fmt.Sprintf("[client]\nuser=%s\npassword=%s\nhost=127.0.0.1\nport=%d\n", inst.AdminUser, inst.Password, inst.Port)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var masterDataRe = regexp.MustCompile(`CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+)`)

// dumpAndRestore copies schema app from src to dst with mariadb-dump
// --master-data=2, the way a DBA seeds a replica by hand, and returns the
// dump's coordinates as FILE:POS.
func dumpAndRestore(t *testing.T, src, dst *sandbox.Instance) string {
	t.Helper()
	dump, err := exec.Command("mariadb-dump", "--defaults-extra-file="+clientDefaults(t, src),
		"--single-transaction", "--master-data=2", "--databases", "app").Output()
	if err != nil {
		t.Fatalf("mariadb-dump: %v", err)
	}
	m := masterDataRe.FindSubmatch(dump)
	if m == nil {
		t.Fatal("no CHANGE MASTER comment in the dump")
	}
	load := exec.Command("mariadb", "--defaults-extra-file="+clientDefaults(t, dst))
	load.Stdin = strings.NewReader(string(dump))
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("loading the dump: %v: %s", err, out)
	}
	return string(m[1]) + ":" + string(m[2])
}

func pwEnv(src, dst *sandbox.Instance) map[string]string {
	return map[string]string{"DBSHIFT_SOURCE_PASSWORD": src.Password, "DBSHIFT_TARGET_PASSWORD": dst.Password, "DBSHIFT_REPLICA_PASSWORD": dst.Password}
}

func TestReplicateStart_FromDumpCoordinates(t *testing.T) {
	for _, rds := range []bool{false, true} {
		t.Run(fmt.Sprintf("rds=%v", rds), func(t *testing.T) {
			s := sandboxtest.New(t, sandbox.Options{Instances: 2, RDS: rds})
			src, dst := s.Instances[0], s.Instances[1]
			sc, tc := adminConn(t, src), adminConn(t, dst)
			mustExec(t, sc.DB,
				"CREATE DATABASE app",
				"CREATE TABLE app.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))",
				"INSERT INTO app.t (v) VALUES ('before-1'), ('before-2')",
			)
			from := dumpAndRestore(t, src, dst)
			mustExec(t, sc.DB, "INSERT INTO app.t (v) VALUES ('after-dump')")
			if rds {
				// RDS fences a replica with its parameter group, not SET GLOBAL.
				root, err := dst.Root(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				mustExec(t, root, "SET GLOBAL read_only = ON")
				root.Close()
			}
			env := pwEnv(src, dst)
			code, out, errs := runCLI(t, env, "replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", from, "--yes", "--format", "json")
			if code != 0 {
				t.Fatalf("replicate start: exit %d\n%s\n%s", code, out, errs)
			}
			var res struct {
				TLS bool `json:"tls"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil || !res.TLS {
				t.Errorf("replicate start: tls not on (%v): %s", err, out)
			}
			mustExec(t, sc.DB, "INSERT INTO app.t (v) VALUES ('after-start')")
			if code, out, errs := runCLI(t, env, "replicate", "wait", "--source", src.DSN(), "--target", dst.DSN(), "--max-lag", "500ms", "--stable", "200ms", "--timeout", "60s"); code != 0 {
				t.Fatalf("replicate wait: exit %d\n%s\n%s", code, out, errs)
			}
			if n := count(t, tc.DB, "SELECT COUNT(*) FROM app.t"); n != 4 {
				t.Errorf("target has %d rows, want 4", n)
			}
			code, out, errs = runCLI(t, env, "replicate", "status", "--target", dst.DSN(), "--source", src.DSN(), "--format", "json")
			if code != 0 {
				t.Fatalf("replicate status: exit %d\n%s\n%s", code, out, errs)
			}
			var st struct {
				Status struct {
					IO  string `json:"io_running"`
					SQL string `json:"sql_running"`
				} `json:"status"`
				Lag struct {
					Bytes     int64 `json:"bytes_behind"`
					Heartbeat int64 `json:"heartbeat_ms"`
				} `json:"lag"`
			}
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				t.Fatalf("status json: %v\n%s", err, out)
			}
			if st.Status.IO != "Yes" || st.Status.SQL != "Yes" || st.Lag.Bytes < 0 || st.Lag.Heartbeat < 0 {
				t.Errorf("status = %+v", st)
			}
			// An application account cannot write on the read-only target.
			root, err := dst.Root(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			mustExec(t, root, "SET SESSION sql_log_bin = 0", "CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw-1'", "GRANT SELECT, INSERT ON app.* TO 'app'@'%'")
			app, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "app", DSN: "app@tcp(" + dst.Addr() + ")/", Password: "app-pw-1"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			_, err = app.DB.Exec("INSERT INTO app.t (v) VALUES ('stray')")
			if n := dbconn.ErrorNumber(err); n != 1290 {
				t.Errorf("stray write on the target: error %d (%v), want 1290 read-only", n, err)
			}

			// position --stop: the coordinates printed are those the
			// replica reports after it stopped.
			pos := positionStop(t, env, dst.DSN())
			var file string
			var execPos uint64
			var ioRun, sqlRun string
			row := tc.DB.QueryRow("SHOW SLAVE STATUS")
			cols := scanCols(t, row, tc.DB, map[string]any{"Relay_Master_Log_File": &file, "Exec_Master_Log_Pos": &execPos, "Slave_IO_Running": &ioRun, "Slave_SQL_Running": &sqlRun})
			_ = cols
			if pos.File != file || pos.Position != execPos || ioRun != "No" || sqlRun != "No" {
				t.Errorf("position = %+v; replica says %s:%d io=%s sql=%s", pos, file, execPos, ioRun, sqlRun)
			}
			var gtid string
			if err := tc.DB.QueryRow("SELECT @@gtid_slave_pos").Scan(&gtid); err != nil || pos.GTID != gtid || gtid == "" {
				t.Errorf("gtid = %q, replica's gtid_slave_pos = %q (%v)", pos.GTID, gtid, err)
			}
		})
	}
}

// scanCols reads one row of a SHOW statement into the named destinations.
func scanCols(t *testing.T, _ *sql.Row, db *sql.DB, dst map[string]any) []string {
	t.Helper()
	rows, err := db.Query("SHOW SLAVE STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatal("no replica status row")
	}
	ptrs := make([]any, len(cols))
	for i, c := range cols {
		if d, ok := dst[c]; ok {
			ptrs[i] = d
		} else {
			ptrs[i] = new(sql.RawBytes)
		}
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	return cols
}

func TestReplicateStart_BadInputExitsWithReason(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 2})
	src, dst := s.Instances[0], s.Instances[1]
	nobin := sandboxtest.New(t, sandbox.Options{Instances: 1, Extra: []string{"skip-log-bin"}}).Instances[0]
	env := pwEnv(src, dst)
	cases := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		mentions string
	}{
		{"wrong position", env, []string{"replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", "mysql-bin.999999:4", "--yes"}, 1, "source"},
		{"position past the end", env, []string{"replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", "mysql-bin.000001:999999999", "--yes"}, 1, "past the end"},
		{"malformed position", env, []string{"replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", "nonsense", "--yes"}, 2, "FILE:POS"},
		{"wrong password", map[string]string{"DBSHIFT_SOURCE_PASSWORD": "wrong", "DBSHIFT_TARGET_PASSWORD": dst.Password}, []string{"replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", "mysql-bin.000001:4", "--yes"}, 2, "source"},
		{"unreachable source", env, []string{"replicate", "start", "--source", "dbshift@tcp(127.0.0.1:1)/", "--target", dst.DSN(), "--from", "mysql-bin.000001:4", "--yes"}, 2, "source 127.0.0.1:1"},
		{"source without binlog", map[string]string{"DBSHIFT_SOURCE_PASSWORD": nobin.Password}, []string{"preflight", "--source", nobin.DSN()}, 1, "binary log is off"},
		{"no confirmation without a terminal", env, []string{"replicate", "start", "--source", src.DSN(), "--target", dst.DSN(), "--from", "mysql-bin.000001:4"}, 2, "--yes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, c.env, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s\n%s", code, c.code, out, errs)
			}
			if !strings.Contains(out+errs, c.mentions) {
				t.Errorf("output does not mention %q:\n%s\n%s", c.mentions, out, errs)
			}
			if c.code != 0 {
				last := strings.TrimSpace(errs)
				if i := strings.LastIndexByte(last, '\n'); i >= 0 {
					last = last[i+1:]
				}
				if !strings.HasPrefix(last, "dbshift: ") {
					t.Errorf("last line is not a one-line reason: %q", last)
				}
			}
		})
	}
	// Nothing was half-done: the target is not replicating and the source
	// has no replication account after the failures before confirmation.
	tc := adminConn(t, dst)
	if n := count(t, tc.DB, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'"); n != 0 {
		t.Errorf("target replicating after failed starts")
	}
	sc := adminConn(t, src)
	if n := count(t, sc.DB, "SELECT COUNT(*) FROM mysql.user WHERE User = 'dbshift_repl'"); n != 0 {
		t.Errorf("replication user left behind on the source")
	}
}

func TestPreflight_SandboxPassesAndRDSRetentionFails(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 2})
	src, dst := s.Instances[0], s.Instances[1]
	code, out, errs := runCLI(t, pwEnv(src, dst), "preflight", "--source", src.DSN(), "--target", dst.DSN(), "--format", "json")
	if code != 0 {
		t.Fatalf("preflight: exit %d\n%s\n%s", code, out, errs)
	}
	var rep struct {
		Findings []struct{ Check, Status string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, f := range rep.Findings {
		seen[f.Check] = f.Status
	}
	for _, c := range []string{"binlog", "binlog_format", "binlog_row_image", "binlog_retention", "tls", "privileges", "server_id"} {
		if seen[c] != "pass" {
			t.Errorf("check %s = %q, want pass", c, seen[c])
		}
	}
	rds := sandboxtest.New(t, sandbox.Options{Instances: 1, RDS: true}).Instances[0]
	code, out, _ = runCLI(t, map[string]string{"DBSHIFT_SOURCE_PASSWORD": rds.Password}, "preflight", "--source", rds.DSN())
	if code != 1 || !strings.Contains(out, "CALL mysql.rds_set_configuration('binlog retention hours', 168);") {
		t.Errorf("RDS preflight without retention: exit %d\n%s", code, out)
	}
	mustExec(t, adminConn(t, rds).DB, "CALL mysql.rds_set_configuration('binlog retention hours', 168)")
	code, out, _ = runCLI(t, map[string]string{"DBSHIFT_SOURCE_PASSWORD": rds.Password}, "preflight", "--source", rds.DSN())
	if code != 0 {
		t.Errorf("RDS preflight with 168 h: exit %d\n%s", code, out)
	}
}

// stoppedAt is what position --stop --format json prints.
type stoppedAt struct {
	File     string `json:"file"`
	Position uint64 `json:"position"`
	GTID     string `json:"gtid"`
}

// positionStop runs position --stop on the replica and returns what it
// printed.
func positionStop(t *testing.T, env map[string]string, replicaDSN string) stoppedAt {
	t.Helper()
	code, out, errs := runCLI(t, env, "position", "--replica", replicaDSN, "--stop", "--yes", "--format", "json")
	if code != 0 {
		t.Fatalf("position --stop: exit %d\n%s\n%s", code, out, errs)
	}
	var pos stoppedAt
	if err := json.Unmarshal([]byte(out), &pos); err != nil {
		t.Fatal(err)
	}
	return pos
}

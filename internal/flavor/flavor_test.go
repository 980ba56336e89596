package flavor

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse_Versions(t *testing.T) {
	cases := []struct {
		version, comment string
		want             string
	}{
		{"5.7.44-log", "MySQL Community Server (GPL)", "mysql:5.7.44"},
		{"8.0.36", "Source distribution", "mysql:8.0.36"},
		{"8.4.3", "MySQL Community Server - GPL", "mysql:8.4.3"},
		{"10.11.6-MariaDB-0+deb12u1-log", "Debian 12", "mariadb:10.11.6"},
		{"5.5.5-10.6.16-MariaDB", "", "mariadb:10.6.16"},
		{"11.4.2-MariaDB", "mariadb.org binary distribution", "mariadb:11.4.2"},
	}
	for _, c := range cases {
		f, err := Parse(c.version, c.comment)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.version, err)
		}
		if f.String() != c.want {
			t.Errorf("Parse(%q) = %s, want %s", c.version, f, c.want)
		}
	}
	if _, err := Parse("garbage", ""); err == nil {
		t.Error("Parse(garbage) succeeded")
	}
}

func TestCapabilities_PerFlavor(t *testing.T) {
	cases := []struct {
		flavor                    string
		superRO, replicaTerms     bool
		status, binlogStatus, gtw string
	}{
		{"mysql:5.7.44", true, false, "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "SELECT WAIT_FOR_EXECUTED_GTID_SET('x', 5)"},
		{"mysql:8.0.21", true, false, "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "SELECT WAIT_FOR_EXECUTED_GTID_SET('x', 5)"},
		{"mysql:8.0.36", true, true, "SHOW REPLICA STATUS", "SHOW MASTER STATUS", "SELECT WAIT_FOR_EXECUTED_GTID_SET('x', 5)"},
		{"mysql:8.4.3", true, true, "SHOW REPLICA STATUS", "SHOW BINARY LOG STATUS", "SELECT WAIT_FOR_EXECUTED_GTID_SET('x', 5)"},
		{"mariadb:10.11.6", false, false, "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "SELECT MASTER_GTID_WAIT('x', 5)"},
		{"mariadb:11.4.2", false, false, "SHOW SLAVE STATUS", "SHOW MASTER STATUS", "SELECT MASTER_GTID_WAIT('x', 5)"},
	}
	for _, c := range cases {
		f := MustParse(c.flavor)
		if got := f.HasSuperReadOnly(); got != c.superRO {
			t.Errorf("%s HasSuperReadOnly = %v", c.flavor, got)
		}
		if got := f.UsesReplicaTerms(); got != c.replicaTerms {
			t.Errorf("%s UsesReplicaTerms = %v", c.flavor, got)
		}
		if got := f.ReplicaStatusSQL(); got != c.status {
			t.Errorf("%s ReplicaStatusSQL = %q", c.flavor, got)
		}
		if got := f.BinlogStatusSQL(); got != c.binlogStatus {
			t.Errorf("%s BinlogStatusSQL = %q", c.flavor, got)
		}
		if got := f.WaitForGTIDSQL("x", 5*time.Second); got != c.gtw {
			t.Errorf("%s WaitForGTIDSQL = %q", c.flavor, got)
		}
	}
	if c := MustParse("mysql:8.0.36").ReplicaStatusColumns(); c.ExecSourceLogPos != "Exec_Source_Log_Pos" || c.RelaySourceLogFile != "Relay_Source_Log_File" {
		t.Errorf("8.0.36 columns = %+v", c)
	}
	if c := MustParse("mariadb:10.11.6").ReplicaStatusColumns(); c.ExecSourceLogPos != "Exec_Master_Log_Pos" || c.IORunning != "Slave_IO_Running" {
		t.Errorf("mariadb columns = %+v", c)
	}
}

func TestChangeSourceSQL_ExactPerFlavor(t *testing.T) {
	filePos := Source{Host: "10.0.0.5", Port: 3306, User: "repl", Password: "p'w\\d", File: "mysql-bin.000042", Pos: 1234, TLS: true}
	gtid := Source{Host: "10.0.0.5", Port: 3306, User: "repl", Password: "pw", GTID: "0-1-100", TLS: false}
	mysqlGTID := Source{Host: "h", Port: 3306, User: "repl", Password: "pw", GTID: "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5"}
	// verify-ca names the CA file (on the replica's machine); verify-identity
	// also checks the certificate's name against the host.
	verifyCA := Source{Host: "db1.example.com", Port: 3306, User: "repl", Password: "pw", File: "b.000001", Pos: 4, TLS: true, TLSCA: "/etc/mysql/ca's.pem"}
	verifyID := verifyCA
	verifyID.TLSVerifyIdentity = true
	cases := []struct {
		flavor string
		src    Source
		want   []string
	}{
		{"mysql:5.7.44", filePos, []string{`CHANGE MASTER TO MASTER_HOST='10.0.0.5', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='p\'w\\d', MASTER_LOG_FILE='mysql-bin.000042', MASTER_LOG_POS=1234, MASTER_SSL=1, MASTER_SSL_CA='', MASTER_SSL_VERIFY_SERVER_CERT=0`}},
		{"mysql:8.0.21", filePos, []string{`CHANGE MASTER TO MASTER_HOST='10.0.0.5', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='p\'w\\d', MASTER_LOG_FILE='mysql-bin.000042', MASTER_LOG_POS=1234, MASTER_SSL=1, MASTER_SSL_CA='', MASTER_SSL_VERIFY_SERVER_CERT=0, GET_MASTER_PUBLIC_KEY=1`}},
		{"mysql:8.0.36", filePos, []string{`CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.5', SOURCE_PORT=3306, SOURCE_USER='repl', SOURCE_PASSWORD='p\'w\\d', SOURCE_LOG_FILE='mysql-bin.000042', SOURCE_LOG_POS=1234, SOURCE_SSL=1, SOURCE_SSL_CA='', SOURCE_SSL_VERIFY_SERVER_CERT=0, GET_SOURCE_PUBLIC_KEY=1`}},
		{"mysql:8.4.3", mysqlGTID, []string{`CHANGE REPLICATION SOURCE TO SOURCE_HOST='h', SOURCE_PORT=3306, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, SOURCE_SSL=0, GET_SOURCE_PUBLIC_KEY=1`}},
		{"mariadb:10.11.6", filePos, []string{`CHANGE MASTER TO MASTER_HOST='10.0.0.5', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='p\'w\\d', MASTER_LOG_FILE='mysql-bin.000042', MASTER_LOG_POS=1234, MASTER_USE_GTID=no, MASTER_SSL=1, MASTER_SSL_CA='', MASTER_SSL_VERIFY_SERVER_CERT=0`}},
		{"mariadb:10.11.6", gtid, []string{`SET GLOBAL gtid_slave_pos = '0-1-100'`, `CHANGE MASTER TO MASTER_HOST='10.0.0.5', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='pw', MASTER_USE_GTID=slave_pos, MASTER_SSL=0`}},
		{"mysql:5.7.44", verifyID, []string{`CHANGE MASTER TO MASTER_HOST='db1.example.com', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='pw', MASTER_LOG_FILE='b.000001', MASTER_LOG_POS=4, MASTER_SSL=1, MASTER_SSL_CA='/etc/mysql/ca\'s.pem', MASTER_SSL_VERIFY_SERVER_CERT=1`}},
		{"mysql:8.0.36", verifyCA, []string{`CHANGE REPLICATION SOURCE TO SOURCE_HOST='db1.example.com', SOURCE_PORT=3306, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_LOG_FILE='b.000001', SOURCE_LOG_POS=4, SOURCE_SSL=1, SOURCE_SSL_CA='/etc/mysql/ca\'s.pem', SOURCE_SSL_VERIFY_SERVER_CERT=0, GET_SOURCE_PUBLIC_KEY=1`}},
		{"mysql:8.4.3", verifyID, []string{`CHANGE REPLICATION SOURCE TO SOURCE_HOST='db1.example.com', SOURCE_PORT=3306, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_LOG_FILE='b.000001', SOURCE_LOG_POS=4, SOURCE_SSL=1, SOURCE_SSL_CA='/etc/mysql/ca\'s.pem', SOURCE_SSL_VERIFY_SERVER_CERT=1, GET_SOURCE_PUBLIC_KEY=1`}},
		{"mariadb:10.11.6", verifyID, []string{`CHANGE MASTER TO MASTER_HOST='db1.example.com', MASTER_PORT=3306, MASTER_USER='repl', MASTER_PASSWORD='pw', MASTER_LOG_FILE='b.000001', MASTER_LOG_POS=4, MASTER_USE_GTID=no, MASTER_SSL=1, MASTER_SSL_CA='/etc/mysql/ca\'s.pem', MASTER_SSL_VERIFY_SERVER_CERT=1`}},
		{"rds-mysql:5.7.44", filePos, []string{`CALL mysql.rds_set_external_master('10.0.0.5', 3306, 'repl', 'p\'w\\d', 'mysql-bin.000042', 1234, 1)`}},
		{"rds-mysql:8.0.36", filePos, []string{`CALL mysql.rds_set_external_master('10.0.0.5', 3306, 'repl', 'p\'w\\d', 'mysql-bin.000042', 1234, 1)`}},
		{"rds-mysql:8.4.3", filePos, []string{`CALL mysql.rds_set_external_source('10.0.0.5', 3306, 'repl', 'p\'w\\d', 'mysql-bin.000042', 1234, 1)`}},
		{"rds-mysql:8.0.36", mysqlGTID, []string{`CALL mysql.rds_set_external_master_with_auto_position('h', 3306, 'repl', 'pw', 0, 0)`}},
		{"rds-mysql:8.4.3", mysqlGTID, []string{`CALL mysql.rds_set_external_source_with_auto_position('h', 3306, 'repl', 'pw', 0, 0)`}},
		{"rds-mariadb:10.11.6", gtid, []string{`CALL mysql.rds_set_external_master_gtid('10.0.0.5', 3306, 'repl', 'pw', '0-1-100', 0)`}},
	}
	for _, c := range cases {
		got, err := MustParse(c.flavor).ChangeSourceSQL(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.flavor, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.flavor, got, c.want)
		}
	}
	// RDS's procedures take no CA: a verifying mode must not silently
	// become an unverified one.
	if _, err := MustParse("rds-mysql:8.0.36").ChangeSourceSQL(verifyCA); err == nil {
		t.Error("ChangeSourceSQL on RDS with a CA to verify against succeeded")
	}
	if _, err := MustParse("mysql:8.0.36").ChangeSourceSQL(Source{Host: "h", Port: 1, User: "u"}); err == nil {
		t.Error("ChangeSourceSQL without coordinates succeeded")
	}
}

func TestReplicationControlSQL_ExactPerFlavor(t *testing.T) {
	cases := []struct {
		flavor                          string
		start, stop, reset, wait, fence string
	}{
		{"mysql:5.7.44", "START SLAVE", "STOP SLAVE", "RESET SLAVE ALL", "SELECT MASTER_POS_WAIT('b.000001', 4, 3)", "SET GLOBAL read_only = ON;SET GLOBAL super_read_only = ON"},
		{"mysql:8.0.36", "START REPLICA", "STOP REPLICA", "RESET REPLICA ALL", "SELECT SOURCE_POS_WAIT('b.000001', 4, 3)", "SET GLOBAL read_only = ON;SET GLOBAL super_read_only = ON"},
		{"mysql:8.4.3", "START REPLICA", "STOP REPLICA", "RESET REPLICA ALL", "SELECT SOURCE_POS_WAIT('b.000001', 4, 3)", "SET GLOBAL read_only = ON;SET GLOBAL super_read_only = ON"},
		{"mariadb:10.11.6", "START SLAVE", "STOP SLAVE", "RESET SLAVE ALL", "SELECT MASTER_POS_WAIT('b.000001', 4, 3)", "SET GLOBAL read_only = ON"},
		{"rds-mysql:8.0.36", "CALL mysql.rds_start_replication", "CALL mysql.rds_stop_replication", "CALL mysql.rds_reset_external_master", "SELECT SOURCE_POS_WAIT('b.000001', 4, 3)", ""},
		{"rds-mysql:8.4.3", "CALL mysql.rds_start_replication", "CALL mysql.rds_stop_replication", "CALL mysql.rds_reset_external_source", "SELECT SOURCE_POS_WAIT('b.000001', 4, 3)", ""},
		{"rds-mariadb:10.11.6", "CALL mysql.rds_start_replication", "CALL mysql.rds_stop_replication", "CALL mysql.rds_reset_external_master", "SELECT MASTER_POS_WAIT('b.000001', 4, 3)", ""},
	}
	for _, c := range cases {
		f := MustParse(c.flavor)
		got := []string{f.StartReplicaSQL(), f.StopReplicaSQL(), f.ResetReplicaSQL(), f.WaitForPositionSQL("b.000001", 4, 2500*time.Millisecond), strings.Join(f.SetReadOnlySQL(true), ";")}
		want := []string{c.start, c.stop, c.reset, c.wait, c.fence}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", c.flavor, got, want)
		}
	}
	if got := MustParse("rds-mysql:8.0.36").KillSQL(42); got != "CALL mysql.rds_kill(42)" {
		t.Errorf("rds kill = %q", got)
	}
	if got := MustParse("mysql:8.0.36").SetReadOnlySQL(false); !reflect.DeepEqual(got, []string{"SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"}) {
		t.Errorf("open = %q", got)
	}
}

func TestQuote_Escapes(t *testing.T) {
	cases := map[string]string{
		"plain":      `'plain'`,
		"it's":       `'it\'s'`,
		`back\slash`: `'back\\slash'`,
		"nul\x00":    `'nul\0'`,
		"a\nb":       `'a\nb'`,
	}
	for in, want := range cases {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := QuoteIdent("we`ird"); got != "`we``ird`" {
		t.Errorf("QuoteIdent = %s", got)
	}
}

package sandbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

func TestUp_TwoInstancesReplicationReady(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 2, Encrypted: []int{2}})
	checkReplicationReady(t, s)
}

func TestUp_MySQLInstancesReplicationReady(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 2, Flavor: sandbox.FlavorMySQL})
	checkReplicationReady(t, s)
	ctx := context.Background()
	c := sandboxtest.Conn(t, s.Instances[0])
	if !c.Flavor.IsMySQL() || !c.Flavor.AtLeast(8, 4, 0) {
		t.Fatalf("flavor %s: want MySQL 8.4 or later", c.Flavor)
	}
	var gtidMode, enforce string
	if err := c.DB.QueryRowContext(ctx, "SELECT @@gtid_mode, @@enforce_gtid_consistency").Scan(&gtidMode, &enforce); err != nil {
		t.Fatal(err)
	}
	if gtidMode != "ON" || enforce != "ON" {
		t.Errorf("gtid_mode %s enforce_gtid_consistency %s, want ON ON", gtidMode, enforce)
	}
	// The admin account can do what dbshift's cutover needs on MySQL.
	var grants []string
	rows, err := c.DB.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		grants = append(grants, g)
	}
	rows.Close()
	all := strings.Join(grants, " ")
	for _, p := range []string{"SUPER", "SYSTEM_VARIABLES_ADMIN", "CONNECTION_ADMIN", "REPLICATION_SLAVE_ADMIN"} {
		if !strings.Contains(all, p) {
			t.Errorf("admin grants lack %s: %s", p, all)
		}
	}
	// A sandbox keeps its flavor.
	if _, err := sandbox.Up(ctx, sandbox.Options{Dir: s.Dir, Instances: 2}); err == nil {
		t.Error("Up as mariadb on a mysql sandbox: no error")
	}
	st, err := sandbox.Load(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Flavor != sandbox.FlavorMySQL || st.Instances[1].Flavor != sandbox.FlavorMySQL {
		t.Errorf("saved flavor %q / %q", st.Flavor, st.Instances[1].Flavor)
	}
}

// checkReplicationReady: distinct server_ids, binlog ROW/FULL, TLS, and
// encryption at rest exactly where asked; a second Up finds them running.
func checkReplicationReady(t *testing.T, s *sandbox.Sandbox) {
	t.Helper()
	ctx := context.Background()
	seen := map[uint32]bool{}
	for _, inst := range s.Instances {
		c, err := dbconn.Open(ctx, dbconn.Spec{Role: inst.Name, DSN: inst.DSN(), Password: inst.Password, TLS: "required"}, nil)
		if err != nil {
			t.Fatalf("open %s: %v", inst.Name, err)
		}
		defer c.Close()
		if c.Flavor.IsMariaDB() != (s.Flavor != sandbox.FlavorMySQL) || c.Flavor.RDS {
			t.Errorf("%s flavor = %s in a %q sandbox", inst.Name, c.Flavor, s.Flavor)
		}
		if seen[c.ServerID] {
			t.Errorf("server_id %d used twice", c.ServerID)
		}
		seen[c.ServerID] = true
		var logBin, format, image, cipher string
		if err := c.DB.QueryRowContext(ctx, "SELECT @@log_bin, @@binlog_format, @@binlog_row_image").Scan(&logBin, &format, &image); err != nil {
			t.Fatal(err)
		}
		if logBin != "1" || format != "ROW" || image != "FULL" {
			t.Errorf("%s binlog = %s %s %s", inst.Name, logBin, format, image)
		}
		var name string
		if err := c.DB.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil {
			t.Fatal(err)
		}
		if cipher == "" {
			t.Errorf("%s: connection not encrypted", inst.Name)
		}
		var enc string
		err = c.DB.QueryRowContext(ctx, "SELECT @@innodb_encrypt_tables").Scan(&enc)
		if inst.Encrypted && (err != nil || enc != "ON") {
			t.Errorf("%s: innodb_encrypt_tables = %q, %v", inst.Name, enc, err)
		}
		if !inst.Encrypted && err == nil && enc != "OFF" {
			t.Errorf("%s: unexpectedly encrypted (%s)", inst.Name, enc)
		}
	}
	// Up again on the same directory finds the running instances.
	again, err := sandbox.Up(ctx, sandbox.Options{Dir: s.Dir, Instances: 2, Flavor: s.Flavor})
	if err != nil {
		t.Fatal(err)
	}
	if again.Instances[0].Port != s.Instances[0].Port {
		t.Errorf("second Up moved db1 from %d to %d", s.Instances[0].Port, again.Instances[0].Port)
	}
	for _, st := range again.Status(ctx) {
		if !st.Running {
			t.Errorf("%s not running", st.Name)
		}
	}
}

func TestUp_RDSModeHasProceduresAndNoSuper(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 1, RDS: true})
	inst := s.Instances[0]
	ctx := context.Background()
	c, err := dbconn.Open(ctx, dbconn.Spec{Role: "rds", DSN: inst.DSN(), Password: inst.Password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Flavor.RDS || inst.AdminUser != "admin" {
		t.Fatalf("flavor %s admin %s: want the RDS variant", c.Flavor, inst.AdminUser)
	}
	_, err = c.DB.ExecContext(ctx, "SET GLOBAL read_only = ON")
	if n := dbconn.ErrorNumber(err); n != 1227 {
		t.Errorf("SET GLOBAL as the RDS admin: error %d (%v), want 1227 access denied", n, err)
	}
	if _, err := c.DB.ExecContext(ctx, "CALL mysql.rds_set_configuration('binlog retention hours', 168)"); err != nil {
		t.Fatal(err)
	}
	var name, desc string
	var value *string
	rows, err := c.DB.QueryContext(ctx, "CALL mysql.rds_show_configuration")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for rows.Next() {
		if err := rows.Scan(&name, &value, &desc); err != nil {
			t.Fatal(err)
		}
		if name == "binlog retention hours" && value != nil && *value == "168" {
			found = true
		}
	}
	rows.Close()
	if !found {
		t.Error("binlog retention hours not 168 after rds_set_configuration")
	}
	_, err = c.DB.ExecContext(ctx, "CALL mysql.rds_set_configuration('no such thing', 1)")
	if err == nil || !strings.Contains(err.Error(), "Invalid configuration name") {
		t.Errorf("bad configuration name: %v", err)
	}
}

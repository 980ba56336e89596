package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Flavors of server a sandbox runs.
const (
	FlavorMariaDB = "mariadb"
	FlavorMySQL   = "mysql"
)

// MySQLEnv names the environment variable that gives the mysqld to run for
// the MySQL flavor: scripts/mysql-from-debian.sh prints a wrapper's path for it.
const MySQLEnv = "DBSHIFT_MYSQLD"

// normFlavor maps "" (sandboxes made before flavors existed) to MariaDB and
// refuses anything else it does not know.
func normFlavor(f string) (string, error) {
	switch f {
	case "", FlavorMariaDB:
		return FlavorMariaDB, nil
	case FlavorMySQL:
		return FlavorMySQL, nil
	}
	return "", fmt.Errorf("sandbox: unknown flavor %q (mariadb, mysql)", f)
}

// MySQLD returns the mysqld the MySQL flavor runs: $DBSHIFT_MYSQLD, else the
// wrapper scripts/mysql-from-debian.sh leaves in its default cache.
func MySQLD() (string, error) {
	if p := os.Getenv(MySQLEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("sandbox: %s=%s: %w", MySQLEnv, p, err)
		}
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "dbshift", "mysql-9.7", "bin", "mysqld")
		if _, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("sandbox: no MySQL server: run scripts/mysql-from-debian.sh and set %s to the path it prints", MySQLEnv)
}

// installMySQL initialises a MySQL data directory. root@localhost gets no
// password: it is reachable only through the instance's own socket, like
// MariaDB's unix_socket root.
func (i *Instance) installMySQL(ctx context.Context) error {
	if err := os.RemoveAll(i.DataDir()); err != nil {
		return err
	}
	tmp := filepath.Join(i.Dir, "tmp")
	log := filepath.Join(i.Dir, "install.log")
	// mysqld refuses to start as root without --user=root, and its compiled-in
	// secure_file_priv (/var/lib/mysql-files) does not exist here.
	args := []string{"--no-defaults", "--initialize-insecure", "--datadir=" + i.DataDir(), "--tmpdir=" + tmp,
		"--secure-file-priv=" + tmp, "--log-error=" + log}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	cmd := exec.CommandContext(ctx, i.bin.server, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		logText, _ := os.ReadFile(log)
		return fmt.Errorf("mysqld --initialize-insecure: %w: %s (full output in %s)", err, errorLines(string(out)+string(logText)), log)
	}
	return nil
}

// mysqlConfig is the [mysqld] section of a MySQL instance: GTIDs on (MySQL's
// replication paths, auto-position included, need them), binlog ROW, the
// sandbox CA's certificate, and small memory settings (a default MySQL 9.7
// takes about 550 MB resident).
func (i *Instance) mysqlConfig(common []string) []string {
	lines := append([]string{"[mysqld]"}, common...)
	return append(lines,
		"gtid_mode=ON",
		"enforce_gtid_consistency=ON",
		"log_replica_updates=ON",
		"binlog_expire_logs_seconds=604800",
		"skip-replica-start",
		"secure-file-priv="+filepath.Join(i.Dir, "tmp"),
		// Every instance would otherwise want the X plugin's port 33060.
		"mysqlx=OFF",
		"innodb_redo_log_capacity=32M",
		"innodb_log_buffer_size=8M",
		"temptable_max_ram=32M",
		"table_open_cache=400",
	)
}

package sandbox

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Instance is one server (mariadbd, or mysqld for the MySQL flavor) of a sandbox.
type Instance struct {
	Num  int    `json:"num"`
	Name string `json:"name"`
	// Flavor is FlavorMariaDB or FlavorMySQL; empty in state files written
	// before flavors existed, which were all MariaDB.
	Flavor    string   `json:"flavor,omitempty"`
	Dir       string   `json:"dir"`
	Port      int      `json:"port"`
	ServerID  uint32   `json:"server_id"`
	Encrypted bool     `json:"encrypted"`
	RDS       bool     `json:"rds"`
	Extra     []string `json:"extra,omitempty"`
	// AdminUser is the account dbshift uses: ALL PRIVILEGES normally, the
	// RDS master user's privileges (no SUPER) in RDS mode.
	AdminUser string `json:"admin_user"`
	// Password is read from PasswordFile; never serialised.
	Password string `json:"-"`

	sandbox string
	bin     binaries
	log     *slog.Logger
}

// binaries are the server and, for MariaDB, the tool that installs a data
// directory (MySQL's server initialises its own).
type binaries struct{ server, installDB string }

func findBinaries(flavor string) (binaries, error) {
	var b binaries
	if flavor == FlavorMySQL {
		p, err := MySQLD()
		b.server = p
		return b, err
	}
	for _, c := range []struct {
		dst   *string
		names []string
	}{
		{&b.server, []string{"mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld"}},
		{&b.installDB, []string{"mariadb-install-db", "/usr/bin/mariadb-install-db", "mysql_install_db"}},
	} {
		for _, n := range c.names {
			if p, err := exec.LookPath(n); err == nil {
				*c.dst = p
				break
			}
		}
		if *c.dst == "" {
			return b, fmt.Errorf("sandbox: %s not found: install the mariadb-server package (make deps does, as root)", c.names[0])
		}
	}
	return b, nil
}

func (i *Instance) DataDir() string      { return filepath.Join(i.Dir, "data") }
func (i *Instance) Socket() string       { return filepath.Join(i.Dir, "mariadbd.sock") }
func (i *Instance) PIDFile() string      { return filepath.Join(i.Dir, "mariadbd.pid") }
func (i *Instance) ConfigFile() string   { return filepath.Join(i.Dir, "my.cnf") }
func (i *Instance) ErrorLog() string     { return filepath.Join(i.Dir, "error.log") }
func (i *Instance) PasswordFile() string { return filepath.Join(i.Dir, "admin.password") }
func (i *Instance) Addr() string         { return net.JoinHostPort("127.0.0.1", strconv.Itoa(i.Port)) }

// DSN is the admin DSN without its password (which is in PasswordFile).
func (i *Instance) DSN() string { return fmt.Sprintf("%s@tcp(%s)/", i.AdminUser, i.Addr()) }

// Start installs the data directory on first use, writes the config and
// starts mariadbd detached (it outlives the dbshift process that started it),
// then waits until it answers.
func (i *Instance) Start(ctx context.Context) error {
	if _, up := i.running(); up {
		if err := i.ping(ctx); err == nil {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Join(i.Dir, "tmp"), 0o700); err != nil {
		return err
	}
	fresh := false
	if _, err := os.Stat(filepath.Join(i.DataDir(), "mysql")); errors.Is(err, os.ErrNotExist) {
		if err := i.install(ctx); err != nil {
			return err
		}
		fresh = true
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if i.Port == 0 || attempt > 0 {
			p, err := freePort()
			if err != nil {
				return err
			}
			i.Port = p
		}
		if err := i.writeConfig(); err != nil {
			return err
		}
		lastErr = i.launch(ctx)
		if lastErr == nil {
			break
		}
		if !strings.Contains(i.tailErrorLog(), "Address already in use") {
			return lastErr
		}
	}
	if lastErr != nil {
		return lastErr
	}
	if fresh {
		if err := i.setup(ctx); err != nil {
			return fmt.Errorf("first-time setup: %w", err)
		}
	}
	if pw, err := os.ReadFile(i.PasswordFile()); err == nil {
		i.Password = string(pw)
	}
	return nil
}

func (i *Instance) isMySQL() bool { return i.Flavor == FlavorMySQL }

func (i *Instance) install(ctx context.Context) error {
	if i.isMySQL() {
		return i.installMySQL(ctx)
	}
	// A private tmpdir: concurrent bootstraps sharing /tmp fail now and then
	// ("Unknown table 'mysql.tmp_user_sys'").
	args := []string{"--no-defaults", "--datadir=" + i.DataDir(), "--tmpdir=" + filepath.Join(i.Dir, "tmp"), "--auth-root-authentication-method=normal", "--skip-test-db"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	var err error
	// One retry on a clean directory, should a bootstrap still fail.
	for attempt := 0; attempt < 2; attempt++ {
		if err = os.RemoveAll(i.DataDir()); err != nil {
			return err
		}
		if err = os.MkdirAll(i.DataDir(), 0o700); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, i.bin.installDB, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, runErr := cmd.CombinedOutput()
		_ = os.WriteFile(filepath.Join(i.Dir, "install.log"), out, 0o600)
		if runErr == nil {
			return nil
		}
		err = fmt.Errorf("mariadb-install-db: %w: %s (full output in %s)", runErr, errorLines(string(out)), filepath.Join(i.Dir, "install.log"))
	}
	return err
}

// errorLines keeps the lines of a tool's output that say what went wrong.
func errorLines(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "ERROR") || strings.Contains(l, "[ERROR]") || strings.Contains(l, "error") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if len(keep) == 0 {
		return lastLines(out, 3)
	}
	return strings.Join(keep, " | ")
}

func (i *Instance) writeConfig() error {
	tlsDir := filepath.Join(i.sandbox, "tls")
	common := []string{
		"datadir=" + i.DataDir(),
		"socket=" + i.Socket(),
		"pid-file=" + i.PIDFile(),
		"log-error=" + i.ErrorLog(),
		"tmpdir=" + filepath.Join(i.Dir, "tmp"),
		"port=" + strconv.Itoa(i.Port),
		"bind-address=127.0.0.1",
		"skip-name-resolve",
		"server-id=" + strconv.FormatUint(uint64(i.ServerID), 10),
		"log-bin=" + filepath.Join(i.DataDir(), "mysql-bin"),
		"binlog_format=ROW",
		"binlog_row_image=FULL",
		"relay-log=" + filepath.Join(i.DataDir(), "relay-bin"),
		// A sandbox is for correctness, not durability across power loss.
		"innodb_flush_log_at_trx_commit=2",
		"sync_binlog=0",
		"innodb_buffer_pool_size=64M",
		"performance_schema=OFF",
		"max_connections=500",
		"ssl-ca=" + filepath.Join(tlsDir, "ca.pem"),
		"ssl-cert=" + filepath.Join(tlsDir, "server-cert.pem"),
		"ssl-key=" + filepath.Join(tlsDir, "server-key.pem"),
	}
	if os.Geteuid() == 0 {
		common = append(common, "user=root")
	}
	var lines []string
	if i.isMySQL() {
		lines = i.mysqlConfig(common)
	} else {
		lines = append([]string{"[mariadbd]"}, common...)
		lines = append(lines,
			"log-slave-updates=ON",
			"expire_logs_days=7",
			"innodb_log_file_size=32M",
			"skip-slave-start",
		)
	}
	if i.Encrypted {
		keys := filepath.Join(i.Dir, "keys.txt")
		if _, err := os.Stat(keys); errors.Is(err, os.ErrNotExist) {
			k := make([]byte, 32)
			if _, err := rand.Read(k); err != nil {
				return err
			}
			if err := os.WriteFile(keys, []byte("1;"+hex.EncodeToString(k)+"\n"), 0o600); err != nil {
				return err
			}
		}
		lines = append(lines,
			"plugin-load-add=file_key_management",
			"file_key_management_filename="+keys,
			"innodb_encrypt_tables=ON",
			"innodb_encrypt_log=ON",
			"innodb_encryption_threads=2",
			"innodb_encrypt_temporary_tables=ON",
			"encrypt_binlog=ON",
			"encrypt_tmp_disk_tables=ON",
			"aria_encrypt_tables=ON",
		)
	}
	lines = append(lines, i.Extra...)
	return os.WriteFile(i.ConfigFile(), []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

func (i *Instance) launch(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(i.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(i.bin.server, "--defaults-file="+i.ConfigFile())
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: the server must survive the dbshift process (sandbox
	// up) and not get the terminal's Ctrl-C.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", i.serverName(), err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	i.log.Debug("sandbox: starting", "instance", i.Name, "port", i.Port, "pid", cmd.Process.Pid)
	err = waitUntil(ctx, 90*time.Second, func() error {
		select {
		case e := <-exited:
			exited <- e
			return errStop{fmt.Errorf("%s exited: %v: %s", i.serverName(), e, lastLines(i.tailErrorLog(), 4))}
		default:
		}
		return openAndPing(ctx, i.Socket())
	})
	var stop errStop
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("%s did not answer: %w: %s", i.serverName(), err, lastLines(i.tailErrorLog(), 4))
	}
	return nil
}

func (i *Instance) serverName() string {
	if i.isMySQL() {
		return "mysqld"
	}
	return "mariadbd"
}

type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

// setup creates the admin account (and the RDS procedures in RDS mode).
func (i *Instance) setup(ctx context.Context) error {
	db, err := openSocket(ctx, i.Socket())
	if err != nil {
		return err
	}
	defer db.Close()
	pw := make([]byte, 18)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	password := hex.EncodeToString(pw)
	var stmts []string
	if i.RDS {
		i.AdminUser = "admin"
		stmts = append(stmts, rdsSetupSQL...)
		stmts = append(stmts,
			"CREATE USER 'admin'@'%' IDENTIFIED BY '"+password+"'",
			"GRANT "+rdsMasterPrivileges+" ON *.* TO 'admin'@'%' WITH GRANT OPTION",
		)
	} else {
		i.AdminUser = "dbshift"
		stmts = append(stmts,
			"CREATE USER 'dbshift'@'%' IDENTIFIED BY '"+password+"'",
			"GRANT ALL PRIVILEGES ON *.* TO 'dbshift'@'%' WITH GRANT OPTION",
		)
	}
	// The setup itself must not reach a replica that clones this server
	// later: it is the server's own bootstrap, so keep it out of the binlog.
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION sql_log_bin = 0"); err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%.60s...: %w", s, err)
		}
	}
	if err := os.WriteFile(i.PasswordFile(), []byte(password), 0o600); err != nil {
		return err
	}
	i.Password = password
	return nil
}

// Stop shuts the server down cleanly and waits for the process to go.
func (i *Instance) Stop(ctx context.Context) error {
	pid, up := i.running()
	if !up {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	err := waitUntil(ctx, 60*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil && !isZombie(pid) {
			return fmt.Errorf("pid %d still running", pid)
		}
		return nil
	})
	if err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return nil
}

// Kill stops the server without a clean shutdown (crash tests).
func (i *Instance) Kill() error {
	pid, up := i.running()
	if !up {
		return nil
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}

func (i *Instance) running() (int, bool) {
	b, err := os.ReadFile(i.PIDFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if syscall.Kill(pid, 0) != nil || isZombie(pid) {
		return pid, false
	}
	return pid, true
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// state is the field after the parenthesised command name.
	s := string(b)
	j := strings.LastIndexByte(s, ')')
	return j > 0 && j+2 < len(s) && s[j+2] == 'Z'
}

func (i *Instance) ping(ctx context.Context) error { return openAndPing(ctx, i.Socket()) }

func (i *Instance) tailErrorLog() string {
	b, _ := os.ReadFile(i.ErrorLog())
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

func openSocket(ctx context.Context, sock string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "unix"
	cfg.Addr = sock
	cfg.Timeout = 5 * time.Second
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openAndPing(ctx context.Context, sock string) error {
	db, err := openSocket(ctx, sock)
	if err != nil {
		return err
	}
	return db.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

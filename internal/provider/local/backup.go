package local

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
)

// server is what mariabackup needs to know about a running server on this
// machine: where its files are and how to log in to it.
type server struct {
	conn     *dbconn.Conn
	user     string
	password string
	datadir  string
	socket   string
	// keyFile is the file_key_management key file when the server encrypts
	// at rest: a copy of its data is unreadable without it.
	keyFile string
}

// describeServer reads @@datadir and @@socket: mariabackup copies the
// server's files directly, so the server must run on this machine.
func describeServer(ctx context.Context, c *dbconn.Conn, password string) (server, error) {
	s := server{conn: c, user: c.User, password: password}
	var sock sql.NullString
	if err := c.DB.QueryRowContext(ctx, "SELECT @@datadir, @@socket").Scan(&s.datadir, &sock); err != nil {
		return s, fmt.Errorf("reading the data directory of %s: %w", c, err)
	}
	s.socket = sock.String
	if _, err := os.Stat(filepath.Join(s.datadir, "mysql")); err != nil {
		return s, fmt.Errorf("%s: data directory %s is not readable here (the local provider needs servers on this machine): %w", c, s.datadir, err)
	}
	var kf sql.NullString
	// The variable exists only with the plugin loaded; its absence means no
	// key file.
	if err := c.DB.QueryRowContext(ctx, "SELECT @@file_key_management_filename").Scan(&kf); err == nil && kf.String != "" {
		s.keyFile = kf.String
	}
	return s, nil
}

// mariabackup runs the mariabackup tool, its diagnostics going to a log file
// next to the directory it works on.
type mariabackup struct {
	bin string
	tmp string // private directory for the short-lived client option file
}

func findMariabackup() (string, error) {
	for _, n := range []string{"mariabackup", "mariadb-backup", "/usr/bin/mariabackup"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("mariabackup not found: install the mariadb-backup package")
}

// backup copies srv's data into dir (which must not exist). fromReplica adds
// --slave-info and --safe-slave-backup so the backup also records the
// coordinates of the replica's source. progress gets 0..99 from the bytes
// copied against the size of the data files.
func (m mariabackup) backup(ctx context.Context, srv server, dir string, fromReplica bool, progress func(int)) error {
	// The password reaches mariabackup through an option file only this
	// user can read, removed as soon as the backup ends: never argv.
	optDir, err := os.MkdirTemp(m.tmp, "mariabackup-")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(optDir)
	opts := []string{"[mariabackup]", "user=" + srv.user, "password=" + srv.password}
	if srv.socket != "" {
		opts = append(opts, "socket="+srv.socket)
	} else {
		opts = append(opts, "host="+srv.conn.Host(), "port="+strconv.Itoa(srv.conn.Port()), "protocol=tcp")
	}
	optFile := filepath.Join(optDir, "client.cnf")
	if err := os.WriteFile(optFile, []byte(strings.Join(opts, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	args := []string{"--defaults-file=" + optFile, "--backup", "--target-dir=" + dir, "--datadir=" + srv.datadir, "--parallel=2",
		// The source's commits wait while the backup holds BLOCK_COMMIT for the
		// redo copier to reach the end of the log; at the default 1 s poll
		// that stalled writes for a full second.
		"--log-copy-interval=50"}
	if fromReplica {
		args = append(args, "--slave-info", "--safe-slave-backup")
	}
	total := dataSize(srv.datadir)
	stop := watchSize(dir, total, progress)
	defer stop()
	return m.run(ctx, "backup", dir+".backup.log", args...)
}

// prepare makes a backup consistent (applies the redo log it copied), so
// the directory is a data directory a server can start on.
func (m mariabackup) prepare(ctx context.Context, dir string) error {
	// backup-my.cnf carries the server's InnoDB layout and, for encrypted
	// data, the key management plugin and key file prepare needs; no other
	// option file (the machine's my.cnf describes another server).
	return m.run(ctx, "prepare", dir+".prepare.log", "--defaults-file="+filepath.Join(dir, "backup-my.cnf"), "--prepare", "--target-dir="+dir)
}

// restore puts a prepared backup into datadir: moved (the backup is gone
// afterwards) or copied (the backup stays, as a snapshot must).
func (m mariabackup) restore(ctx context.Context, backupDir, datadir string, move bool, progress func(int)) error {
	op := "--copy-back"
	if move {
		op = "--move-back"
	}
	stop := watchSize(datadir, dataSize(backupDir), progress)
	defer stop()
	return m.run(ctx, "restore", datadir+".restore.log", "--no-defaults", op, "--target-dir="+backupDir, "--datadir="+datadir)
}

func (m mariabackup) run(ctx context.Context, what, logPath string, args ...string) error {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("mariabackup %s: %w", what, err)
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, m.bin, args...)
	// Dies with dbshift: a resumed step must not race an orphaned backup
	// still writing into the same directory.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mariabackup %s: %w: %s (full log %s)", what, err, errorLines(logPath), logPath)
	}
	return nil
}

// errorLines keeps the lines of a mariabackup log that say what failed.
func errorLines(logPath string) string {
	b, _ := os.ReadFile(logPath)
	var keep []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "ERROR") || strings.Contains(l, "error") || strings.Contains(l, "FATAL") {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	if len(keep) > 3 {
		keep = keep[len(keep)-3:]
	}
	return strings.Join(keep, " | ")
}

// dataSize is the size of the files a backup copies: the data directory
// without binary and relay logs, which mariabackup leaves behind.
func dataSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			return nil
		}
		base := d.Name()
		if strings.HasPrefix(base, "mysql-bin.") || strings.HasPrefix(base, "relay-bin.") || base == "ibtmp1" {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		return nil
	})
	return n
}

// watchSize reports the growth of dir against total until stopped.
func watchSize(dir string, total int64, progress func(int)) (stop func()) {
	if progress == nil || total <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		last := -1
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			pct := int(dataSize(dir) * 100 / total)
			pct = min(pct, 99)
			if pct != last {
				progress(pct)
				last = pct
			}
		}
	}()
	return func() { close(done); <-finished }
}

// readBinlogInfo reads the coordinates mariabackup recorded in the backup:
// the backed-up server's own binlog position at the consistent point
// (xtrabackup_binlog_info: "file<TAB>pos<TAB>gtid").
func readBinlogInfo(dir string) (replication.Coordinates, error) {
	b, err := os.ReadFile(filepath.Join(dir, "xtrabackup_binlog_info"))
	if err != nil {
		return replication.Coordinates{}, fmt.Errorf("reading the backup's binlog coordinates: %w (is log_bin on?)", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return replication.Coordinates{}, fmt.Errorf("xtrabackup_binlog_info in %s: unexpected %q", dir, b)
	}
	pos, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return replication.Coordinates{}, fmt.Errorf("xtrabackup_binlog_info in %s: position %q: %w", dir, f[1], err)
	}
	co := replication.Coordinates{File: f[0], Position: pos}
	if len(f) > 2 {
		co.GTID = f[2]
	}
	return co, nil
}

var (
	slaveFileRe = regexp.MustCompile(`(?i)MASTER_LOG_FILE\s*=\s*'([^']+)'`)
	slavePosRe  = regexp.MustCompile(`(?i)MASTER_LOG_POS\s*=\s*(\d+)`)
	slaveGTIDRe = regexp.MustCompile(`(?i)gtid_slave_pos\s*=\s*'([^']*)'`)
)

// readSlaveInfo reads the coordinates of the source a replica had executed
// up to at the backup's consistent point (--slave-info's
// xtrabackup_slave_info, a CHANGE MASTER statement).
func readSlaveInfo(dir string) (replication.Coordinates, error) {
	b, err := os.ReadFile(filepath.Join(dir, "xtrabackup_slave_info"))
	if err != nil {
		return replication.Coordinates{}, fmt.Errorf("reading the backup's source coordinates: %w (was the server a replica?)", err)
	}
	var co replication.Coordinates
	if m := slaveFileRe.FindSubmatch(b); m != nil {
		co.File = string(m[1])
	}
	if m := slavePosRe.FindSubmatch(b); m != nil {
		co.Position, _ = strconv.ParseUint(string(m[1]), 10, 64)
	}
	if m := slaveGTIDRe.FindSubmatch(b); m != nil {
		co.GTID = string(m[1])
	}
	// A replica using GTID records only gtid_slave_pos; the clone then
	// replicates by GTID.
	if (co.File == "" || co.Position == 0) && co.GTID == "" {
		return co, fmt.Errorf("xtrabackup_slave_info in %s has no coordinates: %q", dir, strings.TrimSpace(string(b)))
	}
	return co, nil
}

// isPrepared reports whether dir holds a prepared full backup.
func isPrepared(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "xtrabackup_checkpoints"))
	if err != nil {
		return fmt.Errorf("%s is not a backup: %w", dir, err)
	}
	// "log-applied" since 10.5's single-step prepare, "full-prepared" before.
	if t := string(b); !strings.Contains(t, "backup_type = log-applied") && !strings.Contains(t, "backup_type = full-prepared") {
		return fmt.Errorf("%s is a backup that was not prepared", dir)
	}
	return nil
}

// copyTree copies a directory tree (a snapshot), reporting progress.
func copyTree(ctx context.Context, src, dst string, p provider.Progress, status string) error {
	total := dataSize(src)
	var done int64
	last := -1
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		n, err := copyFile(path, to)
		if err != nil {
			return err
		}
		done += n
		if p != nil && total > 0 {
			if pct := int(min(done*100/total, 99)); pct != last {
				p(pct, status)
				last = pct
			}
		}
		return nil
	})
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := out.ReadFrom(in)
	if err != nil {
		out.Close()
		return n, fmt.Errorf("copying %s: %w", src, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return n, err
	}
	return n, out.Close()
}

// Package sandbox runs real mariadbd (or, with the MySQL flavor, mysqld)
// instances on loopback ports in a directory of their own, for the tests and
// the demo: binlog in ROW format, unique server_ids, a TLS certificate for
// replication, GTIDs on for MySQL, optional encryption at rest, and an RDS
// mode that installs the mysql.rds_* procedures and an admin account without
// SUPER so the RDS code path runs against a real server.
package sandbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Options describe a sandbox to bring up.
type Options struct {
	Dir       string
	Instances int
	// Flavor is FlavorMariaDB (the default) or FlavorMySQL (the mysqld of
	// MySQLD(): scripts/mysql-from-debian.sh fetches one). A sandbox keeps
	// the flavor it was made with.
	Flavor string
	// Encrypted lists the 1-based instance numbers to start with encryption
	// at rest (file_key_management, innodb_encrypt_tables=ON).
	Encrypted []int
	// RDS installs the mysql.rds_* procedures and an admin account without
	// SUPER on every instance.
	RDS bool
	// Extra config lines ("key=value") added to every instance's [mariadbd].
	Extra []string
	Log   *slog.Logger
}

// Sandbox is a set of instances under one directory.
type Sandbox struct {
	Dir string
	// Flavor of the instances Add creates; empty in sandboxes made before
	// flavors existed (MariaDB).
	Flavor    string `json:"flavor,omitempty"`
	Instances []*Instance
	log       *slog.Logger
	mu        sync.Mutex
}

const stateFile = "sandbox.json"

// Up creates (or finds running) instances in opts.Dir and starts them. It is
// idempotent: instances already recorded in the directory are started if
// they are down and left alone if they are up.
func Up(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.Dir == "" {
		return nil, errors.New("sandbox: a directory is needed")
	}
	if opts.Instances < 1 {
		return nil, errors.New("sandbox: at least one instance")
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	flavor, err := normFlavor(opts.Flavor)
	if err != nil {
		return nil, err
	}
	if flavor == FlavorMySQL && (opts.RDS || len(opts.Encrypted) > 0) {
		return nil, errors.New("sandbox: the mysql flavor has no RDS mode or encryption at rest yet")
	}
	bin, err := findBinaries(flavor)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s, err := Load(dir)
	if errors.Is(err, os.ErrNotExist) {
		s = &Sandbox{Dir: dir, Flavor: flavor}
	} else if err != nil {
		return nil, err
	}
	if have, _ := normFlavor(s.Flavor); have != flavor {
		return nil, fmt.Errorf("sandbox %s holds %s instances, not %s", dir, have, flavor)
	}
	s.log = log
	if err := ensureTLS(filepath.Join(dir, "tls")); err != nil {
		return nil, fmt.Errorf("sandbox: TLS material: %w", err)
	}
	for len(s.Instances) < opts.Instances {
		n := len(s.Instances) + 1
		inst := &Instance{
			Num:       n,
			Name:      fmt.Sprintf("db%d", n),
			Flavor:    flavor,
			Dir:       filepath.Join(dir, fmt.Sprintf("db%d", n)),
			ServerID:  uint32(100 + n),
			Encrypted: slices.Contains(opts.Encrypted, n),
			RDS:       opts.RDS,
			Extra:     opts.Extra,
			sandbox:   dir,
		}
		s.Instances = append(s.Instances, inst)
	}
	for _, inst := range s.Instances {
		inst.bin = bin
		inst.log = log
		if err := inst.Start(ctx); err != nil {
			return s, fmt.Errorf("sandbox %s: %w", inst.Name, err)
		}
		if err := s.save(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Add creates and starts one more instance (the local provider's "new
// instance"): encrypted and RDS as asked. Empty data; callers restore into it.
func (s *Sandbox) Add(ctx context.Context, encrypted, rds bool, extra []string) (*Instance, error) {
	s.mu.Lock()
	n := s.nextNum()
	inst := &Instance{
		Num: n, Name: fmt.Sprintf("db%d", n), Flavor: s.flavor(), Dir: filepath.Join(s.Dir, fmt.Sprintf("db%d", n)),
		ServerID: uint32(100 + n), Encrypted: encrypted, RDS: rds, Extra: extra, sandbox: s.Dir,
	}
	s.Instances = append(s.Instances, inst)
	s.mu.Unlock()
	bin, err := findBinaries(inst.Flavor)
	if err != nil {
		return nil, err
	}
	inst.bin = bin
	inst.log = s.log
	if inst.log == nil {
		inst.log = slog.New(slog.DiscardHandler)
	}
	if err := inst.Start(ctx); err != nil {
		return nil, fmt.Errorf("sandbox %s: %w", inst.Name, err)
	}
	return inst, s.save()
}

// flavor is the sandbox's flavor, MariaDB for sandboxes that predate flavors.
func (s *Sandbox) flavor() string {
	if s.Flavor == "" {
		return FlavorMariaDB
	}
	return s.Flavor
}

// nextNum is one past the highest instance number, so a number (and its
// directory) is never reused after Remove. Callers hold s.mu.
func (s *Sandbox) nextNum() int {
	n := 0
	for _, inst := range s.Instances {
		n = max(n, inst.Num)
	}
	return n + 1
}

// AddPrepared creates and starts one more instance whose data directory fill
// writes (a physical backup's copy-back) instead of mariadb-install-db. The
// data carries its own accounts, so the caller names the admin account the
// data holds and its password, which goes to the instance's password file.
// fill runs before the server starts; it may also place keys.txt in inst.Dir
// (the key file an encrypted instance uses) when the data is already
// encrypted. On failure the half-made instance is removed again.
func (s *Sandbox) AddPrepared(ctx context.Context, encrypted bool, adminUser, password string, extra []string, fill func(inst *Instance) error) (*Instance, error) {
	if err := ensureTLS(filepath.Join(s.Dir, "tls")); err != nil {
		return nil, fmt.Errorf("sandbox: TLS material: %w", err)
	}
	bin, err := findBinaries(s.flavor())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	n := s.nextNum()
	inst := &Instance{
		Num: n, Name: fmt.Sprintf("db%d", n), Flavor: s.flavor(), Dir: filepath.Join(s.Dir, fmt.Sprintf("db%d", n)),
		ServerID: uint32(100 + n), Encrypted: encrypted, Extra: extra, AdminUser: adminUser,
		sandbox: s.Dir, bin: bin, log: s.log,
	}
	s.Instances = append(s.Instances, inst)
	s.mu.Unlock()
	if inst.log == nil {
		inst.log = slog.New(slog.DiscardHandler)
	}
	err = func() error {
		if err := os.MkdirAll(inst.Dir, 0o700); err != nil {
			return err
		}
		if err := fill(inst); err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(inst.DataDir(), "mysql")); err != nil {
			return fmt.Errorf("prepared data directory has no mysql schema: %w", err)
		}
		if err := os.WriteFile(inst.PasswordFile(), []byte(password), 0o600); err != nil {
			return err
		}
		if err := s.save(); err != nil {
			return err
		}
		return inst.Start(ctx)
	}()
	if err != nil {
		if rerr := s.Remove(ctx, inst); rerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the half-made instance: %w", rerr))
		}
		return nil, fmt.Errorf("sandbox %s: %w", inst.Name, err)
	}
	return inst, s.save()
}

// Remove stops an instance, deletes its directory and forgets it.
func (s *Sandbox) Remove(ctx context.Context, inst *Instance) error {
	if err := inst.Stop(ctx); err != nil {
		return fmt.Errorf("stopping %s: %w", inst.Name, err)
	}
	if err := os.RemoveAll(inst.Dir); err != nil {
		return fmt.Errorf("removing %s: %w", inst.Name, err)
	}
	s.mu.Lock()
	s.Instances = slices.DeleteFunc(s.Instances, func(i *Instance) bool { return i.Num == inst.Num })
	s.mu.Unlock()
	return s.save()
}

// Load reads a sandbox's state file.
func Load(dir string) (*Sandbox, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	s := &Sandbox{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("sandbox state %s: %w", dir, err)
	}
	s.Dir = dir
	for _, inst := range s.Instances {
		inst.sandbox = dir
		// Without the binary, Load still serves Status and Down.
		inst.bin, _ = findBinaries(inst.Flavor)
		inst.log = slog.New(slog.DiscardHandler)
		if pw, err := os.ReadFile(inst.PasswordFile()); err == nil {
			inst.Password = string(pw)
		}
	}
	return s, nil
}

func (s *Sandbox) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("sandbox: saving state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(s.Dir, stateFile))
}

// Down stops every instance; with remove it deletes the directory too.
func (s *Sandbox) Down(ctx context.Context, remove bool) error {
	var errs []error
	for _, inst := range s.Instances {
		if err := inst.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", inst.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if remove {
		return os.RemoveAll(s.Dir)
	}
	return nil
}

// Instance returns instance n (1-based).
func (s *Sandbox) Instance(n int) *Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 1 || n > len(s.Instances) {
		return nil
	}
	return s.Instances[n-1]
}

// Status of one instance as sandbox status prints it.
type Status struct {
	Name      string `json:"name"`
	Flavor    string `json:"flavor"`
	Port      int    `json:"port"`
	Running   bool   `json:"running"`
	PID       int    `json:"pid,omitempty"`
	ServerID  uint32 `json:"server_id"`
	Encrypted bool   `json:"encrypted"`
	RDS       bool   `json:"rds"`
	DSN       string `json:"dsn"`
	Password  string `json:"password_file"`
}

// Status reports each instance.
func (s *Sandbox) Status(ctx context.Context) []Status {
	var out []Status
	for _, inst := range s.Instances {
		pid, running := inst.running()
		if running {
			running = inst.ping(ctx) == nil
		}
		fl, _ := normFlavor(inst.Flavor)
		out = append(out, Status{Name: inst.Name, Flavor: fl, Port: inst.Port, Running: running, PID: pid, ServerID: inst.ServerID,
			Encrypted: inst.Encrypted, RDS: inst.RDS, DSN: inst.DSN(), Password: inst.PasswordFile()})
	}
	return out
}

// Root opens a connection to an instance as its local root over the unix
// socket: the sandbox's equivalent of the cloud console (parameter groups,
// restarts), never used by dbshift's own code paths.
func (i *Instance) Root(ctx context.Context) (*sql.DB, error) {
	return openSocket(ctx, i.Socket())
}

func waitUntil(ctx context.Context, d time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = f(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

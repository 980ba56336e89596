// Package local is the provider.Provider of this machine: new instances are
// sandbox mariadbd servers, a replica is a mariabackup clone of the source
// attached at the backup's recorded coordinates, a snapshot is a prepared
// mariabackup directory, and an encrypted target is a server started with
// file_key_management and innodb_encrypt_tables=ON on a copy of that
// snapshot, verified tablespace by tablespace.
//
// Sources must run on this machine: mariabackup reads their data directory.
// What the provider creates is recorded, tagged with run id and role, in
// dbshift-local.json (0600, no secrets) in the sandbox directory, so a
// resumed run reuses it and abort removes exactly it.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/replication"
	"github.com/dbshift/dbshift/internal/sandbox"
)

// Provider creates instances and snapshots under one sandbox directory.
type Provider struct {
	dir    string
	source provider.Instance
	log    *slog.Logger
	mb     mariabackup

	mu sync.Mutex // state file, within the process
	sb *sandbox.Sandbox
	// EncryptTimeout bounds the wait for background encryption of a
	// restored target (Restore and VerifyEncrypted). Default 10 minutes.
	EncryptTimeout time.Duration
	// TLS and TLSCA are the dbconn TLS mode and CA file of every
	// connection the provider opens ("": preferred, the system pool).
	TLS, TLSCA string
}

var _ provider.Provider = (*Provider)(nil)

// New returns the provider for sandboxDir (created when missing; it may be
// the sandbox holding the source or a directory of its own). source is the
// migration's source, a server running on this machine.
func New(sandboxDir string, source provider.Instance, log *slog.Logger) (*Provider, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(sandboxDir)
	if err != nil {
		return nil, err
	}
	bin, err := findMariabackup()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "work"), 0o700); err != nil {
		return nil, fmt.Errorf("local provider: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "snapshots"), 0o700); err != nil {
		return nil, fmt.Errorf("local provider: %w", err)
	}
	p := &Provider{dir: dir, source: source, log: log, mb: mariabackup{bin: bin, tmp: filepath.Join(dir, "work")}, EncryptTimeout: 10 * time.Minute}
	if err := p.loadSandbox(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Provider) loadSandbox() error {
	sb, err := sandbox.Load(p.dir)
	if errors.Is(err, os.ErrNotExist) {
		sb, err = &sandbox.Sandbox{Dir: p.dir}, nil
	}
	if err != nil {
		return fmt.Errorf("local provider: %w", err)
	}
	p.sb = sb
	return nil
}

// Name is "local".
func (p *Provider) Name() string { return "local" }

// Source returns the source instance as given to New.
func (p *Provider) Source(ctx context.Context) (provider.Instance, error) {
	return p.source, nil
}

// passwordOf resolves where an instance's password comes from.
func passwordOf(inst provider.Instance) (string, error) {
	switch {
	case inst.PasswordFile != "":
		b, err := os.ReadFile(inst.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("reading the password file of %s: %w", inst.ID, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case inst.PasswordEnv != "":
		return os.Getenv(inst.PasswordEnv), nil
	}
	cfg, _, err := dbconn.ParseDSN(inst.DSN)
	if err != nil {
		return "", err
	}
	return cfg.Passwd, nil
}

// open connects to inst as its admin user.
func (p *Provider) open(ctx context.Context, inst provider.Instance, role string) (*dbconn.Conn, string, error) {
	pw, err := passwordOf(inst)
	if err != nil {
		return nil, "", err
	}
	c, err := dbconn.Open(ctx, dbconn.Spec{Role: role, DSN: inst.DSN, Password: pw, TLS: p.TLS, TLSCA: p.TLSCA}, p.log)
	return c, pw, err
}

// openServer connects to inst and finds its files for mariabackup.
func (p *Provider) openServer(ctx context.Context, inst provider.Instance, role string) (server, error) {
	c, pw, err := p.open(ctx, inst, role)
	if err != nil {
		return server{}, err
	}
	srv, err := describeServer(ctx, c, pw)
	if err != nil {
		c.Close()
	}
	return srv, err
}

func (p *Provider) sandboxInstance(name string) *sandbox.Instance {
	find := func() *sandbox.Instance {
		for _, i := range p.sb.Instances {
			if i.Name == name {
				return i
			}
		}
		return nil
	}
	if i := find(); i != nil {
		return i
	}
	// Another dbshift process may have added it since we loaded.
	if err := p.loadSandbox(); err == nil {
		return find()
	}
	return nil
}

func (p *Provider) toInstance(ctx context.Context, r resource) provider.Instance {
	out := provider.Instance{ID: r.ID, Role: r.role(), Encrypted: r.Encrypted, Status: r.Status}
	if r.Status == statusCreating {
		out.Status = StatusIncomplete
	}
	si := p.sandboxInstance(r.Instance)
	if si == nil {
		if out.Status == statusAvailable {
			out.Status = "missing"
		}
		return out
	}
	out.Addr, out.DSN, out.PasswordFile = si.Addr(), si.DSN(), si.PasswordFile()
	if out.Status == statusAvailable {
		for _, st := range p.sb.Status(ctx) {
			if st.Name == si.Name && !st.Running {
				out.Status = "stopped"
			}
		}
	}
	return out
}

func toSnapshot(r resource) provider.Snapshot {
	s := provider.Snapshot{ID: r.ID, Role: r.role(), Source: r.Source, Encrypted: r.Encrypted, KeyID: r.KeyID, Status: r.Status, Location: r.Dir}
	if r.Status == statusCreating {
		s.Status = StatusIncomplete
	}
	return s
}

// FindInstance returns the run's instance with that role. An instance an
// interrupted call left half made has Status "incomplete".
func (p *Provider) FindInstance(ctx context.Context, runID, role string) (provider.Instance, bool, error) {
	r, ok, err := p.lookup(kindInstance, byRunRole(runID, role))
	if err != nil || !ok {
		return provider.Instance{}, false, err
	}
	return p.toInstance(ctx, r), true, nil
}

// FindSnapshot returns the run's snapshot with that role.
func (p *Provider) FindSnapshot(ctx context.Context, runID, role string) (provider.Snapshot, bool, error) {
	r, ok, err := p.lookup(kindSnapshot, byRunRole(runID, role))
	if err != nil || !ok {
		return provider.Snapshot{}, false, err
	}
	return toSnapshot(r), true, nil
}

// DeleteInstance stops the instance and removes its directory. Only
// instances this provider created can be deleted (never the source).
func (p *Provider) DeleteInstance(ctx context.Context, inst provider.Instance) error {
	r, ok, err := p.lookup(kindInstance, byID(inst.ID))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("deleting instance %s: %w (not created by this provider)", inst.ID, provider.ErrNotFound)
	}
	if err := p.removeInstance(ctx, r); err != nil {
		return fmt.Errorf("deleting instance %s: %w", inst.ID, err)
	}
	if err := p.drop(kindInstance, r.ID); err != nil {
		return err
	}
	return p.dropCloneUserIfUnused(ctx)
}

func (p *Provider) removeInstance(ctx context.Context, r resource) error {
	if si := p.sandboxInstance(r.Instance); si != nil {
		if err := p.sb.Remove(ctx, si); err != nil {
			return err
		}
	} else if r.Dir != "" && strings.HasPrefix(r.Dir, p.dir+string(os.PathSeparator)) {
		// Recorded but never saved in the sandbox (crash in between).
		if err := os.RemoveAll(r.Dir); err != nil {
			return err
		}
	}
	return os.RemoveAll(p.workDir(r.ID))
}

// DeleteSnapshot removes the snapshot's directory.
func (p *Provider) DeleteSnapshot(ctx context.Context, snap provider.Snapshot) error {
	r, ok, err := p.lookup(kindSnapshot, byID(snap.ID))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("deleting snapshot %s: %w", snap.ID, provider.ErrNotFound)
	}
	if err := os.RemoveAll(r.Dir); err != nil {
		return fmt.Errorf("deleting snapshot %s: %w", snap.ID, err)
	}
	_ = os.Remove(keyFileOf(r.Dir))
	_ = os.Remove(r.Dir + ".backup.log")
	_ = os.Remove(r.Dir + ".prepare.log")
	return p.drop(kindSnapshot, r.ID)
}

// keyFileOf is where a snapshot of encrypted data keeps the key it needs.
func keyFileOf(snapDir string) string { return snapDir + ".keys.txt" }

func (p *Provider) workDir(id string) string { return filepath.Join(p.dir, "work", id) }

func (p *Provider) snapshotDir(id string) string { return filepath.Join(p.dir, "snapshots", id) }

// begin returns an existing complete resource with that ID (done=true), or
// clears a half-made one and records the new one as creating.
func (p *Provider) begin(ctx context.Context, kind, id, runID, role string) (resource, bool, error) {
	if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
		return resource{}, false, fmt.Errorf("bad resource id %q", id)
	}
	r, ok, err := p.lookup(kind, byID(id))
	if err != nil {
		return r, false, err
	}
	if ok && r.Status == statusAvailable {
		if r.runID() != runID {
			return r, false, fmt.Errorf("%s %s already exists for run %s", kind, id, r.runID())
		}
		return r, true, nil
	}
	if ok {
		p.log.Info("removing what an interrupted call left", "kind", kind, "id", id)
		if kind == kindInstance {
			err = p.removeInstance(ctx, r)
		} else {
			err = os.RemoveAll(r.Dir)
		}
		if err != nil {
			return r, false, fmt.Errorf("removing half-made %s %s: %w", kind, id, err)
		}
	}
	r = resource{Kind: kind, ID: id, Tags: tags(runID, role), Status: statusCreating, Created: time.Now().UTC()}
	if kind == kindSnapshot {
		r.Dir = p.snapshotDir(id)
	}
	return r, false, p.put(r)
}

// newInstance makes a sandbox instance whose data directory is the prepared
// backup in backupDir (moved, or copied when keep), records it, starts it
// and forgets any replication configuration the data brought along.
func (p *Provider) newInstance(ctx context.Context, r *resource, backupDir string, keep bool, keyFile string, extra []string, progress func(int)) (*sandbox.Instance, *dbconn.Conn, error) {
	cfg, _, err := dbconn.ParseDSN(p.source.DSN)
	if err != nil {
		return nil, nil, err
	}
	pw, err := passwordOf(p.source)
	if err != nil {
		return nil, nil, err
	}
	sc, _, err := p.open(ctx, p.source, "source")
	if err != nil {
		return nil, nil, err
	}
	sourceID := sc.ServerID
	sc.Close()
	// The data carries the source's mysql.user: its admin account and
	// password are the new instance's.
	si, err := p.sb.AddPrepared(ctx, r.Encrypted, cfg.User, pw, extra, func(si *sandbox.Instance) error {
		r.Instance, r.Dir = si.Name, si.Dir
		// The sandbox numbers server_ids per directory; the source may live
		// in another sandbox with the same numbers, and replication refuses
		// equal ids.
		si.ServerID = serverIDBase + uint32(si.Num)
		if si.ServerID == sourceID {
			si.ServerID += serverIDBase
		}
		if err := p.put(*r); err != nil {
			return err
		}
		if keyFile != "" {
			// Data already encrypted by its origin needs that key to be read.
			if _, err := copyFile(keyFile, filepath.Join(si.Dir, "keys.txt")); err != nil {
				return fmt.Errorf("copying the key file: %w", err)
			}
		}
		return p.mb.restore(ctx, backupDir, si.DataDir(), !keep, progress)
	})
	if err != nil {
		return nil, nil, err
	}
	inst := provider.Instance{ID: r.ID, DSN: si.DSN(), PasswordFile: si.PasswordFile()}
	c, _, err := p.open(ctx, inst, r.role())
	if err != nil {
		return si, nil, err
	}
	if err := replication.Reset(ctx, c); err != nil {
		c.Close()
		return si, nil, err
	}
	return si, c, nil
}

// serverIDBase keeps the provider's server_ids apart from sandbox sources'
// (100+n).
const serverIDBase = 20000

// sourceKeyFile is the key file an encrypted server's data needs; empty for
// unencrypted servers.
func sourceKeyFile(srv server) string { return srv.keyFile }

// CreateReplica clones the source with mariabackup into a new unencrypted
// instance (encrypted, with the source's key, when the source is), attaches
// it at the backup's recorded coordinates and returns once both replication
// threads run. Calling it again with the same ID returns the same replica.
func (p *Provider) CreateReplica(ctx context.Context, req provider.ReplicaRequest, prog provider.Progress) (provider.Instance, error) {
	r, done, err := p.begin(ctx, kindInstance, req.ID, req.RunID, provider.RoleTempReplica)
	if err != nil {
		return provider.Instance{}, fmt.Errorf("creating replica %s: %w", req.ID, err)
	}
	if done {
		return p.ensureStarted(ctx, r)
	}
	if req.Source.DSN != "" && req.Source.DSN != p.source.DSN {
		// The clone carries the source's accounts and replicates from it;
		// another server would need a provider of its own.
		return provider.Instance{}, fmt.Errorf("creating replica %s: the local provider replicates its source %s, not %s", req.ID, p.source.ID, req.Source.ID)
	}
	inst, _, err := p.clone(ctx, &r, p.source, false, nil, nil, prog, "replica")
	if err != nil {
		return inst, fmt.Errorf("creating replica %s: %w", req.ID, err)
	}
	return inst, nil
}

func (p *Provider) ensureStarted(ctx context.Context, r resource) (provider.Instance, error) {
	si := p.sandboxInstance(r.Instance)
	if si == nil {
		return provider.Instance{}, fmt.Errorf("instance %s (%s) is recorded but gone from the sandbox", r.ID, r.Instance)
	}
	if err := si.Start(ctx); err != nil {
		return provider.Instance{}, fmt.Errorf("starting %s: %w", r.ID, err)
	}
	return p.toInstance(ctx, r), nil
}

// clone backs up from (the source, or a replica of it when fromReplica),
// restores the backup into the new instance r and replicates it from the
// source at the backup's coordinates. onCoords, when set, gets the
// coordinates the moment they are read (before anything else happens), so a
// caller can journal them.
func (p *Provider) clone(ctx context.Context, r *resource, from provider.Instance, fromReplica bool, extra []string, onCoords func(replication.Coordinates) error, prog provider.Progress, what string) (provider.Instance, replication.Coordinates, error) {
	report := func(pct int, status string) {
		if prog != nil {
			prog(pct, status)
		}
	}
	var co replication.Coordinates
	srv, err := p.openServer(ctx, from, "clone-from")
	if err != nil {
		return provider.Instance{}, co, err
	}
	defer srv.conn.Close()
	srcConn, _, err := p.open(ctx, p.source, "source")
	if err != nil {
		return provider.Instance{}, co, err
	}
	defer srcConn.Close()
	if srv.keyFile != "" {
		r.Encrypted = true
	}

	work := p.workDir(r.ID)
	if err := os.RemoveAll(work); err != nil {
		return provider.Instance{}, co, err
	}
	backupDir := filepath.Join(work, "backup")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return provider.Instance{}, co, err
	}
	report(0, "backing up "+from.ID)
	if err := p.mb.backup(ctx, srv, backupDir, fromReplica, func(pct int) { report(pct*7/10, "backing up "+from.ID) }); err != nil {
		return provider.Instance{}, co, err
	}
	if fromReplica {
		co, err = readSlaveInfo(backupDir)
	} else {
		co, err = readBinlogInfo(backupDir)
	}
	if err != nil {
		return provider.Instance{}, co, err
	}
	p.log.Info("backup taken", "of", from.ID, "source_coordinates", co.String())
	if onCoords != nil {
		if err := onCoords(co); err != nil {
			return provider.Instance{}, co, err
		}
	}
	report(70, "preparing the backup")
	if err := p.mb.prepare(ctx, backupDir); err != nil {
		return provider.Instance{}, co, err
	}
	report(75, "starting the "+what)
	si, c, err := p.newInstance(ctx, r, backupDir, false, sourceKeyFile(srv), extra, func(pct int) { report(75+pct/10, "restoring the backup") })
	if err != nil {
		return provider.Instance{}, co, err
	}
	defer c.Close()
	if r.Encrypted {
		report(85, "waiting for encryption")
		if _, err := p.waitEncrypted(ctx, c, func(st provider.EncryptionStatus) { report(85, st.Detail) }); err != nil {
			return provider.Instance{}, co, err
		}
	}
	report(90, "attaching to the source at "+co.String())
	if _, err := replication.Setup(ctx, srcConn, c, replication.SetupOptions{From: co, UseGTID: co.File == "", ReplUser: cloneReplUser}); err != nil {
		return provider.Instance{}, co, fmt.Errorf("attaching %s to the source: %w", si.Name, err)
	}
	r.Status = statusAvailable
	if err := p.put(*r); err != nil {
		return provider.Instance{}, co, err
	}
	_ = os.RemoveAll(work)
	report(100, what+" replicating")
	return p.toInstance(ctx, *r), co, nil
}

// Snapshot takes a prepared physical backup of of (a replica the caller has
// stopped, so the snapshot holds exactly the captured coordinates) into a
// directory of the sandbox. The same ID again returns the same snapshot.
func (p *Provider) Snapshot(ctx context.Context, runID, id string, of provider.Instance, prog provider.Progress) (provider.Snapshot, error) {
	r, done, err := p.begin(ctx, kindSnapshot, id, runID, provider.RoleSnapshot)
	if err != nil || done {
		return toSnapshot(r), err
	}
	r.Source = of.ID
	snap, err := p.snapshot(ctx, &r, of, prog)
	if err != nil {
		return snap, fmt.Errorf("snapshot %s of %s: %w", id, of.ID, err)
	}
	return snap, nil
}

func (p *Provider) snapshot(ctx context.Context, r *resource, of provider.Instance, prog provider.Progress) (provider.Snapshot, error) {
	srv, err := p.openServer(ctx, of, "snapshot-of")
	if err != nil {
		return provider.Snapshot{}, err
	}
	defer srv.conn.Close()
	st, err := replication.ReadStatus(ctx, srv.conn)
	if err != nil {
		return provider.Snapshot{}, err
	}
	if st.Configured && (st.IORunning == "Yes" || st.SQLRunning == "Yes") {
		// A snapshot of a replica still applying would hold a point later
		// than the coordinates the caller captured.
		return provider.Snapshot{}, fmt.Errorf("%s still replicates: stop it with replication.StopAndCapture first", of.ID)
	}
	if srv.keyFile != "" {
		r.Encrypted = true
	}
	if err := os.RemoveAll(r.Dir); err != nil {
		return provider.Snapshot{}, err
	}
	report := func(pct int, s string) {
		if prog != nil {
			prog(pct, s)
		}
	}
	if err := p.mb.backup(ctx, srv, r.Dir, false, func(pct int) { report(pct*9/10, "copying "+of.ID) }); err != nil {
		return provider.Snapshot{}, err
	}
	report(90, "preparing")
	if err := p.mb.prepare(ctx, r.Dir); err != nil {
		return provider.Snapshot{}, err
	}
	if srv.keyFile != "" {
		// Next to the snapshot, not in it: a copy-back must not put the key
		// into the data directory.
		if _, err := copyFile(srv.keyFile, keyFileOf(r.Dir)); err != nil {
			return provider.Snapshot{}, err
		}
	}
	r.Status = statusAvailable
	if err := p.put(*r); err != nil {
		return provider.Snapshot{}, err
	}
	report(100, "snapshot ready")
	return toSnapshot(*r), nil
}

// CopyEncrypted is the local analogue of an RDS snapshot copy with a KMS
// key: a plain copy of the snapshot directory, marked Encrypted with keyID
// recorded. The bytes of the copy are NOT encrypted (no server runs on a
// snapshot to encrypt it); encryption at rest happens when Restore starts
// the target with file_key_management and innodb_encrypt_tables=ON, and
// VerifyEncrypted proves it on the running target. keyID is a label here:
// the target's key is generated by the sandbox (keys.txt, 0600, in the
// target's directory), unless the snapshot's data is already encrypted (its
// origin was), in which case the key it needs travels with it.
func (p *Provider) CopyEncrypted(ctx context.Context, runID, id string, snap provider.Snapshot, keyID string, prog provider.Progress) (provider.Snapshot, error) {
	r, done, err := p.begin(ctx, kindSnapshot, id, runID, provider.RoleEncryptedCopy)
	if err != nil || done {
		return toSnapshot(r), err
	}
	if err := isPrepared(snap.Location); err != nil {
		return provider.Snapshot{}, fmt.Errorf("copying snapshot %s: %w", snap.ID, err)
	}
	r.Source, r.KeyID, r.Encrypted = snap.ID, keyID, true
	if err := p.put(r); err != nil {
		return provider.Snapshot{}, err
	}
	if err := os.RemoveAll(r.Dir); err != nil {
		return provider.Snapshot{}, err
	}
	if err := copyTree(ctx, snap.Location, r.Dir, prog, "copying "+snap.ID); err != nil {
		return provider.Snapshot{}, fmt.Errorf("copying snapshot %s: %w", snap.ID, err)
	}
	if _, err := os.Stat(keyFileOf(snap.Location)); err == nil {
		if _, err := copyFile(keyFileOf(snap.Location), keyFileOf(r.Dir)); err != nil {
			return provider.Snapshot{}, fmt.Errorf("copying snapshot %s: %w", snap.ID, err)
		}
	}
	r.Status = statusAvailable
	if err := p.put(r); err != nil {
		return provider.Snapshot{}, err
	}
	if prog != nil {
		prog(100, "copy ready")
	}
	return toSnapshot(r), nil
}

// Restore creates the target from a snapshot: a new instance whose data
// directory is a copy of the snapshot, encrypted at rest when asked or when
// the snapshot is an encrypted copy (file_key_management,
// innodb_encrypt_tables=ON, encrypted redo log, binlog and temporary files,
// as the sandbox's encrypted instances). It starts it, forgets any
// replication configuration the data brought, and for an encrypted target
// waits until background encryption has covered every tablespace.
// InstanceClass has no local meaning and is ignored; EngineVersion must
// match the installed mariadbd; Parameters become config lines.
func (p *Provider) Restore(ctx context.Context, snap provider.Snapshot, req provider.TargetRequest, prog provider.Progress) (provider.Instance, error) {
	r, done, err := p.begin(ctx, kindInstance, req.ID, req.RunID, provider.RoleTarget)
	if err != nil {
		return provider.Instance{}, fmt.Errorf("restoring %s: %w", req.ID, err)
	}
	if done {
		return p.ensureStarted(ctx, r)
	}
	inst, err := p.restore(ctx, &r, snap, req, prog)
	if err != nil {
		return inst, fmt.Errorf("restoring %s from %s: %w", req.ID, snap.ID, err)
	}
	return inst, nil
}

func (p *Provider) restore(ctx context.Context, r *resource, snap provider.Snapshot, req provider.TargetRequest, prog provider.Progress) (provider.Instance, error) {
	if err := isPrepared(snap.Location); err != nil {
		return provider.Instance{}, err
	}
	if err := checkEngineVersion(ctx, req.EngineVersion); err != nil {
		return provider.Instance{}, err
	}
	if req.InstanceClass != "" {
		p.log.Info("local provider: instance class has no meaning here, ignored", "class", req.InstanceClass)
	}
	report := func(pct int, s string) {
		if prog != nil {
			prog(pct, s)
		}
	}
	r.Source = snap.ID
	r.Encrypted = req.Encrypted || snap.Encrypted
	keyFile := keyFileOf(snap.Location)
	if _, err := os.Stat(keyFile); err != nil {
		keyFile = ""
	}
	_, c, err := p.newInstance(ctx, r, snap.Location, true, keyFile, parameterLines(req.Parameters), func(pct int) { report(pct*7/10, "restoring "+snap.ID) })
	if err != nil {
		return provider.Instance{}, err
	}
	defer c.Close()
	if r.Encrypted {
		report(70, "encrypting tablespaces")
		if _, err := p.waitEncrypted(ctx, c, func(st provider.EncryptionStatus) {
			pct := 70
			if st.Total > 0 {
				pct += 29 * st.Done / st.Total
			}
			report(pct, st.Detail)
		}); err != nil {
			return provider.Instance{}, err
		}
	}
	r.Status = statusAvailable
	if err := p.put(*r); err != nil {
		return provider.Instance{}, err
	}
	report(100, "target available")
	return p.toInstance(ctx, *r), nil
}

func parameterLines(params map[string]string) []string {
	var out []string
	for k, v := range params {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// checkEngineVersion refuses a version this machine cannot start: the local
// provider has one mariadbd.
func checkEngineVersion(ctx context.Context, want string) error {
	if want == "" {
		return nil
	}
	bin, err := exec.LookPath("mariadbd")
	if err != nil {
		bin = "/usr/sbin/mariadbd"
	}
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("reading the mariadbd version: %w", err)
	}
	// "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu ..."
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "Ver" && i+1 < len(f) {
			if have := f[i+1]; strings.HasPrefix(have, want) {
				return nil
			} else {
				return fmt.Errorf("engine version %s asked, but this machine runs mariadbd %s", want, have)
			}
		}
	}
	return fmt.Errorf("cannot read the mariadbd version from %q", strings.TrimSpace(string(out)))
}

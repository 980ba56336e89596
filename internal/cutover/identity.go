package cutover

import (
	"context"
	"fmt"
	"strconv"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
)

// stepServers is the journal's first entry: which servers the cutover is
// about. Resume, open-writes and rollback act only on those servers: an
// audit resumed a db1->db2 journal with the roles swapped and got two
// writable servers (db1 reset and opened, db2 never fenced).
const stepServers = "servers"

// Identity tells one server from another whatever address reaches it: a
// DSN can name a server by another host name, a proxy or an endpoint RDS
// moved, so the address is recorded to be shown, not compared.
type Identity struct {
	Addr     string // host:port as dialed (shown only)
	UUID     string // @@server_uuid; MariaDB has none
	ServerID uint32 // @@server_id
	Hostname string // @@hostname
	Port     int    // @@port
	// Instance is the RDS instance id where the caller knows it; compared
	// when both sides have one (a blue/green switchover renames instances,
	// so that strategy leaves it empty).
	Instance string
}

// ReadIdentity asks the server who it is.
func ReadIdentity(ctx context.Context, c *dbconn.Conn) (Identity, error) {
	id := Identity{Addr: c.Addr}
	if err := c.DB.QueryRowContext(ctx, "SELECT @@server_id, @@hostname, @@port").Scan(&id.ServerID, &id.Hostname, &id.Port); err != nil {
		return id, fmt.Errorf("reading the identity of %s: %w", c, err)
	}
	if c.Flavor.IsMySQL() {
		if err := c.DB.QueryRowContext(ctx, "SELECT @@server_uuid").Scan(&id.UUID); err != nil {
			return id, fmt.Errorf("reading the server_uuid of %s: %w", c, err)
		}
	}
	return id, nil
}

// Same says whether a and b are one server: the same server_uuid where
// both have one, else the same server_id, host name and port (replication
// needs distinct server_ids, so two servers of one topology never match).
func (a Identity) Same(b Identity) bool {
	if a.Instance != "" && b.Instance != "" && a.Instance != b.Instance {
		return false
	}
	if a.UUID != "" && b.UUID != "" {
		return a.UUID == b.UUID
	}
	return a.ServerID == b.ServerID && a.Hostname == b.Hostname && a.Port == b.Port
}

func (a Identity) String() string {
	s := fmt.Sprintf("%s (server_id %d, %s:%d", a.Addr, a.ServerID, a.Hostname, a.Port)
	if a.UUID != "" {
		s += ", server_uuid " + a.UUID
	}
	if a.Instance != "" {
		s += ", RDS instance " + a.Instance
	}
	return s + ")"
}

func (a Identity) data(prefix string) map[string]string {
	return map[string]string{
		prefix + "addr": a.Addr, prefix + "uuid": a.UUID, prefix + "server_id": strconv.FormatUint(uint64(a.ServerID), 10),
		prefix + "hostname": a.Hostname, prefix + "port": strconv.Itoa(a.Port), prefix + "instance": a.Instance,
	}
}

func identityFrom(d map[string]string, prefix string) Identity {
	sid, _ := strconv.ParseUint(d[prefix+"server_id"], 10, 32)
	port, _ := strconv.Atoi(d[prefix+"port"])
	return Identity{Addr: d[prefix+"addr"], UUID: d[prefix+"uuid"], ServerID: uint32(sid), Hostname: d[prefix+"hostname"], Port: port, Instance: d[prefix+"instance"]}
}

// WrongServersError says the servers given are not the ones the journal
// is about; nothing was changed. The CLI exits 2 on it.
type WrongServersError struct {
	Role             string // "source" or "target"
	Journaled, Given Identity
	// Unrecorded: the journal names no servers at all.
	Unrecorded bool
}

func (e *WrongServersError) Error() string {
	if e.Unrecorded {
		return "the journal names no servers (written by an older dbshift): it cannot be proven to be about these servers, so nothing was changed; if it is, resume with --adopt-journal (it asks first), or start a new cutover in a fresh state directory"
	}
	return fmt.Sprintf("the journal's %s is %s, but the %s given is %s: this journal is about other servers (or the roles are swapped); nothing was changed", e.Role, e.Journaled, e.Role, e.Given)
}

// RecordServers journals the identity of both servers as the journal's
// first entry, with purpose ("cutover", or "rollback" for a cutover back
// over reverse replication).
func RecordServers(ctx context.Context, j *journal.Journal, source, target *dbconn.Conn, purpose string) error {
	return recordServers(ctx, j, source, target, purpose, [2]string{})
}

// recordServers is RecordServers with the RDS instance ids (source,
// target) where known.
func recordServers(ctx context.Context, j *journal.Journal, source, target *dbconn.Conn, purpose string, instances [2]string) error {
	s, err := ReadIdentity(ctx, source)
	if err != nil {
		return err
	}
	t, err := ReadIdentity(ctx, target)
	if err != nil {
		return err
	}
	s.Instance, t.Instance = instances[0], instances[1]
	if s.Same(t) {
		return &WrongServersError{Role: "target", Journaled: s, Given: t}
	}
	d := s.data("source_")
	for k, v := range t.data("target_") {
		d[k] = v
	}
	d["purpose"] = purpose
	return j.Append(stepServers, "data", d)
}

// JournaledServers returns the servers and purpose the journal is about;
// ok is false when it records none.
func JournaledServers(j *journal.Journal) (source, target Identity, purpose string, ok bool) {
	e, ok := j.Last(stepServers, "data")
	if !ok {
		return Identity{}, Identity{}, "", false
	}
	return identityFrom(e.Data, "source_"), identityFrom(e.Data, "target_"), e.Data["purpose"], true
}

// CheckServers refuses, before anything is touched, servers that are not
// the journal's: source and target each, either may be nil (open-writes
// has no source). An empty journal passes: there is nothing to act on.
func CheckServers(ctx context.Context, j *journal.Journal, source, target *dbconn.Conn) error {
	return checkServers(ctx, j, source, target, [2]string{})
}

// checkServers is CheckServers with the RDS instance ids (source, target)
// where known.
func checkServers(ctx context.Context, j *journal.Journal, source, target *dbconn.Conn, instances [2]string) error {
	if len(j.Entries()) == 0 {
		return nil
	}
	js, jt, _, ok := JournaledServers(j)
	if !ok {
		return &WrongServersError{Unrecorded: true}
	}
	for i, m := range []struct {
		role string
		want Identity
		c    *dbconn.Conn
	}{{"source", js, source}, {"target", jt, target}} {
		if m.c == nil {
			continue
		}
		got, err := ReadIdentity(ctx, m.c)
		if err != nil {
			return err
		}
		got.Instance = instances[i]
		if !m.want.Same(got) {
			return &WrongServersError{Role: m.role, Journaled: m.want, Given: got}
		}
	}
	return nil
}

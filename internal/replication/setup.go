package replication

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/flavor"
)

// SetupOptions say how to attach a target to a source.
type SetupOptions struct {
	From     Coordinates // File+Position, or GTID
	UseGTID  bool        // start from From.GTID rather than file:pos
	ReplUser string      // default "dbshift_repl"
	// ReplHost is the account's host pattern on the source; default the
	// target's address.
	ReplHost string
	// SourceAddr is host:port the target uses to reach the source, when it
	// differs from the address dbshift dialed.
	SourceAddr string
	// TLS is a dbconn TLS mode ("" is preferred, "off" disabled).
	TLS string
	// TLSCA is the CA file the target's server process reads to verify
	// the source under verify-ca/verify-identity: a path on the target's
	// machine, not dbshift's.
	TLSCA        string
	StartTimeout time.Duration
}

// SetupResult is what Setup did.
type SetupResult struct {
	SourceHost string      `json:"source_host"`
	SourcePort int         `json:"source_port"`
	From       Coordinates `json:"from"`
	UseGTID    bool        `json:"use_gtid"`
	TLS        bool        `json:"tls"`
	TLSMode    string      `json:"tls_mode"`
	TLSCA      string      `json:"tls_ca,omitempty"`
	ReplUser   string      `json:"repl_user"`
	ReadOnly   string      `json:"target_read_only"`
	Status     Status      `json:"status"`
}

// Actions lists what Setup will change, for the confirmation prompt.
func (o SetupOptions) Actions(source, target *dbconn.Conn) []string {
	o = o.withDefaults(target)
	from := o.From.File + ":" + strconv.FormatUint(o.From.Position, 10)
	if o.UseGTID {
		from = "GTID " + o.From.GTID
	}
	caNote := ""
	if o.TLSCA != "" {
		caNote = ", CA file on the target's machine: " + o.TLSCA
	}
	return []string{
		fmt.Sprintf("create or re-key replication user '%s'@'%s' (REPLICATION SLAVE, REPLICATION CLIENT) on %s", o.ReplUser, o.ReplHost, source),
		fmt.Sprintf("set %s read-only", target),
		fmt.Sprintf("point %s at the source from %s and start replication (TLS %s%s)", target, from, o.TLS, caNote),
	}
}

func (o SetupOptions) withDefaults(target *dbconn.Conn) SetupOptions {
	if o.ReplUser == "" {
		o.ReplUser = "dbshift_repl"
	}
	if o.ReplHost == "" {
		o.ReplHost = target.Host()
	}
	if o.TLS == "" {
		o.TLS = "preferred"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	return o
}

// Setup creates the replication account on the source, fences the target
// read-only, points it at the source from exactly the given coordinates and
// starts replication, confirming both threads run. Every check comes before
// the first change (a target that replicates or holds a stopped replica
// configuration, an account name that belongs to an admin, an account that
// requires a client certificate, a REQUIRE SSL that would be dropped), and
// a failure after the first change undoes what was done: the account it
// created is dropped, read_only is put back, the replica configuration it
// made is reset. A re-keyed existing account keeps its new password: the
// old one is not known. Whether another replica logs in with that account
// is not checked (a just-stopped replica looks the same on the source).
func Setup(ctx context.Context, source, target *dbconn.Conn, o SetupOptions) (res SetupResult, err error) {
	o = o.withDefaults(target)
	res = SetupResult{From: o.From, UseGTID: o.UseGTID}
	host, port := source.Host(), source.Port()
	if o.SourceAddr != "" {
		h, p, err := net.SplitHostPort(o.SourceAddr)
		if err != nil {
			return res, fmt.Errorf("--source-addr %q: want HOST:PORT", o.SourceAddr)
		}
		host = h
		if port, err = strconv.Atoi(p); err != nil {
			return res, fmt.Errorf("--source-addr %q: bad port", o.SourceAddr)
		}
	}
	res.SourceHost, res.SourcePort = host, port
	if !o.UseGTID {
		if err := CheckCoordinates(ctx, source, o.From); err != nil {
			return res, err
		}
	} else if o.From.GTID == "" {
		return res, fmt.Errorf("no GTID set to start from")
	}
	offers, err := OffersTLS(ctx, source)
	if err != nil {
		return res, err
	}
	mode, err := dbconn.ParseTLSMode(o.TLS)
	if err != nil {
		return res, err
	}
	res.TLSMode = mode
	switch mode {
	case dbconn.TLSDisabled:
	case dbconn.TLSPreferred:
		res.TLS = offers
	default:
		if !offers {
			return res, fmt.Errorf("%s offers no TLS and --tls %s was given: configure ssl_cert/ssl_key on it or use --tls preferred", source, mode)
		}
		res.TLS = true
	}
	if err := CheckReplicaTLS(mode, o.TLSCA, target); err != nil {
		return res, err
	}
	if dbconn.TLSVerifies(mode) {
		res.TLSCA = o.TLSCA
	}
	if !res.TLS && target.Flavor.RDS && target.Flavor.IsMySQL() && target.Flavor.AtLeast(8, 4, 0) {
		// RDS documents that replication users on caching_sha2_password
		// (8.4's default) need SOURCE_SSL=1 through its procedures.
		return res, fmt.Errorf("%s is RDS for MySQL 8.4: replication into it needs TLS, and %s offers none or --tls off was given", target, source)
	}
	// Every check before anything changes.
	st, err := ReadStatus(ctx, target)
	if err != nil {
		return res, err
	}
	if st.Configured && (st.IORunning == "Yes" || st.IORunning == "Connecting" || st.SQLRunning == "Yes") {
		return res, fmt.Errorf("%s already replicates from %s:%d (IO %s, SQL %s); nothing was changed: stop it first (dbshift replicate stop)", target, st.SourceHost, st.SourcePort, st.IORunning, st.SQLRunning)
	}
	if st.Configured {
		// A failed start could not put a replaced configuration back
		// (passwords, positions): the operator clears it knowingly.
		return res, fmt.Errorf("%s holds a stopped replica configuration (source %s:%d); nothing was changed: remove it first with dbshift replicate reset if it is no longer needed", target, st.SourceHost, st.SourcePort)
	}
	wasReadOnly, err := ReadOnly(ctx, target)
	if err != nil {
		return res, err
	}
	existing, err := checkAccount(ctx, source, o.ReplUser, o.ReplHost, res.TLS, o.TLS)
	if err != nil {
		return res, err
	}

	// Acting from here on: a failure undoes, newest first, what was done.
	var undo []func(context.Context) error
	defer func() {
		if err == nil {
			return
		}
		// A fresh context: an interrupted setup must still be undone.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](uctx); uerr != nil {
				err = fmt.Errorf("%w; undoing: %v", err, uerr)
			}
		}
	}()
	acct, err := ensureUser(ctx, source, o.ReplUser, o.ReplHost, res.TLS, existing)
	if err != nil {
		return res, err
	}
	if acct.Created {
		undo = append(undo, func(ctx context.Context) error { return DropUser(ctx, source, acct.User, acct.Host) })
	}
	res.ReplUser = fmt.Sprintf("'%s'@'%s'", acct.User, acct.Host)
	switch err = SetReadOnly(ctx, target, true); err {
	case nil:
		res.ReadOnly = "set"
		if !wasReadOnly {
			undo = append(undo, func(ctx context.Context) error { return SetReadOnly(ctx, target, false) })
		}
	case ErrRDSReadOnly:
		res.ReadOnly = "parameter group: read_only=" + strconv.FormatBool(wasReadOnly)
		err = nil
	default:
		return res, err
	}
	src := flavor.Source{Host: host, Port: port, User: acct.User, Password: acct.Password, TLS: res.TLS,
		TLSCA: res.TLSCA, TLSVerifyIdentity: res.TLS && mode == dbconn.TLSVerifyIdentity}
	if o.UseGTID {
		src.GTID = o.From.GTID
	} else {
		src.File, src.Pos = o.From.File, o.From.Position
	}
	if err = Configure(ctx, target, src); err != nil {
		return res, err
	}
	undo = append(undo, func(ctx context.Context) error { return Reset(ctx, target) })
	if res.Status, err = Start(ctx, target, o.StartTimeout); err != nil && res.TLSCA != "" && strings.Contains(err.Error(), "SSL") {
		err = fmt.Errorf("%w (--tls %s: the target's server verifies %s against %s, a file it reads on its own machine)", err, mode, source, res.TLSCA)
	}
	return res, err
}

// CheckReplicaTLS refuses a replication TLS mode the replica cannot
// honour, so callers that set replication up late (a cutover's reverse
// replication, after the point of no return) can refuse it up front:
// verify-ca/verify-identity need a CA file for the replica's server to
// read, and RDS's replication procedures take none.
func CheckReplicaTLS(mode, caFile string, replica *dbconn.Conn) error {
	mode, err := dbconn.ParseTLSMode(mode)
	if err != nil || !dbconn.TLSVerifies(mode) {
		return err
	}
	switch {
	case caFile == "":
		return fmt.Errorf("--tls %s for replication needs a CA file for the server of %s to verify its source with: give --tls-ca (or --repl-tls-ca, a path on that server's machine)", mode, replica)
	case replica.Flavor.RDS:
		return fmt.Errorf("%s is RDS: its replication procedures take no CA, so replication into it can be encrypted but not verified; use --tls required", replica)
	}
	return nil
}

// CheckCoordinates verifies that file:pos lies inside a binlog the source
// still has, so a wrong or purged position fails before anything changes.
func CheckCoordinates(ctx context.Context, source *dbconn.Conn, co Coordinates) error {
	if co.File == "" || co.Position < 4 {
		return fmt.Errorf("no coordinates to start from: give --from FILE:POS or --from-gtid SET")
	}
	logs, err := BinaryLogs(ctx, source)
	if err != nil {
		return err
	}
	if len(logs) == 0 {
		return fmt.Errorf("%s has no binary logs", source)
	}
	for _, l := range logs {
		if l.Name == co.File {
			if co.Position > l.Size {
				return fmt.Errorf("position %d is past the end of %s on %s (%d bytes)", co.Position, co.File, source, l.Size)
			}
			return nil
		}
	}
	return fmt.Errorf("%s has no binlog %s (it has %s .. %s): the position is wrong or the file was purged", source, co.File, logs[0].Name, logs[len(logs)-1].Name)
}

// OffersTLS reports whether the server accepts TLS connections.
func OffersTLS(ctx context.Context, c *dbconn.Conn) (bool, error) {
	if c.TLS {
		return true, nil // dbconn.Open read the session's cipher
	}
	var name, v string
	err := c.DB.QueryRowContext(ctx, "SHOW GLOBAL VARIABLES LIKE 'have_ssl'").Scan(&name, &v)
	if err != nil {
		// MySQL 8.4 dropped have_ssl; a TLS-less session then means no TLS.
		return false, nil
	}
	return v == "YES", nil
}

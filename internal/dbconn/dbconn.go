// Package dbconn is the only place dbshift opens server connections: it
// parses the DSN, takes the password from the environment or a file (never
// argv), pins session settings, negotiates TLS, detects the flavor and
// redacts the password from everything it prints.
package dbconn

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dbshift/dbshift/internal/flavor"
)

// Spec says how to reach one server.
type Spec struct {
	// Role names the server in every message: "source", "target", "replica".
	Role string
	// DSN is either the driver form user[:pass]@tcp(host:port)/db?params or
	// a URL mysql://user[:pass]@host:port/db. A password in it is accepted,
	// redacted everywhere and warned about.
	DSN string
	// Password, when set, wins over everything (callers inside the process
	// such as the sandbox); PasswordFile next, then the environment
	// variable DBSHIFT_<ROLE>_PASSWORD, then the DSN.
	Password     string
	PasswordFile string
	// TLS is a mode (TLSDisabled .. TLSVerifyIdentity; "" is preferred,
	// "off" an alias of disabled). TLSCA is the PEM file of the CA(s) the
	// verify modes trust; empty: the system pool.
	TLS   string
	TLSCA string
	// KeepSessionDefaults skips pinning sql_mode/time_zone: replay wants the
	// server's and the recorded session's own settings.
	KeepSessionDefaults bool
	// MaxOpen bounds the pool (0: the driver's default).
	MaxOpen int
	// Dial, when set, opens the network connections in place of the
	// driver's dialer: DialSendOnRead for replay's load test.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Conn is an open pool to one server, with what dbshift learnt on connect.
type Conn struct {
	DB     *sql.DB
	Flavor flavor.Flavor
	Role   string
	Addr   string // host:port as dialed
	User   string
	// ServerID and Hostname identify the server itself (@@server_id,
	// @@hostname) so two DSNs for one server are caught.
	ServerID uint32
	Hostname string
	// TLS: the session is encrypted (the server reports an Ssl_cipher).
	TLS bool
	cfg *mysql.Config
}

// Error is a failure to reach or log in to a server; the CLI maps it to
// exit code 2.
type Error struct {
	Role string
	Addr string
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Role, e.Addr, e.Err)
}
func (e *Error) Unwrap() error { return e.Err }

// Open connects, pings and detects the flavor. log may be nil.
func Open(ctx context.Context, spec Spec, log *slog.Logger) (*Conn, error) {
	if spec.Role == "" {
		spec.Role = "server"
	}
	cfg, dsnHadPassword, err := ParseDSN(spec.DSN)
	if err != nil {
		return nil, &Error{Role: spec.Role, Addr: "(dsn)", Err: err}
	}
	pw, src, err := password(spec, cfg.Passwd)
	if err != nil {
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: err}
	}
	if dsnHadPassword && src == "dsn" && log != nil {
		log.Warn("password given inside the DSN; it may show in shell history and process listings, prefer "+EnvVar(spec.Role)+" or --"+spec.Role+"-password-file", "server", spec.Role)
	}
	cfg.Passwd = pw
	cfg.Timeout = 5 * time.Second
	cfg.ParseTime = true
	cfg.InterpolateParams = true
	cfg.MultiStatements = false
	cfg.DialFunc = spec.Dial
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if !spec.KeepSessionDefaults {
		// A known session: UTC timestamps, and a sql_mode without
		// NO_BACKSLASH_ESCAPES so flavor.Quote's escaping holds.
		cfg.Params["time_zone"] = "'+00:00'"
		cfg.Params["sql_mode"] = "'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'"
	}
	mode, err := ParseTLSMode(spec.TLS)
	if err != nil {
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: err}
	}
	if cfg.TLS, cfg.AllowFallbackToPlaintext, err = tlsConfig(mode, spec.TLSCA, cfg.Addr); err != nil {
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: err}
	}
	if cfg.TLS == nil {
		cfg.TLSConfig = "false"
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: err}
	}
	db := sql.OpenDB(connector)
	if spec.MaxOpen > 0 {
		db.SetMaxOpenConns(spec.MaxOpen)
		db.SetMaxIdleConns(spec.MaxOpen)
	}
	db.SetConnMaxLifetime(time.Hour)
	c := &Conn{DB: db, Role: spec.Role, Addr: cfg.Addr, User: cfg.User, cfg: cfg}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: describeTLS(describe(err), mode, spec.TLSCA)}
	}
	if c.TLS, err = sessionEncrypted(ctx, db); err != nil {
		db.Close()
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: err}
	}
	switch {
	case !c.TLS && mode != TLSDisabled && mode != TLSPreferred:
		// The driver refuses this already; never trust that alone.
		db.Close()
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: fmt.Errorf("the session is not encrypted and --tls %s was given", mode)}
	case !c.TLS && mode == TLSPreferred && log != nil:
		log.Warn("TLS preferred but the server offered none: this connection is in plaintext (passwords and data readable on the network); --tls required or verify-identity refuses instead",
			"server", spec.Role+" "+cfg.Addr)
	}
	var version, comment string
	var basedir sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT @@version, @@version_comment, @@server_id, @@hostname, @@basedir").Scan(&version, &comment, &c.ServerID, &c.Hostname, &basedir); err != nil {
		db.Close()
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: fmt.Errorf("reading server version: %w", err)}
	}
	f, err := flavor.Parse(version, comment)
	if err != nil {
		db.Close()
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: err}
	}
	f.RDS, err = detectRDS(ctx, db, basedir.String)
	if err != nil {
		db.Close()
		return nil, &Error{Role: spec.Role, Addr: cfg.Addr, Err: fmt.Errorf("detecting RDS: %w", err)}
	}
	c.Flavor = f
	return c, nil
}

// detectRDS: RDS installs its binaries under /rdsdbbin and ships the
// mysql.rds_* procedures; the sandbox's --rds mode installs the procedures,
// so either marks the RDS code path.
func detectRDS(ctx context.Context, db *sql.DB, basedir string) (bool, error) {
	if strings.HasPrefix(basedir, "/rdsdbbin") {
		return true, nil
	}
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'mysql' AND ROUTINE_NAME = 'rds_set_external_master'").Scan(&n)
	return n > 0, err
}

// String names the server without secrets: "source dbshift@127.0.0.1:3307".
func (c *Conn) String() string { return fmt.Sprintf("%s %s@%s", c.Role, c.User, c.Addr) }

// Host and Port of the dialed address.
func (c *Conn) Host() string { h, _, _ := net.SplitHostPort(c.Addr); return h }
func (c *Conn) Port() int {
	_, p, _ := net.SplitHostPort(c.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Close closes the pool.
func (c *Conn) Close() error { return c.DB.Close() }

// EnvVar is the environment variable holding a role's password.
func EnvVar(role string) string {
	return "DBSHIFT_" + strings.ToUpper(strings.ReplaceAll(role, "-", "_")) + "_PASSWORD"
}

func password(spec Spec, fromDSN string) (pw, source string, err error) {
	switch {
	case spec.Password != "":
		return spec.Password, "spec", nil
	case spec.PasswordFile != "":
		b, err := os.ReadFile(spec.PasswordFile)
		if err != nil {
			return "", "", fmt.Errorf("reading password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), "file", nil
	}
	if v, ok := os.LookupEnv(EnvVar(spec.Role)); ok {
		return v, "env", nil
	}
	return fromDSN, "dsn", nil
}

// Local says whether the DSN reaches a server on this machine (loopback
// address, localhost or a Unix socket). A malformed DSN is not local.
func Local(dsn string) bool {
	cfg, _, err := ParseDSN(dsn)
	if err != nil {
		return false
	}
	if cfg.Net == "unix" {
		return true
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host = cfg.Addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseDSN accepts the driver's DSN form or a mysql:// URL and defaults the
// address to 127.0.0.1:3306. It reports whether the DSN carried a password.
func ParseDSN(dsn string) (*mysql.Config, bool, error) {
	if dsn == "" {
		return nil, false, errors.New("empty DSN")
	}
	if strings.HasPrefix(dsn, "mysql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, false, fmt.Errorf("parsing DSN URL: %w", redactURLError(err))
		}
		cfg := mysql.NewConfig()
		cfg.Net = "tcp"
		cfg.User = u.User.Username()
		pw, has := u.User.Password()
		cfg.Passwd = pw
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "3306")
		}
		cfg.Addr = host
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		return cfg, has, nil
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, false, fmt.Errorf("parsing DSN: %w", err)
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:3306"
	}
	return cfg, cfg.Passwd != "", nil
}

func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New("malformed mysql:// URL")
	}
	return err
}

// Redact returns the DSN with any password replaced, for messages.
func Redact(dsn string) string {
	cfg, has, err := ParseDSN(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	if has {
		cfg.Passwd = "xxxxx"
	}
	return cfg.User + "@" + cfg.Addr + "/" + cfg.DBName
}

// describe turns driver errors into a sentence that tells the operator what
// to do. Classified by MySQL error number, not message text.
func describe(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045:
			return fmt.Errorf("access denied: check the user and the password (env var or --*-password-file): %w", err)
		case 1044, 1049:
			return fmt.Errorf("database not accessible: %w", err)
		case 1129, 1130:
			return fmt.Errorf("host not allowed to connect: %w", err)
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, mysql.ErrInvalidConn) {
		return fmt.Errorf("cannot reach the server: %w", err)
	}
	if strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("cannot reach the server: %w", err)
	}
	return err
}

// ErrorNumber returns the MySQL error number inside err, or 0.
func ErrorNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

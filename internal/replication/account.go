package replication

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/flavor"
)

// Account is a replication user on the source.
type Account struct {
	User string
	Host string
	// Password is generated, handed to the replica in CHANGE MASTER and
	// nowhere else.
	Password string `json:"-"`
	TLS      bool
	// Created: the account did not exist before; undoing drops it.
	Created bool `json:"-"`
}

// existingAccount is what the source already holds under the replication
// account's user@host.
type existingAccount struct {
	exists  bool
	sslType string // mysql.user.ssl_type: "" (REQUIRE NONE), ANY (SSL), X509, SPECIFIED
}

// replicationPrivileges are the privileges a replication account may hold
// on *.*: anything else means the name belongs to someone else's account.
// MariaDB 10.5+ shows REPLICATION CLIENT as BINLOG MONITOR and accepts
// REPLICATION REPLICA for REPLICATION SLAVE.
var replicationPrivileges = map[string]bool{
	"USAGE": true, "REPLICATION SLAVE": true, "REPLICATION REPLICA": true,
	"REPLICATION CLIENT": true, "BINLOG MONITOR": true,
}

// checkAccount refuses, before anything changes, a replication account name
// that would take over another account: any account of that user name (on
// any host: a new user@host shadows user@'%' for connections from host)
// holding more than replication privileges, an account requiring a client
// certificate (X509, ISSUER/SUBJECT/CIPHER), and an account requiring TLS
// when replication would run without it. An existing replication-only
// account is re-keyed: another replica logging in with it from a matching
// host would be cut off at its next reconnect (a stale Binlog Dump thread
// of a replica just stopped looks the same on the source, so that is not
// checked: use one --repl-user per replica).
func checkAccount(ctx context.Context, source *dbconn.Conn, user, host string, tls bool, mode string) (existingAccount, error) {
	var acct existingAccount
	rows, err := source.DB.QueryContext(ctx, "SELECT Host, ssl_type FROM mysql.user WHERE User = ?", user)
	if err != nil {
		return acct, fmt.Errorf("looking up accounts named %s on %s: %w", flavor.Quote(user), source, err)
	}
	var hosts []string
	for rows.Next() {
		var h, ssl string
		if err := rows.Scan(&h, &ssl); err != nil {
			rows.Close()
			return acct, fmt.Errorf("looking up accounts named %s on %s: %w", flavor.Quote(user), source, err)
		}
		hosts = append(hosts, h)
		if h == host {
			acct = existingAccount{exists: true, sslType: ssl}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return acct, fmt.Errorf("looking up accounts named %s on %s: %w", flavor.Quote(user), source, err)
	}
	for _, h := range hosts {
		grants, err := showGrants(ctx, source, user, h)
		if err != nil {
			return acct, err
		}
		if extra := extraPrivileges(grants); len(extra) > 0 {
			return acct, fmt.Errorf("account %s@%s on %s has privileges beyond replication (%s): refusing to use it as the replication account (its password would be replaced); choose another --repl-user",
				flavor.Quote(user), flavor.Quote(h), source, strings.Join(extra, "; "))
		}
	}
	if !acct.exists {
		return acct, nil
	}
	if acct.sslType == "X509" || acct.sslType == "SPECIFIED" {
		// dbshift sets no MASTER_SSL_CERT/KEY: a re-keyed account that
		// wants a client certificate could never log in.
		return acct, fmt.Errorf("account %s@%s on %s requires a client certificate (REQUIRE %s) and dbshift gives the replica none: refusing to re-key it; choose another --repl-user",
			flavor.Quote(user), flavor.Quote(host), source, requireName(acct.sslType))
	}
	if !tls && acct.sslType != "" {
		return acct, fmt.Errorf("account %s@%s on %s requires TLS (REQUIRE %s) and replication would run without it (--tls %s): refusing to drop that requirement; use --tls required or stronger",
			flavor.Quote(user), flavor.Quote(host), source, requireName(acct.sslType), mode)
	}
	return acct, nil
}

// requireName turns mysql.user.ssl_type into the REQUIRE clause's word.
func requireName(sslType string) string {
	switch sslType {
	case "ANY":
		return "SSL"
	case "SPECIFIED":
		return "ISSUER/SUBJECT/CIPHER"
	}
	return sslType
}

func showGrants(ctx context.Context, c *dbconn.Conn, user, host string) ([]string, error) {
	rows, err := c.DB.QueryContext(ctx, "SHOW GRANTS FOR "+flavor.Quote(user)+"@"+flavor.Quote(host))
	if err != nil {
		return nil, fmt.Errorf("reading the grants of %s@%s on %s: %w", flavor.Quote(user), flavor.Quote(host), c, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("reading the grants of %s@%s on %s: %w", flavor.Quote(user), flavor.Quote(host), c, err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// extraPrivileges lists what SHOW GRANTS lines give beyond replication:
// other privileges, any privilege on a narrower object, GRANT OPTION,
// roles, proxies. Only privilege names and objects are returned: the lines
// themselves may carry a password hash.
func extraPrivileges(grants []string) []string {
	seen := map[string]bool{}
	for _, g := range grants {
		if !strings.HasPrefix(g, "GRANT ") {
			// SET DEFAULT ROLE ... and the like.
			seen[strings.Join(strings.Fields(g)[:min(3, len(strings.Fields(g)))], " ")] = true
			continue
		}
		rest := strings.TrimPrefix(g, "GRANT ")
		on := strings.Index(rest, " ON ")
		to := strings.Index(rest, " TO ")
		if on < 0 || (to >= 0 && to < on) {
			seen["role "+strings.TrimSpace(rest[:max(0, to)])] = true
			continue
		}
		object := rest[on+len(" ON "):]
		if i := strings.Index(object, " TO "); i >= 0 {
			object = object[:i]
		}
		// One parser of privilege lists with compat's checks: a column
		// list holds commas too ("SELECT (a, b)").
		for _, p := range flavor.GrantPrivileges(g) {
			if object != "*.*" || !replicationPrivileges[p] {
				seen[p+" ON "+object] = true
			}
		}
		if strings.Contains(g, "WITH GRANT OPTION") {
			seen["GRANT OPTION"] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ensureUser creates the least-privilege replication account on the
// source, or gives the existing one (checked by checkAccount) a new
// password; either way the caller gets a password that works and was
// never shown. An existing account keeps its REQUIRE clause: REQUIRE SSL is
// never dropped (checkAccount refused the certificate-requiring ones).
func ensureUser(ctx context.Context, source *dbconn.Conn, user, host string, requireTLS bool, existing existingAccount) (Account, error) {
	pw, err := GeneratePassword(32)
	if err != nil {
		return Account{}, err
	}
	acct := Account{User: user, Host: host, Password: pw, TLS: requireTLS, Created: !existing.exists}
	stmts := source.Flavor.CreateReplicationUserSQL(user, host, pw, requireTLS)
	if existing.exists {
		alter := "ALTER USER " + flavor.Quote(user) + "@" + flavor.Quote(host) + " IDENTIFIED BY " + flavor.Quote(pw)
		if requireTLS && existing.sslType == "" {
			alter += " REQUIRE SSL"
		}
		stmts = []string{alter, stmts[1]}
	}
	for i, s := range stmts {
		if _, err := source.DB.ExecContext(ctx, s); err != nil {
			err = fmt.Errorf("creating replication user %s@%s on %s: %w", flavor.Quote(user), flavor.Quote(host), source, redactErr(err, pw))
			if i > 0 && acct.Created {
				if derr := DropUser(ctx, source, user, host); derr != nil {
					err = fmt.Errorf("%w; undoing: %v", err, derr)
				}
			}
			return acct, err
		}
	}
	return acct, nil
}

// DropUser removes the replication account (abort, cleanup).
func DropUser(ctx context.Context, source *dbconn.Conn, user, host string) error {
	if _, err := source.DB.ExecContext(ctx, "DROP USER IF EXISTS "+flavor.Quote(user)+"@"+flavor.Quote(host)); err != nil {
		return fmt.Errorf("dropping %s@%s on %s: %w", user, host, source, err)
	}
	return nil
}

const pwAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.~"

// GeneratePassword returns n characters from crypto/rand.
func GeneratePassword(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(pwAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generating a password: %w", err)
		}
		b[i] = pwAlphabet[k.Int64()]
	}
	return string(b), nil
}

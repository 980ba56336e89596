package compat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dbshift/dbshift/internal/flavor"
	"github.com/go-sql-driver/mysql"
)

// mariadbOnlyPrivileges are privileges MariaDB grants that MySQL does not
// know under that name, with what to grant on MySQL instead. A GRANT copied
// from the source fails on the target with a syntax error.
var mariadbOnlyPrivileges = map[string]string{
	"BINLOG MONITOR":           "REPLICATION CLIENT",
	"SLAVE MONITOR":            "REPLICATION CLIENT",
	"REPLICA MONITOR":          "REPLICATION CLIENT",
	"REPLICATION MASTER ADMIN": "REPLICATION SLAVE (SHOW REPLICAS)",
	"REPLICATION SLAVE ADMIN":  "REPLICATION_SLAVE_ADMIN",
	"BINLOG ADMIN":             "BINLOG_ADMIN",
	"BINLOG REPLAY":            "BINLOG_ADMIN or REPLICATION_APPLIER",
	"CONNECTION ADMIN":         "CONNECTION_ADMIN",
	"READ_ONLY ADMIN":          "CONNECTION_ADMIN (writes while read_only=ON)",
	"SET USER":                 "SET_USER_ID on 8.0, SET_ANY_DEFINER on 8.4",
	"FEDERATED ADMIN":          "SUPER (CREATE SERVER); no privilege of its own",
	"DELETE HISTORY":           "nothing: MySQL has no system-versioned tables",
	"SHOW CREATE ROUTINE":      "SHOW_ROUTINE",
}

// grants reads SHOW GRANTS for an account. MariaDB roles have an empty host
// and are named alone.
func (e *liveEnv) grants(ctx context.Context, a account) ([]string, error) {
	q := "SHOW GRANTS FOR " + flavor.Quote(a.user) + "@" + flavor.Quote(a.host)
	if a.host == "" && e.src.MariaDB {
		q = "SHOW GRANTS FOR " + flavor.Quote(a.user)
	}
	var out []string
	err := e.rows(ctx, q, nil, func(r *sql.Rows) error {
		var line string
		if err := r.Scan(&line); err != nil {
			return err
		}
		out = append(out, line)
		return nil
	})
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1141 {
		// "There is no such grant defined": an account row without any
		// privilege, not even USAGE.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the grants of %s: %w", a, err)
	}
	return out, nil
}

func checkInvalidPrivileges(ctx context.Context, e *liveEnv) ([]Finding, error) {
	accts, err := e.accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, a := range accts {
		lines, err := e.grants(ctx, a)
		if err != nil {
			return nil, err
		}
		held := map[string]bool{}
		for _, l := range lines {
			for _, p := range flavor.GrantPrivileges(l) {
				held[p] = true
			}
		}
		var unknown, repl []string
		if e.src.MariaDB {
			for p := range held {
				if r, ok := mariadbOnlyPrivileges[p]; ok {
					unknown = append(unknown, p)
					repl = append(repl, p+" -> "+r)
				}
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			sort.Strings(repl)
			f := e.f(a.String(), len(unknown), "granted %s, which MySQL does not have: a copied GRANT fails; grant instead %s", strings.Join(unknown, ", "), strings.Join(repl, "; "))
			f.Severity = SevWarning
			out = append(out, f)
		}
		if held["SET_USER_ID"] && e.target == Target84 {
			out = append(out, e.f(a.String(), 1, "granted SET_USER_ID, which 8.4 removed; the upgrade replaces it with SET_ANY_DEFINER and ALLOW_NONEXISTENT_DEFINER, check that this is what the account needs"))
		}
		if held["SUPER"] {
			out = append(out, e.f(a.String(), 1, "granted SUPER, deprecated since 8.0 and removed in 9.0; grant the dynamic privileges the account uses (SYSTEM_VARIABLES_ADMIN, CONNECTION_ADMIN, REPLICATION_SLAVE_ADMIN, BINLOG_ADMIN, ...)"))
		}
	}
	return out, nil
}

// deprecatedAuthPlugins are the plugins MySQL deprecated (8.0) or dropped (8.4).
var deprecatedAuthPlugins = []string{"mysql_native_password", "sha256_password", "authentication_fido"}

func checkDefaultAuthPlugin(ctx context.Context, e *liveEnv) ([]Finding, error) {
	var out []Finding
	if v, ok := e.vars["default_authentication_plugin"]; ok && isOneOf(v, deprecatedAuthPlugins) {
		// On 5.7 mysql_native_password is the compiled default: the
		// variable is not in any option file, and 8.0 simply changes it.
		if !(strings.EqualFold(v, "mysql_native_password") && e.src.before("8.0")) {
			msg := fmt.Sprintf("default_authentication_plugin=%s: new accounts get a deprecated plugin", v)
			if e.target == Target84 {
				msg = fmt.Sprintf("default_authentication_plugin=%s: 8.4 removed the variable (an option file that sets it stops the server) and new accounts get caching_sha2_password", v)
			}
			out = append(out, e.f("default_authentication_plugin", 1, "%s", msg))
		}
	}
	if v, ok := e.vars["authentication_policy"]; ok {
		var bad []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); isOneOf(p, deprecatedAuthPlugins) {
				bad = append(bad, p)
			}
		}
		if len(bad) > 0 {
			out = append(out, e.f("authentication_policy", 1, "authentication_policy=%s names %s, deprecated (and not loaded by default in 8.4)", v, strings.Join(bad, ", ")))
		}
	}
	return out, nil
}

func checkDeprecatedAuthPlugins(ctx context.Context, e *liveEnv) ([]Finding, error) {
	accts, err := e.accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, a := range accts {
		switch a.plugin {
		case "sha256_password":
			msg := "account uses sha256_password, deprecated since 8.0.16; MySQL Shell's upgrade checker blocks the 8.4 upgrade on it"
			if e.target == Target80 {
				msg = "account uses sha256_password, deprecated since 8.0.16"
			}
			out = append(out, e.f(a.String(), 1, "%s", msg))
		case "authentication_fido":
			f := e.f(a.String(), 1, "account uses authentication_fido, which 8.4 replaced with authentication_webauthn")
			if e.target == Target80 {
				f.Severity = SevNotice
				f.Message = "account uses authentication_fido, deprecated since 8.2 and gone in 8.4"
			}
			out = append(out, f)
		}
	}
	return out, nil
}

package compat

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
)

// liveEnv is what a live check reads: one connection to the source, what
// the source is, the target, the schemas in scope and the global variables.
type liveEnv struct {
	conn    *sql.Conn
	src     Version
	target  Target
	schemas []string
	vars    map[string]string // lower-case name -> value
	rds     bool
	check   *Check

	bodyCache  []body
	dictCache  []dictEntry
	tableCache map[string]sqlTable
}

// f builds a finding of the running check.
func (e *liveEnv) f(object string, count int, format string, args ...any) Finding {
	return e.check.finding(e.target, object, count, fmt.Sprintf(format, args...))
}

func (e *liveEnv) rows(ctx context.Context, query string, args []any, fn func(*sql.Rows) error) error {
	return queryRows(ctx, e.conn, query, args, fn)
}

// in restricts a column to the schemas in scope.
func (e *liveEnv) in(col string) (string, []any) { return inList(col, e.schemas) }

// systemSchemas are never the application's.
var systemSchemas = []string{"mysql", "information_schema", "performance_schema", "sys"}

// objects runs a query returning (schema, name[, detail]) rows and turns
// each into a finding with object "schema.name".
func (e *liveEnv) objects(ctx context.Context, query string, args []any, msg func(obj, detail string) string) ([]Finding, error) {
	var out []Finding
	err := e.rows(ctx, query, args, func(r *sql.Rows) error {
		cols, _ := r.Columns()
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			return err
		}
		parts := []string{}
		detail := ""
		for i, c := range cols {
			if strings.EqualFold(c, "detail") {
				detail = vals[i].String
				continue
			}
			parts = append(parts, vals[i].String)
		}
		obj := strings.Join(parts, ".")
		out = append(out, e.f(obj, 1, "%s", msg(obj, detail)))
		return nil
	})
	return out, err
}

// body is the SQL text of a stored object.
type body struct {
	kind, object, text, sqlMode string
}

// bodies reads the definitions of views, routines, triggers and events,
// once for all the checks that read them.
func (e *liveEnv) bodies(ctx context.Context) ([]body, error) {
	if e.bodyCache != nil {
		return e.bodyCache, nil
	}
	out := []body{}
	queries := []struct{ kind, col, q string }{
		{"view", "TABLE_SCHEMA", "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION, '' FROM information_schema.VIEWS WHERE "},
		{"routine", "ROUTINE_SCHEMA", "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_DEFINITION, SQL_MODE FROM information_schema.ROUTINES WHERE "},
		{"trigger", "TRIGGER_SCHEMA", "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, ACTION_STATEMENT, SQL_MODE FROM information_schema.TRIGGERS WHERE "},
		{"event", "EVENT_SCHEMA", "SELECT EVENT_SCHEMA, EVENT_NAME, EVENT_DEFINITION, SQL_MODE FROM information_schema.EVENTS WHERE "},
	}
	for _, q := range queries {
		cond, args := e.in(q.col)
		err := e.rows(ctx, q.q+cond, args, func(r *sql.Rows) error {
			var schema, name string
			var text, mode sql.NullString
			if err := r.Scan(&schema, &name, &text, &mode); err != nil {
				return err
			}
			out = append(out, body{q.kind, schema + "." + name, text.String, mode.String})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s definitions: %w", q.kind, err)
		}
	}
	e.bodyCache = out
	return out, nil
}

func checkReservedNames(ctx context.Context, e *liveEnv) ([]Finding, error) {
	words := reservedWords(e.src, e.target)
	list := make([]string, 0, len(words))
	for w := range words {
		list = append(list, w)
	}
	sort.Strings(list)
	var out []Finding
	queries := []struct{ what, schemaCol, nameCol, q string }{
		{"schema", "SCHEMA_NAME", "SCHEMA_NAME", "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE "},
		{"table", "TABLE_SCHEMA", "TABLE_NAME", "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE "},
		{"column", "TABLE_SCHEMA", "COLUMN_NAME", "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE "},
		{"routine", "ROUTINE_SCHEMA", "ROUTINE_NAME", "SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES WHERE "},
		{"trigger", "TRIGGER_SCHEMA", "TRIGGER_NAME", "SELECT TRIGGER_SCHEMA, TRIGGER_NAME FROM information_schema.TRIGGERS WHERE "},
		{"event", "EVENT_SCHEMA", "EVENT_NAME", "SELECT EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS WHERE "},
	}
	for _, q := range queries {
		cond, args := e.in(q.schemaCol)
		wcond, wargs := inList("UPPER("+q.nameCol+")", list)
		fs, err := e.objects(ctx, q.q+cond+" AND "+wcond, append(args, wargs...), func(obj, _ string) string {
			name := obj[strings.LastIndexByte(obj, '.')+1:]
			return fmt.Sprintf("%s name %s is a reserved word in MySQL %s", q.what, name, e.target)
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s names: %w", q.what, err)
		}
		out = append(out, fs...)
	}
	return out, nil
}

func checkUTF8MB3(ctx context.Context, e *liveEnv) ([]Finding, error) {
	var out []Finding
	cond, args := e.in("SCHEMA_NAME")
	fs, err := e.objects(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE DEFAULT_CHARACTER_SET_NAME IN ('utf8', 'utf8mb3') AND "+cond, args,
		func(obj, _ string) string { return "schema default character set is utf8mb3: new tables get it" })
	if err != nil {
		return nil, err
	}
	out = append(out, fs...)
	// Columns, grouped per table: a table of forty utf8 columns is one fix.
	cond, args = e.in("TABLE_SCHEMA")
	err = e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COUNT(*), MIN(COLUMN_NAME) FROM information_schema.COLUMNS WHERE CHARACTER_SET_NAME IN ('utf8', 'utf8mb3') AND "+cond+
		" GROUP BY TABLE_SCHEMA, TABLE_NAME ORDER BY TABLE_SCHEMA, TABLE_NAME", args, func(r *sql.Rows) error {
		var schema, table, col string
		var n int
		if err := r.Scan(&schema, &table, &n, &col); err != nil {
			return err
		}
		obj := schema + "." + table
		msg := fmt.Sprintf("%d column(s) use utf8mb3 (first: %s)", n, col)
		if n == 1 {
			obj += "." + col
			msg = "column uses utf8mb3"
		}
		out = append(out, e.f(obj, n, "%s", msg))
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Routine parameters and return values (ORDINAL_POSITION 0).
	cond, args = e.in("SPECIFIC_SCHEMA")
	err = e.rows(ctx, "SELECT SPECIFIC_SCHEMA, SPECIFIC_NAME, GROUP_CONCAT(CASE WHEN ORDINAL_POSITION = 0 THEN 'RETURNS' ELSE PARAMETER_NAME END ORDER BY ORDINAL_POSITION) FROM information_schema.PARAMETERS WHERE CHARACTER_SET_NAME IN ('utf8', 'utf8mb3') AND "+cond+
		" GROUP BY SPECIFIC_SCHEMA, SPECIFIC_NAME ORDER BY SPECIFIC_SCHEMA, SPECIFIC_NAME", args, func(r *sql.Rows) error {
		var schema, name string
		var params sql.NullString
		if err := r.Scan(&schema, &name, &params); err != nil {
			return err
		}
		out = append(out, e.f(schema+"."+name, 1, "routine parameter(s) %s declared utf8mb3", params.String))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading routine parameters: %w", err)
	}
	// Definitions that name the character set or one of its collations:
	// CONVERT(x USING utf8), CAST(x AS CHAR CHARACTER SET utf8), _utf8'..'.
	fs, err = e.perBody(ctx, func(b body) (Finding, bool) {
		if w := utf8mb3Use(scanSQL(b.text)); w != "" {
			what := strings.ToLower(w)
			if !strings.Contains(what, "utf8mb3") {
				what += " (utf8mb3)"
			}
			return e.f(b.object, 1, "%s definition names %s", b.kind, what), true
		}
		return Finding{}, false
	})
	return append(out, fs...), err
}

// utf8mb3Use returns the first word naming utf8mb3 as a character set or
// collation: after USING, CHARSET, CHARACTER SET or COLLATE, or as an
// introducer (_utf8'x'). A column called utf8_name is not one.
func utf8mb3Use(toks []token) string {
	for i, t := range toks {
		if t.kind != tokWord {
			continue
		}
		w := t.upper()
		if strings.HasPrefix(w, "_") {
			if isUTF8MB3Name(w[1:], false) && i+1 < len(toks) && toks[i+1].kind == tokString {
				return w
			}
			continue
		}
		if i == 0 || toks[i-1].kind != tokWord {
			continue
		}
		switch toks[i-1].upper() {
		case "USING", "CHARSET":
			if isUTF8MB3Name(w, false) {
				return w
			}
		case "SET":
			if i >= 2 && toks[i-2].upper() == "CHARACTER" && isUTF8MB3Name(w, false) {
				return w
			}
		case "COLLATE":
			if isUTF8MB3Name(w, true) {
				return w
			}
		}
	}
	return ""
}

// isUTF8MB3Name: the character set (or with collation, one of its
// collations), upper case.
func isUTF8MB3Name(w string, collation bool) bool {
	for _, cs := range []string{"UTF8MB3", "UTF8"} {
		if !collation && w == cs || collation && strings.HasPrefix(w, cs+"_") {
			return true
		}
	}
	return false
}

func checkMySQLSchema(ctx context.Context, e *liveEnv) ([]Finding, error) {
	names := dictionaryTables
	if e.src.MariaDB {
		// MariaDB's own statistics tables share two of the names; they are
		// not carried to MySQL.
		names = nil
		for _, n := range dictionaryTables {
			if n != "index_stats" && n != "table_stats" {
				names = append(names, n)
			}
		}
	}
	cond, args := inList("LOWER(TABLE_NAME)", names)
	return e.objects(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'mysql' AND "+cond, args,
		func(obj, _ string) string { return "table name is used by the 8.0 data dictionary" })
}

// CREATE_OPTIONS and TABLE_CONSTRAINTS make information_schema open every
// table (seconds for 10,000 tables on 5.7/MariaDB), while ENGINE and the
// InnoDB dictionary tables do not: narrow down first, then look closer.

func checkNonNativePartitioning(ctx context.Context, e *liveEnv) ([]Finding, error) {
	cond, args := e.in("TABLE_SCHEMA")
	type tbl struct{ schema, name, engine string }
	var cands []tbl
	err := e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND UPPER(ENGINE) NOT IN ('INNODB', 'NDBCLUSTER', 'NDB') AND "+cond, args,
		func(r *sql.Rows) error {
			var t tbl
			var engine sql.NullString
			if err := r.Scan(&t.schema, &t.name, &engine); err != nil {
				return err
			}
			t.engine = engine.String
			cands = append(cands, t)
			return nil
		})
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, t := range cands {
		var opts sql.NullString
		err := e.conn.QueryRowContext(ctx, "SELECT CREATE_OPTIONS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", t.schema, t.name).Scan(&opts)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, err
		}
		if strings.Contains(strings.ToLower(opts.String), "partitioned") {
			out = append(out, e.f(t.schema+"."+t.name, 1, "partitioned %s table: 8.0 partitions only InnoDB tables", t.engine))
		}
	}
	return out, nil
}

func checkFKNameLength(ctx context.Context, e *liveEnv) ([]Finding, error) {
	// INNODB_SYS_FOREIGN.ID is "schema/name"; FOR_NAME "schema/table".
	var out []Finding
	err := e.rows(ctx, "SELECT ID, FOR_NAME FROM information_schema.INNODB_SYS_FOREIGN WHERE CHAR_LENGTH(ID) > 65", nil, func(r *sql.Rows) error {
		var id, forName string
		if err := r.Scan(&id, &forName); err != nil {
			return err
		}
		schema, table, _ := strings.Cut(decodeFilename(forName), "/")
		_, name, _ := strings.Cut(decodeFilename(id), "/")
		if len([]rune(name)) > 64 && isOneOf(schema, e.schemas) {
			out = append(out, e.f(schema+"."+table+"."+name, 1, "foreign key name is longer than 64 characters"))
		}
		return nil
	})
	if err == nil {
		return out, nil
	}
	cond, args := e.in("CONSTRAINT_SCHEMA")
	return e.objects(ctx, "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_TYPE = 'FOREIGN KEY' AND CHAR_LENGTH(CONSTRAINT_NAME) > 64 AND "+cond, args,
		func(obj, _ string) string { return "foreign key name is longer than 64 characters" })
}

// perBody runs fn on every stored object's definition and keeps the
// findings it returns.
func (e *liveEnv) perBody(ctx context.Context, fn func(b body) (Finding, bool)) ([]Finding, error) {
	bs, err := e.bodies(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, b := range bs {
		if f, ok := fn(b); ok {
			out = append(out, f)
		}
	}
	return out, nil
}

func checkStoredSQLMode(ctx context.Context, e *liveEnv) ([]Finding, error) {
	return e.perBody(ctx, func(b body) (Finding, bool) {
		var bad []string
		for _, f := range sqlModeFlags(b.sqlMode) {
			if hasFlag(obsoleteSQLModes, f) {
				bad = append(bad, f)
			}
		}
		if len(bad) == 0 {
			return Finding{}, false
		}
		f := e.f(b.object, 1, "%s stored with sql_mode flags 8.0 removed: %s", b.kind, strings.Join(bad, ","))
		if len(bad) == 1 && bad[0] == "NO_AUTO_CREATE_USER" {
			// The 5.7 default: the upgrade clears it and nothing changes.
			f.Severity = SevNotice
			f.Message += " (cleared by the upgrade, harmless)"
		}
		return f, true
	})
}

func checkGlobalSQLModeObsolete(ctx context.Context, e *liveEnv) ([]Finding, error) {
	var bad []string
	for _, f := range sqlModeFlags(e.vars["sql_mode"]) {
		if hasFlag(obsoleteSQLModes, f) {
			bad = append(bad, f)
		}
	}
	if len(bad) == 0 {
		return nil, nil
	}
	return []Finding{e.f("sql_mode", 1, "global sql_mode holds %s, which 8.0 removed; set in an option file it stops the server from starting", strings.Join(bad, ","))}, nil
}

func checkEnumSetLength(ctx context.Context, e *liveEnv) ([]Finding, error) {
	cond, args := e.in("TABLE_SCHEMA")
	var out []Finding
	err := e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE DATA_TYPE IN ('enum', 'set') AND CHAR_LENGTH(COLUMN_TYPE) > 255 AND "+cond, args,
		func(r *sql.Rows) error {
			var schema, table, col, typ string
			if err := r.Scan(&schema, &table, &col, &typ); err != nil {
				return err
			}
			for _, el := range enumElements(typ) {
				if n := len([]rune(el)); n > 255 {
					out = append(out, e.f(schema+"."+table+"."+col, 1, "ENUM/SET element of %d characters", n))
					break
				}
			}
			return nil
		})
	return out, err
}

// enumElements splits "enum('a','b”c')" into its values.
func enumElements(typ string) []string {
	open := strings.IndexByte(typ, '(')
	if open < 0 {
		return nil
	}
	var out []string
	for i := open + 1; i < len(typ); i++ {
		if typ[i] == '\'' {
			j, v := scanString(typ, i)
			out = append(out, v)
			i = j - 1
		}
	}
	return out
}

func checkRemovedFunctionsStored(ctx context.Context, e *liveEnv) ([]Finding, error) {
	set := removedFunctionsFor(e.src, e.target)
	return e.perBody(ctx, func(b body) (Finding, bool) {
		fns := uniq(calledFunctions(scanSQL(b.text), set))
		if len(fns) == 0 {
			return Finding{}, false
		}
		var repl []string
		for _, f := range fns {
			repl = append(repl, f+"() -> "+set[f].Replacement)
		}
		return e.f(b.object, len(fns), "%s calls %s() removed in the target; %s", b.kind, strings.Join(fns, "(), "), strings.Join(repl, "; ")), true
	})
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func checkGroupByOrderStored(ctx context.Context, e *liveEnv) ([]Finding, error) {
	return e.perBody(ctx, func(b body) (Finding, bool) {
		if !groupByHasOrder(scanSQL(b.text)) {
			return Finding{}, false
		}
		return e.f(b.object, 1, "%s uses GROUP BY ... ASC/DESC", b.kind), true
	})
}

func checkZeroDateSQLMode(ctx context.Context, e *liveEnv) ([]Finding, error) {
	flags := sqlModeFlags(e.vars["sql_mode"])
	var missing []string
	for _, f := range []string{"NO_ZERO_DATE", "NO_ZERO_IN_DATE"} {
		if !hasFlag(flags, f) {
			missing = append(missing, f)
		}
	}
	if !hasFlag(flags, "STRICT_TRANS_TABLES") && !hasFlag(flags, "STRICT_ALL_TABLES") {
		missing = append(missing, "STRICT_TRANS_TABLES")
	}
	if len(missing) == 0 {
		return nil, nil
	}
	return []Finding{e.f("sql_mode", 1, "global sql_mode lacks %s: zero dates may have been stored", strings.Join(missing, ","))}, nil
}

func checkZeroDateDefaults(ctx context.Context, e *liveEnv) ([]Finding, error) {
	cond, args := e.in("TABLE_SCHEMA")
	var out []Finding
	err := e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE DATA_TYPE IN ('date', 'datetime', 'timestamp') AND COLUMN_DEFAULT LIKE '%00%' AND "+cond, args,
		func(r *sql.Rows) error {
			var schema, table, col, def string
			if err := r.Scan(&schema, &table, &col, &def); err != nil {
				return err
			}
			d := strings.Trim(def, "'")
			if why := badDate(d); why == "zero date" || why == "zero month or day" {
				out = append(out, e.f(schema+"."+table+"."+col, 1, "DEFAULT '%s' (%s)", d, why))
			}
			return nil
		})
	return out, err
}

var blobTypes = []string{"tinyblob", "blob", "mediumblob", "longblob", "tinytext", "text", "mediumtext", "longtext", "json",
	"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection", "geomcollection"}

func checkBlobDefaults(ctx context.Context, e *liveEnv) ([]Finding, error) {
	cond, args := e.in("TABLE_SCHEMA")
	tcond, targs := inList("DATA_TYPE", blobTypes)
	// MariaDB shows DEFAULT NULL as the string 'NULL'; MySQL 8 marks
	// expression defaults (which are allowed) DEFAULT_GENERATED.
	return e.objects(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE AS detail FROM information_schema.COLUMNS WHERE COLUMN_DEFAULT IS NOT NULL AND COLUMN_DEFAULT <> 'NULL' AND EXTRA NOT LIKE '%DEFAULT_GENERATED%' AND "+tcond+" AND "+cond,
		append(targs, args...), func(obj, typ string) string {
			return fmt.Sprintf("%s column with a literal default", strings.ToUpper(typ))
		})
}

func checkOldTemporal(ctx context.Context, e *liveEnv) ([]Finding, error) {
	if !e.src.MariaDB && e.src.Major == 5 && e.src.Minor == 7 {
		// 5.7 shows the old format in COLUMN_TYPE only with this on.
		if _, err := e.conn.ExecContext(ctx, "SET SESSION show_old_temporals = ON"); err != nil {
			return nil, fmt.Errorf("enabling show_old_temporals: %w", err)
		}
	}
	cond, args := e.in("TABLE_SCHEMA")
	return e.objects(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE AS detail FROM information_schema.COLUMNS WHERE DATA_TYPE IN ('time', 'datetime', 'timestamp') AND (COLUMN_TYPE LIKE '%5.5 binary format%' OR COLUMN_TYPE LIKE '%mariadb-5.3%') AND "+cond, args,
		func(obj, typ string) string { return fmt.Sprintf("%s is stored in the pre-5.6.4 format", typ) })
}

func checkOrphans(ctx context.Context, e *liveEnv) ([]Finding, error) {
	var out []Finding
	for _, q := range []struct{ table, kind string }{{"proc", "CONCAT(type, '')"}, {"event", "'EVENT'"}} {
		fs, err := e.objects(ctx, "SELECT db, name, "+q.kind+" AS detail FROM mysql."+q.table+" WHERE db NOT IN (SELECT SCHEMA_NAME FROM information_schema.SCHEMATA)", nil,
			func(obj, kind string) string {
				return fmt.Sprintf("%s of a schema that does not exist (row of mysql.%s)", strings.ToLower(kind), q.table)
			})
		if err != nil {
			return nil, fmt.Errorf("reading mysql.%s: %w", q.table, err)
		}
		out = append(out, fs...)
	}
	return out, nil
}

func checkDollarNames(ctx context.Context, e *liveEnv) ([]Finding, error) {
	var out []Finding
	queries := []struct{ what, schemaCol, q string }{
		{"schema", "SCHEMA_NAME", "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '$%' AND "},
		{"table", "TABLE_SCHEMA", "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_NAME LIKE '$%' AND "},
		{"column", "TABLE_SCHEMA", "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE COLUMN_NAME LIKE '$%' AND "},
		{"routine", "ROUTINE_SCHEMA", "SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_NAME LIKE '$%' AND "},
		{"trigger", "TRIGGER_SCHEMA", "SELECT TRIGGER_SCHEMA, TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_NAME LIKE '$%' AND "},
		{"event", "EVENT_SCHEMA", "SELECT EVENT_SCHEMA, EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_NAME LIKE '$%' AND "},
	}
	for _, q := range queries {
		cond, args := e.in(q.schemaCol)
		fs, err := e.objects(ctx, q.q+cond, args, func(obj, _ string) string {
			return q.what + " name begins with $; unquoted it is deprecated since 8.0.32"
		})
		if err != nil {
			return nil, fmt.Errorf("reading %s names: %w", q.what, err)
		}
		out = append(out, fs...)
	}
	return out, nil
}

func checkFloatAutoInc(ctx context.Context, e *liveEnv) ([]Finding, error) {
	cond, args := e.in("TABLE_SCHEMA")
	return e.objects(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE AS detail FROM information_schema.COLUMNS WHERE DATA_TYPE IN ('float', 'double') AND EXTRA LIKE '%auto_increment%' AND "+cond, args,
		func(obj, typ string) string {
			return fmt.Sprintf("AUTO_INCREMENT on a %s column", strings.ToUpper(typ))
		})
}

// Accounts that belong to the server itself, locked and never used to log in.
var systemAccounts = []string{"mariadb.sys", "mysql.sys", "mysql.session", "mysql.infoschema"}

type account struct{ user, host, plugin, authString string }

func (a account) String() string { return "'" + a.user + "'@'" + a.host + "'" }

func (e *liveEnv) accounts(ctx context.Context) ([]account, error) {
	var out []account
	cond, args := inList("User", systemAccounts)
	err := e.rows(ctx, "SELECT User, Host, plugin, authentication_string FROM mysql.user WHERE NOT "+cond+" ORDER BY User, Host", args, func(r *sql.Rows) error {
		var a account
		var plugin, auth sql.NullString
		if err := r.Scan(&a.user, &a.host, &plugin, &auth); err != nil {
			return err
		}
		a.plugin, a.authString = strings.ToLower(plugin.String), auth.String
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading accounts from mysql.user: %w", err)
	}
	return out, nil
}

func checkAuthPlugins(ctx context.Context, e *liveEnv) ([]Finding, error) {
	accts, err := e.accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, a := range accts {
		switch a.plugin {
		case "", "mysql_native_password", "caching_sha2_password", "auth_socket", "authentication_ldap_simple", "authentication_ldap_sasl", "authentication_kerberos", "authentication_pam", "authentication_windows", "authentication_webauthn", "authentication_oci", "authentication_openid_connect":
		case "sha256_password", "authentication_fido":
			// MySQL plugins, deprecated: auth-deprecated-plugins says so.
		default:
			out = append(out, e.f(a.String(), 1, "account uses the %s plugin, which MySQL %s does not have", a.plugin, e.target))
		}
	}
	return out, nil
}

func checkNativePassword(ctx context.Context, e *liveEnv) ([]Finding, error) {
	accts, err := e.accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, a := range accts {
		// MariaDB's root@localhost: native plugin with the 'invalid' hash,
		// logs in by unix_socket only.
		if (a.plugin == "mysql_native_password" || a.plugin == "") && a.authString != "invalid" {
			msg := "account uses mysql_native_password, deprecated since 8.0.34"
			if e.target == Target84 {
				msg = "account uses mysql_native_password, which 8.4 does not load by default: it cannot log in"
			}
			out = append(out, e.f(a.String(), 1, "%s", msg))
		}
	}
	return out, nil
}

// sysvar is a variable with the values it has by default on the source.
type sysvar struct {
	name     string
	target   Target // the series that removed or changed it
	defaults []string
	newValue string
}

var removedSysvars = []sysvar{
	{"query_cache_type", Target80, []string{"OFF", "0"}, ""},
	{"query_cache_size", Target80, []string{"0", "1048576"}, ""},
	{"query_cache_limit", Target80, []string{"1048576"}, ""},
	{"query_cache_min_res_unit", Target80, []string{"4096"}, ""},
	{"query_cache_wlock_invalidate", Target80, []string{"OFF", "0"}, ""},
	{"tx_isolation", Target80, []string{"REPEATABLE-READ"}, "transaction_isolation"},
	{"tx_read_only", Target80, []string{"OFF", "0"}, "transaction_read_only"},
	{"innodb_file_format", Target80, []string{"Barracuda"}, ""},
	{"innodb_file_format_check", Target80, []string{"ON", "1"}, ""},
	{"innodb_file_format_max", Target80, []string{"Barracuda"}, ""},
	{"innodb_large_prefix", Target80, []string{"ON", "1"}, ""},
	{"innodb_support_xa", Target80, []string{"ON", "1"}, ""},
	{"innodb_locks_unsafe_for_binlog", Target80, []string{"OFF", "0"}, ""},
	{"innodb_stats_sample_pages", Target80, []string{"8"}, "innodb_stats_transient_sample_pages"},
	{"innodb_undo_logs", Target80, []string{"128"}, "innodb_rollback_segments"},
	{"sync_frm", Target80, []string{"ON", "1"}, ""},
	{"secure_auth", Target80, []string{"ON", "1"}, ""},
	{"old_passwords", Target80, []string{"0", "OFF"}, ""},
	{"log_warnings", Target80, []string{"2"}, "log_error_verbosity"},
	{"show_compatibility_56", Target80, []string{"OFF", "0"}, ""},
	{"ignore_builtin_innodb", Target80, []string{"OFF", "0"}, ""},
	{"max_tmp_tables", Target80, []string{"32"}, ""},
	{"metadata_locks_cache_size", Target80, []string{"1024"}, ""},
	{"metadata_locks_hash_instances", Target80, []string{"8"}, ""},
	{"log_builtin_as_identified_by_password", Target80, []string{"OFF", "0"}, ""},
	{"default_authentication_plugin", Target84, []string{"mysql_native_password", "caching_sha2_password"}, "authentication_policy"},
	{"expire_logs_days", Target84, []string{"0"}, "binlog_expire_logs_seconds"},
	{"binlog_transaction_dependency_tracking", Target84, []string{"COMMIT_ORDER"}, ""},
	{"log_bin_use_v1_row_events", Target84, []string{"OFF", "0"}, ""},
	{"master_info_repository", Target84, []string{"FILE", "TABLE"}, ""},
	{"relay_log_info_repository", Target84, []string{"FILE", "TABLE"}, ""},
	{"transaction_write_set_extraction", Target84, []string{"OFF", "XXHASH64"}, ""},
	{"avoid_temporal_upgrade", Target84, []string{"OFF", "0"}, ""},
	{"show_old_temporals", Target84, []string{"OFF", "0"}, ""},
	{"group_replication_ip_whitelist", Target84, []string{"AUTOMATIC"}, "group_replication_ip_allowlist"},
}

var newDefaults = []sysvar{
	{"character_set_server", Target80, []string{"latin1"}, "utf8mb4"},
	{"collation_server", Target80, []string{"latin1_swedish_ci"}, "utf8mb4_0900_ai_ci"},
	{"explicit_defaults_for_timestamp", Target80, []string{"OFF", "0"}, "ON"},
	{"event_scheduler", Target80, []string{"OFF"}, "ON"},
	{"max_allowed_packet", Target80, []string{"4194304"}, "67108864"},
	{"max_error_count", Target80, []string{"64"}, "1024"},
	{"innodb_autoinc_lock_mode", Target80, []string{"1"}, "2 (interleaved: statement-based replication of INSERT ... SELECT is unsafe)"},
	{"innodb_flush_neighbors", Target80, []string{"1"}, "0"},
	{"innodb_max_dirty_pages_pct_lwm", Target80, []string{"0"}, "10"},
	{"innodb_max_dirty_pages_pct", Target80, []string{"75"}, "90"},
	{"innodb_undo_log_truncate", Target80, []string{"OFF", "0"}, "ON"},
	{"log_slave_updates", Target80, []string{"OFF", "0"}, "ON"},
	{"log_error_verbosity", Target80, []string{"3"}, "2"},
	{"optimizer_trace_max_mem_size", Target80, []string{"16384"}, "1048576"},
	{"table_open_cache", Target80, []string{"2000"}, "4000"},
	{"slave_rows_search_algorithms", Target80, []string{"TABLE_SCAN,INDEX_SCAN"}, "INDEX_SCAN,HASH_SCAN"},
	{"transaction_write_set_extraction", Target80, []string{"OFF"}, "XXHASH64"},
	{"default_authentication_plugin", Target80, []string{"mysql_native_password"}, "caching_sha2_password"},
	{"innodb_adaptive_hash_index", Target84, []string{"ON", "1"}, "OFF"},
	{"innodb_change_buffering", Target84, []string{"all"}, "none"},
	{"innodb_io_capacity", Target84, []string{"200"}, "10000"},
	{"innodb_log_buffer_size", Target84, []string{"16777216"}, "67108864"},
	{"innodb_buffer_pool_in_core_file", Target84, []string{"ON", "1"}, "OFF"},
	{"innodb_use_fdatasync", Target84, []string{"OFF", "0"}, "ON"},
	{"innodb_numa_interleave", Target84, []string{"OFF", "0"}, "ON"},
	{"innodb_flush_method", Target84, []string{"fsync"}, "O_DIRECT"},
	{"temptable_use_mmap", Target84, []string{"ON", "1"}, "OFF"},
}

// relevant: the variable's change happens between source and target.
func (e *liveEnv) relevant(v sysvar) bool {
	if v.target == Target84 {
		return e.target == Target84 && e.src.before("8.4")
	}
	return e.src.before("8.0")
}

// isOneOf compares names case-insensitively.
func isOneOf(val string, vals []string) bool {
	for _, v := range vals {
		if strings.EqualFold(val, v) {
			return true
		}
	}
	return false
}

// valueIn compares variable values case-insensitively, and numbers by
// value: MariaDB shows expire_logs_days as "0.000000".
func valueIn(val string, vals []string) bool {
	num, err := strconv.ParseFloat(val, 64)
	for _, v := range vals {
		if strings.EqualFold(val, v) {
			return true
		}
		if err == nil {
			if n, err := strconv.ParseFloat(v, 64); err == nil && n == num {
				return true
			}
		}
	}
	return false
}

func checkRemovedSysvars(ctx context.Context, e *liveEnv) ([]Finding, error) {
	var out []Finding
	for _, v := range removedSysvars {
		val, ok := e.vars[v.name]
		if !ok || !e.relevant(v) || valueIn(val, v.defaults) {
			continue
		}
		msg := fmt.Sprintf("%s=%s is set on the source; MySQL %s removed the variable", v.name, val, v.target)
		if v.newValue != "" {
			msg += "; use " + v.newValue
		}
		out = append(out, e.f(v.name, 1, "%s", msg))
	}
	return out, nil
}

func checkNewDefaults(ctx context.Context, e *liveEnv) ([]Finding, error) {
	var out []Finding
	for _, v := range newDefaults {
		val, ok := e.vars[v.name]
		if !ok || !e.relevant(v) || !valueIn(val, v.defaults) {
			continue
		}
		out = append(out, e.f(v.name, 1, "%s=%s on the source; the MySQL %s default is %s", v.name, val, v.target, v.newValue))
	}
	return out, nil
}

func checkFKReferences(ctx context.Context, e *liveEnv) ([]Finding, error) {
	type fk struct {
		obj, pschema, ptable string
		cols                 []string
	}
	var fks []*fk
	byName := map[string]*fk{}
	add := func(schema, table, name, ps, pt, pc string) {
		obj := schema + "." + table + "." + name
		f, ok := byName[obj]
		if !ok {
			f = &fk{obj: obj, pschema: ps, ptable: pt}
			byName[obj] = f
			fks = append(fks, f)
		}
		f.cols = append(f.cols, strings.ToLower(pc))
	}
	// The InnoDB dictionary (5.7, MariaDB) answers without opening every
	// table; KEY_COLUMN_USAGE is the portable fallback.
	err := e.rows(ctx, "SELECT f.ID, f.FOR_NAME, f.REF_NAME, c.REF_COL_NAME FROM information_schema.INNODB_SYS_FOREIGN f JOIN information_schema.INNODB_SYS_FOREIGN_COLS c ON c.ID = f.ID ORDER BY f.ID, c.POS", nil,
		func(r *sql.Rows) error {
			var id, forName, refName, pc string
			if err := r.Scan(&id, &forName, &refName, &pc); err != nil {
				return err
			}
			schema, table, _ := strings.Cut(decodeFilename(forName), "/")
			_, name, _ := strings.Cut(decodeFilename(id), "/")
			ps, pt, _ := strings.Cut(decodeFilename(refName), "/")
			if isOneOf(schema, e.schemas) {
				add(schema, table, name, ps, pt, pc)
			}
			return nil
		})
	if err != nil {
		fks, byName = nil, map[string]*fk{}
		cond, args := e.in("TABLE_SCHEMA")
		err = e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL AND "+cond+
			" ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, POSITION_IN_UNIQUE_CONSTRAINT", args, func(r *sql.Rows) error {
			var schema, table, name, ps, pt, pc string
			if err := r.Scan(&schema, &table, &name, &ps, &pt, &pc); err != nil {
				return err
			}
			add(schema, table, name, ps, pt, pc)
			return nil
		})
	}
	if err != nil || len(fks) == 0 {
		return nil, err
	}
	// Whole unique keys of the parent tables, as sorted column lists.
	parents := map[string]bool{}
	var pschemas []string
	for _, f := range fks {
		if !parents[f.pschema] {
			parents[f.pschema] = true
			pschemas = append(pschemas, f.pschema)
		}
	}
	keys := map[string]map[string]bool{} // schema.table -> set of "a,b"
	idx := map[string][]string{}
	pcond, pargs := inList("TABLE_SCHEMA", pschemas)
	err = e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS WHERE NON_UNIQUE = 0 AND "+pcond+" ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX", pargs,
		func(r *sql.Rows) error {
			var schema, table, index, col string
			var sub sql.NullInt64
			if err := r.Scan(&schema, &table, &index, &col, &sub); err != nil {
				return err
			}
			k := strings.ToLower(schema + "." + table + "." + index)
			if sub.Valid {
				col += "(prefix)"
			}
			idx[k] = append(idx[k], strings.ToLower(col))
			return nil
		})
	if err != nil {
		return nil, err
	}
	for k, cols := range idx {
		t := k[:strings.LastIndexByte(k, '.')]
		sort.Strings(cols)
		if keys[t] == nil {
			keys[t] = map[string]bool{}
		}
		keys[t][strings.Join(cols, ",")] = true
	}
	var out []Finding
	for _, f := range fks {
		cols := append([]string(nil), f.cols...)
		sort.Strings(cols)
		if !keys[strings.ToLower(f.pschema+"."+f.ptable)][strings.Join(cols, ",")] {
			out = append(out, e.f(f.obj, 1, "foreign key references %s.%s(%s), which is not a whole PRIMARY KEY or UNIQUE key", f.pschema, f.ptable, strings.Join(f.cols, ", ")))
		}
	}
	return out, nil
}

func checkInvalid57Names(ctx context.Context, e *liveEnv) ([]Finding, error) {
	out, err := e.objects(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '#mysql50#%'", nil,
		func(obj, _ string) string { return "schema directory name in the pre-5.1 encoding" })
	if err != nil {
		return nil, err
	}
	cond, args := e.in("TABLE_SCHEMA")
	fs, err := e.objects(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_NAME LIKE '#mysql50#%' AND "+cond, args,
		func(obj, _ string) string { return "table file name in the pre-5.1 encoding" })
	return append(out, fs...), err
}

// dotTableAfter are the words after which ".name" is a table.
var dotTableAfter = map[string]bool{"FROM": true, "JOIN": true, "INTO": true, "UPDATE": true, "TABLE": true, "TABLES": true, "REFERENCES": true}

func checkEmptyDotTable(ctx context.Context, e *liveEnv) ([]Finding, error) {
	return e.perBody(ctx, func(b body) (Finding, bool) {
		if b.kind == "view" {
			return Finding{}, false // the server stores views with full names
		}
		toks := scanSQL(b.text)
		for i := 1; i+1 < len(toks); i++ {
			t, prev, next := toks[i], toks[i-1], toks[i+1]
			if t.kind != tokPunct || t.text != "." || (next.kind != tokWord && next.kind != tokQuoted) {
				continue
			}
			if (prev.kind == tokWord && dotTableAfter[prev.upper()]) || (prev.kind == tokPunct && prev.text == ",") {
				return e.f(b.object, 1, "%s names a table as .%s", b.kind, next.text), true
			}
		}
		return Finding{}, false
	})
}

// decodeFilename undoes the server's file-name encoding of identifiers in
// InnoDB dictionary names ("@0024money" is "$money").
func decodeFilename(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '@' && i+5 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+5], 16, 32); err == nil {
				b.WriteRune(rune(n))
				i += 4
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

const targetCollation = "utf8mb4_0900_ai_ci"

func checkCollationPinned(ctx context.Context, e *liveEnv) ([]Finding, error) {
	cond, args := e.in("TABLE_SCHEMA")
	type coll struct {
		name string
		n    int
	}
	var colls []coll
	total := 0
	err := e.rows(ctx, "SELECT TABLE_COLLATION, COUNT(*) FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_COLLATION IS NOT NULL AND TABLE_COLLATION <> ? AND "+cond+
		" GROUP BY TABLE_COLLATION ORDER BY COUNT(*) DESC, TABLE_COLLATION", append([]any{targetCollation}, args...), func(r *sql.Rows) error {
		var c coll
		if err := r.Scan(&c.name, &c.n); err != nil {
			return err
		}
		colls = append(colls, c)
		total += c.n
		return nil
	})
	if err != nil || total == 0 {
		return nil, err
	}
	var parts []string
	for _, c := range colls {
		parts = append(parts, fmt.Sprintf("%s (%d)", c.name, c.n))
	}
	return []Finding{e.f("collation_server", total,
		"source runs character_set_server=%s collation_server=%s; %d table(s) use %s. Unless the target pins them, new tables get %s and joins with these fail with \"Illegal mix of collations\"",
		e.vars["character_set_server"], e.vars["collation_server"], total, strings.Join(parts, ", "), targetCollation)}, nil
}

func checkTimestampDefaults(ctx context.Context, e *liveEnv) ([]Finding, error) {
	if v := e.vars["explicit_defaults_for_timestamp"]; !valueIn(v, []string{"OFF", "0"}) {
		return nil, nil
	}
	cond, args := e.in("TABLE_SCHEMA")
	return e.objects(ctx, "SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE' WHERE c.DATA_TYPE = 'timestamp' AND c.IS_NULLABLE = 'NO' AND c."+cond, args,
		func(obj, _ string) string {
			return "NOT NULL TIMESTAMP: with explicit_defaults_for_timestamp=OFF an inserted NULL becomes the current time; with ON (8.0 default) the insert fails"
		})
}

func checkSQLModeDefault(ctx context.Context, e *liveEnv) ([]Finding, error) {
	flags := sqlModeFlags(e.vars["sql_mode"])
	var missing []string
	for _, f := range default8SQLMode {
		if !hasFlag(flags, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	rejects := map[string]string{
		"ONLY_FULL_GROUP_BY":         "SELECTs with ungrouped non-aggregated columns",
		"STRICT_TRANS_TABLES":        "writes of out-of-range, truncated or missing values",
		"NO_ZERO_IN_DATE":            "dates with a zero month or day",
		"NO_ZERO_DATE":               "'0000-00-00'",
		"ERROR_FOR_DIVISION_BY_ZERO": "writes that divide by zero",
		"NO_ENGINE_SUBSTITUTION":     "CREATE TABLE with an unavailable engine",
	}
	var what []string
	for _, f := range missing {
		what = append(what, rejects[f])
	}
	return []Finding{e.f("sql_mode", 1, "global sql_mode is '%s'; the target's default adds %s and would reject %s",
		e.vars["sql_mode"], strings.Join(missing, ","), strings.Join(what, "; "))}, nil
}

func checkRDSNotes(ctx context.Context, e *liveEnv) ([]Finding, error) {
	if !e.rds {
		return nil, nil
	}
	var out []Finding
	for _, name := range []string{"character_set_server", "collation_server", "explicit_defaults_for_timestamp", "sql_mode"} {
		out = append(out, e.f(name, 1, "RDS: %s=%s on the source; set it in the target's DB parameter group, SET GLOBAL is not allowed", name, e.vars[name]))
	}
	if e.target == Target84 {
		out = append(out, e.f("mysql_native_password", 1, "RDS for MySQL 8.4: mysql_native_password is a parameter group setting"))
	}
	return out, nil
}

// LiveOptions say what to check on a live source.
type LiveOptions struct {
	Target  Target
	Schemas []string // empty: every schema but the system ones
}

// Source describes the checked server in the report.
type Source struct {
	Version string `json:"version"`
	MariaDB bool   `json:"mariadb"`
	RDS     bool   `json:"rds"`
	Schemas int    `json:"schemas"`
	Tables  int    `json:"tables"`
}

// Inspect opens one session on the source, reads its version, variables
// and the schemas in scope.
func Inspect(ctx context.Context, src *dbconn.Conn, opts LiveOptions) (*Live, error) {
	conn, err := src.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to the source: %w", err)
	}
	l := &Live{env: &liveEnv{conn: conn, target: opts.Target, vars: map[string]string{}, rds: src.Flavor.RDS}}
	e := l.env
	var raw string
	if err := conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&raw); err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading the source version: %w", err)
	}
	if e.src, err = ParseVersion(raw); err != nil {
		conn.Close()
		return nil, err
	}
	e.src.MariaDB = src.Flavor.IsMariaDB()
	err = e.rows(ctx, "SHOW GLOBAL VARIABLES", nil, func(r *sql.Rows) error {
		var name, val string
		if err := r.Scan(&name, &val); err != nil {
			return err
		}
		e.vars[strings.ToLower(name)] = val
		return nil
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading global variables: %w", err)
	}
	sysCond, sysArgs := inList("SCHEMA_NAME", systemSchemas)
	err = e.rows(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE NOT "+sysCond+" ORDER BY SCHEMA_NAME", sysArgs, func(r *sql.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		if len(opts.Schemas) == 0 || isOneOf(s, opts.Schemas) {
			e.schemas = append(e.schemas, s)
		}
		return nil
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("listing schemas: %w", err)
	}
	for _, want := range opts.Schemas {
		if !isOneOf(want, e.schemas) {
			conn.Close()
			return nil, fmt.Errorf("schema %q: not on the source (or a system schema)", want)
		}
	}
	l.Source = Source{Version: raw, MariaDB: e.src.MariaDB, RDS: e.rds, Schemas: len(e.schemas)}
	if len(e.schemas) > 0 {
		cond, args := e.in("TABLE_SCHEMA")
		if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "+cond, args...).Scan(&l.Source.Tables); err != nil {
			conn.Close()
			return nil, fmt.Errorf("counting tables: %w", err)
		}
	}
	return l, nil
}

// Live is an inspected source, ready to run the live checks.
type Live struct {
	Source Source
	// Timings of the last Run, in check order.
	Timings []Timing
	env     *liveEnv
}

// Timing is how long one check took.
type Timing struct {
	Check string
	Took  time.Duration
}

// Version is the source's version.
func (l *Live) Version() Version { return l.env.src }

// Schemas are the schemas in scope.
func (l *Live) Schemas() []string { return l.env.schemas }

// Close releases the session.
func (l *Live) Close() error { return l.env.conn.Close() }

// Run runs every live check that applies, in registry order. A check that
// cannot run (missing privilege on mysql.*, say) becomes a notice naming
// the reason, and the others still run.
func (l *Live) Run(ctx context.Context) []Finding {
	var out []Finding
	l.Timings = nil
	for _, c := range Checks() {
		if c.live == nil || !c.Applies(l.env.src, l.env.target) {
			continue
		}
		l.env.check = c
		start := time.Now()
		fs, err := c.live(ctx, l.env)
		l.Timings = append(l.Timings, Timing{c.ID, time.Since(start)})
		if err != nil {
			if ctx.Err() != nil {
				return out
			}
			out = append(out, Finding{Check: c.ID, Severity: SevNotice, Count: 1, Message: "not checked: " + err.Error(), Fix: "Run check-upgrade with an account that can read information_schema and mysql.*."})
			continue
		}
		out = append(out, fs...)
	}
	return out
}

// defaultIntWidths are the display widths 5.7 and MariaDB show for integer
// columns declared without one; 8.0.19+ drops them all, so only other widths
// (and tinyint(1), the boolean convention 8.0 keeps) say anything.
var defaultIntWidths = map[string]bool{
	"tinyint(4)": true, "tinyint(3) unsigned": true, "tinyint(1)": true, "tinyint(1) unsigned": true,
	"smallint(6)": true, "smallint(5) unsigned": true,
	"mediumint(9)": true, "mediumint(8) unsigned": true,
	"int(11)": true, "int(10) unsigned": true,
	"bigint(20)": true, "bigint(20) unsigned": true,
}

// deprecatedColumnSyntax lists what 8.0.17 deprecated in a column type.
func deprecatedColumnSyntax(dataType, columnType string) []string {
	ct := strings.ToLower(columnType)
	var out []string
	switch dataType {
	case "float", "double", "real":
		if strings.Contains(ct, ",") {
			out = append(out, strings.ToUpper(dataType)+"(M,D)")
		}
		if strings.Contains(ct, "unsigned") {
			out = append(out, "UNSIGNED on "+strings.ToUpper(dataType))
		}
	case "decimal":
		if strings.Contains(ct, "unsigned") {
			out = append(out, "UNSIGNED on DECIMAL")
		}
	case "tinyint", "smallint", "mediumint", "int", "bigint":
		base := strings.TrimSpace(strings.TrimSuffix(ct, "zerofill"))
		if strings.Contains(base, "(") && !defaultIntWidths[base] {
			out = append(out, "display width "+base[strings.IndexByte(base, '('):strings.IndexByte(base, ')')+1])
		}
	}
	if strings.Contains(ct, "zerofill") {
		out = append(out, "ZEROFILL")
	}
	return out
}

func checkColumnSyntax(ctx context.Context, e *liveEnv) ([]Finding, error) {
	// COLUMNS alone: joined with TABLES (to leave out views) MariaDB takes
	// tens of seconds for 10,000 tables; the table list answers instead.
	tables, err := e.sqlTables(ctx)
	if err != nil {
		return nil, err
	}
	cond, args := e.in("TABLE_SCHEMA")
	type tbl struct {
		obj   string
		cols  []string
		notes []string
	}
	var order []*tbl
	byObj := map[string]*tbl{}
	var out []Finding
	err = e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS WHERE (COLUMN_TYPE LIKE '%zerofill%' OR COLUMN_TYPE LIKE '%unsigned%' OR COLUMN_TYPE = 'year(2)' OR (DATA_TYPE IN ('float', 'double', 'real') AND COLUMN_TYPE LIKE '%,%') OR (DATA_TYPE IN ('tinyint', 'smallint', 'mediumint', 'int', 'bigint') AND COLUMN_TYPE LIKE '%(%')) AND "+cond+
		" ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION", args, func(r *sql.Rows) error {
		var schema, table, col, dataType, colType string
		if err := r.Scan(&schema, &table, &col, &dataType, &colType); err != nil {
			return err
		}
		if _, ok := tables[e.tableKey(schema, table)]; !ok {
			return nil // a view's column: its table is checked itself
		}
		if strings.EqualFold(colType, "year(2)") {
			// MariaDB still has it; MySQL removed it in 5.7.5.
			f := e.f(schema+"."+table+"."+col, 1, "YEAR(2) column: MySQL 8 cannot create it (use YEAR, or CHAR(2))")
			f.Severity = SevError
			out = append(out, f)
			return nil
		}
		notes := deprecatedColumnSyntax(strings.ToLower(dataType), colType)
		if len(notes) == 0 {
			return nil
		}
		obj := schema + "." + table
		t := byObj[obj]
		if t == nil {
			t = &tbl{obj: obj}
			byObj[obj] = t
			order = append(order, t)
		}
		t.cols = append(t.cols, col)
		t.notes = append(t.notes, col+" "+colType+" ("+strings.Join(notes, ", ")+")")
		return nil
	})
	if err != nil {
		return nil, err
	}
	// One finding per table: a table of twenty int(5) columns is one fix.
	for _, t := range order {
		obj := t.obj
		if len(t.cols) == 1 {
			obj += "." + t.cols[0]
		}
		out = append(out, e.f(obj, len(t.cols), "deprecated column syntax: %s", strings.Join(t.notes, "; ")))
	}
	return out, nil
}

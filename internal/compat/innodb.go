package compat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// The checks in this file compare what the SQL layer says (information_schema
// TABLES, STATISTICS) with InnoDB's own dictionary. 5.7 and MariaDB keep
// two dictionaries that can disagree; 8.0's upgrade merges them into one and
// stops at the first disagreement.

// dictEntry is one row of InnoDB's table dictionary, its name decoded:
// "shop/orders#P#p0" is table orders of schema shop, partition p0.
type dictEntry struct {
	schema, table, partition string
	space                    int64
	spaceType, rowFormat     string
}

// innodbDictTables names the dictionary views of the source: 8.0 renamed
// INNODB_SYS_* to INNODB_*.
func (e *liveEnv) innodbDictTables() (tables, spaces string) {
	if !e.src.MariaDB && e.src.Major >= 8 {
		return "INNODB_TABLES", "INNODB_TABLESPACES"
	}
	return "INNODB_SYS_TABLES", "INNODB_SYS_TABLESPACES"
}

// splitDictName turns "schema/table#P#part" into its decoded parts; ok is
// false for InnoDB's own tables (SYS_*) and full-text index auxiliaries.
func splitDictName(name string) (schema, table, partition string, ok bool) {
	schema, rest, found := strings.Cut(name, "/")
	if !found {
		return "", "", "", false
	}
	table = rest
	for _, sep := range []string{"#P#", "#p#"} {
		if i := strings.Index(rest, sep); i >= 0 {
			table, partition = rest[:i], rest[i+len(sep):]
			break
		}
	}
	if strings.HasPrefix(table, "FTS_") {
		return "", "", "", false
	}
	return decodeFilename(schema), decodeFilename(table), decodeFilename(partition), true
}

// innodbDict reads InnoDB's table dictionary for the schemas in scope,
// once for all the checks that read it.
func (e *liveEnv) innodbDict(ctx context.Context) ([]dictEntry, error) {
	if e.dictCache != nil {
		return e.dictCache, nil
	}
	tables, _ := e.innodbDictTables()
	out := []dictEntry{}
	err := e.rows(ctx, "SELECT NAME, SPACE, SPACE_TYPE, ROW_FORMAT FROM information_schema."+tables, nil, func(r *sql.Rows) error {
		var name string
		var space sql.NullInt64
		var spaceType, rowFormat sql.NullString
		if err := r.Scan(&name, &space, &spaceType, &rowFormat); err != nil {
			return err
		}
		schema, table, part, ok := splitDictName(name)
		if !ok || !isOneOf(schema, e.schemas) {
			return nil
		}
		out = append(out, dictEntry{schema, table, part, space.Int64, spaceType.String, rowFormat.String})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the InnoDB dictionary (information_schema.%s needs PROCESS): %w", tables, err)
	}
	e.dictCache = out
	return out, nil
}

// sqlTable is a table as information_schema.TABLES shows it.
type sqlTable struct{ schema, name, engine string }

// sqlTables reads the tables (not views) of the schemas in scope with their
// engine. ENGINE comes from the table definition without opening the table.
func (e *liveEnv) sqlTables(ctx context.Context) (map[string]sqlTable, error) {
	if e.tableCache != nil {
		return e.tableCache, nil
	}
	cond, args := e.in("TABLE_SCHEMA")
	out := map[string]sqlTable{}
	err := e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_TYPE <> 'VIEW' AND TABLE_TYPE NOT LIKE '%TEMPORARY%' AND "+cond, args,
		func(r *sql.Rows) error {
			var t sqlTable
			var engine sql.NullString
			if err := r.Scan(&t.schema, &t.name, &engine); err != nil {
				return err
			}
			t.engine = engine.String
			out[e.tableKey(t.schema, t.name)] = t
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	e.tableCache = out
	return out, nil
}

// tableKey compares table names the way the server does: exactly, unless
// lower_case_table_names folds them.
func (e *liveEnv) tableKey(schema, table string) string {
	k := schema + "\x00" + table
	if v := e.vars["lower_case_table_names"]; v != "" && v != "0" {
		k = strings.ToLower(k)
	}
	return k
}

func checkPartitionsSharedTablespace(ctx context.Context, e *liveEnv) ([]Finding, error) {
	dict, err := e.innodbDict(ctx)
	if err != nil {
		return nil, err
	}
	type tbl struct {
		obj   string
		parts []string
		where map[string]bool
	}
	var order []*tbl
	byObj := map[string]*tbl{}
	for _, d := range dict {
		// SPACE_TYPE is Single for file-per-table, System for the system
		// tablespace and General for CREATE TABLESPACE ones.
		if d.partition == "" || d.spaceType == "" || strings.EqualFold(d.spaceType, "Single") {
			continue
		}
		obj := d.schema + "." + d.table
		t := byObj[obj]
		if t == nil {
			t = &tbl{obj: obj, where: map[string]bool{}}
			byObj[obj] = t
			order = append(order, t)
		}
		t.parts = append(t.parts, d.partition)
		where := "the system tablespace"
		if !strings.EqualFold(d.spaceType, "System") {
			where = fmt.Sprintf("general tablespace %d", d.space)
		}
		t.where[where] = true
	}
	var out []Finding
	for _, t := range order {
		where := make([]string, 0, len(t.where))
		for w := range t.where {
			where = append(where, w)
		}
		sort.Strings(where)
		out = append(out, e.f(t.obj, len(t.parts), "partition(s) %s stored in %s: 8.0.13 and later keep partitions only in file-per-table tablespaces",
			strings.Join(t.parts, ", "), strings.Join(where, " and ")))
	}
	return out, nil
}

// circularPath reports whether a data file path goes into a directory and
// back out of it ("/data/a/../b/t.ibd"), which 8.0.17 refuses.
func circularPath(p string) bool {
	for _, sep := range []string{"/", `\`} {
		dots := sep + ".." + sep
		for i := strings.Index(p, dots); i >= 0; {
			if i > 0 && p[i-1] != '.' {
				return true
			}
			next := strings.Index(p[i+1:], dots)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return false
}

// isMissingTable is the server's answer to a dictionary view or column this
// version does not have.
func isMissingTable(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	// 1109 unknown table in information_schema, 1146 no such table,
	// 1054 unknown column.
	return me.Number == 1109 || me.Number == 1146 || me.Number == 1054
}

func checkCircularDirectory(ctx context.Context, e *liveEnv) ([]Finding, error) {
	// Where each flavor keeps data file paths: information_schema.FILES (5.7,
	// 8.0; empty on MariaDB), INNODB_SYS_TABLESPACES.FILENAME (MariaDB 10.6+),
	// INNODB_SYS_DATAFILES (5.7, older MariaDB).
	sources := []string{
		"SELECT TABLESPACE_NAME, FILE_NAME FROM information_schema.FILES WHERE FILE_TYPE = 'TABLESPACE' AND FILE_NAME LIKE '%..%'",
		"SELECT NAME, FILENAME FROM information_schema.INNODB_SYS_TABLESPACES WHERE FILENAME LIKE '%..%'",
		"SELECT t.NAME, d.PATH FROM information_schema.INNODB_SYS_DATAFILES d JOIN information_schema.INNODB_SYS_TABLESPACES t ON t.SPACE = d.SPACE WHERE d.PATH LIKE '%..%'",
	}
	seen := map[string]bool{}
	var out []Finding
	answered := 0
	var lastErr error
	for _, q := range sources {
		err := e.rows(ctx, q, nil, func(r *sql.Rows) error {
			var name, path sql.NullString
			if err := r.Scan(&name, &path); err != nil {
				return err
			}
			if !circularPath(path.String) || seen[path.String] {
				return nil
			}
			seen[path.String] = true
			obj := name.String
			if schema, table, _, ok := splitDictName(name.String); ok {
				if !isOneOf(schema, e.schemas) {
					return nil
				}
				obj = schema + "." + table
			}
			out = append(out, e.f(obj, 1, "data file path '%s' has a circular directory reference", path.String))
			return nil
		})
		if err == nil {
			answered++
			continue
		}
		if !isMissingTable(err) {
			return nil, fmt.Errorf("reading tablespace file paths: %w", err)
		}
		lastErr = err
	}
	if answered == 0 {
		return nil, fmt.Errorf("reading tablespace file paths: %w", lastErr)
	}
	return out, nil
}

func checkSchemaInconsistency(ctx context.Context, e *liveEnv) ([]Finding, error) {
	dict, err := e.innodbDict(ctx)
	if err != nil {
		return nil, err
	}
	tables, err := e.sqlTables(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	inDict := map[string]bool{}
	reported := map[string]bool{}
	for _, d := range dict {
		k := e.tableKey(d.schema, d.table)
		inDict[k] = true
		if _, ok := tables[k]; ok || reported[k] {
			continue
		}
		reported[k] = true
		obj := d.schema + "." + d.table
		if strings.HasPrefix(d.table, "#sql") {
			out = append(out, e.f(obj, 1, "InnoDB holds %s, a leftover of an interrupted ALTER TABLE, that no table definition names", d.table))
			continue
		}
		out = append(out, e.f(obj, 1, "InnoDB has data for this table but the server lists no such table: its table definition (.frm) is missing"))
	}
	keys := make([]string, 0, len(tables))
	for k := range tables {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := tables[k]
		if strings.EqualFold(t.engine, "InnoDB") && !inDict[k] {
			out = append(out, e.f(t.schema+"."+t.name, 1, "the server lists an InnoDB table that InnoDB does not have: a table definition without its data"))
		}
	}
	return out, nil
}

func checkEngineMixup(ctx context.Context, e *liveEnv) ([]Finding, error) {
	dict, err := e.innodbDict(ctx)
	if err != nil {
		return nil, err
	}
	tables, err := e.sqlTables(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	reported := map[string]bool{}
	for _, d := range dict {
		k := e.tableKey(d.schema, d.table)
		t, ok := tables[k]
		if !ok || reported[k] || t.engine == "" || strings.EqualFold(t.engine, "InnoDB") {
			continue
		}
		reported[k] = true
		out = append(out, e.f(t.schema+"."+t.name, 1, "InnoDB has a table of this name, but the server's definition says ENGINE=%s", t.engine))
	}
	return out, nil
}

// maxCompactKeyPart is the longest index key part, in bytes, that InnoDB
// allows in the COMPACT and REDUNDANT row formats.
const maxCompactKeyPart = 767

// keyPartBytes is the length in bytes of an index key part: the whole
// column, or its prefix of sub characters (bytes for binary columns, where
// octets equal chars).
func keyPartBytes(sub sql.NullInt64, octets, chars int64) int64 {
	if !sub.Valid || chars <= 0 {
		return octets
	}
	return sub.Int64 * (octets / chars)
}

func checkIndexTooLarge(ctx context.Context, e *liveEnv) ([]Finding, error) {
	dict, err := e.innodbDict(ctx)
	if err != nil {
		return nil, err
	}
	// information_schema joins open every table (tens of seconds for 10,000
	// tables on MariaDB): narrow down with the InnoDB dictionary and one
	// plain COLUMNS query, then read the indexes of the few tables left.
	compact := map[string]string{}
	for _, d := range dict {
		if strings.EqualFold(d.rowFormat, "Compact") || strings.EqualFold(d.rowFormat, "Redundant") {
			compact[e.tableKey(d.schema, d.table)] = d.rowFormat
		}
	}
	type colLen struct{ octets, chars int64 }
	long := map[string]map[string]colLen{} // table key -> column -> length
	var cands [][2]string
	if len(compact) > 0 {
		cond, args := e.in("TABLE_SCHEMA")
		err := e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, CHARACTER_OCTET_LENGTH, CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE CHARACTER_OCTET_LENGTH > ? AND "+cond,
			append([]any{maxCompactKeyPart}, args...), func(r *sql.Rows) error {
				var schema, table, col string
				var octets, chars sql.NullInt64
				if err := r.Scan(&schema, &table, &col, &octets, &chars); err != nil {
					return err
				}
				k := e.tableKey(schema, table)
				if _, ok := compact[k]; !ok {
					return nil
				}
				if long[k] == nil {
					long[k] = map[string]colLen{}
					cands = append(cands, [2]string{schema, table})
				}
				long[k][strings.ToLower(col)] = colLen{octets.Int64, chars.Int64}
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("reading column lengths: %w", err)
		}
	}
	var out []Finding
	for _, c := range cands {
		k := e.tableKey(c[0], c[1])
		reported := map[string]bool{}
		err := e.rows(ctx, "SELECT INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_TYPE = 'BTREE' ORDER BY INDEX_NAME, SEQ_IN_INDEX", []any{c[0], c[1]},
			func(r *sql.Rows) error {
				var index, col string
				var sub sql.NullInt64
				if err := r.Scan(&index, &col, &sub); err != nil {
					return err
				}
				l, ok := long[k][strings.ToLower(col)]
				if !ok || reported[index] {
					return nil
				}
				if bytes := keyPartBytes(sub, l.octets, l.chars); bytes > maxCompactKeyPart {
					reported[index] = true
					out = append(out, e.f(c[0]+"."+c[1]+"."+index, 1, "index key part on %s is %d bytes in a %s-format table; InnoDB allows %d", col, bytes, strings.ToUpper(compact[k]), maxCompactKeyPart))
				}
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("reading the indexes of %s.%s: %w", c[0], c[1], err)
		}
	}
	if !e.src.MariaDB {
		return out, nil
	}
	// MariaDB implements a UNIQUE key too long for the engine as a hidden
	// hash column, DB_ROW_HASH_n, and shows the key as INDEX_TYPE HASH;
	// MySQL has no such keys. The InnoDB dictionary names the tables that
	// have one (Aria and MyISAM tables with such keys are not looked for).
	tables, _ := e.innodbDictTables()
	var hashed [][2]string
	seen := map[string]bool{}
	err = e.rows(ctx, "SELECT t.NAME FROM information_schema.INNODB_SYS_COLUMNS c JOIN information_schema."+tables+" t ON t.TABLE_ID = c.TABLE_ID WHERE c.NAME LIKE 'DB\\_ROW\\_HASH\\_%'", nil,
		func(r *sql.Rows) error {
			var name string
			if err := r.Scan(&name); err != nil {
				return err
			}
			schema, table, _, ok := splitDictName(name)
			if k := schema + "\x00" + table; ok && isOneOf(schema, e.schemas) && !seen[k] {
				seen[k] = true
				hashed = append(hashed, [2]string{schema, table})
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading hidden hash columns: %w", err)
	}
	for _, h := range hashed {
		err := e.rows(ctx, "SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_TYPE = 'HASH' AND NON_UNIQUE = 0 GROUP BY INDEX_NAME ORDER BY INDEX_NAME", []any{h[0], h[1]},
			func(r *sql.Rows) error {
				var index, cols string
				if err := r.Scan(&index, &cols); err != nil {
					return err
				}
				out = append(out, e.f(h[0]+"."+h[1]+"."+index, 1, "UNIQUE key on (%s) longer than the engine's key limit, which MariaDB keeps as a hidden hash; MySQL cannot create it", cols))
				return nil
			})
		if err != nil {
			return nil, fmt.Errorf("reading the indexes of %s.%s: %w", h[0], h[1], err)
		}
	}
	return out, nil
}

// exprColumns returns the names in a partition expression ("`a`,`b`"), lower case.
func exprColumns(expr string) []string {
	var out []string
	for _, t := range scanSQL(expr) {
		if t.kind == tokQuoted || t.kind == tokWord {
			out = append(out, strings.ToLower(t.text))
		}
	}
	return out
}

func checkPartitionPrefixKeys(ctx context.Context, e *liveEnv) ([]Finding, error) {
	dict, err := e.innodbDict(ctx)
	if err != nil {
		return nil, err
	}
	partitioned := map[string]bool{}
	for _, d := range dict {
		if d.partition != "" {
			partitioned[e.tableKey(d.schema, d.table)] = true
		}
	}
	if len(partitioned) == 0 {
		return nil, nil
	}
	// Prefix key parts of the partitioned tables: index -> columns.
	type prefixes struct {
		schema, table string
		byIndex       map[string][]string
		cols          map[string]bool
	}
	var cands []*prefixes
	byTable := map[string]*prefixes{}
	cond, args := e.in("TABLE_SCHEMA")
	err = e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE SUB_PART IS NOT NULL AND "+cond, args,
		func(r *sql.Rows) error {
			var schema, table, index, col string
			var nonUnique int
			if err := r.Scan(&schema, &table, &index, &col, &nonUnique); err != nil {
				return err
			}
			k := e.tableKey(schema, table)
			if !partitioned[k] {
				return nil
			}
			p := byTable[k]
			if p == nil {
				p = &prefixes{schema: schema, table: table, byIndex: map[string][]string{}, cols: map[string]bool{}}
				byTable[k] = p
				cands = append(cands, p)
			}
			if nonUnique == 0 {
				p.byIndex[index] = append(p.byIndex[index], col)
			}
			p.cols[strings.ToLower(col)] = true
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading prefix indexes: %w", err)
	}
	var out []Finding
	for _, p := range cands {
		var method, expr sql.NullString
		err := e.conn.QueryRowContext(ctx, "SELECT PARTITION_METHOD, PARTITION_EXPRESSION FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? LIMIT 1", p.schema, p.table).Scan(&method, &expr)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the partitioning of %s.%s: %w", p.schema, p.table, err)
		}
		if !strings.HasSuffix(strings.ToUpper(method.String), "KEY") {
			continue
		}
		var bad []string
		if strings.TrimSpace(expr.String) == "" {
			// KEY() partitions by the primary key, else by a unique key.
			cols := p.byIndex["PRIMARY"]
			if len(cols) == 0 {
				for _, c := range p.byIndex {
					cols = append(cols, c...)
				}
			}
			bad = cols
		} else {
			for _, c := range exprColumns(expr.String) {
				if p.cols[c] {
					bad = append(bad, c)
				}
			}
		}
		if len(bad) > 0 {
			sort.Strings(bad)
			out = append(out, e.f(p.schema+"."+p.table, 1, "PARTITION BY %s(%s) uses column(s) %s that have a prefix key part", strings.ToUpper(method.String), expr.String, strings.Join(uniq(bad), ", ")))
		}
	}
	return out, nil
}

// castOrConvert reports whether an expression calls CAST() or CONVERT().
func castOrConvert(expr string) bool {
	toks := scanSQL(expr)
	for i, t := range toks {
		if t.kind == tokWord && (t.upper() == "CAST" || t.upper() == "CONVERT") && nextIs(toks, i, "(") {
			return true
		}
	}
	return false
}

func checkGeneratedColumnFunctions(ctx context.Context, e *liveEnv) ([]Finding, error) {
	type gen struct{ schema, table, col, expr string }
	var cands []gen
	cond, args := e.in("TABLE_SCHEMA")
	err := e.rows(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, GENERATION_EXPRESSION FROM information_schema.COLUMNS WHERE GENERATION_EXPRESSION IS NOT NULL AND GENERATION_EXPRESSION <> '' AND "+cond, args,
		func(r *sql.Rows) error {
			var g gen
			if err := r.Scan(&g.schema, &g.table, &g.col, &g.expr); err != nil {
				return err
			}
			if castOrConvert(g.expr) {
				cands = append(cands, g)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading generated columns: %w", err)
	}
	var out []Finding
	for _, g := range cands {
		var n int
		if err := e.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?", g.schema, g.table, g.col).Scan(&n); err != nil {
			return nil, fmt.Errorf("reading the indexes of %s.%s: %w", g.schema, g.table, err)
		}
		if n > 0 {
			out = append(out, e.f(g.schema+"."+g.table+"."+g.col, 1, "indexed generated column computed with CAST/CONVERT (%s), whose results changed in 8.0.28: the index may no longer match", g.expr))
		}
	}
	return out, nil
}

package compat

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Scope says where a check looks: at a live server or at logged queries.
type Scope string

const (
	ScopeLive  Scope = "live"
	ScopeQuery Scope = "query"
)

// Check is one entry of the registry: what it looks for, when it applies,
// how bad a finding is and how to fix it.
type Check struct {
	ID    string
	Scope Scope
	Title string
	// Severity of a finding; Severity84, when set, replaces it for target 8.4
	// (what 8.0 deprecates, 8.4 often removes).
	Severity   Severity
	Severity84 Severity
	// Targets the check matters for.
	Targets []Target
	// SourceBefore: the check applies only to sources older than this MySQL
	// version ("" = any source). A MariaDB source is older than all.
	SourceBefore string
	Doc          string
	Fix          string

	live func(ctx context.Context, e *liveEnv) ([]Finding, error)
}

// Applies says whether the check runs for this source and target.
func (c *Check) Applies(src Version, target Target) bool {
	for _, t := range c.Targets {
		if t == target {
			return src.before(c.SourceBefore)
		}
	}
	return false
}

// SeverityFor is the severity of the check's findings for a target.
func (c *Check) SeverityFor(target Target) Severity {
	if target == Target84 && c.Severity84 != "" {
		return c.Severity84
	}
	return c.Severity
}

// finding builds a finding of this check with its severity and fix.
func (c *Check) finding(target Target, object string, count int, message string) Finding {
	return Finding{Check: c.ID, Severity: c.SeverityFor(target), Object: object, Count: count, Message: message, Fix: c.Fix}
}

var both = []Target{Target80, Target84}
var only84 = []Target{Target84}

// Query-check IDs, used by the query analyzer to file its findings.
const (
	QInvalidDate     = "query-invalid-date"
	QReservedWord    = "query-reserved-word"
	QRemovedFunction = "query-removed-function"
	QGroupByOrder    = "query-group-by-asc-desc"
	QFoundRows       = "query-found-rows"
	QOnlyFullGroupBy = "query-only-full-group-by"
	QSessionSQLMode  = "query-session-sql-mode"
	QUnparsable      = "query-unparsable"
)

// Checks returns the registry, in the order checks run and are reported.
func Checks() []*Check {
	return []*Check{
		// Live checks: those of MySQL Shell's util.checkForServerUpgrade() that
		// information_schema, mysql.* and variables can decide.
		{ID: "reserved-keywords", Scope: ScopeLive, Title: "Names that are reserved words of the target",
			Severity: SevWarning, Targets: both,
			Doc:  "Schemas, tables, columns, views, routines, triggers and events whose name became a reserved word (8.0: WINDOW, RANK, GROUPS, LATERAL, SYSTEM, ...; 8.4: MANUAL, PARALLEL, QUALIFY, TABLESAMPLE). Every statement that names them without backquotes fails with a syntax error on the target.",
			Fix:  "Rename the object, or quote the name with backquotes in every statement, view and routine that uses it.",
			live: checkReservedNames},
		{ID: "utf8mb3", Scope: ScopeLive, Title: "utf8mb3 character set in use",
			Severity: SevWarning, Targets: both,
			Doc:  "Schemas, tables and columns using utf8 (an alias of utf8mb3, deprecated since 8.0 and due to be removed; 'utf8' will come to mean utf8mb4), routine parameters and return values declared utf8mb3, and views, routines, triggers and events whose definition names utf8/utf8mb3 (CONVERT(... USING utf8), CHARACTER SET utf8, COLLATE utf8_..., _utf8'...'). utf8mb3 cannot store 4-byte characters such as emoji.",
			Fix:  "ALTER TABLE ... CONVERT TO CHARACTER SET utf8mb4 (check index prefix lengths), or at least name utf8mb3 explicitly; re-create routines and views with utf8mb4 in their definitions.",
			live: checkUTF8MB3},
		{ID: "mysql-schema-conflicts", Scope: ScopeLive, Title: "Tables in mysql that collide with 8.0 data dictionary tables",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "User tables in the mysql schema whose names 8.0's data dictionary uses (catalogs, tables, columns, routines, ...). The upgrade stops when it meets one.",
			Fix:  "Rename or move the table out of the mysql schema before upgrading.",
			live: checkMySQLSchema},
		{ID: "nonnative-partitioning", Scope: ScopeLive, Title: "Partitioned tables of an engine without native partitioning",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "8.0 supports partitioning only in InnoDB (and NDB). A MyISAM, Aria or other partitioned table cannot be created or upgraded.",
			Fix:  "ALTER TABLE ... ENGINE=InnoDB, or ALTER TABLE ... REMOVE PARTITIONING.",
			live: checkNonNativePartitioning},
		{ID: "foreign-key-name-length", Scope: ScopeLive, Title: "Foreign key names longer than 64 characters",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "8.0 limits foreign key constraint names to 64 characters; older servers generated longer ones (<table>_ibfk_N) for long table names. The table cannot be created on the target.",
			Fix:  "Drop the foreign key and add it again with a name of at most 64 characters.",
			live: checkFKNameLength},
		{ID: "obsolete-sql-mode-stored", Scope: ScopeLive, Title: "Routines, triggers and events stored with removed sql_mode flags",
			Severity: SevWarning, Targets: both, SourceBefore: "8.0",
			Doc:  "Stored programs keep the sql_mode they were created under. 8.0 removed DB2, MSSQL, MYSQL323, MYSQL40, ORACLE, POSTGRESQL, MAXDB, NO_FIELD_OPTIONS, NO_KEY_OPTIONS, NO_TABLE_OPTIONS and NO_AUTO_CREATE_USER; the objects are loaded with those flags dropped, and MAXDB's TIMESTAMP-as-DATETIME behaviour is lost.",
			Fix:  "Re-create the routine, trigger or event under a sql_mode without the removed flags and test it.",
			live: checkStoredSQLMode},
		{ID: "obsolete-sql-mode-global", Scope: ScopeLive, Title: "Global sql_mode holds flags 8.0 removed",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "An option file or parameter group that sets sql_mode with a flag 8.0 removed (NO_AUTO_CREATE_USER above all, the 5.7 default) stops the 8.0 server from starting.",
			Fix:  "Set sql_mode on the target without the removed flags (8.0 default: ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION).",
			live: checkGlobalSQLModeObsolete},
		{ID: "enum-set-element-length", Scope: ScopeLive, Title: "ENUM/SET elements longer than 255 characters",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "8.0 rejects ENUM and SET elements longer than 255 characters; the table cannot be created on the target.",
			Fix:  "Shorten the element values, or change the column to VARCHAR with a lookup table.",
			live: checkEnumSetLength},
		{ID: "removed-functions", Scope: ScopeLive, Title: "Removed functions in views, routines, triggers and events",
			Severity: SevError, Targets: both,
			Doc:  "Stored objects that call functions the target removed: PASSWORD, ENCRYPT, ENCODE/DECODE, DES_ENCRYPT/DES_DECRYPT and the non-ST_ spatial functions (8.0), WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS (8.4). They fail when they run (routines) or when loaded (views).",
			Fix:  "Replace the call (AES_ENCRYPT/SHA2 for the encryption functions, the ST_ names for spatial ones) and re-create the object.",
			live: checkRemovedFunctionsStored},
		{ID: "group-by-asc-desc", Scope: ScopeLive, Title: "GROUP BY ... ASC|DESC in views, routines, triggers and events",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "8.0.13 removed the ASC/DESC modifiers of GROUP BY; stored objects using them fail with a syntax error.",
			Fix:  "Drop ASC/DESC from GROUP BY and add an explicit ORDER BY with the same columns.",
			live: checkGroupByOrderStored},
		{ID: "zero-dates-sql-mode", Scope: ScopeLive, Title: "sql_mode allows zero dates",
			Severity: SevWarning, Targets: both, SourceBefore: "8.0",
			Doc:  "The global sql_mode lacks NO_ZERO_DATE, NO_ZERO_IN_DATE or strict mode, so the data may hold '0000-00-00' dates that 8.0's default sql_mode refuses on insert and on copy.",
			Fix:  "Find and fix zero dates (UPDATE ... SET d = NULL WHERE d = '0000-00-00'), or run the target with the same permissive sql_mode.",
			live: checkZeroDateSQLMode},
		{ID: "zero-date-defaults", Scope: ScopeLive, Title: "Columns with a zero-date default",
			Severity: SevWarning, Targets: both, SourceBefore: "8.0",
			Doc:  "DATE, DATETIME and TIMESTAMP columns whose DEFAULT is a zero date; 8.0's default sql_mode rejects the CREATE TABLE.",
			Fix:  "ALTER the column to DEFAULT NULL or a real date.",
			live: checkZeroDateDefaults},
		{ID: "blob-text-defaults", Scope: ScopeLive, Title: "Literal defaults on BLOB, TEXT, JSON or GEOMETRY columns",
			Severity: SevError, Targets: both,
			Doc:  "MySQL allows only expression defaults (DEFAULT ('x')) on BLOB, TEXT, JSON and GEOMETRY columns; a literal default, which MariaDB accepts, makes the CREATE TABLE fail.",
			Fix:  "Drop the default, or write it as an expression default once on 8.0.13+.",
			live: checkBlobDefaults},
		{ID: "old-temporal-types", Scope: ScopeLive, Title: "Columns in the pre-5.6.4 temporal format",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "TIME, DATETIME and TIMESTAMP columns still stored in the old format (created before 5.6.4, or under MariaDB's mysql56_temporal_format=OFF). 8.0 cannot read them.",
			Fix:  "ALTER TABLE ... FORCE to rebuild the table in the current format.",
			live: checkOldTemporal},
		{ID: "orphaned-objects", Scope: ScopeLive, Title: "Routines and events of schemas that no longer exist",
			Severity: SevWarning, Targets: both, SourceBefore: "8.0",
			Doc:  "Rows of mysql.proc or mysql.event whose schema is gone. The 8.0 data dictionary upgrade fails on them.",
			Fix:  "Delete the orphaned rows from mysql.proc / mysql.event, or re-create the schema and drop the objects.",
			live: checkOrphans},
		{ID: "dollar-sign-names", Scope: ScopeLive, Title: "Names beginning with $",
			Severity: SevWarning, Targets: both,
			Doc:  "8.0.32 deprecates unquoted identifiers beginning with a dollar sign; statements naming them without backquotes warn now and will fail later.",
			Fix:  "Rename the object or always quote it with backquotes.",
			live: checkDollarNames},
		{ID: "float-auto-increment", Scope: ScopeLive, Title: "AUTO_INCREMENT on FLOAT/DOUBLE columns",
			Severity: SevWarning, Severity84: SevError, Targets: both,
			Doc:  "AUTO_INCREMENT on FLOAT and DOUBLE columns is deprecated since 8.0.17; 8.4 no longer allows it, so the table cannot be created there (MySQL Shell's columnDefinition check).",
			Fix:  "Change the column to an integer type.",
			live: checkFloatAutoInc},
		{ID: "auth-unsupported-plugins", Scope: ScopeLive, Title: "Accounts on authentication plugins the target lacks",
			Severity: SevError, Targets: both,
			Doc:  "Accounts using mysql_old_password or MariaDB-only plugins (unix_socket, ed25519, gssapi, pam, parsec) cannot log in to MySQL 8. (Deprecated MySQL plugins: auth-deprecated-plugins.)",
			Fix:  "ALTER USER ... IDENTIFIED WITH caching_sha2_password BY '...'.",
			live: checkAuthPlugins},
		{ID: "auth-native-password", Scope: ScopeLive, Title: "Accounts on mysql_native_password",
			Severity: SevWarning, Severity84: SevError, Targets: both,
			Doc:  "mysql_native_password is deprecated since 8.0.34 and not loaded by default in 8.4 (--mysql-native-password=ON brings it back), so those accounts cannot log in to an 8.4 target.",
			Fix:  "ALTER USER ... IDENTIFIED WITH caching_sha2_password BY '...' after checking that the clients' connectors support it; on 8.4, mysql_native_password=ON as a stopgap.",
			live: checkNativePassword},
		{ID: "removed-sysvars", Scope: ScopeLive, Title: "System variables the target removed, set to a non-default value",
			Severity: SevWarning, Targets: both,
			Doc:  "Variables that the source has set away from their default but that the target removed (query cache, tx_isolation, innodb_file_format, expire_logs_days in 8.4, ...). An option file that still sets them stops the target from starting.",
			Fix:  "Remove the variable from option files / the parameter group and use its replacement.",
			live: checkRemovedSysvars},
		{ID: "sysvar-new-defaults", Scope: ScopeLive, Title: "System variables whose default changes",
			Severity: SevNotice, Targets: both,
			Doc:  "Variables the source runs at the old default that the target changes (character_set_server, explicit_defaults_for_timestamp, innodb_autoinc_lock_mode, max_allowed_packet in 8.0; innodb_adaptive_hash_index, innodb_change_buffering, innodb_io_capacity in 8.4, ...).",
			Fix:  "Decide per variable: pin the old value on the target, or accept the new default after testing.",
			live: checkNewDefaults},
		{ID: "invalid-57-names", Scope: ScopeLive, Title: "Schema and table names in the pre-5.1 encoding",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "Schemas and tables the server shows as #mysql50#name: directories or files whose names were never converted to the 5.1+ file-name encoding. 8.0 cannot upgrade them.",
			Fix:  "ALTER DATABASE `#mysql50#name` UPGRADE DATA DIRECTORY NAME, or RENAME TABLE to a valid name.",
			live: checkInvalid57Names},
		{ID: "empty-dot-table-syntax", Scope: ScopeLive, Title: "Stored programs using the .table syntax",
			Severity: SevWarning, Severity84: SevError, Targets: both,
			Doc:  "Routines, triggers and events that name a table as \".tbl\" (empty schema name): deprecated in 8.0 and a syntax error in 8.4.",
			Fix:  "Write the table as tbl or schema.tbl and re-create the object.",
			live: checkEmptyDotTable},
		{ID: "foreign-key-non-unique-reference", Scope: ScopeLive, Title: "Foreign keys referencing a non-unique or partial key",
			Severity: SevError, Targets: only84,
			Doc:  "8.4 (restrict_fk_on_non_standard_key=ON) requires a foreign key to reference a whole PRIMARY KEY or UNIQUE key of the parent table.",
			Fix:  "Add a unique key on the referenced columns or reference the primary key.",
			live: checkFKReferences},
		{ID: "partitions-shared-tablespace", Scope: ScopeLive, Title: "Partitions stored in shared tablespaces",
			Severity: SevError, Targets: both, SourceBefore: "8.0.13",
			Doc:  "8.0.13 removed support for table partitions in shared tablespaces: partitions of tables created with innodb_file_per_table=OFF (the system tablespace) or with TABLESPACE=<general tablespace>. Read from InnoDB's dictionary (SPACE_TYPE other than Single). The upgrade stops on them.",
			Fix:  "ALTER TABLE ... REORGANIZE PARTITION (or ALTER TABLE ... FORCE) with innodb_file_per_table=ON, or name TABLESPACE=innodb_file_per_table for each partition.",
			live: checkPartitionsSharedTablespace},
		{ID: "circular-directory", Scope: ScopeLive, Title: "Circular directory references in tablespace data file paths",
			Severity: SevError, Targets: both, SourceBefore: "8.0.17",
			Doc:  "8.0.17 refuses data file paths that enter a directory and leave it again (/data/a/../b/t.ibd), from CREATE TABLESPACE ... ADD DATAFILE or DATA DIRECTORY. Read from information_schema.FILES and InnoDB's tablespace dictionary.",
			Fix:  "Move the table or tablespace to a path without '..' (ALTER TABLE ... with DATA DIRECTORY, or ALTER TABLESPACE ... RENAME/re-create) before upgrading.",
			live: checkCircularDirectory},
		{ID: "schema-inconsistency", Scope: ScopeLive, Title: "Tables InnoDB and the server's table definitions disagree about",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "Tables InnoDB's dictionary holds that information_schema.TABLES does not list (the .frm file was removed, or an interrupted ALTER TABLE left a #sql table), and InnoDB tables information_schema.TABLES lists that InnoDB does not hold (a .frm without its data). 8.0's data dictionary upgrade fails on either; a logical copy loses the first and cannot read the second.",
			Fix:  "For InnoDB data without a definition: re-create the .frm (CREATE TABLE with the same definition in another schema and copy its .frm), then DROP TABLE. For a definition without data: DROP TABLE (or restore the table from a backup).",
			live: checkSchemaInconsistency},
		{ID: "engine-mixup", Scope: ScopeLive, Title: "Tables InnoDB holds that the server says belong to another engine",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "InnoDB's dictionary holds a table whose definition (information_schema.TABLES.ENGINE) names another engine: InnoDB files were removed by hand and a MyISAM (or other) table created under the same name. The 8.0 upgrade fails on it.",
			Fix:  "RENAME TABLE the non-InnoDB table away, create a dummy InnoDB table and give its .frm the orphan's name so DROP TABLE removes the orphan, then rename the table back.",
			live: checkEngineMixup},
		{ID: "index-too-large", Scope: ScopeLive, Title: "Index key parts longer than the target's InnoDB limit",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc:  "Indexes of COMPACT or REDUNDANT InnoDB tables with a key part over 767 bytes (possible on older servers with innodb_large_prefix), and, on MariaDB, UNIQUE keys too long for the engine that MariaDB keeps as a hidden hash (INDEX_TYPE HASH). MySQL 8 cannot create either, so the table cannot be upgraded or copied.",
			Fix:  "ALTER TABLE ... ROW_FORMAT=DYNAMIC, or shorten the key with a prefix (KEY (col(191))); for MariaDB hashed UNIQUE keys, a unique key on a generated column holding a hash of the value.",
			live: checkIndexTooLarge},
		{ID: "partition-prefix-keys", Scope: ScopeLive, Title: "Tables partitioned by KEY on columns with a prefix index",
			Severity: SevError, Targets: both, SourceBefore: "8.0.21",
			Doc:  "PARTITION BY KEY on columns that have a prefix key part (KEY() over a primary key such as (name(10), id), or KEY(name) where name has a prefix index): 8.0.21 deprecated such partitioning keys and MySQL Shell's upgrade checker treats them as errors. Partitioned tables are found in InnoDB's dictionary.",
			Fix:  "Partition by columns without prefix key parts (ALTER TABLE ... PARTITION BY KEY(id)), or index the whole column.",
			live: checkPartitionPrefixKeys},
		{ID: "generated-column-cast", Scope: ScopeLive, Title: "Indexed generated columns computed with CAST or CONVERT",
			Severity: SevWarning, Targets: both, SourceBefore: "8.0.28",
			Doc:  "8.0.28 changed what CAST() and CONVERT() return for some temporal and character arguments; an index on a generated column computed with them may no longer match the column after the upgrade.",
			Fix:  "Rebuild the index after the upgrade (ALTER TABLE ... DROP INDEX, ADD INDEX), or check the expression's results on the target first.",
			live: checkGeneratedColumnFunctions},
		{ID: "invalid-privileges", Scope: ScopeLive, Title: "Grants of privileges the target removed or never had",
			Severity: SevNotice, Targets: both,
			Doc:  "Read from SHOW GRANTS of every account: MariaDB privileges MySQL does not have under that name (BINLOG MONITOR, SLAVE MONITOR, SET USER, READ_ONLY ADMIN, DELETE HISTORY, ...; a copied GRANT fails, warning), SET_USER_ID which 8.4 removed (notice) and SUPER, deprecated since 8.0 and removed in 9.0 (notice).",
			Fix:  "Grant the MySQL privilege named in the finding instead; replace SUPER with the dynamic privileges the account needs.",
			live: checkInvalidPrivileges},
		{ID: "default-authentication-plugin", Scope: ScopeLive, Title: "Default authentication set to a deprecated plugin",
			Severity: SevWarning, Severity84: SevError, Targets: both,
			Doc:  "default_authentication_plugin or authentication_policy names mysql_native_password, sha256_password or authentication_fido. New accounts get a deprecated plugin; 8.4 removed default_authentication_plugin (an option file that still sets it stops the server) and does not load mysql_native_password by default. The 5.7 compiled default (mysql_native_password) is not reported: 8.0 changes it by itself.",
			Fix:  "Remove default_authentication_plugin from option files / the parameter group; set authentication_policy to caching_sha2_password (8.0.27+).",
			live: checkDefaultAuthPlugin},
		{ID: "auth-deprecated-plugins", Scope: ScopeLive, Title: "Accounts on sha256_password or authentication_fido",
			Severity: SevWarning, Severity84: SevError, Targets: both,
			Doc:  "sha256_password is deprecated since 8.0.16 and MySQL Shell's upgrade checker blocks an 8.4 upgrade on it; authentication_fido was replaced by authentication_webauthn in 8.4.",
			Fix:  "ALTER USER ... IDENTIFIED WITH caching_sha2_password BY '...' (authentication_webauthn for FIDO accounts).",
			live: checkDeprecatedAuthPlugins},
		{ID: "deprecated-column-syntax", Scope: ScopeLive, Title: "Column definitions using deprecated syntax",
			Severity: SevNotice, Targets: both,
			Doc:  "Columns declared with syntax 8.0.17 deprecated: FLOAT(M,D)/DOUBLE(M,D), ZEROFILL, integer display widths other than the defaults (8.0.19+ no longer shows them; tinyint(1) stays), UNSIGNED on DECIMAL/FLOAT/DOUBLE. They still work; scripts that read COLUMN_TYPE or rely on zero padding change behaviour. YEAR(2), which MariaDB still has and MySQL removed, is an error.",
			Fix:  "Use FLOAT/DOUBLE or DECIMAL(M,D), LPAD() in the query instead of ZEROFILL, plain integer types, a CHECK constraint instead of UNSIGNED on decimals; YEAR instead of YEAR(2).",
			live: checkColumnSyntax},

		// Runbook 2's own.
		{ID: "collation-unpinned", Scope: ScopeLive, Title: "Tables use a collation other than the target's default",
			Severity: SevWarning, Targets: both, SourceBefore: "8.0",
			Doc:  "8.0's default is character_set_server=utf8mb4, collation_server=utf8mb4_0900_ai_ci. Unless the target pins the source's values, new tables and columns get utf8mb4_0900_ai_ci, and joins and comparisons with the existing columns fail with \"Illegal mix of collations\" (runbook 2).",
			Fix:  "Set character_set_server and collation_server on the target (option file / parameter group) to the source's values; for utf8mb4 on 8.0.17+ also default_collation_for_utf8mb4.",
			live: checkCollationPinned},
		{ID: "timestamp-explicit-defaults", Scope: ScopeLive, Title: "TIMESTAMP columns that depend on explicit_defaults_for_timestamp=OFF",
			Severity: SevWarning, Targets: both, SourceBefore: "8.0",
			Doc:  "The source runs explicit_defaults_for_timestamp=OFF; 8.0 defaults to ON. NOT NULL TIMESTAMP columns then stop turning an inserted NULL into the current time and reject it instead (runbook 2).",
			Fix:  "Set explicit_defaults_for_timestamp=OFF on the target (deprecated), or make the application stop inserting NULL into these columns.",
			live: checkTimestampDefaults},
		{ID: "sql-mode-default", Scope: ScopeLive, Title: "Global sql_mode is looser than the target's default",
			Severity: SevWarning, Targets: both, SourceBefore: "8.0",
			Doc:  "The source's global sql_mode lacks flags of 8.0's default (ONLY_FULL_GROUP_BY, STRICT_TRANS_TABLES, NO_ZERO_IN_DATE, NO_ZERO_DATE, ERROR_FOR_DIVISION_BY_ZERO, NO_ENGINE_SUBSTITUTION): queries and writes the source accepts would fail on the target. Sessions that set their own sql_mode are found by query-session-sql-mode.",
			Fix:  "Either set the source's sql_mode on the target explicitly, or replay the query log against the target with its default sql_mode and fix what fails.",
			live: checkSQLModeDefault},
		{ID: "rds-notes", Scope: ScopeLive, Title: "Amazon RDS: parameters to set in the target's parameter group",
			Severity: SevNotice, Targets: both,
			Doc:  "On RDS the variables above cannot be set with SET GLOBAL or an option file: character_set_server, collation_server, explicit_defaults_for_timestamp, sql_mode and mysql_native_password live in the DB parameter group of the target instance.",
			Fix:  "Create a parameter group for the target engine version with the values the findings above call for, and attach it before cutover.",
			live: checkRDSNotes},

		// Query-log checks.
		{ID: QInvalidDate, Scope: ScopeQuery, Title: "Invalid date/datetime literals compared with temporal values",
			Severity: SevError, Targets: both, SourceBefore: "8.0.16",
			Doc: "Since 8.0.16 comparing a DATE, DATETIME or TIMESTAMP column or function with a string that is not a valid date raises an error instead of comparing as strings: '10000-01-01', '9999-99-99', '0000-00-00 00:00:00', '0000-02-29', Feb 30. The column types come from the source's schema.",
			Fix: "Use a valid bound ('9999-12-31 23:59:59', '1000-01-01') or IS NULL, and fix the code that builds the literal."},
		{ID: QReservedWord, Scope: ScopeQuery, Title: "Reserved words of the target used unquoted as identifiers",
			Severity: SevError, Targets: both,
			Doc: "Logged queries that name a column, table or alias with a word the target reserves (8.0: RANK, WINDOW, GROUPS, SYSTEM, OF, ...; 8.4: MANUAL, PARALLEL, QUALIFY, TABLESAMPLE) without backquotes. They fail with a syntax error.",
			Fix: "Quote the identifier with backquotes in the application's SQL (or rename it)."},
		{ID: QRemovedFunction, Scope: ScopeQuery, Title: "Queries calling removed functions",
			Severity: SevError, Targets: both,
			Doc: "PASSWORD(), ENCRYPT(), ENCODE()/DECODE(), DES_ENCRYPT()/DES_DECRYPT() and the non-ST_ spatial functions are gone in 8.0; WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS() in 8.4.",
			Fix: "Use AES_ENCRYPT/AES_DECRYPT, SHA2, the ST_ spatial functions, WAIT_FOR_EXECUTED_GTID_SET."},
		{ID: QGroupByOrder, Scope: ScopeQuery, Title: "GROUP BY ... ASC|DESC",
			Severity: SevError, Targets: both, SourceBefore: "8.0",
			Doc: "8.0.13 removed ASC/DESC after GROUP BY; such queries fail with a syntax error.",
			Fix: "Drop ASC/DESC and add ORDER BY with the same columns."},
		{ID: QFoundRows, Scope: ScopeQuery, Title: "SQL_CALC_FOUND_ROWS / FOUND_ROWS()",
			Severity: SevNotice, Targets: both,
			Doc: "Deprecated since 8.0.17 and slower than a separate COUNT(*) in most cases.",
			Fix: "Run SELECT COUNT(*) with the same WHERE instead."},
		{ID: QOnlyFullGroupBy, Scope: ScopeQuery, Title: "Queries ONLY_FULL_GROUP_BY rejects",
			Severity: SevWarning, Targets: both, SourceBefore: "8.0",
			Doc: "Grouped or aggregated SELECTs with a plain column in the select list that is neither grouped nor aggregated (decided from the query alone, in the simple cases: a group by a unique column is let through). 8.0's default sql_mode includes ONLY_FULL_GROUP_BY and rejects them with error 1055/1140.",
			Fix: "Add the column to GROUP BY, wrap it in ANY_VALUE() or an aggregate, or keep ONLY_FULL_GROUP_BY out of the target's sql_mode."},
		{ID: QSessionSQLMode, Scope: ScopeQuery, Title: "Sessions that set their own sql_mode",
			Severity: SevNotice, Targets: both,
			Doc: "Sessions that SET sql_mode themselves do not get the target's global sql_mode: their behaviour on the target depends on what they set, and flags 8.0 removed (NO_AUTO_CREATE_USER, ...) make the SET fail.",
			Fix: "Check the mode the application sets against the target; remove removed flags from it."},
		{ID: QUnparsable, Scope: ScopeQuery, Title: "Statements the MySQL grammar could not parse",
			Severity: SevNotice, Targets: both,
			Doc: "Logged statements the parser could not read (vendor syntax, truncated log lines, or words the target reserves). Only the word-level checks ran on them.",
			Fix: "Look at the examples; replay them against the target to be sure."},
	}
}

// PrintList writes the registry as `dbshift check-upgrade --list` shows it.
func PrintList(w io.Writer, checks []*Check) error {
	var b strings.Builder
	for _, c := range checks {
		targets := make([]string, len(c.Targets))
		for i, t := range c.Targets {
			targets[i] = string(t)
		}
		sev := string(c.Severity)
		if c.Severity84 != "" {
			sev += " (" + string(c.Severity84) + " for 8.4)"
		}
		src := "any source"
		if c.SourceBefore != "" {
			src = "sources before " + c.SourceBefore
		}
		fmt.Fprintf(&b, "%s  [%s, %s]\n  %s\n  targets %s, %s\n", c.ID, c.Scope, sev, c.Title, strings.Join(targets, ", "), src)
		wrap(&b, c.Doc, "  ")
		wrap(&b, "Fix: "+c.Fix, "  ")
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap writes text as lines of at most 78 columns, each with the indent.
func wrap(b *strings.Builder, text, indent string) {
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > 78 {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
}

package compat

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/flavor"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// problemSchema holds, in schema `bad` (and a few server-level places),
// every upgrade problem MariaDB 10.11 can hold. Not here: foreign key names
// over 64 characters (MariaDB refuses them, error 1059) and non-InnoDB
// engines MySQL lacks.
func problemSchema() []string {
	longValue := strings.Repeat("v", 300)
	return []string{
		"SET SESSION sql_mode = ''",
		"CREATE DATABASE bad CHARACTER SET utf8mb3",
		"CREATE TABLE bad.`rank` (id INT PRIMARY KEY, `window` INT, `groups` INT) CHARACTER SET utf8mb4",
		"CREATE TABLE bad.legacy (id INT PRIMARY KEY, name VARCHAR(10)) CHARACTER SET utf8mb3",
		"CREATE TABLE bad.zd (id INT PRIMARY KEY, d DATE NOT NULL DEFAULT '0000-00-00', ts TIMESTAMP NOT NULL DEFAULT '0000-00-00 00:00:00') CHARACTER SET utf8mb4",
		"CREATE TABLE bad.blobdef (id INT PRIMARY KEY, t TEXT DEFAULT 'hello') CHARACTER SET utf8mb4",
		"CREATE TABLE bad.longenum (id INT PRIMARY KEY, e ENUM('short', '" + longValue + "')) CHARACTER SET utf8mb4",
		"CREATE TABLE bad.mparts (id INT NOT NULL) ENGINE=MyISAM CHARACTER SET utf8mb4 PARTITION BY HASH(id) PARTITIONS 2",
		"CREATE TABLE bad.parent (id INT PRIMARY KEY, k INT, KEY (k)) CHARACTER SET utf8mb4",
		"CREATE TABLE bad.child (id INT PRIMARY KEY, k INT, CONSTRAINT fk_nonunique FOREIGN KEY (k) REFERENCES bad.parent (k)) CHARACTER SET utf8mb4",
		"CREATE TABLE bad.`$money` (id INT PRIMARY KEY, `$amount` INT, CONSTRAINT fk_dollar FOREIGN KEY (`$amount`) REFERENCES bad.parent (k)) CHARACTER SET utf8mb4",
		"CREATE TABLE bad.fai (id DOUBLE AUTO_INCREMENT PRIMARY KEY) CHARACTER SET utf8mb4",
		"CREATE VIEW bad.v_pw AS SELECT PASSWORD('x') AS p",
		"CREATE PROCEDURE bad.p_enc() SELECT ENCRYPT('x', 'ab')",
		"CREATE PROCEDURE bad.p_grp() SELECT k, COUNT(*) FROM bad.parent GROUP BY k DESC",
		"CREATE TRIGGER bad.trg BEFORE INSERT ON bad.legacy FOR EACH ROW SET NEW.name = DES_ENCRYPT(NEW.name)",
		"CREATE EVENT bad.ev ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT DECODE('a', 'b')",
		"SET SESSION sql_mode = 'NO_KEY_OPTIONS,NO_TABLE_OPTIONS'",
		"CREATE PROCEDURE bad.p_mode() SELECT 1",
		"SET SESSION sql_mode = ''",
		// Old temporal format: what a table created before 5.6.4 looks like.
		"SET GLOBAL mysql56_temporal_format = OFF",
		"CREATE TABLE bad.oldtime (id INT PRIMARY KEY, t DATETIME NULL) CHARACTER SET utf8mb4",
		"SET GLOBAL mysql56_temporal_format = ON",
		// A routine of a schema that is gone.
		"CREATE PROCEDURE bad.p_dot() SELECT * FROM .parent",
		"CREATE PROCEDURE bad.lost() SELECT 1",
		"UPDATE mysql.proc SET db = 'ghost' WHERE db = 'bad' AND name = 'lost'",
		"CREATE TABLE mysql.catalogs (id INT)",
		"CREATE USER 'legacy'@'%' IDENTIFIED BY 'x'",
		"CREATE USER 'sock'@'localhost' IDENTIFIED VIA unix_socket",
		"SET GLOBAL explicit_defaults_for_timestamp = OFF",
		"SET GLOBAL query_cache_size = 16777216",
		// Partitions in the system tablespace.
		"SET GLOBAL innodb_file_per_table = OFF",
		"CREATE TABLE bad.sysparts (id INT NOT NULL) ENGINE=InnoDB CHARACTER SET utf8mb4 PARTITION BY HASH(id) PARTITIONS 2",
		"SET GLOBAL innodb_file_per_table = ON",
		// A UNIQUE key MariaDB keeps as a hidden hash.
		"CREATE TABLE bad.longuniq (id INT PRIMARY KEY, body TEXT, UNIQUE KEY uq_body (body)) CHARACTER SET utf8mb4",
		// A key part of 1200 bytes: fine in DYNAMIC, too long in COMPACT.
		"CREATE TABLE bad.widekey (id INT PRIMARY KEY, s VARCHAR(300), KEY k_s (s)) CHARACTER SET utf8mb4 ROW_FORMAT=DYNAMIC",
		// KEY partitioning over a primary key with a prefix part.
		"CREATE TABLE bad.keyparts (name VARCHAR(100) NOT NULL, id INT NOT NULL, PRIMARY KEY (name(10), id)) CHARACTER SET utf8mb4 PARTITION BY KEY() PARTITIONS 2",
		// An index on a generated column computed with CAST.
		"CREATE TABLE bad.gencast (id INT PRIMARY KEY, j VARCHAR(20), d DATE AS (CAST(j AS DATE)) STORED, KEY (d)) CHARACTER SET utf8mb4",
		// Deprecated column syntax, and YEAR(2).
		"CREATE TABLE bad.oldcols (id INT PRIMARY KEY, price FLOAT(7,2), code INT(5) ZEROFILL, amount DECIMAL(5,2) UNSIGNED, flag TINYINT(1)) CHARACTER SET utf8mb4",
		"CREATE TABLE bad.yy (id INT PRIMARY KEY, y YEAR(2)) CHARACTER SET utf8mb4",
		// utf8mb3 in routine parameters and in definitions.
		"CREATE PROCEDURE bad.p_u8param(a VARCHAR(10) CHARACTER SET utf8mb3) SELECT a",
		"CREATE PROCEDURE bad.p_u8body() SELECT CONVERT('x' USING utf8)",
		"CREATE VIEW bad.v_u8 AS SELECT CAST('b' AS CHAR CHARACTER SET utf8mb3) AS e",
		// Privileges MySQL lacks, and SUPER.
		"CREATE USER 'adm'@'%' IDENTIFIED BY 'x'",
		"GRANT SUPER, BINLOG MONITOR, SET USER ON *.* TO 'adm'@'%'",
		"GRANT DELETE HISTORY ON bad.* TO 'adm'@'%'",
		"CREATE ROLE ops",
		"GRANT SLAVE MONITOR ON *.* TO ops",
		// An account on sha256_password, which MariaDB cannot create: the row
		// a server that had the plugin would have.
		`INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('%', 'sha', '{"plugin":"sha256_password","authentication_string":""}')`,
		`INSERT INTO mysql.global_priv (Host, User, Priv) VALUES ('%', 'fido', '{"plugin":"authentication_fido","authentication_string":""}')`,
		"FLUSH PRIVILEGES",
	}
}

// damageDictionary makes InnoDB's dictionary and the table definitions
// disagree the ways 5.7 servers do after files were handled by hand, and
// gives a table a data file path with a circular reference.
func damageDictionary(t *testing.T, ctx context.Context, conn *sql.Conn, dataDir, elsewhere string) {
	t.Helper()
	for _, q := range []string{
		"CREATE TABLE bad.nofrm (id INT PRIMARY KEY) ENGINE=InnoDB",
		"CREATE TABLE bad.mixup (id INT PRIMARY KEY) ENGINE=InnoDB",
		"CREATE TABLE bad.hasdata (id INT PRIMARY KEY) ENGINE=InnoDB",
		"CREATE TABLE bad.circ (id INT PRIMARY KEY) ENGINE=InnoDB DATA DIRECTORY=" + flavor.Quote(filepath.Join(elsewhere, "a")+"/../b"),
	} {
		exec(t, ctx, conn, q)
	}
	for _, f := range []string{"nofrm.frm", "mixup.frm"} {
		if err := os.Remove(filepath.Join(dataDir, "bad", f)); err != nil {
			t.Fatal(err)
		}
	}
	frm, err := os.ReadFile(filepath.Join(dataDir, "bad", "hasdata.frm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "bad", "nodata.frm"), frm, 0o660); err != nil {
		t.Fatal(err)
	}
	exec(t, ctx, conn, "FLUSH TABLES")
	exec(t, ctx, conn, "CREATE TABLE bad.mixup (id INT PRIMARY KEY) ENGINE=MyISAM")
}

// cleanSchema is an ordinary application schema with none of the problems.
var cleanSchema = []string{
	"SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'",
	"CREATE DATABASE clean CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
	"CREATE TABLE clean.users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(190) NOT NULL, created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, seen TIMESTAMP NULL DEFAULT NULL, note TEXT, kind ENUM('a', 'b') NOT NULL DEFAULT 'a', UNIQUE KEY (email))",
	"CREATE TABLE clean.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, total DECIMAL(10,2), placed DATE) PARTITION BY HASH(id) PARTITIONS 2",
	"CREATE TABLE clean.items (id INT PRIMARY KEY, user_id INT, CONSTRAINT items_user FOREIGN KEY (user_id) REFERENCES clean.users (id))",
	"CREATE VIEW clean.v_users AS SELECT id, SHA2(email, 256) AS h, AES_ENCRYPT(email, 'k') AS e FROM clean.users",
	"CREATE PROCEDURE clean.p_stats() SELECT user_id, COUNT(*) FROM clean.orders GROUP BY user_id ORDER BY user_id DESC",
	"CREATE TRIGGER clean.trg BEFORE INSERT ON clean.users FOR EACH ROW SET NEW.email = LOWER(NEW.email)",
	"CREATE EVENT clean.ev ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM clean.users WHERE seen < NOW() - INTERVAL 1 YEAR",
	"CREATE PROCEDURE clean.p_conv(x VARCHAR(10) CHARACTER SET utf8mb4) SELECT CONVERT(x USING utf8mb4) AS utf8_label",
	"CREATE TABLE clean.wide (id INT PRIMARY KEY, body VARCHAR(500), KEY (body(100))) ROW_FORMAT=DYNAMIC",
	"CREATE TABLE clean.keyed (name VARCHAR(100) NOT NULL, id INT NOT NULL, PRIMARY KEY (id), KEY (name(10))) PARTITION BY KEY() PARTITIONS 2",
	"CREATE TABLE clean.gen (id INT PRIMARY KEY, a INT, b INT AS (a * 2) STORED, c VARCHAR(10) AS (CAST(a AS CHAR)) VIRTUAL, KEY (b))",
	"CREATE USER 'app'@'%' IDENTIFIED BY 'x'",
	"GRANT SELECT, INSERT, UPDATE, DELETE ON clean.* TO 'app'@'%'",
}

func startSource(t *testing.T) (*sandbox.Instance, *dbconn.Conn) {
	t.Helper()
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	inst := s.Instances[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := inst.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	conn, err := root.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A schema directory the server cannot map to a 5.1+ name.
	if err := os.Mkdir(filepath.Join(inst.DataDir(), "a-b"), 0o750); err != nil {
		t.Fatal(err)
	}
	stmts := append(problemSchema(), cleanSchema...)
	for _, q := range stmts {
		exec(t, ctx, conn, q)
	}
	damageDictionary(t, ctx, conn, inst.DataDir(), t.TempDir())
	c, err := dbconn.Open(ctx, dbconn.Spec{Role: "source", DSN: inst.DSN(), Password: inst.Password, TLS: "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return inst, c
}

func exec(t *testing.T, ctx context.Context, conn *sql.Conn, q string) {
	t.Helper()
	if _, err := conn.ExecContext(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func runLive(t *testing.T, c *dbconn.Conn, target Target, schemas ...string) (*Live, []Finding) {
	t.Helper()
	ctx := context.Background()
	l, err := Inspect(ctx, c, LiveOptions{Target: target, Schemas: schemas})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, l.Run(ctx)
}

func TestLive_MariaDBSource(t *testing.T) {
	_, c := startSource(t)

	t.Run("every problem found with its object", func(t *testing.T) {
		_, fs := runLive(t, c, Target80)
		want := []struct{ check, object string }{
			{"reserved-keywords", "bad.rank"},
			{"reserved-keywords", "bad.rank.window"},
			{"reserved-keywords", "bad.rank.groups"},
			{"utf8mb3", "bad"},
			{"utf8mb3", "bad.legacy.name"},
			{"mysql-schema-conflicts", "mysql.catalogs"},
			{"nonnative-partitioning", "bad.mparts"},
			{"obsolete-sql-mode-stored", "bad.p_mode"},
			{"obsolete-sql-mode-global", "sql_mode"},
			{"enum-set-element-length", "bad.longenum.e"},
			{"removed-functions", "bad.v_pw"},
			{"removed-functions", "bad.p_enc"},
			{"removed-functions", "bad.trg"},
			{"removed-functions", "bad.ev"},
			{"group-by-asc-desc", "bad.p_grp"},
			{"invalid-57-names", "#mysql50#a-b"},
			{"empty-dot-table-syntax", "bad.p_dot"},
			{"zero-dates-sql-mode", "sql_mode"},
			{"zero-date-defaults", "bad.zd.d"},
			{"zero-date-defaults", "bad.zd.ts"},
			{"blob-text-defaults", "bad.blobdef.t"},
			{"old-temporal-types", "bad.oldtime.t"},
			{"orphaned-objects", "ghost.lost"},
			{"dollar-sign-names", "bad.$money"},
			{"dollar-sign-names", "bad.$money.$amount"},
			{"float-auto-increment", "bad.fai.id"},
			{"auth-unsupported-plugins", "'sock'@'localhost'"},
			{"auth-native-password", "'legacy'@'%'"},
			{"removed-sysvars", "query_cache_size"},
			{"sysvar-new-defaults", "character_set_server"},
			{"collation-unpinned", "collation_server"},
			{"timestamp-explicit-defaults", "bad.zd.ts"},
			{"sql-mode-default", "sql_mode"},
			{"partitions-shared-tablespace", "bad.sysparts"},
			{"circular-directory", "bad.circ"},
			{"schema-inconsistency", "bad.nofrm"},
			{"schema-inconsistency", "bad.nodata"},
			{"engine-mixup", "bad.mixup"},
			{"index-too-large", "bad.longuniq.uq_body"},
			{"invalid-privileges", "'adm'@'%'"},
			{"invalid-privileges", "'ops'@''"},
			{"auth-deprecated-plugins", "'sha'@'%'"},
			{"auth-deprecated-plugins", "'fido'@'%'"},
			{"partition-prefix-keys", "bad.keyparts"},
			{"generated-column-cast", "bad.gencast.d"},
			{"deprecated-column-syntax", "bad.oldcols"},
			{"deprecated-column-syntax", "bad.yy.y"},
			{"utf8mb3", "bad.p_u8param"},
			{"utf8mb3", "bad.p_u8body"},
			{"utf8mb3", "bad.v_u8"},
		}
		for _, w := range want {
			if !hasObject(fs, w.check, w.object) {
				t.Errorf("%s: %s not found", w.check, w.object)
			}
		}
		for _, f := range fs {
			if strings.HasPrefix(f.Message, "not checked") {
				t.Errorf("check could not run: %+v", f)
			}
			if f.Fix == "" || f.Message == "" || f.Count < 1 {
				t.Errorf("incomplete finding %+v", f)
			}
		}
		// Not findings: the clean schema's objects, accounts and grants,
		// and what a damaged table is not.
		for _, n := range []struct{ check, object string }{
			{"schema-inconsistency", "bad.mixup"},
			{"schema-inconsistency", "bad.hasdata"},
			{"engine-mixup", "bad.mparts"},
			{"partitions-shared-tablespace", "clean.orders"},
			{"invalid-privileges", "'app'@'%'"},
			{"invalid-privileges", "'legacy'@'%'"},
			{"auth-deprecated-plugins", "'legacy'@'%'"},
			{"auth-unsupported-plugins", "'sha'@'%'"},
			{"auth-unsupported-plugins", "'fido'@'%'"},
			{"utf8mb3", "clean.p_conv"},
			{"index-too-large", "clean.wide.body"},
			{"index-too-large", "bad.widekey.k_s"},
			{"partition-prefix-keys", "clean.keyed"},
			{"partition-prefix-keys", "clean.orders"},
			{"generated-column-cast", "clean.gen.b"},
			{"generated-column-cast", "clean.gen.c"},
			{"deprecated-column-syntax", "bad.fai.id"},
		} {
			if hasObject(fs, n.check, n.object) {
				t.Errorf("%s: %s reported", n.check, n.object)
			}
		}
		for _, f := range fs {
			if f.Check == "deprecated-column-syntax" && f.Object == "bad.oldcols" {
				for _, want := range []string{"FLOAT(M,D)", "display width (5)", "ZEROFILL", "UNSIGNED on DECIMAL"} {
					if !strings.Contains(f.Message, want) {
						t.Errorf("deprecated-column-syntax on bad.oldcols: %q lacks %s", f.Message, want)
					}
				}
				if f.Count != 3 || strings.Contains(f.Message, "flag") {
					t.Errorf("bad.oldcols: %d columns in %q, want price, code and amount", f.Count, f.Message)
				}
			}
			if f.Check == "auth-deprecated-plugins" && f.Object == "'fido'@'%'" && f.Severity != SevNotice {
				t.Errorf("authentication_fido account on 8.0: %s, want a notice", f.Severity)
			}
			if f.Check == "invalid-privileges" && f.Object == "'adm'@'%'" && f.Severity == SevWarning {
				for _, want := range []string{"BINLOG MONITOR", "DELETE HISTORY", "SET USER"} {
					if !strings.Contains(f.Message, want) {
						t.Errorf("invalid-privileges on adm: %q lacks %s", f.Message, want)
					}
				}
			}
		}
		if t.Failed() || testing.Verbose() {
			for _, f := range fs {
				t.Logf("%s %s %s: %s", f.Severity, f.Check, f.Object, f.Message)
			}
		}
	})

	t.Run("clean schema has no error or warning of its own", func(t *testing.T) {
		l, fs := runLive(t, c, Target84, "clean")
		if l.Source.Schemas != 1 || l.Source.Tables < 4 {
			t.Errorf("scope %+v, want the clean schema and its tables", l.Source)
		}
		for _, f := range fs {
			if strings.HasPrefix(f.Object, "clean.") || f.Object == "clean" {
				if f.Severity != SevNotice {
					t.Errorf("clean schema: %s %s %s: %s", f.Severity, f.Check, f.Object, f.Message)
				}
			}
			if strings.HasPrefix(f.Object, "bad") {
				t.Errorf("--schemas clean reported %s %s", f.Check, f.Object)
			}
		}
	})

	t.Run("8.4 target escalates native passwords and checks FK references", func(t *testing.T) {
		_, fs := runLive(t, c, Target84)
		var native *Finding
		for i := range fs {
			if fs[i].Check == "auth-native-password" && fs[i].Object == "'legacy'@'%'" {
				native = &fs[i]
			}
		}
		if native == nil || native.Severity != SevError {
			t.Errorf("native password account on 8.4: %+v, want an error", native)
		}
		for _, obj := range []string{"bad.child.fk_nonunique", "bad.$money.fk_dollar"} {
			if !hasObject(fs, "foreign-key-non-unique-reference", obj) {
				t.Errorf("FK to a non-unique key not found: %s", obj)
			}
		}
		if hasObject(fs, "foreign-key-non-unique-reference", "clean.items.items_user") {
			t.Error("FK to a primary key reported")
		}
		if !hasObject(fs, "reserved-keywords", "bad.rank") {
			t.Error("MariaDB source to 8.4: 8.0 reserved words still apply")
		}
		for _, f := range fs {
			if f.Check == "auth-deprecated-plugins" && (f.Object == "'sha'@'%'" || f.Object == "'fido'@'%'") && f.Severity != SevError {
				t.Errorf("%s on 8.4: %s, want an error", f.Object, f.Severity)
			}
			if f.Check == "float-auto-increment" && f.Severity != SevError {
				t.Errorf("AUTO_INCREMENT DOUBLE on 8.4: %s, want an error", f.Severity)
			}
		}
	})

	// MariaDB refuses COMPACT tables with key parts over 767 bytes, so the
	// dictionary is made to say that two DYNAMIC tables are COMPACT; the key
	// lengths are read from the server.
	t.Run("index-too-large measures key parts of COMPACT tables", func(t *testing.T) {
		l, _ := runLive(t, c, Target80)
		ctx := context.Background()
		e := l.env
		e.check = checkByID(t, "index-too-large")
		dict, err := e.innodbDict(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range dict {
			if dict[i].table == "widekey" || dict[i].table == "wide" {
				dict[i].rowFormat = "Compact"
			}
		}
		fs, err := checkIndexTooLarge(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if !hasObject(fs, "index-too-large", "bad.widekey.k_s") {
			t.Errorf("1200-byte key part in a COMPACT table not found: %+v", fs)
		}
		if hasObject(fs, "index-too-large", "clean.wide.body") {
			t.Error("400-byte prefix reported")
		}
	})

	t.Run("schema info feeds the query checks", func(t *testing.T) {
		l, _ := runLive(t, c, Target80)
		si, err := LoadSchemaInfo(context.Background(), c.DB, l.Schemas())
		if err != nil {
			t.Fatal(err)
		}
		if got := si.ColumnType("bad", "zd", "d"); got != "date" {
			t.Errorf("bad.zd.d type %q", got)
		}
		if !si.Unique("clean", "users", "email") || si.Unique("clean", "orders", "user_id") {
			t.Error("unique keys misread")
		}
		a := NewAnalyzer(l.Version(), Target80, si)
		a.Add(Query{Text: "SELECT * FROM zd WHERE d > '9999-99-99'", DB: "bad"})
		a.Add(Query{Text: "SELECT * FROM users WHERE email = '9999-99-99'", DB: "clean"})
		fs := a.Findings()
		if len(fs) != 1 || fs[0].Check != QInvalidDate || !strings.HasPrefix(fs[0].Object, "bad.zd.d") {
			t.Errorf("findings %+v, want the one invalid date on bad.zd.d", fs)
		}
	})
}

func hasObject(fs []Finding, check, object string) bool {
	for _, f := range fs {
		if f.Check == check && f.Object == object {
			return true
		}
	}
	return false
}

func TestLive_RDSSourceWithoutSuper(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 1, RDS: true})
	inst := s.Instances[0]
	ctx := context.Background()
	c, err := dbconn.Open(ctx, dbconn.Spec{Role: "source", DSN: inst.DSN(), Password: inst.Password, TLS: "off"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.DB.ExecContext(ctx, "CREATE DATABASE app"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.ExecContext(ctx, "CREATE TABLE app.`groups` (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	l, fs := runLive(t, c, Target84)
	if !l.Source.RDS {
		t.Fatal("RDS source not recognised")
	}
	for _, f := range fs {
		if strings.HasPrefix(f.Message, "not checked") {
			t.Errorf("with the RDS master account's privileges: %+v", f)
		}
	}
	for _, want := range [][2]string{{"rds-notes", "collation_server"}, {"rds-notes", "mysql_native_password"}, {"reserved-keywords", "app.groups"}} {
		if !hasObject(fs, want[0], want[1]) {
			t.Errorf("%s %s not found", want[0], want[1])
		}
	}
}

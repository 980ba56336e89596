package querylog

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/testutil"
)

func TestRedactSecrets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"CREATE USER 'app'@'%' IDENTIFIED BY 's3cret'", "CREATE USER 'app'@'%' IDENTIFIED BY " + Redacted},
		{"create user a identified by 'p1', b identified by \"p2\"", "create user a identified by " + Redacted + ", b identified by " + Redacted},
		{"ALTER USER app IDENTIFIED WITH caching_sha2_password BY 's3cret' REPLACE 'old'", "ALTER USER app IDENTIFIED WITH caching_sha2_password BY " + Redacted + " REPLACE " + Redacted},
		{"CREATE USER app IDENTIFIED WITH mysql_native_password AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'", "CREATE USER app IDENTIFIED WITH mysql_native_password AS " + Redacted},
		{"CREATE USER app IDENTIFIED WITH caching_sha2_password AS 0x244124303035", "CREATE USER app IDENTIFIED WITH caching_sha2_password AS " + Redacted},
		{"GRANT ALL ON *.* TO app IDENTIFIED BY PASSWORD '*24'", "GRANT ALL ON *.* TO app IDENTIFIED BY PASSWORD " + Redacted},
		{"CREATE USER app IDENTIFIED VIA ed25519 USING PASSWORD('s3cret')", "CREATE USER app IDENTIFIED VIA ed25519 USING PASSWORD(" + Redacted + ")"},
		{"CREATE USER app IDENTIFIED BY _utf8mb4's3cret'", "CREATE USER app IDENTIFIED BY _utf8mb4" + Redacted},
		{"SET PASSWORD = 's3cret'", "SET PASSWORD = " + Redacted},
		{"SET PASSWORD FOR 'app'@'%' = PASSWORD('s3cret')", "SET PASSWORD FOR 'app'@'%' = PASSWORD(" + Redacted + ")"},
		{"select password('s3cret'), 'visible'", "select password(" + Redacted + "), 'visible'"},
		{"SELECT AES_ENCRYPT(card, 'key1'), OLD_PASSWORD ( 'p' )", "SELECT AES_ENCRYPT(card, " + Redacted + "), OLD_PASSWORD ( " + Redacted + " )"},
		{"CHANGE MASTER TO MASTER_HOST='db1', MASTER_USER='repl', MASTER_PASSWORD='s3cret', MASTER_PORT=3306",
			"CHANGE MASTER TO MASTER_HOST='db1', MASTER_USER='repl', MASTER_PASSWORD=" + Redacted + ", MASTER_PORT=3306"},
		{"CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = 's3cret'", "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = " + Redacted},
		{"START SLAVE USER='repl' PASSWORD='s3cret'", "START SLAVE USER='repl' PASSWORD=" + Redacted},
		{"CALL mysql.rds_set_external_master('db1', 3306, 'repl', 's3cret', 'bin.000001', 4, 1)",
			"CALL mysql.rds_set_external_master(" + Redacted + ", 3306, " + Redacted + ", " + Redacted + ", " + Redacted + ", 4, 1)"},
		{"CREATE USER app IDENTIFIED BY 'unterminated", "CREATE USER app IDENTIFIED BY " + Redacted},
		{"/* IDENTIFIED BY 'x' */ SELECT 'identified by', 'password'", "/* IDENTIFIED BY 'x' */ SELECT 'identified by', 'password'"}, // comments are not read
		{"SELECT REPLACE(name, 'a', 'b') FROM t", "SELECT REPLACE(name, 'a', 'b') FROM t"},
		{"SELECT * FROM users WHERE password = 'hash'", "SELECT * FROM users WHERE password = " + Redacted},
		{"SELECT 1", "SELECT 1"},
		// An introducer may be followed by whitespace or a comment, and may
		// introduce a hex literal: all valid SQL (TestRedactSecrets_Server).
		{"GRANT ALL ON *.* TO app IDENTIFIED BY _utf8mb4 'pw8s3cret'", "GRANT ALL ON *.* TO app IDENTIFIED BY _utf8mb4 " + Redacted},
		{"CREATE USER app IDENTIFIED BY _utf8mb4/* c */\n's3cret'", "CREATE USER app IDENTIFIED BY _utf8mb4/* c */\n" + Redacted},
		{"CREATE USER app IDENTIFIED BY _latin1 -- c\n 's3cret' PASSWORD EXPIRE", "CREATE USER app IDENTIFIED BY _latin1 -- c\n " + Redacted + " PASSWORD EXPIRE"},
		{"CREATE USER app IDENTIFIED BY _binary X'733363726574'", "CREATE USER app IDENTIFIED BY _binary X" + Redacted},
		{"CREATE USER app IDENTIFIED BY _utf8mb4 0x733363726574", "CREATE USER app IDENTIFIED BY _utf8mb4 " + Redacted},
		{"CREATE USER app IDENTIFIED BY 0b011100110011", "CREATE USER app IDENTIFIED BY " + Redacted},
		{"CREATE USER app IDENTIFIED BY /*!50000 _utf8mb4 */ 's3cret'", "CREATE USER app IDENTIFIED BY /*!50000 _utf8mb4 */ " + Redacted},
		{"SELECT SHA2('s3cret', 256), SHA1('s3cret'), SHA(\"s3cret\"), MD5 ( 's3cret' ), VALIDATE_PASSWORD_STRENGTH('s3cret'), 'shown'",
			"SELECT SHA2(" + Redacted + ", 256), SHA1(" + Redacted + "), SHA(" + Redacted + "), MD5 ( " + Redacted + " ), VALIDATE_PASSWORD_STRENGTH(" + Redacted + "), 'shown'"},
		{"CALL mysql.rds_set_external_master_with_auto_position('db1', 3306, 'repl', 's3cret', 0, 0)",
			"CALL mysql.rds_set_external_master_with_auto_position(" + Redacted + ", 3306, " + Redacted + ", " + Redacted + ", 0, 0)"},
		{"CALL mysql.rds_set_external_source_with_auto_position('db1', 3306, 'repl', 's3cret', 0, 0)",
			"CALL mysql.rds_set_external_source_with_auto_position(" + Redacted + ", 3306, " + Redacted + ", " + Redacted + ", 0, 0)"},
		{"CALL mysql.rds_set_external_source('db1', 3306, 'repl', 's3cret', 'bin.000001', 4, 1)",
			"CALL mysql.rds_set_external_source(" + Redacted + ", 3306, " + Redacted + ", " + Redacted + ", " + Redacted + ", 4, 1)"},
	} {
		if got := RedactSecrets(tc.in); got != tc.want {
			t.Errorf("RedactSecrets(%q)\n = %q\nwant %q", tc.in, got, tc.want)
		}
		for _, secret := range []string{"s3cret", "p1", "p2", "key1", "*24", "733363726574", "011100110011"} {
			if strings.Contains(tc.in, secret) && strings.Contains(RedactSecrets(tc.in), secret) {
				t.Errorf("RedactSecrets(%q) keeps %q", tc.in, secret)
			}
		}
	}
}

// The shared logs hold no secrets: redaction must leave every statement of
// them as it is (a redaction that also ate ordinary literals would hide what
// a report is about).
func TestRedactSecrets_SharedLogsUnchanged(t *testing.T) {
	dir := testutil.SharedTestdata(t, "querylogs")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	n := 0
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		r, err := Open(f, Auto)
		if err != nil {
			t.Fatal(err)
		}
		for {
			ev, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			n++
			if got := RedactSecrets(ev.Query); got != ev.Query {
				t.Errorf("%s:%d: %q redacted to %q", f, ev.Line, ev.Query, got)
			}
		}
		r.Close()
	}
	if n == 0 {
		t.Fatalf("no statements in %s", dir)
	}
}

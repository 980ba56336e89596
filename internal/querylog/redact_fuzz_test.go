package querylog_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/querylog"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// picker hands out choices from the fuzzer's bytes; past their end it
// picks the first option.
type picker []byte

func (p *picker) of(options ...string) string {
	if len(*p) == 0 {
		return options[0]
	}
	b := (*p)[0]
	*p = (*p)[1:]
	return options[int(b)%len(options)]
}

// Between two tokens: whitespace and comments, all of which the server
// skips (an empty executable comment included).
var gaps = []string{" ", "\t", "\n", "\r\n", " /* c */ ", "/*c*/", " -- c\n", " #c\n", "/*!*/", "/*!50000*/ "}

// secretStatement builds a statement that makes secret an account's
// password (account is 'user'@'host'), written as one of the literal forms the server accepts after
// IDENTIFIED BY (quoted, hex, with or without a charset introducer, with
// whitespace and comments between), as pick chooses. It returns the
// statement and the text in it that redaction must remove: the literal's
// body.
func secretStatement(pick []byte, account, secret string) (stmt, body string) {
	p := picker(pick)
	head := p.of("CREATE USER %s IDENTIFIED BY", "CREATE OR REPLACE USER %s IDENTIFIED BY", "GRANT USAGE ON *.* TO %s IDENTIFIED BY",
		"create user if not exists %s identified by")
	var lit string
	switch p.of("'", "\"", "x", "X", "0x") {
	case "'":
		body = escape(secret, '\'', p.of("''", "\\'"))
		lit = "'" + body + "'"
	case "\"":
		body = escape(secret, '"', p.of("\"\"", "\\\""))
		lit = `"` + body + `"`
	case "x":
		body = hex.EncodeToString([]byte(secret))
		lit = "x'" + body + "'"
	case "X":
		body = strings.ToUpper(hex.EncodeToString([]byte(secret)))
		lit = "X'" + body + "'"
	default:
		body = hex.EncodeToString([]byte(secret))
		lit = "0x" + body
	}
	if body == "" && strings.HasPrefix(lit, "0x") {
		lit, body = "''", "" // 0x alone is no literal
	}
	var b strings.Builder
	fmt.Fprintf(&b, head, account)
	if intro := p.of("", "_utf8mb4", "_latin1", "_binary", "_UTF8MB4"); intro != "" {
		b.WriteString(p.of(gaps...)) // BY_utf8mb4 would be one word
		b.WriteString(intro)
		if g := p.of(append([]string{""}, gaps...)...); g != "" || lit[0] == '\'' || lit[0] == '"' {
			b.WriteString(g) // _utf8mb4'x' is one literal, _utf8mb40x not
		} else {
			b.WriteString(" ")
		}
	} else {
		b.WriteString(p.of(gaps...))
	}
	b.WriteString(lit)
	b.WriteString(p.of("", " PASSWORD EXPIRE NEVER", ";", " -- tail", "/* t */", " ACCOUNT UNLOCK"))
	return b.String(), body
}

// escape writes s as the body of a literal quoted with quote: backslashes
// doubled, the quote written as doubled.
func escape(s string, quote byte, doubled string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, string(quote), doubled)
}

// FuzzRedactSecrets: a password literal after IDENTIFIED BY never survives
// redaction, however it is written (the forms of secretStatement, which
// TestRedactSecrets_Server shows reach mariadbd's general log).
func FuzzRedactSecrets(f *testing.F) {
	for _, seed := range []struct {
		pick   []byte
		secret string
	}{
		{[]byte{}, "s3cret"},                                   // IDENTIFIED BY 's3cret'
		{[]byte{0, 0, 0, 1, 0, 1, 0}, "pw8s3cret"},             // BY _utf8mb4 'x'
		{[]byte{2, 3, 2, 4, 1, 5}, "it's a \\ secret"},         // BY /* c */ _latin1 X'..'
		{[]byte{1, 4, 3, 2, 7, 1}, "hex0x"},                    // BY\n_binary -- c\n0x..
		{[]byte{3, 1, 1, 1, 8, 9, 2}, "quote\"d--#/*"},         // by/*!*/_utf8mb4/*!*/"..."
		{[]byte{0, 0, 1, 0, 0, 2}, "pa''ss\\'word"},            // backslash-escaped quotes
		{[]byte{1, 0, 0, 0, 2, 3}, "multi\nline\tsecret\x00!"}, // control bytes
	} {
		f.Add(seed.pick, seed.secret)
	}
	f.Fuzz(func(t *testing.T, pick []byte, secret string) {
		stmt, body := secretStatement(pick, "'app'@'%'", secret)
		if len(body) < 4 {
			return // too short to tell from the statement's other text
		}
		if rest := strings.Replace(stmt, body, "", 1); strings.Contains(rest, body) {
			return // the body's text is also elsewhere in the statement
		}
		if got := querylog.RedactSecrets(stmt); strings.Contains(got, body) {
			t.Fatalf("RedactSecrets(%q) = %q keeps the password literal %q", stmt, got, body)
		}
	})
}

// TestRedactSecrets_Server: the statements FuzzRedactSecrets redacts
// reach a general log with the password in them. mariadbd runs some (the
// account then logs in with the secret: the literal is the password) and
// refuses others (it takes no introducer after IDENTIFIED BY, error 1064),
// but the general log records a statement before it is parsed, so the
// refused ones show the password too.
func TestRedactSecrets_Server(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	inst := s.Instances[0]
	admin := sandboxtest.Conn(t, inst)
	ctx := context.Background()
	for _, q := range []string{"SET GLOBAL log_output = 'TABLE'", "SET GLOBAL general_log = ON"} {
		if _, err := admin.DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ran := 0
	for n := 0; n < 40; n++ {
		pick := make([]byte, 10)
		for i := range pick {
			pick[i] = byte((n*31 + i*17 + n*i*7) % 251)
		}
		secret := fmt.Sprintf("pw%d's \\ \"x\"", n)
		stmt, body := secretStatement(pick, fmt.Sprintf("'r%d'@'%%'", n), secret)
		stmt = strings.TrimSuffix(stmt, ";")
		if _, err := admin.DB.ExecContext(ctx, stmt); err == nil {
			ran++
			c, err := dbconn.Open(ctx, dbconn.Spec{Role: "r", DSN: fmt.Sprintf("r%d@tcp(%s)/", n, inst.Addr()), Password: secret, TLS: "off"}, nil)
			if err != nil {
				t.Fatalf("%q did not set the password: %v", stmt, err)
			}
			c.Close()
		} else if dbconn.ErrorNumber(err) != 1064 {
			t.Fatalf("%q: %v", stmt, err)
		}
		var logged int
		if err := admin.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.general_log WHERE argument = ?", stmt).Scan(&logged); err != nil {
			t.Fatal(err)
		}
		if logged == 0 {
			t.Fatalf("%q is not in the general log", stmt)
		}
		if got := querylog.RedactSecrets(stmt); strings.Contains(got, body) {
			t.Errorf("RedactSecrets(%q) = %q keeps the password literal %q", stmt, got, body)
		}
	}
	t.Logf("mariadbd ran %d of the statements and refused the rest (1064)", ran)
	if ran == 0 {
		t.Fatal("the server ran none of the statements: the generator writes no valid SQL")
	}
}

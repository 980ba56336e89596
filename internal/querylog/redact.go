package querylog

import (
	"slices"
	"strings"
)

// Redacted replaces a secret literal in a statement.
const Redacted = "'<redacted>'"

// secretFuncs take secrets as arguments: every literal inside their
// parentheses is redacted. The hashes are there because what is hashed in
// a statement is mostly a password (WHERE pw = SHA2('x', 256)). Calls of
// mysql.rds_set_external_* (RDS's CHANGE MASTER and CHANGE REPLICATION
// SOURCE, with or without _with_auto_position: the password is an
// argument) are too.
var secretFuncs = []string{"password", "old_password", "encrypt", "aes_encrypt", "aes_decrypt",
	"des_encrypt", "des_decrypt", "encode", "decode", "sha2", "sha1", "sha", "md5", "validate_password_strength"}

// secretKeys precede a secret literal, with or without '=' between:
// MASTER_PASSWORD='x', START SLAVE ... PASSWORD='x', OPTIONS (PASSWORD 'x').
var secretKeys = []string{"password", "master_password", "source_password"}

// RedactSecrets replaces the literals of a statement that hold passwords and
// keys with Redacted: IDENTIFIED BY/AS/USING '...' (and WITH plugin BY/AS),
// SET PASSWORD ... = '...', PASSWORD '...', MASTER_PASSWORD= and
// SOURCE_PASSWORD=, ALTER USER ... REPLACE '...', the arguments of
// PASSWORD(), ENCRYPT(), AES_ENCRYPT(), SHA2() and their kin and of
// mysql.rds_set_external_*(). Reports print logged statements; a log of
// CREATE USER or CHANGE MASTER holds the passwords in clear.
//
// A literal counts in any form: quoted, X'..', 0x.., 0b.., behind a charset
// introducer, with whitespace and comments between. mariadbd refuses an
// introducer after IDENTIFIED BY, but the general log records a statement
// before it is parsed, so the refused statement's password is in the log
// all the same.
//
// It reads the statement's tokens, so a literal that only looks like a
// keyword ('identified by') is left alone. A statement it cannot read ends
// in a literal that runs to its end, which is redacted whole.
func RedactSecrets(q string) string {
	var (
		out        strings.Builder
		done       int    // q[:done] is in out
		key        string // the word just before, across '=' and introducers (lower case), or ""
		identified bool   // IDENTIFIED was seen: BY/AS/USING introduce secrets
		setPass    bool   // SET PASSWORD: every literal after '=' is one
		afterEq    bool
		depth      int // parenthesis depth
		secretAt   = -1
		words      int
		setFirst   bool
	)
	redact := func(i, j int) {
		out.WriteString(q[done:i])
		out.WriteString(Redacted)
		done = j
	}
	// k is the word just before the literal (across '='): "REPLACE 'x'"
	// is ALTER USER's current password, REPLACE('a', ...) a function.
	secretLiteral := func(k string) bool {
		return slices.Contains(secretKeys, k) || identified && (k == "by" || k == "as" || k == "using") ||
			k == "replace" || setPass && afterEq || secretAt >= 0
	}
	scan(q, func(kind tokKind, i, j int) bool {
		tok := q[i:j]
		switch kind {
		case tokWord:
			w := strings.ToLower(tok)
			words++
			switch {
			case words == 1:
				setFirst = w == "set"
			case words == 2 && setFirst && w == "password":
				setPass = true
			}
			if w == "identified" {
				identified = true
			}
			if (strings.HasPrefix(w, "0x") || strings.HasPrefix(w, "0b")) && secretLiteral(key) { // a hex or bit literal
				redact(i, j)
				key = ""
				return true
			}
			if key != "" && literalPrefix(w, q[j:]) {
				return true // the literal is still to come: the key holds
			}
			key = w
			return true
		case tokString:
			if secretLiteral(key) {
				redact(i, j)
			}
		case tokPunct:
			switch tok {
			case "=":
				afterEq = true
				return true // MASTER_PASSWORD = '...': the key carries over
			case "(":
				depth++
				if secretAt < 0 && (slices.Contains(secretFuncs, key) || strings.HasPrefix(key, "rds_set_external")) {
					secretAt = depth
				}
			case ")":
				if depth == secretAt {
					secretAt = -1
				}
				depth--
			}
		}
		key = ""
		return true
	})
	if done == 0 {
		return q
	}
	out.WriteString(q[done:])
	return out.String()
}

// literalPrefix says whether word w, followed by rest, only opens a literal:
// a charset introducer (_utf8mb4, which whitespace and comments may follow:
// _utf8mb4 /* c */ 'x') or the X, B or N of X'..', B'..', N'..' (which the
// quote follows at once).
func literalPrefix(w, rest string) bool {
	if len(w) > 1 && w[0] == '_' {
		return true
	}
	return (w == "x" || w == "b" || w == "n") && rest != "" && rest[0] == '\''
}

package querylog

import (
	"slices"
	"strings"
)

// Redacted replaces a secret literal in a statement.
const Redacted = "'<redacted>'"

// secretFuncs take secrets as arguments: every literal inside their
// parentheses is redacted. Calls of mysql.rds_set_external_* (RDS's CHANGE
// MASTER, the password is an argument) are too.
var secretFuncs = []string{"password", "old_password", "encrypt", "aes_encrypt", "aes_decrypt",
	"des_encrypt", "des_decrypt", "encode", "decode"}

// secretKeys precede a secret literal, with or without '=' between:
// MASTER_PASSWORD='x', START SLAVE ... PASSWORD='x', OPTIONS (PASSWORD 'x').
var secretKeys = []string{"password", "master_password", "source_password"}

// RedactSecrets replaces the literals of a statement that hold passwords and
// keys with Redacted: IDENTIFIED BY/AS/USING '...' (and WITH plugin BY/AS),
// SET PASSWORD ... = '...', PASSWORD '...', MASTER_PASSWORD= and
// SOURCE_PASSWORD=, ALTER USER ... REPLACE '...', the arguments of
// PASSWORD(), ENCRYPT(), AES_ENCRYPT() and their kin and of
// mysql.rds_set_external_*(). Reports print logged statements; a log of
// CREATE USER or CHANGE MASTER holds the passwords in clear.
//
// It reads the statement's tokens, so a literal that only looks like a
// keyword ('identified by') is left alone. A statement it cannot read ends
// in a literal that runs to its end, which is redacted whole.
func RedactSecrets(q string) string {
	var (
		out        strings.Builder
		done       int    // q[:done] is in out
		key        string // the word just before, across '=' (lower case), or ""
		keyEnd     int    // where that word ends
		beforeKey  string // the word before key, for an introducer (_utf8mb4'x')
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
			if strings.HasPrefix(w, "0x") && secretLiteral(key) { // a hex literal
				redact(i, j)
				key = ""
				return true
			}
			beforeKey, key, keyEnd = key, w, j
			return true
		case tokString:
			k := key
			if keyEnd == i && (strings.HasPrefix(key, "_") || key == "x" || key == "b" || key == "n") {
				k = beforeKey // an introducer: _utf8mb4'...', X'...'
			}
			if secretLiteral(k) {
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
		key, beforeKey = "", ""
		return true
	})
	if done == 0 {
		return q
	}
	out.WriteString(q[done:])
	return out.String()
}

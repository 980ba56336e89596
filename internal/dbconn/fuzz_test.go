package dbconn

import (
	neturl "net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzRedact: the password of a DSN built from fuzzed parts, in the
// driver form and as a mysql:// URL, never shows in Redact's output. The
// test writes the DSN itself, so it knows the password without asking the
// parser Redact uses; a password whose text is also in what Redact may show
// (user@host:port/db), or shorter than 4 bytes, is not looked for.
func FuzzRedact(f *testing.F) {
	f.Add("root", "s3cret", "127.0.0.1", uint16(3306), "app", false)
	f.Add("root", "p@ss:w/rd?x=1", "db1", uint16(3307), "app", true)
	f.Add("us@er", "s3cret", "db1", uint16(0), "", false)
	f.Add("", "pa)ss(word", "h", uint16(1), "x", false)
	f.Add("ü", "%zz%41 ü#frag", "db.example.com", uint16(65535), "a b", true)
	f.Fuzz(func(t *testing.T, user, pw, host string, port uint16, db string, url bool) {
		if !hostname(host) || strings.ContainsAny(db, "/?") || url && strings.ContainsAny(db, "#") ||
			!url && strings.ContainsAny(user, ":/") {
			return // parts that are not what they say in the DSN
		}
		addr, shownPort := host, "3306"
		if port != 0 {
			shownPort = strconv.Itoa(int(port))
			addr = host + ":" + shownPort
		}
		var dsn string
		if url {
			u := neturl.URL{Scheme: "mysql", User: neturl.UserPassword(user, pw), Host: addr, Path: "/" + db}
			dsn = u.String()
		} else {
			dsn = user + ":" + pw + "@tcp(" + addr + ")/" + db
		}
		out := Redact(dsn)
		shown := user + "@" + host + ":" + shownPort + "/" + db
		for _, secret := range []string{pw, neturl.QueryEscape(pw), neturl.PathEscape(pw)} {
			if len(secret) >= 4 && !strings.Contains(shown, secret) && strings.Contains(out, secret) {
				t.Fatalf("Redact(%q) = %q shows the password %q", dsn, out, secret)
			}
		}
	})
}

// hostname: letters, digits, '.' and '-', what a DNS name or an IPv4
// address is made of.
func hostname(h string) bool {
	if h == "" {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func TestRedact_UserWithAt(t *testing.T) {
	for dsn, want := range map[string]string{
		"us@er:s3cret@tcp(db1:3306)/app":   "us@er@db1:3306/app",
		"mysql://us%40er:s3cret@db1/app":   "us@er@db1:3306/app",
		"a:b:s3cret@unix(/run/my.sock)/":   "a@/run/my.sock/",
		"root:s3cret@tcp(db1:3306)/?tls=1": "root@db1:3306/",
	} {
		if got := Redact(dsn); got != want {
			t.Errorf("Redact(%q) = %q, want %q", dsn, got, want)
		}
	}
}

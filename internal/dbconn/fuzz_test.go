package dbconn

import (
	"strings"
	"testing"
)

// FuzzRedact: Redact never panics, and a password the DSN carries (as the
// driver splits it: user up to the first ':' of what precedes the LAST '@')
// never shows in its output, unless that text is also in what Redact may
// show: user@address/database.
func FuzzRedact(f *testing.F) {
	for _, dsn := range []string{
		"root:pw@tcp(127.0.0.1:3306)/app", "us@er:s3cret@tcp(db1:3306)/", "a:b:c@unix(/run/mysqld.sock)/x?tls=true",
		"mysql://root:p%40ss@db1:3307/app", "mysql://us%40er:pw@db1/", "mysql://root@db1", "root@tcp(db1)/", "@/", ":pw@/",
		"user:pa)ss@tcp(h:1)/", "mysql://%zz@h/", "",
	} {
		f.Add(dsn)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		out := Redact(dsn)
		cfg, has, err := ParseDSN(dsn)
		if err != nil || !has || cfg.Passwd == "" {
			return
		}
		pw := cfg.Passwd
		if strings.Contains(cfg.User+"@"+cfg.Addr+"/"+cfg.DBName, pw) {
			return // the password's text is also a part that is shown
		}
		if strings.Contains(out, pw) {
			t.Fatalf("Redact(%q) = %q shows the password %q", dsn, out, pw)
		}
	})
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

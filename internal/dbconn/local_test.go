package dbconn

import "testing"

func TestLocal_Addresses(t *testing.T) {
	for _, tc := range []struct {
		dsn  string
		want bool
	}{
		{"u@tcp(127.0.0.1:3306)/db", true},
		{"u@tcp(127.0.0.2:3306)/db", true},
		{"u@tcp([::1]:3306)/db", true},
		{"u@tcp(localhost:3306)/", true},
		{"u@unix(/run/mysqld/mysqld.sock)/db", true},
		{"mysql://u@127.0.0.1:3307/db", true},
		{"u@/db", true}, // no address: the 127.0.0.1:3306 default
		{"u@tcp(10.0.0.5:3306)/db", false},
		{"mysql://u@db.example.com/db", false},
		{"::not a dsn", false},
	} {
		if got := Local(tc.dsn); got != tc.want {
			t.Errorf("Local(%q) = %v, want %v", tc.dsn, got, tc.want)
		}
	}
}

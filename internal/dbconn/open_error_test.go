package dbconn_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

const openErrPassword = "Sup3r-S3cret-Pw"

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// TestOpen_ErrorHidesPassword: whatever fails in Open, the error it returns
// (which the CLI prints) does not hold the password given in the DSN.
func TestOpen_ErrorHidesPassword(t *testing.T) {
	port := closedPort(t)
	for _, dsn := range []string{
		"root:" + openErrPassword + "@tcp(127.0.0.1:" + port + ")/app",
		"mysql://root:" + openErrPassword + "@127.0.0.1:" + port + "/app",
		"root:" + openErrPassword + "@tcp(127.0.0.1:99999)/app",
		"root:" + openErrPassword + "@tcp(127.0.0.1:notaport)/app",
		"root:" + openErrPassword + "@tcp(127.0.0.1:3306/app",
		"root:" + openErrPassword + "@tcp(127.0.0.1:3306)/app?timeout=bogus",
		"mysql://root:" + openErrPassword + "@127.0.0.1:notaport/app",
		"mysql://root:" + openErrPassword + "@127.0.0.1:99999/app",
		"mysql://root:" + openErrPassword + "@[127.0.0.1/app",
	} {
		_, err := dbconn.Open(context.Background(), dbconn.Spec{Role: "source", DSN: dsn, TLS: "off"}, nil)
		if err == nil {
			t.Errorf("Open(%s) succeeded", dbconn.Redact(dsn))
			continue
		}
		if strings.Contains(err.Error(), openErrPassword) {
			t.Errorf("Open's error shows the password: %v", err)
		}
	}
}

// TestOpen_WrongPasswordErrorHidesIt: the server's refusal of a wrong
// password, as Open reports it, does not hold that password.
func TestOpen_WrongPasswordErrorHidesIt(t *testing.T) {
	s := sandboxtest.New(t, sandbox.Options{Instances: 1})
	inst := s.Instances[0]
	for _, spec := range []dbconn.Spec{
		{Role: "source", DSN: inst.AdminUser + ":" + openErrPassword + "@tcp(" + inst.Addr() + ")/", TLS: "off"},
		{Role: "source", DSN: inst.DSN(), Password: openErrPassword, TLS: "off"},
	} {
		_, err := dbconn.Open(context.Background(), spec, nil)
		if err == nil {
			t.Fatal("Open with a wrong password succeeded")
		}
		if dbconn.ErrorNumber(err) != 1045 {
			t.Errorf("Open with a wrong password: %v, want error 1045", err)
		}
		if strings.Contains(err.Error(), openErrPassword) {
			t.Errorf("Open's error shows the password: %v", err)
		}
	}
}

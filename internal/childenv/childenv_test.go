package childenv_test

import (
	"strings"
	"testing"

	"github.com/dbshift/dbshift/internal/childenv"
)

func TestCheckName(t *testing.T) {
	cases := []struct {
		name, wantErr string
	}{
		{"APP_TOKEN", ""},
		{"_x1", ""},
		{"", "empty"},
		{"1ABC", "not a variable name"},
		{"A-B", "not a variable name"},
		{"A=B", "not a variable name"},
		{"MYSQL_PWD", "password"},
		{"DBSHIFT_SOURCE_PASSWORD", "password"},
	}
	for _, c := range cases {
		err := childenv.CheckName(c.name)
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("CheckName(%q) = %v, want %q", c.name, err, c.wantErr)
		}
	}
}

func TestEnviron_SetWinsAndRefusedNamesStayOut(t *testing.T) {
	t.Setenv("DBSHIFT_PHASE", "from-the-shell")
	t.Setenv("MYSQL_PWD", "s3cret")
	t.Setenv("LC_TIME", "C")
	env := childenv.Environ([]string{"DBSHIFT_PHASE", "MYSQL_PWD"}, "DBSHIFT_PHASE=switch")
	got := strings.Join(env, "\n") + "\n"
	if strings.Contains(got, "from-the-shell") || strings.Contains(got, "s3cret") || !strings.Contains(got, "DBSHIFT_PHASE=switch\n") || !strings.Contains(got, "LC_TIME=C\n") {
		t.Errorf("Environ =\n%s", got)
	}
}

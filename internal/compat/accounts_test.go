package compat

import (
	"context"
	"github.com/dbshift/dbshift/internal/flavor"
	"strings"
	"testing"
)

func TestGrantPrivileges(t *testing.T) {
	cases := []struct{ line, want string }{
		{"GRANT SUPER, BINLOG MONITOR, SET USER ON *.* TO `adm`@`%` IDENTIFIED BY PASSWORD '*B6'", "SUPER|BINLOG MONITOR|SET USER"},
		{"GRANT SELECT (a, b), INSERT (c) ON `shop`.`t` TO `app`@`%`", "SELECT|INSERT"},
		{"GRANT APPLICATION_PASSWORD_ADMIN,SET_USER_ID,SYSTEM_VARIABLES_ADMIN ON *.* TO `root`@`localhost`", "APPLICATION_PASSWORD_ADMIN|SET_USER_ID|SYSTEM_VARIABLES_ADMIN"},
		{"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION", "ALL PRIVILEGES"},
		{"GRANT `ops` TO `adm`@`%`", ""},
		{"GRANT USAGE ON *.* TO `legacy`@`%`", "USAGE"},
	}
	for _, c := range cases {
		if got := strings.Join(flavor.GrantPrivileges(c.line), "|"); got != c.want {
			t.Errorf("%s: %q, want %q", c.line, got, c.want)
		}
	}
}

// MariaDB has neither default_authentication_plugin nor
// authentication_policy, so the check runs on variables as MySQL shows them.
func TestCheckDefaultAuthPlugin_PerSourceAndTarget(t *testing.T) {
	cases := []struct {
		name    string
		src     string
		target  Target
		vars    map[string]string
		objects string
		sev     Severity
	}{
		{"5.7 compiled default", "5.7.44", Target80, map[string]string{"default_authentication_plugin": "mysql_native_password"}, "", ""},
		{"5.7 sha256 default", "5.7.44", Target80, map[string]string{"default_authentication_plugin": "sha256_password"}, "default_authentication_plugin", SevWarning},
		{"8.0 native to 8.4", "8.0.36", Target84, map[string]string{"default_authentication_plugin": "mysql_native_password", "authentication_policy": "*,,"}, "default_authentication_plugin", SevError},
		{"8.0 caching_sha2", "8.0.36", Target84, map[string]string{"default_authentication_plugin": "caching_sha2_password", "authentication_policy": "*,,"}, "", ""},
		{"8.0 policy names native", "8.0.36", Target84, map[string]string{"default_authentication_plugin": "caching_sha2_password", "authentication_policy": "mysql_native_password,,"}, "authentication_policy", SevError},
		{"MariaDB has neither", "10.11.6-MariaDB", Target84, map[string]string{"sql_mode": ""}, "", ""},
	}
	for _, c := range cases {
		v, err := ParseVersion(c.src)
		if err != nil {
			t.Fatal(err)
		}
		e := &liveEnv{src: v, target: c.target, vars: c.vars, check: checkByID(t, "default-authentication-plugin")}
		fs, err := checkDefaultAuthPlugin(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		var objs []string
		for _, f := range fs {
			objs = append(objs, f.Object)
			if f.Severity != c.sev {
				t.Errorf("%s: severity %s, want %s", c.name, f.Severity, c.sev)
			}
		}
		if got := strings.Join(objs, ","); got != c.objects {
			t.Errorf("%s: findings on %q, want %q", c.name, got, c.objects)
		}
	}
}

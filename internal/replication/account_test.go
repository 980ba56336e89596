package replication

import (
	"reflect"
	"strings"
	"testing"
)

func TestExtraPrivileges_OnlyReplicationPasses(t *testing.T) {
	hash := "*667F407DE7C6AD07358FA38DAED7828A72014B4E"
	cases := []struct {
		grants []string
		want   []string
	}{
		{[]string{"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `r`@`h` IDENTIFIED BY PASSWORD '" + hash + "' REQUIRE SSL"}, nil},
		{[]string{"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `r`@`h`"}, nil},
		{[]string{"GRANT USAGE ON *.* TO `r`@`h`"}, nil},
		{[]string{"GRANT ALL PRIVILEGES ON *.* TO `dbshift`@`%` IDENTIFIED BY PASSWORD '" + hash + "' WITH GRANT OPTION"}, []string{"ALL PRIVILEGES ON *.*", "GRANT OPTION"}},
		{[]string{"GRANT REPLICATION SLAVE ON *.* TO `r`@`h`", "GRANT SELECT ON `mysql`.* TO `r`@`h`"}, []string{"SELECT ON `mysql`.*"}},
		{[]string{"GRANT `rr` TO `r`@`h`", "SET DEFAULT ROLE `rr` FOR `r`@`h`"}, []string{"SET DEFAULT ROLE", "role `rr`"}},
		{[]string{"GRANT PROXY ON ''@'' TO 'root'@'localhost' WITH GRANT OPTION"}, []string{"GRANT OPTION", "PROXY ON ''@''"}},
	}
	for _, c := range cases {
		got := extraPrivileges(c.grants)
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("extraPrivileges(%q) = %q, want %q", c.grants, got, c.want)
		}
		if strings.Contains(strings.Join(got, " "), hash) {
			t.Errorf("password hash in %q", got)
		}
	}
}

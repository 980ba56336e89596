package compat

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

func TestCircularPath(t *testing.T) {
	cases := []struct {
		path string
		want bool
	}{
		{"/data/a/../b/t.ibd", true},
		{`C:\data\a\..\b\t.ibd`, true},
		{"./shop/orders.ibd", false},
		{"../data2/shop/orders.ibd", false},
		{"/data/../../x/t.ibd", true},
		{"/data/a..b/t.ibd", false},
		{"/data/.../b/t.ibd", false},
		{"/data/a/./b/t.ibd", false},
	}
	for _, c := range cases {
		if got := circularPath(c.path); got != c.want {
			t.Errorf("circularPath(%q) = %v, want %v", c.path, got, c.want)
		}
	}
}

func TestSplitDictName(t *testing.T) {
	cases := []struct {
		name, schema, table, part string
		ok                        bool
	}{
		{"shop/orders", "shop", "orders", "", true},
		{"shop/orders#P#p0", "shop", "orders", "p0", true},
		{"shop/orders#p#p0#sp#s1", "shop", "orders", "p0#sp#s1", true},
		{"my@002dshop/@0024money", "my-shop", "$money", "", true},
		{"shop/FTS_0000000000000123_CONFIG", "", "", "", false},
		{"SYS_FOREIGN", "", "", "", false},
	}
	for _, c := range cases {
		s, tb, p, ok := splitDictName(c.name)
		if s != c.schema || tb != c.table || p != c.part || ok != c.ok {
			t.Errorf("splitDictName(%q) = %q %q %q %v", c.name, s, tb, p, ok)
		}
	}
}

// MySQL 8.0 renamed the dictionary views; no server here speaks 8.0, so the
// names each source gets are asserted.
func TestInnodbDictTables_PerSource(t *testing.T) {
	cases := []struct{ version, tables, spaces string }{
		{"5.7.44-log", "INNODB_SYS_TABLES", "INNODB_SYS_TABLESPACES"},
		{"10.11.6-MariaDB", "INNODB_SYS_TABLES", "INNODB_SYS_TABLESPACES"},
		{"8.0.12", "INNODB_TABLES", "INNODB_TABLESPACES"},
	}
	for _, c := range cases {
		v, err := ParseVersion(c.version)
		if err != nil {
			t.Fatal(err)
		}
		e := &liveEnv{src: v}
		if tb, sp := e.innodbDictTables(); tb != c.tables || sp != c.spaces {
			t.Errorf("%s: %s, %s", c.version, tb, sp)
		}
	}
}

func checkByID(t *testing.T, id string) *Check {
	t.Helper()
	for _, c := range Checks() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s", id)
	return nil
}

// General tablespaces exist on 5.7 and 8.0 only (MariaDB's InnoDB has
// none), so this branch runs on a dictionary as 5.7 shows it.
func TestCheckPartitionsSharedTablespace_GeneralTablespace(t *testing.T) {
	v, _ := ParseVersion("5.7.44")
	e := &liveEnv{src: v, target: Target80, check: checkByID(t, "partitions-shared-tablespace"), schemas: []string{"shop"},
		dictCache: []dictEntry{
			{schema: "shop", table: "orders", partition: "p0", space: 31, spaceType: "General"},
			{schema: "shop", table: "orders", partition: "p1", space: 31, spaceType: "General"},
			{schema: "shop", table: "events", partition: "p0", space: 40, spaceType: "Single"},
			{schema: "shop", table: "users", space: 0, spaceType: "System"},
		}}
	fs, err := checkPartitionsSharedTablespace(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Object != "shop.orders" || fs[0].Count != 2 || fs[0].Severity != SevError || !strings.Contains(fs[0].Message, "general tablespace 31") {
		t.Errorf("findings %+v, want shop.orders with 2 partitions in general tablespace 31", fs)
	}
}

func TestKeyPartBytes(t *testing.T) {
	null := sql.NullInt64{}
	prefix := func(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: true} }
	cases := []struct {
		name          string
		sub           sql.NullInt64
		octets, chars int64
		want          int64
	}{
		{"whole utf8mb4 VARCHAR(300)", null, 1200, 300, 1200},
		{"utf8mb4 prefix 191", prefix(191), 1200, 300, 764},
		{"utf8mb3 prefix 255", prefix(255), 900, 300, 765},
		{"latin1 prefix 767", prefix(767), 1000, 1000, 767},
		{"VARBINARY prefix in bytes", prefix(800), 1000, 1000, 800},
	}
	for _, c := range cases {
		if got := keyPartBytes(c.sub, c.octets, c.chars); got != c.want {
			t.Errorf("%s: %d bytes, want %d", c.name, got, c.want)
		}
	}
}

func TestDeprecatedColumnSyntax(t *testing.T) {
	cases := []struct {
		dataType, columnType string
		want                 string
	}{
		{"float", "float(7,2)", "FLOAT(M,D)"},
		{"double", "double(10,3) unsigned", "DOUBLE(M,D), UNSIGNED on DOUBLE"},
		{"decimal", "decimal(5,2) unsigned", "UNSIGNED on DECIMAL"},
		{"int", "int(5) unsigned zerofill", "display width (5), ZEROFILL"},
		{"int", "int(10) unsigned zerofill", "ZEROFILL"},
		{"int", "int(11)", ""},
		{"int", "int", ""},
		{"tinyint", "tinyint(1)", ""},
		{"bigint", "bigint(20) unsigned", ""},
		{"mediumint", "mediumint(3)", "display width (3)"},
		{"decimal", "decimal(10,2)", ""},
		{"float", "float", ""},
	}
	for _, c := range cases {
		if got := strings.Join(deprecatedColumnSyntax(c.dataType, c.columnType), ", "); got != c.want {
			t.Errorf("%s: %q, want %q", c.columnType, got, c.want)
		}
	}
}

func TestUTF8MB3Use(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"SELECT CONVERT(a USING utf8)", "UTF8"},
		{"SELECT CAST(a AS CHAR CHARACTER SET utf8mb3)", "UTF8MB3"},
		{"SELECT a COLLATE utf8_general_ci FROM t", "UTF8_GENERAL_CI"},
		{"SELECT _utf8'x'", "_UTF8"},
		{"DECLARE v VARCHAR(10) CHARSET utf8; SELECT 1", "UTF8"},
		{"SELECT CONVERT(a USING utf8mb4) AS utf8_label", ""},
		{"SELECT utf8_name, utf8 FROM t", ""},
		{"SELECT 'CONVERT(a USING utf8)'", ""},
		{"SELECT a COLLATE utf8mb4_bin FROM t", ""},
	}
	for _, c := range cases {
		if got := utf8mb3Use(scanSQL(c.sql)); got != c.want {
			t.Errorf("%s: %q, want %q", c.sql, got, c.want)
		}
	}
}

func TestCastOrConvert(t *testing.T) {
	cases := map[string]bool{
		"cast(`j` as date)":                     true,
		"convert(`a` using utf8mb4)":            true,
		"`a` * 2":                               false,
		"concat(`cast`, 'CAST(x AS DATE)')":     false,
		"json_unquote(json_extract(`d`,'$.x'))": false,
	}
	for expr, want := range cases {
		if got := castOrConvert(expr); got != want {
			t.Errorf("%s: %v, want %v", expr, got, want)
		}
	}
	if got := strings.Join(exprColumns("`name`,`id`"), "|"); got != "name|id" {
		t.Errorf("exprColumns: %q", got)
	}
}

package compat

import "strings"

// Words reserved by 8.0 that 5.7 did not reserve (MySQL 8.0 manual,
// "Keywords and Reserved Words", entries marked (R) and "added in 8.0").
// ARRAY and MEMBER were reserved only in 8.0.17/18 and are left out.
var reserved80 = []string{
	"CUBE", "CUME_DIST", "DENSE_RANK", "EMPTY", "EXCEPT", "FIRST_VALUE",
	"FUNCTION", "GROUPING", "GROUPS", "INTERSECT", "JSON_TABLE", "LAG",
	"LAST_VALUE", "LATERAL", "LEAD", "NTH_VALUE", "NTILE", "OF", "OVER",
	"PERCENT_RANK", "RANK", "RECURSIVE", "ROW", "ROWS", "ROW_NUMBER",
	"SYSTEM", "WINDOW",
}

// Words reserved by 8.4 that 8.0 did not reserve.
var reserved84 = []string{"MANUAL", "PARALLEL", "QUALIFY", "TABLESAMPLE"}

// reservedWords returns the words, upper case, that the target reserves
// and the source did not.
func reservedWords(src Version, target Target) map[string]bool {
	m := map[string]bool{}
	if src.before("8.0") {
		for _, w := range reserved80 {
			m[w] = true
		}
	}
	if target == Target84 && src.before("8.4") {
		for _, w := range reserved84 {
			m[w] = true
		}
	}
	return m
}

// removedFunction is a function the target no longer has.
type removedFunction struct {
	Name        string
	RemovedIn   Target
	Replacement string
}

var removedFunctions = func() []removedFunction {
	fs := []removedFunction{
		{"PASSWORD", Target80, "SHA2() for hashing; ALTER USER / CREATE USER ... IDENTIFIED BY for accounts"},
		{"OLD_PASSWORD", Target80, "SHA2()"},
		{"ENCRYPT", Target80, "SHA2()"},
		{"ENCODE", Target80, "AES_ENCRYPT()"},
		{"DECODE", Target80, "AES_DECRYPT()"},
		{"DES_ENCRYPT", Target80, "AES_ENCRYPT()"},
		{"DES_DECRYPT", Target80, "AES_DECRYPT()"},
		{"WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS", Target84, "WAIT_FOR_EXECUTED_GTID_SET()"},
	}
	// 8.0 removed the spatial functions without the ST_/MBR prefix.
	spatial := [][2]string{
		{"AREA", "ST_AREA"}, {"ASBINARY", "ST_ASBINARY"}, {"ASTEXT", "ST_ASTEXT"},
		{"ASWKB", "ST_ASWKB"}, {"ASWKT", "ST_ASWKT"}, {"BUFFER", "ST_BUFFER"},
		{"CENTROID", "ST_CENTROID"}, {"CONTAINS", "MBRCONTAINS"}, {"CROSSES", "ST_CROSSES"},
		{"DIMENSION", "ST_DIMENSION"}, {"DISJOINT", "MBRDISJOINT"}, {"DISTANCE", "ST_DISTANCE"},
		{"ENDPOINT", "ST_ENDPOINT"}, {"ENVELOPE", "ST_ENVELOPE"}, {"EQUALS", "MBREQUALS"},
		{"EXTERIORRING", "ST_EXTERIORRING"}, {"GEOMCOLLFROMTEXT", "ST_GEOMCOLLFROMTEXT"},
		{"GEOMCOLLFROMWKB", "ST_GEOMCOLLFROMWKB"}, {"GEOMETRYCOLLECTIONFROMTEXT", "ST_GEOMCOLLFROMTEXT"},
		{"GEOMETRYCOLLECTIONFROMWKB", "ST_GEOMCOLLFROMWKB"}, {"GEOMETRYFROMTEXT", "ST_GEOMFROMTEXT"},
		{"GEOMETRYFROMWKB", "ST_GEOMFROMWKB"}, {"GEOMETRYN", "ST_GEOMETRYN"},
		{"GEOMETRYTYPE", "ST_GEOMETRYTYPE"}, {"GEOMFROMTEXT", "ST_GEOMFROMTEXT"},
		{"GEOMFROMWKB", "ST_GEOMFROMWKB"}, {"GLENGTH", "ST_LENGTH"},
		{"INTERIORRINGN", "ST_INTERIORRINGN"}, {"INTERSECTS", "MBRINTERSECTS"},
		{"ISCLOSED", "ST_ISCLOSED"}, {"ISEMPTY", "ST_ISEMPTY"}, {"ISSIMPLE", "ST_ISSIMPLE"},
		{"LINEFROMTEXT", "ST_LINEFROMTEXT"}, {"LINEFROMWKB", "ST_LINEFROMWKB"},
		{"LINESTRINGFROMTEXT", "ST_LINEFROMTEXT"}, {"LINESTRINGFROMWKB", "ST_LINEFROMWKB"},
		{"MBREQUAL", "MBREQUALS"}, {"MLINEFROMTEXT", "ST_MLINEFROMTEXT"},
		{"MLINEFROMWKB", "ST_MLINEFROMWKB"}, {"MPOINTFROMTEXT", "ST_MPOINTFROMTEXT"},
		{"MPOINTFROMWKB", "ST_MPOINTFROMWKB"}, {"MPOLYFROMTEXT", "ST_MPOLYFROMTEXT"},
		{"MPOLYFROMWKB", "ST_MPOLYFROMWKB"}, {"MULTILINESTRINGFROMTEXT", "ST_MLINEFROMTEXT"},
		{"MULTILINESTRINGFROMWKB", "ST_MLINEFROMWKB"}, {"MULTIPOINTFROMTEXT", "ST_MPOINTFROMTEXT"},
		{"MULTIPOINTFROMWKB", "ST_MPOINTFROMWKB"}, {"MULTIPOLYGONFROMTEXT", "ST_MPOLYFROMTEXT"},
		{"MULTIPOLYGONFROMWKB", "ST_MPOLYFROMWKB"}, {"NUMGEOMETRIES", "ST_NUMGEOMETRIES"},
		{"NUMINTERIORRINGS", "ST_NUMINTERIORRINGS"}, {"NUMPOINTS", "ST_NUMPOINTS"},
		{"OVERLAPS", "MBROVERLAPS"}, {"POINTFROMTEXT", "ST_POINTFROMTEXT"},
		{"POINTFROMWKB", "ST_POINTFROMWKB"}, {"POINTN", "ST_POINTN"},
		{"POLYFROMTEXT", "ST_POLYFROMTEXT"}, {"POLYFROMWKB", "ST_POLYFROMWKB"},
		{"POLYGONFROMTEXT", "ST_POLYFROMTEXT"}, {"POLYGONFROMWKB", "ST_POLYFROMWKB"},
		{"SRID", "ST_SRID"}, {"STARTPOINT", "ST_STARTPOINT"}, {"TOUCHES", "ST_TOUCHES"},
		{"WITHIN", "MBRWITHIN"}, {"X", "ST_X"}, {"Y", "ST_Y"},
	}
	for _, s := range spatial {
		fs = append(fs, removedFunction{s[0], Target80, s[1] + "()"})
	}
	return fs
}()

// removedFunctionsFor returns the functions, keyed by upper-case name, that
// the target lacks and the source had.
func removedFunctionsFor(src Version, target Target) map[string]removedFunction {
	m := map[string]removedFunction{}
	for _, f := range removedFunctions {
		switch {
		case f.RemovedIn == Target80 && src.before("8.0"),
			f.RemovedIn == Target84 && target == Target84 && src.before("8.4"):
			m[f.Name] = f
		}
	}
	return m
}

// sql_mode flags 8.0 removed.
var obsoleteSQLModes = []string{
	"DB2", "MSSQL", "MYSQL323", "MYSQL40", "ORACLE", "POSTGRESQL", "MAXDB",
	"NO_FIELD_OPTIONS", "NO_KEY_OPTIONS", "NO_TABLE_OPTIONS", "NO_AUTO_CREATE_USER",
}

// default8SQLMode is the default sql_mode of 8.0 and 8.4.
var default8SQLMode = []string{
	"ONLY_FULL_GROUP_BY", "STRICT_TRANS_TABLES", "NO_ZERO_IN_DATE", "NO_ZERO_DATE",
	"ERROR_FOR_DIVISION_BY_ZERO", "NO_ENGINE_SUBSTITUTION",
}

// sqlModeFlags splits a sql_mode value into its flags, upper case.
func sqlModeFlags(mode string) []string {
	var out []string
	for _, f := range strings.Split(mode, ",") {
		if f = strings.ToUpper(strings.TrimSpace(f)); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

// Tables of 8.0's data dictionary and new system tables in the mysql schema.
var dictionaryTables = []string{
	"catalogs", "character_sets", "check_constraints", "collations",
	"column_statistics", "column_type_elements", "columns", "dd_properties",
	"events", "foreign_key_column_usage", "foreign_keys", "index_column_usage",
	"index_partitions", "index_stats", "indexes", "parameter_type_elements",
	"parameters", "resource_groups", "routines", "schemata",
	"st_spatial_reference_systems", "table_partition_values",
	"table_partitions", "table_stats", "tables", "tablespace_files",
	"tablespaces", "triggers", "view_routine_usage", "view_table_usage",
	"component", "default_roles", "global_grants", "innodb_ddl_log",
	"innodb_dynamic_metadata", "password_history", "role_edges",
}

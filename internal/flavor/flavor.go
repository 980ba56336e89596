// Package flavor knows which kind of server dbshift is talking to and answers
// capability questions about it, so that no caller compares version strings.
// It also emits each dialect's replication SQL.
//
// Modelled on skeema's tengo.Flavor: one value type, capability methods.
package flavor

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Vendor is the server family.
type Vendor int

const (
	Unknown Vendor = iota
	MySQL
	MariaDB
)

func (v Vendor) String() string {
	switch v {
	case MySQL:
		return "mysql"
	case MariaDB:
		return "mariadb"
	default:
		return "unknown"
	}
}

// Flavor is a server kind and version, plus whether it is the Amazon RDS
// variant (no SUPER; replication driven through mysql.rds_* procedures).
type Flavor struct {
	Vendor Vendor
	Major  int
	Minor  int
	Patch  int
	RDS    bool
}

var versionRe = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// Parse reads @@version and @@version_comment. A MariaDB version string can be
// prefixed with "5.5.5-" by old protocol shims; the comment or the "MariaDB"
// suffix decides the vendor.
func Parse(version, comment string) (Flavor, error) {
	v := strings.TrimPrefix(version, "5.5.5-")
	m := versionRe.FindStringSubmatch(v)
	if m == nil {
		return Flavor{}, fmt.Errorf("unrecognised server version %q", version)
	}
	f := Flavor{Vendor: MySQL}
	f.Major, _ = strconv.Atoi(m[1])
	f.Minor, _ = strconv.Atoi(m[2])
	f.Patch, _ = strconv.Atoi(m[3])
	if strings.Contains(strings.ToLower(version+" "+comment), "mariadb") {
		f.Vendor = MariaDB
	}
	return f, nil
}

// MustParse is Parse for tests and tables of known versions.
func MustParse(s string) Flavor {
	rds := strings.HasPrefix(s, "rds-")
	s = strings.TrimPrefix(s, "rds-")
	vendor, ver, ok := strings.Cut(s, ":")
	if !ok {
		panic("flavor.MustParse wants vendor:version, got " + s)
	}
	f, err := Parse(ver, vendor)
	if err != nil {
		panic(err)
	}
	f.RDS = rds
	return f
}

func (f Flavor) String() string {
	p := ""
	if f.RDS {
		p = "rds-"
	}
	return fmt.Sprintf("%s%s:%d.%d.%d", p, f.Vendor, f.Major, f.Minor, f.Patch)
}

// AtLeast reports whether the version is at least major.minor.patch.
func (f Flavor) AtLeast(major, minor, patch int) bool {
	if f.Major != major {
		return f.Major > major
	}
	if f.Minor != minor {
		return f.Minor > minor
	}
	return f.Patch >= patch
}

func (f Flavor) IsMySQL() bool   { return f.Vendor == MySQL }
func (f Flavor) IsMariaDB() bool { return f.Vendor == MariaDB }

// HasSuperReadOnly: MySQL 5.7.8 added super_read_only; MariaDB has none (its
// read_only already binds everyone without READ_ONLY ADMIN from 10.11 on).
func (f Flavor) HasSuperReadOnly() bool { return f.IsMySQL() && f.AtLeast(5, 7, 8) }

// UsesReplicaTerms: MySQL 8.0.22 introduced SHOW REPLICA STATUS/START REPLICA
// and 8.0.23 CHANGE REPLICATION SOURCE TO; 8.4 removed the old words.
func (f Flavor) UsesReplicaTerms() bool { return f.IsMySQL() && f.AtLeast(8, 0, 23) }

// HasMySQLGTID: MySQL's gtid_executed sets (5.6+), as opposed to MariaDB's
// domain-server-seqno positions.
func (f Flavor) HasMySQLGTID() bool { return f.IsMySQL() }

// HasMariaDBGTID: gtid_slave_pos / MASTER_USE_GTID / MASTER_GTID_WAIT (10.0+).
func (f Flavor) HasMariaDBGTID() bool { return f.IsMariaDB() && f.AtLeast(10, 0, 0) }

// DefaultAuthPlugin is the plugin CREATE USER picks without IDENTIFIED WITH.
func (f Flavor) DefaultAuthPlugin() string {
	if f.IsMySQL() && f.AtLeast(8, 0, 0) {
		return "caching_sha2_password"
	}
	return "mysql_native_password"
}

// Package compat finds what breaks when a MySQL-family server is upgraded to
// MySQL 8.0 or 8.4: in the schema, accounts and variables of a live server
// (the checks MySQL Shell's util.checkForServerUpgrade() runs, plus those
// runbook 2 learned the hard way) and in the application's own logged queries,
// which the Shell never looks at.
//
// Every check is one entry of the ordered registry (Checks), which is also
// the documentation printed by `dbshift check-upgrade --list`.
package compat

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Severity says whether a finding blocks the upgrade (error), needs a
// decision (warning) or is worth knowing (notice).
type Severity string

const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
	SevNotice  Severity = "notice"
)

func (s Severity) rank() int {
	switch s {
	case SevError:
		return 0
	case SevWarning:
		return 1
	}
	return 2
}

// Finding is one problem, as the JSON report shows it. Object is
// "schema.table[.column]", "'user'@'host'" or a variable name; Query is an
// example query when the finding comes from the query log, and Count how many
// objects or logged queries share it.
type Finding struct {
	Check    string   `json:"check"`
	Severity Severity `json:"severity"`
	Object   string   `json:"object,omitempty"`
	Query    string   `json:"query,omitempty"`
	Count    int      `json:"count"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

// Target is the MySQL series being upgraded to.
type Target string

const (
	Target80 Target = "8.0"
	Target84 Target = "8.4"
)

// ParseTarget accepts "8.0" and "8.4".
func ParseTarget(s string) (Target, error) {
	switch Target(s) {
	case Target80, Target84:
		return Target(s), nil
	}
	return "", fmt.Errorf("target version %q: want 8.0 or 8.4", s)
}

// Version is what the source server says it is.
type Version struct {
	Major, Minor, Patch int
	MariaDB             bool
	Raw                 string
}

var versionRe = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)`)

// ParseVersion reads a VERSION() string such as "5.7.44-log",
// "8.0.36" or "10.11.6-MariaDB-0+deb12u1".
func ParseVersion(s string) (Version, error) {
	m := versionRe.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("server version %q: not major.minor.patch", s)
	}
	v := Version{Raw: s, MariaDB: strings.Contains(strings.ToLower(s), "mariadb")}
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	v.Patch, _ = strconv.Atoi(m[3])
	return v, nil
}

// before reports whether the source is older than the MySQL version "M.m"
// or "M.m.p".
// A MariaDB source is older than every MySQL series for this purpose: moving
// from MariaDB to MySQL 8 meets every 5.7->8.0 change and more.
func (v Version) before(series string) bool {
	if series == "" {
		return true
	}
	if v.MariaDB || v.Raw == "" {
		return true
	}
	var want [3]int
	for i, part := range strings.SplitN(series, ".", 3) {
		want[i], _ = strconv.Atoi(part)
	}
	have := [3]int{v.Major, v.Minor, v.Patch}
	for i := range have {
		if have[i] != want[i] {
			return have[i] < want[i]
		}
	}
	return false
}

func (v Version) String() string {
	if v.Raw != "" {
		return v.Raw
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Package preflight checks a source (and optionally a target) before any
// migration work: binlog settings and retention, server identities, GTID,
// privileges, TLS, and whether the target is empty or restored. Each finding
// is pass, warn or fail, with a fix.
package preflight

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/replication"
)

// Status of one finding.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
	Info Status = "info"
)

// Finding is one check's outcome.
type Finding struct {
	Check   string `json:"check"`
	Server  string `json:"server"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Options tune the checks.
type Options struct {
	// MinRetention is the binlog retention the migration needs: long enough
	// to clone, restore and catch up (the RDS runbook uses 168 h).
	MinRetention time.Duration
}

// Report is the ordered list of findings.
type Report struct {
	Findings []Finding `json:"findings"`
}

// Failed reports whether any finding failed.
func (r Report) Failed() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Status == Fail })
}

func (r *Report) add(check, server string, st Status, msg, fix string) {
	r.Findings = append(r.Findings, Finding{Check: check, Server: server, Status: st, Message: msg, Fix: fix})
}

// Run checks source and, when not nil, target.
func Run(ctx context.Context, source, target *dbconn.Conn, o Options) (Report, error) {
	var r Report
	if err := checkSource(ctx, &r, source, o); err != nil {
		return r, err
	}
	if target != nil {
		if err := checkTarget(ctx, &r, source, target); err != nil {
			return r, err
		}
	}
	return r, nil
}

func vars(ctx context.Context, c *dbconn.Conn, names ...string) (map[string]string, error) {
	q := "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + strings.TrimSuffix(strings.Repeat("?,", len(names)), ",") + ")"
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	rows, err := c.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading variables of %s: %w", c, err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

func checkSource(ctx context.Context, r *Report, c *dbconn.Conn, o Options) error {
	srv := c.String()
	v, err := vars(ctx, c, "log_bin", "binlog_format", "binlog_row_image", "expire_logs_days",
		"binlog_expire_logs_seconds", "server_id", "gtid_mode", "have_ssl", "read_only", "gtid_strict_mode")
	if err != nil {
		return err
	}
	r.add("server", srv, Info, fmt.Sprintf("%s, server_id %d", c.Flavor, c.ServerID), "")
	binlogFix := "enable log_bin in the server's configuration (log_bin=mysql-bin) and restart it"
	if c.Flavor.RDS {
		binlogFix = "enable automated backups (backup retention > 0): RDS turns the binlog on with them"
	}
	if v["log_bin"] != "ON" && v["log_bin"] != "1" {
		r.add("binlog", srv, Fail, "the binary log is off: nothing can replicate from this server", binlogFix)
		return nil
	}
	r.add("binlog", srv, Pass, "binary log on", "")
	formatFix := "SET GLOBAL binlog_format = 'ROW' and put binlog_format=ROW in the configuration"
	if c.Flavor.RDS {
		formatFix = "set binlog_format=ROW in the instance's DB parameter group"
	}
	if v["binlog_format"] != "ROW" {
		r.add("binlog_format", srv, Fail, "binlog_format is "+v["binlog_format"]+"; row-based replication is needed for an exact copy", formatFix)
	} else {
		r.add("binlog_format", srv, Pass, "binlog_format=ROW", "")
	}
	if img := v["binlog_row_image"]; img != "" && img != "FULL" {
		r.add("binlog_row_image", srv, Fail, "binlog_row_image is "+img+"; FULL keeps every column for reverse replication and checks",
			strings.Replace(formatFix, "binlog_format=ROW", "binlog_row_image=FULL", 1))
	} else {
		r.add("binlog_row_image", srv, Pass, "binlog_row_image=FULL", "")
	}
	if err := checkRetention(ctx, r, c, v, o); err != nil {
		return err
	}
	if c.ServerID == 0 {
		r.add("server_id", srv, Fail, "server_id is 0: a source with server_id 0 refuses replicas", "set a unique non-zero server_id")
	}
	switch {
	case c.Flavor.IsMySQL() && v["gtid_mode"] == "ON":
		r.add("gtid", srv, Pass, "gtid_mode=ON: coordinates are recorded as GTID sets too", "")
	case c.Flavor.IsMySQL():
		r.add("gtid", srv, Info, "gtid_mode="+v["gtid_mode"]+": replication uses file:position only", "")
	default:
		r.add("gtid", srv, Pass, "MariaDB GTID: coordinates are recorded as GTID positions too", "")
	}
	if v["have_ssl"] == "YES" || c.TLS {
		r.add("tls", srv, Pass, "the source offers TLS: replication will be encrypted", "")
	} else {
		r.add("tls", srv, Warn, "the source offers no TLS: replication would cross the network in clear", "configure ssl_cert/ssl_key on the source, or accept --tls off")
	}
	return checkSourcePrivileges(ctx, r, c)
}

func checkRetention(ctx context.Context, r *Report, c *dbconn.Conn, v map[string]string, o Options) error {
	srv := c.String()
	need := o.MinRetention
	if need <= 0 {
		need = 24 * time.Hour
	}
	needHours := int((need + time.Hour - 1) / time.Hour)
	if c.Flavor.RDS {
		hours, set, err := rdsRetentionHours(ctx, c)
		if err != nil {
			return err
		}
		fix := fmt.Sprintf("CALL mysql.rds_set_configuration('binlog retention hours', %d);", max(needHours, 168))
		switch {
		case !set:
			r.add("binlog_retention", srv, Fail, "binlog retention hours is NULL: RDS purges binlogs as soon as it can, so the position recorded from the snapshot would be gone", fix)
		case hours < needHours:
			r.add("binlog_retention", srv, Fail, fmt.Sprintf("binlog retention hours is %d, the migration needs at least %d", hours, needHours), fix)
		default:
			r.add("binlog_retention", srv, Pass, fmt.Sprintf("binlog retention hours is %d", hours), "")
		}
		return nil
	}
	secs, _ := strconv.ParseInt(v["binlog_expire_logs_seconds"], 10, 64)
	days, _ := strconv.ParseFloat(v["expire_logs_days"], 64)
	ret := time.Duration(secs) * time.Second
	if ret == 0 && days > 0 {
		ret = time.Duration(days * float64(24*time.Hour))
	}
	fix := fmt.Sprintf("SET GLOBAL binlog_expire_logs_seconds = %d (and in the configuration)", int64(max(need, 168*time.Hour)/time.Second))
	if c.Flavor.IsMySQL() && !c.Flavor.AtLeast(8, 0, 1) {
		fix = fmt.Sprintf("SET GLOBAL expire_logs_days = %d (and in the configuration)", max(needHours/24+1, 7))
	}
	switch {
	case ret == 0:
		r.add("binlog_retention", srv, Pass, "binlogs are never purged automatically", "")
	case ret < need:
		r.add("binlog_retention", srv, Fail, fmt.Sprintf("binlogs are kept %s, the migration needs at least %s", ret, need), fix)
	default:
		r.add("binlog_retention", srv, Pass, fmt.Sprintf("binlogs are kept %s", ret), "")
	}
	return nil
}

// rdsRetentionHours reads 'binlog retention hours' from
// mysql.rds_show_configuration (NULL: not set).
func rdsRetentionHours(ctx context.Context, c *dbconn.Conn) (int, bool, error) {
	rows, err := c.DB.QueryContext(ctx, "CALL mysql.rds_show_configuration")
	if err != nil {
		return 0, false, fmt.Errorf("reading RDS configuration of %s: %w", c, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	hours, set := 0, false
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return 0, false, err
		}
		if vals[0].String == "binlog retention hours" && vals[1].Valid {
			hours, _ = strconv.Atoi(vals[1].String)
			set = true
		}
	}
	// The CALL returns an extra status result; drain it.
	for rows.NextResultSet() {
	}
	return hours, set, rows.Err()
}

// privileges lists the current account's global privileges.
func privileges(ctx context.Context, c *dbconn.Conn) (map[string]bool, error) {
	rows, err := c.DB.QueryContext(ctx, `SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES
		WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')`)
	if err != nil {
		return nil, fmt.Errorf("reading privileges on %s: %w", c, err)
	}
	defer rows.Close()
	p := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		p[strings.ToUpper(s)] = true
	}
	return p, rows.Err()
}

func checkSourcePrivileges(ctx context.Context, r *Report, c *dbconn.Conn) error {
	p, err := privileges(ctx, c)
	if err != nil {
		return err
	}
	var missing []string
	if !p["CREATE USER"] {
		missing = append(missing, "CREATE USER (to create the replication account)")
	}
	if !p["REPLICATION CLIENT"] && !p["BINLOG MONITOR"] && !p["SUPER"] {
		missing = append(missing, "REPLICATION CLIENT (to read binlog coordinates)")
	}
	if !p["REPLICATION SLAVE"] {
		missing = append(missing, "REPLICATION SLAVE (it must be held to be granted)")
	}
	if !p["PROCESS"] {
		missing = append(missing, "PROCESS (to see every session while draining)")
	}
	if len(missing) > 0 {
		r.add("privileges", c.String(), Fail, "the account lacks "+strings.Join(missing, ", "), "GRANT them to the account dbshift uses on the source")
	} else {
		r.add("privileges", c.String(), Pass, "the account can create the replication user and read coordinates", "")
	}
	return nil
}

var systemSchemas = []string{"mysql", "information_schema", "performance_schema", "sys", replication.Schema}

func userSchemas(ctx context.Context, c *dbconn.Conn) ([]string, error) {
	rows, err := c.DB.QueryContext(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
	if err != nil {
		return nil, fmt.Errorf("listing schemas of %s: %w", c, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if !slices.Contains(systemSchemas, s) {
			out = append(out, s)
		}
	}
	return out, rows.Err()
}

func checkTarget(ctx context.Context, r *Report, source, target *dbconn.Conn) error {
	srv := target.String()
	r.add("server", srv, Info, fmt.Sprintf("%s, server_id %d", target.Flavor, target.ServerID), "")
	if source.ServerID == target.ServerID {
		if source.Hostname == target.Hostname && source.Port() == target.Port() {
			r.add("distinct", srv, Fail, "source and target are the same server", "point --target at the new instance")
			return nil
		}
		r.add("server_id", srv, Fail, fmt.Sprintf("source and target share server_id %d: the target would skip the source's events", target.ServerID),
			"give the target another server_id (RDS assigns them itself)")
	} else {
		r.add("server_id", srv, Pass, "server_id differs from the source's", "")
	}
	if target.Flavor.Vendor != source.Flavor.Vendor {
		r.add("vendor", srv, Warn, fmt.Sprintf("replicating %s -> %s crosses server families; only some directions work", source.Flavor, target.Flavor), "")
	}
	if target.Flavor.Major < source.Flavor.Major || (target.Flavor.Major == source.Flavor.Major && target.Flavor.Minor < source.Flavor.Minor) {
		r.add("version", srv, Warn, fmt.Sprintf("the target (%s) is older than the source (%s): replication to an older version is unsupported", target.Flavor, source.Flavor), "")
	}
	st, err := replication.ReadStatus(ctx, target)
	if err != nil {
		return err
	}
	if st.Running() {
		r.add("replica", srv, Warn, fmt.Sprintf("the target already replicates from %s:%d", st.SourceHost, st.SourcePort), "")
	}
	srcSchemas, err := userSchemas(ctx, source)
	if err != nil {
		return err
	}
	tgtSchemas, err := userSchemas(ctx, target)
	if err != nil {
		return err
	}
	var missing []string
	for _, s := range srcSchemas {
		if !slices.Contains(tgtSchemas, s) {
			missing = append(missing, s)
		}
	}
	switch {
	case len(tgtSchemas) == 0:
		r.add("target_data", srv, Info, "the target is empty: restore the source's data (at a recorded position) before replicate start", "")
	case len(missing) == 0:
		r.add("target_data", srv, Pass, fmt.Sprintf("the target holds all %d of the source's schemas (restored)", len(srcSchemas)), "")
	default:
		r.add("target_data", srv, Warn, "the target lacks schemas the source has: "+strings.Join(missing, ", "), "restore the target from a backup of the source taken at a recorded position")
	}
	if !target.Flavor.RDS {
		p, err := privileges(ctx, target)
		if err != nil {
			return err
		}
		if !p["SUPER"] && !p["REPLICATION SLAVE ADMIN"] && !p["REPLICATION_SLAVE_ADMIN"] {
			r.add("privileges", srv, Fail, "the account cannot configure replication (needs SUPER or REPLICATION SLAVE ADMIN)", "GRANT REPLICATION SLAVE ADMIN (MariaDB) / REPLICATION_SLAVE_ADMIN (MySQL 8) to the account")
		} else {
			r.add("privileges", srv, Pass, "the account can configure replication", "")
		}
	}
	return nil
}

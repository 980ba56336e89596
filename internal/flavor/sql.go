package flavor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ReplicaStatusColumns are the column names of the replica status statement
// of one dialect. MariaDB kept the old names even under SHOW REPLICA STATUS.
type ReplicaStatusColumns struct {
	IORunning, SQLRunning                string
	SourceHost, SourcePort               string
	SourceLogFile, ReadSourceLogPos      string // what the IO thread fetched
	RelaySourceLogFile, ExecSourceLogPos string // what the SQL thread executed
	SecondsBehind                        string
	LastIOErrno, LastIOError             string
	LastSQLErrno, LastSQLError           string
	SQLRunningState                      string
	SourceServerID                       string
}

var oldColumns = ReplicaStatusColumns{
	IORunning: "Slave_IO_Running", SQLRunning: "Slave_SQL_Running",
	SourceHost: "Master_Host", SourcePort: "Master_Port",
	SourceLogFile: "Master_Log_File", ReadSourceLogPos: "Read_Master_Log_Pos",
	RelaySourceLogFile: "Relay_Master_Log_File", ExecSourceLogPos: "Exec_Master_Log_Pos",
	SecondsBehind: "Seconds_Behind_Master",
	LastIOErrno:   "Last_IO_Errno", LastIOError: "Last_IO_Error",
	LastSQLErrno: "Last_SQL_Errno", LastSQLError: "Last_SQL_Error",
	SQLRunningState: "Slave_SQL_Running_State",
	SourceServerID:  "Master_Server_Id",
}

var newColumns = ReplicaStatusColumns{
	IORunning: "Replica_IO_Running", SQLRunning: "Replica_SQL_Running",
	SourceHost: "Source_Host", SourcePort: "Source_Port",
	SourceLogFile: "Source_Log_File", ReadSourceLogPos: "Read_Source_Log_Pos",
	RelaySourceLogFile: "Relay_Source_Log_File", ExecSourceLogPos: "Exec_Source_Log_Pos",
	SecondsBehind: "Seconds_Behind_Source",
	LastIOErrno:   "Last_IO_Errno", LastIOError: "Last_IO_Error",
	LastSQLErrno: "Last_SQL_Errno", LastSQLError: "Last_SQL_Error",
	SQLRunningState: "Replica_SQL_Running_State",
	SourceServerID:  "Source_Server_Id",
}

// ReplicaStatusSQL is the statement that shows the replica's state.
func (f Flavor) ReplicaStatusSQL() string {
	if f.IsMySQL() && f.AtLeast(8, 0, 22) {
		return "SHOW REPLICA STATUS"
	}
	return "SHOW SLAVE STATUS"
}

// ReplicaStatusColumns names the columns ReplicaStatusSQL returns.
func (f Flavor) ReplicaStatusColumns() ReplicaStatusColumns {
	if f.IsMySQL() && f.AtLeast(8, 0, 22) {
		return newColumns
	}
	return oldColumns
}

// BinlogStatusSQL shows the server's own binlog coordinates. MySQL 8.2
// renamed SHOW MASTER STATUS and 8.4 removed the old name.
func (f Flavor) BinlogStatusSQL() string {
	if f.IsMySQL() && f.AtLeast(8, 2, 0) {
		return "SHOW BINARY LOG STATUS"
	}
	return "SHOW MASTER STATUS"
}

// ExecutedGTIDSQL selects the server's executed GTID set (its own writes and
// what it replicated), or "" when the flavor has none.
func (f Flavor) ExecutedGTIDSQL() string {
	switch {
	case f.HasMySQLGTID():
		return "SELECT @@GLOBAL.gtid_executed"
	case f.HasMariaDBGTID():
		return "SELECT @@GLOBAL.gtid_current_pos"
	}
	return ""
}

// Source is where a replica reads from and from which coordinates.
// Exactly one of (File, Pos) or GTID starts it.
type Source struct {
	Host     string
	Port     int
	User     string
	Password string // rendered into the statement only; never log the result
	File     string
	Pos      uint64
	GTID     string
	TLS      bool
	// TLSCA is the CA file on the replica's machine, read by the replica's
	// server process; empty means TLS without verification (the RDS
	// procedures offer no more).
	TLSCA string
	// TLSVerifyIdentity also checks that the certificate names Host.
	TLSVerifyIdentity bool
}

// ChangeSourceSQL returns the statements that point a replica at src. On
// RDS that is a CALL of the mysql.rds_* procedure of that engine version.
func (f Flavor) ChangeSourceSQL(src Source) ([]string, error) {
	if src.Host == "" || src.Port <= 0 || src.User == "" {
		return nil, fmt.Errorf("replication source needs host, port and user")
	}
	useGTID := src.GTID != ""
	if !useGTID && (src.File == "" || src.Pos == 0) {
		return nil, fmt.Errorf("replication needs a binlog file and position or a GTID set")
	}
	if f.RDS {
		if src.TLSCA != "" || src.TLSVerifyIdentity {
			return nil, fmt.Errorf("RDS's replication procedures take no CA: replication into RDS can be encrypted but not verified")
		}
		return f.rdsChangeSourceSQL(src, useGTID)
	}
	var stmts []string
	kw := "MASTER"
	cmd := "CHANGE MASTER TO"
	if f.UsesReplicaTerms() {
		kw, cmd = "SOURCE", "CHANGE REPLICATION SOURCE TO"
	}
	opts := []string{
		kw + "_HOST=" + Quote(src.Host),
		kw + "_PORT=" + strconv.Itoa(src.Port),
		kw + "_USER=" + Quote(src.User),
		kw + "_PASSWORD=" + Quote(src.Password),
	}
	switch {
	case useGTID && f.IsMariaDB():
		// MariaDB starts from gtid_slave_pos, which is set beforehand.
		stmts = append(stmts, "SET GLOBAL gtid_slave_pos = "+Quote(src.GTID))
		opts = append(opts, "MASTER_USE_GTID=slave_pos")
	case useGTID:
		// MySQL auto-positions from the replica's own gtid_executed; the
		// caller must have made gtid_purged equal to the snapshot's set.
		opts = append(opts, kw+"_AUTO_POSITION=1")
	default:
		opts = append(opts, kw+"_LOG_FILE="+Quote(src.File), kw+"_LOG_POS="+strconv.FormatUint(src.Pos, 10))
		if f.IsMariaDB() {
			opts = append(opts, "MASTER_USE_GTID=no")
		}
	}
	if src.TLS {
		// Named every time: CHANGE MASTER keeps the SSL options it is not
		// given (MariaDB keeps them even across RESET SLAVE ALL), so an
		// earlier CA or verification would outlive the mode asked for.
		// A CA makes the replica verify the chain (MySQL: VERIFY_CA, and
		// MariaDB alike); VERIFY_SERVER_CERT adds the host name check.
		verify := "0"
		if src.TLSVerifyIdentity {
			verify = "1"
		}
		opts = append(opts, kw+"_SSL=1", kw+"_SSL_CA="+Quote(src.TLSCA), kw+"_SSL_VERIFY_SERVER_CERT="+verify)
	} else {
		opts = append(opts, kw+"_SSL=0")
	}
	if f.IsMySQL() && f.AtLeast(8, 0, 0) {
		// caching_sha2_password over a non-TLS link needs the public key.
		opts = append(opts, "GET_"+kw+"_PUBLIC_KEY=1")
	}
	stmts = append(stmts, cmd+" "+strings.Join(opts, ", "))
	return stmts, nil
}

func (f Flavor) rdsChangeSourceSQL(src Source, useGTID bool) ([]string, error) {
	ssl := "0"
	if src.TLS {
		ssl = "1"
	}
	hostArgs := Quote(src.Host) + ", " + strconv.Itoa(src.Port) + ", " + Quote(src.User) + ", " + Quote(src.Password)
	switch {
	case useGTID && f.IsMariaDB():
		return []string{"CALL mysql.rds_set_external_master_gtid(" + hostArgs + ", " + Quote(src.GTID) + ", " + ssl + ")"}, nil
	case useGTID && f.AtLeast(8, 4, 0):
		return []string{"CALL mysql.rds_set_external_source_with_auto_position(" + hostArgs + ", " + ssl + ", 0)"}, nil
	case useGTID:
		return []string{"CALL mysql.rds_set_external_master_with_auto_position(" + hostArgs + ", " + ssl + ", 0)"}, nil
	}
	proc := "mysql.rds_set_external_master"
	if f.IsMySQL() && f.AtLeast(8, 4, 0) {
		proc = "mysql.rds_set_external_source"
	}
	return []string{"CALL " + proc + "(" + hostArgs + ", " + Quote(src.File) + ", " + strconv.FormatUint(src.Pos, 10) + ", " + ssl + ")"}, nil
}

// StartReplicaSQL starts both replication threads.
func (f Flavor) StartReplicaSQL() string {
	switch {
	case f.RDS:
		return "CALL mysql.rds_start_replication"
	case f.IsMySQL() && f.AtLeast(8, 0, 22):
		return "START REPLICA"
	}
	return "START SLAVE"
}

// StopReplicaSQL stops both replication threads.
func (f Flavor) StopReplicaSQL() string {
	switch {
	case f.RDS:
		return "CALL mysql.rds_stop_replication"
	case f.IsMySQL() && f.AtLeast(8, 0, 22):
		return "STOP REPLICA"
	}
	return "STOP SLAVE"
}

// StopIOThreadSQL stops fetching only, so the SQL thread can drain what was
// fetched. RDS offers no such procedure: callers stop both there.
func (f Flavor) StopIOThreadSQL() string {
	if f.IsMySQL() && f.AtLeast(8, 0, 22) {
		return "STOP REPLICA IO_THREAD"
	}
	return "STOP SLAVE IO_THREAD"
}

// ResetReplicaSQL forgets the source for good (after a promotion).
func (f Flavor) ResetReplicaSQL() string {
	switch {
	case f.RDS && f.IsMySQL() && f.AtLeast(8, 4, 0):
		return "CALL mysql.rds_reset_external_source"
	case f.RDS:
		return "CALL mysql.rds_reset_external_master"
	case f.IsMySQL() && f.AtLeast(8, 0, 22):
		return "RESET REPLICA ALL"
	}
	return "RESET SLAVE ALL"
}

// WaitForPositionSQL waits until the replica's SQL thread has executed the
// source's file:pos; it returns -1 on timeout, NULL when not replicating.
// MySQL 8.4 removed MASTER_POS_WAIT; 8.0.26 added SOURCE_POS_WAIT.
func (f Flavor) WaitForPositionSQL(file string, pos uint64, timeout time.Duration) string {
	fn := "MASTER_POS_WAIT"
	if f.IsMySQL() && f.AtLeast(8, 0, 26) {
		fn = "SOURCE_POS_WAIT"
	}
	return fmt.Sprintf("SELECT %s(%s, %d, %s)", fn, Quote(file), pos, waitSeconds(timeout))
}

// waitSeconds is a server-side wait's timeout in whole seconds, rounded up,
// at least 1: MariaDB's MASTER_POS_WAIT reads its timeout as an integer, so
// 0.4 became 0 there, which means "no timeout" (a cutover given 400ms
// waited forever with the source fenced).
func waitSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(d.Seconds()))), 10)
}

// WaitForGTIDSQL waits until the replica has executed a GTID set; the result
// is 0 on success and -1 (MariaDB) or 1 (MySQL) on timeout.
func (f Flavor) WaitForGTIDSQL(gtid string, timeout time.Duration) string {
	t := waitSeconds(timeout)
	if f.IsMariaDB() {
		return "SELECT MASTER_GTID_WAIT(" + Quote(gtid) + ", " + t + ")"
	}
	return "SELECT WAIT_FOR_EXECUTED_GTID_SET(" + Quote(gtid) + ", " + t + ")"
}

// SetReadOnlySQL fences or opens a server. super_read_only also binds
// SUPER accounts where it exists; turning read_only off turns it off too.
func (f Flavor) SetReadOnlySQL(on bool) []string {
	if f.RDS {
		return nil // SET GLOBAL is refused on RDS: see the RDS fence.
	}
	if on {
		if f.HasSuperReadOnly() {
			return []string{"SET GLOBAL read_only = ON", "SET GLOBAL super_read_only = ON"}
		}
		return []string{"SET GLOBAL read_only = ON"}
	}
	if f.HasSuperReadOnly() {
		return []string{"SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"}
	}
	return []string{"SET GLOBAL read_only = OFF"}
}

// KillSQL ends a session; on RDS only mysql.rds_kill may kill other users'.
func (f Flavor) KillSQL(id uint64) string {
	if f.RDS {
		return "CALL mysql.rds_kill(" + strconv.FormatUint(id, 10) + ")"
	}
	return "KILL " + strconv.FormatUint(id, 10)
}

// CreateReplicationUserSQL creates the least-privilege account a replica
// connects with. MySQL 8.0 replicas of a TLS-less source need
// GET_SOURCE_PUBLIC_KEY (set in ChangeSourceSQL) for caching_sha2_password.
func (f Flavor) CreateReplicationUserSQL(user, host, password string, requireTLS bool) []string {
	acct := Quote(user) + "@" + Quote(host)
	create := "CREATE USER " + acct + " IDENTIFIED BY " + Quote(password)
	if requireTLS {
		create += " REQUIRE SSL"
	}
	// REPLICATION CLIENT lets the operator read the source's binlog status
	// with the same account; MariaDB 10.5.2+ keeps it as an alias of BINLOG MONITOR.
	grant := "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO " + acct
	return []string{create, grant}
}

// Quote renders s as a single-quoted SQL string literal. dbconn pins the
// session sql_mode without NO_BACKSLASH_ESCAPES, so backslash escaping holds.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case 26:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// QuoteIdent renders an identifier in backticks.
func QuoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

package sandbox

// The RDS master user's privileges (RDS for MariaDB 10.11 spelling): no
// SUPER, no REPLICATION SLAVE ADMIN, no CONNECTION ADMIN, no READ_ONLY ADMIN,
// so replication must go through the procedures below, other users' sessions
// can only be killed with mysql.rds_kill, and read_only binds it.
const rdsMasterPrivileges = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, " +
	"SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, BINLOG MONITOR, SLAVE MONITOR, " +
	"CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER"

// rdsSetupSQL installs the mysql.rds_* procedures with the names and
// parameters AWS documents (RDS for MariaDB and RDS for MySQL <= 8.0), run
// as root (SQL SECURITY DEFINER) like the real ones. Passwords pass through a
// user variable that is cleared before the procedure returns.
var rdsSetupSQL = []string{
	`CREATE TABLE mysql.rds_configuration (
		name VARCHAR(100) NOT NULL PRIMARY KEY,
		value VARCHAR(100) NULL,
		description VARCHAR(300) NOT NULL)`,
	`INSERT INTO mysql.rds_configuration VALUES
		('binlog retention hours', NULL, 'binlog retention hours specifies the duration in hours before binary logs are automatically deleted.'),
		('source delay', '0', 'source delay specifies replication delay in seconds between current instance and its master.'),
		('target delay', '0', 'target delay specifies replication delay in seconds between current instance and its future read-replica.')`,
	`CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_set_configuration(IN p_name VARCHAR(64), IN p_value INT)
	SQL SECURITY DEFINER
	BEGIN
		IF (SELECT COUNT(*) FROM mysql.rds_configuration WHERE name = p_name) = 0 THEN
			SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'Invalid configuration name';
		END IF;
		IF p_name = 'binlog retention hours' AND p_value IS NOT NULL AND (p_value < 1 OR p_value > 2160) THEN
			SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'binlog retention hours must be between 1 and 2160';
		END IF;
		UPDATE mysql.rds_configuration SET value = p_value WHERE name = p_name;
		IF p_name = 'binlog retention hours' THEN
			SET GLOBAL binlog_expire_logs_seconds = IFNULL(p_value, 0) * 3600;
		END IF;
	END`,
	`CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_show_configuration()
	SQL SECURITY DEFINER
	BEGIN
		SELECT name, value, description FROM mysql.rds_configuration ORDER BY name;
	END`,
	`CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_set_external_master(
		IN host_name VARCHAR(255), IN host_port INT, IN replication_user_name VARCHAR(255),
		IN replication_user_password VARCHAR(255), IN mysql_binary_log_file_name VARCHAR(255),
		IN mysql_binary_log_file_location BIGINT, IN ssl_encryption INT)
	SQL SECURITY DEFINER
	BEGIN
		SET @rds_stmt = CONCAT('CHANGE MASTER TO MASTER_HOST=', QUOTE(host_name), ', MASTER_PORT=', host_port,
			', MASTER_USER=', QUOTE(replication_user_name), ', MASTER_PASSWORD=', QUOTE(replication_user_password),
			', MASTER_LOG_FILE=', QUOTE(mysql_binary_log_file_name), ', MASTER_LOG_POS=', mysql_binary_log_file_location,
			', MASTER_USE_GTID=no, MASTER_SSL=', IF(ssl_encryption = 1, 1, 0));
		PREPARE rds_s FROM @rds_stmt;
		SET @rds_stmt = NULL;
		EXECUTE rds_s;
		DEALLOCATE PREPARE rds_s;
	END`,
	`CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_set_external_master_gtid(
		IN host_name VARCHAR(255), IN host_port INT, IN replication_user_name VARCHAR(255),
		IN replication_user_password VARCHAR(255), IN gtid VARCHAR(1024), IN ssl_encryption INT)
	SQL SECURITY DEFINER
	BEGIN
		SET GLOBAL gtid_slave_pos = gtid;
		SET @rds_stmt = CONCAT('CHANGE MASTER TO MASTER_HOST=', QUOTE(host_name), ', MASTER_PORT=', host_port,
			', MASTER_USER=', QUOTE(replication_user_name), ', MASTER_PASSWORD=', QUOTE(replication_user_password),
			', MASTER_USE_GTID=slave_pos, MASTER_SSL=', IF(ssl_encryption = 1, 1, 0));
		PREPARE rds_s FROM @rds_stmt;
		SET @rds_stmt = NULL;
		EXECUTE rds_s;
		DEALLOCATE PREPARE rds_s;
	END`,
	`CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_start_replication()
	SQL SECURITY DEFINER
	BEGIN
		START SLAVE;
		SELECT 'Replica running normally.' AS Message;
	END`,
	`CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_stop_replication()
	SQL SECURITY DEFINER
	BEGIN
		STOP SLAVE;
		SELECT 'Replica is now down or disabled' AS Message;
	END`,
	`CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_reset_external_master()
	SQL SECURITY DEFINER
	BEGIN
		STOP SLAVE;
		RESET SLAVE ALL;
		SELECT 'Replication has been reset' AS Message;
	END`,
	`CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_kill(IN thread BIGINT)
	SQL SECURITY DEFINER
	BEGIN
		SET @rds_stmt = CONCAT('KILL CONNECTION ', thread);
		PREPARE rds_s FROM @rds_stmt;
		EXECUTE rds_s;
		DEALLOCATE PREPARE rds_s;
	END`,
	`CREATE DEFINER='root'@'localhost' PROCEDURE mysql.rds_kill_query(IN thread BIGINT)
	SQL SECURITY DEFINER
	BEGIN
		SET @rds_stmt = CONCAT('KILL QUERY ', thread);
		PREPARE rds_s FROM @rds_stmt;
		EXECUTE rds_s;
		DEALLOCATE PREPARE rds_s;
	END`,
}

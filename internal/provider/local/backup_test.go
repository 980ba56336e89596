package local

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dbshift/dbshift/internal/replication"
)

func TestReadCoordinates_Formats(t *testing.T) {
	cases := []struct {
		name, file, text string
		want             replication.Coordinates
		wantErr          bool
	}{
		{"binlog info with GTID", "xtrabackup_binlog_info", "mysql-bin.000003\t1262\t0-101-5\n",
			replication.Coordinates{File: "mysql-bin.000003", Position: 1262, GTID: "0-101-5"}, false},
		{"binlog info without GTID", "xtrabackup_binlog_info", "mysql-bin.000001\t330\n",
			replication.Coordinates{File: "mysql-bin.000001", Position: 330}, false},
		{"binlog info garbage", "xtrabackup_binlog_info", "mysql-bin.000001\n", replication.Coordinates{}, true},
		{"slave info file:pos", "xtrabackup_slave_info", "CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000002', MASTER_LOG_POS=740304;\n",
			replication.Coordinates{File: "mysql-bin.000002", Position: 740304}, false},
		{"slave info GTID", "xtrabackup_slave_info", "SET GLOBAL gtid_slave_pos = '0-101-225';\nCHANGE MASTER TO master_use_gtid = slave_pos;\n",
			replication.Coordinates{GTID: "0-101-225"}, false},
		{"slave info empty", "xtrabackup_slave_info", "\n", replication.Coordinates{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, c.file), []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			read := readBinlogInfo
			if c.file == "xtrabackup_slave_info" {
				read = readSlaveInfo
			}
			got, err := read(dir)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if !c.wantErr && got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

package local

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/provider"
)

// encryptionStatus counts InnoDB tablespaces encrypted at rest: every
// tablespace the server knows (INNODB_SYS_TABLESPACES, less the temporary
// tablespace, whose encryption is innodb_encrypt_temporary_tables) must show
// ENCRYPTION_SCHEME=1 with no key rotation or flush in flight in
// INNODB_TABLESPACES_ENCRYPTION. The redo log, binlog and temporary files
// must be encrypted too; the Detail names what is not.
func encryptionStatus(ctx context.Context, c *dbconn.Conn) (provider.EncryptionStatus, bool, error) {
	var st provider.EncryptionStatus
	const total = `SELECT COUNT(*) FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME <> 'innodb_temporary'`
	if err := c.DB.QueryRowContext(ctx, total).Scan(&st.Total); err != nil {
		return st, false, fmt.Errorf("counting tablespaces on %s: %w", c, err)
	}
	const done = `SELECT COUNT(*), SUM(ENCRYPTION_SCHEME = 1 AND ROTATING_OR_FLUSHING = 0)
		FROM information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME <> 'innodb_temporary'`
	var listed int
	var encrypted sql.NullInt64
	if err := c.DB.QueryRowContext(ctx, done).Scan(&listed, &encrypted); err != nil {
		return st, false, fmt.Errorf("reading tablespace encryption on %s: %w", c, err)
	}
	st.Done = int(encrypted.Int64)
	// A tablespace the encryption table lists but the tablespace table does
	// not (the system tablespace on some versions) still counts.
	st.Total = max(st.Total, listed)
	var encTables, encLog, encBinlog, encTmp, threads int
	var tmpTables int
	q := `SELECT @@innodb_encrypt_tables <> 'OFF', @@innodb_encrypt_log, @@encrypt_binlog, @@encrypt_tmp_disk_tables, @@innodb_encrypt_temporary_tables, @@innodb_encryption_threads`
	if err := c.DB.QueryRowContext(ctx, q).Scan(&encTables, &encLog, &encBinlog, &tmpTables, &encTmp, &threads); err != nil {
		// Without the encryption variables (no key management plugin) the
		// server cannot encrypt at all.
		st.Detail = fmt.Sprintf("%d/%d tablespaces encrypted; encryption not configured (%v)", st.Done, st.Total, err)
		return st, false, nil
	}
	var off []string
	for _, v := range []struct {
		name string
		on   int
	}{{"innodb_encrypt_tables", encTables}, {"innodb_encrypt_log", encLog}, {"encrypt_binlog", encBinlog}, {"encrypt_tmp_disk_tables", tmpTables}, {"innodb_encrypt_temporary_tables", encTmp}} {
		if v.on == 0 {
			off = append(off, v.name)
		}
	}
	st.Detail = fmt.Sprintf("%d/%d tablespaces encrypted", st.Done, st.Total)
	if len(off) > 0 {
		st.Detail += "; off: " + strings.Join(off, ", ")
	} else {
		st.Detail += "; redo log, binlog and temporary files encrypted"
	}
	st.Encrypted = st.Total > 0 && st.Done == st.Total && len(off) == 0
	// Progress is still possible while the tables are to be encrypted and
	// background threads exist to do it.
	pending := !st.Encrypted && encTables == 1 && threads > 0
	return st, pending, nil
}

var errNotEncrypted = errors.New("not encrypted at rest")

// waitEncrypted polls until every tablespace is encrypted, nothing more can
// change, or EncryptTimeout passes.
func (p *Provider) waitEncrypted(ctx context.Context, c *dbconn.Conn, each func(provider.EncryptionStatus)) (provider.EncryptionStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, p.EncryptTimeout)
	defer cancel()
	var st provider.EncryptionStatus
	err := provider.Poll(ctx, 250*time.Millisecond, func() (bool, error) {
		var pending bool
		var err error
		st, pending, err = encryptionStatus(ctx, c)
		if err != nil {
			return false, err
		}
		if each != nil {
			each(st)
		}
		return !pending, nil
	})
	if err != nil {
		return st, fmt.Errorf("waiting for %s to encrypt its tablespaces (%s): %w", c, st.Detail, err)
	}
	if !st.Encrypted {
		return st, fmt.Errorf("%s: %w: %s", c, errNotEncrypted, st.Detail)
	}
	return st, nil
}

// VerifyEncrypted is the local analogue of RDS StorageEncrypted=true: it
// waits while background encryption is still working, then reports how
// many InnoDB tablespaces are encrypted ("N/N tablespaces encrypted") and
// whether the redo log, binlog and temporary files are. Encrypted is true
// only when all are.
func (p *Provider) VerifyEncrypted(ctx context.Context, inst provider.Instance) (provider.EncryptionStatus, error) {
	c, _, err := p.open(ctx, inst, "verify")
	if err != nil {
		return provider.EncryptionStatus{}, err
	}
	defer c.Close()
	st, err := p.waitEncrypted(ctx, c, nil)
	if errors.Is(err, errNotEncrypted) || (errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil) {
		// Not encrypted is an answer, not a failure.
		return st, nil
	}
	return st, err
}

// Package provider is the control plane a migration drives: where instances,
// replicas and snapshots come from. `local` implements it with mariadbd and
// mariabackup on this machine; `aws` with the RDS API. Strategies only call
// this interface, so a runbook is the same steps on either.
package provider

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/dbshift/dbshift/internal/dbconn"
)

// Tags every created resource carries, so abort and resume find exactly what
// a run made (and nothing else).
const (
	TagRunID = "dbshift:run-id"
	TagRole  = "dbshift:role"
)

// Roles of the resources a run creates.
const (
	RoleTempReplica   = "temp-replica"
	RoleSnapshot      = "snapshot"
	RoleEncryptedCopy = "encrypted-snapshot"
	RoleTarget        = "target"
	RoleFenceGroup    = "fence-security-group"
)

// StatusAvailable is the status of a complete instance or snapshot (the
// RDS word); anything else (creating, incomplete, failed) is not ready.
const StatusAvailable = "available"

// Instance is a database server the provider knows.
type Instance struct {
	ID   string `json:"id"`
	Role string `json:"role"`
	// Addr is host:port as dbshift reaches it.
	Addr string `json:"addr"`
	// DSN is the admin DSN without password; Password says where the
	// password comes from (never the password itself).
	DSN          string `json:"dsn"`
	PasswordFile string `json:"password_file,omitempty"`
	PasswordEnv  string `json:"password_env,omitempty"`
	Encrypted    bool   `json:"encrypted"`
	Status       string `json:"status"`
}

// Spec is how to connect to the instance. PasswordEnv is read here: dbconn
// would otherwise look for DBSHIFT_<ROLE>_PASSWORD, and an RDS replica or
// restore logs in with the source's password, named by the source's env var.
func (i Instance) Spec(role string) dbconn.Spec {
	s := dbconn.Spec{Role: role, DSN: i.DSN, PasswordFile: i.PasswordFile}
	if i.PasswordFile == "" && i.PasswordEnv != "" {
		s.Password = os.Getenv(i.PasswordEnv)
	}
	return s
}

// Snapshot is a point-in-time copy of an instance.
type Snapshot struct {
	ID        string `json:"id"`
	Role      string `json:"role"`
	Source    string `json:"source"` // instance ID it was taken from
	Encrypted bool   `json:"encrypted"`
	KeyID     string `json:"key_id,omitempty"`
	Status    string `json:"status"`
	// Location is provider-specific (a directory for local, an ARN for aws).
	Location string `json:"location,omitempty"`
}

// ReplicaRequest asks for a temporary replica of the source.
type ReplicaRequest struct {
	RunID  string
	ID     string
	Source Instance
}

// TargetRequest says what the restored target must become.
type TargetRequest struct {
	RunID         string
	ID            string
	Encrypted     bool
	InstanceClass string
	EngineVersion string
	Parameters    map[string]string
	// CopyFrom names the source whose settings the target inherits unless
	// overridden (class, subnet group, parameter group, security groups).
	CopyFrom Instance
}

// Progress receives percent-complete updates of long operations.
type Progress func(percent int, status string)

// Provider is the control plane of one platform.
type Provider interface {
	Name() string
	// Source resolves the migration's source instance.
	Source(ctx context.Context) (Instance, error)
	// CreateReplica makes a temporary replica of the source and returns once
	// it replicates (RDS: CreateDBInstanceReadReplica + wait available).
	CreateReplica(ctx context.Context, req ReplicaRequest, p Progress) (Instance, error)
	// Snapshot takes a snapshot of a replica the caller stopped (with
	// replication.StopAndCapture: mysql.rds_stop_replication on RDS), so the
	// snapshot holds exactly the captured coordinates.
	Snapshot(ctx context.Context, runID, id string, of Instance, p Progress) (Snapshot, error)
	// CopyEncrypted copies a snapshot encrypted with keyID.
	CopyEncrypted(ctx context.Context, runID, id string, snap Snapshot, keyID string, p Progress) (Snapshot, error)
	// Restore creates the target from a snapshot.
	Restore(ctx context.Context, snap Snapshot, req TargetRequest, p Progress) (Instance, error)
	// VerifyEncrypted proves the instance's storage is encrypted at rest.
	VerifyEncrypted(ctx context.Context, inst Instance) (EncryptionStatus, error)
	// Find returns a resource of the run by its role tag, so a resumed run
	// reuses what an interrupted one created instead of creating another.
	FindInstance(ctx context.Context, runID, role string) (Instance, bool, error)
	FindSnapshot(ctx context.Context, runID, role string) (Snapshot, bool, error)
	DeleteInstance(ctx context.Context, inst Instance) error
	DeleteSnapshot(ctx context.Context, snap Snapshot) error
}

// EncryptionStatus is what VerifyEncrypted found.
type EncryptionStatus struct {
	Encrypted bool   `json:"encrypted"`
	Detail    string `json:"detail"` // "StorageEncrypted=true (kms ...)" or "42/42 tablespaces encrypted"
	Total     int    `json:"total"`
	Done      int    `json:"done"`
}

// ErrNotFound is returned for a resource that does not exist.
var ErrNotFound = errors.New("not found")

// Poll calls f every interval until it reports done, an error, or ctx ends.
// Waits end on a condition, never on time alone.
func Poll(ctx context.Context, interval time.Duration, f func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// BlueGreen is a managed blue/green deployment: a green copy of the source
// that replicates from it and that the platform switches over to by
// renaming (RDS). Blue and Green are the instances as they are named now;
// they swap names at the switchover.
type BlueGreen struct {
	ID     string   `json:"id"`
	Status string   `json:"status"` // PROVISIONING, AVAILABLE, SWITCHOVER_COMPLETED...
	Blue   Instance `json:"blue"`
	Green  Instance `json:"green"`
	// BlueVersion and GreenVersion are the engine versions.
	BlueVersion, GreenVersion string
}

// Switched says whether the switchover completed.
func (b BlueGreen) Switched() bool { return b.Status == "SWITCHOVER_COMPLETED" }

// BlueGreenRequest asks for a green copy of the source.
type BlueGreenRequest struct {
	RunID          string
	Name           string
	EngineVersion  string
	ParameterGroup string
	InstanceClass  string
}

// ReadOnlyControl sets a server's read_only the platform's way and waits
// until the server shows it (it is cutover.ReadOnlyControl).
type ReadOnlyControl interface {
	SetReadOnly(ctx context.Context, c *dbconn.Conn, on bool) error
}

// GroupSetting is one parameter of a parameter group as the group sets it.
type GroupSetting struct {
	Group, Name, Value string
	// Set is false when the group leaves the parameter to the engine's
	// default (Value is then the default, such as {TrueIfReplica}).
	Set bool
}

// BlueGreener is a provider with managed blue/green deployments
// (strategy blue-green).
type BlueGreener interface {
	// CreateBlueGreen creates the run's deployment, or adopts it by name
	// and run tag, and returns once it is AVAILABLE.
	CreateBlueGreen(ctx context.Context, req BlueGreenRequest, p Progress) (BlueGreen, error)
	// FindBlueGreen returns the run's deployment by its name and run tag.
	FindBlueGreen(ctx context.Context, runID, name string) (BlueGreen, bool, error)
	// PrepareBlueGreen checks that blue's and green's parameter groups are
	// their own (read_only goes through them) and pins read_only=1 in
	// green's, so green stays read-only when the switchover promotes it.
	PrepareBlueGreen(ctx context.Context, bg BlueGreen, green *dbconn.Conn) error
	// GreenReadOnlySetting is read_only in green's parameter group as it
	// is before PrepareBlueGreen pins it, for its undo.
	GreenReadOnlySetting(ctx context.Context, bg BlueGreen) (GroupSetting, error)
	// RestoreSetting puts a parameter group's setting back as it was (the
	// engine's default when the group did not set it).
	RestoreSetting(ctx context.Context, s GroupSetting) error
	// ReadOnly controls read_only of the deployment's blue or green
	// instance, whatever it is named at the time.
	ReadOnly(bg BlueGreen, green bool) ReadOnlyControl
	// Switchover starts the switchover, or re-attaches to one under way,
	// and returns once it completed; ErrSwitchoverRolledBack when the
	// platform rolled it back (blue is still the primary).
	Switchover(ctx context.Context, id string, timeout time.Duration, p Progress) error
	// DeleteBlueGreen deletes the deployment and, before a switchover, its
	// green instance.
	DeleteBlueGreen(ctx context.Context, bg BlueGreen) error
}

// ErrSwitchoverRolledBack says the platform abandoned a switchover and left
// blue the primary.
var ErrSwitchoverRolledBack = errors.New("switchover failed and was rolled back")

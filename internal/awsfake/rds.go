package awsfake

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	rdsVersion = "2014-10-31"
	rdsNS      = "http://rds.amazonaws.com/doc/2014-10-31/"
)

type instance struct {
	id, class, engine, engineVersion string
	resourceID                       string
	status                           string
	next                             string    // status once readyAt is reached
	readyAt                          time.Time // when status becomes next
	stalled                          bool
	encrypted                        bool
	kmsKey                           string
	subnetGroup                      string
	paramGroup                       string
	paramApply                       string // in-sync, applying, pending-reboot
	paramApplyAt                     time.Time
	applying                         map[string]string // parameters taking effect at paramApplyAt
	origin                           Backing
	sgs                              []*sgMembership
	host                             string
	port                             int
	replicaSource                    string
	replicas                         []string
	allocated                        int
	multiAZ                          bool
	backupRetention                  int
	created                          time.Time
}

type sgMembership struct {
	id     string
	status string // adding, active, removing
	at     time.Time
}

func (i *instance) arn() string { return rdsARN("db", i.id) }

func rdsARN(kind, id string) string {
	return fmt.Sprintf("arn:aws:rds:%s:%s:%s:%s", Region, AccountID, kind, id)
}

// idFromARN accepts an identifier or an ARN of the given kind.
func idFromARN(v, kind string) string {
	prefix := rdsARN(kind, "")
	return strings.TrimPrefix(v, prefix)
}

type snapshot struct {
	id, instanceID       string
	status               string
	next                 string
	started              time.Time
	readyAt              time.Time
	stalled              bool
	stallPercent         int
	encrypted            bool
	kmsKey               string
	source               string // SourceDBSnapshotIdentifier for copies
	engine, version      string
	class                string
	allocated            int
	port                 int
	vpc                  string
	instanceCreated      time.Time
	created              time.Time
	snapshotType         string
	originalInstanceResc string
}

func (sn *snapshot) arn() string { return rdsARN("snapshot", sn.id) }

func (sn *snapshot) percent(now time.Time) int {
	if sn.status != "creating" {
		return 100
	}
	if sn.stalled {
		return sn.stallPercent
	}
	total := sn.readyAt.Sub(sn.started)
	if total <= 0 {
		return 100
	}
	p := int(now.Sub(sn.started) * 100 / total)
	return min(max(p, 0), 99)
}

type paramGroup struct {
	name, family string
	params       map[string]string
	order        []string
}

// InstanceSpec seeds an existing, available instance (the migration source).
type InstanceSpec struct {
	ID             string
	Class          string // default db.r6g.large
	Engine         string // default mariadb
	EngineVersion  string // default 10.11.8
	SubnetGroup    string // default "default"
	ParameterGroup string // default default.<engine><major>
	SecurityGroups []string
	Encrypted      bool
	KmsKeyID       string
	Host           string // endpoint; default <id>.fake.rds.amazonaws.com
	Port           int    // default 3306
	AllocatedGB    int    // default 100
	// BackupRetentionDays defaults to 7: read replicas need automated backups.
	BackupRetentionDays int
	Tags                []Tag
}

// AddInstance seeds an available instance.
func (s *Server) AddInstance(spec InstanceSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := &instance{
		id: spec.ID, class: spec.Class, engine: spec.Engine, engineVersion: spec.EngineVersion,
		status: "available", encrypted: spec.Encrypted, kmsKey: spec.KmsKeyID,
		subnetGroup: spec.SubnetGroup, paramGroup: spec.ParameterGroup, paramApply: "in-sync",
		host: spec.Host, port: spec.Port, allocated: spec.AllocatedGB,
		backupRetention: spec.BackupRetentionDays, created: s.clock.Now(),
	}
	if i.class == "" {
		i.class = "db.r6g.large"
	}
	if i.engine == "" {
		i.engine = "mariadb"
	}
	if i.engineVersion == "" {
		i.engineVersion = "10.11.8"
	}
	if i.subnetGroup == "" {
		i.subnetGroup = "default"
	}
	if i.paramGroup == "" {
		i.paramGroup = defaultParamGroup(i.engine, i.engineVersion)
	}
	if i.host == "" {
		i.host = i.id + ".cfake.us-east-1.rds.amazonaws.com"
	}
	if i.port == 0 {
		i.port = 3306
	}
	if i.allocated == 0 {
		i.allocated = 100
	}
	if i.backupRetention == 0 {
		i.backupRetention = 7
	}
	for _, g := range spec.SecurityGroups {
		i.sgs = append(i.sgs, &sgMembership{id: g, status: "active"})
	}
	if len(i.sgs) == 0 {
		i.sgs = []*sgMembership{{id: s.defaultSG(), status: "active"}}
	}
	i.resourceID = "db-" + strings.ToUpper(s.nextID("")[5:])
	s.instances[i.id] = i
	if len(spec.Tags) > 0 {
		s.tags[i.arn()] = mergeTags(nil, spec.Tags)
	}
}

func defaultParamGroup(engine, version string) string {
	major := version
	if parts := strings.Split(version, "."); len(parts) >= 2 {
		major = parts[0] + "." + parts[1]
	}
	return "default." + engine + major
}

// AddParameterGroup seeds a custom DB parameter group.
func (s *Server) AddParameterGroup(name, family string, values map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addParamGroupLocked(name, family, values)
}

func (s *Server) addParamGroupLocked(name, family string, values map[string]string) *paramGroup {
	g := &paramGroup{name: name, family: family, params: map[string]string{}}
	// The parameters dbshift reads or writes; a real group lists hundreds.
	for _, k := range []string{"binlog_format", "innodb_buffer_pool_size", "read_only", "max_connections"} {
		g.order = append(g.order, k)
	}
	for k, v := range values {
		if _, ok := g.params[k]; !ok && !contains(g.order, k) {
			g.order = append(g.order, k)
		}
		g.params[k] = v
	}
	s.paramGroups[name] = g
	return g
}

// AddSubnetGroup seeds a DB subnet group in a VPC.
func (s *Server) AddSubnetGroup(name, vpcID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subnetGroups[name] = vpcID
}

// InstanceState is what a test can read back about an instance.
type InstanceState struct {
	ID, Status, Class, SubnetGroup, ParameterGroup, ParameterApplyStatus string
	Encrypted                                                            bool
	KmsKeyID                                                             string
	SecurityGroups                                                       []string // active or adding
	Host                                                                 string
	Port                                                                 int
	ReplicaSource                                                        string
	Tags                                                                 []Tag
}

// Instance returns the current state of an instance.
func (s *Server) Instance(id string) (InstanceState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	i, ok := s.instances[id]
	if !ok {
		return InstanceState{}, false
	}
	st := InstanceState{ID: i.id, Status: i.status, Class: i.class, SubnetGroup: i.subnetGroup,
		ParameterGroup: i.paramGroup, ParameterApplyStatus: i.paramApply, Encrypted: i.encrypted,
		KmsKeyID: i.kmsKey, Host: i.host, Port: i.port, ReplicaSource: i.replicaSource,
		Tags: append([]Tag(nil), s.tags[i.arn()]...)}
	for _, m := range i.sgs {
		if m.status != "removing" {
			st.SecurityGroups = append(st.SecurityGroups, m.id)
		}
	}
	return st, true
}

// InstanceIDs lists existing instances, sorted.
func (s *Server) InstanceIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	return sortedKeys(s.instances)
}

// SnapshotState is what a test can read back about a snapshot.
type SnapshotState struct {
	ID, InstanceID, Status string
	PercentProgress        int
	Encrypted              bool
	KmsKeyID               string
	Tags                   []Tag
}

// Snapshot returns the current state of a snapshot.
func (s *Server) Snapshot(id string) (SnapshotState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	sn, ok := s.snapshots[id]
	if !ok {
		return SnapshotState{}, false
	}
	return SnapshotState{ID: sn.id, InstanceID: sn.instanceID, Status: sn.status,
		PercentProgress: sn.percent(s.clock.Now()), Encrypted: sn.encrypted, KmsKeyID: sn.kmsKey,
		Tags: append([]Tag(nil), s.tags[sn.arn()]...)}, true
}

// SnapshotIDs lists existing snapshots, sorted.
func (s *Server) SnapshotIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	return sortedKeys(s.snapshots)
}

// ParameterValue reads a parameter of a DB parameter group.
func (s *Server) ParameterValue(group, name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.paramGroups[group]
	if !ok {
		return "", false
	}
	v, ok := g.params[name]
	return v, ok
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// settle moves every resource to the state the virtual clock says it is in.
// Callers hold s.mu.
func (s *Server) settle() {
	now := s.clock.Now()
	for id, i := range s.instances {
		if i.next != "" && !i.stalled && !now.Before(i.readyAt) {
			i.status, i.next = i.next, ""
			if i.status == "deleted" {
				delete(s.instances, id)
				delete(s.tags, i.arn())
				if src, ok := s.instances[i.replicaSource]; ok {
					src.replicas = removeString(src.replicas, id)
				}
				continue
			}
			if i.status == "available" && i.endpointless() {
				s.attachEndpoint(i)
			}
		}
		kept := i.sgs[:0]
		for _, m := range i.sgs {
			switch {
			case m.status == "adding" && !now.Before(m.at):
				m.status = "active"
			case m.status == "removing" && !now.Before(m.at):
				continue
			}
			kept = append(kept, m)
		}
		i.sgs = kept
		if i.paramApply == "applying" && !now.Before(i.paramApplyAt) {
			i.paramApply = "in-sync"
			if s.paramHook != nil && len(i.applying) > 0 {
				s.paramHook(i.id, i.applying)
			}
			i.applying = nil
		}
	}
	for _, sn := range s.snapshots {
		if sn.next != "" && !sn.stalled && !now.Before(sn.readyAt) {
			sn.status, sn.next = sn.next, ""
			if sn.status == "available" && s.snapshotHook != nil {
				s.snapshotHook(SnapshotBacking{SnapshotID: sn.id, InstanceID: sn.instanceID,
					SourceSnapshotID: idFromARN(sn.source, "snapshot"), Encrypted: sn.encrypted, KmsKeyID: sn.kmsKey})
			}
		}
	}
	for _, bg := range s.bgs {
		s.settleBlueGreen(bg, now)
	}
	for _, c := range s.changes {
		if c.status == "PENDING" && !now.Before(c.insyncAt) {
			c.status = "INSYNC"
		}
	}
}

func (i *instance) endpointless() bool { return i.host == "" }

func (s *Server) attachEndpoint(i *instance) {
	if s.endpointFor != nil {
		b := i.origin
		b.InstanceID = i.id
		if h, p, ok := s.endpointFor(b); ok {
			i.host, i.port = h, p
			// A new instance starts with its parameter group's values.
			if g := s.paramGroups[i.paramGroup]; g != nil && len(g.params) > 0 && s.paramHook != nil {
				s.paramHook(i.id, maps.Clone(g.params))
			}
			return
		}
	}
	i.host, i.port = i.id+".cfake.us-east-1.rds.amazonaws.com", 3306
}

func removeString(list []string, v string) []string {
	out := list[:0]
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) defaultSG() string {
	const id = "sg-0default00000000"
	if _, ok := s.sgs[id]; !ok {
		s.sgs[id] = &securityGroup{id: id, name: "default", desc: "default VPC security group",
			vpc: "vpc-0fake0000000001", egress: []ipPerm{allowAllEgress()}}
	}
	return id
}

var rdsActions = map[string]func(*Server, params) (*node, *apiError){
	"CreateDBInstanceReadReplica":     (*Server).createReadReplica,
	"DescribeDBInstances":             (*Server).describeInstances,
	"ModifyDBInstance":                (*Server).modifyInstance,
	"DeleteDBInstance":                (*Server).deleteInstance,
	"CreateDBSnapshot":                (*Server).createSnapshot,
	"DescribeDBSnapshots":             (*Server).describeSnapshots,
	"CopyDBSnapshot":                  (*Server).copySnapshot,
	"DeleteDBSnapshot":                (*Server).deleteSnapshot,
	"RestoreDBInstanceFromDBSnapshot": (*Server).restore,
	"AddTagsToResource":               (*Server).addTags,
	"ListTagsForResource":             (*Server).listTags,
	"DescribeDBLogFiles":              (*Server).describeLogFiles,
	"DownloadDBLogFilePortion":        (*Server).downloadLogPortion,
	"CreateBlueGreenDeployment":       (*Server).createBlueGreen,
	"DescribeBlueGreenDeployments":    (*Server).describeBlueGreens,
	"SwitchoverBlueGreenDeployment":   (*Server).switchoverBlueGreen,
	"DeleteBlueGreenDeployment":       (*Server).deleteBlueGreen,
	"ModifyDBParameterGroup":          (*Server).modifyParamGroup,
	"ResetDBParameterGroup":           (*Server).resetParamGroup,
	"DescribeDBParameters":            (*Server).describeParams,
}

func (s *Server) serveRDS(w http.ResponseWriter, form url.Values) {
	action := form.Get("Action")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	rid := s.requestID()
	fail := func(e *apiError) {
		writeXML(w, e.status, xmlns(el("ErrorResponse",
			el("Error", txt("Type", "Sender"), txt("Code", e.code), txt("Message", e.msg)),
			txt("RequestId", rid)), rdsNS))
	}
	if e := s.admit("rds", action, form); e != nil {
		fail(e)
		return
	}
	h, ok := rdsActions[action]
	if !ok {
		e := errf("InvalidAction", "The action %s is not valid for this web service.", action)
		s.record("rds", action, form, e)
		fail(e)
		return
	}
	result, e := h(s, flatten(form))
	s.record("rds", action, form, e)
	if e != nil {
		fail(e)
		return
	}
	if result == nil {
		result = el(action + "Result")
	}
	writeXML(w, http.StatusOK, xmlns(el(action+"Response", result,
		el("ResponseMetadata", txt("RequestId", rid))), rdsNS))
}

func (s *Server) instanceXML(i *instance) *node {
	var sgs []*node
	for _, m := range i.sgs {
		sgs = append(sgs, el("VpcSecurityGroupMembership", txt("VpcSecurityGroupId", m.id), txt("Status", m.status)))
	}
	var replicas []*node
	for _, r := range i.replicas {
		replicas = append(replicas, txt("ReadReplicaDBInstanceIdentifier", r))
	}
	var endpoint *node
	if i.status != "creating" && i.host != "" {
		endpoint = el("Endpoint", txt("Address", i.host), num("Port", i.port), txt("HostedZoneId", "Z2R2ITUGPM61AM"))
	}
	return el("DBInstance",
		txt("DBInstanceIdentifier", i.id),
		txt("DBInstanceClass", i.class),
		txt("Engine", i.engine),
		txt("DBInstanceStatus", i.status),
		txt("MasterUsername", "admin"),
		endpoint,
		num("AllocatedStorage", i.allocated),
		txt("InstanceCreateTime", isoTime(i.created)),
		num("BackupRetentionPeriod", i.backupRetention),
		list("VpcSecurityGroups", sgs),
		list("DBParameterGroups", []*node{el("DBParameterGroup",
			txt("DBParameterGroupName", i.paramGroup), txt("ParameterApplyStatus", i.paramApply))}),
		txt("AvailabilityZone", Region+"a"),
		el("DBSubnetGroup", txt("DBSubnetGroupName", i.subnetGroup),
			txt("VpcId", s.subnetGroups[i.subnetGroup]), txt("SubnetGroupStatus", "Complete")),
		el("PendingModifiedValues"),
		boolean("MultiAZ", i.multiAZ),
		txt("EngineVersion", i.engineVersion),
		opt("ReadReplicaSourceDBInstanceIdentifier", i.replicaSource),
		list("ReadReplicaDBInstanceIdentifiers", replicas),
		boolean("PubliclyAccessible", false),
		txt("StorageType", "gp3"),
		boolean("StorageEncrypted", i.encrypted),
		opt("KmsKeyId", i.kmsKey),
		txt("DbiResourceId", i.resourceID),
		txt("DBInstanceArn", i.arn()),
		s.tagListXML(i.arn()),
	)
}

func (s *Server) tagListXML(arn string) *node {
	var tags []*node
	for _, t := range s.tags[arn] {
		tags = append(tags, el("Tag", txt("Key", t.Key), txt("Value", t.Value)))
	}
	return list("TagList", tags)
}

func (s *Server) findInstance(idOrARN string) (*instance, *apiError) {
	id := idFromARN(idOrARN, "db")
	i, ok := s.instances[id]
	if !ok {
		return nil, errf("DBInstanceNotFound", "DBInstance %s not found.", id)
	}
	return i, nil
}

func (s *Server) findSnapshot(idOrARN string) (*snapshot, *apiError) {
	id := idFromARN(idOrARN, "snapshot")
	sn, ok := s.snapshots[id]
	if !ok {
		return nil, errf("DBSnapshotNotFound", "DBSnapshot %s not found.", id)
	}
	return sn, nil
}

func (s *Server) newInstanceLocked(id string, action string) (*instance, *apiError) {
	if id == "" {
		return nil, errf("MissingParameter", "The request must contain the parameter DBInstanceIdentifier")
	}
	if _, exists := s.instances[id]; exists {
		return nil, errf("DBInstanceAlreadyExists", "DB instance already exists")
	}
	now := s.clock.Now()
	i := &instance{id: id, status: "creating", next: "available", readyAt: now.Add(s.d.CreateInstance),
		paramApply: "in-sync", created: now, backupRetention: 0, allocated: 100}
	i.resourceID = "db-" + strings.ToUpper(s.nextID("")[5:])
	switch s.takeEffect(action) {
	case Stall:
		i.stalled = true
	case Fail:
		if action == "RestoreDBInstanceFromDBSnapshot" {
			i.next = "incompatible-restore"
		} else {
			i.next = "failed"
		}
	}
	return i, nil
}

func (s *Server) applySGs(i *instance, ids []string, now time.Time) {
	var out []*sgMembership
	for _, m := range i.sgs {
		if contains(ids, m.id) {
			out = append(out, m)
		} else if m.status != "removing" {
			m.status, m.at = "removing", now.Add(s.d.Modify)
			out = append(out, m)
		}
	}
	for _, id := range ids {
		found := false
		for _, m := range i.sgs {
			if m.id == id {
				found = true
				if m.status == "removing" {
					m.status, m.at = "adding", now.Add(s.d.Modify)
				}
			}
		}
		if !found {
			out = append(out, &sgMembership{id: id, status: "adding", at: now.Add(s.d.Modify)})
		}
	}
	i.sgs = out
}

func (s *Server) checkSGs(ids []string) *apiError {
	for _, id := range ids {
		if _, ok := s.sgs[id]; !ok {
			return errf("InvalidParameterValue", "Invalid security group: %s not found", id)
		}
	}
	return nil
}

func (s *Server) createReadReplica(p params) (*node, *apiError) {
	src, e := s.findInstance(p.get("SourceDBInstanceIdentifier"))
	if e != nil {
		return nil, e
	}
	if src.status != "available" {
		return nil, errf("InvalidDBInstanceState", "DB Instance %s is not in available state.", src.id)
	}
	if src.backupRetention == 0 {
		return nil, errf("InvalidDBInstanceState", "Automated backups are not enabled for this database instance. To enable automated backups, use ModifyDBInstance to set the backup retention period to a non-zero value.")
	}
	sgIDs := p.list("VpcSecurityGroupIds")
	if e := s.checkSGs(sgIDs); e != nil {
		return nil, e
	}
	i, e := s.newInstanceLocked(p.get("DBInstanceIdentifier"), "CreateDBInstanceReadReplica")
	if e != nil {
		return nil, e
	}
	i.class = src.class
	if c := p.get("DBInstanceClass"); c != "" {
		i.class = c
	}
	i.engine, i.engineVersion, i.allocated = src.engine, src.engineVersion, src.allocated
	i.encrypted, i.kmsKey = src.encrypted, src.kmsKey
	if k := p.get("KmsKeyId"); k != "" {
		i.encrypted, i.kmsKey = true, k
	}
	i.subnetGroup = src.subnetGroup
	if g := p.get("DBSubnetGroupName"); g != "" {
		i.subnetGroup = g
	}
	i.paramGroup = src.paramGroup
	if g := p.get("DBParameterGroupName"); g != "" {
		if _, ok := s.paramGroups[g]; !ok && !strings.HasPrefix(g, "default.") {
			return nil, errf("DBParameterGroupNotFound", "DBParameterGroup not found: %s", g)
		}
		i.paramGroup = g
	}
	for _, m := range src.sgs {
		if m.status != "removing" {
			i.sgs = append(i.sgs, &sgMembership{id: m.id, status: "active"})
		}
	}
	if len(sgIDs) > 0 {
		i.sgs = nil
		for _, id := range sgIDs {
			i.sgs = append(i.sgs, &sgMembership{id: id, status: "active"})
		}
	}
	i.multiAZ = p.boolean("MultiAZ")
	i.replicaSource = src.id
	i.origin = Backing{Kind: "read-replica", SourceInstanceID: src.id, Encrypted: i.encrypted}
	src.replicas = append(src.replicas, i.id)
	s.instances[i.id] = i
	if tags := p.tags("Tags"); len(tags) > 0 {
		s.tags[i.arn()] = tags
	}
	return el("CreateDBInstanceReadReplicaResult", s.instanceXML(i)), nil
}

func (s *Server) page(p params, n int) (start, end int, next string) {
	size := p.integer("MaxRecords", s.opts.PageSize)
	start = p.integer("Marker", 0)
	start = min(start, n)
	end = min(start+size, n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next
}

func (s *Server) describeInstances(p params) (*node, *apiError) {
	var ids []string
	if id := p.get("DBInstanceIdentifier"); id != "" {
		i, e := s.findInstance(id)
		if e != nil {
			return nil, e
		}
		ids = []string{i.id}
	} else {
		ids = sortedKeys(s.instances)
	}
	var keep []*instance
	for _, id := range ids {
		i := s.instances[id]
		ok := true
		for _, f := range p.filters("Filters") {
			switch f.name {
			case "db-instance-id":
				ok = ok && (contains(f.values, i.id) || contains(f.values, i.arn()))
			case "engine":
				ok = ok && contains(f.values, i.engine)
			case "dbi-resource-id":
				ok = ok && contains(f.values, i.resourceID)
			default:
				return nil, errf("InvalidParameterValue", "Unrecognized filter name: %s", f.name)
			}
		}
		if ok {
			keep = append(keep, i)
		}
	}
	start, end, next := s.page(p, len(keep))
	var out []*node
	for _, i := range keep[start:end] {
		out = append(out, s.instanceXML(i))
	}
	return el("DescribeDBInstancesResult", opt("Marker", next), list("DBInstances", out)), nil
}

func (s *Server) modifyInstance(p params) (*node, *apiError) {
	i, e := s.findInstance(p.get("DBInstanceIdentifier"))
	if e != nil {
		return nil, e
	}
	if i.status != "available" {
		return nil, errf("InvalidDBInstanceState", "Database instance is not in available state.")
	}
	now := s.clock.Now()
	changed := false
	if sgIDs := p.list("VpcSecurityGroupIds"); len(sgIDs) > 0 {
		if e := s.checkSGs(sgIDs); e != nil {
			return nil, e
		}
		// Security group changes apply asynchronously whatever ApplyImmediately says.
		s.applySGs(i, sgIDs, now)
		changed = true
	}
	if g := p.get("DBParameterGroupName"); g != "" && g != i.paramGroup {
		if _, ok := s.paramGroups[g]; !ok && !strings.HasPrefix(g, "default.") {
			return nil, errf("DBParameterGroupNotFound", "DBParameterGroup not found: %s", g)
		}
		i.paramGroup = g
		if p.boolean("ApplyImmediately") {
			i.paramApply, i.paramApplyAt = "applying", now.Add(s.d.ParameterApply)
		} else {
			i.paramApply = "pending-reboot"
		}
		changed = true
	}
	if c := p.get("DBInstanceClass"); c != "" && c != i.class {
		if !p.boolean("ApplyImmediately") {
			return nil, errf("InvalidParameterCombination", "the fake only models class changes with ApplyImmediately")
		}
		i.class = c
		changed = true
	}
	if changed {
		i.status, i.next, i.readyAt = "modifying", "available", now.Add(s.d.Modify)
	}
	return el("ModifyDBInstanceResult", s.instanceXML(i)), nil
}

func (s *Server) deleteInstance(p params) (*node, *apiError) {
	i, e := s.findInstance(p.get("DBInstanceIdentifier"))
	if e != nil {
		return nil, e
	}
	switch i.status {
	case "deleting":
		return nil, errf("InvalidDBInstanceState", "Instance %s is already being deleted.", i.id)
	case "modifying", "backing-up", "rebooting":
		return nil, errf("InvalidDBInstanceState", "Instance %s is not in available state.", i.id)
	}
	if !p.boolean("SkipFinalSnapshot") && p.get("FinalDBSnapshotIdentifier") == "" {
		return nil, errf("InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
	}
	if len(i.replicas) > 0 && i.replicaSource == "" {
		// RDS promotes the replicas; the fake keeps it simple and refuses.
		return nil, errf("InvalidDBInstanceState", "Instance %s has read replicas.", i.id)
	}
	i.status, i.next, i.readyAt, i.stalled = "deleting", "deleted", s.clock.Now().Add(s.d.DeleteInstance), false
	return el("DeleteDBInstanceResult", s.instanceXML(i)), nil
}

func (s *Server) snapshotXML(sn *snapshot) *node {
	return el("DBSnapshot",
		txt("DBSnapshotIdentifier", sn.id),
		txt("DBInstanceIdentifier", sn.instanceID),
		txt("SnapshotCreateTime", isoTime(sn.created)),
		txt("Engine", sn.engine),
		num("AllocatedStorage", sn.allocated),
		txt("Status", sn.status),
		num("Port", sn.port),
		txt("AvailabilityZone", Region+"a"),
		txt("VpcId", sn.vpc),
		txt("InstanceCreateTime", isoTime(sn.instanceCreated)),
		txt("MasterUsername", "admin"),
		txt("EngineVersion", sn.version),
		txt("LicenseModel", "general-public-license"),
		txt("SnapshotType", sn.snapshotType),
		num("PercentProgress", sn.percent(s.clock.Now())),
		opt("SourceRegion", map[bool]string{true: Region}[sn.source != ""]),
		opt("SourceDBSnapshotIdentifier", sn.source),
		txt("StorageType", "gp3"),
		boolean("Encrypted", sn.encrypted),
		opt("KmsKeyId", sn.kmsKey),
		txt("DBSnapshotArn", sn.arn()),
		txt("DbiResourceId", sn.originalInstanceResc),
		s.tagListXML(sn.arn()),
	)
}

func (s *Server) newSnapshotLocked(id, action string, dur time.Duration) (*snapshot, *apiError) {
	if id == "" {
		return nil, errf("MissingParameter", "The request must contain the parameter DBSnapshotIdentifier")
	}
	if _, ok := s.snapshots[id]; ok {
		return nil, errf("DBSnapshotAlreadyExists", "Cannot create the snapshot because a snapshot with the identifier %s already exists.", id)
	}
	now := s.clock.Now()
	sn := &snapshot{id: id, status: "creating", next: "available", started: now, readyAt: now.Add(dur),
		created: now, snapshotType: "manual"}
	switch s.takeEffect(action) {
	case Stall:
		sn.stalled, sn.stallPercent = true, 42
	case Fail:
		sn.next = "failed"
	}
	return sn, nil
}

func (s *Server) createSnapshot(p params) (*node, *apiError) {
	i, e := s.findInstance(p.get("DBInstanceIdentifier"))
	if e != nil {
		return nil, e
	}
	if i.status != "available" {
		return nil, errf("InvalidDBInstanceState", "Cannot create a snapshot because the database instance %s is not currently in the available state.", i.id)
	}
	sn, e := s.newSnapshotLocked(p.get("DBSnapshotIdentifier"), "CreateDBSnapshot", s.d.Snapshot)
	if e != nil {
		return nil, e
	}
	sn.instanceID, sn.engine, sn.version, sn.class = i.id, i.engine, i.engineVersion, i.class
	sn.allocated, sn.port, sn.vpc, sn.instanceCreated = i.allocated, i.port, s.subnetGroups[i.subnetGroup], i.created
	sn.encrypted, sn.kmsKey, sn.originalInstanceResc = i.encrypted, i.kmsKey, i.resourceID
	s.snapshots[sn.id] = sn
	if tags := p.tags("Tags"); len(tags) > 0 {
		s.tags[sn.arn()] = tags
	}
	return el("CreateDBSnapshotResult", s.snapshotXML(sn)), nil
}

func (s *Server) describeSnapshots(p params) (*node, *apiError) {
	var keep []*snapshot
	if id := p.get("DBSnapshotIdentifier"); id != "" {
		sn, e := s.findSnapshot(id)
		if e != nil {
			return nil, e
		}
		keep = []*snapshot{sn}
	} else {
		for _, id := range sortedKeys(s.snapshots) {
			sn := s.snapshots[id]
			if inst := p.get("DBInstanceIdentifier"); inst != "" && sn.instanceID != idFromARN(inst, "db") {
				continue
			}
			if t := p.get("SnapshotType"); t != "" && sn.snapshotType != t {
				continue
			}
			ok := true
			for _, f := range p.filters("Filters") {
				switch f.name {
				case "db-instance-id":
					ok = ok && contains(f.values, sn.instanceID)
				case "db-snapshot-id":
					ok = ok && contains(f.values, sn.id)
				case "snapshot-type":
					ok = ok && contains(f.values, sn.snapshotType)
				default:
					return nil, errf("InvalidParameterValue", "Unrecognized filter name: %s", f.name)
				}
			}
			if ok {
				keep = append(keep, sn)
			}
		}
	}
	start, end, next := s.page(p, len(keep))
	var out []*node
	for _, sn := range keep[start:end] {
		out = append(out, s.snapshotXML(sn))
	}
	return el("DescribeDBSnapshotsResult", opt("Marker", next), list("DBSnapshots", out)), nil
}

func (s *Server) copySnapshot(p params) (*node, *apiError) {
	src, e := s.findSnapshot(p.get("SourceDBSnapshotIdentifier"))
	if e != nil {
		return nil, e
	}
	if src.status != "available" {
		return nil, errf("InvalidDBSnapshotState", "Snapshot %s is not in available state.", src.id)
	}
	sn, e := s.newSnapshotLocked(p.get("TargetDBSnapshotIdentifier"), "CopyDBSnapshot", s.d.CopySnapshot)
	if e != nil {
		return nil, e
	}
	*sn = snapshot{id: sn.id, status: sn.status, next: sn.next, started: sn.started, readyAt: sn.readyAt,
		stalled: sn.stalled, stallPercent: sn.stallPercent, created: sn.created, snapshotType: "manual",
		instanceID: src.instanceID, engine: src.engine, version: src.version, class: src.class,
		allocated: src.allocated, port: src.port, vpc: src.vpc, instanceCreated: src.instanceCreated,
		encrypted: src.encrypted, kmsKey: src.kmsKey, source: src.arn(), originalInstanceResc: src.originalInstanceResc}
	if k := p.get("KmsKeyId"); k != "" {
		if !strings.HasPrefix(k, "arn:aws:kms:") && !strings.HasPrefix(k, "alias/") && len(k) < 8 {
			return nil, errf("KMSKeyNotAccessibleFault", "The specified KMS key %s is not accessible.", k)
		}
		sn.encrypted, sn.kmsKey = true, k
	}
	s.snapshots[sn.id] = sn
	var tags []Tag
	if p.boolean("CopyTags") {
		tags = append(tags, s.tags[src.arn()]...)
	}
	tags = mergeTags(tags, p.tags("Tags"))
	if len(tags) > 0 {
		s.tags[sn.arn()] = tags
	}
	return el("CopyDBSnapshotResult", s.snapshotXML(sn)), nil
}

func (s *Server) deleteSnapshot(p params) (*node, *apiError) {
	sn, e := s.findSnapshot(p.get("DBSnapshotIdentifier"))
	if e != nil {
		return nil, e
	}
	// "If the snapshot is being copied, the copy operation is terminated";
	// otherwise "the DB snapshot must be in the available state".
	copying := sn.source != "" && sn.status == "creating"
	if sn.status != "available" && sn.status != "failed" && !copying {
		return nil, errf("InvalidDBSnapshotState", "Cannot delete the snapshot because it is not in available state.")
	}
	sn.status = "deleted"
	out := el("DeleteDBSnapshotResult", s.snapshotXML(sn))
	delete(s.snapshots, sn.id)
	delete(s.tags, sn.arn())
	return out, nil
}

func (s *Server) restore(p params) (*node, *apiError) {
	sn, e := s.findSnapshot(p.get("DBSnapshotIdentifier"))
	if e != nil {
		return nil, e
	}
	if sn.status != "available" {
		return nil, errf("InvalidDBSnapshotState", "Snapshot %s is not in available state.", sn.id)
	}
	sgIDs := p.list("VpcSecurityGroupIds")
	if e := s.checkSGs(sgIDs); e != nil {
		return nil, e
	}
	i, e := s.newInstanceLocked(p.get("DBInstanceIdentifier"), "RestoreDBInstanceFromDBSnapshot")
	if e != nil {
		return nil, e
	}
	// Defaults are RDS's, not the source instance's: the class of the
	// snapshot's instance, the default subnet group, the engine's default
	// parameter group and the VPC's default security group. Callers that want
	// the source's settings must pass them.
	i.class = sn.class
	if c := p.get("DBInstanceClass"); c != "" {
		i.class = c
	}
	i.engine, i.engineVersion, i.allocated = sn.engine, sn.version, sn.allocated
	i.encrypted, i.kmsKey = sn.encrypted, sn.kmsKey
	i.origin = Backing{Kind: "restore", SourceInstanceID: sn.instanceID, SnapshotID: sn.id, Encrypted: sn.encrypted}
	i.subnetGroup = "default"
	if g := p.get("DBSubnetGroupName"); g != "" {
		if _, ok := s.subnetGroups[g]; !ok {
			return nil, errf("DBSubnetGroupNotFoundFault", "DB subnet group %s does not exist.", g)
		}
		i.subnetGroup = g
	}
	i.paramGroup = defaultParamGroup(sn.engine, sn.version)
	if g := p.get("DBParameterGroupName"); g != "" {
		if _, ok := s.paramGroups[g]; !ok && !strings.HasPrefix(g, "default.") {
			return nil, errf("DBParameterGroupNotFound", "DBParameterGroup not found: %s", g)
		}
		i.paramGroup = g
	}
	if len(sgIDs) == 0 {
		sgIDs = []string{s.defaultSG()}
	}
	for _, id := range sgIDs {
		i.sgs = append(i.sgs, &sgMembership{id: id, status: "active"})
	}
	i.multiAZ = p.boolean("MultiAZ")
	i.backupRetention = 1
	s.instances[i.id] = i
	if tags := p.tags("Tags"); len(tags) > 0 {
		s.tags[i.arn()] = tags
	}
	return el("RestoreDBInstanceFromDBSnapshotResult", s.instanceXML(i)), nil
}

func (s *Server) resourceExists(arn string) *apiError {
	switch {
	case strings.HasPrefix(arn, rdsARN("db", "")):
		_, e := s.findInstance(arn)
		return e
	case strings.HasPrefix(arn, rdsARN("snapshot", "")):
		_, e := s.findSnapshot(arn)
		return e
	case strings.HasPrefix(arn, rdsARN("deployment", "")):
		if _, ok := s.bgs[idFromARN(arn, "deployment")]; !ok {
			return errf("BlueGreenDeploymentNotFoundFault", "BlueGreenDeployment %s not found.", arn)
		}
		return nil
	case strings.HasPrefix(arn, rdsARN("pg", "")):
		if _, ok := s.paramGroups[idFromARN(arn, "pg")]; !ok {
			return errf("DBParameterGroupNotFound", "DBParameterGroup not found: %s", arn)
		}
		return nil
	}
	return errf("InvalidParameterValue", "Invalid resource name: %s", arn)
}

func (s *Server) addTags(p params) (*node, *apiError) {
	arn := p.get("ResourceName")
	if e := s.resourceExists(arn); e != nil {
		return nil, e
	}
	s.tags[arn] = mergeTags(s.tags[arn], p.tags("Tags"))
	return nil, nil
}

func (s *Server) listTags(p params) (*node, *apiError) {
	arn := p.get("ResourceName")
	if e := s.resourceExists(arn); e != nil {
		return nil, e
	}
	return el("ListTagsForResourceResult", s.tagListXML(arn)), nil
}

// modifiableParamGroup finds a custom parameter group by name, with the
// errors RDS gives for a default group and for an unknown one.
func (s *Server) modifiableParamGroup(name string) (*paramGroup, *apiError) {
	g, ok := s.paramGroups[name]
	if !ok {
		if strings.HasPrefix(name, "default.") {
			return nil, errf("InvalidParameterValue", "Default parameter groups cannot be modified: %s", name)
		}
		return nil, errf("DBParameterGroupNotFound", "DBParameterGroup not found: %s", name)
	}
	return g, nil
}

func (s *Server) modifyParamGroup(p params) (*node, *apiError) {
	name := p.get("DBParameterGroupName")
	g, e := s.modifiableParamGroup(name)
	if e != nil {
		return nil, e
	}
	items := p.items("Parameters")
	if len(items) == 0 {
		return nil, errf("MissingParameter", "The request must contain the parameter Parameters")
	}
	if len(items) > 20 {
		return nil, errf("InvalidParameterValue", "A maximum of 20 parameters can be modified in a single request.")
	}
	now := s.clock.Now()
	immediate := false
	changed := map[string]string{}
	for _, it := range items {
		k := it["ParameterName"]
		if !contains(g.order, k) {
			g.order = append(g.order, k)
		}
		g.params[k] = it["ParameterValue"]
		switch it["ApplyMethod"] {
		case "immediate":
			immediate = true
			changed[k] = it["ParameterValue"]
		case "pending-reboot":
		default:
			return nil, errf("InvalidParameterValue", "ApplyMethod must be immediate or pending-reboot for %s", k)
		}
	}
	for _, i := range s.instances {
		if i.paramGroup != name || i.status == "deleting" {
			continue
		}
		switch {
		case i.paramApply == "pending-reboot":
			// As on RDS: once a change waits for a reboot, the instance
			// reports pending-reboot until it reboots, whatever is changed
			// since. (The fake does not apply the dynamic values meanwhile.)
		case immediate:
			i.paramApply, i.paramApplyAt = "applying", now.Add(s.d.ParameterApply)
			if i.applying == nil {
				i.applying = map[string]string{}
			}
			for k, v := range changed {
				i.applying[k] = v
			}
		default:
			i.paramApply = "pending-reboot"
		}
	}
	return el("ModifyDBParameterGroupResult", txt("DBParameterGroupName", name)), nil
}

// resetParamGroup sets parameters back to the engine's defaults. Of the
// defaults the fake applies only read_only's ({TrueIfReplica}: 1 on a
// replica, 0 otherwise), the one parameter a test's server sees.
func (s *Server) resetParamGroup(p params) (*node, *apiError) {
	name := p.get("DBParameterGroupName")
	g, e := s.modifiableParamGroup(name)
	if e != nil {
		return nil, e
	}
	items := p.items("Parameters")
	all := p.boolean("ResetAllParameters")
	if all == (len(items) > 0) {
		return nil, errf("InvalidParameterCombination", "Specify either ResetAllParameters or Parameters, not both and not neither.")
	}
	immediate := all
	var reset []string
	if all {
		reset = append(reset, g.order...)
	}
	for _, it := range items {
		k := it["ParameterName"]
		if k == "" {
			return nil, errf("MissingParameter", "ParameterName is required")
		}
		switch it["ApplyMethod"] {
		case "immediate":
			immediate = true
		case "pending-reboot":
		default:
			return nil, errf("InvalidParameterValue", "ApplyMethod must be immediate or pending-reboot for %s", k)
		}
		reset = append(reset, k)
	}
	for _, k := range reset {
		delete(g.params, k)
	}
	now := s.clock.Now()
	for _, i := range s.instances {
		if i.paramGroup != name || i.status == "deleting" || i.paramApply == "pending-reboot" {
			continue
		}
		if !immediate {
			i.paramApply = "pending-reboot"
			continue
		}
		i.paramApply, i.paramApplyAt = "applying", now.Add(s.d.ParameterApply)
		if contains(reset, "read_only") {
			if i.applying == nil {
				i.applying = map[string]string{}
			}
			i.applying["read_only"] = map[bool]string{true: "1", false: "0"}[i.replicaSource != ""]
		}
	}
	return el("ResetDBParameterGroupResult", txt("DBParameterGroupName", name)), nil
}

func (s *Server) describeParams(p params) (*node, *apiError) {
	name := p.get("DBParameterGroupName")
	g, ok := s.paramGroups[name]
	if !ok {
		if !strings.HasPrefix(name, "default.") {
			return nil, errf("DBParameterGroupNotFound", "DBParameterGroup not found: %s", name)
		}
		g = s.addParamGroupLocked(name, strings.TrimPrefix(name, "default."), nil)
	}
	var keep []string
	for _, k := range g.order {
		_, set := g.params[k]
		if src := p.get("Source"); src == "user" && !set {
			continue
		}
		keep = append(keep, k)
	}
	start, end, next := s.page(p, len(keep))
	var out []*node
	for _, k := range keep[start:end] {
		v, set := g.params[k]
		source := "engine-default"
		if set {
			source = "user"
		}
		out = append(out, el("Parameter", txt("ParameterName", k), opt("ParameterValue", v),
			txt("Source", source), txt("ApplyType", "dynamic"), txt("DataType", "string"),
			boolean("IsModifiable", true), txt("ApplyMethod", "pending-reboot")))
	}
	return el("DescribeDBParametersResult", list("Parameters", out), opt("Marker", next)), nil
}

// AttachEndpoint backs an instance by a real server: DescribeDBInstances then
// reports host:port as its Endpoint.
func (s *Server) AttachEndpoint(id, host string, port int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.instances[id]
	if ok {
		i.host, i.port = host, port
	}
	return ok
}

// SetParameterApplyFunc lets a test make parameter changes real on the
// servers backing instances: fn gets the instance and the parameters
// modified with ApplyMethod=immediate when the instance's parameter group
// turns in-sync (e.g. SET GLOBAL read_only=1 on the sandbox behind it), and
// every user-set parameter of its group when an instance the backing func
// gave a server turns available (it starts with them). fn runs with the
// fake locked and must not call the fake.
func (s *Server) SetParameterApplyFunc(fn func(instanceID string, params map[string]string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paramHook = fn
}

// SnapshotBacking describes a snapshot that just became available: of
// InstanceID, or a copy of SourceSnapshotID (then Encrypted/KmsKeyID say
// how the copy is encrypted).
type SnapshotBacking struct {
	SnapshotID       string
	InstanceID       string
	SourceSnapshotID string // "" unless a copy
	Encrypted        bool
	KmsKeyID         string
}

// SetSnapshotFunc lets a test give snapshots real data (a physical backup
// of the server behind InstanceID, an encrypted copy of another backup), to
// be restored later by the SetBackingFunc of a restore. fn runs with the
// fake locked when the snapshot turns available and must not call the fake.
func (s *Server) SetSnapshotFunc(fn func(SnapshotBacking)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snapshotHook = fn
}

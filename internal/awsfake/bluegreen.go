package awsfake

import (
	"fmt"
	"strings"
	"time"
)

type blueGreen struct {
	id, name      string
	blue, green   string // instance identifiers (they swap names at switchover)
	status        string // PROVISIONING, AVAILABLE, SWITCHOVER_IN_PROGRESS, SWITCHOVER_COMPLETED, DELETING
	readyAt       time.Time
	switchAt      time.Time
	deleteAt      time.Time
	created       time.Time
	stalled       bool
	failSwitch    bool
	sourceARN     string
	targetARN     string
	memberStatus  string
	deleteTarget  bool
	switchedBlue  string // blue's identifier after switchover
	switchedGreen string
}

func (s *Server) settleBlueGreen(bg *blueGreen, now time.Time) {
	switch bg.status {
	case "PROVISIONING":
		g, ok := s.instances[bg.green]
		if !bg.stalled && !now.Before(bg.readyAt) && ok && g.status == "available" {
			bg.status, bg.memberStatus = "AVAILABLE", "AVAILABLE"
		}
	case "SWITCHOVER_IN_PROGRESS":
		if now.Before(bg.switchAt) {
			return
		}
		if bg.failSwitch {
			bg.status, bg.memberStatus = "SWITCHOVER_FAILED", "SWITCHOVER_FAILED"
			return
		}
		blue, green := s.instances[bg.blue], s.instances[bg.green]
		if blue == nil || green == nil {
			bg.status = "INVALID_CONFIGURATION"
			return
		}
		// Green takes blue's name (and so its DNS name); blue gets
		// "-oldN", the first N whose name is free (RDS's naming).
		oldBlueARN, oldGreenARN := blue.arn(), green.arn()
		delete(s.instances, blue.id)
		delete(s.instances, green.id)
		blueID, oldGreenID := blue.id, green.id
		for n := 1; ; n++ {
			if _, taken := s.instances[fmt.Sprintf("%s-old%d", blueID, n)]; !taken {
				blue.id = fmt.Sprintf("%s-old%d", blueID, n)
				break
			}
		}
		green.id = blueID
		green.replicaSource = ""
		blue.replicas = removeString(blue.replicas, bg.green)
		s.instances[blue.id], s.instances[green.id] = blue, green
		blueTags, greenTags := s.tags[oldBlueARN], s.tags[oldGreenARN]
		delete(s.tags, oldBlueARN)
		delete(s.tags, oldGreenARN)
		if blueTags != nil {
			s.tags[blue.arn()] = blueTags
		}
		if greenTags != nil {
			s.tags[green.arn()] = greenTags
		}
		bg.blue, bg.green = blue.id, green.id
		bg.sourceARN, bg.targetARN = blue.arn(), green.arn()
		bg.status, bg.memberStatus = "SWITCHOVER_COMPLETED", "SWITCHOVER_COMPLETED"
		if s.switchoverHook != nil {
			// RDS's default read_only is {TrueIfReplica}: green, no longer a
			// replica, opens for writes unless its group pins read_only=1.
			pinned := false
			if g := s.paramGroups[green.paramGroup]; g != nil {
				pinned = g.params["read_only"] == "1"
			}
			s.switchoverHook(SwitchoverEvent{
				Blue:          SwitchedMember{OldID: blueID, NewID: blue.id, Host: blue.host, Port: blue.port},
				Green:         SwitchedMember{OldID: oldGreenID, NewID: green.id, Host: green.host, Port: green.port},
				GreenReadOnly: pinned,
			})
		}
	case "DELETING":
		if !now.Before(bg.deleteAt) {
			delete(s.bgs, bg.id)
			delete(s.tags, rdsARN("deployment", bg.id))
		}
	}
}

// SwitchedMember is one instance of a completed switchover: its identifier
// before and after (green takes blue's; blue gets "-oldN", N the first free
// number, usually 1) and its endpoint.
type SwitchedMember struct {
	OldID, NewID string
	Host         string
	Port         int
}

// SwitchoverEvent is what RDS does to the servers at the end of a
// switchover, for a test to do to the servers behind the instances: green
// stops replicating and becomes writable (GreenReadOnly false) unless its
// parameter group sets read_only=1; blue is set read-only.
type SwitchoverEvent struct {
	Blue, Green   SwitchedMember
	GreenReadOnly bool
}

// SetSwitchoverFunc is called when a blue/green switchover completes, with
// the fake locked (fn must not call the fake).
func (s *Server) SetSwitchoverFunc(fn func(SwitchoverEvent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.switchoverHook = fn
}

func (s *Server) blueGreenXML(bg *blueGreen) *node {
	tasks := []*node{
		el("member", txt("Name", "CREATING_READ_REPLICA_OF_SOURCE"), txt("Status", taskStatus(bg))),
		el("member", txt("Name", "CONFIGURE_BACKUPS"), txt("Status", taskStatus(bg))),
	}
	return el("BlueGreenDeployment",
		txt("BlueGreenDeploymentIdentifier", bg.id),
		txt("BlueGreenDeploymentName", bg.name),
		txt("Source", bg.sourceARN),
		txt("Target", bg.targetARN),
		list("SwitchoverDetails", []*node{el("member", txt("SourceMember", bg.sourceARN),
			txt("TargetMember", bg.targetARN), txt("Status", bg.memberStatus))}),
		list("Tasks", tasks),
		txt("Status", bg.status),
		txt("CreateTime", isoTime(bg.created)),
		s.tagListXML(rdsARN("deployment", bg.id)),
	)
}

func taskStatus(bg *blueGreen) string {
	if bg.status == "PROVISIONING" {
		return "IN_PROGRESS"
	}
	return "COMPLETED"
}

func (s *Server) createBlueGreen(p params) (*node, *apiError) {
	name := p.get("BlueGreenDeploymentName")
	if name == "" || p.get("Source") == "" {
		return nil, errf("MissingParameter", "BlueGreenDeploymentName and Source are required")
	}
	for _, bg := range s.bgs {
		if bg.name == name {
			return nil, errf("BlueGreenDeploymentAlreadyExistsFault", "A blue/green deployment with the specified name %s already exists.", name)
		}
	}
	if !strings.HasPrefix(p.get("Source"), "arn:") {
		return nil, errf("InvalidParameterValue", "Source must be the ARN of a DB instance: %s", p.get("Source"))
	}
	blue, e := s.findInstance(p.get("Source"))
	if e != nil {
		return nil, errf("SourceDatabaseNotFoundFault", "The source DB instance %s doesn't exist.", p.get("Source"))
	}
	if blue.status != "available" {
		return nil, errf("InvalidDBInstanceState", "DB instance %s is not in available state.", blue.id)
	}
	effect := s.takeEffect("CreateBlueGreenDeployment")
	green, e := s.newInstanceLocked(blue.id+"-green-"+strings.ToLower(s.nextID("")[11:]), "")
	if e != nil {
		return nil, e
	}
	green.class, green.engine, green.engineVersion = blue.class, blue.engine, blue.engineVersion
	if v := p.get("TargetEngineVersion"); v != "" {
		green.engineVersion = v
	}
	if c := p.get("TargetDBInstanceClass"); c != "" {
		green.class = c
	}
	green.paramGroup = blue.paramGroup
	if g := p.get("TargetDBParameterGroupName"); g != "" {
		if _, ok := s.paramGroups[g]; !ok && !strings.HasPrefix(g, "default.") {
			return nil, errf("DBParameterGroupNotFound", "DBParameterGroup not found: %s", g)
		}
		green.paramGroup = g
	}
	green.subnetGroup, green.encrypted, green.kmsKey, green.allocated = blue.subnetGroup, blue.encrypted, blue.kmsKey, blue.allocated
	for _, m := range blue.sgs {
		green.sgs = append(green.sgs, &sgMembership{id: m.id, status: "active"})
	}
	green.replicaSource = blue.id
	green.origin = Backing{Kind: "blue-green", SourceInstanceID: blue.id, Encrypted: blue.encrypted}
	green.backupRetention = blue.backupRetention
	blue.replicas = append(blue.replicas, green.id)
	s.instances[green.id] = green
	now := s.clock.Now()
	bg := &blueGreen{id: "bgd-" + strings.ToLower(s.nextID("")[3:]), name: name, blue: blue.id, green: green.id,
		status: "PROVISIONING", memberStatus: "PROVISIONING", readyAt: now.Add(s.d.BlueGreenCreate), created: now,
		sourceARN: blue.arn(), targetARN: green.arn()}
	switch effect {
	case Stall:
		bg.stalled = true
	case Fail:
		bg.failSwitch = true
	}
	s.bgs[bg.id] = bg
	if tags := p.tags("Tags"); len(tags) > 0 {
		s.tags[rdsARN("deployment", bg.id)] = tags
	}
	// The green instance is a copy of blue, tags included; the deployment's
	// own tags stay on the deployment.
	if tags := s.tags[blue.arn()]; len(tags) > 0 {
		s.tags[green.arn()] = append([]Tag(nil), tags...)
	}
	return el("CreateBlueGreenDeploymentResult", s.blueGreenXML(bg)), nil
}

func (s *Server) findBlueGreen(id string) (*blueGreen, *apiError) {
	bg, ok := s.bgs[id]
	if !ok {
		return nil, errf("BlueGreenDeploymentNotFoundFault", "BlueGreenDeploymentIdentifier %s doesn't refer to an existing blue/green deployment.", id)
	}
	return bg, nil
}

func (s *Server) describeBlueGreens(p params) (*node, *apiError) {
	var keep []*blueGreen
	if id := p.get("BlueGreenDeploymentIdentifier"); id != "" {
		bg, e := s.findBlueGreen(id)
		if e != nil {
			return nil, e
		}
		keep = append(keep, bg)
	} else {
		for _, id := range sortedKeys(s.bgs) {
			bg := s.bgs[id]
			ok := true
			for _, f := range p.filters("Filters") {
				switch f.name {
				case "blue-green-deployment-identifier":
					ok = ok && contains(f.values, bg.id)
				case "blue-green-deployment-name":
					ok = ok && contains(f.values, bg.name)
				case "source":
					ok = ok && contains(f.values, bg.sourceARN)
				case "target":
					ok = ok && contains(f.values, bg.targetARN)
				default:
					return nil, errf("InvalidParameterValue", "Unrecognized filter name: %s", f.name)
				}
			}
			if ok {
				keep = append(keep, bg)
			}
		}
	}
	start, end, next := s.page(p, len(keep))
	var out []*node
	for _, bg := range keep[start:end] {
		// This newer API's lists use "member" elements, unlike DBInstances.
		m := s.blueGreenXML(bg)
		m.name = "member"
		out = append(out, m)
	}
	return el("DescribeBlueGreenDeploymentsResult", list("BlueGreenDeployments", out), opt("Marker", next)), nil
}

func (s *Server) switchoverBlueGreen(p params) (*node, *apiError) {
	bg, e := s.findBlueGreen(p.get("BlueGreenDeploymentIdentifier"))
	if e != nil {
		return nil, e
	}
	if bg.status != "AVAILABLE" {
		return nil, errf("InvalidBlueGreenDeploymentStateFault", "The blue/green deployment can't be switched over because it is in the %s state.", bg.status)
	}
	bg.status, bg.memberStatus = "SWITCHOVER_IN_PROGRESS", "SWITCHOVER_IN_PROGRESS"
	bg.switchAt = s.clock.Now().Add(s.d.Switchover)
	return el("SwitchoverBlueGreenDeploymentResult", s.blueGreenXML(bg)), nil
}

func (s *Server) deleteBlueGreen(p params) (*node, *apiError) {
	bg, e := s.findBlueGreen(p.get("BlueGreenDeploymentIdentifier"))
	if e != nil {
		return nil, e
	}
	if bg.status == "SWITCHOVER_IN_PROGRESS" || bg.status == "DELETING" {
		return nil, errf("InvalidBlueGreenDeploymentStateFault", "The blue/green deployment is in the %s state.", bg.status)
	}
	if p.boolean("DeleteTarget") {
		if bg.status == "SWITCHOVER_COMPLETED" {
			return nil, errf("InvalidParameterCombination", "You can't delete the target of a blue/green deployment that was switched over.")
		}
		if g, ok := s.instances[bg.green]; ok {
			g.status, g.next, g.readyAt, g.stalled = "deleting", "deleted", s.clock.Now().Add(s.d.DeleteInstance), false
		}
	} else if g, ok := s.instances[bg.green]; ok && bg.status != "SWITCHOVER_COMPLETED" {
		// Without DeleteTarget the green instance stays, as a standalone instance.
		g.replicaSource = ""
		if b, ok := s.instances[bg.blue]; ok {
			b.replicas = removeString(b.replicas, g.id)
		}
	}
	bg.status, bg.deleteAt = "DELETING", s.clock.Now().Add(time.Minute)
	return el("DeleteBlueGreenDeploymentResult", s.blueGreenXML(bg)), nil
}

// BlueGreenState is a deployment as a test sees it.
type BlueGreenState struct {
	ID, Name, Status string
	Blue, Green      string // instance identifiers now
}

// BlueGreen returns the deployment named name.
func (s *Server) BlueGreen(name string) (BlueGreenState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, bg := range s.bgs {
		if bg.name == name {
			s.settleBlueGreen(bg, s.clock.Now())
			return BlueGreenState{ID: bg.id, Name: bg.name, Status: bg.status, Blue: bg.blue, Green: bg.green}, true
		}
	}
	return BlueGreenState{}, false
}

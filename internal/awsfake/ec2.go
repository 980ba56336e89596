package awsfake

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const (
	ec2Version = "2016-11-15"
	ec2NS      = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

var ec2Actions = map[string]bool{
	"CreateSecurityGroup": true, "DescribeSecurityGroups": true, "DeleteSecurityGroup": true,
	"CreateTags": true, "RevokeSecurityGroupEgress": true,
}

type securityGroup struct {
	id, name, desc, vpc string
	ingress, egress     []ipPerm
	tags                []Tag
}

type ipPerm struct {
	proto    string
	from, to int // -1 when unset
	cidrs    []string
}

func allowAllEgress() ipPerm {
	return ipPerm{proto: "-1", from: -1, to: -1, cidrs: []string{"0.0.0.0/0"}}
}

func (a ipPerm) same(b ipPerm) bool {
	if a.proto != b.proto || a.from != b.from || a.to != b.to || len(a.cidrs) != len(b.cidrs) {
		return false
	}
	for i := range a.cidrs {
		if a.cidrs[i] != b.cidrs[i] {
			return false
		}
	}
	return true
}

// SecurityGroupState is what a test can read back about a security group.
type SecurityGroupState struct {
	ID, Name, VpcID string
	IngressRules    int
	EgressRules     int
	Tags            []Tag
}

// SecurityGroup returns a security group's state.
func (s *Server) SecurityGroup(id string) (SecurityGroupState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.sgs[id]
	if !ok {
		return SecurityGroupState{}, false
	}
	return SecurityGroupState{ID: g.id, Name: g.name, VpcID: g.vpc, IngressRules: len(g.ingress),
		EgressRules: len(g.egress), Tags: append([]Tag(nil), g.tags...)}, true
}

// SecurityGroupIDs lists security groups, sorted.
func (s *Server) SecurityGroupIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.sgs)
}

// AddSecurityGroup seeds a security group (e.g. the source instance's).
func (s *Server) AddSecurityGroup(id, name, vpcID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sgs[id] = &securityGroup{id: id, name: name, desc: name, vpc: vpcID,
		ingress: []ipPerm{{proto: "tcp", from: 3306, to: 3306, cidrs: []string{"10.0.0.0/8"}}},
		egress:  []ipPerm{allowAllEgress()}}
}

func (s *Server) serveEC2(w http.ResponseWriter, form url.Values) {
	action := form.Get("Action")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	rid := s.requestID()
	fail := func(e *apiError) {
		writeXML(w, e.status, el("Response",
			el("Errors", el("Error", txt("Code", e.code), txt("Message", e.msg))),
			txt("RequestID", rid)))
	}
	if e := s.admit("ec2", action, form); e != nil {
		fail(e)
		return
	}
	p := flatten(form)
	var kids []*node
	var e *apiError
	switch action {
	case "CreateSecurityGroup":
		kids, e = s.createSG(p)
	case "DescribeSecurityGroups":
		kids, e = s.describeSGs(p)
	case "DeleteSecurityGroup":
		kids, e = s.deleteSG(p)
	case "CreateTags":
		kids, e = s.createTags(p)
	case "RevokeSecurityGroupEgress":
		kids, e = s.revokeEgress(p)
	default:
		e = errf("InvalidAction", "The action %s is not valid for this web service.", action)
	}
	s.record("ec2", action, form, e)
	if e != nil {
		fail(e)
		return
	}
	root := el(action+"Response", append([]*node{txt("requestId", rid)}, kids...)...)
	writeXML(w, http.StatusOK, xmlns(root, ec2NS))
}

func ec2TagSet(tags []Tag) *node {
	var items []*node
	for _, t := range tags {
		items = append(items, el("item", txt("key", t.Key), txt("value", t.Value)))
	}
	return list("tagSet", items)
}

func sgARN(id string) string {
	return "arn:aws:ec2:" + Region + ":" + AccountID + ":security-group/" + id
}

func (s *Server) createSG(p params) ([]*node, *apiError) {
	name, desc := p.get("GroupName"), p.get("GroupDescription")
	if name == "" || desc == "" {
		return nil, errf("MissingParameter", "The request must contain the parameters GroupName and GroupDescription")
	}
	vpc := p.get("VpcId")
	if vpc == "" {
		vpc = "vpc-0fake0000000001"
	}
	for _, g := range s.sgs {
		if g.name == name && g.vpc == vpc {
			return nil, errf("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpc)
		}
	}
	g := &securityGroup{id: "sg-" + s.nextID("")[0:17], name: name, desc: desc, vpc: vpc,
		egress: []ipPerm{allowAllEgress()}}
	for _, spec := range p.items("TagSpecification") {
		if spec["ResourceType"] != "security-group" {
			return nil, errf("InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", spec["ResourceType"])
		}
		g.tags = mergeTags(g.tags, spec.tags("Tag"))
	}
	s.sgs[g.id] = g
	return []*node{txt("groupId", g.id), ec2TagSet(g.tags), txt("securityGroupArn", sgARN(g.id))}, nil
}

func permXML(perms []ipPerm) []*node {
	var out []*node
	for _, pm := range perms {
		var ranges []*node
		for _, c := range pm.cidrs {
			ranges = append(ranges, el("item", txt("cidrIp", c)))
		}
		var from, to *node
		if pm.from >= 0 {
			from, to = num("fromPort", pm.from), num("toPort", pm.to)
		}
		out = append(out, el("item", txt("ipProtocol", pm.proto), from, to, list("groups", nil),
			list("ipRanges", ranges), list("ipv6Ranges", nil), list("prefixListIds", nil)))
	}
	return out
}

func (s *Server) describeSGs(p params) ([]*node, *apiError) {
	ids, names := p.list("GroupId"), p.list("GroupName")
	for _, id := range ids {
		if _, ok := s.sgs[id]; !ok {
			return nil, errf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	}
	var items []*node
	for _, id := range sortedKeys(s.sgs) {
		g := s.sgs[id]
		if len(ids) > 0 && !contains(ids, g.id) || len(names) > 0 && !contains(names, g.name) {
			continue
		}
		ok := true
		for _, f := range p.filters("Filter") {
			switch {
			case f.name == "group-id":
				ok = ok && contains(f.values, g.id)
			case f.name == "group-name":
				ok = ok && contains(f.values, g.name)
			case f.name == "vpc-id":
				ok = ok && contains(f.values, g.vpc)
			case f.name == "tag-key":
				hit := false
				for _, t := range g.tags {
					hit = hit || contains(f.values, t.Key)
				}
				ok = ok && hit
			case strings.HasPrefix(f.name, "tag:"):
				hit := false
				for _, t := range g.tags {
					hit = hit || (t.Key == f.name[4:] && contains(f.values, t.Value))
				}
				ok = ok && hit
			default:
				return nil, errf("InvalidParameterValue", "The filter '%s' is invalid", f.name)
			}
		}
		if !ok {
			continue
		}
		items = append(items, el("item",
			txt("ownerId", AccountID), txt("groupId", g.id), txt("groupName", g.name),
			txt("groupDescription", g.desc), txt("vpcId", g.vpc),
			list("ipPermissions", permXML(g.ingress)), list("ipPermissionsEgress", permXML(g.egress)),
			ec2TagSet(g.tags), txt("securityGroupArn", sgARN(g.id))))
	}
	return []*node{list("securityGroupInfo", items)}, nil
}

func (s *Server) deleteSG(p params) ([]*node, *apiError) {
	id := p.get("GroupId")
	if id == "" {
		for _, g := range s.sgs {
			if g.name == p.get("GroupName") {
				id = g.id
			}
		}
	}
	if _, ok := s.sgs[id]; !ok {
		return nil, errf("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	for _, i := range s.instances {
		for _, m := range i.sgs {
			if m.id == id {
				return nil, errf("DependencyViolation", "resource %s has a dependent object", id)
			}
		}
	}
	delete(s.sgs, id)
	return []*node{boolean("return", true), txt("groupId", id)}, nil
}

func (s *Server) createTags(p params) ([]*node, *apiError) {
	ids := p.list("ResourceId")
	tags := p.tags("Tag")
	for _, id := range ids {
		g, ok := s.sgs[id]
		if !ok {
			return nil, errf("InvalidID", "The ID '%s' is not valid", id)
		}
		g.tags = mergeTags(g.tags, tags)
	}
	return []*node{boolean("return", true)}, nil
}

func (s *Server) revokeEgress(p params) ([]*node, *apiError) {
	g, ok := s.sgs[p.get("GroupId")]
	if !ok {
		return nil, errf("InvalidGroup.NotFound", "The security group '%s' does not exist", p.get("GroupId"))
	}
	for _, it := range p.items("IpPermissions") {
		pm := ipPerm{proto: it["IpProtocol"], from: -1, to: -1}
		if v, err := strconv.Atoi(it["FromPort"]); err == nil {
			pm.from = v
		}
		if v, err := strconv.Atoi(it["ToPort"]); err == nil {
			pm.to = v
		}
		if pm.proto == "-1" {
			pm.from, pm.to = -1, -1
		}
		for _, r := range it.items("IpRanges") {
			pm.cidrs = append(pm.cidrs, r["CidrIp"])
		}
		found := false
		kept := g.egress[:0]
		for _, e := range g.egress {
			if e.same(pm) {
				found = true
				continue
			}
			kept = append(kept, e)
		}
		g.egress = kept
		if !found {
			return nil, errf("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
		}
	}
	return []*node{boolean("return", true)}, nil
}

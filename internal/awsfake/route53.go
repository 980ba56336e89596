package awsfake

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const r53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

type zone struct {
	id, name string
	records  map[string]*rrset // "name|type"
}

type rrset struct {
	Name            string   `xml:"Name"`
	Type            string   `xml:"Type"`
	TTL             int      `xml:"TTL"`
	ResourceRecords []string `xml:"ResourceRecords>ResourceRecord>Value"`
}

type change struct {
	id        string
	status    string
	submitted time.Time
	insyncAt  time.Time
	comment   string
}

// AddHostedZone seeds a hosted zone; id is without the "/hostedzone/" prefix.
func (s *Server) AddHostedZone(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zones[id] = &zone{id: id, name: fqdn(name), records: map[string]*rrset{}}
}

// Record returns the values and TTL of a record set.
func (s *Server) Record(zoneID, name, typ string) (values []string, ttl int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zones[zoneID]
	if !ok {
		return nil, 0, false
	}
	r, ok := z.records[fqdn(name)+"|"+typ]
	if !ok {
		return nil, 0, false
	}
	return append([]string(nil), r.ResourceRecords...), r.TTL, true
}

// StallDNSChanges keeps changes submitted from now on PENDING forever (true)
// or lets them reach INSYNC again (false).
func (s *Server) StallDNSChanges(stall bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stall {
		s.d.DNSChange = 100 * 365 * 24 * time.Hour
	} else {
		s.d.DNSChange = DefaultDurations().DNSChange
	}
}

func fqdn(n string) string {
	if !strings.HasSuffix(n, ".") {
		return n + "."
	}
	return n
}

type changeBatchRequest struct {
	XMLName xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	Comment string   `xml:"ChangeBatch>Comment"`
	Changes []struct {
		Action string `xml:"Action"`
		RRSet  rrset  `xml:"ResourceRecordSet"`
	} `xml:"ChangeBatch>Changes>Change"`
}

func (s *Server) serveRoute53(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle()
	rid := s.requestID()
	fail := func(e *apiError) {
		writeXML(w, e.status, xmlns(el("ErrorResponse",
			el("Error", txt("Type", "Sender"), txt("Code", e.code), txt("Message", e.msg)),
			txt("RequestId", rid)), r53NS))
	}
	path := strings.TrimPrefix(r.URL.Path, "/2013-04-01/")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var action string
	switch {
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		action = "ChangeResourceRecordSets"
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		action = "ListResourceRecordSets"
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "change":
		action = "GetChange"
	default:
		fail(&apiError{status: http.StatusNotFound, code: "InvalidAction", msg: r.Method + " " + r.URL.Path})
		return
	}
	q := r.URL.Query()
	if e := s.admit("route53", action, q); e != nil {
		fail(e)
		return
	}
	var root *node
	var e *apiError
	switch action {
	case "ChangeResourceRecordSets":
		root, e = s.changeRRSets(parts[1], r, q)
	case "ListResourceRecordSets":
		root, e = s.listRRSets(parts[1], q)
	case "GetChange":
		root, e = s.getChange(parts[1])
	}
	s.record("route53", action, q, e)
	if e != nil {
		fail(e)
		return
	}
	writeXML(w, http.StatusOK, xmlns(root, r53NS))
}

func (s *Server) changeInfo(c *change) *node {
	return el("ChangeInfo", txt("Id", "/change/"+c.id), txt("Status", c.status),
		txt("SubmittedAt", isoTime(c.submitted)), opt("Comment", c.comment))
}

func (s *Server) changeRRSets(zoneID string, r *http.Request, q url.Values) (*node, *apiError) {
	z, ok := s.zones[zoneID]
	if !ok {
		return nil, errf("NoSuchHostedZone", "No hosted zone found with ID: %s", zoneID)
	}
	var req changeBatchRequest
	if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, errf("InvalidInput", "Invalid XML: %v", err)
	}
	if len(req.Changes) == 0 {
		return nil, errf("InvalidInput", "Invalid request: Expected exactly one of [...]: ChangeBatch.Changes is empty")
	}
	// Validate the whole batch first: Route53 applies all changes or none.
	for _, c := range req.Changes {
		name := fqdn(c.RRSet.Name)
		if !strings.HasSuffix(name, z.name) {
			return nil, errf("InvalidChangeBatch", "RRSet with DNS name %s is not permitted in zone %s", name, z.name)
		}
		key := name + "|" + c.RRSet.Type
		switch c.Action {
		case "UPSERT":
		case "CREATE":
			if _, exists := z.records[key]; exists {
				return nil, errf("InvalidChangeBatch", "Tried to create resource record set [name='%s', type='%s'] but it already exists", name, c.RRSet.Type)
			}
		case "DELETE":
			if _, exists := z.records[key]; !exists {
				return nil, errf("InvalidChangeBatch", "Tried to delete resource record set [name='%s', type='%s'] but it was not found", name, c.RRSet.Type)
			}
		default:
			return nil, errf("InvalidInput", "Invalid Action %s", c.Action)
		}
		if c.Action != "DELETE" && c.RRSet.Type == "CNAME" && len(c.RRSet.ResourceRecords) != 1 {
			return nil, errf("InvalidChangeBatch", "A CNAME record set must have exactly one value")
		}
	}
	for _, c := range req.Changes {
		rs := c.RRSet
		rs.Name = fqdn(rs.Name)
		key := rs.Name + "|" + rs.Type
		if c.Action == "DELETE" {
			delete(z.records, key)
			continue
		}
		z.records[key] = &rs
	}
	now := s.clock.Now()
	c := &change{id: "C" + strings.ToUpper(s.nextID("")[3:]), status: "PENDING", submitted: now,
		insyncAt: now.Add(s.d.DNSChange), comment: req.Comment}
	s.changes[c.id] = c
	return el("ChangeResourceRecordSetsResponse", s.changeInfo(c)), nil
}

func (s *Server) getChange(id string) (*node, *apiError) {
	c, ok := s.changes[id]
	if !ok {
		return nil, errf("NoSuchChange", "A change with the specified change ID does not exist: %s", id)
	}
	return el("GetChangeResponse", s.changeInfo(c)), nil
}

func (s *Server) listRRSets(zoneID string, q url.Values) (*node, *apiError) {
	z, ok := s.zones[zoneID]
	if !ok {
		return nil, errf("NoSuchHostedZone", "No hosted zone found with ID: %s", zoneID)
	}
	keys := sortedKeys(z.records)
	sort.Strings(keys)
	start := 0
	if n := q.Get("name"); n != "" {
		from := fqdn(n) + "|" + q.Get("type")
		for start < len(keys) && keys[start] < from {
			start++
		}
	}
	maxItems := 100
	if m, err := strconv.Atoi(q.Get("maxitems")); err == nil && m > 0 {
		maxItems = m
	}
	end := min(start+maxItems, len(keys))
	var sets []*node
	for _, k := range keys[start:end] {
		r := z.records[k]
		var values []*node
		for _, v := range r.ResourceRecords {
			values = append(values, el("ResourceRecord", txt("Value", v)))
		}
		sets = append(sets, el("ResourceRecordSet", txt("Name", r.Name), txt("Type", r.Type),
			num("TTL", r.TTL), list("ResourceRecords", values)))
	}
	truncated := end < len(keys)
	var next []*node
	if truncated {
		nr := z.records[keys[end]]
		next = []*node{txt("NextRecordName", nr.Name), txt("NextRecordType", nr.Type)}
	}
	return el("ListResourceRecordSetsResponse", append([]*node{list("ResourceRecordSets", sets),
		boolean("IsTruncated", truncated)}, append(next, num("MaxItems", maxItems))...)...), nil
}

// Package awsfake is a local HTTP test server that speaks the wire protocols
// of the AWS APIs dbshift uses: RDS (query/XML, Version 2014-10-31), EC2
// (ec2 query/XML, Version 2016-11-15) and Route53 (REST/XML, 2013-04-01).
//
// It keeps resource state, moves resources through their states on a virtual
// clock the test controls (Advance, or Sleep from the code under test), and
// answers with the real error codes in the real XML error shapes, so the real
// aws-sdk-go-v2 clients run against it unchanged (BaseEndpoint = URL()).
//
// Element and parameter names follow the AWS API reference; they were checked
// against the request serializers and response deserializers that the SDK
// generates from the same API models (service/rds, service/ec2,
// service/route53).
package awsfake

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AccountID is the account every ARN in the fake belongs to.
const AccountID = "123456789012"

// Region is the region every ARN in the fake names.
const Region = "us-east-1"

// Clock is the fake's virtual clock. Nothing in the fake moves unless the
// clock does: tests call Advance, or hand the clock to the code under test,
// whose Sleep advances it instead of blocking.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the virtual time forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleep advances the virtual clock by d and returns at once, unless ctx is
// already done. It lets a poller's backoff drive the fake's state machine.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// Durations are the virtual times resources take to change state.
type Durations struct {
	CreateInstance  time.Duration // read replica and restore: creating -> available
	Modify          time.Duration // modifying -> available, SG membership adding -> active
	DeleteInstance  time.Duration // deleting -> gone
	Snapshot        time.Duration // snapshot creating -> available (PercentProgress 0..100)
	CopySnapshot    time.Duration
	DeleteSnapshot  time.Duration
	ParameterApply  time.Duration // applying -> in-sync
	BlueGreenCreate time.Duration // PROVISIONING -> AVAILABLE
	Switchover      time.Duration // SWITCHOVER_IN_PROGRESS -> SWITCHOVER_COMPLETED
	DNSChange       time.Duration // PENDING -> INSYNC
}

// DefaultDurations are in the order of magnitude RDS shows for small instances.
func DefaultDurations() Durations {
	return Durations{
		CreateInstance:  10 * time.Minute,
		Modify:          time.Minute,
		DeleteInstance:  5 * time.Minute,
		Snapshot:        15 * time.Minute,
		CopySnapshot:    20 * time.Minute,
		DeleteSnapshot:  time.Minute,
		ParameterApply:  30 * time.Second,
		BlueGreenCreate: 30 * time.Minute,
		Switchover:      2 * time.Minute,
		DNSChange:       30 * time.Second,
	}
}

// Options configure a Server.
type Options struct {
	// Durations default to DefaultDurations().
	Durations *Durations
	// Start is the initial virtual time; zero means 2026-01-01T00:00:00Z.
	Start time.Time
	// PortionBytes caps one DownloadDBLogFilePortion answer (RDS: 1 MB).
	PortionBytes int
	// PageSize caps one page of Describe answers when MaxRecords is unset.
	PageSize int
}

// Call is one API request the fake received.
type Call struct {
	Service string // rds, ec2, route53
	Action  string
	Params  url.Values // query parameters (RDS/EC2) or URL query (Route53)
	Error   string     // error code returned, "" on success
}

type fault struct {
	action string
	times  int
	code   string
	msg    string
	status int
}

// Effect is what an injected resource fault does to the resource created by
// the next call of an action.
type Effect int

const (
	// Stall freezes the resource in its transitional state forever (a snapshot
	// copy stops at its current PercentProgress).
	Stall Effect = iota + 1
	// Fail moves the resource to its failure state when it would have become
	// available (an instance restore -> "incompatible-restore", a snapshot ->
	// "failed").
	Fail
)

// Server is the fake. Zero value is not usable; call New.
type Server struct {
	clock *Clock
	d     Durations
	opts  Options
	http  *httptest.Server

	mu           sync.Mutex
	seq          int
	calls        []Call
	faults       []*fault
	effects      map[string][]Effect // action -> effects for the next creations
	instances    map[string]*instance
	snapshots    map[string]*snapshot
	paramGroups  map[string]*paramGroup
	subnetGroups map[string]string // name -> vpc id
	bgs          map[string]*blueGreen
	sgs          map[string]*securityGroup
	zones        map[string]*zone
	changes      map[string]*change
	tags         map[string][]Tag // ARN -> tags (RDS)
	logs         map[string][]*logFile
	endpointFor  func(Backing) (host string, port int, ok bool)
	paramHook    func(instanceID string, params map[string]string)
	snapshotHook func(SnapshotBacking)
	// switchoverHook is told of a completed blue/green switchover.
	switchoverHook func(SwitchoverEvent)
}

// Tag is a key/value pair on a resource.
type Tag struct{ Key, Value string }

// New starts a fake server; it is closed by t.Cleanup-style callers via Close.
func New(opts Options) *Server {
	d := DefaultDurations()
	if opts.Durations != nil {
		d = *opts.Durations
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.PortionBytes <= 0 {
		opts.PortionBytes = 1 << 20
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 100
	}
	s := &Server{
		clock:        &Clock{now: start},
		d:            d,
		opts:         opts,
		effects:      map[string][]Effect{},
		instances:    map[string]*instance{},
		snapshots:    map[string]*snapshot{},
		paramGroups:  map[string]*paramGroup{},
		subnetGroups: map[string]string{"default": "vpc-0fake0000000001"},
		bgs:          map[string]*blueGreen{},
		sgs:          map[string]*securityGroup{},
		zones:        map[string]*zone{},
		changes:      map[string]*change{},
		tags:         map[string][]Tag{},
		logs:         map[string][]*logFile{},
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the BaseEndpoint for every SDK client (rds, ec2, route53).
func (s *Server) URL() string { return s.http.URL }

// Close stops the HTTP server.
func (s *Server) Close() { s.http.Close() }

// Clock returns the virtual clock.
func (s *Server) Clock() *Clock { return s.clock }

// Advance moves the virtual clock forward.
func (s *Server) Advance(d time.Duration) { s.clock.Advance(d) }

// InjectError makes the next `times` calls of action fail with code (HTTP
// 400 unless the code is a not-found one).
func (s *Server) InjectError(action, code, msg string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{action: action, times: times, code: code, msg: msg, status: statusFor(code)})
}

// Throttle makes the next `times` calls of action fail with the service's
// throttling error (RDS/Route53 "Throttling", EC2 "RequestLimitExceeded").
func (s *Server) Throttle(action string, times int) {
	code := "Throttling"
	if ec2Actions[action] {
		code = "RequestLimitExceeded"
	}
	s.InjectError(action, code, "Rate exceeded", times)
}

// InjectEffect applies e to the resource created by the next successful call
// of action (CreateDBSnapshot, CopyDBSnapshot, RestoreDBInstanceFromDBSnapshot,
// CreateDBInstanceReadReplica, CreateBlueGreenDeployment).
func (s *Server) InjectEffect(action string, e Effect) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.effects[action] = append(s.effects[action], e)
}

func (s *Server) takeEffect(action string) Effect {
	q := s.effects[action]
	if len(q) == 0 {
		return 0
	}
	s.effects[action] = q[1:]
	return q[0]
}

// SetEndpointFunc lets a test back instances created through the API (read
// replicas, restores) by real servers: fn is asked for the endpoint of each
// new instance; ok=false keeps the fake's made-up endpoint.
func (s *Server) SetEndpointFunc(fn func(id string) (host string, port int, ok bool)) {
	s.SetBackingFunc(func(b Backing) (string, int, bool) { return fn(b.InstanceID) })
}

// Backing says where an instance created through the API comes from, so a
// test can give it a real server with the right data: a read replica of
// SourceInstanceID (clone it and start replication), a restore of
// SnapshotID (taken from SourceInstanceID; Encrypted says whether the
// snapshot, and so the new server, is encrypted), or the green instance of
// a blue/green deployment.
type Backing struct {
	InstanceID       string
	Kind             string // read-replica, restore, blue-green
	SourceInstanceID string
	SnapshotID       string
	Encrypted        bool
}

// SetBackingFunc is SetEndpointFunc with the instance's origin. fn is
// called when the instance turns available, with the fake locked: it may
// take its time (clone a server, restore a backup) but must not call the
// fake.
func (s *Server) SetBackingFunc(fn func(Backing) (host string, port int, ok bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endpointFor = fn
}

// Calls returns every request received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts successful calls of action.
func (s *Server) CallCount(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Action == action && c.Error == "" {
			n++
		}
	}
	return n
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%017x", prefix, s.seq)
}

func (s *Server) requestID() string {
	s.seq++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.seq)
}

// apiError is an error answer: the code and message the SDK surfaces.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errf(code, format string, a ...any) *apiError {
	return &apiError{status: statusFor(code), code: code, msg: fmt.Sprintf(format, a...)}
}

func statusFor(code string) int {
	switch {
	case strings.Contains(code, "NotFound"), strings.HasPrefix(code, "NoSuch"):
		return http.StatusNotFound
	case code == "InternalFailure", code == "InternalError":
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, "<ErrorResponse><Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code><Message>Request is missing Authentication Token</Message></Error></ErrorResponse>", http.StatusForbidden)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/2013-04-01/") {
		s.serveRoute53(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	switch r.PostForm.Get("Version") {
	case rdsVersion:
		s.serveRDS(w, r.PostForm)
	case ec2Version:
		s.serveEC2(w, r.PostForm)
	default:
		http.Error(w, "unknown Version "+r.PostForm.Get("Version"), http.StatusBadRequest)
	}
}

// admit records the call and returns an injected fault for it, if any.
// Callers hold s.mu.
func (s *Server) admit(service, action string, params url.Values) *apiError {
	for i, f := range s.faults {
		if f.action != action {
			continue
		}
		f.times--
		if f.times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		s.calls = append(s.calls, Call{Service: service, Action: action, Params: params, Error: f.code})
		return &apiError{status: f.status, code: f.code, msg: f.msg}
	}
	return nil
}

func (s *Server) record(service, action string, params url.Values, err *apiError) {
	c := Call{Service: service, Action: action, Params: params}
	if err != nil {
		c.Error = err.code
	}
	s.calls = append(s.calls, c)
}

// params reads the flattened query encoding of lists and structures:
// RDS "Tags.Tag.1.Key", "Filters.Filter.1.Values.Value.1", EC2 "Filter.1.Value.1".
type params map[string]string

func flatten(v url.Values) params {
	p := params{}
	for k, vs := range v {
		if len(vs) > 0 {
			p[k] = vs[0]
		}
	}
	return p
}

func (p params) get(k string) string { return p[k] }

func (p params) has(k string) bool { _, ok := p[k]; return ok }

func (p params) boolean(k string) bool { return strings.EqualFold(p[k], "true") }

func (p params) integer(k string, def int) int {
	n, err := strconv.Atoi(p[k])
	if err != nil {
		return def
	}
	return n
}

// items groups keys under prefix by their index: "prefix.N.rest" or
// "prefix.Member.N.rest" -> items[N]["rest"]; "prefix.N" -> items[N][""].
func (p params) items(prefix string) []params {
	byIdx := map[int]params{}
	for k, v := range p {
		if !strings.HasPrefix(k, prefix+".") {
			continue
		}
		parts := strings.SplitN(k[len(prefix)+1:], ".", 3)
		idx, err := strconv.Atoi(parts[0])
		rest := parts[1:]
		if err != nil {
			if len(parts) < 2 {
				continue
			}
			if idx, err = strconv.Atoi(parts[1]); err != nil {
				continue
			}
			rest = parts[2:]
		}
		if byIdx[idx] == nil {
			byIdx[idx] = params{}
		}
		byIdx[idx][strings.Join(rest, ".")] = v
	}
	idxs := make([]int, 0, len(byIdx))
	for i := range byIdx {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	out := make([]params, 0, len(idxs))
	for _, i := range idxs {
		out = append(out, byIdx[i])
	}
	return out
}

// list returns the scalar members of a list parameter.
func (p params) list(prefix string) []string {
	var out []string
	for _, it := range p.items(prefix) {
		if v, ok := it[""]; ok {
			out = append(out, v)
		}
	}
	return out
}

func (p params) tags(prefix string) []Tag {
	var out []Tag
	for _, it := range p.items(prefix) {
		out = append(out, Tag{Key: it["Key"], Value: it["Value"]})
	}
	return out
}

type filter struct {
	name   string
	values []string
}

func (p params) filters(prefix string) []filter {
	var out []filter
	for _, it := range p.items(prefix) {
		f := filter{name: it["Name"]}
		f.values = append(f.values, it.list("Values")...)
		f.values = append(f.values, it.list("Value")...)
		out = append(out, f)
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func mergeTags(old, add []Tag) []Tag {
	out := append([]Tag(nil), old...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value = t.Value
				replaced = true
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return out
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

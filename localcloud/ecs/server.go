package ecs

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/actiontrail"
	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/rpc"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// APIVersion is the only ECS API version served.
const APIVersion = "2014-05-26"

// Config wires a Server to the rest of localcloud. Only Auth is required.
type Config struct {
	// Clock is the virtual clock: STS expiry, CreateTime/CreationTime of new
	// resources, ActionTrail eventTime. Nil means the wall clock.
	Clock interface{ Now() time.Time }
	// Auth holds the AccessKeys that may call. Nil refuses every request.
	Auth *auth.Store
	// Stats counts every request as ("ecs", Action, caller, error code). May be nil.
	Stats *stats.Stats
	// Faults injects latency, Throttling.User and ServiceUnavailable. May be nil.
	Faults *faults.Set
	// Trail receives one record per successful write. May be nil.
	Trail actiontrail.Sink
	// DefaultRegion is used when a request carries no RegionId; default "cn-hangzhou".
	DefaultRegion string
	// RateLimit is the calls per second (wall clock, a second's worth of
	// burst) the whole account may make; calls above it get Throttling.User,
	// as real ECS's flow control answers. 0: no limit.
	RateLimit float64
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Server is the ECS RPC endpoint. It is safe for concurrent use. Create it with New.
type Server struct {
	cfg    Config
	clock  interface{ Now() time.Time }
	nonces auth.NonceCache
	limit  *faults.Set // Config.RateLimit, apart from the injected faults

	mu      sync.RWMutex
	regions map[string]*region
	strs    map[string]string // interned strings (descriptions, peer ids)
	seq     uint64            // creation order of groups, rules and ENIs
}

// New returns a server with an empty world.
func New(cfg Config) *Server {
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = "cn-hangzhou"
	}
	s := &Server{cfg: cfg, clock: cfg.Clock, limit: &faults.Set{}}
	if s.clock == nil {
		s.clock = wallClock{}
	}
	if cfg.RateLimit > 0 {
		s.limit.Replace(faults.Config{RateLimits: map[string]float64{"ecs": cfg.RateLimit}})
	}
	s.reset()
	return s
}

func (s *Server) reset() {
	s.regions = map[string]*region{}
	s.strs = map[string]string{}
	s.seq = 0
}

// apiError is an ECS error response.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func errNotFoundGroup(id string) *apiError {
	return errf(404, "InvalidSecurityGroupId.NotFound", "The specified SecurityGroupId %q does not exist.", id)
}

func errMissing(name string) *apiError {
	return errf(400, "MissingParameter", "The input parameter %q that is mandatory for processing this request is not supplied.", name)
}

// call is one request being served.
type call struct {
	r         *http.Request
	action    string
	requestID string
	region    string
	cred      auth.Credential
	caller    string
}

func (c *call) get(name string) string { return c.r.Form.Get(name) }

func (c *call) has(name string) bool {
	_, ok := c.r.Form[name]
	return ok
}

type handler struct {
	fn    func(s *Server, c *call) (any, *writeResult, *apiError)
	write bool
}

// writeResult is what a successful write tells the ActionTrail emitter.
type writeResult struct {
	resources map[string][]string
}

var handlers = map[string]handler{
	"CreateSecurityGroup":            {(*Server).createSecurityGroup, true},
	"DeleteSecurityGroup":            {(*Server).deleteSecurityGroup, true},
	"DescribeSecurityGroups":         {(*Server).describeSecurityGroups, false},
	"DescribeSecurityGroupAttribute": {(*Server).describeSecurityGroupAttribute, false},
	"AuthorizeSecurityGroup":         {(*Server).authorizeIngress, true},
	"AuthorizeSecurityGroupEgress":   {(*Server).authorizeEgress, true},
	"RevokeSecurityGroup":            {(*Server).revokeIngress, true},
	"RevokeSecurityGroupEgress":      {(*Server).revokeEgress, true},
	"ModifySecurityGroupRule":        {(*Server).modifyIngress, true},
	"ModifySecurityGroupEgressRule":  {(*Server).modifyEgress, true},
	"DescribeNetworkInterfaces":      {(*Server).describeNetworkInterfaces, false},
	"DescribeInstances":              {(*Server).describeInstances, false},
	"JoinSecurityGroup":              {(*Server).joinSecurityGroup, true},
	"LeaveSecurityGroup":             {(*Server).leaveSecurityGroup, true},
	"TagResources":                   {(*Server).tagResources, true},
	"UntagResources":                 {(*Server).untagResources, true},
	"ListTagResources":               {(*Server).listTagResources, false},
	"CreatePrefixList":               {(*Server).createPrefixList, true},
	"ModifyPrefixList":               {(*Server).modifyPrefixList, true},
	"DeletePrefixList":               {(*Server).deletePrefixList, true},
	"DescribePrefixLists":            {(*Server).describePrefixLists, false},
	"DescribePrefixListAttributes":   {(*Server).describePrefixListAttributes, false},
	"DescribePrefixListAssociations": {(*Server).describePrefixListAssociations, false},
}

// Actions lists the served actions, sorted.
func Actions() []string {
	out := make([]string, 0, len(handlers))
	for a := range handlers {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// ServeHTTP serves one ECS RPC request (POST or GET, parameters in the query
// and/or an urlencoded body). It also accepts absolute-form proxy requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, requestID: rpc.NewRequestID()}
	if err := r.ParseForm(); err != nil {
		s.fail(w, c, errf(400, "InvalidParameter", "The request parameters cannot be parsed: %v.", err))
		return
	}
	c.action = c.get("Action")
	if c.region = c.get("RegionId"); c.region == "" {
		c.region = s.cfg.DefaultRegion
	}
	if e := s.authenticate(c); e != nil {
		s.fail(w, c, e)
		return
	}
	h, ok := handlers[c.action]
	if !ok || c.get("Version") != APIVersion {
		s.fail(w, c, errf(400, "InvalidAction.NotFound",
			"Specified api %q (version %q) is not found in product Ecs; localcloud serves: %s.",
			c.action, c.get("Version"), strings.Join(Actions(), ", ")))
		return
	}
	if s.limit.Decide("ecs", c.action, time.Now()).Throttle {
		s.fail(w, c, errf(400, "Throttling.User", "Request was denied due to user flow control."))
		return
	}
	if s.cfg.Faults != nil {
		d := s.cfg.Faults.Decide("ecs", c.action, time.Now())
		if d.Latency > 0 {
			t := time.NewTimer(d.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		switch {
		case d.Throttle:
			s.fail(w, c, errf(400, "Throttling.User", "Request was denied due to user flow control."))
			return
		case d.ServerError:
			s.fail(w, c, errf(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."))
			return
		}
	}
	if !knownRegion(c.region) && !s.hasRegion(c.region) {
		s.fail(w, c, errf(400, "InvalidRegionId.NotFound", "The specified RegionId %q does not exist.", c.region))
		return
	}
	resp, wr, e := h.fn(s, c)
	if e != nil {
		s.fail(w, c, e)
		return
	}
	s.record(c, "")
	if h.write {
		s.emit(c, wr)
	}
	switch body := resp.(type) {
	case []byte:
		writeBody(w, 200, body)
	default:
		s.writeJSON(w, 200, resp)
	}
}

func (s *Server) hasRegion(id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.regions[id]
	return ok
}

func (s *Server) record(c *call, code string) {
	if s.cfg.Stats != nil {
		s.cfg.Stats.Record("ecs", c.action, c.caller, code)
	}
}

func (s *Server) fail(w http.ResponseWriter, c *call, e *apiError) {
	s.record(c, e.code)
	body := struct {
		RequestID string `json:"RequestId"`
		HostID    string `json:"HostId"`
		Code      string `json:"Code"`
		Message   string `json:"Message"`
		Recommend string `json:"Recommend"`
	}{c.requestID, hostID(c), e.code, e.msg,
		"https://api.aliyun.com/troubleshoot?q=" + e.code + "&product=Ecs&requestId=" + c.requestID}
	s.writeJSON(w, e.status, body)
}

func hostID(c *call) string {
	if c.r.Host != "" && !strings.HasPrefix(c.r.Host, "127.") && !strings.HasPrefix(c.r.Host, "[") && !strings.HasPrefix(c.r.Host, "localhost") {
		return c.r.Host
	}
	return "ecs." + c.region + ".aliyuncs.com"
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // a bug: every response type is marshalable
		b = []byte(`{"RequestId":"","HostId":"","Code":"InternalError","Message":"localcloud: marshal response","Recommend":""}`)
		status = 500
	}
	writeBody(w, status, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// knownRegion reports whether id is a public Alibaba Cloud region. Requests
// for a known region that the world does not mention see an empty region.
func knownRegion(id string) bool {
	switch id {
	case "cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-qingdao", "cn-zhangjiakou",
		"cn-huhehaote", "cn-wulanchabu", "cn-chengdu", "cn-heyuan", "cn-guangzhou", "cn-nanjing",
		"cn-fuzhou", "cn-wuhan-lr", "cn-hongkong", "ap-southeast-1", "ap-southeast-3", "ap-southeast-5",
		"ap-southeast-6", "ap-southeast-7", "ap-northeast-1", "ap-northeast-2", "ap-south-1",
		"us-east-1", "us-west-1", "eu-west-1", "eu-central-1", "me-east-1", "me-central-1", "na-south-1":
		return true
	}
	return false
}

// Package ram emulates the read side of Resource Access Management (API
// version 2015-05-01) that `porthygiene setup` uses to check the functions'
// role: GetRole, ListPoliciesForRole and GetPolicy, over the roles and
// policies of the seed. localcloud does not enforce RAM policies: the
// functions' STS credentials may call anything, and the least-privilege test
// (internal/deploytest) compares what they called with the policy instead.
package ram

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/rpc"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// APIVersion is the RAM API version served.
const APIVersion = "2015-05-01"

// Role is a RAM role with the policies attached to it.
type Role struct {
	RoleName    string `json:"RoleName"`
	Description string `json:"Description,omitempty"`
	// AssumeRolePolicyDocument is the trust policy (a JSON object).
	AssumeRolePolicyDocument json.RawMessage `json:"AssumeRolePolicyDocument"`
	// Policies are attached to the role; a policy named by several roles is
	// one policy (the same type and name must carry the same document).
	Policies []Policy `json:"Policies,omitempty"`
}

// Policy is a RAM policy and its default version's document.
type Policy struct {
	PolicyName     string          `json:"PolicyName"`
	PolicyType     string          `json:"PolicyType,omitempty"` // Custom (default) or System
	Description    string          `json:"Description,omitempty"`
	PolicyDocument json.RawMessage `json:"PolicyDocument"`
}

// Config wires a Server.
type Config struct {
	Auth   *auth.Store
	Stats  *stats.Stats
	Faults *faults.Set
	Clock  interface{ Now() time.Time }
	// AccountID goes into the role ARNs.
	AccountID string
}

// Server serves RAM. It is safe for concurrent use.
type Server struct {
	rpc.Service
	account string
	created time.Time

	mu       sync.RWMutex
	roles    map[string]Role   // by lower-case name: RAM role names are case-insensitive
	policies map[string]Policy // by type + ":" + name
}

// New returns a server without roles.
func New(cfg Config) *Server {
	s := &Server{account: cfg.AccountID, roles: map[string]Role{}, policies: map[string]Policy{}, created: time.Now().UTC()}
	if cfg.Clock != nil {
		s.created = cfg.Clock.Now().UTC()
	}
	s.Service = rpc.Service{Name: "ram", Product: "Ram", Version: APIVersion, Auth: cfg.Auth, Stats: cfg.Stats, Faults: cfg.Faults, Clock: cfg.Clock,
		Handlers: map[string]rpc.Handler{
			"GetRole":             s.getRole,
			"ListPoliciesForRole": s.listPoliciesForRole,
			"GetPolicy":           s.getPolicy,
		}}
	return s
}

var roleNameRE = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)

// AddRole adds (or replaces) a role and its policies.
func (s *Server) AddRole(r Role) error {
	if !roleNameRE.MatchString(r.RoleName) {
		return fmt.Errorf("ram: role name %q: 1 to 64 letters, digits, '.' or '-'", r.RoleName)
	}
	if err := checkDocument(r.AssumeRolePolicyDocument); err != nil {
		return fmt.Errorf("ram: role %s: AssumeRolePolicyDocument: %w", r.RoleName, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range r.Policies {
		if p.PolicyType == "" {
			p.PolicyType = "Custom"
		}
		if p.PolicyType != "Custom" && p.PolicyType != "System" {
			return fmt.Errorf("ram: role %s: policy %s: PolicyType %q: Custom or System", r.RoleName, p.PolicyName, p.PolicyType)
		}
		if p.PolicyName == "" {
			return fmt.Errorf("ram: role %s: a policy without a name", r.RoleName)
		}
		if err := checkDocument(p.PolicyDocument); err != nil {
			return fmt.Errorf("ram: role %s: policy %s: %w", r.RoleName, p.PolicyName, err)
		}
		k := p.PolicyType + ":" + p.PolicyName
		if old, ok := s.policies[k]; ok && !bytes.Equal(compact(old.PolicyDocument), compact(p.PolicyDocument)) {
			return fmt.Errorf("ram: policy %s (%s) given two documents", p.PolicyName, p.PolicyType)
		}
		s.policies[k] = p
		r.Policies[i] = p
	}
	s.roles[strings.ToLower(r.RoleName)] = r
	return nil
}

func checkDocument(doc json.RawMessage) error {
	var v map[string]any
	if err := json.Unmarshal(doc, &v); err != nil {
		return fmt.Errorf("want a JSON object: %w", err)
	}
	return nil
}

func compact(doc json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return doc
	}
	return b.Bytes()
}

func (s *Server) date() string { return s.created.Format("2006-01-02T15:04:05Z") }

func (s *Server) role(name string) (Role, *rpc.Error) {
	if name == "" {
		return Role{}, rpc.Errorf(400, "MissingParameter", "The input parameter \"RoleName\" that is mandatory for processing this request is not supplied.")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.roles[strings.ToLower(name)]
	if !ok {
		return Role{}, rpc.Errorf(404, "EntityNotExist.Role", "The role not exists: %s.", name)
	}
	return r, nil
}

type roleJSON struct {
	RoleID                   string `json:"RoleId"`
	RoleName                 string `json:"RoleName"`
	Arn                      string `json:"Arn"`
	Description              string `json:"Description"`
	AssumeRolePolicyDocument string `json:"AssumeRolePolicyDocument"`
	CreateDate               string `json:"CreateDate"`
	UpdateDate               string `json:"UpdateDate"`
	MaxSessionDuration       int64  `json:"MaxSessionDuration"`
}

func (s *Server) getRole(c *rpc.Call) (any, *rpc.Error) {
	r, e := s.role(c.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	return map[string]any{"Role": roleJSON{
		RoleID: roleID(r.RoleName), RoleName: r.RoleName,
		Arn:         "acs:ram::" + s.account + ":role/" + strings.ToLower(r.RoleName),
		Description: r.Description, AssumeRolePolicyDocument: string(compact(r.AssumeRolePolicyDocument)),
		CreateDate: s.date(), UpdateDate: s.date(), MaxSessionDuration: 3600,
	}}, nil
}

// roleID is a stable id for a role name.
func roleID(name string) string {
	var h uint64 = 14695981039346656037
	for _, b := range []byte(strings.ToLower(name)) {
		h = (h ^ uint64(b)) * 1099511628211
	}
	return fmt.Sprintf("3%018d", h%1e18)
}

type policyJSON struct {
	PolicyName      string `json:"PolicyName"`
	PolicyType      string `json:"PolicyType"`
	Description     string `json:"Description"`
	DefaultVersion  string `json:"DefaultVersion"`
	CreateDate      string `json:"CreateDate,omitempty"`
	UpdateDate      string `json:"UpdateDate,omitempty"`
	AttachDate      string `json:"AttachDate,omitempty"`
	AttachmentCount int    `json:"AttachmentCount,omitempty"`
}

func (s *Server) listPoliciesForRole(c *rpc.Call) (any, *rpc.Error) {
	r, e := s.role(c.Get("RoleName"))
	if e != nil {
		return nil, e
	}
	out := []policyJSON{}
	for _, p := range r.Policies {
		out = append(out, policyJSON{PolicyName: p.PolicyName, PolicyType: p.PolicyType, Description: p.Description, DefaultVersion: "v1", AttachDate: s.date()})
	}
	return map[string]any{"Policies": map[string]any{"Policy": out}}, nil
}

func (s *Server) getPolicy(c *rpc.Call) (any, *rpc.Error) {
	name, typ := c.Get("PolicyName"), c.Get("PolicyType")
	switch {
	case name == "":
		return nil, rpc.Errorf(400, "MissingParameter", "The input parameter \"PolicyName\" that is mandatory for processing this request is not supplied.")
	case typ != "Custom" && typ != "System":
		return nil, rpc.Errorf(400, "InvalidParameter.PolicyType", "The parameter \"PolicyType\" is invalid: %q (Custom or System).", typ)
	}
	s.mu.RLock()
	p, ok := s.policies[typ+":"+name]
	n := 0
	for _, r := range s.roles {
		if slices.ContainsFunc(r.Policies, func(q Policy) bool { return q.PolicyType == typ && q.PolicyName == name }) {
			n++
		}
	}
	s.mu.RUnlock()
	if !ok {
		return nil, rpc.Errorf(404, "EntityNotExist.Policy", "The policy not exists: %s.", name)
	}
	return map[string]any{
		"Policy": policyJSON{PolicyName: p.PolicyName, PolicyType: p.PolicyType, Description: p.Description, DefaultVersion: "v1",
			CreateDate: s.date(), UpdateDate: s.date(), AttachmentCount: n},
		"DefaultPolicyVersion": map[string]any{"VersionId": "v1", "IsDefaultVersion": true,
			"PolicyDocument": string(compact(p.PolicyDocument)), "CreateDate": s.date()},
	}, nil
}

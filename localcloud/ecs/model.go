package ecs

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// Limits of the emulated account (aliyun-facts §1.10).
const (
	maxRulesPerGroup    = 200 // ingress + egress
	maxGroupRefRules    = 20  // rules referencing a group, per basic group
	maxGroupsPerENI     = 5
	maxPermissionsInOne = 100
	maxTagsPerResource  = 20
)

type region struct {
	id          string
	zones       []string
	vpcs        map[string]*vpc
	vswitches   map[string]*vswitch
	groups      map[string]*group
	instances   map[string]*instance
	enis        map[string]*eni
	prefixLists map[string]*prefixList
	tokens      map[string]string // CreateSecurityGroup ClientToken → group id
}

func newRegion(id string) *region {
	return &region{
		id:          id,
		vpcs:        map[string]*vpc{},
		vswitches:   map[string]*vswitch{},
		groups:      map[string]*group{},
		instances:   map[string]*instance{},
		enis:        map[string]*eni{},
		prefixLists: map[string]*prefixList{},
		tokens:      map[string]string{},
	}
}

type vpc struct {
	id, name, cidr string
}

type vswitch struct {
	id, vpcID, zoneID, cidr, name string
}

type tag struct{ key, value string }

type tags []tag

func (ts tags) get(k string) (string, bool) {
	for _, t := range ts {
		if t.key == k {
			return t.value, true
		}
	}
	return "", false
}

func (ts *tags) set(k, v string) {
	for i := range *ts {
		if (*ts)[i].key == k {
			(*ts)[i].value = v
			return
		}
	}
	*ts = append(*ts, tag{k, v})
}

func (ts *tags) del(k string) {
	*ts = slices.DeleteFunc(*ts, func(t tag) bool { return t.key == k })
}

type group struct {
	id, name, desc, vpcID string
	enterprise            bool
	innerDrop             bool // InnerAccessPolicy Drop
	resourceGroupID       string
	serviceManaged        bool
	created               int64
	seq                   uint64
	rules                 []rule
	ruleSeq               uint32 // last rule seq handed out
	tags                  tags
	members               int // ENIs in the group
}

func (g *group) typ() string {
	if g.enterprise {
		return "enterprise"
	}
	return "normal"
}

func (g *group) innerPolicy() string {
	if g.innerDrop {
		return "Drop"
	}
	return "Accept"
}

func (g *group) findRule(id string) int {
	for i := range g.rules {
		if g.rules[i].id == id {
			return i
		}
	}
	return -1
}

type instance struct {
	id, name, zoneID, vpcID, vswitchID string
	status, instanceType               string
	created                            int64
	tags                               tags
}

type eni struct {
	id, name, typ, status    string // typ Primary|Secondary; status InUse|Available
	instanceID               string
	vpcID, vswitchID, zoneID string
	mac, desc                string
	primaryIP                netip.Addr
	secondaryIPs             []netip.Addr
	publicIP                 netip.Addr
	ipv6                     []netip.Addr
	groups                   []string
	tags                     tags
	created                  int64
	deviceIndex              int
}

func (e *eni) inGroup(id string) bool { return slices.Contains(e.groups, id) }

func (e *eni) hasIP(a netip.Addr) bool {
	a = a.Unmap()
	if e.primaryIP == a || e.publicIP == a {
		return true
	}
	return slices.Contains(e.secondaryIPs, a) || slices.Contains(e.ipv6, a)
}

type prefixList struct {
	id, name, desc, family string
	maxEntries             int
	created                int64
	seq                    uint64 // creation order
	entries                []plEntry
}

// find returns the index of the entry covering the same network as p, or -1.
func (pl *prefixList) find(p netip.Prefix) int {
	return slices.IndexFunc(pl.entries, func(e plEntry) bool { return e.cidr.Masked() == p.Masked() && e.cidr.Bits() == p.Bits() })
}

// associations returns the groups of reg with a rule referencing the list,
// in creation order.
func (reg *region) associations(id string) []*group {
	var out []*group
	for _, g := range reg.sortedGroups() {
		if slices.ContainsFunc(g.rules, func(r rule) bool { return r.kind == peerPrefixList && r.ref == id }) {
			out = append(out, g)
		}
	}
	return out
}

type plEntry struct {
	cidr netip.Prefix
	desc string
}

// intern returns a shared copy of s. Callers hold s.mu for writing.
func (s *Server) intern(v string) string {
	if v == "" {
		return ""
	}
	if x, ok := s.strs[v]; ok {
		return x
	}
	s.strs[v] = v
	return v
}

func (s *Server) regionFor(id string, create bool) *region {
	r := s.regions[id]
	if r == nil && create {
		r = newRegion(id)
		s.regions[id] = r
	}
	return r
}

// findGroup finds a group in any region (ids are globally unique).
func (s *Server) findGroup(id string) (*region, *group) {
	for _, r := range s.regions {
		if g := r.groups[id]; g != nil {
			return r, g
		}
	}
	return nil, nil
}

func (s *Server) nextSeq() uint64 {
	s.seq++
	return s.seq
}

func (s *Server) nowUnix() int64 { return s.clock.Now().Unix() }

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// regionCode is the short code real ids carry after their prefix.
func regionCode(region string) string {
	switch region {
	case "cn-hangzhou":
		return "bp"
	case "cn-shanghai":
		return "uf"
	case "cn-beijing":
		return "2ze"
	case "cn-shenzhen":
		return "wz"
	case "cn-qingdao":
		return "m5e"
	case "cn-zhangjiakou":
		return "8vb"
	case "cn-hongkong":
		return "j6c"
	case "ap-southeast-1":
		return "t4n"
	}
	return "rg"
}

// newID returns prefix + region code + random lowercase alnum, 20 characters after the prefix.
func newID(prefix, region string) string {
	code := regionCode(region)
	b := make([]byte, 0, len(prefix)+20)
	b = append(b, prefix...)
	b = append(b, code...)
	for len(b) < len(prefix)+20 {
		b = append(b, idAlphabet[rand.IntN(len(idAlphabet))])
	}
	return string(b)
}

func fmtTime(unix int64) string {
	return time.Unix(unix, 0).UTC().Format("2006-01-02T15:04:05Z")
}

func parseTime(s string) (int64, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05Z", time.RFC3339, "2006-01-02T15:04Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), true
		}
	}
	return 0, false
}

// sortedGroups returns the region's groups in creation order.
func (r *region) sortedGroups() []*group {
	out := make([]*group, 0, len(r.groups))
	for _, g := range r.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

func (r *region) sortedENIs() []*eni {
	out := make([]*eni, 0, len(r.enis))
	for _, e := range r.enis {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (r *region) sortedInstances() []*instance {
	out := make([]*instance, 0, len(r.instances))
	for _, in := range r.instances {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// primaryENI returns the primary ENI of an instance, or nil.
func (r *region) primaryENI(instanceID string) *eni {
	for _, e := range r.enis {
		if e.instanceID == instanceID && e.typ == "Primary" {
			return e
		}
	}
	return nil
}

func (r *region) instanceENIs(instanceID string) []*eni {
	var out []*eni
	for _, e := range r.enis {
		if e.instanceID == instanceID {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].deviceIndex != out[j].deviceIndex {
			return out[i].deviceIndex < out[j].deviceIndex
		}
		return out[i].id < out[j].id
	})
	return out
}

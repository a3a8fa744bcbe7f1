package ecs

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

func validName(v string, lo, hi int) bool {
	n := utf8.RuneCountInString(v)
	if n < lo || n > hi {
		return false
	}
	first, _ := utf8.DecodeRuneInString(v)
	lv := strings.ToLower(v)
	return unicode.IsLetter(first) && !strings.HasPrefix(lv, "http://") && !strings.HasPrefix(lv, "https://")
}

func (s *Server) createSecurityGroup(c *call) (any, *writeResult, *apiError) {
	name, desc, vpcID := c.get("SecurityGroupName"), c.get("Description"), c.get("VpcId")
	if name != "" && !validName(name, 2, 128) {
		return nil, nil, errf(400, "InvalidSecurityGroupName.Malformed",
			"The specified SecurityGroupName %q is not valid: 2 to 128 characters, starting with a letter, not with http:// or https://.", name)
	}
	if desc != "" {
		ld := strings.ToLower(desc)
		if n := utf8.RuneCountInString(desc); n < 2 || n > 256 || strings.HasPrefix(ld, "http://") || strings.HasPrefix(ld, "https://") {
			return nil, nil, errf(400, "InvalidDescription.Malformed", "The specified Description is not valid: 2 to 256 characters, not starting with http:// or https://.")
		}
	}
	enterprise := false
	switch c.get("SecurityGroupType") {
	case "", "normal":
	case "enterprise":
		enterprise = true
	default:
		return nil, nil, errf(400, "InvalidSecurityGroupType.Malformed", "The specified SecurityGroupType %q is not valid: normal or enterprise.", c.get("SecurityGroupType"))
	}
	tfs, e := tagParams(c)
	if e != nil {
		return nil, nil, e
	}
	var ts tags
	for _, t := range tfs {
		if e := validateTag(t.key, t.value); e != nil {
			return nil, nil, e
		}
		ts.set(t.key, t.value)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reg := s.regionFor(c.region, true)
	if vpcID != "" && reg.vpcs[vpcID] == nil {
		return nil, nil, errf(404, "InvalidVpcId.NotFound", "The specified VpcId %q does not exist in %s.", vpcID, reg.id)
	}
	tok := c.get("ClientToken")
	if id := reg.tokens[tok]; tok != "" && id != "" && reg.groups[id] != nil {
		return struct {
			RequestID       string `json:"RequestId"`
			SecurityGroupID string `json:"SecurityGroupId"`
		}{c.requestID, id}, sgResources(id), nil
	}
	g := &group{
		id: newID("sg-", reg.id), name: name, desc: desc, vpcID: vpcID,
		enterprise: enterprise, innerDrop: enterprise,
		resourceGroupID: c.get("ResourceGroupId"),
		created:         s.nowUnix(), seq: s.nextSeq(), tags: ts,
	}
	reg.groups[g.id] = g
	if tok != "" {
		reg.tokens[tok] = g.id
	}
	return struct {
		RequestID       string `json:"RequestId"`
		SecurityGroupID string `json:"SecurityGroupId"`
	}{c.requestID, g.id}, sgResources(g.id), nil
}

func (s *Server) deleteSecurityGroup(c *call) (any, *writeResult, *apiError) {
	reg, g, e := s.lockedGroup(c)
	if e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	if g.members > 0 {
		return nil, nil, errf(403, "DependencyViolation", "There is still instance(s) in the specified security group: %d network interface(s) use %s.", g.members, g.id)
	}
	for _, o := range reg.groups {
		if o != g && slices.ContainsFunc(o.rules, func(r rule) bool { return r.kind == peerGroup && r.ref == g.id }) {
			return nil, nil, errf(403, "DependencyViolation", "There is other security group authorized to this security group: %s references %s.", o.id, g.id)
		}
	}
	delete(reg.groups, g.id)
	for tok, id := range reg.tokens {
		if id == g.id {
			delete(reg.tokens, tok)
		}
	}
	return requestIDOnly{c.requestID}, sgResources(g.id), nil
}

type apiSecurityGroup struct {
	SecurityGroupID         string  `json:"SecurityGroupId"`
	SecurityGroupName       string  `json:"SecurityGroupName"`
	Description             string  `json:"Description"`
	SecurityGroupType       string  `json:"SecurityGroupType"`
	VpcID                   string  `json:"VpcId"`
	CreationTime            string  `json:"CreationTime"`
	EcsCount                int     `json:"EcsCount"`
	AvailableInstanceAmount int     `json:"AvailableInstanceAmount"`
	ResourceGroupID         string  `json:"ResourceGroupId"`
	ServiceManaged          bool    `json:"ServiceManaged"`
	RuleCount               int     `json:"RuleCount"`
	GroupToGroupRuleCount   int     `json:"GroupToGroupRuleCount"`
	Tags                    apiTags `json:"Tags"`
}

func (s *Server) describeSecurityGroups(c *call) (any, *writeResult, *apiError) {
	ids, e := listParam(c, "SecurityGroupIds", 100)
	if e != nil {
		return nil, nil, e
	}
	tfs, e := tagParams(c)
	if e != nil {
		return nil, nil, e
	}
	pg, e := readPager(c, "sg", 10, 1, 100, 50)
	if e != nil {
		return nil, nil, e
	}
	vpcID, oneID, name, typ := c.get("VpcId"), c.get("SecurityGroupId"), c.get("SecurityGroupName"), c.get("SecurityGroupType")
	rgID, netType := c.get("ResourceGroupId"), c.get("NetworkType")
	s.mu.RLock()
	defer s.mu.RUnlock()
	var match []*group
	if reg := s.regions[c.region]; reg != nil {
		for _, g := range reg.sortedGroups() {
			switch {
			case vpcID != "" && g.vpcID != vpcID,
				oneID != "" && g.id != oneID,
				len(ids) > 0 && !slices.Contains(ids, g.id),
				name != "" && g.name != name,
				typ != "" && g.typ() != typ,
				rgID != "" && g.resourceGroupID != rgID,
				netType == "vpc" && g.vpcID == "",
				netType == "classic" && g.vpcID != "",
				!matchTags(g.tags, tfs):
				continue
			}
			match = append(match, g)
		}
	}
	got, next := page(pg, match, func(g *group) string { return strconv.FormatUint(g.seq, 10) }, lessSeq, "sg")
	out := make([]apiSecurityGroup, 0, len(got))
	for _, g := range got {
		capacity := 2000
		if g.enterprise {
			capacity = 65536
		}
		out = append(out, apiSecurityGroup{
			SecurityGroupID: g.id, SecurityGroupName: g.name, Description: g.desc,
			SecurityGroupType: g.typ(), VpcID: g.vpcID, CreationTime: fmtTime(g.created),
			EcsCount: g.members, AvailableInstanceAmount: capacity - g.members,
			ResourceGroupID: g.resourceGroupID, ServiceManaged: g.serviceManaged,
			RuleCount: len(g.rules), GroupToGroupRuleCount: groupRefCount(g.rules),
			Tags: renderTags(g.tags),
		})
	}
	type groups struct {
		SecurityGroup []apiSecurityGroup `json:"SecurityGroup"`
	}
	return struct {
		RequestID      string `json:"RequestId"`
		RegionID       string `json:"RegionId"`
		NextToken      string `json:"NextToken"`
		TotalCount     int    `json:"TotalCount"`
		PageNumber     int    `json:"PageNumber,omitempty"`
		PageSize       int    `json:"PageSize,omitempty"`
		SecurityGroups groups `json:"SecurityGroups"`
	}{c.requestID, c.region, next, len(match), pg.pageNumber, pg.pageSize, groups{out}}, nil, nil
}

// describeSecurityGroupAttribute is the hot read path: it renders the body
// under the read lock with the allocation-light writer in jsonw.go.
func (s *Server) describeSecurityGroupAttribute(c *call) (any, *writeResult, *apiError) {
	id := c.get("SecurityGroupId")
	if id == "" {
		return nil, nil, errMissing("SecurityGroupId")
	}
	var want direction
	switch strings.ToLower(c.get("Direction")) {
	case "", "all":
	case "ingress":
		want = dirIngress
	case "egress":
		want = dirEgress
	default:
		return nil, nil, errf(400, "InvalidParameter", "The specified parameter Direction (%q) is not valid: ingress, egress or all.", c.get("Direction"))
	}
	maxN, e := intParam(c, "MaxResults", 500, 10, 1000)
	if e != nil {
		return nil, nil, e
	}
	var from uint64
	if t := c.get("NextToken"); t != "" {
		if from, e = decodeSeqToken(t, "sgr"); e != nil {
			return nil, nil, e
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	reg := s.regions[c.region]
	if reg == nil || reg.groups[id] == nil {
		return nil, nil, errNotFoundGroup(id)
	}
	g := reg.groups[id]
	groupName := func(id string) string {
		if o := reg.groups[id]; o != nil {
			return o.name
		}
		return ""
	}
	plName := func(id string) string {
		if pl := reg.prefixLists[id]; pl != nil {
			return pl.name
		}
		return ""
	}
	b := make([]byte, 0, 512+len(g.rules)*700)
	b = append(b, `{"RequestId":`...)
	b = appendStr(b, c.requestID)
	b = appendKV(b, "RegionId", reg.id)
	b = appendKV(b, "SecurityGroupId", g.id)
	b = appendKV(b, "SecurityGroupName", g.name)
	b = appendKV(b, "Description", g.desc)
	b = appendKV(b, "VpcId", g.vpcID)
	b = appendKV(b, "InnerAccessPolicy", g.innerPolicy())
	b = append(b, `,"Permissions":{"Permission":[`...)
	n, next := 0, ""
	for i := range g.rules {
		r := &g.rules[i]
		if uint64(r.seq) < from || (want != 0 && r.dir != want) {
			continue
		}
		if n == maxN {
			next = encodeToken("sgr", strconv.FormatUint(uint64(r.seq), 10))
			break
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = appendPermission(b, r, groupName, plName)
		n++
	}
	b = append(b, "]}"...)
	b = appendKV(b, "NextToken", next)
	b = append(b, '}')
	return b, nil, nil
}

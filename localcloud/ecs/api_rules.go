package ecs

import (
	"slices"
	"strconv"
	"strings"

	"github.com/porthygiene/porthygiene/localcloud/auth"
)

type requestIDOnly struct {
	RequestID string `json:"RequestId"`
}

func sgResources(ids ...string) *writeResult {
	return &writeResult{resources: map[string][]string{"ACS::ECS::SecurityGroup": ids}}
}

// permsFromCall reads Permissions.N.* (N = 1..100), the legacy flat fields and
// SecurityGroupRuleId.N. The three forms are mutually exclusive.
func permsFromCall(c *call) (perms []perm, ruleIDs []string, flat bool, e *apiError) {
	byN := map[int]*perm{}
	idsByN := map[int]string{}
	for k, vs := range c.r.Form {
		v := ""
		if len(vs) > 0 {
			v = vs[0]
		}
		switch {
		case strings.HasPrefix(k, "Permissions."):
			ns, field, ok := strings.Cut(k[len("Permissions."):], ".")
			n, err := strconv.Atoi(ns)
			if !ok || err != nil || n < 1 {
				return nil, nil, false, errf(400, "InvalidParameter", "The parameter %q is not valid.", k)
			}
			if n > maxPermissionsInOne {
				return nil, nil, false, errf(400, "InvalidParameter",
					"The parameter %q is not valid: Permissions accepts 1 to %d entries.", k, maxPermissionsInOne)
			}
			p := byN[n]
			if p == nil {
				p = &perm{}
				byN[n] = p
			}
			f := p.field(field)
			if f == nil {
				return nil, nil, false, errf(400, "InvalidParameter", "The parameter %q is not supported by localcloud.", k)
			}
			*f = v
		case strings.HasPrefix(k, "SecurityGroupRuleId."):
			n, err := strconv.Atoi(k[len("SecurityGroupRuleId."):])
			if err != nil || n < 1 || n > maxPermissionsInOne {
				return nil, nil, false, errf(400, "InvalidParameter",
					"The parameter %q is not valid: SecurityGroupRuleId accepts 1 to %d entries.", k, maxPermissionsInOne)
			}
			idsByN[n] = v
		}
	}
	var fp perm
	for _, name := range permFields {
		if v := c.get(name); v != "" {
			*fp.field(name) = v
			flat = true
		}
	}
	if (flat && len(byN) > 0) || (len(idsByN) > 0 && (flat || len(byN) > 0)) {
		return nil, nil, false, errf(400, "InvalidParam.Permissions",
			"The specified parameter Permissions cannot coexist with other parameters (legacy rule fields or SecurityGroupRuleId.N).")
	}
	if flat {
		return []perm{fp}, nil, true, nil
	}
	for _, n := range sortedKeys(byN) {
		perms = append(perms, *byN[n])
	}
	for _, n := range sortedKeys(idsByN) {
		id := idsByN[n]
		if slices.Contains(ruleIDs, id) {
			return nil, nil, false, errf(400, "InvalidParam.SecurityGroupRuleIdRepeated", "The specified parameter SecurityGroupRuleId (%q) is repeated.", id)
		}
		ruleIDs = append(ruleIDs, id)
	}
	return perms, ruleIDs, false, nil
}

func sortedKeys[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// buildRules validates every permission and refuses duplicates within the call.
func (s *Server) buildRules(d direction, perms []perm) ([]rule, *apiError) {
	out := make([]rule, 0, len(perms))
	for i := range perms {
		r, e := s.buildRule(d, &perms[i])
		if e != nil {
			return nil, e
		}
		for j := range out {
			if out[j].sameIdentity(&r) {
				return nil, errf(400, "InvalidParam.DuplicatePermissions", "There are duplicate permissions in the specified parameter Permissions.")
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// checkRefs checks what a rule refers to, as Authorize and Modify do.
func (s *Server) checkRefs(reg *region, g *group, r *rule, refuseSelf bool) *apiError {
	if g.enterprise {
		if r.pol == polDrop {
			return errf(400, "InvalidGroupParameter.OperationDenied",
				"The attributes Policy, SourceGroupId, DestGroupId of enterprise level security groups are not allowed to be set or modified.")
		}
		if r.kind == peerGroup {
			return errf(400, "InvalidGroupAuthParameter.OperationDenied", "The security group can not authorize to enterprise level security group.")
		}
	}
	in := r.dir == dirIngress
	switch r.kind {
	case peerGroup:
		acct, id := r.owner()
		if acct != "" || (id != "" && id != auth.AccountID) {
			return nil // another account's group: not verifiable here
		}
		t := reg.groups[r.ref]
		switch {
		case t == nil && in:
			return errf(404, "InvalidSourceGroupId.NotFound", "The SourceGroupId %q provided does not exist in our records.", r.ref)
		case t == nil:
			return errf(404, "InvalidDestGroupId.NotFound", "The DestGroupId %q provided does not exist in our records.", r.ref)
		case t == g && refuseSelf && in:
			return errf(403, "InvalidParamter.Conflict", "The specified SecurityGroupId should be different from the SourceGroupId.")
		case t == g && refuseSelf:
			return errf(403, "InvalidSecurityGroup.IsSame", "The authorized SecurityGroupId should be different from the DestGroupId.")
		case t.enterprise:
			return errf(400, "InvalidGroupAuthParameter.OperationDenied", "The security group can not authorize to enterprise level security group.")
		case t.vpcID != g.vpcID && in:
			return errf(400, "InvalidSourceGroupId.Mismatch", "Specified security group and source group are not in the same VPC.")
		case t.vpcID != g.vpcID:
			return errf(400, "InvalidDestGroupId.Mismatch", "Specified security group and destination group are not in the same VPC.")
		}
	case peerPrefixList:
		pl := reg.prefixLists[r.ref]
		if pl == nil {
			return errf(404, "InvalidPrefixListId.NotFound", "The specified prefix list %q was not found.", r.ref)
		}
		if r.local.fam != 0 && (r.local.fam == 4) != (pl.family == "IPv4") {
			return errf(400, "InvalidParam.PrefixListAddressFamilyMismatch", "The address family of the specified prefix list does not match the specified CidrIp.")
		}
	}
	return nil
}

func groupRefCount(rules []rule) int {
	n := 0
	for i := range rules {
		if rules[i].kind == peerGroup {
			n++
		}
	}
	return n
}

// lockedGroup takes the write lock and finds the call's group; on success the
// caller must unlock.
func (s *Server) lockedGroup(c *call) (*region, *group, *apiError) {
	id := c.get("SecurityGroupId")
	if id == "" {
		return nil, nil, errMissing("SecurityGroupId")
	}
	s.mu.Lock()
	reg := s.regions[c.region]
	if reg == nil || reg.groups[id] == nil {
		s.mu.Unlock()
		return nil, nil, errNotFoundGroup(id)
	}
	return reg, reg.groups[id], nil
}

func (s *Server) authorizeIngress(c *call) (any, *writeResult, *apiError) {
	return s.authorize(c, dirIngress)
}
func (s *Server) authorizeEgress(c *call) (any, *writeResult, *apiError) {
	return s.authorize(c, dirEgress)
}

// authorize adds rules atomically: every permission is validated, duplicates
// of existing rules are skipped, and the 200-rule quota is checked before
// anything is added.
func (s *Server) authorize(c *call, d direction) (any, *writeResult, *apiError) {
	reg, g, e := s.lockedGroup(c)
	if e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	perms, ids, _, e := permsFromCall(c)
	if e != nil {
		return nil, nil, e
	}
	if len(ids) > 0 {
		return nil, nil, errf(400, "InvalidParameter", "SecurityGroupRuleId.N is not a parameter of %s.", c.action)
	}
	if len(perms) == 0 {
		return nil, nil, errMissing("Permissions.1.IpProtocol")
	}
	rules, e := s.buildRules(d, perms)
	if e != nil {
		return nil, nil, e
	}
	var add []rule
	for i := range rules {
		if e := s.checkRefs(reg, g, &rules[i], true); e != nil {
			return nil, nil, e
		}
		if !slices.ContainsFunc(g.rules, func(x rule) bool { return x.sameIdentity(&rules[i]) }) {
			add = append(add, rules[i])
		}
	}
	if len(g.rules)+len(add) > maxRulesPerGroup {
		return nil, nil, errf(403, "AuthorizationLimitExceed",
			"The limit of authorization records in the security group reaches: %d rules now, %d more requested, limit %d.",
			len(g.rules), len(add), maxRulesPerGroup)
	}
	if n := groupRefCount(add); n > 0 && groupRefCount(g.rules)+n > maxGroupRefRules {
		return nil, nil, errf(400, "AuthorizedGroupRule.LimitExceed",
			"You have reached the limit on the number of group authorization rules that you can add to a security group. When authorization object of rule is security group, the limit is %d.", maxGroupRefRules)
	}
	now := s.nowUnix()
	for i := range add {
		g.ruleSeq++
		add[i].id, add[i].seq, add[i].created = newID("sgr-", reg.id), g.ruleSeq, now
	}
	g.rules = append(g.rules, add...)
	return requestIDOnly{c.requestID}, sgResources(g.id), nil
}

func (s *Server) revokeIngress(c *call) (any, *writeResult, *apiError) {
	return s.revoke(c, dirIngress)
}
func (s *Server) revokeEgress(c *call) (any, *writeResult, *apiError) { return s.revoke(c, dirEgress) }

// revoke deletes by SecurityGroupRuleId.N (every id must exist in this
// direction, else nothing is deleted) or by attributes (no match is success).
func (s *Server) revoke(c *call, d direction) (any, *writeResult, *apiError) {
	_, g, e := s.lockedGroup(c)
	if e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	perms, ids, _, e := permsFromCall(c)
	if e != nil {
		return nil, nil, e
	}
	switch {
	case len(ids) > 0:
		for _, id := range ids {
			i := g.findRule(id)
			if i < 0 || g.rules[i].dir != d {
				return nil, nil, errf(400, "InvalidParam.SecurityGroupRuleId",
					"The specified parameter SecurityGroupRuleId (%q) is not valid: no %s rule with this id in %s.", id, d, g.id)
			}
		}
		g.rules = slices.DeleteFunc(g.rules, func(r rule) bool { return slices.Contains(ids, r.id) })
	case len(perms) > 0:
		match, e := s.buildRules(d, perms)
		if e != nil {
			return nil, nil, e
		}
		g.rules = slices.DeleteFunc(g.rules, func(r rule) bool {
			return slices.ContainsFunc(match, func(m rule) bool { return m.sameIdentity(&r) })
		})
	default:
		return nil, nil, errMissing("SecurityGroupRuleId.1")
	}
	return requestIDOnly{c.requestID}, sgResources(g.id), nil
}

func (s *Server) modifyIngress(c *call) (any, *writeResult, *apiError) {
	return s.modify(c, dirIngress)
}
func (s *Server) modifyEgress(c *call) (any, *writeResult, *apiError) { return s.modify(c, dirEgress) }

// modify changes one rule in place, keeping its id, sequence and CreateTime.
// By SecurityGroupRuleId: the given fields replace the rule's, the peer type
// cannot change, and the result must not duplicate another rule. By
// attributes: the fields locate the rule (identity tuple) and only its
// Description changes.
func (s *Server) modify(c *call, d direction) (any, *writeResult, *apiError) {
	reg, g, e := s.lockedGroup(c)
	if e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	var given perm
	for _, name := range permFields {
		*given.field(name) = c.get(name)
	}
	id := c.get("SecurityGroupRuleId")
	if id == "" {
		m, e := s.buildRule(d, &given)
		if e != nil {
			return nil, nil, e
		}
		i := slices.IndexFunc(g.rules, func(r rule) bool { return r.sameIdentity(&m) })
		if i < 0 {
			return nil, nil, errf(404, "SecurityGroupRule.NotFound", "The target security group rule does not exist in %s.", g.id)
		}
		if given.Description != "" {
			g.rules[i].desc = m.desc
		}
		return requestIDOnly{c.requestID}, sgResources(g.id), nil
	}
	i := g.findRule(id)
	if i < 0 || g.rules[i].dir != d {
		return nil, nil, errf(404, "SecurityGroupRule.NotFound", "The target security group rule %q does not exist in %s.", id, g.id)
	}
	old := &g.rules[i]
	if strings.EqualFold(given.NicType, "internet") {
		return nil, nil, errf(400, "InvalidOperation.ModifyNicType", "NicType is not allowed to modify.")
	}
	merged := old.toPerm()
	peerN, localN := sides(d)
	for _, side := range []sideNames{peerN, localN} {
		names := []string{side.cidr, side.cidr6, side.group, side.prefixList, side.ownerAccount, side.ownerID}
		if slices.ContainsFunc(names, func(n string) bool { return *given.field(n) != "" }) {
			for _, n := range names {
				*merged.field(n) = ""
			}
		}
	}
	for _, name := range permFields {
		if v := *given.field(name); v != "" {
			*merged.field(name) = v
		}
	}
	// A protocol change without a port range keeps the old range only if it still fits.
	if given.IpProtocol != "" && given.PortRange == "" {
		if np, ok := parseProto(given.IpProtocol); ok && np.hasPorts() != old.proto.hasPorts() {
			merged.PortRange = ""
		}
	}
	nr, e := s.buildRule(d, &merged)
	if e != nil {
		return nil, nil, e
	}
	if nr.entity() != old.entity() {
		return nil, nil, errf(400, "InvalidOperation.ModifySgRuleEntityType", "The source or destination type of the rules cannot be modified.")
	}
	if e := s.checkRefs(reg, g, &nr, true); e != nil {
		return nil, nil, e
	}
	for j := range g.rules {
		if j != i && g.rules[j].sameIdentity(&nr) {
			return nil, nil, errf(400, "InvalidOperation.RuleDuplicate", "The modified rule duplicates rule %s.", g.rules[j].id)
		}
	}
	nr.id, nr.seq, nr.created = old.id, old.seq, old.created
	g.rules[i] = nr
	return requestIDOnly{c.requestID}, sgResources(g.id), nil
}

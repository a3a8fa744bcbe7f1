package ecs

import (
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// RuleView is a read-only, parsed copy of one rule.
type RuleView struct {
	ID        string
	GroupID   string
	Direction string // "ingress" | "egress"
	Protocol  string // "TCP", "UDP", "ICMP", "ICMPv6", "GRE", "ALL"
	PortFrom  int    // -1 for protocols without ports
	PortTo    int
	// SourcePortFrom/To are 0 when the rule has no source port range.
	SourcePortFrom, SourcePortTo int
	Policy                       string // "Accept" | "Drop"
	Priority                     int    // 1 (highest) .. 100
	// Exactly one peer is set: Peer (a CIDR), PeerGroupID or PeerPrefixListID.
	Peer             netip.Prefix
	PeerGroupID      string
	PeerPrefixListID string
	// Local is the quintuple-rule CIDR on the ENI side (DestCidrIp of an
	// ingress rule, SourceCidrIp of an egress rule); invalid when absent.
	Local       netip.Prefix
	Description string
	CreateTime  time.Time
}

// ENIView is a read-only copy of one network interface.
type ENIView struct {
	ID               string
	RegionID         string
	ZoneID           string
	VpcID            string
	VSwitchID        string
	InstanceID       string
	Type             string // "Primary" | "Secondary"
	Status           string
	MacAddress       string
	PrimaryIP        netip.Addr
	PrivateIPs       []netip.Addr // primary first, then secondary
	PublicIP         netip.Addr   // invalid when none
	IPv6             []netip.Addr
	SecurityGroupIDs []string
	Tags             map[string]string
}

func (r *rule) view(groupID string) RuleView {
	v := RuleView{
		ID: r.id, GroupID: groupID, Direction: r.dir.String(), Protocol: r.proto.String(),
		PortFrom: int(r.port[0]), PortTo: int(r.port[1]),
		SourcePortFrom: int(r.sport[0]), SourcePortTo: int(r.sport[1]),
		Policy: r.pol.String(), Priority: int(r.prio), Local: r.local.prefix(),
		Description: r.desc, CreateTime: time.Unix(r.created, 0).UTC(),
	}
	switch r.kind {
	case peerCIDR:
		v.Peer = r.peer.prefix()
	case peerGroup:
		v.PeerGroupID = r.ref
	case peerPrefixList:
		v.PeerPrefixListID = r.ref
	}
	return v
}

// Rules returns the rules of a group (any region) in creation order.
func (s *Server) Rules(groupID string) ([]RuleView, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, g := s.findGroup(groupID)
	if g == nil {
		return nil, false
	}
	out := make([]RuleView, len(g.rules))
	for i := range g.rules {
		out[i] = g.rules[i].view(g.id)
	}
	return out, true
}

func (e *eni) view(region string) ENIView {
	v := ENIView{
		ID: e.id, RegionID: region, ZoneID: e.zoneID, VpcID: e.vpcID, VSwitchID: e.vswitchID,
		InstanceID: e.instanceID, Type: e.typ, Status: e.status, MacAddress: e.mac,
		PrimaryIP: e.primaryIP, PublicIP: e.publicIP,
		IPv6:             append([]netip.Addr(nil), e.ipv6...),
		SecurityGroupIDs: append([]string(nil), e.groups...),
		Tags:             map[string]string{},
	}
	if e.primaryIP.IsValid() {
		v.PrivateIPs = append(v.PrivateIPs, e.primaryIP)
	}
	v.PrivateIPs = append(v.PrivateIPs, e.secondaryIPs...)
	for _, t := range e.tags {
		v.Tags[t.key] = t.value
	}
	return v
}

// ENI returns one network interface (any region).
func (s *Server) ENI(id string) (ENIView, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.regions {
		if e := r.enis[id]; e != nil {
			return e.view(r.id), true
		}
	}
	return ENIView{}, false
}

// ENIs returns the network interfaces of a region, sorted by id.
func (s *Server) ENIs(region string) []ENIView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.regions[region]
	if r == nil {
		return nil
	}
	var out []ENIView
	for _, e := range r.sortedENIs() {
		out = append(out, e.view(r.id))
	}
	return out
}

// Decide is the security-group verdict for one flow on an ENI, as the flow-log
// generator needs it. direction is "ingress" (remote → ENI) or "egress"
// (ENI → remote); protocol is a protocol name in any case ("tcp", "UDP",
// "icmp", "icmpv6", "gre") or an IANA number as flow logs carry it ("6",
// "17", "1", "58", "47"); port is the destination port (ignored for protocols
// without ports); remote is the other end.
//
// Semantics (aliyun-facts §1.11):
//   - the rules of every group on the ENI for that direction are merged and
//     ordered by priority (1 first); at equal priority Drop comes first; the
//     first matching rule decides;
//   - a rule matches when its protocol is ALL or equal, the port is in its
//     range, remote is in its peer (CIDR, any private/public IP of an ENI in the
//     peer group, or any entry of the prefix list) and, for quintuple rules,
//     one of the ENI's own addresses is in its local CIDR. Source port ranges
//     are not known here and are ignored;
//   - no match, ingress: accepted only from a same-group peer: remote is an
//     address of another ENI that shares a basic group whose
//     InnerAccessPolicy is Accept with this ENI; otherwise dropped;
//   - no match, egress: accepted when the ENI is in at least one basic
//     (normal) group; dropped when all its groups are enterprise groups.
//
// An unknown ENI gets false.
func (s *Server) Decide(eniID, direction, protocol string, port int, remote netip.Addr) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var reg *region
	var n *eni
	for _, r := range s.regions {
		if n = r.enis[eniID]; n != nil {
			reg = r
			break
		}
	}
	if n == nil {
		return false
	}
	dir := dirIngress
	if strings.EqualFold(direction, "egress") {
		dir = dirEgress
	}
	pr, ok := parseProto(protocol)
	if !ok {
		pr = ianaProtos[protocol]
	}
	remote = remote.Unmap()
	var cands []*rule
	basic := false
	for _, gid := range n.groups {
		g := reg.groups[gid]
		if g == nil {
			continue
		}
		basic = basic || !g.enterprise
		for i := range g.rules {
			if g.rules[i].dir == dir {
				cands = append(cands, &g.rules[i])
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].prio != cands[j].prio {
			return cands[i].prio < cands[j].prio
		}
		return cands[i].pol == polDrop && cands[j].pol != polDrop
	})
	for _, r := range cands {
		if s.ruleMatches(reg, n, r, pr, port, remote) {
			return r.pol == polAccept
		}
	}
	if dir == dirEgress {
		return basic
	}
	for _, o := range reg.enis {
		if o == n || !o.hasIP(remote) {
			continue
		}
		for _, gid := range n.groups {
			if g := reg.groups[gid]; g != nil && !g.enterprise && !g.innerDrop && o.inGroup(gid) {
				return true
			}
		}
	}
	return false
}

var ianaProtos = map[string]proto{"6": protoTCP, "17": protoUDP, "1": protoICMP, "58": protoICMPv6, "47": protoGRE}

func (s *Server) ruleMatches(reg *region, n *eni, r *rule, pr proto, port int, remote netip.Addr) bool {
	if r.proto != protoALL && r.proto != pr {
		return false
	}
	if r.proto.hasPorts() && (port < int(r.port[0]) || port > int(r.port[1])) {
		return false
	}
	if r.local.fam != 0 {
		own := append([]netip.Addr{n.primaryIP, n.publicIP}, n.secondaryIPs...)
		own = append(own, n.ipv6...)
		if !slices.ContainsFunc(own, func(a netip.Addr) bool { return a.IsValid() && r.local.contains(a) }) {
			return false
		}
	}
	switch r.kind {
	case peerCIDR:
		return r.peer.contains(remote)
	case peerGroup:
		for _, o := range reg.enis {
			if o.inGroup(r.ref) && o.hasIP(remote) {
				return true
			}
		}
		return false
	case peerPrefixList:
		if pl := reg.prefixLists[r.ref]; pl != nil {
			return slices.ContainsFunc(pl.entries, func(e plEntry) bool { return e.cidr.Contains(remote) })
		}
	}
	return false
}

package exposure

import (
	"net/netip"
	"slices"

	"github.com/porthygiene/porthygiene/shared/rule"
)

// Packet is one packet to judge.
type Packet struct {
	// Direction is ingress (the default when empty) or egress.
	Direction rule.Direction
	// Protocol is tcp, udp, icmp, icmpv6 or gre.
	Protocol rule.Protocol
	// Port is the destination port (tcp, udp); ignored for other protocols.
	Port int
	// Addr is the remote address: the source of an ingress packet, the
	// destination of an egress one. IPv4-mapped IPv6 counts as IPv4.
	Addr netip.Addr
	// FromGroups are the security groups of the remote instance, if known;
	// rules whose peer is a security group match only these.
	FromGroups []string
}

// Verdict is the fate of a packet.
type Verdict struct {
	Allowed bool
	// Rule is the deciding rule (an element of the rules given to Decide),
	// nil when no rule matched and the group's default applies: denied for
	// ingress. (Egress defaults depend on the group type, so callers that
	// care check Rule == nil.)
	Rule *rule.Rule
	// Unknown: a rule on an unresolved prefix list, ordered before the
	// deciding rule (or before the default), might have matched and decided
	// otherwise.
	Unknown bool
}

// Decide says whether the rules (of one group, or of all groups on one ENI)
// accept p. Rules are ordered by priority, lower first (a priority below 1 is
// 1, the API default), drop before accept at equal priority, and the first
// rule that matches decides; none matching is denied. A rule on a prefix
// list missing from pl matches nothing but makes the verdict Unknown.
func Decide(rules []rule.Rule, pl PrefixLists, p Packet) Verdict {
	dir := p.Direction
	if dir == "" {
		dir = rule.Ingress
	}
	addr := p.Addr.Unmap()
	best := -1
	var unknownKeys []key // keys of unresolved rules that would match but for the peer
	for i := range rules {
		r := &rules[i]
		rdir := r.Direction
		if rdir == "" {
			rdir = rule.Ingress
		}
		if rdir != dir || !protoMatches(r, p) {
			continue
		}
		k := keyOf(r, i)
		if best >= 0 && !k.before(keyOf(&rules[best], best)) {
			continue
		}
		m, unknown := peerMatches(r, pl, addr, p.FromGroups)
		if unknown {
			unknownKeys = append(unknownKeys, k)
			continue
		}
		if m {
			best = i
		}
	}
	v := Verdict{}
	if best >= 0 {
		v.Rule = &rules[best]
		v.Allowed = v.Rule.Policy != rule.Drop
	}
	for _, k := range unknownKeys {
		if best < 0 || k.before(keyOf(&rules[best], best)) {
			v.Unknown = true
		}
	}
	return v
}

// key orders rules: priority, drop first, input order.
type key struct{ prio, acceptRank, idx int }

func keyOf(r *rule.Rule, i int) key {
	return key{effPriority(r), b2i(r.Policy != rule.Drop), i}
}

func (a key) before(b key) bool {
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	if a.acceptRank != b.acceptRank {
		return a.acceptRank < b.acceptRank
	}
	return a.idx < b.idx
}

func protoMatches(r *rule.Rule, p Packet) bool {
	if r.Protocol != rule.All && r.Protocol != p.Protocol {
		return false
	}
	if p.Protocol != rule.TCP && p.Protocol != rule.UDP {
		return true // no ports
	}
	lo, hi, ok := portSpan(r)
	return ok && lo <= p.Port && p.Port <= hi
}

// peerMatches reports whether r's peer matches; unknown when it names an
// unresolved prefix list.
func peerMatches(r *rule.Rule, pl PrefixLists, addr netip.Addr, groups []string) (match, unknown bool) {
	switch r.Peer.Kind {
	case rule.PeerCIDR4, rule.PeerCIDR6:
		return addr.IsValid() && r.Peer.Prefix.Contains(addr), false
	case rule.PeerGroup:
		return slices.Contains(groups, r.Peer.ID), false
	case rule.PeerPrefixList:
		entries, ok := pl[r.Peer.ID]
		if !ok {
			return false, true
		}
		for _, e := range entries {
			if addr.IsValid() && e.Contains(addr) {
				return true, false
			}
		}
	}
	return false, false
}

package exposure

import (
	"slices"

	"github.com/porthygiene/porthygiene/shared/rule"
)

// PeerMatch says whether a rule's peer covers a packet's remote side.
type PeerMatch string

const (
	PeerMatches PeerMatch = "match"    // the peer covers the packet
	PeerDiffers PeerMatch = "no-match" // the peer does not cover it
	PeerUnknown PeerMatch = "unknown"  // the peer is an unresolved prefix list
)

// Step is one rule that [Decide] weighs for a packet.
type Step struct {
	// Rule is an element of the rules given to Trace.
	Rule *rule.Rule
	// Peer says whether the rule's peer covers the packet.
	Peer PeerMatch
}

// Trace explains [Decide]: it returns every rule of the packet's direction
// whose protocol and port range cover the packet, in the order Decide weighs
// them (priority, lower first; drop before accept at equal priority; then
// input order), each with whether its peer covers the packet. The first step
// whose Peer is PeerMatches is the rule Decide returns; none such means the
// packet is denied by default. Steps after it are the rules it shadows.
func Trace(rules []rule.Rule, pl PrefixLists, p Packet) []Step {
	dir := p.Direction
	if dir == "" {
		dir = rule.Ingress
	}
	addr := p.Addr.Unmap()
	type cand struct {
		k key
		s Step
	}
	var cands []cand
	for i := range rules {
		r := &rules[i]
		rdir := r.Direction
		if rdir == "" {
			rdir = rule.Ingress
		}
		if rdir != dir || !protoMatches(r, p) {
			continue
		}
		m, unknown := peerMatches(r, pl, addr, p.FromGroups)
		s := Step{Rule: r, Peer: PeerDiffers}
		switch {
		case unknown:
			s.Peer = PeerUnknown
		case m:
			s.Peer = PeerMatches
		}
		cands = append(cands, cand{keyOf(r, i), s})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		switch {
		case a.k.before(b.k):
			return -1
		case b.k.before(a.k):
			return 1
		}
		return 0
	})
	out := make([]Step, len(cands))
	for i, c := range cands {
		out[i] = c.s
	}
	return out
}

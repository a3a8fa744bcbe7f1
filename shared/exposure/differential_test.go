package exposure

// The differential test: random rule sets and packets, checked against a
// deliberately naive oracle written here, separately from the evaluator. The
// naive side uses netip, math/big and plain sorting; it shares no code with
// the package except the rule types.

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// ---- the naive oracle ------------------------------------------------------

// naiveOrder sorts rule indexes by priority (below 1 is 1), drop first at
// equal priority, then input order.
func naiveOrder(rules []rule.Rule) []int {
	idx := make([]int, len(rules))
	for i := range idx {
		idx[i] = i
	}
	prio := func(r rule.Rule) int {
		if r.Priority < 1 {
			return 1
		}
		return r.Priority
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ra, rb := rules[idx[a]], rules[idx[b]]
		if prio(ra) != prio(rb) {
			return prio(ra) < prio(rb)
		}
		return ra.Policy == rule.Drop && rb.Policy != rule.Drop
	})
	return idx
}

type naivePacket struct {
	dir   rule.Direction
	proto rule.Protocol
	port  int
	addr  netip.Addr
}

// naiveDecide: first match in order decides; nothing matched is denied.
// unknown: an unresolved prefix-list rule that would otherwise be tried comes
// before the decision.
func naiveDecide(rules []rule.Rule, order []int, pls PrefixLists, p naivePacket) (allowed bool, decider int, unknown bool) {
	for _, i := range order {
		r := &rules[i]
		if r.Direction != p.dir {
			continue
		}
		if r.Protocol != rule.All && r.Protocol != p.proto {
			continue
		}
		if p.proto == rule.TCP || p.proto == rule.UDP {
			if !r.Ports.IsAny() && (p.port < r.Ports.From || p.port > r.Ports.To) {
				continue
			}
		}
		match := false
		switch r.Peer.Kind {
		case rule.PeerCIDR4, rule.PeerCIDR6:
			match = r.Peer.Prefix.Contains(p.addr)
		case rule.PeerPrefixList:
			entries, ok := pls[r.Peer.ID]
			if !ok {
				unknown = true
				continue
			}
			for _, e := range entries {
				if e.Contains(p.addr) {
					match = true
				}
			}
		}
		if match {
			return r.Policy != rule.Drop, i, unknown
		}
	}
	return false, -1, unknown
}

var naiveHoles = map[int][]string{
	4: {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"},
	6: {"2001:2::/48", "2001:db8::/32", "3fff::/20"},
}

var (
	naiveHolePrefixes = map[int][]netip.Prefix{}
	globalUnicast     = netip.MustParsePrefix("2000::/3")
)

func init() {
	for fam, hs := range naiveHoles {
		for _, h := range hs {
			naiveHolePrefixes[fam] = append(naiveHolePrefixes[fam], netip.MustParsePrefix(h))
		}
	}
}

func naivePublic(a netip.Addr) bool {
	fam := 4
	if a.Is6() {
		fam = 6
		if !globalUnicast.Contains(a) {
			return false
		}
	}
	for _, h := range naiveHolePrefixes[fam] {
		if h.Contains(a) {
			return false
		}
	}
	return true
}

func bigAddr(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }

func addrFromBig(x *big.Int, fam int) netip.Addr {
	n := 4
	if fam == 6 {
		n = 16
	}
	b := x.FillBytes(make([]byte, n))
	a, _ := netip.AddrFromSlice(b)
	return a
}

func prefixBounds(p netip.Prefix) (first, afterLast *big.Int) {
	first = bigAddr(p.Masked().Addr())
	size := new(big.Int).Lsh(big.NewInt(1), uint(p.Addr().BitLen()-p.Bits()))
	return first, new(big.Int).Add(first, size)
}

// segment is a run of addresses on which every rule, and public-ness, is
// constant: one sample decides all of it.
type segment struct {
	sample netip.Addr
	size   *big.Int
	public bool
}

// naiveSegments cuts a family's space at every prefix boundary of the rules,
// the prefix lists and the public space.
func naiveSegments(fam int, rules []rule.Rule, pls PrefixLists) []segment {
	bits := 32
	if fam == 6 {
		bits = 128
	}
	end := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	cuts := []*big.Int{big.NewInt(0), end}
	add := func(p netip.Prefix) {
		if p.Addr().Is6() != (fam == 6) {
			return
		}
		a, b := prefixBounds(p)
		cuts = append(cuts, a, b)
	}
	for _, r := range rules {
		if r.Peer.Kind == rule.PeerCIDR4 || r.Peer.Kind == rule.PeerCIDR6 {
			add(r.Peer.Prefix)
		}
	}
	for _, es := range pls {
		for _, e := range es {
			add(e)
		}
	}
	for _, h := range naiveHoles[fam] {
		add(netip.MustParsePrefix(h))
	}
	if fam == 6 {
		add(netip.MustParsePrefix("2000::/3"))
	}
	slices.SortFunc(cuts, func(a, b *big.Int) int { return a.Cmp(b) })
	cuts = slices.CompactFunc(cuts, func(a, b *big.Int) bool { return a.Cmp(b) == 0 })
	var segs []segment
	for i := 0; i+1 < len(cuts); i++ {
		a := addrFromBig(cuts[i], fam)
		segs = append(segs, segment{sample: a, size: new(big.Int).Sub(cuts[i+1], cuts[i]), public: naivePublic(a)})
	}
	return segs
}

func naiveThreshold(fam, n int) *big.Int {
	bits := 32
	if fam == 6 {
		bits = 128
	}
	total := new(big.Int)
	if fam == 4 {
		total.Lsh(big.NewInt(1), 32)
	} else {
		total.Lsh(big.NewInt(1), 125)
	}
	for _, h := range naiveHoles[fam] {
		a, b := prefixBounds(netip.MustParsePrefix(h))
		total.Sub(total, new(big.Int).Sub(b, a))
	}
	t := new(big.Int)
	if bits-n >= 1 {
		t.Lsh(big.NewInt(1), uint(bits-n-1))
	}
	capv := new(big.Int).Sub(total, big.NewInt(1))
	if t.Cmp(capv) > 0 {
		return capv
	}
	return t
}

// naiveReported returns the rules reported for one packet kind in one family
// and the total of public addresses accepted.
func naiveReported(sizes map[int]*big.Int, thr *big.Int) (map[int]bool, *big.Int) {
	out := map[int]bool{}
	total := new(big.Int)
	for i, s := range sizes {
		total.Add(total, s)
		if s.Cmp(thr) > 0 {
			out[i] = true
		}
	}
	if len(out) > 0 || total.Cmp(thr) <= 0 {
		return out, total
	}
	type c struct {
		i int
		s *big.Int
	}
	var cs []c
	for i, s := range sizes {
		if s.Sign() > 0 {
			cs = append(cs, c{i, s})
		}
	}
	sort.Slice(cs, func(a, b int) bool {
		if d := cs[a].s.Cmp(cs[b].s); d != 0 {
			return d < 0
		}
		return cs[a].i < cs[b].i
	})
	rest := new(big.Int).Set(total)
	for len(cs) > 0 {
		j := 1
		group := new(big.Int).Set(cs[0].s)
		for j < len(cs) && cs[j].s.Cmp(cs[0].s) == 0 {
			group.Add(group, cs[j].s)
			j++
		}
		r := new(big.Int).Sub(rest, group)
		if r.Cmp(thr) <= 0 {
			break
		}
		rest, cs = r, cs[j:]
	}
	for _, x := range cs {
		out[x.i] = true
	}
	return out, total
}

// ---- random cases ------------------------------------------------------------

type diffCase struct {
	rules []rule.Rule
	pls   PrefixLists
	pol   *policy.Policy
}

var (
	pool4 = []string{"0.0.0.0", "10.0.0.0", "11.0.0.0", "128.0.0.0", "172.16.0.0", "172.0.0.0", "8.8.8.8", "100.64.0.0",
		"192.168.0.0", "224.0.0.0", "64.0.0.0", "1.2.3.4", "203.0.113.0"}
	lens4 = []int{0, 1, 2, 3, 4, 7, 8, 9, 10, 12, 16, 24, 31, 32}
	pool6 = []string{"::", "2000::", "2400::", "8000::", "fc00::", "fe80::", "2001:db8::", "2001::", "3000::"}
	lens6 = []int{0, 1, 2, 3, 4, 8, 15, 16, 17, 20, 32, 48, 64, 128}
	ports = []int{1, 20, 21, 22, 23, 79, 80, 81, 443, 3306, 3389, 6379, 8080, 11211, 27017, 65535}
)

func randPrefix(rnd *rand.Rand, six bool) netip.Prefix {
	if !six {
		var a netip.Addr
		if rnd.IntN(3) == 0 {
			var b [4]byte
			for i := range b {
				b[i] = byte(rnd.IntN(256))
			}
			a = netip.AddrFrom4(b)
		} else {
			a = netip.MustParseAddr(pool4[rnd.IntN(len(pool4))])
		}
		return netip.PrefixFrom(a, lens4[rnd.IntN(len(lens4))]).Masked()
	}
	var a netip.Addr
	if rnd.IntN(3) == 0 {
		var b [16]byte
		for i := range b {
			b[i] = byte(rnd.IntN(256))
		}
		a = netip.AddrFrom16(b)
	} else {
		a = netip.MustParseAddr(pool6[rnd.IntN(len(pool6))])
	}
	return netip.PrefixFrom(a, lens6[rnd.IntN(len(lens6))]).Masked()
}

// basePolicy is parsed once; cases copy it and change only scalar fields.
var basePolicy = policy.Default()

func randCase(rnd *rand.Rand, unresolved bool) diffCase {
	pol := new(policy.Policy)
	*pol = *basePolicy
	pol.Thresholds.IPv4PrefixLen = []int{0, 1, 8, 9, 16, 32}[rnd.IntN(6)]
	pol.Thresholds.IPv6PrefixLen = []int{0, 3, 16, 17, 64, 128}[rnd.IntN(6)]
	pol.Egress = rnd.IntN(2) == 0
	if rnd.IntN(4) == 0 {
		pol.OtherPorts = policy.SeverityNone
	}
	c := diffCase{pol: pol, pls: PrefixLists{}}
	for i := range 1 + rnd.IntN(4) {
		var es []netip.Prefix
		for range rnd.IntN(4) {
			es = append(es, randPrefix(rnd, rnd.IntN(3) == 0))
		}
		c.pls[fmt.Sprintf("pl-%d", i)] = es
	}
	n := 1 + rnd.IntN(12)
	if rnd.IntN(10) == 0 {
		n = 20 + rnd.IntN(30)
	}
	for i := range n {
		r := rule.Rule{GroupID: "sg-1", ID: fmt.Sprintf("r%d", i), Direction: rule.Ingress, NicType: "intranet"}
		if rnd.IntN(5) == 0 {
			r.Direction = rule.Egress
		}
		switch x := rnd.IntN(20); {
		case x < 8:
			r.Protocol = rule.TCP
		case x < 12:
			r.Protocol = rule.UDP
		case x < 16:
			r.Protocol = rule.All
		case x < 18:
			r.Protocol = rule.ICMP
		case x < 19:
			r.Protocol = rule.GRE
		default:
			r.Protocol = rule.ICMPv6
		}
		r.Ports = rule.AnyPort
		if r.Protocol.HasPorts() {
			lo := ports[rnd.IntN(len(ports))]
			if rnd.IntN(4) == 0 {
				lo = 1 + rnd.IntN(65535)
			}
			hi := lo
			switch rnd.IntN(4) {
			case 0:
				hi = min(65535, lo+rnd.IntN(10))
			case 1:
				hi = ports[rnd.IntN(len(ports))]
			case 2:
				hi = 65535
			}
			if hi < lo {
				lo, hi = hi, lo
			}
			r.Ports = rule.PortRange{From: lo, To: hi}
		}
		switch x := rnd.IntN(20); {
		case x < 10:
			r.Peer = rule.Peer{Kind: rule.PeerCIDR4, Prefix: randPrefix(rnd, false)}
		case x < 15:
			r.Peer = rule.Peer{Kind: rule.PeerCIDR6, Prefix: randPrefix(rnd, true)}
		case x < 16:
			r.Peer = rule.Peer{Kind: rule.PeerGroup, ID: "sg-2"}
		default:
			id := fmt.Sprintf("pl-%d", rnd.IntN(len(c.pls)))
			if unresolved && rnd.IntN(3) == 0 {
				id = "pl-unresolved"
			}
			r.Peer = rule.Peer{Kind: rule.PeerPrefixList, ID: id}
		}
		r.Policy = rule.Accept
		if rnd.IntN(3) == 0 {
			r.Policy = rule.Drop
		}
		r.Priority = 1 + rnd.IntN(4)
		if rnd.IntN(4) == 0 {
			r.Priority = 1 + rnd.IntN(100)
		}
		c.rules = append(c.rules, r)
	}
	return c
}

// ---- the checks ------------------------------------------------------------

// checkDecide compares Decide with the naive oracle on packets at the edges
// of every rule's addresses and ports, and at random.
func checkDecide(t *testing.T, rnd *rand.Rand, c diffCase) {
	t.Helper()
	order := naiveOrder(c.rules)
	var addrs []netip.Addr
	edge := func(p netip.Prefix) {
		fam := 4
		if p.Addr().Is6() {
			fam = 6
		}
		a, b := prefixBounds(p)
		last := new(big.Int).Sub(b, big.NewInt(1))
		addrs = append(addrs, addrFromBig(a, fam), addrFromBig(last, fam))
		if a.Sign() > 0 {
			addrs = append(addrs, addrFromBig(new(big.Int).Sub(a, big.NewInt(1)), fam))
		}
		if b.BitLen() <= p.Addr().BitLen() {
			addrs = append(addrs, addrFromBig(b, fam))
		}
	}
	var pts []int
	for _, r := range c.rules {
		if r.Peer.Kind == rule.PeerCIDR4 || r.Peer.Kind == rule.PeerCIDR6 {
			edge(r.Peer.Prefix)
		}
		if !r.Ports.IsAny() {
			pts = append(pts, r.Ports.From, r.Ports.To, max(1, r.Ports.From-1), min(65535, r.Ports.To+1))
		}
	}
	for _, es := range c.pls {
		for _, e := range es {
			edge(e)
		}
	}
	for range 8 {
		addrs = append(addrs, randPrefix(rnd, false).Addr(), randPrefix(rnd, true).Addr())
	}
	pts = append(pts, ports...)
	for _, a := range addrs {
		for _, proto := range []rule.Protocol{rule.TCP, rule.UDP, rule.ICMP, rule.GRE} {
			for _, dir := range []rule.Direction{rule.Ingress, rule.Egress} {
				port := pts[rnd.IntN(len(pts))]
				want, wantIdx, wantUnknown := naiveDecide(c.rules, order, c.pls, naivePacket{dir, proto, port, a})
				got := Decide(c.rules, c.pls, Packet{Direction: dir, Protocol: proto, Port: port, Addr: a})
				gotIdx := -1
				if got.Rule != nil {
					gotIdx = slices.IndexFunc(c.rules, func(r rule.Rule) bool { return &r == got.Rule })
					for i := range c.rules {
						if &c.rules[i] == got.Rule {
							gotIdx = i
						}
					}
				}
				if got.Allowed != want || gotIdx != wantIdx || got.Unknown != wantUnknown {
					t.Fatalf("Decide(%s %s %d from %s) = allowed %v by %d unknown %v; naive: %v by %d unknown %v\nrules: %v",
						dir, proto, port, a, got.Allowed, gotIdx, got.Unknown, want, wantIdx, wantUnknown, c.rules)
				}
			}
		}
	}
}

// checkFindings recomputes, naively, which rules expose which ports and
// compares with the evaluator's findings.
func checkFindingsNaive(t *testing.T, c diffCase) {
	t.Helper()
	rep, err := Evaluate(c.pol, Input{Rules: c.rules, PrefixLists: c.pls, Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		idx   int
		proto rule.Protocol
		port  int
	}
	got := map[key]bool{}
	idxOf := map[string]int{}
	for i, r := range c.rules {
		idxOf[r.ID] = i
	}
	for _, f := range rep.Findings {
		if f.Unknown {
			t.Fatalf("unknown finding with every prefix list resolved: %+v", f)
		}
		for _, x := range f.Exposed {
			got[key{idxOf[f.RuleID], x.Protocol, x.Port}] = true
		}
		for _, sp := range f.OtherPorts {
			got[key{idxOf[f.RuleID], sp.Protocol, sp.From}] = true // checked by span below
		}
	}
	otherCovers := func(idx int, proto rule.Protocol, port int) bool {
		for _, f := range rep.Findings {
			if idxOf[f.RuleID] != idx {
				continue
			}
			for _, sp := range f.OtherPorts {
				if sp.Protocol == proto && sp.From <= port && port <= sp.To {
					return true
				}
			}
		}
		return false
	}
	sensitive := map[rule.Protocol]map[int]bool{rule.TCP: {}, rule.UDP: {}}
	for _, s := range c.pol.Services {
		for _, p := range s.Ports {
			for _, proto := range s.Protocols {
				if !slices.Contains(c.pol.InternetAllowedPorts, p) {
					sensitive[rule.Protocol(proto)][p] = true
				}
			}
		}
	}
	// Ports to check: every sensitive port, every rule edge, some others.
	var pts []int
	for p := range sensitive[rule.TCP] {
		pts = append(pts, p)
	}
	for _, r := range c.rules {
		if !r.Ports.IsAny() {
			pts = append(pts, r.Ports.From, r.Ports.To, max(1, r.Ports.From-1), min(65535, r.Ports.To+1))
		}
	}
	pts = append(pts, 80, 443, 1, 65535, 11211)
	slices.Sort(pts)
	pts = slices.Compact(pts)

	order := naiveOrder(c.rules)
	segs := map[int][]segment{4: naiveSegments(4, c.rules, c.pls), 6: naiveSegments(6, c.rules, c.pls)}
	thr := map[int]*big.Int{
		4: naiveThreshold(4, c.pol.Thresholds.IPv4PrefixLen),
		6: naiveThreshold(6, c.pol.Thresholds.IPv6PrefixLen),
	}
	dirs := []rule.Direction{rule.Ingress}
	if c.pol.Egress {
		dirs = append(dirs, rule.Egress)
	}
	for _, dir := range dirs {
		for _, proto := range []rule.Protocol{rule.TCP, rule.UDP} {
			for _, port := range pts {
				want := map[int]bool{}
				for _, fam := range []int{4, 6} {
					sizes := map[int]*big.Int{}
					for _, sg := range segs[fam] {
						if !sg.public {
							continue
						}
						ok, idx, _ := naiveDecide(c.rules, order, c.pls, naivePacket{dir, proto, port, sg.sample})
						if ok {
							if sizes[idx] == nil {
								sizes[idx] = new(big.Int)
							}
							sizes[idx].Add(sizes[idx], sg.size)
						}
					}
					rep, total := naiveReported(sizes, thr[fam])
					for i := range rep {
						want[i] = true
						// A reported port has public addresses the oracle accepts.
						if sizes[i].Sign() <= 0 {
							t.Fatalf("rule %d reported without public addresses", i)
						}
					}
					if len(rep) == 0 && total.Cmp(thr[fam]) > 0 {
						t.Fatalf("internet-wide in total but no rule reported")
					}
				}
				allowed := slices.Contains(c.pol.InternetAllowedPorts, port)
				for i, r := range c.rules {
					if r.Direction != dir {
						continue
					}
					var gotIt bool
					switch {
					case sensitive[proto][port]:
						gotIt = got[key{i, proto, port}]
					case allowed || c.pol.OtherPorts == policy.SeverityNone:
						gotIt = false
					default:
						gotIt = otherCovers(i, proto, port)
					}
					wantIt := want[i] && !allowed && (sensitive[proto][port] || c.pol.OtherPorts != policy.SeverityNone)
					if gotIt != wantIt {
						t.Fatalf("%s %s port %d rule %d (%+v): evaluator says exposed=%v, naive says %v\nthresholds %+v\nrules: %+v\npls: %v\nfindings: %+v",
							dir, proto, port, i, r, gotIt, wantIt, c.pol.Thresholds, c.rules, c.pls, rep.Findings)
					}
				}
			}
		}
	}
}

func runDifferential(t *testing.T, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	checkFindingsNaive(t, randCase(rnd, false))
	checkDecide(t, rnd, randCase(rnd, true))
}

// TestDifferential is the bounded run for plain `go test`; FuzzDifferential
// runs it for as long as you like.
func TestDifferential(t *testing.T) {
	n := 2000
	if raceEnabled {
		n = 400
	}
	if testing.Short() {
		n = 200
	}
	for seed := range uint64(n) {
		runDifferential(t, seed)
	}
}

func FuzzDifferential(f *testing.F) {
	for _, s := range []uint64{0, 1, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		runDifferential(t, seed)
	})
}

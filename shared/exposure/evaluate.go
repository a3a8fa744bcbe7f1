package exposure

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// PrefixLists maps prefix-list ids to their resolved entries. A prefix list
// missing from the map is unresolved (its rules are judged "unknown"); one
// present with no entries is empty (its rules match nothing).
type PrefixLists map[string][]netip.Prefix

// RuleRef names one rule of one group.
type RuleRef struct{ GroupID, RuleID string }

// Input is what one evaluation looks at.
type Input struct {
	// Rules of one security group, or of all groups on one ENI.
	Rules []rule.Rule
	// Tags of the groups: group id → tag key → value.
	Tags map[string]map[string]string
	// PrefixLists resolves the prefix lists the rules name.
	PrefixLists PrefixLists
	// Exemptions recorded elsewhere (the ledger), by group and rule id.
	Exemptions map[RuleRef]exemption.Exemption
	// Now decides which exemptions have expired.
	Now time.Time
	// ExemptionCaps end exemptions earlier than they say: the end recorded
	// when an exemption was first seen (its until, cut to the policy's
	// maximum length from then). An exemption without a cap here is cut to
	// the policy's maximum from Now (exemptions.maxDays).
	ExemptionCaps map[ExemptionKey]time.Time
}

// ExemptionKey names one exemption as written: a rule, where it was written
// ("description", "ledger" or "tag") and the until it asked for. A changed
// until is a new exemption (announced anew, capped anew).
type ExemptionKey struct {
	GroupID, RuleID, Source string
	Until                   time.Time
}

// Report is the outcome of an evaluation.
type Report struct {
	// Findings are the exposures that nothing exempts: what the guard acts on.
	Findings []Finding `json:"findings"`
	// Exempted are exposures an active exemption covers (Finding.Exempt set).
	// They are reported so that people can see them, never acted on.
	Exempted []Finding `json:"exempted"`
}

// Finding is one rule that opens sensitive (or other, not allowed) ports to
// the internet.
type Finding struct {
	GroupID   string         `json:"securityGroupId"`
	RuleID    string         `json:"ruleId"`
	Direction rule.Direction `json:"direction"`
	Protocol  rule.Protocol  `json:"protocol"`
	PortRange string         `json:"portRange"` // the rule's own, "22/22", "-1/-1"
	// Source is the rule's peer: the source of an ingress rule, the
	// destination of an egress rule ("0.0.0.0/0", "pl-…").
	Source   string `json:"source"`
	Priority int    `json:"priority"`
	// Ports are the exposed sensitive port numbers, ascending, unique.
	Ports []int `json:"ports"`
	// Services are the names of those ports' services, in port order.
	Services []string `json:"services"`
	// Exposed details Ports: one entry per protocol, port and service.
	Exposed []Exposure `json:"exposed"`
	// OtherPorts are exposed ports that are neither sensitive nor allowed to
	// the internet (empty when the policy's otherPorts is none).
	OtherPorts []PortSpan      `json:"otherPorts,omitempty"`
	Severity   policy.Severity `json:"severity"`
	Reason     string          `json:"reason"`
	// Unknown: an unresolved prefix list makes the verdict uncertain, either
	// the rule's own peer or a higher-priority drop that might cover it.
	Unknown bool `json:"unknown,omitempty"`
	// Combined: no single rule is internet-wide here; this rule is one of
	// several that together are. Contributors lists all of them.
	Combined     bool     `json:"combined,omitempty"`
	Contributors []string `json:"contributors,omitempty"`
	// Exempt is set on Report.Exempted entries: the exemption that covers
	// these ports.
	Exempt *Exempt `json:"exemption,omitempty"`
	// Rule is the rule itself.
	Rule rule.Rule `json:"-"`
}

// Exposure is one exposed sensitive port.
type Exposure struct {
	Protocol rule.Protocol   `json:"protocol"` // tcp or udp
	Port     int             `json:"port"`
	Service  string          `json:"service"`
	Severity policy.Severity `json:"severity"`
}

// PortSpan is an inclusive port range of one protocol.
type PortSpan struct {
	Protocol rule.Protocol `json:"protocol"`
	From     int           `json:"from"`
	To       int           `json:"to"`
}

func (s PortSpan) String() string {
	if s.From == s.To {
		return strconv.Itoa(s.From)
	}
	return strconv.Itoa(s.From) + "-" + strconv.Itoa(s.To)
}

// Exempt says which exemption covers a finding and where it was written.
// Until is when it ends, cut to the policy's maximum; Asked is the until as
// written (not in JSON: the key of the exemption, see ExemptionKey).
type Exempt struct {
	// Source is "description", "ledger" or "tag".
	Source string
	exemption.Exemption
	Asked time.Time
}

// Cut reports whether the policy's maximum ended the exemption before the
// until it asked for.
func (x Exempt) Cut() bool { return x.Until.Before(x.Asked) }

// MarshalJSON writes {"source", "owner", "reason", "until", "ports"}.
func (x Exempt) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(x.Exemption)
	if err != nil {
		return nil, err
	}
	src, err := json.Marshal(x.Source)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(`{"source":`), src...), append([]byte{','}, b[1:]...)...), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (x *Exempt) UnmarshalJSON(data []byte) error {
	var src struct {
		Source string `json:"source"`
	}
	if err := json.Unmarshal(data, &src); err != nil {
		return err
	}
	x.Source = src.Source
	return json.Unmarshal(data, &x.Exemption)
}

// Evaluator judges rules against one policy. It is immutable after New and
// safe for concurrent use.
type Evaluator struct {
	catalog  [2][]catPort // per protocol (tcp, udp), sorted by port
	allowed  []int        // sorted, unique
	thr      [2]u128      // per family: exposure must exceed this
	other    policy.Severity
	egress   bool
	tagKey   string
	markerKw string
	capUntil func(now, until time.Time) (time.Time, bool) // the policy's maximum length
}

type catPort struct {
	port    int
	service string
	sev     policy.Severity
}

const (
	tcpIdx = 0
	udpIdx = 1
)

var protoOf = [2]rule.Protocol{rule.TCP, rule.UDP}

// New compiles a policy; nil means policy.Default().
func New(p *policy.Policy) (*Evaluator, error) {
	if p == nil {
		p = policy.Default()
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("invalid policy: %w", err)
	}
	e := &Evaluator{
		other:    p.OtherPorts,
		egress:   p.Egress,
		tagKey:   p.Exemptions.TagKey,
		markerKw: p.Exemptions.Marker,
		capUntil: p.CapUntil,
		thr:      [2]u128{threshold(v4, p.Thresholds.IPv4PrefixLen), threshold(v6, p.Thresholds.IPv6PrefixLen)},
	}
	for name, s := range p.Services {
		for _, port := range s.Ports {
			if slices.Contains(p.InternetAllowedPorts, port) {
				continue // allowed to the internet: never a finding
			}
			for i, proto := range []string{"tcp", "udp"} {
				if s.HasProtocol(proto) {
					e.catalog[i] = append(e.catalog[i], catPort{port, name, s.Severity})
				}
			}
		}
	}
	for i := range e.catalog {
		slices.SortFunc(e.catalog[i], func(a, b catPort) int {
			return cmp.Or(cmp.Compare(a.port, b.port), cmp.Compare(a.service, b.service))
		})
	}
	e.allowed = slices.Clone(p.InternetAllowedPorts)
	slices.Sort(e.allowed)
	e.allowed = slices.Compact(e.allowed)
	return e, nil
}

// Evaluate is New(p) followed by Evaluate(in).
func Evaluate(p *policy.Policy, in Input) (Report, error) {
	e, err := New(p)
	if err != nil {
		return Report{}, err
	}
	return e.Evaluate(in), nil
}

// crule is a rule compiled for the sweep.
type crule struct {
	idx     int // in Input.Rules
	dir     rule.Direction
	protos  uint8 // bit tcpIdx, bit udpIdx
	plo     int   // port span
	phi     int
	drop    bool
	key     uint64 // evaluation order: priority, accept after drop, index
	unknown bool   // unresolved prefix list
	addrs   [2][]ival
	pub     [2]u128 // public addresses of addrs
	segs    []seg
}

// seg is one stretch of ports (of one protocol) a rule exposes.
type seg struct {
	proto        int
	lo, hi       int
	combined     bool
	unknown      bool
	narrowed     bool
	contributors []int // rule indexes, when combined
	unknownDrops []int // unresolved prefix-list drops above the rule
}

// hit is one rule reported in one elementary port interval.
type hit struct {
	r            *crule
	combined     bool
	unknown      bool
	narrowed     bool
	contributors []int
	unknownDrops []int
}

type cand struct {
	r            *crule
	e            [2]u128
	unknownDrops []int
}

// portSpan is the ports a rule covers for tcp/udp: AnyPort (and the zero
// value, "not given") mean all; ok is false for an empty range.
func portSpan(r *rule.Rule) (lo, hi int, ok bool) {
	if r.Ports.IsAny() || r.Ports == (rule.PortRange{}) {
		return 1, 65535, true
	}
	lo, hi = max(r.Ports.From, 1), min(r.Ports.To, 65535)
	return lo, hi, lo <= hi
}

// effPriority is the priority used for ordering: below 1 (not given) is 1;
// absurdly large values (valid ones are at most 100) are capped.
func effPriority(r *rule.Rule) int { return min(max(r.Priority, 1), 1<<30) }

// compile keeps the rules that can expose a tcp/udp port to a public
// address, in input order.
func (s *sweep) compile(in *Input) {
	e := s.e
	if cap(s.one) < len(in.Rules) {
		s.one = make([]ival, len(in.Rules))
	}
	one := s.one[:len(in.Rules)] // backing for single-CIDR peers
	out := s.rules[:0]
	for i := range in.Rules {
		r := &in.Rules[i]
		dir := r.Direction
		if dir == "" {
			dir = rule.Ingress
		}
		if dir == rule.Egress && !e.egress || dir != rule.Ingress && dir != rule.Egress {
			continue
		}
		var protos uint8
		switch r.Protocol {
		case rule.TCP:
			protos = 1 << tcpIdx
		case rule.UDP:
			protos = 1 << udpIdx
		case rule.All:
			protos = 1<<tcpIdx | 1<<udpIdx
		default: // icmp, icmpv6, gre: no ports to expose
			continue
		}
		lo, hi, ok := portSpan(r)
		if !ok {
			continue
		}
		c := crule{idx: i, dir: dir, protos: protos, plo: lo, phi: hi, drop: r.Policy == rule.Drop,
			key: uint64(effPriority(r))<<33 | uint64(b2i(r.Policy != rule.Drop))<<32 | uint64(i)}
		switch r.Peer.Kind {
		case rule.PeerCIDR4, rule.PeerCIDR6:
			if !r.Peer.Prefix.IsValid() {
				continue
			}
			f, v := prefixIval(r.Peer.Prefix)
			one[i] = v
			c.addrs[f] = one[i : i+1 : i+1]
		case rule.PeerPrefixList:
			entries, resolved := in.PrefixLists[r.Peer.ID]
			if !resolved {
				c.unknown = true
				break
			}
			for _, p := range entries {
				if p.IsValid() {
					f, v := prefixIval(p)
					c.addrs[f] = append(c.addrs[f], v)
				}
			}
			c.addrs[v4], c.addrs[v6] = normalize(c.addrs[v4]), normalize(c.addrs[v6])
		default: // security groups are never the internet
			continue
		}
		if !c.unknown {
			for f := range c.addrs {
				for _, v := range c.addrs[f] {
					c.pub[f] = c.pub[f].add(publicSize(public[f], v))
				}
			}
			if c.pub[v4].isZero() && c.pub[v6].isZero() {
				continue // private peers cannot expose anything to the internet
			}
		}
		out = append(out, c)
	}
	s.rules = out
	// Evaluation order: priority, then drop before accept, then input order.
	s.order = s.order[:0]
	for i := range out {
		s.order = append(s.order, &out[i])
	}
	slices.SortFunc(s.order, func(a, b *crule) int { return cmp.Compare(a.key, b.key) })
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sweep holds the scratch space of one evaluation; sweeps are pooled.
type sweep struct {
	e       *Evaluator
	rules   []crule  // the compiled rules, input order
	one     []ival   // backing of single-prefix peers
	order   []*crule // rules in evaluation order
	rs      []*crule
	bounds  []int
	diff    []diff
	match   []*crule
	prev    []*crule
	hits    []hit
	cov     [2][]ival
	cands   []cand
	hasPrev bool
}

// diff is the change, at one port boundary, of the public addresses (and
// unresolved prefix lists) of the accept rules covering the ports.
type diff struct {
	pubAdd, pubSub [2]u128
	unknown        int
}

var sweepPool = sync.Pool{New: func() any { return new(sweep) }}

// Evaluate judges in against the policy. It is pure: no I/O, no clock.
func (e *Evaluator) Evaluate(in Input) Report {
	s := sweepPool.Get().(*sweep)
	defer func() {
		clear(s.rules[:cap(s.rules)]) // drop references to segments
		clear(s.order[:cap(s.order)])
		s.e = nil
		sweepPool.Put(s)
	}()
	s.e = e
	s.compile(&in)
	for _, dir := range []rule.Direction{rule.Ingress, rule.Egress} {
		if dir == rule.Egress && !e.egress {
			continue
		}
		for proto := range 2 {
			s.run(s.order, dir, proto)
		}
	}
	return e.report(&in, s.rules)
}

// run sweeps the ports of one direction and protocol.
func (s *sweep) run(order []*crule, dir rule.Direction, proto int) {
	s.rs, s.bounds = s.rs[:0], s.bounds[:0]
	anyAccept := false
	thr := s.e.thr
	for _, r := range order {
		if r.dir != dir || r.protos&(1<<proto) == 0 {
			continue
		}
		// A big accept wholly covered by one earlier rule (a deny-all above
		// an allow-all) decides nothing: leave it out, so that it does not
		// make every port look worth a closer look.
		if !r.drop && !r.unknown && (thr[v4].less(r.pub[v4]) || thr[v6].less(r.pub[v6])) && shadowed(r, s.rs) {
			continue
		}
		s.rs = append(s.rs, r)
		s.bounds = append(s.bounds, r.plo, r.phi+1)
		anyAccept = anyAccept || !r.drop
	}
	if !anyAccept {
		return
	}
	s.bounds = append(s.bounds, 1, 65536)
	slices.Sort(s.bounds)
	s.bounds = slices.Compact(s.bounds)
	s.hasPrev = false

	// A difference array over the boundaries: what the accept rules add
	// where they start and remove after they end.
	s.diff = slices.Grow(s.diff[:0], len(s.bounds))[:len(s.bounds)]
	clear(s.diff)
	for _, r := range s.rs {
		if r.drop {
			continue
		}
		a, _ := slices.BinarySearch(s.bounds, r.plo)
		b, _ := slices.BinarySearch(s.bounds, r.phi+1)
		if r.unknown {
			s.diff[a].unknown++
			s.diff[b].unknown--
			continue
		}
		for f := range 2 {
			s.diff[a].pubAdd[f] = s.diff[a].pubAdd[f].add(r.pub[f])
			s.diff[b].pubSub[f] = s.diff[b].pubSub[f].add(r.pub[f])
		}
	}

	var sum [2]u128 // public addresses of the accept rules covering the interval
	unknown := 0    // unresolved prefix-list accepts covering it
	for k := 0; k+1 < len(s.bounds); k++ {
		lo, hi := s.bounds[k], s.bounds[k+1]-1
		d := &s.diff[k]
		unknown += d.unknown
		for f := range 2 {
			sum[f] = sum[f].add(d.pubAdd[f]).sub(d.pubSub[f])
		}
		// Even all accepts together cannot be internet-wide here.
		if unknown == 0 && !thr[v4].less(sum[v4]) && !thr[v6].less(sum[v6]) {
			continue
		}
		if !s.e.reportable(proto, lo, hi) {
			continue
		}
		s.interval(proto, lo, hi)
	}
}

// shadowed reports whether one rule of before (all ordered before r) covers
// all of r's ports and addresses.
func shadowed(r *crule, before []*crule) bool {
	for _, q := range before {
		if q.unknown || q.plo > r.plo || q.phi < r.phi {
			continue
		}
		if contains(q.addrs[v4], r.addrs[v4]) && contains(q.addrs[v6], r.addrs[v6]) {
			return true
		}
	}
	return false
}

// contains reports whether the normalized set a contains every interval of b.
func contains(a, b []ival) bool {
	for _, v := range b {
		i := search(a, v.lo)
		if i == len(a) || v.lo.less(a[i].lo) || a[i].hi.less(v.hi) {
			return false
		}
	}
	return true
}

// reportable reports whether any port of [lo, hi] could be a finding.
func (e *Evaluator) reportable(proto, lo, hi int) bool {
	cat := e.catalog[proto]
	i, _ := slices.BinarySearchFunc(cat, lo, func(c catPort, p int) int { return cmp.Compare(c.port, p) })
	if i < len(cat) && cat[i].port <= hi {
		return true
	}
	if e.other == policy.SeverityNone {
		return false
	}
	a, _ := slices.BinarySearch(e.allowed, lo)
	b, _ := slices.BinarySearch(e.allowed, hi+1)
	return b-a < hi-lo+1 // some port is not allowed
}

// interval judges one elementary port interval: every rule of s.rs covers
// all of [lo, hi] or none of it.
func (s *sweep) interval(proto, lo, hi int) {
	s.match = s.match[:0]
	for _, r := range s.rs {
		if r.plo <= lo && hi <= r.phi {
			s.match = append(s.match, r)
		}
	}
	if !s.hasPrev || !slices.Equal(s.match, s.prev) {
		s.judge()
		s.prev = append(s.prev[:0], s.match...)
		s.hasPrev = true
	}
	for _, h := range s.hits {
		h.r.segs = append(h.r.segs, seg{proto: proto, lo: lo, hi: hi, combined: h.combined, unknown: h.unknown,
			narrowed: h.narrowed, contributors: h.contributors, unknownDrops: h.unknownDrops})
	}
}

// judge computes s.hits for the rules in s.match (in evaluation order): the
// first rule that matches an address decides it, so each accept rule owns
// its addresses minus those of every rule before it.
func (s *sweep) judge() {
	thr := s.e.thr
	s.hits, s.cands = s.hits[:0], s.cands[:0]
	s.cov[v4], s.cov[v6] = s.cov[v4][:0], s.cov[v6][:0]
	var unknownDrops []int
	for _, r := range s.match {
		if r.unknown {
			if r.drop {
				// Might drop anything or nothing: it neutralises nothing,
				// but what it might cover becomes uncertain.
				unknownDrops = append(slices.Clip(unknownDrops), r.idx)
				continue
			}
			// Might hold any address: judge it as if it held all of them
			// (what earlier rules decide excepted), and do not let it
			// shadow later rules.
			if thr[v4].less(publicSizeMinus(public[v4], public[v4], s.cov[v4])) ||
				thr[v6].less(publicSizeMinus(public[v6], public[v6], s.cov[v6])) {
				s.hits = append(s.hits, hit{r: r, unknown: true, unknownDrops: unknownDrops})
			}
			continue
		}
		if !r.drop {
			var c cand
			c.r, c.unknownDrops = r, unknownDrops
			for f := range 2 {
				if !r.pub[f].isZero() {
					c.e[f] = publicSizeMinus(public[f], r.addrs[f], s.cov[f])
				}
			}
			s.cands = append(s.cands, c)
		}
		for f := range 2 {
			for _, v := range r.addrs[f] {
				s.cov[f] = insert(s.cov[f], v)
			}
		}
	}
	for f := range 2 {
		s.judgeFamily(f)
	}
}

// judgeFamily reports, for one address family, the accept rules that are
// internet-wide alone or, when none is, the smallest-pruned set of rules that
// are internet-wide together.
func (s *sweep) judgeFamily(f int) {
	thr := s.e.thr[f]
	var total u128
	alone := false
	for i := range s.cands {
		c := &s.cands[i]
		total = total.add(c.e[f])
		if thr.less(c.e[f]) {
			alone = true
			s.addHit(hit{r: c.r, narrowed: c.e[f] != c.r.pub[f], unknown: len(c.unknownDrops) > 0, unknownDrops: c.unknownDrops})
		}
	}
	if alone || !thr.less(total) {
		return
	}
	// Together: drop the smallest contributors (equal sizes together) while
	// the rest stays internet-wide; every rule left is reported.
	var contrib []*cand
	for i := range s.cands {
		if !s.cands[i].e[f].isZero() {
			contrib = append(contrib, &s.cands[i])
		}
	}
	slices.SortStableFunc(contrib, func(a, b *cand) int { return cmp128(a.e[f], b.e[f]) })
	for len(contrib) > 0 {
		j := 1
		group := contrib[0].e[f]
		for j < len(contrib) && contrib[j].e[f] == contrib[0].e[f] {
			group = group.add(contrib[j].e[f])
			j++
		}
		rest := total.sub(group)
		if !thr.less(rest) {
			break
		}
		total, contrib = rest, contrib[j:]
	}
	slices.SortFunc(contrib, func(a, b *cand) int { return cmp.Compare(a.r.idx, b.r.idx) })
	ids := make([]int, len(contrib))
	for i, c := range contrib {
		ids[i] = c.r.idx
	}
	for _, c := range contrib {
		s.addHit(hit{r: c.r, combined: true, contributors: ids, narrowed: c.e[f] != c.r.pub[f],
			unknown: len(c.unknownDrops) > 0, unknownDrops: c.unknownDrops})
	}
}

// addHit records h, merging with a hit of the same rule from the other family.
func (s *sweep) addHit(h hit) {
	for i := range s.hits {
		if o := &s.hits[i]; o.r == h.r {
			o.combined = o.combined || h.combined
			o.unknown = o.unknown || h.unknown
			o.narrowed = o.narrowed || h.narrowed
			if len(h.contributors) > 0 {
				o.contributors = mergeInts(o.contributors, h.contributors)
			}
			return
		}
	}
	s.hits = append(s.hits, h)
}

func mergeInts(a, b []int) []int {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// report turns the rules' segments into findings.
func (e *Evaluator) report(in *Input, rules []crule) Report {
	rep := Report{Findings: []Finding{}, Exempted: []Finding{}}
	tags := map[string]tagExemption{}
	for i := range rules {
		c := &rules[i]
		if len(c.segs) == 0 {
			continue
		}
		r := &in.Rules[c.idx]
		x := e.exposures(c.segs)
		if len(x.exposed) == 0 && len(x.other) == 0 {
			continue
		}
		notes, active := e.exemptionsFor(in, r, tags)
		for _, ex := range active {
			part := x.take(ex.Exemption)
			if len(part.exposed) == 0 && len(part.other) == 0 {
				continue
			}
			f := e.finding(in, r, c, part, nil)
			f.Exempt = &ex
			f.Reason += fmt.Sprintf("; exempt (%s) until %s, owner %s: %s", ex.Source, ex.UntilString(), ex.Owner, ex.Reason)
			rep.Exempted = append(rep.Exempted, f)
		}
		if len(x.exposed) > 0 || len(x.other) > 0 {
			rep.Findings = append(rep.Findings, e.finding(in, r, c, x, notes))
		}
	}
	return rep
}

// exposed is what a rule exposes, before and after exemptions take parts.
type exposed struct {
	exposed      []Exposure
	other        []PortSpan
	combined     bool
	unknown      bool
	narrowed     bool
	contributors []int
	unknownDrops []int
}

func (e *Evaluator) exposures(segs []seg) exposed {
	var x exposed
	var other [2][]PortSpan
	for _, sg := range segs {
		x.combined = x.combined || sg.combined
		x.unknown = x.unknown || sg.unknown
		x.narrowed = x.narrowed || sg.narrowed
		if len(sg.contributors) > 0 {
			x.contributors = mergeInts(x.contributors, sg.contributors)
		}
		if len(sg.unknownDrops) > 0 {
			x.unknownDrops = mergeInts(x.unknownDrops, sg.unknownDrops)
		}
		cat := e.catalog[sg.proto]
		i, _ := slices.BinarySearchFunc(cat, sg.lo, func(c catPort, p int) int { return cmp.Compare(c.port, p) })
		next := sg.lo // first port not yet classified
		for ; i < len(cat) && cat[i].port <= sg.hi; i++ {
			cp := cat[i]
			x.exposed = append(x.exposed, Exposure{Protocol: protoOf[sg.proto], Port: cp.port, Service: cp.service, Severity: cp.sev})
			if cp.port > next {
				other[sg.proto] = e.appendOther(other[sg.proto], sg.proto, next, cp.port-1)
			}
			next = max(next, cp.port+1)
		}
		if next <= sg.hi {
			other[sg.proto] = e.appendOther(other[sg.proto], sg.proto, next, sg.hi)
		}
	}
	if e.other != policy.SeverityNone {
		for p := range 2 {
			x.other = append(x.other, mergeSpans(other[p])...)
		}
	}
	slices.SortFunc(x.exposed, func(a, b Exposure) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Service, b.Service))
	})
	x.exposed = slices.Compact(x.exposed)
	return x
}

// appendOther appends [lo, hi] minus the allowed ports.
func (e *Evaluator) appendOther(dst []PortSpan, proto, lo, hi int) []PortSpan {
	i, _ := slices.BinarySearch(e.allowed, lo)
	for ; i < len(e.allowed) && e.allowed[i] <= hi; i++ {
		if a := e.allowed[i]; a > lo {
			dst = append(dst, PortSpan{protoOf[proto], lo, a - 1})
		}
		lo = e.allowed[i] + 1
	}
	if lo <= hi {
		dst = append(dst, PortSpan{protoOf[proto], lo, hi})
	}
	return dst
}

func mergeSpans(s []PortSpan) []PortSpan {
	slices.SortFunc(s, func(a, b PortSpan) int { return cmp.Compare(a.From, b.From) })
	var out []PortSpan
	for _, v := range s {
		if n := len(out); n > 0 && v.From <= out[n-1].To+1 {
			out[n-1].To = max(out[n-1].To, v.To)
			continue
		}
		out = append(out, v)
	}
	return out
}

// take removes from x the ports ex covers and returns them.
func (x *exposed) take(ex exemption.Exemption) exposed {
	part := *x
	part.exposed, part.other = nil, nil
	var keep []Exposure
	for _, p := range x.exposed {
		if ex.Covers(p.Port) {
			part.exposed = append(part.exposed, p)
		} else {
			keep = append(keep, p)
		}
	}
	x.exposed = keep
	if len(ex.Ports) == 0 {
		part.other, x.other = x.other, nil
		return part
	}
	var rest []PortSpan
	for _, sp := range x.other {
		lo := sp.From
		for _, p := range ex.Ports {
			if p < lo || p > sp.To {
				continue
			}
			if p > lo {
				rest = append(rest, PortSpan{sp.Protocol, lo, p - 1})
			}
			part.other = append(part.other, PortSpan{sp.Protocol, p, p})
			lo = p + 1
		}
		if lo <= sp.To {
			rest = append(rest, PortSpan{sp.Protocol, lo, sp.To})
		}
	}
	x.other = rest
	return part
}

type tagExemption struct {
	ex      exemption.Exemption
	err     error
	present bool
}

// exemptionsFor returns the active exemptions of r (description marker,
// ledger, group tag, in that order) and notes on those that do not apply.
func (e *Evaluator) exemptionsFor(in *Input, r *rule.Rule, tags map[string]tagExemption) (notes []string, active []Exempt) {
	consider := func(where, source string, ex exemption.Exemption, err error) {
		asked := ex.Until
		if err == nil {
			if end, ok := in.ExemptionCaps[ExemptionKey{GroupID: r.GroupID, RuleID: r.ID, Source: source, Until: asked}]; ok {
				if ex.End().After((exemption.Exemption{Until: end}).End()) {
					ex.Until = end
				}
			} else if end, cut := e.capUntil(in.Now, asked); cut {
				ex.Until = end
			}
		}
		switch {
		case err != nil:
			notes = append(notes, fmt.Sprintf("exemption in %s ignored: %v", where, err))
		case !ex.Active(in.Now) && ex.Until.Before(asked):
			notes = append(notes, fmt.Sprintf("exemption in %s (until %s) ended %s at the policy's maximum length (owner %s)",
				where, asked.UTC().Format("2006-01-02"), ex.UntilString(), ex.Owner))
		case !ex.Active(in.Now):
			notes = append(notes, fmt.Sprintf("exemption in %s expired %s (owner %s)", where, ex.UntilString(), ex.Owner))
		default:
			active = append(active, Exempt{Source: source, Exemption: ex, Asked: asked})
		}
	}
	if ex, found, err := exemption.Find(e.markerKw, r.Description); found {
		consider("rule description", "description", ex, err)
	}
	if ex, ok := in.Exemptions[RuleRef{r.GroupID, r.ID}]; ok && r.ID != "" {
		consider("ledger", "ledger", ex, ex.Validate())
	}
	t, ok := tags[r.GroupID]
	if !ok {
		if v, present := in.Tags[r.GroupID][e.tagKey]; present {
			t.ex, t.err = exemption.ParseTagValue(v)
			t.present = true
		}
		tags[r.GroupID] = t
	}
	if t.present {
		consider("tag "+e.tagKey+" of "+r.GroupID, "tag", t.ex, t.err)
	}
	return notes, active
}

// finding builds the Finding for the exposed parts x of rule r.
func (e *Evaluator) finding(in *Input, r *rule.Rule, c *crule, x exposed, notes []string) Finding {
	f := Finding{
		GroupID:    r.GroupID,
		RuleID:     r.ID,
		Direction:  c.dir,
		Protocol:   r.Protocol,
		PortRange:  r.Ports.String(),
		Source:     r.Peer.String(),
		Priority:   effPriority(r),
		Ports:      []int{},
		Services:   []string{},
		Exposed:    x.exposed,
		OtherPorts: x.other,
		Unknown:    x.unknown,
		Combined:   x.combined,
		Rule:       *r,
	}
	if f.Exposed == nil {
		f.Exposed = []Exposure{}
	}
	best := 0
	for _, p := range x.exposed {
		if n := len(f.Ports); n == 0 || f.Ports[n-1] != p.Port {
			f.Ports = append(f.Ports, p.Port)
		}
		if !slices.Contains(f.Services, p.Service) {
			f.Services = append(f.Services, p.Service)
		}
		if p.Severity.Rank() > best {
			best, f.Severity = p.Severity.Rank(), p.Severity
		}
	}
	if len(x.other) > 0 && e.other.Rank() > best {
		f.Severity = e.other
	}
	if x.combined {
		for _, idx := range x.contributors {
			f.Contributors = append(f.Contributors, ruleName(in, idx))
		}
	}
	f.Reason = e.reason(in, r, c, x, notes)
	return f
}

func ruleName(in *Input, idx int) string {
	if id := in.Rules[idx].ID; id != "" {
		return id
	}
	return fmt.Sprintf("rules[%d]", idx)
}

func (e *Evaluator) reason(in *Input, r *rule.Rule, c *crule, x exposed, notes []string) string {
	var b strings.Builder
	// "tcp 22 (ssh), 3389 (rdp); udp 11211 (memcached)"
	for p := range 2 {
		first := true
		for _, ex := range x.exposed {
			if ex.Protocol != protoOf[p] {
				continue
			}
			if first {
				if b.Len() > 0 {
					b.WriteString("; ")
				}
				b.WriteString(string(ex.Protocol) + " ")
				first = false
			} else {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d (%s)", ex.Port, ex.Service)
		}
	}
	if len(x.other) > 0 {
		if b.Len() > 0 {
			b.WriteString(" and other ports ")
		} else {
			b.WriteString("ports ")
		}
		b.WriteString(spansText(x.other))
	}
	where := "from"
	if c.dir == rule.Egress {
		where = "(egress) to"
	}
	fmt.Fprintf(&b, " open to the internet %s %s", where, r.Peer.String())
	if c.unknown {
		fmt.Fprintf(&b, "; prefix list %s is unresolved, so this assumes it may hold any address", r.Peer.ID)
	}
	if x.combined {
		var others []string
		for _, idx := range x.contributors {
			if idx != c.idx {
				others = append(others, ruleName(in, idx))
			}
		}
		fmt.Fprintf(&b, "; no single rule is internet-wide, but this one is together with %s", strings.Join(others, ", "))
	}
	if x.narrowed {
		b.WriteString("; higher-priority rules cover part of its peer, the rest stays open")
	}
	if len(x.unknownDrops) > 0 {
		var ids []string
		for _, idx := range x.unknownDrops {
			ids = append(ids, ruleName(in, idx)+" ("+in.Rules[idx].Peer.ID+")")
		}
		fmt.Fprintf(&b, "; a higher-priority drop on an unresolved prefix list may cover it: %s", strings.Join(ids, ", "))
	}
	for _, n := range notes {
		b.WriteString("; " + n)
	}
	return b.String()
}

// spansText renders spans as "tcp 1-21, 23-79; udp 1-79", at most 8 spans.
func spansText(spans []PortSpan) string {
	var b strings.Builder
	var last rule.Protocol
	for i, sp := range spans {
		if i == 8 {
			fmt.Fprintf(&b, " and %d more", len(spans)-i)
			break
		}
		if sp.Protocol != last {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(string(sp.Protocol) + " ")
			last = sp.Protocol
		} else {
			b.WriteString(", ")
		}
		b.WriteString(sp.String())
	}
	return b.String()
}

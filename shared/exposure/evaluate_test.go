package exposure

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// mk builds a rule of group sg-1: "tcp 22/22 0.0.0.0/0 accept 1".
func mk(id, spec string) rule.Rule {
	f := strings.Fields(spec)
	proto, err := rule.ParseProtocol(f[0])
	if err != nil {
		panic(err)
	}
	ports, err := rule.ParsePortRange(f[1])
	if err != nil {
		panic(err)
	}
	peer, err := rule.ParsePeer(f[2])
	if err != nil {
		panic(err)
	}
	pol, err := rule.ParsePolicy(f[3])
	if err != nil {
		panic(err)
	}
	prio, err := rule.ParsePriority(f[4])
	if err != nil {
		panic(err)
	}
	return rule.Rule{GroupID: "sg-1", ID: id, Direction: rule.Ingress, Protocol: proto, Ports: ports,
		Peer: peer, Policy: pol, Priority: prio, NicType: "intranet"}
}

func egress(r rule.Rule) rule.Rule { r.Direction = rule.Egress; return r }

func inGroup(g string, r rule.Rule) rule.Rule { r.GroupID = g; return r }

func described(d string, r rule.Rule) rule.Rule { r.Description = d; return r }

// want is the part of a finding a case checks.
type want struct {
	rule         string
	ports        []int
	services     []string
	severity     policy.Severity
	other        []PortSpan
	unknown      bool
	combined     bool
	contributors []string
	reason       string // substring
	exempt       string // Exempt.Source, Exempted only
}

func TestEvaluate(t *testing.T) {
	withPolicy := func(mod func(*policy.Policy)) *policy.Policy {
		p := policy.Default()
		mod(p)
		return p
	}
	noOther := withPolicy(func(p *policy.Policy) { p.OtherPorts = policy.SeverityNone })
	ssh := want{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical}
	tests := []struct {
		name         string
		policy       *policy.Policy // nil: default
		rules        []rule.Rule
		tags         map[string]map[string]string
		prefixLists  PrefixLists
		exemptions   map[RuleRef]exemption.Exemption
		caps         map[ExemptionKey]time.Time
		wantFindings []want
		wantExempted []want
	}{
		{
			// The basic case: SSH open to the whole IPv4 internet.
			name:         "SSHOpenToTheWorld",
			rules:        []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 1")},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, reason: "tcp 22 (ssh) open to the internet from 0.0.0.0/0"}},
		},
		{
			// Responses say "Accept"/"TCP"; a case-sensitive compare made
			// Prowler's checks falsely pass (prowler#12048).
			name: "CapitalisedResponseValues",
			rules: func() []rule.Rule {
				r, err := rule.Permission{Direction: "ingress", IpProtocol: "TCP", PortRange: "3389/3389",
					SourceCidrIp: "0.0.0.0/0", Policy: "Accept", Priority: "1"}.Rule("sg-1", "cn-hangzhou")
				if err != nil {
					panic(err)
				}
				r.ID = "a"
				return []rule.Rule{r}
			}(),
			wantFindings: []want{{rule: "a", ports: []int{3389}, services: []string{"rdp"}, severity: policy.SeverityCritical}},
		},
		{
			// Lower number wins: a priority-1 drop shadows a priority-2 accept.
			name:  "HigherPriorityDropNeutralises",
			rules: []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 2"), mk("d", "tcp 22/22 0.0.0.0/0 drop 1")},
		},
		{
			// A drop with a larger priority number comes after the accept and
			// changes nothing.
			name:         "LowerPriorityDropDoesNothing",
			rules:        []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 1"), mk("d", "tcp 22/22 0.0.0.0/0 drop 2")},
			wantFindings: []want{ssh},
		},
		{
			// At equal priority drop beats accept, whatever the list order
			// (prowler#12050).
			name:  "EqualPriorityDropBeatsAccept",
			rules: []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 7"), mk("d", "tcp 22/22 0.0.0.0/0 drop 7")},
		},
		{
			// A drop covering part of the port range neutralises only those
			// ports: 21 and 23 stay exposed, 22 does not.
			name:  "PartialDropOfPortRange",
			rules: []rule.Rule{mk("a", "tcp 20/25 0.0.0.0/0 accept 2"), mk("d", "tcp 22/22 0.0.0.0/0 drop 1")},
			wantFindings: []want{{rule: "a", ports: []int{21, 23}, services: []string{"ftp", "telnet"}, severity: policy.SeverityCritical,
				other: []PortSpan{{rule.TCP, 20, 20}, {rule.TCP, 24, 25}}}},
		},
		{
			// A drop covering half of the internet leaves the other half,
			// still internet-wide; the finding says it is narrowed.
			name:  "PartialDropOfCIDR",
			rules: []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 2"), mk("d", "tcp 22/22 0.0.0.0/1 drop 1")},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical,
				reason: "higher-priority rules cover part of its peer"}},
		},
		{
			// Drops that together cover the whole public space neutralise it.
			name: "DropsCoverEverything",
			rules: []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 2"),
				mk("d1", "tcp 22/22 0.0.0.0/1 drop 1"), mk("d2", "tcp 1/65535 128.0.0.0/1 drop 1")},
		},
		{
			// A higher-priority accept also takes addresses away from a later
			// accept: only the first rule is blamed for them.
			name:         "EarlierAcceptOwnsTheAddresses",
			rules:        []rule.Rule{mk("b", "tcp 22/22 0.0.0.0/0 accept 5"), mk("a", "tcp 22/22 0.0.0.0/0 accept 1")},
			wantFindings: []want{ssh},
		},
		{
			// ALL with -1/-1 opens every tcp and udp port: every sensitive
			// service, memcached over udp too; the rest are other ports, but
			// never 80 and 443.
			name: "AllProtocolExposesEveryPort",
			policy: withPolicy(func(p *policy.Policy) {
				p.Services = map[string]policy.Service{"ssh": p.Services["ssh"], "memcached": p.Services["memcached"]}
			}),
			rules: []rule.Rule{mk("a", "all -1/-1 0.0.0.0/0 accept 1")},
			wantFindings: []want{{rule: "a", ports: []int{22, 11211}, services: []string{"ssh", "memcached"}, severity: policy.SeverityCritical,
				other: []PortSpan{
					{rule.TCP, 1, 21}, {rule.TCP, 23, 79}, {rule.TCP, 81, 442}, {rule.TCP, 444, 11210}, {rule.TCP, 11212, 65535},
					{rule.UDP, 1, 79}, {rule.UDP, 81, 442}, {rule.UDP, 444, 11210}, {rule.UDP, 11212, 65535},
				}}},
		},
		{
			// ICMP carries no ports: nothing to expose.
			name:  "ICMPExposesNoPort",
			rules: []rule.Rule{mk("a", "icmp -1/-1 0.0.0.0/0 accept 1"), mk("b", "icmpv6 -1/-1 ::/0 accept 1")},
		},
		{
			// GRE carries no ports: it must never be reported as SSH
			// (prowler#964).
			name:  "GREIsNotSSH",
			rules: []rule.Rule{mk("a", "gre -1/-1 0.0.0.0/0 accept 1")},
		},
		{
			// ssh is tcp only: udp 22 is not ssh, only another open port.
			name:         "UDPDoesNotExposeTCPService",
			rules:        []rule.Rule{mk("a", "udp 22/22 0.0.0.0/0 accept 1")},
			wantFindings: []want{{rule: "a", ports: []int{}, services: []string{}, severity: policy.SeverityLow, other: []PortSpan{{rule.UDP, 22, 22}}}},
		},
		{
			// ...and with other ports ignored, no finding at all.
			name:   "UDPDoesNotExposeTCPServiceQuiet",
			policy: noOther,
			rules:  []rule.Rule{mk("a", "udp 22/22 0.0.0.0/0 accept 1")},
		},
		{
			// memcached runs over udp too (amplification).
			name:         "UDPExposesUDPService",
			rules:        []rule.Rule{mk("a", "udp 11211/11211 0.0.0.0/0 accept 1")},
			wantFindings: []want{{rule: "a", ports: []int{11211}, services: []string{"memcached"}, severity: policy.SeverityHigh}},
		},
		{
			// IPv6 counts: ::/0 survived other tools' remediation (c7n#2313).
			name:         "IPv6World",
			rules:        []rule.Rule{mk("a", "tcp 22/22 ::/0 accept 1")},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, reason: "from ::/0"}},
		},
		{
			// A public /8 is internet-wide at the default threshold (N = 8).
			name:         "PublicSlash8IsWide",
			rules:        []rule.Rule{mk("a", "tcp 22/22 11.0.0.0/8 accept 1")},
			wantFindings: []want{ssh},
		},
		{
			// A /8 with a private hole (172.16/12) is still mostly public.
			name:         "MostlyPublicSlash8IsWide",
			rules:        []rule.Rule{mk("a", "tcp 22/22 172.0.0.0/8 accept 1")},
			wantFindings: []want{ssh},
		},
		{
			// A lone /9 is exactly half a /8: not more, so not internet-wide.
			name:  "PublicSlash9IsNotWide",
			rules: []rule.Rule{mk("a", "tcp 22/22 11.0.0.0/9 accept 1")},
		},
		{
			// One address is not the internet.
			name:  "SingleAddressIsNotWide",
			rules: []rule.Rule{mk("a", "tcp 22/22 8.8.8.8/32 accept 1")},
		},
		{
			// IPv6 threshold /16: a public /16 counts, a /17 does not.
			name:         "IPv6Threshold",
			rules:        []rule.Rule{mk("a", "tcp 22/22 2400::/16 accept 1"), mk("b", "tcp 3389/3389 2400::/17 accept 1")},
			wantFindings: []want{ssh},
		},
		{
			// The threshold is the policy's: N = 32 makes any public address wide.
			name:         "ThresholdFromPolicy",
			policy:       withPolicy(func(p *policy.Policy) { p.Thresholds.IPv4PrefixLen = 32 }),
			rules:        []rule.Rule{mk("a", "tcp 22/22 8.8.8.8/32 accept 1")},
			wantFindings: []want{ssh},
		},
		{
			// Two halves make the whole: neither is internet-wide at N = 0,
			// together they are, and both are reported.
			name:   "TwoHalvesTogether",
			policy: withPolicy(func(p *policy.Policy) { p.Thresholds.IPv4PrefixLen = 0 }),
			rules:  []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/1 accept 1"), mk("b", "tcp 22/22 128.0.0.0/1 accept 1")},
			wantFindings: []want{
				{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, combined: true, contributors: []string{"a", "b"}, reason: "together with b"},
				{rule: "b", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, combined: true, contributors: []string{"a", "b"}, reason: "together with a"},
			},
		},
		{
			// At the default threshold each half is wide on its own: both
			// reported, not as a combination.
			name:  "TwoHalvesEachWide",
			rules: []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/1 accept 1"), mk("b", "tcp 22/22 128.0.0.0/1 accept 1")},
			wantFindings: []want{
				{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical},
				{rule: "b", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical},
			},
		},
		{
			// Three /9s: none is wide, together they are; equal sizes are kept
			// together, so all three are reported.
			name: "NarrowRulesAddUp",
			rules: []rule.Rule{mk("a", "tcp 22/22 11.0.0.0/9 accept 1"), mk("b", "tcp 22/22 12.0.0.0/9 accept 1"),
				mk("c", "tcp 22/22 13.0.0.0/9 accept 1")},
			wantFindings: []want{
				{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, combined: true, contributors: []string{"a", "b", "c"}},
				{rule: "b", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, combined: true, contributors: []string{"a", "b", "c"}},
				{rule: "c", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, combined: true, contributors: []string{"a", "b", "c"}},
			},
		},
		{
			// A bastion's /32 beside a combination is not needed for it and
			// is not blamed.
			name: "BastionNotBlamedInCombination",
			rules: []rule.Rule{mk("a", "tcp 22/22 11.0.0.0/9 accept 1"), mk("b", "tcp 22/22 12.0.0.0/9 accept 1"),
				mk("bastion", "tcp 22/22 8.8.8.8/32 accept 1")},
			wantFindings: []want{
				{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, combined: true, contributors: []string{"a", "b"}},
				{rule: "b", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, combined: true, contributors: []string{"a", "b"}},
			},
		},
		{
			// Private, shared, loopback and link-local ranges are not the
			// internet, however short the prefix.
			name: "PrivateRangesAreNotInternet",
			rules: []rule.Rule{mk("a", "tcp 22/22 10.0.0.0/8 accept 1"), mk("b", "tcp 22/22 172.16.0.0/12 accept 1"),
				mk("c", "tcp 22/22 192.168.0.0/16 accept 1"), mk("d", "tcp 22/22 100.64.0.0/10 accept 1"),
				mk("e", "tcp 22/22 127.0.0.0/8 accept 1"), mk("f", "tcp 22/22 169.254.0.0/16 accept 1"),
				mk("g", "tcp 22/22 224.0.0.0/3 accept 1")},
		},
		{
			// The same for IPv6: unique-local, link-local, loopback, documentation.
			name: "PrivateIPv6IsNotInternet",
			rules: []rule.Rule{mk("a", "tcp 22/22 fc00::/7 accept 1"), mk("b", "tcp 22/22 fe80::/10 accept 1"),
				mk("c", "tcp 22/22 ::1/128 accept 1"), mk("d", "tcp 22/22 2001:db8::/32 accept 1")},
		},
		{
			// A security-group peer is never the internet.
			name:  "SecurityGroupPeerIsNotInternet",
			rules: []rule.Rule{mk("a", "all -1/-1 sg-other accept 1")},
		},
		{
			// A prefix list is judged by its entries: one of them is 0.0.0.0/0.
			name:         "PrefixListResolvedWide",
			rules:        []rule.Rule{mk("a", "tcp 22/22 pl-office accept 1")},
			prefixLists:  PrefixLists{"pl-office": {netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("0.0.0.0/0")}},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, reason: "from pl-office"}},
		},
		{
			// A prefix list of office addresses is not the internet.
			name:        "PrefixListResolvedNarrow",
			rules:       []rule.Rule{mk("a", "tcp 22/22 pl-office accept 1")},
			prefixLists: PrefixLists{"pl-office": {netip.MustParsePrefix("8.8.8.0/24"), netip.MustParsePrefix("2400:cb00::/32")}},
		},
		{
			// An unresolved prefix list is never silently safe: "unknown".
			name:         "PrefixListUnresolved",
			rules:        []rule.Rule{mk("a", "tcp 22/22 pl-missing accept 1")},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, unknown: true, reason: "pl-missing is unresolved"}},
		},
		{
			// An unresolved drop may or may not cover the accept below it: the
			// finding stays, marked unknown.
			name:  "UnresolvedDropMakesUnknown",
			rules: []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 2"), mk("d", "tcp 22/22 pl-missing drop 1")},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, unknown: true,
				reason: "unresolved prefix list may cover it: d (pl-missing)"}},
		},
		{
			// An unresolved accept does not hide the rules after it.
			name:  "UnresolvedAcceptDoesNotShadow",
			rules: []rule.Rule{mk("p", "tcp 22/22 pl-missing accept 1"), mk("a", "tcp 22/22 0.0.0.0/0 accept 2")},
			wantFindings: []want{
				{rule: "p", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, unknown: true},
				ssh,
			},
		},
		{
			// A resolved drop above an unresolved accept still counts.
			name:  "UnresolvedAcceptBelowWorldDrop",
			rules: []rule.Rule{mk("p", "tcp 22/22 pl-missing accept 2"), mk("d", "tcp 22/22 0.0.0.0/0 drop 1"), mk("d6", "tcp 22/22 ::/0 drop 1")},
		},
		{
			// Egress is judged only when the policy asks.
			name:  "EgressIgnoredByDefault",
			rules: []rule.Rule{egress(mk("a", "tcp 22/22 0.0.0.0/0 accept 1"))},
		},
		{
			name:         "EgressJudgedWhenAsked",
			policy:       withPolicy(func(p *policy.Policy) { p.Egress = true }),
			rules:        []rule.Rule{egress(mk("a", "tcp 22/22 0.0.0.0/0 accept 1"))},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, reason: "(egress) to 0.0.0.0/0"}},
		},
		{
			// 80 and 443 may be open to the internet: never a finding.
			name:  "AllowedPortsAreNeverFindings",
			rules: []rule.Rule{mk("a", "tcp 80/80 0.0.0.0/0 accept 1"), mk("b", "tcp 443/443 ::/0 accept 1"), mk("c", "udp 443/443 0.0.0.0/0 accept 1")},
		},
		{
			// An allowed port stays allowed even when a service lists it.
			name: "AllowedPortBeatsCatalog",
			policy: withPolicy(func(p *policy.Policy) {
				p.Services["http"] = policy.Service{Ports: []int{80}, Protocols: []string{"tcp"}, Severity: policy.SeverityHigh}
			}),
			rules: []rule.Rule{mk("a", "tcp 80/80 0.0.0.0/0 accept 1")},
		},
		{
			// Any other port open to the internet is reported at the policy's
			// otherPorts severity.
			name:         "OtherPortIsLow",
			rules:        []rule.Rule{mk("a", "tcp 8080/8081 0.0.0.0/0 accept 1")},
			wantFindings: []want{{rule: "a", ports: []int{}, services: []string{}, severity: policy.SeverityLow, other: []PortSpan{{rule.TCP, 8080, 8081}}, reason: "ports tcp 8080-8081 open"}},
		},
		{
			name:   "OtherPortsOff",
			policy: noOther,
			rules:  []rule.Rule{mk("a", "tcp 8080/8081 0.0.0.0/0 accept 1")},
		},
		{
			// A valid tag exemption moves the finding to Exempted.
			name:         "TagExemption",
			rules:        []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 1")},
			tags:         map[string]map[string]string{"sg-1": {"porthygiene-exempt": "owner=alice;reason=bastion host;until=2026-05-15"}},
			wantExempted: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, exempt: "tag", reason: "exempt (tag) until 2026-05-15, owner alice: bastion host"}},
		},
		{
			// An exemption longer than the policy's maximum (90 days) is cut
			// to it: 9999-12-31 written by anyone keeps a port open 90 days
			// from now at most, never forever.
			name:         "ExemptionCutToTheMaximum",
			rules:        []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 1")},
			tags:         map[string]map[string]string{"sg-1": {"porthygiene-exempt": "owner=mallory;reason=mine;until=9999-12-31"}},
			wantExempted: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, exempt: "tag", reason: "exempt (tag) until 2026-05-30T12:00:00Z, owner mallory"}},
		},
		{
			// The end recorded when the exemption was first seen holds: the
			// 9999 exemption, first seen 90 days ago, has ended, and the
			// finding says it ended at the maximum.
			name:         "ExemptionEndedAtItsRecordedCap",
			rules:        []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 1")},
			tags:         map[string]map[string]string{"sg-1": {"porthygiene-exempt": "owner=mallory;reason=mine;until=9999-12-31"}},
			caps:         map[ExemptionKey]time.Time{{GroupID: "sg-1", RuleID: "a", Source: "tag", Until: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}: now.Add(-time.Hour)},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, reason: "(until 9999-12-31) ended 2026-03-01T11:00:00Z at the policy's maximum length (owner mallory)"}},
		},
		{
			// An expired exemption no longer applies.
			name:         "TagExemptionExpired",
			rules:        []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 1")},
			tags:         map[string]map[string]string{"sg-1": {"porthygiene-exempt": "owner=alice;reason=bastion host;until=2026-02-28"}},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, reason: "expired 2026-02-28 (owner alice)"}},
		},
		{
			// A malformed exemption is no exemption, and the finding says why.
			name:         "TagExemptionMalformed",
			rules:        []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 1")},
			tags:         map[string]map[string]string{"sg-1": {"porthygiene-exempt": "alice says ok"}},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, reason: "exemption in tag porthygiene-exempt of sg-1 ignored: malformed exemption"}},
		},
		{
			// A tag on another group does not exempt this one.
			name:         "TagOfOtherGroup",
			rules:        []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 1")},
			tags:         map[string]map[string]string{"sg-2": {"porthygiene-exempt": "owner=alice;reason=bastion host;until=2026-12-31"}},
			wantFindings: []want{ssh},
		},
		{
			// The rule's own description marker exempts it.
			name:         "DescriptionMarkerExemption",
			rules:        []rule.Rule{described(`bastion [porthygiene-exempt owner=bob until=2026-06-30 reason="jump host"]`, mk("a", "tcp 22/22 0.0.0.0/0 accept 1"))},
			wantExempted: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, exempt: "description"}},
		},
		{
			// A malformed marker in the description is reported as such.
			name:         "DescriptionMarkerMalformed",
			rules:        []rule.Rule{described(`[porthygiene-exempt owner=bob]`, mk("a", "tcp 22/22 0.0.0.0/0 accept 1"))},
			wantFindings: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, reason: "exemption in rule description ignored: malformed exemption: missing reason"}},
		},
		{
			// An exemption naming ports covers only those: 22 is exempt, 21
			// and 23 are not.
			name:         "ExemptionForSomePorts",
			rules:        []rule.Rule{mk("a", "tcp 21/23 0.0.0.0/0 accept 1")},
			tags:         map[string]map[string]string{"sg-1": {"porthygiene-exempt": "owner=alice;reason=bastion;until=2026-12-31;ports=22"}},
			wantFindings: []want{{rule: "a", ports: []int{21, 23}, services: []string{"ftp", "telnet"}, severity: policy.SeverityCritical}},
			wantExempted: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, exempt: "tag"}},
		},
		{
			// Exemptions recorded in the ledger count, by group and rule id.
			name:         "LedgerExemption",
			rules:        []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 1")},
			exemptions:   map[RuleRef]exemption.Exemption{{"sg-1", "a"}: {Owner: "carol", Reason: "migration", Until: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)}},
			wantExempted: []want{{rule: "a", ports: []int{22}, services: []string{"ssh"}, severity: policy.SeverityCritical, exempt: "ledger"}},
		},
		{
			// Several groups on one ENI are merged: sg-2's drop shadows sg-1's
			// accept.
			name:  "ENIGroupsMerged",
			rules: []rule.Rule{mk("a", "tcp 22/22 0.0.0.0/0 accept 50"), inGroup("sg-2", mk("d", "tcp 1/1024 0.0.0.0/0 drop 1"))},
		},
		{
			// ...and a finding names the group its rule belongs to.
			name:         "ENIFindingNamesGroup",
			rules:        []rule.Rule{inGroup("sg-2", mk("a", "tcp 22/22 0.0.0.0/0 accept 50")), mk("x", "tcp 80/80 10.0.0.0/8 accept 1")},
			wantFindings: []want{ssh},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Evaluate(tt.policy, Input{Rules: tt.rules, Tags: tt.tags, PrefixLists: tt.prefixLists, Exemptions: tt.exemptions, ExemptionCaps: tt.caps, Now: now})
			require.NoError(t, err)
			checkFindings(t, "findings", tt.wantFindings, rep.Findings)
			checkFindings(t, "exempted", tt.wantExempted, rep.Exempted)
		})
	}
}

func checkFindings(t *testing.T, what string, want []want, got []Finding) {
	t.Helper()
	require.Len(t, got, len(want), "%s: %+v", what, got)
	for i, w := range want {
		g := got[i]
		require.Equal(t, w.rule, g.RuleID, "%s[%d] rule", what, i)
		require.Equal(t, w.ports, g.Ports, "%s[%d] ports", what, i)
		require.Equal(t, w.services, g.Services, "%s[%d] services", what, i)
		require.Equal(t, w.severity, g.Severity, "%s[%d] severity", what, i)
		if w.other != nil {
			require.Equal(t, w.other, g.OtherPorts, "%s[%d] other ports", what, i)
		}
		require.Equal(t, w.unknown, g.Unknown, "%s[%d] unknown; reason %q", what, i, g.Reason)
		require.Equal(t, w.combined, g.Combined, "%s[%d] combined", what, i)
		require.Equal(t, w.contributors, g.Contributors, "%s[%d] contributors", what, i)
		require.Contains(t, g.Reason, w.reason, "%s[%d] reason", what, i)
		if w.exempt != "" {
			require.NotNil(t, g.Exempt, "%s[%d]", what, i)
			require.Equal(t, w.exempt, g.Exempt.Source, "%s[%d] exemption source", what, i)
		} else {
			require.Nil(t, g.Exempt, "%s[%d]", what, i)
		}
		require.Equal(t, g.Rule.ID, g.RuleID)
		require.Equal(t, g.Rule.GroupID, g.GroupID)
	}
}

func TestEvaluateFindingFields(t *testing.T) {
	r := inGroup("sg-9", mk("sgr-1", "all -1/-1 0.0.0.0/0 accept 3"))
	rep, err := Evaluate(nil, Input{Rules: []rule.Rule{r}, Now: now})
	require.NoError(t, err)
	require.Len(t, rep.Findings, 1)
	f := rep.Findings[0]
	require.Equal(t, "sg-9", f.GroupID)
	require.Equal(t, rule.Ingress, f.Direction)
	require.Equal(t, rule.All, f.Protocol)
	require.Equal(t, "-1/-1", f.PortRange)
	require.Equal(t, "0.0.0.0/0", f.Source)
	require.Equal(t, 3, f.Priority)
	require.Equal(t, r, f.Rule)
	require.IsIncreasing(t, f.Ports)
	require.Contains(t, f.Exposed, Exposure{Protocol: rule.UDP, Port: 11211, Service: "memcached", Severity: policy.SeverityHigh})
	require.Contains(t, f.Exposed, Exposure{Protocol: rule.TCP, Port: 11211, Service: "memcached", Severity: policy.SeverityHigh})
	require.Equal(t, policy.SeverityCritical, f.Severity)
}

func TestNewRejectsInvalidPolicy(t *testing.T) {
	p := policy.Default()
	p.MaxChangesPerRun = 0
	_, err := New(p)
	require.ErrorContains(t, err, "invalid policy: ")
	require.ErrorContains(t, err, "maxChangesPerRun: 0: want at least 1")
}

func TestIsPublic(t *testing.T) {
	for s, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "172.15.255.255": true, "172.32.0.0": true, "100.63.255.255": true,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "100.64.0.1": false, "127.0.0.1": false,
		"169.254.169.254": false, "0.1.2.3": false, "224.0.0.1": false, "255.255.255.255": false, "203.0.113.5": false,
		"2400:cb00::1": true, "2001:4860::8888": true, "fc00::1": false, "fd12::1": false, "fe80::1": false, "::1": false,
		"2001:db8::1": false, "ff02::1": false, "::ffff:8.8.8.8": true, "::ffff:10.0.0.1": false,
	} {
		require.Equal(t, want, IsPublic(netip.MustParseAddr(s)), s)
	}
}

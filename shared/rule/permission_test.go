package rule

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPermissionRule(t *testing.T) {
	base := func(mod func(*Permission)) Permission {
		p := Permission{
			SecurityGroupRuleId: "sgr-1",
			Direction:           "ingress",
			IpProtocol:          "TCP",
			PortRange:           "22/22",
			SourceCidrIp:        "0.0.0.0/0",
			Policy:              "Accept",
			Priority:            "1",
			NicType:             "intranet",
		}
		if mod != nil {
			mod(&p)
		}
		return p
	}
	want := func(mod func(*Rule)) Rule {
		r := Rule{
			GroupID:   "sg-1",
			Region:    "cn-hangzhou",
			ID:        "sgr-1",
			Direction: Ingress,
			Protocol:  TCP,
			Ports:     PortRange{22, 22},
			Peer:      Peer{Kind: PeerCIDR4, Prefix: netip.MustParsePrefix("0.0.0.0/0")},
			Policy:    Accept,
			Priority:  1,
			NicType:   "intranet",
		}
		if mod != nil {
			mod(&r)
		}
		return r
	}
	tests := []struct {
		name    string
		in      Permission
		want    Rule
		wantErr string
	}{
		// The response form: capitalised values.
		{name: "ResponseForm", in: base(nil), want: want(nil)},
		// Requests and old docs use lowercase; mixed case must work too (Prowler #12048).
		{name: "LowercaseAndMixedCase", in: base(func(p *Permission) {
			p.IpProtocol, p.Policy, p.Direction = "tcp", "aCCept", "INGRESS"
		}), want: want(nil)},
		{name: "DropPolicy", in: base(func(p *Permission) { p.Policy = "DROP" }), want: want(func(r *Rule) { r.Policy = Drop })},
		// API defaults: policy accept, priority 1, NicType intranet.
		{name: "Defaults", in: base(func(p *Permission) { p.Policy, p.Priority, p.NicType = "", "", "" }), want: want(nil)},
		{name: "PriorityAsFloat", in: base(func(p *Permission) { p.Priority = "100.0" }), want: want(func(r *Rule) { r.Priority = 100 })},
		{name: "PriorityZero", in: base(func(p *Permission) { p.Priority = "0" }), wantErr: `invalid priority "0"`},
		{name: "PriorityTooHigh", in: base(func(p *Permission) { p.Priority = "101" }), wantErr: `invalid priority "101"`},
		{name: "PriorityFraction", in: base(func(p *Permission) { p.Priority = "1.5" }), wantErr: `invalid priority`},
		{name: "PortRangeWide", in: base(func(p *Permission) { p.PortRange = "1/65535" }), want: want(func(r *Rule) { r.Ports = PortRange{1, 65535} })},
		{name: "PortRangeReversed", in: base(func(p *Permission) { p.PortRange = "200/1" }), wantErr: "from is greater than to"},
		{name: "PortZero", in: base(func(p *Permission) { p.PortRange = "0/22" }), wantErr: "out of range"},
		{name: "PortTooHigh", in: base(func(p *Permission) { p.PortRange = "22/65536" }), wantErr: "out of range"},
		{name: "PortAnyOnTCP", in: base(func(p *Permission) { p.PortRange = "-1/-1" }), wantErr: "invalid for tcp"},
		{name: "PortMissing", in: base(func(p *Permission) { p.PortRange = "" }), wantErr: "invalid port range"},
		{name: "ICMPAnyPort", in: base(func(p *Permission) { p.IpProtocol, p.PortRange = "ICMP", "-1/-1" }),
			want: want(func(r *Rule) { r.Protocol, r.Ports = ICMP, AnyPort })},
		{name: "ICMPv6", in: base(func(p *Permission) { p.IpProtocol, p.PortRange = "ICMPv6", "-1/-1" }),
			want: want(func(r *Rule) { r.Protocol, r.Ports = ICMPv6, AnyPort })},
		{name: "GREWithPort", in: base(func(p *Permission) { p.IpProtocol = "GRE" }), wantErr: "invalid for gre"},
		{name: "AllAnyPort", in: base(func(p *Permission) { p.IpProtocol, p.PortRange = "ALL", "-1/-1" }),
			want: want(func(r *Rule) { r.Protocol, r.Ports = All, AnyPort })},
		{name: "UnknownProtocol", in: base(func(p *Permission) { p.IpProtocol = "SCTP" }), wantErr: `invalid protocol "SCTP"`},
		{name: "UnknownPolicy", in: base(func(p *Permission) { p.Policy = "allow" }), wantErr: `invalid policy "allow"`},
		{name: "MissingDirection", in: base(func(p *Permission) { p.Direction = "" }), wantErr: "invalid direction"},
		// A plain IP is a /32; a CIDR with host bits is masked.
		{name: "PlainIPv4", in: base(func(p *Permission) { p.SourceCidrIp = "203.0.113.7" }),
			want: want(func(r *Rule) { r.Peer.Prefix = netip.MustParsePrefix("203.0.113.7/32") })},
		{name: "CIDRMasked", in: base(func(p *Permission) { p.SourceCidrIp = "10.1.2.3/8" }),
			want: want(func(r *Rule) { r.Peer.Prefix = netip.MustParsePrefix("10.0.0.0/8") })},
		{name: "IPv6", in: base(func(p *Permission) { p.SourceCidrIp, p.Ipv6SourceCidrIp = "", "2001:DB8::1/32" }),
			want: want(func(r *Rule) { r.Peer = Peer{Kind: PeerCIDR6, Prefix: netip.MustParsePrefix("2001:db8::/32")} })},
		{name: "IPv6InIPv4Field", in: base(func(p *Permission) { p.SourceCidrIp = "::/0" }), wantErr: "not an IPv4 CIDR"},
		{name: "IPv4InIPv6Field", in: base(func(p *Permission) { p.SourceCidrIp, p.Ipv6SourceCidrIp = "", "1.2.3.4" }), wantErr: "not an IPv6 CIDR"},
		{name: "BadCIDR", in: base(func(p *Permission) { p.SourceCidrIp = "1.2.3.4/33" }), wantErr: `invalid CIDR "1.2.3.4/33"`},
		{name: "BothFamilies", in: base(func(p *Permission) { p.Ipv6SourceCidrIp = "::/0" }), wantErr: "both SourceCidrIp and Ipv6SourceCidrIp"},
		// The API: "if both SourceGroupId and SourceCidrIp are given, SourceCidrIp wins".
		{name: "CIDRWinsOverGroup", in: base(func(p *Permission) { p.SourceGroupId = "sg-2" }), want: want(nil)},
		// The API: "SourcePrefixListId is ignored if any of the other three is set".
		{name: "PrefixListIgnoredBesideCIDR", in: base(func(p *Permission) { p.SourcePrefixListId = "pl-1" }), want: want(nil)},
		{name: "PrefixListIgnoredBesideGroup", in: base(func(p *Permission) {
			p.SourceCidrIp, p.SourceGroupId, p.SourceGroupOwnerAccount, p.SourcePrefixListId = "", "sg-2", "1234", "pl-1"
		}), want: want(func(r *Rule) { r.Peer = Peer{Kind: PeerGroup, ID: "sg-2", OwnerAccount: "1234"} })},
		{name: "PrefixList", in: base(func(p *Permission) { p.SourceCidrIp, p.SourcePrefixListId = "", "pl-1" }),
			want: want(func(r *Rule) { r.Peer = Peer{Kind: PeerPrefixList, ID: "pl-1"} })},
		{name: "NoPeer", in: base(func(p *Permission) { p.SourceCidrIp = "" }), wantErr: "no peer"},
		// Egress takes its peer from Dest*; a Source* CIDR narrows the local side.
		{name: "EgressPeerIsDest", in: base(func(p *Permission) {
			p.Direction, p.SourceCidrIp, p.DestCidrIp, p.Ipv6SourceCidrIp = "egress", "", "0.0.0.0/0", "fd00::/8"
		}), want: want(func(r *Rule) { r.Direction, r.Local = Egress, netip.MustParsePrefix("fd00::/8") })},
		{name: "EgressSourceOnlyHasNoPeer", in: base(func(p *Permission) { p.Direction = "egress" }), wantErr: "no peer: one of DestCidrIp"},
		// Quintuple ingress rule: DestCidrIp narrows which of our instances it covers.
		{name: "IngressLocal", in: base(func(p *Permission) { p.DestCidrIp, p.SourcePortRange = "192.168.1.0/24", "1024/65535" }),
			want: want(func(r *Rule) {
				r.Local, r.SourcePorts = netip.MustParsePrefix("192.168.1.0/24"), PortRange{1024, 65535}
			})},
		{name: "CreateTime", in: base(func(p *Permission) { p.CreateTime = "2018-12-12T07:28:38Z" }),
			want: want(func(r *Rule) { r.CreateTime = time.Date(2018, 12, 12, 7, 28, 38, 0, time.UTC) })},
		{name: "CreateTimeMinutes", in: base(func(p *Permission) { p.CreateTime = "2018-12-12T07:28Z" }),
			want: want(func(r *Rule) { r.CreateTime = time.Date(2018, 12, 12, 7, 28, 0, 0, time.UTC) })},
		{name: "CreateTimeBad", in: base(func(p *Permission) { p.CreateTime = "yesterday" }), wantErr: "invalid CreateTime"},
		{name: "ErrorNamesRule", in: base(func(p *Permission) { p.PortRange = "x" }), wantErr: "rule sgr-1: invalid port range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Rule("sg-1", "cn-hangzhou")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			// Rule and Permission are inverses.
			back, err := got.Permission().Rule(got.GroupID, got.Region)
			require.NoError(t, err)
			require.Equal(t, got, back)
		})
	}
}

func TestRulePermissionRequestForm(t *testing.T) {
	r := Rule{
		GroupID: "sg-1", Region: "cn-hangzhou", ID: "sgr-9", Direction: Egress, Protocol: UDP,
		Ports: PortRange{53, 53}, Peer: Peer{Kind: PeerGroup, ID: "sg-2", OwnerID: "42"},
		Local: netip.MustParsePrefix("10.0.0.0/8"), Policy: Drop, Priority: 7, NicType: "intranet",
		Description: "dns", CreateTime: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	require.Equal(t, Permission{
		SecurityGroupRuleId: "sgr-9", Direction: "egress", IpProtocol: "udp", PortRange: "53/53",
		DestGroupId: "sg-2", DestGroupOwnerId: "42", SourceCidrIp: "10.0.0.0/8", Policy: "drop",
		Priority: "7", NicType: "intranet", Description: "dns", CreateTime: "2024-01-02T03:04:05Z",
	}, r.Permission())
}

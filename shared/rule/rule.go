package rule

import (
	"fmt"
	"net/netip"
	"time"
)

// Direction is ingress or egress.
type Direction string

const (
	Ingress Direction = "ingress"
	Egress  Direction = "egress"
)

// Protocol is the lowercase IP protocol of a rule.
type Protocol string

const (
	TCP    Protocol = "tcp"
	UDP    Protocol = "udp"
	ICMP   Protocol = "icmp"
	ICMPv6 Protocol = "icmpv6"
	GRE    Protocol = "gre"
	All    Protocol = "all"
)

// Policy is accept or drop.
type Policy string

const (
	Accept Policy = "accept"
	Drop   Policy = "drop"
)

// PortRange is an inclusive port range. For protocols without ports (icmp,
// icmpv6, gre) and for "all", the API writes "-1/-1"; that is Any.
type PortRange struct {
	From, To int
}

// AnyPort is the "-1/-1" range.
var AnyPort = PortRange{From: -1, To: -1}

// IsAny reports whether r is "-1/-1".
func (r PortRange) IsAny() bool { return r.From == -1 && r.To == -1 }

// String formats r as the API does: "22/22", "-1/-1".
func (r PortRange) String() string { return fmt.Sprintf("%d/%d", r.From, r.To) }

// PeerKind says what the other side of a rule is.
type PeerKind string

const (
	PeerNone       PeerKind = ""            // no peer given (invalid for a real rule)
	PeerCIDR4      PeerKind = "cidr4"       // SourceCidrIp / DestCidrIp
	PeerCIDR6      PeerKind = "cidr6"       // Ipv6SourceCidrIp / Ipv6DestCidrIp
	PeerGroup      PeerKind = "group"       // SourceGroupId / DestGroupId
	PeerPrefixList PeerKind = "prefix-list" // SourcePrefixListId / DestPrefixListId
)

// Peer is the source (ingress) or destination (egress) of a rule.
type Peer struct {
	Kind   PeerKind
	Prefix netip.Prefix // for cidr4 / cidr6, masked
	ID     string       // security group id or prefix list id
	// OwnerAccount / OwnerID of a peer security group in another account.
	OwnerAccount string
	OwnerID      string
}

// String renders the peer for humans and JSON: a CIDR, "sg-…" or "pl-…".
func (p Peer) String() string {
	switch p.Kind {
	case PeerCIDR4, PeerCIDR6:
		return p.Prefix.String()
	case PeerGroup, PeerPrefixList:
		return p.ID
	}
	return ""
}

// Rule is one security-group rule.
type Rule struct {
	GroupID     string
	Region      string
	ID          string // SecurityGroupRuleId, "sgr-…"; empty when not known (e.g. parsed from a request)
	Direction   Direction
	Protocol    Protocol
	Ports       PortRange
	SourcePorts PortRange // SourcePortRange; zero value when absent
	Peer        Peer
	// Local narrows the rule to some addresses of the group's own instances
	// (the "quintuple rule" fields: DestCidrIp/Ipv6DestCidrIp on ingress,
	// SourceCidrIp/Ipv6SourceCidrIp on egress). Zero means all of them.
	Local       netip.Prefix
	Policy      Policy
	Priority    int // 1..100, lower wins
	NicType     string
	Description string
	CreateTime  time.Time // zero when not known
}

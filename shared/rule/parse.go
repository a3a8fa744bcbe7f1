package rule

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// ParseDirection parses "ingress" or "egress", case-insensitively.
func ParseDirection(s string) (Direction, error) {
	switch d := Direction(strings.ToLower(strings.TrimSpace(s))); d {
	case Ingress, Egress:
		return d, nil
	}
	return "", fmt.Errorf("invalid direction %q (want ingress or egress)", s)
}

// ParseProtocol parses an IpProtocol value (TCP, UDP, ICMP, ICMPv6, GRE, ALL),
// case-insensitively.
func ParseProtocol(s string) (Protocol, error) {
	switch p := Protocol(strings.ToLower(strings.TrimSpace(s))); p {
	case TCP, UDP, ICMP, ICMPv6, GRE, All:
		return p, nil
	}
	return "", fmt.Errorf("invalid protocol %q (want tcp, udp, icmp, icmpv6, gre or all)", s)
}

// HasPorts reports whether the protocol carries port numbers (tcp, udp).
func (p Protocol) HasPorts() bool { return p == TCP || p == UDP }

// ParsePolicy parses "accept" or "drop", case-insensitively. The empty string
// is Accept, the API default.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case "", Accept:
		return Accept, nil
	case Drop:
		return p, nil
	}
	return "", fmt.Errorf("invalid policy %q (want accept or drop)", s)
}

// ParsePriority parses a priority, 1..100. The empty string is 1, the API
// default. An integral number written as a float ("1.0") is accepted, because
// the response's Priority is sometimes a JSON number.
func ParsePriority(s string) (int, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil {
		f, ferr := strconv.ParseFloat(t, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1e6 {
			return 0, fmt.Errorf("invalid priority %q (want 1..100)", s)
		}
		n = int(f)
	}
	if n < 1 || n > 100 {
		return 0, fmt.Errorf("invalid priority %q (want 1..100)", s)
	}
	return n, nil
}

// ParsePortRange parses the API's "from/to" form: "22/22", "1/65535" or
// "-1/-1". From and To are 1..65535 with From <= To, or both -1. Whether the
// range suits a protocol is [PortRange.ValidFor]'s business.
func ParsePortRange(s string) (PortRange, error) {
	t := strings.TrimSpace(s)
	a, b, ok := strings.Cut(t, "/")
	if !ok {
		return PortRange{}, fmt.Errorf("invalid port range %q (want from/to, e.g. 22/22 or -1/-1)", s)
	}
	if a == "-1" && b == "-1" {
		return AnyPort, nil
	}
	from, err1 := parsePort(a)
	to, err2 := parsePort(b)
	if err := errors.Join(err1, err2); err != nil {
		return PortRange{}, fmt.Errorf("invalid port range %q: %w", s, err)
	}
	if from > to {
		return PortRange{}, fmt.Errorf("invalid port range %q: from is greater than to", s)
	}
	return PortRange{From: from, To: to}, nil
}

// parsePort parses a decimal port 1..65535 without sign or spaces.
func parsePort(s string) (int, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("port %q out of range 1..65535", s)
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("port %q is not a number", s)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q out of range 1..65535", s)
	}
	return n, nil
}

// ValidFor checks r against protocol p: tcp and udp need a real range
// (1..65535, from <= to); icmp, icmpv6, gre and all need "-1/-1".
func (r PortRange) ValidFor(p Protocol) error {
	if p.HasPorts() {
		if r.From < 1 || r.To > 65535 || r.From > r.To {
			return fmt.Errorf("port range %s is invalid for %s (want 1..65535, from <= to)", r, p)
		}
		return nil
	}
	if !r.IsAny() {
		return fmt.Errorf("port range %s is invalid for %s (want -1/-1)", r, p)
	}
	return nil
}

// Contains reports whether port n is in r; AnyPort contains every port.
func (r PortRange) Contains(n int) bool {
	return r.IsAny() || (r.From <= n && n <= r.To)
}

// ParseCIDR parses an IPv4 or IPv6 CIDR block or a plain address, as the
// SourceCidrIp family of fields accepts them, and returns it masked: a plain
// address is a /32 or /128, "10.1.2.3/8" is 10.0.0.0/8. Zones are refused.
func ParseCIDR(s string) (netip.Prefix, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return netip.Prefix{}, errors.New("empty CIDR")
	}
	if strings.Contains(t, "/") {
		p, err := netip.ParsePrefix(t)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(t)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseCIDRFamily parses a CIDR that must be IPv4 (v6 false) or IPv6.
func parseCIDRFamily(field, s string, v6 bool) (netip.Prefix, error) {
	p, err := ParseCIDR(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%s: %w", field, err)
	}
	if p.Addr().Is6() != v6 {
		want := "IPv4"
		if v6 {
			want = "IPv6"
		}
		return netip.Prefix{}, fmt.Errorf("%s: %q is not an %s CIDR", field, s, want)
	}
	return p, nil
}

// ParsePeer parses a peer as [Peer.String] renders it: a CIDR (IPv4 or IPv6,
// or a plain address), a security group id "sg-…", or a prefix list id "pl-…".
func ParsePeer(s string) (Peer, error) {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "sg-"):
		if err := checkID(t); err != nil {
			return Peer{}, err
		}
		return Peer{Kind: PeerGroup, ID: t}, nil
	case strings.HasPrefix(t, "pl-"):
		if err := checkID(t); err != nil {
			return Peer{}, err
		}
		return Peer{Kind: PeerPrefixList, ID: t}, nil
	}
	p, err := ParseCIDR(t)
	if err != nil {
		return Peer{}, fmt.Errorf("invalid peer %q (want a CIDR, sg-… or pl-…)", s)
	}
	if p.Addr().Is4() {
		return Peer{Kind: PeerCIDR4, Prefix: p}, nil
	}
	return Peer{Kind: PeerCIDR6, Prefix: p}, nil
}

// checkID accepts resource ids made of letters, digits, '-' and '_' with
// something after the "xx-" prefix.
func checkID(id string) error {
	if len(id) <= 3 {
		return fmt.Errorf("invalid id %q", id)
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("invalid id %q", id)
		}
	}
	return nil
}

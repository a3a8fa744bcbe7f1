package rule

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Permission is one rule as the ECS API spells it: every field a string,
// named exactly as in DescribeSecurityGroupAttribute's Permission and in
// AuthorizeSecurityGroup's parameters. Empty means absent.
//
// Which fields name the peer depends on Direction: Source* on ingress, Dest*
// on egress. The other side's CIDR fields (DestCidrIp on ingress, SourceCidrIp
// on egress) narrow the rule to some of the group's own addresses; they become
// [Rule.Local].
type Permission struct {
	SecurityGroupRuleId     string
	Direction               string
	IpProtocol              string
	PortRange               string
	SourcePortRange         string
	SourceCidrIp            string
	Ipv6SourceCidrIp        string
	SourceGroupId           string
	SourceGroupOwnerAccount string
	SourceGroupOwnerId      string
	SourcePrefixListId      string
	DestCidrIp              string
	Ipv6DestCidrIp          string
	DestGroupId             string
	DestGroupOwnerAccount   string
	DestGroupOwnerId        string
	DestPrefixListId        string
	Policy                  string
	Priority                string
	NicType                 string
	Description             string
	CreateTime              string
}

// Rule parses p into a Rule of security group groupID in region. Values are
// compared case-insensitively and validated as the API validates them (see the
// package documentation for the invariants of the result).
func (p Permission) Rule(groupID, region string) (Rule, error) {
	r, err := p.rule(groupID, region, false)
	if err != nil {
		if id := strings.TrimSpace(p.SecurityGroupRuleId); id != "" {
			return Rule{}, fmt.Errorf("rule %s: %w", id, err)
		}
		return Rule{}, err
	}
	return r, nil
}

// rule is Rule; with partial set, absent fields stay zero instead of taking
// API defaults or failing (Revoke and Modify requests name only some fields).
func (p Permission) rule(groupID, region string, partial bool) (Rule, error) {
	r := Rule{
		GroupID:     strings.TrimSpace(groupID),
		Region:      strings.TrimSpace(region),
		ID:          strings.TrimSpace(p.SecurityGroupRuleId),
		NicType:     strings.ToLower(strings.TrimSpace(p.NicType)),
		Description: p.Description,
	}
	var errs []error
	var err error

	if r.Direction, err = ParseDirection(p.Direction); err != nil {
		errs = append(errs, err)
	}
	if !partial || strings.TrimSpace(p.IpProtocol) != "" {
		if r.Protocol, err = ParseProtocol(p.IpProtocol); err != nil {
			errs = append(errs, err)
		}
	}
	if !partial || strings.TrimSpace(p.PortRange) != "" {
		if r.Ports, err = ParsePortRange(p.PortRange); err != nil {
			errs = append(errs, err)
		} else if r.Protocol != "" {
			if err := r.Ports.ValidFor(r.Protocol); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if strings.TrimSpace(p.SourcePortRange) != "" {
		if r.SourcePorts, err = ParsePortRange(p.SourcePortRange); err != nil {
			errs = append(errs, fmt.Errorf("source %w", err))
		}
	}
	if !partial || strings.TrimSpace(p.Policy) != "" {
		if r.Policy, err = ParsePolicy(p.Policy); err != nil {
			errs = append(errs, err)
		}
	}
	if !partial || strings.TrimSpace(p.Priority) != "" {
		if r.Priority, err = ParsePriority(p.Priority); err != nil {
			errs = append(errs, err)
		}
	}
	if !partial && r.NicType == "" {
		r.NicType = "intranet"
	}
	if t := strings.TrimSpace(p.CreateTime); t != "" {
		if r.CreateTime, err = parseTime(t); err != nil {
			errs = append(errs, err)
		}
	}
	if r.Direction != "" {
		if r.Peer, r.Local, err = p.peer(r.Direction, partial); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// sides names the peer and local fields of p for a direction.
type sides struct {
	cidr, cidr6, group, owner, ownerID, prefixList string // peer
	localCIDR, localCIDR6                          string
	cidrName, cidr6Name, localName, local6Name     string
}

func (p Permission) sides(d Direction) sides {
	if d == Egress {
		return sides{
			p.DestCidrIp, p.Ipv6DestCidrIp, p.DestGroupId, p.DestGroupOwnerAccount, p.DestGroupOwnerId, p.DestPrefixListId,
			p.SourceCidrIp, p.Ipv6SourceCidrIp,
			"DestCidrIp", "Ipv6DestCidrIp", "SourceCidrIp", "Ipv6SourceCidrIp",
		}
	}
	return sides{
		p.SourceCidrIp, p.Ipv6SourceCidrIp, p.SourceGroupId, p.SourceGroupOwnerAccount, p.SourceGroupOwnerId, p.SourcePrefixListId,
		p.DestCidrIp, p.Ipv6DestCidrIp,
		"SourceCidrIp", "Ipv6SourceCidrIp", "DestCidrIp", "Ipv6DestCidrIp",
	}
}

// peer applies the API's peer rules: exactly one kind; a CIDR wins over a
// group; a prefix list is ignored when another peer is set.
func (p Permission) peer(d Direction, partial bool) (Peer, netip.Prefix, error) {
	s := p.sides(d)
	cidr, cidr6 := strings.TrimSpace(s.cidr), strings.TrimSpace(s.cidr6)
	group, pl := strings.TrimSpace(s.group), strings.TrimSpace(s.prefixList)
	var peer Peer
	var errs []error
	switch {
	case cidr != "" && cidr6 != "":
		errs = append(errs, fmt.Errorf("both %s and %s are set", s.cidrName, s.cidr6Name))
	case cidr != "":
		pfx, err := parseCIDRFamily(s.cidrName, cidr, false)
		errs = append(errs, err)
		peer = Peer{Kind: PeerCIDR4, Prefix: pfx}
	case cidr6 != "":
		pfx, err := parseCIDRFamily(s.cidr6Name, cidr6, true)
		errs = append(errs, err)
		peer = Peer{Kind: PeerCIDR6, Prefix: pfx}
	case group != "":
		peer = Peer{Kind: PeerGroup, ID: group,
			OwnerAccount: strings.TrimSpace(s.owner), OwnerID: strings.TrimSpace(s.ownerID)}
	case pl != "":
		peer = Peer{Kind: PeerPrefixList, ID: pl}
	case !partial:
		errs = append(errs, fmt.Errorf("no peer: one of %s, %s, %sGroupId or %sPrefixListId is required",
			s.cidrName, s.cidr6Name, sideName(d), sideName(d)))
	}

	var local netip.Prefix
	lc, lc6 := strings.TrimSpace(s.localCIDR), strings.TrimSpace(s.localCIDR6)
	switch {
	case lc != "" && lc6 != "":
		errs = append(errs, fmt.Errorf("both %s and %s are set", s.localName, s.local6Name))
	case lc != "":
		pfx, err := parseCIDRFamily(s.localName, lc, false)
		errs = append(errs, err)
		local = pfx
	case lc6 != "":
		pfx, err := parseCIDRFamily(s.local6Name, lc6, true)
		errs = append(errs, err)
		local = pfx
	}
	if err := errors.Join(errs...); err != nil {
		return Peer{}, netip.Prefix{}, err
	}
	return peer, local, nil
}

func sideName(d Direction) string {
	if d == Egress {
		return "Dest"
	}
	return "Source"
}

// parseTime accepts the API's CreateTime forms: RFC 3339 and the minute-only
// "2006-01-02T15:04Z" that ECS uses in some places.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid CreateTime %q (want RFC 3339)", s)
}

// Permission returns r in the API's request form, lowercase, so that
// authorizing it recreates r exactly: Permission().Rule(r.GroupID, r.Region)
// == r. Zero fields of a partial rule stay empty.
func (r Rule) Permission() Permission {
	p := Permission{
		SecurityGroupRuleId: r.ID,
		Direction:           string(r.Direction),
		IpProtocol:          string(r.Protocol),
		Policy:              string(r.Policy),
		NicType:             r.NicType,
		Description:         r.Description,
	}
	if r.Ports != (PortRange{}) {
		p.PortRange = r.Ports.String()
	}
	if r.SourcePorts != (PortRange{}) {
		p.SourcePortRange = r.SourcePorts.String()
	}
	if r.Priority != 0 {
		p.Priority = strconv.Itoa(r.Priority)
	}
	if !r.CreateTime.IsZero() {
		p.CreateTime = r.CreateTime.UTC().Format(time.RFC3339Nano)
	}
	peer, local := &p.SourceCidrIp, &p.DestCidrIp
	peer6, local6 := &p.Ipv6SourceCidrIp, &p.Ipv6DestCidrIp
	group, owner, ownerID, pl := &p.SourceGroupId, &p.SourceGroupOwnerAccount, &p.SourceGroupOwnerId, &p.SourcePrefixListId
	if r.Direction == Egress {
		peer, local = &p.DestCidrIp, &p.SourceCidrIp
		peer6, local6 = &p.Ipv6DestCidrIp, &p.Ipv6SourceCidrIp
		group, owner, ownerID, pl = &p.DestGroupId, &p.DestGroupOwnerAccount, &p.DestGroupOwnerId, &p.DestPrefixListId
	}
	switch r.Peer.Kind {
	case PeerCIDR4:
		*peer = r.Peer.Prefix.String()
	case PeerCIDR6:
		*peer6 = r.Peer.Prefix.String()
	case PeerGroup:
		*group, *owner, *ownerID = r.Peer.ID, r.Peer.OwnerAccount, r.Peer.OwnerID
	case PeerPrefixList:
		*pl = r.Peer.ID
	}
	if r.Local.IsValid() {
		if r.Local.Addr().Is4() {
			*local = r.Local.String()
		} else {
			*local6 = r.Local.String()
		}
	}
	return p
}

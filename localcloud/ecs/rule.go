package ecs

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

type proto uint8

const (
	protoTCP proto = 1 + iota
	protoUDP
	protoICMP
	protoICMPv6
	protoGRE
	protoALL
)

var protoNames = [...]string{"", "TCP", "UDP", "ICMP", "ICMPv6", "GRE", "ALL"}

func (p proto) String() string { return protoNames[p] }

func parseProto(s string) (proto, bool) {
	for i := protoTCP; i <= protoALL; i++ {
		if strings.EqualFold(s, protoNames[i]) {
			return i, true
		}
	}
	return 0, false
}

func (p proto) hasPorts() bool { return p == protoTCP || p == protoUDP }

type direction uint8

const (
	dirIngress direction = 1
	dirEgress  direction = 2
)

func (d direction) String() string {
	if d == dirEgress {
		return "egress"
	}
	return "ingress"
}

type policy uint8

const (
	polAccept policy = 1
	polDrop   policy = 2
)

func (p policy) String() string {
	if p == polDrop {
		return "Drop"
	}
	return "Accept"
}

type peerKind uint8

const (
	peerCIDR       peerKind = 1 // IPv4 or IPv6, see rule.peer.fam
	peerGroup      peerKind = 2
	peerPrefixList peerKind = 3
)

// cidr is a compact IPv4/IPv6 prefix: 20 bytes instead of netip.Prefix's 32.
type cidr struct {
	a    [16]byte
	bits uint8
	fam  uint8 // 0 = absent, 4, 6
	bare bool  // written as a plain address (no "/n")
}

func parseCIDR(s string, fam uint8) (cidr, bool) {
	var p netip.Prefix
	bare := !strings.Contains(s, "/")
	if bare {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return cidr{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	} else {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return cidr{}, false
		}
	}
	a := p.Addr()
	if a.Zone() != "" || (fam == 4) != a.Is4() {
		return cidr{}, false
	}
	c := cidr{a: a.As16(), bits: uint8(p.Bits()), fam: fam, bare: bare}
	return c, true
}

func (c cidr) addr() netip.Addr {
	if c.fam == 4 {
		return netip.AddrFrom4([4]byte(c.a[12:16]))
	}
	return netip.AddrFrom16(c.a)
}

func (c cidr) prefix() netip.Prefix {
	if c.fam == 0 {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(c.addr(), int(c.bits))
}

func (c cidr) String() string {
	if c.fam == 0 {
		return ""
	}
	if c.bare {
		return c.addr().String()
	}
	return c.prefix().String()
}

// same reports whether two prefixes cover the same addresses.
func (c cidr) same(o cidr) bool {
	if c.fam != o.fam || c.bits != o.bits {
		return false
	}
	if c.fam == 0 {
		return true
	}
	return c.prefix().Masked() == o.prefix().Masked()
}

func (c cidr) contains(a netip.Addr) bool {
	if c.fam == 0 {
		return false
	}
	a = a.Unmap()
	if (c.fam == 4) != a.Is4() {
		return false
	}
	return c.prefix().Contains(a)
}

// rule is one stored security-group rule: small fixed fields, strings interned.
type rule struct {
	id      string
	desc    string
	ref     string // peer group id or prefix list id
	ext     *ruleExt
	created int64
	peer    cidr
	local   cidr // DestCidrIp of an ingress rule, SourceCidrIp of an egress rule
	port    [2]int32
	sport   [2]int32 // {0,0}: no source port range
	seq     uint32
	dir     direction
	proto   proto
	pol     policy
	prio    uint8
	kind    peerKind
}

// ruleExt holds the rarely set cross-account fields.
type ruleExt struct {
	ownerAccount string
	ownerID      string
}

func (r *rule) owner() (string, string) {
	if r.ext == nil {
		return "", ""
	}
	return r.ext.ownerAccount, r.ext.ownerID
}

// sameIdentity is the duplicate test. Identity tuple: direction, protocol,
// destination port range, source port range, peer (CIDR compared as a network,
// or group id + owner, or prefix-list id), local CIDR, policy, priority. The
// description is not part of it; NicType is always intranet.
func (r *rule) sameIdentity(o *rule) bool {
	if r.dir != o.dir || r.proto != o.proto || r.port != o.port || r.sport != o.sport ||
		r.kind != o.kind || r.ref != o.ref || r.pol != o.pol || r.prio != o.prio {
		return false
	}
	a1, i1 := r.owner()
	a2, i2 := o.owner()
	return a1 == a2 && i1 == i2 && r.peer.same(o.peer) && r.local.same(o.local)
}

// entity is the peer type that ModifySecurityGroupRule may not change.
func (r *rule) entity() int {
	if r.kind == peerCIDR {
		return int(r.peer.fam)
	}
	return int(r.kind) * 10
}

func portString(p [2]int32) string {
	return strconv.Itoa(int(p[0])) + "/" + strconv.Itoa(int(p[1]))
}

// perm is one permission as sent: Permissions.N.* or the legacy flat fields.
type perm struct {
	IpProtocol, PortRange, SourcePortRange                                                             string
	SourceCidrIp, Ipv6SourceCidrIp, SourceGroupId, SourcePrefixListId                                  string
	SourceGroupOwnerAccount, SourceGroupOwnerId                                                        string
	DestCidrIp, Ipv6DestCidrIp, DestGroupId, DestPrefixListId, DestGroupOwnerAccount, DestGroupOwnerId string
	Policy, Priority, NicType, Description                                                             string
}

var permFields = []string{
	"IpProtocol", "PortRange", "SourcePortRange",
	"SourceCidrIp", "Ipv6SourceCidrIp", "SourceGroupId", "SourcePrefixListId",
	"SourceGroupOwnerAccount", "SourceGroupOwnerId",
	"DestCidrIp", "Ipv6DestCidrIp", "DestGroupId", "DestPrefixListId", "DestGroupOwnerAccount", "DestGroupOwnerId",
	"Policy", "Priority", "NicType", "Description",
}

func (p *perm) field(name string) *string {
	switch name {
	case "IpProtocol":
		return &p.IpProtocol
	case "PortRange":
		return &p.PortRange
	case "SourcePortRange":
		return &p.SourcePortRange
	case "SourceCidrIp":
		return &p.SourceCidrIp
	case "Ipv6SourceCidrIp":
		return &p.Ipv6SourceCidrIp
	case "SourceGroupId":
		return &p.SourceGroupId
	case "SourcePrefixListId":
		return &p.SourcePrefixListId
	case "SourceGroupOwnerAccount":
		return &p.SourceGroupOwnerAccount
	case "SourceGroupOwnerId":
		return &p.SourceGroupOwnerId
	case "DestCidrIp":
		return &p.DestCidrIp
	case "Ipv6DestCidrIp":
		return &p.Ipv6DestCidrIp
	case "DestGroupId":
		return &p.DestGroupId
	case "DestPrefixListId":
		return &p.DestPrefixListId
	case "DestGroupOwnerAccount":
		return &p.DestGroupOwnerAccount
	case "DestGroupOwnerId":
		return &p.DestGroupOwnerId
	case "Policy":
		return &p.Policy
	case "Priority":
		return &p.Priority
	case "NicType":
		return &p.NicType
	case "Description":
		return &p.Description
	}
	return nil
}

// parsePorts parses "a/b".
func parsePorts(s string) ([2]int32, bool) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return [2]int32{}, false
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || x < -1 || y < -1 || x > 65535 || y > 65535 {
		return [2]int32{}, false
	}
	return [2]int32{int32(x), int32(y)}, true
}

// sideNames are the parameter names of a rule's peer and local side.
type sideNames struct {
	cidr, cidr6, group, prefixList, ownerAccount, ownerID string
	// error codes
	badCIDR, badCIDR6, both, missing string
}

var (
	srcSide = sideNames{"SourceCidrIp", "Ipv6SourceCidrIp", "SourceGroupId", "SourcePrefixListId",
		"SourceGroupOwnerAccount", "SourceGroupOwnerId",
		"InvalidSourceCidrIp.Malformed", "InvalidParam.Ipv6SourceCidrIp", "InvalidParam.SourceIp", "MissingParameter.Source"}
	dstSide = sideNames{"DestCidrIp", "Ipv6DestCidrIp", "DestGroupId", "DestPrefixListId",
		"DestGroupOwnerAccount", "DestGroupOwnerId",
		"InvalidDestCidrIp.Malformed", "InvalidParam.Ipv6DestCidrIp", "InvalidParam.DestIp", "MissingParameter.Dest"}
)

// sides returns the (peer, local) parameter names for a direction.
func sides(d direction) (peer, local sideNames) {
	if d == dirEgress {
		return dstSide, srcSide
	}
	return srcSide, dstSide
}

// parseSideCIDR reads the CIDR fields of one side; fam 0 when neither is set.
func parseSideCIDR(p *perm, n sideNames) (cidr, *apiError) {
	v4, v6 := *p.field(n.cidr), *p.field(n.cidr6)
	switch {
	case v4 != "" && v6 != "":
		return cidr{}, errf(400, n.both, "The Parameters %s and %s cannot be set at the same time.", n.cidr, n.cidr6)
	case v4 != "":
		c, ok := parseCIDR(v4, 4)
		if !ok {
			return cidr{}, errf(400, n.badCIDR, "The specified parameter %s (%q) is not valid.", n.cidr, v4)
		}
		return c, nil
	case v6 != "":
		c, ok := parseCIDR(v6, 6)
		if !ok {
			return cidr{}, errf(400, n.badCIDR6, "The specified parameter %s (%q) is not valid.", n.cidr6, v6)
		}
		return c, nil
	}
	return cidr{}, nil
}

// buildRule parses and validates one permission for direction d, applying the
// defaults (policy accept, priority 1, NicType intranet, port range -1/-1 for
// protocols without ports). It checks formats only; references are checked by
// the caller.
func (s *Server) buildRule(d direction, p *perm) (rule, *apiError) {
	r := rule{dir: d}
	if p.IpProtocol == "" {
		return r, errMissing("IpProtocol")
	}
	pr, ok := parseProto(p.IpProtocol)
	if !ok {
		return r, errf(400, "InvalidIpProtocol.ValueNotSupported",
			"The parameter IpProtocol (%q) must be specified with case insensitive TCP, UDP, ICMP, ICMPv6, GRE or All.", p.IpProtocol)
	}
	r.proto = pr
	mismatch := errf(400, "OperationDenied", "The specified IpProtocol does not exist or IpProtocol and PortRange do not match.")
	if p.PortRange == "" {
		if pr.hasPorts() {
			return r, errf(400, "InvalidPortRange.Malformed", "The specified parameter PortRange must set.")
		}
		r.port = [2]int32{-1, -1}
	} else {
		pp, ok := parsePorts(p.PortRange)
		if !ok {
			return r, errf(400, "InvalidParam.PortRange",
				"The specified parameter PortRange (%q) is not valid. It should be two integers less than 65535 in ?/? format.", p.PortRange)
		}
		if pr.hasPorts() {
			if pp == [2]int32{-1, -1} {
				return r, mismatch
			}
			if pp[0] < 1 || pp[1] < 1 || pp[0] > pp[1] {
				return r, errf(400, "InvalidParam.PortRange",
					"The specified parameter PortRange (%q) is not valid. It should be two integers less than 65535 in ?/? format.", p.PortRange)
			}
		} else if pp != [2]int32{-1, -1} {
			return r, mismatch
		}
		r.port = pp
	}
	if p.SourcePortRange != "" {
		sp, ok := parsePorts(p.SourcePortRange)
		bad := !ok
		if ok && pr.hasPorts() {
			bad = sp[0] < 1 || sp[1] < 1 || sp[0] > sp[1]
		} else if ok {
			bad = sp != [2]int32{-1, -1}
		}
		if bad {
			return r, errf(400, "InvalidSourcePortRange.Malformed", "The specified parameter SourcePortRange (%q) is not valid.", p.SourcePortRange)
		}
		r.sport = sp
	}

	peerN, localN := sides(d)
	peer, e := parseSideCIDR(p, peerN)
	if e != nil {
		return r, e
	}
	local, e := parseSideCIDR(p, localN)
	if e != nil {
		return r, e
	}
	r.local = local
	switch {
	case peer.fam != 0:
		r.kind, r.peer = peerCIDR, peer
	case *p.field(peerN.group) != "":
		r.kind, r.ref = peerGroup, s.intern(*p.field(peerN.group))
		acct, id := *p.field(peerN.ownerAccount), *p.field(peerN.ownerID)
		if acct != "" || id != "" {
			r.ext = &ruleExt{ownerAccount: acct, ownerID: id}
		}
	case *p.field(peerN.prefixList) != "":
		r.kind, r.ref = peerPrefixList, s.intern(*p.field(peerN.prefixList))
	default:
		return r, errf(400, peerN.missing, "One of the parameters %s, %s, %s or %s must be specified.",
			peerN.cidr, peerN.cidr6, peerN.group, peerN.prefixList)
	}
	if r.kind == peerCIDR && local.fam != 0 {
		if local.fam != peer.fam {
			return r, errf(400, "InvalidParameter.Conflict", "IPv6 and IPv4 addresses cannot exist at the same time.")
		}
		if local.same(peer) {
			return r, errf(400, "InvalidParamter.Conflict", "The specified SourceCidrIp should be different from the DestCidrIp.")
		}
	}
	fam := peer.fam
	if fam == 0 {
		fam = local.fam
	}
	switch {
	case pr == protoICMP && fam == 6:
		return r, errf(400, "InvalidParam.Ipv4ProtocolConflictWithIpv6Address", "IPv6 address cannot be specified for IPv4-specific protocol.")
	case pr == protoICMPv6 && fam == 4:
		return r, errf(400, "InvalidParam.Ipv6ProtocolConflictWithIpv4Address", "IPv4 address cannot be specified for IPv6-specific protocol.")
	}

	switch strings.ToLower(p.Policy) {
	case "", "accept":
		r.pol = polAccept
	case "drop":
		r.pol = polDrop
	default:
		return r, errf(400, "InvalidPolicy.Malformed", "The specified parameter Policy (%q) is not valid.", p.Policy)
	}
	if p.Priority == "" {
		r.prio = 1
	} else {
		n, err := strconv.Atoi(strings.TrimSpace(p.Priority))
		if err != nil {
			return r, errf(400, "InvalidPriority.Malformed", "The parameter Priority (%q) is invalid.", p.Priority)
		}
		if n < 1 || n > 100 {
			return r, errf(400, "InvalidPriority.ValueNotSupported", "The specified parameter Priority (%d) is invalid: valid values are 1 to 100.", n)
		}
		r.prio = uint8(n)
	}
	switch strings.ToLower(p.NicType) {
	case "", "intranet", "internet": // VPC groups: always intranet
	default:
		return r, errf(400, "InvalidNicType.ValueNotSupported", "The specified NicType (%q) does not exist.", p.NicType)
	}
	if utf8.RuneCountInString(p.Description) > 512 {
		return r, errf(400, "InvalidSecurityGroupDiscription.Malformed", "The specified security group rule description is not valid: it exceeds 512 characters.")
	}
	r.desc = s.intern(p.Description)
	return r, nil
}

// toPerm renders a stored rule back into its API string form.
func (r *rule) toPerm() perm {
	var p perm
	p.IpProtocol = r.proto.String()
	p.PortRange = portString(r.port)
	if r.sport != [2]int32{} {
		p.SourcePortRange = portString(r.sport)
	}
	peerN, localN := sides(r.dir)
	switch r.kind {
	case peerCIDR:
		if r.peer.fam == 4 {
			*p.field(peerN.cidr) = r.peer.String()
		} else {
			*p.field(peerN.cidr6) = r.peer.String()
		}
	case peerGroup:
		*p.field(peerN.group) = r.ref
		acct, id := r.owner()
		*p.field(peerN.ownerAccount) = acct
		*p.field(peerN.ownerID) = id
	case peerPrefixList:
		*p.field(peerN.prefixList) = r.ref
	}
	if r.local.fam == 4 {
		*p.field(localN.cidr) = r.local.String()
	} else if r.local.fam == 6 {
		*p.field(localN.cidr6) = r.local.String()
	}
	p.Policy = r.pol.String()
	p.Priority = strconv.Itoa(int(r.prio))
	p.NicType = "intranet"
	p.Description = r.desc
	return p
}

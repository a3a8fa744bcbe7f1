package ecs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// World is the seed format (see SEED.md): the state of one account, region by
// region, with resource objects named as the ECS API names them, so that a
// snapshot of a real account can copy API responses almost verbatim.
type World struct {
	Regions []Region `json:"Regions"`
}

// Region is one region's resources.
type Region struct {
	RegionID          string             `json:"RegionId"`
	Zones             []string           `json:"Zones,omitempty"`
	Vpcs              []Vpc              `json:"Vpcs,omitempty"`
	VSwitches         []VSwitch          `json:"VSwitches,omitempty"`
	SecurityGroups    []SecurityGroup    `json:"SecurityGroups,omitempty"`
	Instances         []Instance         `json:"Instances,omitempty"`
	NetworkInterfaces []NetworkInterface `json:"NetworkInterfaces,omitempty"`
	PrefixLists       []PrefixList       `json:"PrefixLists,omitempty"`
}

// Vpc is a VPC; only its id matters to ECS calls.
type Vpc struct {
	VpcID     string `json:"VpcId"`
	VpcName   string `json:"VpcName,omitempty"`
	CidrBlock string `json:"CidrBlock,omitempty"`
}

// VSwitch is a VSwitch of a declared VPC.
type VSwitch struct {
	VSwitchID   string `json:"VSwitchId"`
	VpcID       string `json:"VpcId"`
	ZoneID      string `json:"ZoneId,omitempty"`
	CidrBlock   string `json:"CidrBlock,omitempty"`
	VSwitchName string `json:"VSwitchName,omitempty"`
}

// Tag is a resource tag. TagKey/TagValue are accepted as aliases on load.
type Tag struct {
	Key      string `json:"Key"`
	Value    string `json:"Value"`
	TagKey   string `json:"TagKey,omitempty"`
	TagValue string `json:"TagValue,omitempty"`
}

// SecurityGroup is a group with its rules, in DescribeSecurityGroups naming.
type SecurityGroup struct {
	SecurityGroupID   string       `json:"SecurityGroupId"`
	SecurityGroupName string       `json:"SecurityGroupName,omitempty"`
	Description       string       `json:"Description,omitempty"`
	VpcID             string       `json:"VpcId,omitempty"`
	SecurityGroupType string       `json:"SecurityGroupType,omitempty"` // normal (default) | enterprise
	InnerAccessPolicy string       `json:"InnerAccessPolicy,omitempty"` // Accept | Drop; default by type
	ResourceGroupID   string       `json:"ResourceGroupId,omitempty"`
	ServiceManaged    bool         `json:"ServiceManaged,omitempty"`
	CreationTime      string       `json:"CreationTime,omitempty"`
	Tags              []Tag        `json:"Tags,omitempty"`
	Permissions       []Permission `json:"Permissions,omitempty"`
}

// Permission is one rule, exactly a DescribeSecurityGroupAttribute Permission.
// The *Name fields are derived: filled on export, ignored on load.
type Permission struct {
	SecurityGroupRuleID     string   `json:"SecurityGroupRuleId,omitempty"`
	Direction               string   `json:"Direction"`
	IpProtocol              string   `json:"IpProtocol"`
	PortRange               string   `json:"PortRange,omitempty"`
	SourcePortRange         string   `json:"SourcePortRange,omitempty"`
	SourceCidrIp            string   `json:"SourceCidrIp,omitempty"`
	Ipv6SourceCidrIp        string   `json:"Ipv6SourceCidrIp,omitempty"`
	SourceGroupID           string   `json:"SourceGroupId,omitempty"`
	SourceGroupName         string   `json:"SourceGroupName,omitempty"`
	SourceGroupOwnerAccount string   `json:"SourceGroupOwnerAccount,omitempty"`
	SourceGroupOwnerID      string   `json:"SourceGroupOwnerId,omitempty"`
	SourcePrefixListID      string   `json:"SourcePrefixListId,omitempty"`
	SourcePrefixListName    string   `json:"SourcePrefixListName,omitempty"`
	DestCidrIp              string   `json:"DestCidrIp,omitempty"`
	Ipv6DestCidrIp          string   `json:"Ipv6DestCidrIp,omitempty"`
	DestGroupID             string   `json:"DestGroupId,omitempty"`
	DestGroupName           string   `json:"DestGroupName,omitempty"`
	DestGroupOwnerAccount   string   `json:"DestGroupOwnerAccount,omitempty"`
	DestGroupOwnerID        string   `json:"DestGroupOwnerId,omitempty"`
	DestPrefixListID        string   `json:"DestPrefixListId,omitempty"`
	DestPrefixListName      string   `json:"DestPrefixListName,omitempty"`
	Policy                  string   `json:"Policy,omitempty"`
	Priority                Priority `json:"Priority,omitempty"`
	NicType                 string   `json:"NicType,omitempty"`
	Description             string   `json:"Description,omitempty"`
	CreateTime              string   `json:"CreateTime,omitempty"`
}

// Priority is a rule priority; it decodes from a JSON number or a numeric
// string (the SDK struct holds a string) and encodes as a number. 0 = default 1.
type Priority int

// UnmarshalJSON accepts 5 and "5".
func (p *Priority) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*p = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("priority %s: not an integer", b)
	}
	*p = Priority(n)
	return nil
}

// Instance is an ECS instance; its security groups are those of its primary ENI.
type Instance struct {
	InstanceID   string `json:"InstanceId"`
	InstanceName string `json:"InstanceName,omitempty"`
	ZoneID       string `json:"ZoneId,omitempty"`
	VpcID        string `json:"VpcId"`
	VSwitchID    string `json:"VSwitchId,omitempty"`
	Status       string `json:"Status,omitempty"` // default Running
	InstanceType string `json:"InstanceType,omitempty"`
	CreationTime string `json:"CreationTime,omitempty"`
	Tags         []Tag  `json:"Tags,omitempty"`
}

// NetworkInterface is an ENI. Every instance has exactly one Primary ENI.
type NetworkInterface struct {
	NetworkInterfaceID          string   `json:"NetworkInterfaceId"`
	NetworkInterfaceName        string   `json:"NetworkInterfaceName,omitempty"`
	Type                        string   `json:"Type"`             // Primary | Secondary
	Status                      string   `json:"Status,omitempty"` // default InUse when attached, else Available
	InstanceID                  string   `json:"InstanceId,omitempty"`
	DeviceIndex                 int      `json:"DeviceIndex,omitempty"`
	VpcID                       string   `json:"VpcId"`
	VSwitchID                   string   `json:"VSwitchId,omitempty"`
	ZoneID                      string   `json:"ZoneId,omitempty"`
	MacAddress                  string   `json:"MacAddress,omitempty"`
	Description                 string   `json:"Description,omitempty"`
	PrivateIPAddress            string   `json:"PrivateIpAddress,omitempty"`
	SecondaryPrivateIPAddresses []string `json:"SecondaryPrivateIpAddresses,omitempty"`
	PublicIPAddress             string   `json:"PublicIpAddress,omitempty"`
	Ipv6Addresses               []string `json:"Ipv6Addresses,omitempty"`
	SecurityGroupIDs            []string `json:"SecurityGroupIds"`
	CreationTime                string   `json:"CreationTime,omitempty"`
	Tags                        []Tag    `json:"Tags,omitempty"`
}

// PrefixList is a prefix list with its entries.
type PrefixList struct {
	PrefixListID   string            `json:"PrefixListId"`
	PrefixListName string            `json:"PrefixListName,omitempty"`
	Description    string            `json:"Description,omitempty"`
	AddressFamily  string            `json:"AddressFamily,omitempty"` // IPv4 (default) | IPv6
	MaxEntries     int               `json:"MaxEntries,omitempty"`    // default: number of entries
	CreationTime   string            `json:"CreationTime,omitempty"`
	Entries        []PrefixListEntry `json:"Entries,omitempty"`
}

// PrefixListEntry is one CIDR of a prefix list.
type PrefixListEntry struct {
	Cidr        string `json:"Cidr"`
	Description string `json:"Description,omitempty"`
}

// DecodeWorld decodes a seed file strictly: unknown fields are errors.
func DecodeWorld(data []byte) (World, error) {
	var w World
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil {
		return World{}, fmt.Errorf("decode ecs world: %w", err)
	}
	return w, nil
}

func (t Tag) kv() (string, string) {
	if t.Key == "" && t.TagKey != "" {
		return t.TagKey, t.TagValue
	}
	return t.Key, t.Value
}

func loadTags(in []Tag, where string) (tags, error) {
	var ts tags
	for _, t := range in {
		k, v := t.kv()
		if e := validateTag(k, v); e != nil {
			return nil, fmt.Errorf("%s: %s", where, e.msg)
		}
		ts.set(k, v)
	}
	if len(ts) > maxTagsPerResource {
		return nil, fmt.Errorf("%s: %d tags, at most %d", where, len(ts), maxTagsPerResource)
	}
	return ts, nil
}

func exportTags(ts tags) []Tag {
	if len(ts) == 0 {
		return nil
	}
	out := make([]Tag, 0, len(ts))
	for _, t := range ts {
		out = append(out, Tag{Key: t.key, Value: t.value})
	}
	return out
}

func (p *Permission) perm() perm {
	return perm{
		IpProtocol: p.IpProtocol, PortRange: p.PortRange, SourcePortRange: p.SourcePortRange,
		SourceCidrIp: p.SourceCidrIp, Ipv6SourceCidrIp: p.Ipv6SourceCidrIp, SourceGroupId: p.SourceGroupID,
		SourcePrefixListId: p.SourcePrefixListID, SourceGroupOwnerAccount: p.SourceGroupOwnerAccount,
		SourceGroupOwnerId: p.SourceGroupOwnerID,
		DestCidrIp:         p.DestCidrIp, Ipv6DestCidrIp: p.Ipv6DestCidrIp, DestGroupId: p.DestGroupID,
		DestPrefixListId: p.DestPrefixListID, DestGroupOwnerAccount: p.DestGroupOwnerAccount,
		DestGroupOwnerId: p.DestGroupOwnerID,
		Policy:           p.Policy, Priority: priorityString(p.Priority), NicType: p.NicType, Description: p.Description,
	}
}

func priorityString(p Priority) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(int(p))
}

func (s *Server) loadTime(v, where string) (int64, error) {
	if v == "" {
		return s.nowUnix(), nil
	}
	t, ok := parseTime(v)
	if !ok {
		return 0, fmt.Errorf("%s: time %q is not RFC 3339 UTC", where, v)
	}
	return t, nil
}

func parseAddr(v, where string) (netip.Addr, error) {
	if v == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: %w", where, err)
	}
	return a, nil
}

// Load replaces the whole state with w. It validates everything first (rules
// with the same checks as AuthorizeSecurityGroup, references between
// resources); on error the previous state is kept. Quotas (200 rules per group,
// 20 group references) are not enforced on load; 5 groups per ENI is.
func (s *Server) Load(w World) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldRegions, oldStrs, oldSeq := s.regions, s.strs, s.seq
	s.reset()
	if err := s.load(w); err != nil {
		s.regions, s.strs, s.seq = oldRegions, oldStrs, oldSeq
		return fmt.Errorf("load ecs world: %w", err)
	}
	return nil
}

func (s *Server) load(w World) error {
	groupSeen := map[string]string{}
	for ri, rw := range w.Regions {
		where := fmt.Sprintf("Regions[%d]", ri)
		if rw.RegionID == "" {
			return fmt.Errorf("%s: RegionId is empty", where)
		}
		if s.regions[rw.RegionID] != nil {
			return fmt.Errorf("%s: region %s appears twice", where, rw.RegionID)
		}
		reg := s.regionFor(rw.RegionID, true)
		reg.zones = append([]string(nil), rw.Zones...)
		where = "region " + rw.RegionID
		for _, v := range rw.Vpcs {
			if v.VpcID == "" || reg.vpcs[v.VpcID] != nil {
				return fmt.Errorf("%s: vpc id %q empty or repeated", where, v.VpcID)
			}
			reg.vpcs[v.VpcID] = &vpc{id: v.VpcID, name: v.VpcName, cidr: v.CidrBlock}
		}
		for _, v := range rw.VSwitches {
			if v.VSwitchID == "" || reg.vswitches[v.VSwitchID] != nil {
				return fmt.Errorf("%s: vswitch id %q empty or repeated", where, v.VSwitchID)
			}
			if reg.vpcs[v.VpcID] == nil {
				return fmt.Errorf("%s: vswitch %s: vpc %q is not declared", where, v.VSwitchID, v.VpcID)
			}
			reg.vswitches[v.VSwitchID] = &vswitch{id: v.VSwitchID, vpcID: v.VpcID, zoneID: v.ZoneID, cidr: v.CidrBlock, name: v.VSwitchName}
		}
		checkNet := func(what, vpcID, vswID string) error {
			if vpcID != "" && reg.vpcs[vpcID] == nil {
				return fmt.Errorf("%s: %s: vpc %q is not declared", where, what, vpcID)
			}
			if vswID != "" && (reg.vswitches[vswID] == nil || reg.vswitches[vswID].vpcID != vpcID) {
				return fmt.Errorf("%s: %s: vswitch %q is not declared in vpc %q", where, what, vswID, vpcID)
			}
			return nil
		}
		for _, pw := range rw.PrefixLists {
			if err := s.loadPrefixList(reg, pw, where); err != nil {
				return err
			}
		}
		for _, gw := range rw.SecurityGroups {
			gwhere := where + ": security group " + gw.SecurityGroupID
			if gw.SecurityGroupID == "" {
				return fmt.Errorf("%s: empty SecurityGroupId", where)
			}
			if r, dup := groupSeen[gw.SecurityGroupID]; dup {
				return fmt.Errorf("%s: id already used in region %s", gwhere, r)
			}
			groupSeen[gw.SecurityGroupID] = reg.id
			if err := checkNet("security group "+gw.SecurityGroupID, gw.VpcID, ""); err != nil {
				return err
			}
			g := &group{id: gw.SecurityGroupID, name: gw.SecurityGroupName, desc: gw.Description, vpcID: gw.VpcID,
				resourceGroupID: gw.ResourceGroupID, serviceManaged: gw.ServiceManaged, seq: s.nextSeq()}
			switch gw.SecurityGroupType {
			case "", "normal":
			case "enterprise":
				g.enterprise = true
			default:
				return fmt.Errorf("%s: SecurityGroupType %q is not normal or enterprise", gwhere, gw.SecurityGroupType)
			}
			switch strings.ToLower(gw.InnerAccessPolicy) {
			case "":
				g.innerDrop = g.enterprise
			case "accept":
			case "drop":
				g.innerDrop = true
			default:
				return fmt.Errorf("%s: InnerAccessPolicy %q is not Accept or Drop", gwhere, gw.InnerAccessPolicy)
			}
			var err error
			if g.created, err = s.loadTime(gw.CreationTime, gwhere); err != nil {
				return err
			}
			if g.tags, err = loadTags(gw.Tags, gwhere); err != nil {
				return err
			}
			reg.groups[g.id] = g
		}
		for _, gw := range rw.SecurityGroups {
			if err := s.loadRules(reg, reg.groups[gw.SecurityGroupID], gw.Permissions, where); err != nil {
				return err
			}
		}
		for _, iw := range rw.Instances {
			iwhere := where + ": instance " + iw.InstanceID
			if iw.InstanceID == "" || reg.instances[iw.InstanceID] != nil {
				return fmt.Errorf("%s: instance id %q empty or repeated", where, iw.InstanceID)
			}
			if err := checkNet("instance "+iw.InstanceID, iw.VpcID, iw.VSwitchID); err != nil {
				return err
			}
			in := &instance{id: iw.InstanceID, name: iw.InstanceName, zoneID: iw.ZoneID, vpcID: iw.VpcID,
				vswitchID: iw.VSwitchID, status: iw.Status, instanceType: iw.InstanceType}
			if in.status == "" {
				in.status = "Running"
			}
			var err error
			if in.created, err = s.loadTime(iw.CreationTime, iwhere); err != nil {
				return err
			}
			if in.tags, err = loadTags(iw.Tags, iwhere); err != nil {
				return err
			}
			reg.instances[in.id] = in
		}
		for _, nw := range rw.NetworkInterfaces {
			if err := checkNet("network interface "+nw.NetworkInterfaceID, nw.VpcID, nw.VSwitchID); err != nil {
				return err
			}
			if err := s.loadENI(reg, nw, where); err != nil {
				return err
			}
		}
		for id := range reg.instances {
			if reg.primaryENI(id) == nil {
				return fmt.Errorf("%s: instance %s has no Primary network interface", where, id)
			}
		}
	}
	return nil
}

func (s *Server) loadPrefixList(reg *region, pw PrefixList, where string) error {
	pwhere := where + ": prefix list " + pw.PrefixListID
	if pw.PrefixListID == "" || reg.prefixLists[pw.PrefixListID] != nil {
		return fmt.Errorf("%s: prefix list id %q empty or repeated", where, pw.PrefixListID)
	}
	pl := &prefixList{id: pw.PrefixListID, name: pw.PrefixListName, desc: pw.Description, family: pw.AddressFamily, maxEntries: pw.MaxEntries, seq: s.nextSeq()}
	switch pl.family {
	case "":
		pl.family = "IPv4"
	case "IPv4", "IPv6":
	default:
		return fmt.Errorf("%s: AddressFamily %q is not IPv4 or IPv6", pwhere, pl.family)
	}
	for _, e := range pw.Entries {
		p, err := netip.ParsePrefix(e.Cidr)
		if err != nil {
			a, aerr := netip.ParseAddr(e.Cidr)
			if aerr != nil {
				return fmt.Errorf("%s: entry %q: %w", pwhere, e.Cidr, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4() != (pl.family == "IPv4") {
			return fmt.Errorf("%s: entry %s is not %s", pwhere, e.Cidr, pl.family)
		}
		pl.entries = append(pl.entries, plEntry{cidr: p, desc: e.Description})
	}
	if pl.maxEntries == 0 {
		pl.maxEntries = max(1, len(pl.entries))
	}
	if len(pl.entries) > pl.maxEntries {
		return fmt.Errorf("%s: %d entries exceed MaxEntries %d", pwhere, len(pl.entries), pl.maxEntries)
	}
	var err error
	pl.created, err = s.loadTime(pw.CreationTime, pwhere)
	reg.prefixLists[pl.id] = pl
	return err
}

func (s *Server) loadRules(reg *region, g *group, ps []Permission, where string) error {
	g.rules = make([]rule, 0, len(ps))
	for i := range ps {
		pw := &ps[i]
		rwhere := fmt.Sprintf("%s: security group %s: Permissions[%d]", where, g.id, i)
		var d direction
		switch strings.ToLower(pw.Direction) {
		case "ingress":
			d = dirIngress
		case "egress":
			d = dirEgress
		default:
			return fmt.Errorf("%s: Direction %q is not ingress or egress", rwhere, pw.Direction)
		}
		p := pw.perm()
		r, e := s.buildRule(d, &p)
		if e == nil {
			e = s.checkRefs(reg, g, &r, false)
		}
		if e != nil {
			return fmt.Errorf("%s: %s: %s", rwhere, e.code, e.msg)
		}
		r.id = pw.SecurityGroupRuleID
		if r.id == "" {
			r.id = newID("sgr-", reg.id)
		} else if g.findRule(r.id) >= 0 {
			return fmt.Errorf("%s: rule id %s repeated", rwhere, r.id)
		}
		if j := slices.IndexFunc(g.rules, func(x rule) bool { return x.sameIdentity(&r) }); j >= 0 {
			return fmt.Errorf("%s: duplicates rule %s", rwhere, g.rules[j].id)
		}
		var err error
		if r.created, err = s.loadTime(pw.CreateTime, rwhere); err != nil {
			return err
		}
		g.ruleSeq++
		r.seq = g.ruleSeq
		g.rules = append(g.rules, r)
	}
	return nil
}

func (s *Server) loadENI(reg *region, nw NetworkInterface, where string) error {
	nwhere := where + ": network interface " + nw.NetworkInterfaceID
	if nw.NetworkInterfaceID == "" || reg.enis[nw.NetworkInterfaceID] != nil {
		return fmt.Errorf("%s: network interface id %q empty or repeated", where, nw.NetworkInterfaceID)
	}
	n := &eni{id: nw.NetworkInterfaceID, name: nw.NetworkInterfaceName, typ: nw.Type, status: nw.Status,
		instanceID: nw.InstanceID, vpcID: nw.VpcID, vswitchID: nw.VSwitchID, zoneID: nw.ZoneID,
		mac: nw.MacAddress, desc: nw.Description, deviceIndex: nw.DeviceIndex}
	switch n.typ {
	case "Primary":
		if n.instanceID == "" {
			return fmt.Errorf("%s: a Primary network interface needs an InstanceId", nwhere)
		}
		if reg.primaryENI(n.instanceID) != nil {
			return fmt.Errorf("%s: instance %s already has a Primary network interface", nwhere, n.instanceID)
		}
	case "Secondary":
	default:
		return fmt.Errorf("%s: Type %q is not Primary or Secondary", nwhere, n.typ)
	}
	if n.instanceID != "" {
		in := reg.instances[n.instanceID]
		if in == nil {
			return fmt.Errorf("%s: instance %q is not declared", nwhere, n.instanceID)
		}
		if in.vpcID != n.vpcID {
			return fmt.Errorf("%s: vpc %q differs from its instance's %q", nwhere, n.vpcID, in.vpcID)
		}
	}
	if n.status == "" {
		n.status = "Available"
		if n.instanceID != "" {
			n.status = "InUse"
		}
	}
	var err error
	if n.primaryIP, err = parseAddr(nw.PrivateIPAddress, nwhere); err != nil {
		return err
	}
	if n.publicIP, err = parseAddr(nw.PublicIPAddress, nwhere); err != nil {
		return err
	}
	for _, v := range nw.SecondaryPrivateIPAddresses {
		a, err := parseAddr(v, nwhere)
		if err != nil {
			return err
		}
		n.secondaryIPs = append(n.secondaryIPs, a)
	}
	for _, v := range nw.Ipv6Addresses {
		a, err := parseAddr(v, nwhere)
		if err != nil {
			return err
		}
		n.ipv6 = append(n.ipv6, a)
	}
	if len(nw.SecurityGroupIDs) == 0 || len(nw.SecurityGroupIDs) > maxGroupsPerENI {
		return fmt.Errorf("%s: %d security groups; 1 to %d required", nwhere, len(nw.SecurityGroupIDs), maxGroupsPerENI)
	}
	for _, id := range nw.SecurityGroupIDs {
		g := reg.groups[id]
		switch {
		case g == nil:
			return fmt.Errorf("%s: security group %q is not declared in this region", nwhere, id)
		case g.vpcID != n.vpcID:
			return fmt.Errorf("%s: security group %s is in vpc %q, not %q", nwhere, id, g.vpcID, n.vpcID)
		case n.inGroup(id):
			return fmt.Errorf("%s: security group %s listed twice", nwhere, id)
		}
		n.groups = append(n.groups, id)
		g.members++
	}
	if n.created, err = s.loadTime(nw.CreationTime, nwhere); err != nil {
		return err
	}
	if n.tags, err = loadTags(nw.Tags, nwhere); err != nil {
		return err
	}
	reg.enis[n.id] = n
	return nil
}

// World exports the current state; Load(World()) reproduces it exactly.
func (s *Server) World() World {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var w World
	ids := make([]string, 0, len(s.regions))
	for id := range s.regions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		w.Regions = append(w.Regions, s.exportRegion(s.regions[id]))
	}
	return w
}

func (s *Server) exportRegion(reg *region) Region {
	rw := Region{RegionID: reg.id, Zones: append([]string(nil), reg.zones...)}
	for _, id := range sortedMapKeys(reg.vpcs) {
		v := reg.vpcs[id]
		rw.Vpcs = append(rw.Vpcs, Vpc{VpcID: v.id, VpcName: v.name, CidrBlock: v.cidr})
	}
	for _, id := range sortedMapKeys(reg.vswitches) {
		v := reg.vswitches[id]
		rw.VSwitches = append(rw.VSwitches, VSwitch{VSwitchID: v.id, VpcID: v.vpcID, ZoneID: v.zoneID, CidrBlock: v.cidr, VSwitchName: v.name})
	}
	for _, g := range reg.sortedGroups() {
		gw := SecurityGroup{SecurityGroupID: g.id, SecurityGroupName: g.name, Description: g.desc, VpcID: g.vpcID,
			SecurityGroupType: g.typ(), InnerAccessPolicy: g.innerPolicy(), ResourceGroupID: g.resourceGroupID,
			ServiceManaged: g.serviceManaged, CreationTime: fmtTime(g.created), Tags: exportTags(g.tags)}
		for i := range g.rules {
			gw.Permissions = append(gw.Permissions, exportRule(reg, &g.rules[i]))
		}
		rw.SecurityGroups = append(rw.SecurityGroups, gw)
	}
	for _, in := range reg.sortedInstances() {
		rw.Instances = append(rw.Instances, Instance{InstanceID: in.id, InstanceName: in.name, ZoneID: in.zoneID,
			VpcID: in.vpcID, VSwitchID: in.vswitchID, Status: in.status, InstanceType: in.instanceType,
			CreationTime: fmtTime(in.created), Tags: exportTags(in.tags)})
	}
	for _, n := range reg.sortedENIs() {
		nw := NetworkInterface{NetworkInterfaceID: n.id, NetworkInterfaceName: n.name, Type: n.typ, Status: n.status,
			InstanceID: n.instanceID, DeviceIndex: n.deviceIndex, VpcID: n.vpcID, VSwitchID: n.vswitchID, ZoneID: n.zoneID,
			MacAddress: n.mac, Description: n.desc, PrivateIPAddress: ipString(n.primaryIP), PublicIPAddress: ipString(n.publicIP),
			SecurityGroupIDs: append([]string(nil), n.groups...), CreationTime: fmtTime(n.created), Tags: exportTags(n.tags)}
		for _, a := range n.secondaryIPs {
			nw.SecondaryPrivateIPAddresses = append(nw.SecondaryPrivateIPAddresses, a.String())
		}
		for _, a := range n.ipv6 {
			nw.Ipv6Addresses = append(nw.Ipv6Addresses, a.String())
		}
		rw.NetworkInterfaces = append(rw.NetworkInterfaces, nw)
	}
	for _, id := range sortedMapKeys(reg.prefixLists) {
		pl := reg.prefixLists[id]
		pw := PrefixList{PrefixListID: pl.id, PrefixListName: pl.name, Description: pl.desc, AddressFamily: pl.family,
			MaxEntries: pl.maxEntries, CreationTime: fmtTime(pl.created)}
		for _, e := range pl.entries {
			pw.Entries = append(pw.Entries, PrefixListEntry{Cidr: e.cidr.String(), Description: e.desc})
		}
		rw.PrefixLists = append(rw.PrefixLists, pw)
	}
	return rw
}

func exportRule(reg *region, r *rule) Permission {
	p := r.toPerm()
	pw := Permission{
		SecurityGroupRuleID: r.id, Direction: r.dir.String(), IpProtocol: p.IpProtocol, PortRange: p.PortRange,
		SourcePortRange: p.SourcePortRange, SourceCidrIp: p.SourceCidrIp, Ipv6SourceCidrIp: p.Ipv6SourceCidrIp,
		SourceGroupID: p.SourceGroupId, SourceGroupOwnerAccount: p.SourceGroupOwnerAccount, SourceGroupOwnerID: p.SourceGroupOwnerId,
		SourcePrefixListID: p.SourcePrefixListId, DestCidrIp: p.DestCidrIp, Ipv6DestCidrIp: p.Ipv6DestCidrIp,
		DestGroupID: p.DestGroupId, DestGroupOwnerAccount: p.DestGroupOwnerAccount, DestGroupOwnerID: p.DestGroupOwnerId,
		DestPrefixListID: p.DestPrefixListId, Policy: p.Policy, Priority: Priority(r.prio), NicType: p.NicType,
		Description: r.desc, CreateTime: fmtTime(r.created),
	}
	name := func(id string) string {
		if g := reg.groups[id]; g != nil {
			return g.name
		}
		return ""
	}
	plName := func(id string) string {
		if pl := reg.prefixLists[id]; pl != nil {
			return pl.name
		}
		return ""
	}
	pw.SourceGroupName, pw.DestGroupName = name(pw.SourceGroupID), name(pw.DestGroupID)
	pw.SourcePrefixListName, pw.DestPrefixListName = plName(pw.SourcePrefixListID), plName(pw.DestPrefixListID)
	return pw
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

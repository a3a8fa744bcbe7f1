package ecs

import (
	"net/netip"
	"slices"
)

type apiPublicIP struct {
	PublicIPAddress string `json:"PublicIpAddress"`
	AllocationID    string `json:"AllocationId"`
}

type apiPrivateIPSet struct {
	PrivateIPAddress   string      `json:"PrivateIpAddress"`
	Primary            bool        `json:"Primary"`
	AssociatedPublicIP apiPublicIP `json:"AssociatedPublicIp"`
}

type apiPrivateIPSets struct {
	PrivateIPSet []apiPrivateIPSet `json:"PrivateIpSet"`
}

type apiIPv6Set struct {
	Ipv6Address string `json:"Ipv6Address"`
}

type apiSGIDs struct {
	SecurityGroupID []string `json:"SecurityGroupId"`
}

type apiENI struct {
	NetworkInterfaceID   string           `json:"NetworkInterfaceId"`
	NetworkInterfaceName string           `json:"NetworkInterfaceName"`
	Status               string           `json:"Status"`
	Type                 string           `json:"Type"`
	VpcID                string           `json:"VpcId"`
	VSwitchID            string           `json:"VSwitchId"`
	ZoneID               string           `json:"ZoneId"`
	PrivateIPAddress     string           `json:"PrivateIpAddress"`
	MacAddress           string           `json:"MacAddress"`
	InstanceID           string           `json:"InstanceId"`
	CreationTime         string           `json:"CreationTime"`
	Description          string           `json:"Description"`
	OwnerID              string           `json:"OwnerId"`
	SecurityGroupIDs     apiSGIDs         `json:"SecurityGroupIds"`
	AssociatedPublicIP   apiPublicIP      `json:"AssociatedPublicIp"`
	PrivateIPSets        apiPrivateIPSets `json:"PrivateIpSets"`
	Ipv6Sets             struct {
		Ipv6Set []apiIPv6Set `json:"Ipv6Set"`
	} `json:"Ipv6Sets"`
	Attachment struct {
		InstanceID  string `json:"InstanceId"`
		DeviceIndex int    `json:"DeviceIndex"`
	} `json:"Attachment"`
	Tags apiTags `json:"Tags"`
}

func ipString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func privateIPSets(e *eni) apiPrivateIPSets {
	sets := apiPrivateIPSets{PrivateIPSet: []apiPrivateIPSet{}}
	if e.primaryIP.IsValid() {
		sets.PrivateIPSet = append(sets.PrivateIPSet, apiPrivateIPSet{
			PrivateIPAddress: e.primaryIP.String(), Primary: true,
			AssociatedPublicIP: apiPublicIP{PublicIPAddress: ipString(e.publicIP)},
		})
	}
	for _, a := range e.secondaryIPs {
		sets.PrivateIPSet = append(sets.PrivateIPSet, apiPrivateIPSet{PrivateIPAddress: a.String()})
	}
	return sets
}

func (s *Server) renderENI(e *eni) apiENI {
	out := apiENI{
		NetworkInterfaceID: e.id, NetworkInterfaceName: e.name, Status: e.status, Type: e.typ,
		VpcID: e.vpcID, VSwitchID: e.vswitchID, ZoneID: e.zoneID, PrivateIPAddress: ipString(e.primaryIP),
		MacAddress: e.mac, InstanceID: e.instanceID, CreationTime: fmtTime(e.created), Description: e.desc,
		OwnerID:            accountID(),
		SecurityGroupIDs:   apiSGIDs{SecurityGroupID: append([]string{}, e.groups...)},
		AssociatedPublicIP: apiPublicIP{PublicIPAddress: ipString(e.publicIP)},
		PrivateIPSets:      privateIPSets(e),
		Tags:               renderTags(e.tags),
	}
	out.Ipv6Sets.Ipv6Set = []apiIPv6Set{}
	for _, a := range e.ipv6 {
		out.Ipv6Sets.Ipv6Set = append(out.Ipv6Sets.Ipv6Set, apiIPv6Set{a.String()})
	}
	out.Attachment.InstanceID = e.instanceID
	out.Attachment.DeviceIndex = e.deviceIndex
	return out
}

// describeNetworkInterfaces filters ENIs. As on the real API, the
// SecurityGroupId filter matches secondary ENIs only; primary ENIs are found
// through DescribeInstances(SecurityGroupId) or NetworkInterfaceId.N.
func (s *Server) describeNetworkInterfaces(c *call) (any, *writeResult, *apiError) {
	ids, e := repeated(c, "NetworkInterfaceId", 100)
	if e != nil {
		return nil, nil, e
	}
	ips, e := repeated(c, "PrivateIpAddress", 100)
	if e != nil {
		return nil, nil, e
	}
	tfs, e := tagParams(c)
	if e != nil {
		return nil, nil, e
	}
	pg, e := readPager(c, "eni", 10, 10, 500, 1000)
	if e != nil {
		return nil, nil, e
	}
	sg, typ, inst := c.get("SecurityGroupId"), c.get("Type"), c.get("InstanceId")
	vpcID, vsw, status, name := c.get("VpcId"), c.get("VSwitchId"), c.get("Status"), c.get("NetworkInterfaceName")
	primaryIP := c.get("PrimaryIpAddress")
	s.mu.RLock()
	defer s.mu.RUnlock()
	var match []*eni
	if reg := s.regions[c.region]; reg != nil {
		for _, n := range reg.sortedENIs() {
			switch {
			case len(ids) > 0 && !slices.Contains(ids, n.id),
				sg != "" && (n.typ != "Secondary" || !n.inGroup(sg)),
				typ != "" && n.typ != typ,
				inst != "" && n.instanceID != inst,
				vpcID != "" && n.vpcID != vpcID,
				vsw != "" && n.vswitchID != vsw,
				status != "" && n.status != status,
				name != "" && n.name != name,
				primaryIP != "" && ipString(n.primaryIP) != primaryIP,
				len(ips) > 0 && !slices.ContainsFunc(ips, func(ip string) bool { a, err := netip.ParseAddr(ip); return err == nil && n.hasIP(a) }),
				!matchTags(n.tags, tfs):
				continue
			}
			match = append(match, n)
		}
	}
	got, next := page(pg, match, func(n *eni) string { return n.id }, lessStr, "eni")
	out := make([]apiENI, 0, len(got))
	for _, n := range got {
		out = append(out, s.renderENI(n))
	}
	type sets struct {
		NetworkInterfaceSet []apiENI `json:"NetworkInterfaceSet"`
	}
	return struct {
		RequestID            string `json:"RequestId"`
		TotalCount           int    `json:"TotalCount"`
		PageNumber           int    `json:"PageNumber,omitempty"`
		PageSize             int    `json:"PageSize,omitempty"`
		NextToken            string `json:"NextToken"`
		NetworkInterfaceSets sets   `json:"NetworkInterfaceSets"`
	}{c.requestID, len(match), pg.pageNumber, pg.pageSize, next, sets{out}}, nil, nil
}

type apiInstanceENI struct {
	NetworkInterfaceID string           `json:"NetworkInterfaceId"`
	Type               string           `json:"Type"`
	PrimaryIPAddress   string           `json:"PrimaryIpAddress"`
	MacAddress         string           `json:"MacAddress"`
	PrivateIPSets      apiPrivateIPSets `json:"PrivateIpSets"`
}

type apiIPList struct {
	IPAddress []string `json:"IpAddress"`
}

type apiInstance struct {
	InstanceID          string   `json:"InstanceId"`
	InstanceName        string   `json:"InstanceName"`
	RegionID            string   `json:"RegionId"`
	ZoneID              string   `json:"ZoneId"`
	Status              string   `json:"Status"`
	InstanceType        string   `json:"InstanceType"`
	InstanceNetworkType string   `json:"InstanceNetworkType"`
	CreationTime        string   `json:"CreationTime"`
	SecurityGroupIDs    apiSGIDs `json:"SecurityGroupIds"`
	VpcAttributes       struct {
		VpcID            string    `json:"VpcId"`
		VSwitchID        string    `json:"VSwitchId"`
		NatIPAddress     string    `json:"NatIpAddress"`
		PrivateIPAddress apiIPList `json:"PrivateIpAddress"`
	} `json:"VpcAttributes"`
	PublicIPAddress   apiIPList `json:"PublicIpAddress"`
	InnerIPAddress    apiIPList `json:"InnerIpAddress"`
	NetworkInterfaces struct {
		NetworkInterface []apiInstanceENI `json:"NetworkInterface"`
	} `json:"NetworkInterfaces"`
	Tags apiTags `json:"Tags"`
}

func (s *Server) describeInstances(c *call) (any, *writeResult, *apiError) {
	ids, e := listParam(c, "InstanceIds", 100)
	if e != nil {
		return nil, nil, e
	}
	tfs, e := tagParams(c)
	if e != nil {
		return nil, nil, e
	}
	pg, e := readPager(c, "i", 10, 1, 100, 100)
	if e != nil {
		return nil, nil, e
	}
	sg, vpcID, vsw, zone, status, name := c.get("SecurityGroupId"), c.get("VpcId"), c.get("VSwitchId"), c.get("ZoneId"), c.get("Status"), c.get("InstanceName")
	s.mu.RLock()
	defer s.mu.RUnlock()
	reg := s.regions[c.region]
	var match []*instance
	if reg != nil {
		for _, in := range reg.sortedInstances() {
			p := reg.primaryENI(in.id)
			switch {
			case len(ids) > 0 && !slices.Contains(ids, in.id),
				sg != "" && (p == nil || !p.inGroup(sg)),
				vpcID != "" && in.vpcID != vpcID,
				vsw != "" && in.vswitchID != vsw,
				zone != "" && in.zoneID != zone,
				status != "" && in.status != status,
				name != "" && in.name != name,
				!matchTags(in.tags, tfs):
				continue
			}
			match = append(match, in)
		}
	}
	got, next := page(pg, match, func(in *instance) string { return in.id }, lessStr, "i")
	out := make([]apiInstance, 0, len(got))
	for _, in := range got {
		a := apiInstance{
			InstanceID: in.id, InstanceName: in.name, RegionID: reg.id, ZoneID: in.zoneID, Status: in.status,
			InstanceType: in.instanceType, InstanceNetworkType: "vpc", CreationTime: fmtTime(in.created),
			SecurityGroupIDs: apiSGIDs{SecurityGroupID: []string{}},
			PublicIPAddress:  apiIPList{IPAddress: []string{}}, InnerIPAddress: apiIPList{IPAddress: []string{}},
			Tags: renderTags(in.tags),
		}
		a.VpcAttributes.VpcID, a.VpcAttributes.VSwitchID = in.vpcID, in.vswitchID
		a.VpcAttributes.PrivateIPAddress.IPAddress = []string{}
		a.NetworkInterfaces.NetworkInterface = []apiInstanceENI{}
		for _, n := range reg.instanceENIs(in.id) {
			if n.typ == "Primary" {
				a.SecurityGroupIDs.SecurityGroupID = append(a.SecurityGroupIDs.SecurityGroupID, n.groups...)
				if n.primaryIP.IsValid() {
					a.VpcAttributes.PrivateIPAddress.IPAddress = append(a.VpcAttributes.PrivateIPAddress.IPAddress, n.primaryIP.String())
				}
				if n.publicIP.IsValid() {
					a.PublicIPAddress.IPAddress = append(a.PublicIPAddress.IPAddress, n.publicIP.String())
				}
			}
			a.NetworkInterfaces.NetworkInterface = append(a.NetworkInterfaces.NetworkInterface, apiInstanceENI{
				NetworkInterfaceID: n.id, Type: n.typ, PrimaryIPAddress: ipString(n.primaryIP), MacAddress: n.mac,
				PrivateIPSets: privateIPSets(n),
			})
		}
		out = append(out, a)
	}
	type instances struct {
		Instance []apiInstance `json:"Instance"`
	}
	return struct {
		RequestID  string    `json:"RequestId"`
		TotalCount int       `json:"TotalCount"`
		PageNumber int       `json:"PageNumber,omitempty"`
		PageSize   int       `json:"PageSize,omitempty"`
		NextToken  string    `json:"NextToken"`
		Instances  instances `json:"Instances"`
	}{c.requestID, len(match), pg.pageNumber, pg.pageSize, next, instances{out}}, nil, nil
}

// membershipTarget resolves InstanceId (its primary ENI) or NetworkInterfaceId.
func (s *Server) membershipTarget(c *call, reg *region) (*eni, map[string][]string, *apiError) {
	inst, eniID := c.get("InstanceId"), c.get("NetworkInterfaceId")
	switch {
	case inst != "" && eniID != "":
		return nil, nil, errf(400, "InvalidParameter.Conflict", "InstanceId and NetworkInterfaceId cannot be specified at the same time.")
	case inst != "":
		if reg.instances[inst] == nil {
			return nil, nil, errf(404, "InvalidInstanceId.NotFound", "The specified InstanceId %q does not exist.", inst)
		}
		p := reg.primaryENI(inst)
		if p == nil {
			return nil, nil, errf(403, "IncorrectInstanceStatus", "The instance %s has no primary network interface.", inst)
		}
		return p, map[string][]string{"ACS::ECS::Instance": {inst}}, nil
	case eniID != "":
		n := reg.enis[eniID]
		if n == nil {
			return nil, nil, errf(404, "InvalidNetworkInterfaceId.NotFound", "The specified NetworkInterfaceId %q does not exist.", eniID)
		}
		return n, map[string][]string{"ACS::ECS::NetworkInterface": {eniID}}, nil
	}
	return nil, nil, errMissing("InstanceId")
}

func (s *Server) joinSecurityGroup(c *call) (any, *writeResult, *apiError) {
	reg, g, e := s.lockedGroup(c)
	if e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	n, refs, e := s.membershipTarget(c, reg)
	if e != nil {
		return nil, nil, e
	}
	switch {
	case n.vpcID != g.vpcID:
		return nil, nil, errf(400, "InvalidInstanceId.Mismatch", "Specified instance and security group are not in the same VPC.")
	case n.inGroup(g.id):
		return nil, nil, errf(403, "InvalidInstanceId.AlreadyExists", "The specified instance already exists in the specified security group.")
	case len(n.groups) >= maxGroupsPerENI:
		return nil, nil, errf(400, "InstanceSecurityGroupLimitExceeded", "Exceeding the allowed amount of security groups that an instance can be in (%d).", maxGroupsPerENI)
	}
	n.groups = append(n.groups, g.id)
	g.members++
	refs["ACS::ECS::SecurityGroup"] = []string{g.id}
	return requestIDOnly{c.requestID}, &writeResult{resources: refs}, nil
}

func (s *Server) leaveSecurityGroup(c *call) (any, *writeResult, *apiError) {
	reg, g, e := s.lockedGroup(c)
	if e != nil {
		return nil, nil, e
	}
	defer s.mu.Unlock()
	n, refs, e := s.membershipTarget(c, reg)
	if e != nil {
		return nil, nil, e
	}
	switch {
	case !n.inGroup(g.id):
		return nil, nil, errf(403, "InstanceNotInSecurityGroup", "The instance is not in the specified security group %s.", g.id)
	case len(n.groups) == 1:
		return nil, nil, errf(403, "InstanceLastSecurityGroup", "The specified security group is the last security group for the instance.")
	}
	n.groups = slices.DeleteFunc(n.groups, func(id string) bool { return id == g.id })
	g.members--
	refs["ACS::ECS::SecurityGroup"] = []string{g.id}
	return requestIDOnly{c.requestID}, &writeResult{resources: refs}, nil
}

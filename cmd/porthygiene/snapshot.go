package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/porthygiene/porthygiene/localcloud"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/rule"
)

const snapshotNotes = `
Writes the account's ECS state as a localcloud seed (localcloud/ecs/SEED.md),
which 'porthygiene local --seed FILE' loads: security groups with their rules
(ids, priorities, descriptions and creation times kept) and tags, network
interfaces with their groups and addresses, the instances they belong to, and
the prefix lists the rules name. Read-only: nothing in the account changes.

Not exported (the ECS adapter reads only what porthygiene needs): instance
names, types, states and tags; VSwitches and VPC names and CIDRs (VPCs are
declared by id); secondary private and IPv6 addresses of interfaces; prefix
list names and entry descriptions; group creation times. Instances are those that
have a primary network interface.

Exit codes: 0 written; 1 a cloud call failed (nothing is written); 2 bad usage.
`

func runSnapshot(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("snapshot", "[--region R[,R...]] [--output FILE] [flags] > world.json", env.stderr)
	var cf cloudFlags
	cf.registerAccount(fs, "regions to export, comma-separated (default ALIBABA_CLOUD_REGION_ID, the profile's region, or localcloud's)")
	output := fs.String("output", "", "write the seed to FILE instead of stdout")
	withNotes(fs, env.stderr, snapshotNotes)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	conns, err := cf.openRegions(env, false)
	if err != nil {
		return err
	}
	seed := localcloud.Seed{Region: conns[0].region}
	for _, c := range conns {
		r, err := snapshotRegion(ctx, c)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", c.region, err)
		}
		seed.Regions = append(seed.Regions, r)
		rules := 0
		for _, g := range r.SecurityGroups {
			rules += len(g.Permissions)
		}
		fmt.Fprintf(env.stderr, "snapshot %s: %d security groups, %d rules, %d instances, %d network interfaces, %d prefix lists\n",
			c.region, len(r.SecurityGroups), rules, len(r.Instances), len(r.NetworkInterfaces), len(r.PrefixLists))
	}
	data, err := json.MarshalIndent(seed, "", "  ")
	if err != nil {
		return fmt.Errorf("encode seed: %w", err)
	}
	data = append(data, '\n')
	if *output == "" {
		_, err = env.stdout.Write(data)
		return err
	}
	if err := os.WriteFile(*output, data, 0o644); err != nil {
		return fmt.Errorf("write --output: %w", err)
	}
	return nil
}

// snapshotRegion reads one region into the seed format.
func snapshotRegion(ctx context.Context, c *conn) (lcecs.Region, error) {
	reg := lcecs.Region{RegionID: c.region}
	groups, err := c.ecs.ListGroups(ctx, ecsapi.ListOptions{})
	if err != nil {
		return reg, err
	}
	attrs := make([]rule.Attribute, len(groups))
	err = forEach(ctx, len(groups), auditWorkers, func(ctx context.Context, i int) error {
		a, err := c.ecs.DescribeRules(ctx, groups[i].ID)
		attrs[i] = a
		return err
	})
	if err != nil {
		return reg, err
	}
	vpcs := map[string]bool{}
	plIDs := map[string]bool{}
	for i, g := range groups {
		a := attrs[i]
		sg := lcecs.SecurityGroup{
			SecurityGroupID:   g.ID,
			SecurityGroupName: g.Name,
			Description:       a.Description,
			VpcID:             g.VpcID,
			SecurityGroupType: g.Type,
			InnerAccessPolicy: apiPolicy(a.InnerAccessPolicy),
			Tags:              seedTags(g.Tags),
		}
		for _, r := range a.Rules {
			sg.Permissions = append(sg.Permissions, seedPermission(r))
			if r.Peer.Kind == rule.PeerPrefixList && r.Peer.OwnerAccount == "" {
				plIDs[r.Peer.ID] = true
			}
		}
		vpcs[g.VpcID] = true
		reg.SecurityGroups = append(reg.SecurityGroups, sg)
	}

	enis, err := c.ecs.NetworkInterfaces(ctx, ecsapi.ENIOptions{})
	if err != nil {
		return reg, err
	}
	slices.SortStableFunc(enis, func(a, b ecsapi.ENI) int {
		return cmp.Or(strings.Compare(a.InstanceID, b.InstanceID), strings.Compare(primaryFirst(a), primaryFirst(b)))
	})
	hasPrimary := map[string]bool{}
	for _, e := range enis {
		if e.InstanceID != "" && strings.EqualFold(e.Type, "Primary") {
			hasPrimary[e.InstanceID] = true
		}
	}
	zones := map[string]bool{}
	for _, e := range enis {
		n := lcecs.NetworkInterface{
			NetworkInterfaceID: e.ID,
			Type:               e.Type,
			InstanceID:         e.InstanceID,
			VpcID:              e.VpcID,
			ZoneID:             e.ZoneID,
			SecurityGroupIDs:   slices.Clone(e.GroupIDs),
		}
		if !hasPrimary[e.InstanceID] {
			n.InstanceID = "" // a seed instance needs its primary interface
		}
		if e.PrivateIP.IsValid() {
			n.PrivateIPAddress = e.PrivateIP.String()
		}
		if e.PublicIP.IsValid() {
			n.PublicIPAddress = e.PublicIP.String()
		}
		if n.InstanceID != "" && strings.EqualFold(e.Type, "Primary") {
			reg.Instances = append(reg.Instances, lcecs.Instance{InstanceID: e.InstanceID, ZoneID: e.ZoneID, VpcID: e.VpcID})
		}
		vpcs[e.VpcID] = true
		zones[e.ZoneID] = true
		reg.NetworkInterfaces = append(reg.NetworkInterfaces, n)
	}

	for _, id := range slices.Sorted(maps.Keys(plIDs)) {
		entries, err := c.ecs.PrefixListEntries(ctx, id)
		if err != nil {
			return reg, err
		}
		pl := lcecs.PrefixList{PrefixListID: id, AddressFamily: "IPv4"}
		for _, p := range entries {
			if p.Addr().Is6() {
				pl.AddressFamily = "IPv6"
			}
			pl.Entries = append(pl.Entries, lcecs.PrefixListEntry{Cidr: p.String()})
		}
		reg.PrefixLists = append(reg.PrefixLists, pl)
	}
	for _, id := range slices.Sorted(maps.Keys(vpcs)) {
		if id != "" {
			reg.Vpcs = append(reg.Vpcs, lcecs.Vpc{VpcID: id})
		}
	}
	for _, z := range slices.Sorted(maps.Keys(zones)) {
		if z != "" {
			reg.Zones = append(reg.Zones, z)
		}
	}
	return reg, nil
}

// seedPermission writes a rule as DescribeSecurityGroupAttribute names it.
func seedPermission(r rule.Rule) lcecs.Permission {
	p := r.Permission()
	return lcecs.Permission{
		SecurityGroupRuleID:     p.SecurityGroupRuleId,
		Direction:               p.Direction,
		IpProtocol:              strings.ToUpper(p.IpProtocol),
		PortRange:               p.PortRange,
		SourcePortRange:         p.SourcePortRange,
		SourceCidrIp:            p.SourceCidrIp,
		Ipv6SourceCidrIp:        p.Ipv6SourceCidrIp,
		SourceGroupID:           p.SourceGroupId,
		SourceGroupOwnerAccount: p.SourceGroupOwnerAccount,
		SourceGroupOwnerID:      p.SourceGroupOwnerId,
		SourcePrefixListID:      p.SourcePrefixListId,
		DestCidrIp:              p.DestCidrIp,
		Ipv6DestCidrIp:          p.Ipv6DestCidrIp,
		DestGroupID:             p.DestGroupId,
		DestGroupOwnerAccount:   p.DestGroupOwnerAccount,
		DestGroupOwnerID:        p.DestGroupOwnerId,
		DestPrefixListID:        p.DestPrefixListId,
		Policy:                  apiPolicy(r.Policy),
		Priority:                lcecs.Priority(r.Priority),
		NicType:                 p.NicType,
		Description:             p.Description,
		CreateTime:              p.CreateTime,
	}
}

// apiPolicy writes accept/drop as the API does: Accept, Drop.
func apiPolicy(p rule.Policy) string {
	switch p {
	case rule.Accept:
		return "Accept"
	case rule.Drop:
		return "Drop"
	}
	return ""
}

func seedTags(m map[string]string) []lcecs.Tag {
	var out []lcecs.Tag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, lcecs.Tag{Key: k, Value: m[k]})
	}
	return out
}

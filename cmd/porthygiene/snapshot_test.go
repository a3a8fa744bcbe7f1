package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

// TestSnapshotReplays: a snapshot of the demo world loads into a second
// localcloud, whose groups, rules, tags and interfaces are those of the first.
func TestSnapshotReplays(t *testing.T) {
	c1, ep1 := auditWorld(t, nil)
	// A prefix-list rule, so that the list is exported too.
	cl := lctest.ECS(t, c1)
	authorizePrefixList(t, cl, "sg-bastion", "22/22", "pl-office")

	code, stdout, stderr := runCLI(t, "snapshot", "--endpoints", ep1)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	require.Equal(t, "snapshot cn-hangzhou: 6 security groups, 12 rules, 5 instances, 5 network interfaces, 1 prefix lists\n", stderr)

	seed, err := localcloud.ParseSeed([]byte(stdout))
	require.NoError(t, err, "the snapshot is a strict seed")
	require.Equal(t, "cn-hangzhou", seed.Region)
	c2, ep2 := auditWorld(t, seed)

	w1, w2 := c1.ECS.World(), c2.ECS.World()
	require.Len(t, w2.Regions, 1)
	r1, r2 := w1.Regions[0], w2.Regions[0]
	require.Equal(t, comparable(r1.SecurityGroups), comparable(r2.SecurityGroups), "groups, rules (ids, priorities, times) and tags")
	require.Equal(t, cidrsOf(r1.PrefixLists[0]), cidrsOf(r2.PrefixLists[0]), "entry descriptions are not exported")
	require.Equal(t, enisOf(r1), enisOf(r2))
	require.Equal(t, instanceIDs(r1), instanceIDs(r2))

	// The copy answers as the original does.
	code, a1, _ := runCLI(t, "audit", "--endpoints", ep1, "--markdown")
	require.Equal(t, 0, code)
	code, a2, _ := runCLI(t, "audit", "--endpoints", ep2, "--markdown")
	require.Equal(t, 0, code)
	require.Equal(t, dropFirstLines(a1, 3), dropFirstLines(a2, 3), "same findings (the header has the time)")

	// --output writes a file; the seed round-trips through the loader of
	// `porthygiene local --seed`.
	out := filepath.Join(t.TempDir(), "world.json")
	code, stdout, stderr = runCLI(t, "snapshot", "--endpoints", ep2, "--output", out)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	require.Empty(t, stdout)
	again, err := localcloud.LoadSeed(out)
	require.NoError(t, err)
	require.Equal(t, seed, again, "a snapshot of the copy is the snapshot")
}

func TestSnapshotUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--ouput", "x"}, "flag provided but not defined: -ouput"},
		{[]string{"world.json"}, `unexpected argument "world.json"`},
		{[]string{"--endpoints", "/nonexistent/endpoints.json"}, "--endpoints: open /nonexistent/endpoints.json"},
		{nil, "no credentials"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"snapshot"}, tt.args...)...)
		require.Equal(t, 2, code, "%v: %s", tt.args, stderr)
		require.Empty(t, stdout)
		require.Contains(t, stderr, tt.want)
	}
}

// comparable clears what a snapshot does not carry: group creation times and
// prefix-list names (derived fields of the rules).
func comparable(gs []lcecs.SecurityGroup) []lcecs.SecurityGroup {
	out := slices.Clone(gs)
	for i := range out {
		out[i].CreationTime = ""
		out[i].Permissions = slices.Clone(out[i].Permissions)
		for j := range out[i].Permissions {
			out[i].Permissions[j].SourcePrefixListName, out[i].Permissions[j].DestPrefixListName = "", ""
		}
	}
	return out
}

func cidrsOf(pl lcecs.PrefixList) []string {
	var out []string
	for _, e := range pl.Entries {
		out = append(out, e.Cidr)
	}
	return out
}

func enisOf(r lcecs.Region) []string {
	var out []string
	for _, n := range r.NetworkInterfaces {
		out = append(out, strings.Join([]string{n.NetworkInterfaceID, n.Type, n.InstanceID, n.VpcID, n.ZoneID, n.PrivateIPAddress, n.PublicIPAddress,
			strings.Join(n.SecurityGroupIDs, "+")}, " "))
	}
	slices.Sort(out)
	return out
}

func instanceIDs(r lcecs.Region) []string {
	var out []string
	for _, i := range r.Instances {
		out = append(out, i.InstanceID+" "+i.ZoneID+" "+i.VpcID)
	}
	slices.Sort(out)
	return out
}

func dropFirstLines(s string, n int) string {
	for range n {
		_, s, _ = strings.Cut(s, "\n")
	}
	return s
}

// authorizePrefixList adds an ingress tcp rule from a prefix list.
func authorizePrefixList(t *testing.T, cl *ecs.Client, group, ports, pl string) {
	t.Helper()
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", group
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: ports, SourcePrefixListId: pl, Priority: "3", Description: "ssh from the office"}}
	_, err := cl.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
}

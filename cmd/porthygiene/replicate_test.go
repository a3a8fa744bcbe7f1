package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/replicate"
)

// The default world: set web (sg-web → sg-web-dr, sg-web-sh) and set db
// (sg-db → sg-db-sh), declared by the replicas' tags, all in step.
func TestReplicateStatusAndPlanOfTheDefaultWorld(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{})
	ep := endpointsFileFor(t, c)
	code, out, errs := cli(t, "replicate", "status", "--endpoints", ep, "--region", "cn-hangzhou,cn-shanghai")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "set web (mirror), primary cn-hangzhou/sg-web")
	require.Contains(t, out, "replica cn-shanghai/sg-web-sh: in step")
	require.Contains(t, out, "replica cn-hangzhou/sg-web-dr: in step")
	require.Contains(t, out, "set db (mirror), primary cn-hangzhou/sg-db")

	// Drift by hand, then the plan says what a reconcile would do, as JSON.
	cl := lctest.ECS(t, c)
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-web"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{
		{IpProtocol: "tcp", PortRange: "8443/8443", SourceCidrIp: "10.0.0.0/8", Description: "admin"},
		{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0", Description: "debug"},
	}
	_, err := cl.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	code, out, errs = cli(t, "replicate", "plan", "--endpoints", ep, "--region", "cn-hangzhou,cn-shanghai", "--set", "web", "--json")
	require.Equal(t, 0, code, errs)
	var rep replicate.Report
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&rep), out)
	require.Len(t, rep.Sets, 1)
	s := rep.Sets[0]
	require.Equal(t, "web", s.Name)
	require.Equal(t, replicate.Mirror, s.Mode)
	require.Equal(t, replicate.GroupRef{Region: "cn-hangzhou", GroupID: "sg-web"}, s.Primary)
	require.Len(t, s.Replicas, 2)
	for _, r := range s.Replicas {
		require.Equal(t, []replicate.RuleJSON{{Direction: "ingress", Protocol: "tcp", PortRange: "8443/8443", Source: "10.0.0.0/8", Policy: "accept", Priority: 1, Description: "admin"}}, r.Add)
		require.Empty(t, r.Remove)
		require.Len(t, r.Skipped, 1)
		require.Equal(t, "22/22", r.Skipped[0].Rule.PortRange)
		require.Contains(t, r.Skipped[0].Reason, "exposure")
	}
	// The JSON's keys are the contract's.
	var raw map[string][]map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &raw))
	require.ElementsMatch(t, []string{"name", "mode", "primary", "replicas"}, keys(raw["sets"][0]))
	r0 := raw["sets"][0]["replicas"].([]any)[0].(map[string]any)
	require.ElementsMatch(t, []string{"region", "securityGroupId", "add", "remove", "skipped"}, keys(r0))
	require.ElementsMatch(t, []string{"direction", "protocol", "portRange", "source", "policy", "priority", "description"}, keys(r0["add"].([]any)[0].(map[string]any)))

	code, _, errs = cli(t, "replicate", "plan", "--endpoints", ep, "--set", "nope")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "no such set")
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// init creates the replica, tags it (the set is declared by its tags) and
// brings it to the primary's rules, the sg peer mapped to the peer's
// replica in that region.
func TestReplicateInitCreatesATaggedReplicaInStep(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{}, "replicator")
	ep := endpointsFileFor(t, c)
	code, out, errs := cli(t, "replicate", "init", "--endpoints", ep, "--primary", "cn-hangzhou/sg-db", "--region", "cn-hangzhou", "--vpc", "vpc-dr", "--name", "db-dr", "--set", "db")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "created replica cn-hangzhou/sg-")
	id := strings.Fields(strings.SplitN(out, "created replica cn-hangzhou/", 2)[1])[0]
	lctest.Settle(t, c)
	// sg-db's rule names sg-web: in vpc-dr that is sg-web's replica there.
	require.Equal(t, []string{"TCP 3306/3306  mysql from web"}, ingress(t, lctest.ECS(t, c), "cn-hangzhou", id))
	code, out, errs = cli(t, "replicate", "status", "--endpoints", ep, "--region", "cn-hangzhou,cn-shanghai")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "replica cn-hangzhou/"+id+": in step")
	attr := ecs.CreateDescribeSecurityGroupAttributeRequest()
	attr.RegionId, attr.SecurityGroupId = "cn-hangzhou", id
	resp, err := lctest.ECS(t, c).DescribeSecurityGroupAttribute(attr)
	require.NoError(t, err)
	require.Len(t, resp.Permissions.Permission, 1)
	require.Equal(t, "sg-web-dr", resp.Permissions.Permission[0].SourceGroupId, "the peer mapped to its replica in vpc-dr")

	// Bad input: a clear error, exit 2, nothing created.
	before := groupCount(t, c)
	for _, args := range [][]string{
		{"--primary", "sg-web", "--region", "cn-shanghai", "--vpc", "vpc-sh"},
		{"--primary", "cn-hangzhou/sg-web", "--region", "cn-shanghai"},
		{"--primary", "cn-hangzhou/sg-web", "--region", "cn-shanghai", "--vpc", "vpc-sh", "--mode", "sync"},
		{"--primary", "cn-hangzhou/sg-web", "--region", "cn-shanghai", "--vpc", "vpc-sh", "--map", "sg-a=pl-b"},
		{"--primary", "cn-hangzhou/sg-nope", "--region", "cn-shanghai", "--vpc", "vpc-sh"},
		{"--primary", "cn-hangzhou/sg-web-dr", "--region", "cn-shanghai", "--vpc", "vpc-sh"},             // a replica as a primary: a chain
		{"--primary", "cn-hangzhou/sg-web", "--region", "cn-shanghai", "--vpc", "vpc-sh", "--set", "db"}, // the name of another set
	} {
		code, _, errs := cli(t, append([]string{"replicate", "init", "--endpoints", ep}, args...)...)
		require.Equal(t, 2, code, "%v: %s", args, errs)
	}
	require.Equal(t, before, groupCount(t, c))
}

func groupCount(t *testing.T, c *localcloud.Cloud) int {
	t.Helper()
	n := 0
	for _, region := range []string{"cn-hangzhou", "cn-shanghai"} {
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = region
		resp, err := lctest.ECS(t, c).DescribeSecurityGroups(req)
		require.NoError(t, err)
		n += len(resp.SecurityGroups.SecurityGroup)
	}
	return n
}

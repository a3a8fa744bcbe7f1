package main

// Several regions: one deployment per region from the same s.yaml
// (PORTHYGIENE_REGION=<region>, PORTHYGIENE_REGIONS=<region>). EventBridge's
// default bus is regional, so a region's ECS events reach only the guard
// deployed in that region; the ActionTrail trail delivers every region's
// events to its logstore, and a guard ignores those of regions it does not
// cover (they are the other deployment's).

import (
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

const second = "cn-shanghai" // the deployment's region; the seed's default region (cn-hangzhou) is the other one

func startInSecondRegion(t *testing.T) *env {
	t.Helper()
	return start(t, localcloud.Options{Getenv: func(k string) string {
		switch k {
		case "PORTHYGIENE_REGION", "PORTHYGIENE_REGIONS":
			return second
		}
		return ""
	}})
}

func (e *env) authorizeIn(region, group string, p perm) {
	e.t.Helper()
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId = region
	req.SecurityGroupId = group
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: p.proto, PortRange: p.ports, SourceCidrIp: p.cidr, Description: p.desc}}
	_, err := e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
}

func (e *env) rulesIn(region, group string) []string {
	e.t.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId = region
	req.SecurityGroupId = group
	req.Direction = "ingress"
	resp, err := e.ecs.DescribeSecurityGroupAttribute(req)
	require.NoError(e.t, err)
	var out []string
	for _, p := range resp.Permissions.Permission {
		out = append(out, p.IpProtocol+" "+p.PortRange+" "+p.SourceCidrIp+" "+p.Policy)
	}
	return out
}

func TestGuardInSecondRegionRevokesItsRegionsExposure(t *testing.T) {
	e := startInSecondRegion(t)
	require.Len(t, e.cloud.Project.Functions, 1)
	require.Equal(t, second, e.cloud.Project.Functions[0].Region, "s.yaml deploys to PORTHYGIENE_REGION")

	req := ecs.CreateCreateSecurityGroupRequest()
	req.RegionId = second
	req.SecurityGroupName = "shanghai-web"
	resp, err := e.ecs.CreateSecurityGroup(req)
	require.NoError(t, err)
	g := resp.SecurityGroupId
	lctest.Settle(t, e.cloud)

	// No clock advance: only the EventBridge path (cn-shanghai's default bus)
	// can have run the guard; the log trigger polls on the virtual clock.
	e.authorizeIn(second, g, perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", desc: "debug"})
	require.NotContains(t, e.rulesIn(second, g), "TCP 22/22 0.0.0.0/0 Accept", "revoked by the event, in its own region")
	revs := e.revocations(g)
	require.Len(t, revs, 1)
	rv, err := revs[0].Revocation()
	require.NoError(t, err)
	require.Equal(t, "AuthorizeSecurityGroup", rv.Event.EventName)
	require.Equal(t, second, revs[0].Region)
	require.Equal(t, "alice", rv.OpenedBy)
}

func TestGuardIgnoresEventsOfRegionsItDoesNotCover(t *testing.T) {
	e := startInSecondRegion(t)
	other := e.cloud.Region() // cn-hangzhou: no guard deployed there in this test

	e.authorizeIn(other, "sg-web", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", desc: "debug"})
	// cn-hangzhou's default bus has no rule of the cn-shanghai deployment.
	for _, r := range e.guardResults() {
		require.NotEqual(t, "actiontrail-events", r["trigger"], "an event of %s reached the %s deployment over EventBridge: %v", other, second, r)
	}
	// The trail delivers every region's events to its logstore; the guard
	// reads them there and ignores the ones of regions it does not cover.
	_, err := e.cloud.Advance(t.Context(), 10*time.Second)
	require.NoError(t, err)
	var ignored bool
	for _, r := range e.guardResults() {
		for _, ig := range asStrings(r["ignored"]) {
			ignored = ignored || strings.Contains(ig, "region "+other+" is not one this function covers")
		}
	}
	require.True(t, ignored, "the trail's copy of the %s event is ignored: %v", other, e.guardResults())

	// Nor does the hourly sweep cover it: it sweeps cn-shanghai only.
	_, err = e.cloud.Advance(t.Context(), time.Hour)
	require.NoError(t, err)
	require.Contains(t, e.rulesIn(other, "sg-web"), "TCP 22/22 0.0.0.0/0 Accept", "%s's exposure is left to %s's own deployment", other, other)
	require.Empty(t, e.revocations("sg-web"))
}

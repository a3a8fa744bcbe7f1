package main

// The sweep's fan-out end to end: the real guard binary plans the hourly sweep,
// invokes itself asynchronously once per slice through localcloud's FC API
// (signed with its STS credentials), and the slices close every exposure, each
// exactly once, within the region's ECS budget.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/fcapi"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

func TestSweepFansOutOneInvocationPerSlice(t *testing.T) {
	const (
		extra  = 30 // exposed groups beyond the default world's
		size   = 10 // PORTHYGIENE_SWEEP_SLICE
		budget = 20 // PORTHYGIENE_ECS_QPS
	)
	// More exposures than the default pace's 20 a minute: the pace is exact
	// across the slices, so at 20 the rest would wait for a paced
	// continuation a minute later (TestGuardBurstReachesDingTalkWithinTheLimit).
	// This test is about the fan-out: the shipped policy, with a pace that
	// allows them all.
	shipped, err := os.ReadFile(filepath.Join(lctest.RepoRoot(), "policy.yaml"))
	require.NoError(t, err)
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(pol, append(shipped, "\nmaxChangesPerMinute: 100\n"...), 0o644))
	e := start(t, localcloud.Options{Getenv: func(k string) string {
		switch k {
		case "PORTHYGIENE_SWEEP_SLICE":
			return fmt.Sprint(size)
		case "PORTHYGIENE_ECS_QPS":
			return fmt.Sprint(budget)
		case "PORTHYGIENE_POLICY":
			return pol
		}
		return ""
	}})
	// The exposures produce no event the guard sees: only the sweep can find them.
	require.NoError(t, e.cloud.SetTriggerEnabled("guard", "actiontrail-events", false))
	require.NoError(t, e.cloud.SetTriggerEnabled("guard", "actiontrail-logstore", false))
	var groups []string
	for i := range extra {
		create := ecs.CreateCreateSecurityGroupRequest()
		create.RegionId = e.cloud.Region()
		create.VpcId = "vpc-demo"
		create.SecurityGroupName = fmt.Sprintf("fanout-%02d", i)
		resp, err := e.ecs.CreateSecurityGroup(create)
		require.NoError(t, err)
		auth := ecs.CreateAuthorizeSecurityGroupRequest()
		auth.RegionId = e.cloud.Region()
		auth.SecurityGroupId = resp.SecurityGroupId
		auth.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0", Description: "debug"}}
		_, err = e.ecs.AuthorizeSecurityGroup(auth)
		require.NoError(t, err)
		groups = append(groups, resp.SecurityGroupId)
	}
	lctest.Settle(t, e.cloud)

	_, err = e.cloud.Advance(t.Context(), time.Hour)
	require.NoError(t, err)

	// The planner: one timer invocation that invoked the slices.
	type slice struct {
		Region    string  `json:"region"`
		Groups    int     `json:"groups"`
		QPS       float64 `json:"qps"`
		RequestID string  `json:"requestId"`
	}
	type result struct {
		Source  string   `json:"source"`
		Groups  []string `json:"groups"`
		Revoked []string `json:"revoked"`
		Slices  []slice  `json:"slices"`
		Partial bool     `json:"partial"`
	}
	var planner *result
	slices := map[string]result{} // request id → the slice's result
	for _, inv := range e.cloud.Runtime.Invocations() {
		if inv.Function != "porthygiene-guard" || inv.Initializer {
			continue
		}
		var r result
		require.NoError(t, json.Unmarshal([]byte(inv.Response), &r), "%s: %s %s", inv.Trigger, inv.Status, inv.Error)
		switch inv.Trigger {
		case "sweep":
			require.Nil(t, planner, "one planner run")
			planner = &r
		case fcapi.TriggerLabel:
			require.True(t, inv.Async, "slices are asynchronous invocations")
			require.Equal(t, "ok", string(inv.Status), inv.Error)
			slices[inv.ID] = r
		}
	}
	require.NotNil(t, planner)
	require.GreaterOrEqual(t, len(planner.Slices), 4, "≥%d groups in slices of %d", extra, size)
	require.Empty(t, planner.Revoked, "the planner only lists")
	var qps float64
	for _, s := range planner.Slices {
		require.LessOrEqual(t, s.Groups, size)
		qps += s.QPS
		r, ok := slices[s.RequestID]
		require.True(t, ok, "slice %s was invoked and ran", s.RequestID)
		require.Equal(t, "sweep", r.Source)
		require.Len(t, r.Groups, s.Groups, "a slice sweeps exactly its groups")
		require.False(t, r.Partial)
	}
	require.Len(t, slices, len(planner.Slices), "every API invocation is a slice of the plan")
	require.LessOrEqual(t, qps, float64(budget), "the slices' shares add up to at most the budget")

	// Every exposure closed, each rule revoked exactly once.
	revokedBy := map[string]int{}
	for _, r := range slices {
		for _, id := range r.Revoked {
			revokedBy[id]++
		}
	}
	for id, n := range revokedBy {
		require.Equal(t, 1, n, "rule %s revoked by %d slices", id, n)
	}
	for _, g := range groups {
		require.NotContains(t, e.rules(g), "TCP 22/22 0.0.0.0/0 Accept", g)
		require.Len(t, e.revocations(g), 1, g)
	}
	require.GreaterOrEqual(t, len(revokedBy), extra)

	// The fan-out went through the FC API, signed by the function's role.
	var invokes int
	for _, c := range e.cloud.Stats.Snapshot().Calls {
		if c.Service == "fc" {
			require.Equal(t, "InvokeFunction", c.Action)
			require.Equal(t, "porthygiene-fc-role", c.Caller)
			require.Zero(t, c.Errors, "%v", c.ErrorCodes)
			invokes += c.Count
		}
	}
	// Besides the slices: when the robot's budget defers the slices'
	// messages, a delayed outbox flush is requested for the minute. Runs
	// share one through a ledger marker, but runs finishing at the same
	// instant can each request one: at most one per run.
	require.GreaterOrEqual(t, invokes, len(planner.Slices))
	require.LessOrEqual(t, invokes, 2*len(planner.Slices)+1, "the slices, and at most one flush per run")
	t.Logf("planner invoked %d slices, %.3g calls/s each (%.3g of %d together); %d rules revoked", len(planner.Slices), planner.Slices[0].QPS, qps, budget, len(revokedBy))
}

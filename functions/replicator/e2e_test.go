package main

// End to end on localcloud: the real replicator (and guard) binaries, run by
// localcloud's FC runtime from the repo's s.yaml, over the default world:
// set "web" (cn-hangzhou/sg-web → cn-hangzhou/sg-web-dr in vpc-dr and
// cn-shanghai/sg-web-sh) and set "db" (cn-hangzhou/sg-db → cn-shanghai/sg-db-sh,
// whose sg-web peer maps to sg-web-sh, the peer's replica there).

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

const (
	hangzhou = "cn-hangzhou"
	shanghai = "cn-shanghai"
)

type env struct {
	t     *testing.T
	cloud *localcloud.Cloud
	ecs   *ecs.Client
}

func start(t *testing.T, opts localcloud.Options, functions ...string) *env {
	t.Helper()
	if len(functions) == 0 {
		functions = []string{"replicator"}
	}
	c := lctest.Start(t, opts, functions...)
	return &env{t: t, cloud: c, ecs: lctest.ECS(t, c)}
}

type perm struct{ proto, ports, cidr, desc string }

func (e *env) authorize(region, group string, p perm) {
	e.t.Helper()
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId = region
	req.SecurityGroupId = group
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: p.proto, PortRange: p.ports, SourceCidrIp: p.cidr, Description: p.desc, Policy: "accept", Priority: "1"}}
	_, err := e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
}

// revoke removes the ingress rule of group with these ports and source.
func (e *env) revoke(region, group, ports, cidr string) {
	e.t.Helper()
	id := e.ruleID(region, group, ports, cidr)
	require.NotEmpty(e.t, id, "no rule %s from %s in %s", ports, cidr, group)
	req := ecs.CreateRevokeSecurityGroupRequest()
	req.RegionId = region
	req.SecurityGroupId = group
	req.SecurityGroupRuleId = &[]string{id}
	_, err := e.ecs.RevokeSecurityGroup(req)
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
}

func (e *env) permissions(region, group string) []ecs.Permission {
	e.t.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId = region
	req.SecurityGroupId = group
	resp, err := e.ecs.DescribeSecurityGroupAttribute(req)
	require.NoError(e.t, err)
	return resp.Permissions.Permission
}

func (e *env) ruleID(region, group, ports, peer string) string {
	for _, p := range e.permissions(region, group) {
		if p.PortRange == ports && (p.SourceCidrIp == peer || p.SourceGroupId == peer) {
			return p.SecurityGroupRuleId
		}
	}
	return ""
}

// rules are a group's rules as "dir proto ports peer policy prio desc", sorted.
func (e *env) rules(region, group string) []string {
	e.t.Helper()
	var out []string
	for _, p := range e.permissions(region, group) {
		peer := p.SourceCidrIp + p.SourceGroupId + p.SourcePrefixListId + p.Ipv6SourceCidrIp
		if p.Direction == "egress" {
			peer = p.DestCidrIp + p.DestGroupId + p.DestPrefixListId + p.Ipv6DestCidrIp
		}
		out = append(out, strings.Join([]string{p.Direction, strings.ToLower(p.IpProtocol), p.PortRange, peer, strings.ToLower(p.Policy), p.Priority, p.Description}, " "))
	}
	slices.Sort(out)
	return out
}

func (e *env) requireInStep(primary string, replicas ...[2]string) {
	e.t.Helper()
	want := e.rules(hangzhou, primary)
	for _, r := range replicas {
		require.Equal(e.t, want, e.rules(r[0], r[1]), "replica %s/%s in step with %s", r[0], r[1], primary)
	}
}

var (
	webDR = [2]string{hangzhou, "sg-web-dr"}
	webSH = [2]string{shanghai, "sg-web-sh"}
)

// results are the replicator's responses, by trigger.
func (e *env) results(function string) []map[string]any {
	var out []map[string]any
	for _, inv := range e.cloud.Runtime.Invocations() {
		if inv.Function != function || inv.Initializer {
			continue
		}
		var r map[string]any
		if json.Unmarshal([]byte(inv.Response), &r) == nil {
			r["trigger"] = inv.Trigger
			r["status"] = inv.Status
			out = append(out, r)
		}
	}
	return out
}

func (e *env) messages() []string {
	var out []string
	for _, m := range e.cloud.DingTalk.Messages("") {
		out = append(out, m.Text)
	}
	return out
}

// A rule added on the primary by hand is in every replica, in both regions,
// over EventBridge (no clock advance); removed, it is gone from all of them.
func TestRuleAddedOnPrimaryReachesEveryReplica(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.requireInStep("sg-web", webDR, webSH)

	e.authorize(hangzhou, "sg-web", perm{proto: "tcp", ports: "8443/8443", cidr: "10.0.0.0/8", desc: "admin console"})
	e.requireInStep("sg-web", webDR, webSH)
	require.Contains(t, e.rules(shanghai, "sg-web-sh"), "ingress tcp 8443/8443 10.0.0.0/8 accept 1 admin console")
	// The ledger records what was authorized, per replica (searchable after
	// SLS's index delay).
	ep := e.cloud.Endpoints()
	require.Eventually(t, func() bool {
		rows, err := e.cloud.SLS.Query(ep.Ledger.Project, ep.Ledger.Logstore, time.Unix(0, 0), e.cloud.Clock.Now().Add(time.Hour), "kind: replication")
		n := 0
		for _, row := range rows {
			if err == nil && strings.Contains(row["body"], `"PortRange":"8443/8443"`) && strings.Contains(row["body"], `"action":"authorized"`) {
				n++
			}
		}
		return n == 2
	}, 10*time.Second, 100*time.Millisecond, "one replication record per replica")

	e.revoke(hangzhou, "sg-web", "8443/8443", "10.0.0.0/8")
	e.requireInStep("sg-web", webDR, webSH)
	require.NotContains(t, e.rules(shanghai, "sg-web-sh"), "ingress tcp 8443/8443 10.0.0.0/8 accept 1 admin console")
	// Its own writes came back as events and were recognised (no echo).
	echoes := 0
	for _, r := range e.results("porthygiene-replicator") {
		require.Equal(t, "ok", fmt.Sprint(r["status"]), "%v", r)
		if strings.Contains(fmt.Sprint(r["ignored"]), "caused by our own role") {
			echoes++
		}
	}
	require.GreaterOrEqual(t, echoes, 2, "the copies' events in cn-hangzhou (sg-web-dr's add and remove) were ignored as its own")
}

// A hand edit on the replica in the other region raises its event on that
// region's bus, which this deployment does not hear: the 10-minute
// reconcile restores the replica and says who changed it (the trail).
func TestHandEditOnReplicaInOtherRegionHealedByTimerNamingWho(t *testing.T) {
	e := start(t, localcloud.Options{}, "guard", "replicator")
	e.authorize(shanghai, "sg-web-sh", perm{proto: "tcp", ports: "9000/9000", cidr: "192.168.0.0/16", desc: "quick test"})
	e.revoke(shanghai, "sg-web-sh", "443/443", "0.0.0.0/0")
	require.NotEqual(t, e.rules(hangzhou, "sg-web"), e.rules(shanghai, "sg-web-sh"), "no event reached the replicator: the replica drifted")

	_, err := e.cloud.Advance(t.Context(), 10*time.Minute)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)
	e.requireInStep("sg-web", webDR, webSH)

	var healed string
	for _, m := range e.messages() {
		if strings.Contains(m, "drift healed") && strings.Contains(m, "sg-web-sh") {
			healed = m
		}
	}
	require.NotEmpty(t, healed, "a message tells of the healed drift: %v", e.messages())
	require.Contains(t, healed, e.cloud.Operator().Identity.UserName, "it names who changed the replica")
	var swept bool
	for _, r := range e.results("porthygiene-replicator") {
		swept = swept || (r["trigger"] == "reconcile" && r["source"] == "sweep")
	}
	require.True(t, swept)
}

// A hand edit on a replica this deployment hears of (the same region, the
// standby VPC) is drift undone by the event itself, naming the principal.
func TestHandEditOnReplicaInSameRegionUndoneByItsEvent(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.authorize(hangzhou, "sg-web-dr", perm{proto: "tcp", ports: "9000/9000", cidr: "192.168.0.0/16", desc: "quick test"})
	e.requireInStep("sg-web", webDR, webSH)
	var told bool
	for _, m := range e.messages() {
		told = told || (strings.Contains(m, "drift healed") && strings.Contains(m, "sg-web-dr") && strings.Contains(m, "alice"))
	}
	require.True(t, told, "%v", e.messages())
}

// SSH to the world opened on the primary is never copied: the guard
// revokes it on the primary, and no replica ever had it.
func TestExposureOnPrimaryNeverCopied(t *testing.T) {
	e := start(t, localcloud.Options{}, "guard", "replicator")
	e.authorize(hangzhou, "sg-web", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", desc: "debug"})
	for _, r := range [][2]string{webDR, webSH} {
		require.NotContains(t, e.rules(r[0], r[1]), "ingress tcp 22/22 0.0.0.0/0 accept 1 debug")
	}
	require.Empty(t, e.ruleID(hangzhou, "sg-web", "22/22", "0.0.0.0/0"), "the guard revoked it on the primary")
	// Not even for an instant: the replicator's ledger records of what it
	// authorized hold no port 22. (Past SLS's index delay, whichever it is,
	// on the virtual clock, so that an absent record is really absent.)
	_, err := e.cloud.Advance(t.Context(), 5*time.Second)
	require.NoError(t, err)
	ep := e.cloud.Endpoints()
	rows, err := e.cloud.SLS.Query(ep.Ledger.Project, ep.Ledger.Logstore, time.Unix(0, 0), e.cloud.Clock.Now().Add(time.Hour), "kind: replication")
	require.NoError(t, err)
	for _, row := range rows {
		require.NotContains(t, row["body"], `"PortRange":"22/22"`, "the replicator authorized ssh somewhere: %v", row)
	}
	e.requireInStep("sg-web", webDR, webSH)
}

// Duplicated and reordered events change nothing more: the replicas end in
// step, and the replicator wrote each change once per replica.
func TestDuplicatedAndReorderedEventsChangeNothingMore(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.cloud.SetFaults(faults.Config{DuplicateEvents: true, ReorderEvents: true})
	e.authorize(hangzhou, "sg-web", perm{proto: "tcp", ports: "8443/8443", cidr: "10.0.0.0/8", desc: "admin"})
	e.authorize(hangzhou, "sg-web", perm{proto: "tcp", ports: "8444/8444", cidr: "10.0.0.0/8", desc: "admin 2"})
	e.cloud.SetFaults(faults.Config{})
	lctest.Settle(t, e.cloud)
	e.requireInStep("sg-web", webDR, webSH)
	writes := 0
	for _, c := range e.cloud.Stats.Snapshot().Calls {
		if c.Caller == "porthygiene-replicator-role" && strings.HasPrefix(c.Action, "Authorize") {
			writes += c.Count
		}
		if c.Caller == "porthygiene-replicator-role" && strings.HasPrefix(c.Action, "Revoke") {
			t.Errorf("the replicator revoked something: %+v", c)
		}
	}
	// Two changes, two replicas, each event delivered twice: at most one
	// authorize per delivery and replica (two deliveries racing both copy;
	// ECS creates nothing for the second), and the replicas hold each rule
	// once.
	require.LessOrEqual(t, writes, 8)
	require.GreaterOrEqual(t, writes, 2)
	for _, r := range [][2]string{webDR, webSH} {
		n := 0
		for _, rl := range e.rules(r[0], r[1]) {
			if strings.Contains(rl, " 8443/8443 ") || strings.Contains(rl, " 8444/8444 ") {
				n++
			}
		}
		require.Equal(t, 2, n, "%s holds each copied rule once", r[1])
	}
}

// The guard still sees every replica change: it ignores only its own role,
// so the replicator's writes reach it, and an exposure written by hand on a
// replica is revoked by the guard (the replica's mode is additive here, so
// the replicator leaves replica-only rules to the guard).
func TestGuardStillRevokesExposureOnReplica(t *testing.T) {
	e := start(t, localcloud.Options{}, "guard", "replicator")
	for _, g := range [][2]string{webDR, webSH} {
		tag := ecs.CreateTagResourcesRequest()
		tag.RegionId = g[0]
		tag.ResourceType = "securitygroup"
		tag.ResourceId = &[]string{g[1]}
		tag.Tag = &[]ecs.TagResourcesTag{{Key: "porthygiene-replica-mode", Value: "additive"}}
		_, err := e.ecs.TagResources(tag)
		require.NoError(t, err)
	}

	e.authorize(hangzhou, "sg-web", perm{proto: "tcp", ports: "8443/8443", cidr: "10.0.0.0/8", desc: "admin"})
	require.Contains(t, e.rules(hangzhou, "sg-web-dr"), "ingress tcp 8443/8443 10.0.0.0/8 accept 1 admin", "%v", e.results("porthygiene-replicator"))
	// The guard handled the replicator's authorize on sg-web-dr: it was not
	// ignored as its own.
	var sawReplicatorWrite bool
	for _, r := range e.results("porthygiene-guard") {
		groups, _ := r["groups"].([]any)
		for _, g := range groups {
			sawReplicatorWrite = sawReplicatorWrite || g == "sg-web-dr"
		}
	}
	require.True(t, sawReplicatorWrite, "the guard evaluated the replica after the replicator wrote it: %v", e.results("porthygiene-guard"))

	e.authorize(hangzhou, "sg-web-dr", perm{proto: "tcp", ports: "3389/3389", cidr: "0.0.0.0/0", desc: "rdp by hand"})
	require.Empty(t, e.ruleID(hangzhou, "sg-web-dr", "3389/3389", "0.0.0.0/0"), "the guard revoked the exposure on the replica")
	require.Contains(t, e.rules(hangzhou, "sg-web-dr"), "ingress tcp 8443/8443 10.0.0.0/8 accept 1 admin")
}

// Each function handles each event once, for itself: the replicator, done
// first with an event on a group in no set, must not mark it handled for the
// guard (they share the ledger).
func TestReplicatorNeverMarksAnEventHandledForTheGuard(t *testing.T) {
	e := start(t, localcloud.Options{}, "guard", "replicator")
	for i, g := range []string{"sg-legacy", "sg-bastion", "sg-db"} {
		e.authorize(hangzhou, g, perm{proto: "tcp", ports: "6379/6379", cidr: "0.0.0.0/0", desc: fmt.Sprint("redis ", i)})
		require.Empty(t, e.ruleID(hangzhou, g, "6379/6379", "0.0.0.0/0"), "the guard revoked the exposure on %s", g)
	}
	for _, r := range e.results("porthygiene-guard") {
		require.NotContains(t, fmt.Sprint(r["ignored"]), "already handled", "%v", r)
	}
}

// A replica untagged (no longer a replica) gets no further copies, even from
// a warm instance that remembers it from its last run.
func TestUntaggedReplicaIsLeftAlone(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.authorize(hangzhou, "sg-web", perm{proto: "tcp", ports: "8443/8443", cidr: "10.0.0.0/8", desc: "warm up"})
	e.requireInStep("sg-web", webDR, webSH)
	untag := ecs.CreateUntagResourcesRequest()
	untag.RegionId, untag.ResourceType = hangzhou, "securitygroup"
	untag.ResourceId = &[]string{"sg-web-dr"}
	untag.TagKey = &[]string{"porthygiene-replica-of"}
	_, err := e.ecs.UntagResources(untag)
	require.NoError(t, err)

	e.authorize(hangzhou, "sg-web", perm{proto: "tcp", ports: "8444/8444", cidr: "10.0.0.0/8", desc: "after the untag"})
	e.requireInStep("sg-web", webSH)
	require.NotContains(t, e.rules(hangzhou, "sg-web-dr"), "ingress tcp 8444/8444 10.0.0.0/8 accept 1 after the untag")
	require.Contains(t, e.rules(hangzhou, "sg-web-dr"), "ingress tcp 8443/8443 10.0.0.0/8 accept 1 warm up", "and what it has stays")
}

// A write that keeps failing leaves the replica as it was, never half-done
// (the old rule is not removed after its replacement failed to be added),
// is told at once, and the next reconcile finishes the job.
func TestFailingWritesLeaveTheReplicaWholeAndAreHealed(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.cloud.SetFaults(faults.Config{Actions: []faults.Action{{Service: "ecs", Action: "AuthorizeSecurityGroup", ServerErrorRatio: 1}}})
	mod := ecs.CreateModifySecurityGroupRuleRequest()
	mod.RegionId, mod.SecurityGroupId = hangzhou, "sg-web"
	mod.SecurityGroupRuleId = e.ruleID(hangzhou, "sg-web", "22/22", "10.0.0.0/16")
	mod.SourceCidrIp = "10.0.0.0/8"
	_, err := e.ecs.ModifySecurityGroupRule(mod)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)

	for _, r := range [][2]string{webDR, webSH} {
		require.Contains(t, e.rules(r[0], r[1]), "ingress tcp 22/22 10.0.0.0/16 accept 1 ssh from the vpc", "the old rule stays while its replacement cannot be added")
	}
	var told bool
	for _, m := range e.messages() {
		told = told || strings.Contains(m, "replica NOT in step")
	}
	require.True(t, told, "the failure is told at once: %v", e.messages())

	e.cloud.SetFaults(faults.Config{})
	_, err = e.cloud.Advance(t.Context(), 10*time.Minute)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)
	e.requireInStep("sg-web", webDR, webSH)
	require.Contains(t, e.rules(shanghai, "sg-web-sh"), "ingress tcp 22/22 10.0.0.0/8 accept 1 ssh from the vpc")
}

// A group peer with no replica is mapped by name in the replica's VPC; where
// no group of that name exists the rule is not copied, and people are told.
func TestGroupPeerMappedByNameOrSkippedAndTold(t *testing.T) {
	e := start(t, localcloud.Options{})
	create := ecs.CreateCreateSecurityGroupRequest()
	create.RegionId, create.VpcId, create.SecurityGroupName = hangzhou, "vpc-dr", "bastion"
	resp, err := e.ecs.CreateSecurityGroup(create)
	require.NoError(t, err)
	bastionDR := resp.SecurityGroupId
	lctest.Settle(t, e.cloud)

	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = hangzhou, "sg-web"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "2222/2222", SourceGroupId: "sg-bastion", Description: "ssh from the bastion"}}
	_, err = e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)

	require.Contains(t, e.rules(hangzhou, "sg-web-dr"), "ingress tcp 2222/2222 "+bastionDR+" accept 1 ssh from the bastion", "mapped to vpc-dr's group named bastion")
	for _, r := range e.rules(shanghai, "sg-web-sh") {
		require.NotContains(t, r, "2222/2222", "no bastion in cn-shanghai's vpc-sh: not copied")
	}
	var told bool
	for _, m := range e.messages() {
		told = told || (strings.Contains(m, "sg-web-sh") && strings.Contains(m, "not copied") && strings.Contains(m, "sg-bastion"))
	}
	require.True(t, told, "the unmapped reference is told: %v", e.messages())
}

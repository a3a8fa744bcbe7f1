package main

// The red team of issue 10, run again from the outside after the fixes: the
// real guard binary on localcloud, driven with the unmodified ECS SDK, the
// FC API, fault injection and the operator CLI as users run it. One test per
// attack, named after the defect (D1..D9) or the new attack (N..); each
// asserts what the "Done when" expects.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

const world = "0.0.0.0/0"

// D1: overlapping exposures of every shape in one call are all gone within
// that call's invocation (no sweep: the clock does not move).
func TestRedteamD1OverlapOfEveryShapeGoesInOneInvocation(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "overlap-shapes")
	e.authorize(g,
		perm{proto: "all", ports: "-1/-1", cidr: world},
		perm{proto: "tcp", ports: "1/65535", cidr: world},
		perm{proto: "tcp", ports: "20/30", cidr: world},
		perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/1"},
		perm{proto: "tcp", ports: "22/22", cidr: "128.0.0.0/1"},
		perm{proto: "tcp", ports: "22/22", cidr6: "::/0"},
		perm{proto: "tcp", ports: "3389/3389", cidr6: "2000::/3"},
		perm{proto: "tcp", ports: "22/22", cidr: "10.0.0.0/8"}, // private: stays
	)
	require.Equal(t, []string{"TCP 22/22 10.0.0.0/8 Accept"}, e.rules(g))
	revs := e.revocations(g)
	require.Len(t, revs, 7)
	for _, r := range revs {
		rv, err := r.Revocation()
		require.NoError(t, err)
		require.Equal(t, "AuthorizeSecurityGroup", rv.Event.EventName, "closed by the event's invocation")
		require.Equal(t, "alice", rv.OpenedBy)
	}
}

// D1: a higher-priority drop hides an accept; the drop is removed by the
// legacy attribute form of RevokeSecurityGroup (no rule id in the event), or
// demoted below the accept with ModifySecurityGroupRule. Both unmask the
// accept, and the guard closes it within that event.
func TestRedteamD1DropRemovedOrDemotedUnmasksTheAccept(t *testing.T) {
	e := start(t, localcloud.Options{})
	setup := func(name string) string {
		g := createGroup(t, e, name)
		e.authorize(g, perm{proto: "tcp", ports: "3306/3306", cidr: world, policy: "drop", priority: "1"})
		e.authorize(g, perm{proto: "tcp", ports: "3306/3306", cidr: world, policy: "accept", priority: "10"})
		require.Empty(t, e.revocations(g), "masked: harmless")
		return g
	}
	t.Run("revoke by attributes", func(t *testing.T) {
		g := setup("unmask-attrs")
		req := ecs.CreateRevokeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
		req.IpProtocol, req.PortRange, req.SourceCidrIp, req.Policy, req.Priority = "tcp", "3306/3306", world, "drop", "1"
		_, err := e.ecs.RevokeSecurityGroup(req)
		require.NoError(t, err)
		lctest.Settle(t, e.cloud)
		require.Empty(t, e.rules(g))
		revs := e.revocations(g)
		require.Len(t, revs, 1)
		rv, err := revs[0].Revocation()
		require.NoError(t, err)
		require.Equal(t, "RevokeSecurityGroup", rv.Event.EventName)
	})
	t.Run("drop demoted by ModifySecurityGroupRule", func(t *testing.T) {
		g := setup("unmask-modify")
		drop := e.ruleIDOf(g, "TCP 3306/3306 0.0.0.0/0 Drop")
		require.NotEmpty(t, drop)
		req := ecs.CreateModifySecurityGroupRuleRequest()
		req.RegionId, req.SecurityGroupId, req.SecurityGroupRuleId = e.cloud.Region(), g, drop
		req.Priority = "100"
		_, err := e.ecs.ModifySecurityGroupRule(req)
		require.NoError(t, err)
		lctest.Settle(t, e.cloud)
		require.NotContains(t, e.rules(g), "TCP 3306/3306 0.0.0.0/0 Accept")
		require.Len(t, e.revocations(g), 1)
	})
}

// D2: under the shipped policy (guard: enforce, otherPorts: low) the ports no
// catalogue entry names stay open and are reported; catalogued ones go.
func TestRedteamD2ShippedPolicyReportsButKeepsUncataloguedPorts(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "other-ports")
	others := []perm{
		{proto: "udp", ports: "51820/51820", cidr: world}, {proto: "tcp", ports: "25/25", cidr: world},
		{proto: "tcp", ports: "53/53", cidr: world}, {proto: "udp", ports: "53/53", cidr: world},
		{proto: "tcp", ports: "8080/8080", cidr: world}, {proto: "tcp", ports: "8443/8443", cidr: world},
		{proto: "udp", ports: "500/500", cidr6: "::/0"},
	}
	e.authorize(g, append(others, perm{proto: "tcp", ports: "5432/5432", cidr: world})...)
	rules := e.rules(g)
	for _, want := range []string{"UDP 51820/51820 0.0.0.0/0 Accept", "TCP 25/25 0.0.0.0/0 Accept", "TCP 53/53 0.0.0.0/0 Accept",
		"UDP 53/53 0.0.0.0/0 Accept", "TCP 8080/8080 0.0.0.0/0 Accept", "TCP 8443/8443 0.0.0.0/0 Accept", "UDP 500/500 ::/0 Accept"} {
		require.Contains(t, rules, want, "not catalogued: kept")
	}
	require.NotContains(t, rules, "TCP 5432/5432 0.0.0.0/0 Accept", "postgresql is catalogued: revoked")
	require.Len(t, e.revocations(g), 1)
	for _, p := range []string{"udp 51820", "tcp 25", "tcp 53", "udp 53", "tcp 8080", "tcp 8443", "udp 500"} {
		require.True(t, e.told(g, p+" open to the internet"), "%s reported: %v", p, e.texts())
	}
	// The next sweep keeps them too.
	_, err := e.cloud.Advance(t.Context(), time.Hour)
	require.NoError(t, err)
	require.Len(t, e.rules(g), len(others))
}

// D2: the policy's scopes: a group tagged env=dev is only reported on; the
// same exposure on an env=prod group is revoked.
func TestRedteamD2ScopesByTag(t *testing.T) {
	e := startWithPolicy(t, "modes:\n  guard: enforce\nscopes:\n  - match: {env: dev}\n    modes: {guard: notify}\n")
	dev, prod := createGroup(t, e, "dev"), createGroup(t, e, "prod")
	for g, env := range map[string]string{dev: "dev", prod: "prod"} {
		req := ecs.CreateTagResourcesRequest()
		req.RegionId, req.ResourceType, req.ResourceId = e.cloud.Region(), "securitygroup", &[]string{g}
		req.Tag = &[]ecs.TagResourcesTag{{Key: "env", Value: env}}
		_, err := e.ecs.TagResources(req)
		require.NoError(t, err)
	}
	e.authorize(dev, perm{proto: "tcp", ports: "22/22", cidr: world})
	e.authorize(prod, perm{proto: "tcp", ports: "22/22", cidr: world})
	require.Contains(t, e.rules(dev), "TCP 22/22 0.0.0.0/0 Accept")
	require.NotContains(t, e.rules(prod), "TCP 22/22 0.0.0.0/0 Accept")
	require.True(t, e.told(dev), "dev's exposure is reported")
}

// D3: revokes throttled every time (not a 5xx: the error FC would see most
// under load): no revocation record, a message naming the rule within the
// same invocation, and the restore of the backup (the rule is still there:
// the authorize would be ignored) exits 1 and records nothing. Once ECS
// recovers the rule is closed once, and the restore then works, once.
func TestRedteamD3ThrottledRevokeToldAndRestoreHonest(t *testing.T) {
	e := start(t, localcloud.Options{})
	ep := endpointsFile(t, e.cloud)
	g := createGroup(t, e, "throttled")
	e.cloud.SetFaults(faults.Config{Actions: []faults.Action{{Service: "ecs", Action: "RevokeSecurityGroup", ThrottleRatio: 1}}})
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "6379/6379", SourceCidrIp: world, Description: "cache"}}
	_, err := e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	var id string
	require.Eventually(t, func() bool {
		id = e.ruleIDOf(g, "TCP 6379/6379 0.0.0.0/0 Accept")
		return id != "" && e.told(id, "NOT revoked")
	}, 20*time.Second, 100*time.Millisecond, "told at once")
	require.Empty(t, e.revocations(g))

	backups, err := ledgertest.Written(t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindBackup}, GroupID: g})
	require.NoError(t, err)
	require.NotEmpty(t, backups)
	ledgertest.Searchable(t, e.led, backups[0]) // the operator's restore, seconds later, searches for it
	until := e.cloud.Clock.Now().Add(10 * 24 * time.Hour).Format("2006-01-02")
	code, out, errOut := porthygiene(t, "restore", "--endpoints", ep, "--id", backups[0].ID, "--exempt-until", until, "--owner", "ops", "--reason", "test")
	require.Equal(t, 1, code, "a restore that would create nothing fails: %s %s", out, errOut)
	require.Contains(t, errOut, "already in the group")
	restores, err := ledgertest.Written(t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRestore}, GroupID: g})
	require.NoError(t, err)
	require.Empty(t, restores, "nothing recorded")

	e.cloud.SetFaults(faults.Config{})
	require.Eventually(t, func() bool { return e.ruleIDOf(g, "TCP 6379/6379 0.0.0.0/0 Accept") == "" }, 30*time.Second, 200*time.Millisecond)
	lctest.Settle(t, e.cloud)
	revs := e.revocations(g)
	require.Len(t, revs, 1)
	ledgertest.Searchable(t, e.led, revs[0])
	code, out, errOut = porthygiene(t, "restore", "--endpoints", ep, "--id", revs[0].ID, "--exempt-until", until, "--owner", "ops", "--reason", "test")
	require.Equal(t, 0, code, "%s %s", out, errOut)
	require.Contains(t, e.rules(g), "TCP 6379/6379 0.0.0.0/0 Accept")
	code, _, errOut = porthygiene(t, "restore", "--endpoints", ep, "--id", revs[0].ID, "--exempt-until", until, "--owner", "ops", "--reason", "test")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already")
}

// D4: under retries (30% of ECS calls throttled, half the revokes failing
// with 5xx) and duplicated events, `porthygiene ledger --kind revocation`
// lists exactly one record per rule revoked, each naming its opener.
func TestRedteamD4LedgerUnderRetriesOneRecordPerRevokedRule(t *testing.T) {
	e := start(t, localcloud.Options{})
	ep := endpointsFile(t, e.cloud)
	g := createGroup(t, e, "retries")
	dave := e.ecsAs("dave")
	e.cloud.SetFaults(faults.Config{DuplicateEvents: true, Actions: []faults.Action{
		{Service: "ecs", ThrottleRatio: 0.3}, {Service: "ecs", Action: "RevokeSecurityGroup", ServerErrorRatio: 0.5}}})
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{
		{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: world}, {IpProtocol: "tcp", PortRange: "3389/3389", SourceCidrIp: world},
		{IpProtocol: "tcp", PortRange: "27017/27017", SourceCidrIp: world}}
	require.Eventually(t, func() bool { _, err := dave.AuthorizeSecurityGroup(req); return err == nil }, 20*time.Second, 100*time.Millisecond)
	lctest.Settle(t, e.cloud)
	e.cloud.SetFaults(faults.Config{})
	_, err := e.cloud.Advance(t.Context(), time.Minute)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(slicesFilter(e.rules(g), world)) == 0 }, 30*time.Second, 200*time.Millisecond)
	lctest.Settle(t, e.cloud)

	code, out, errOut := porthygiene(t, "ledger", "--endpoints", ep, "--kind", "revocation", "--group", g, "--json")
	require.Equal(t, 0, code, errOut)
	var entries []struct {
		RuleID, Summary string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &entries))
	byRule := map[string]int{}
	for _, en := range entries {
		byRule[en.RuleID]++
		require.Contains(t, en.Summary, "opened by dave", "%+v", en)
	}
	require.Len(t, byRule, 3, "%s", out)
	for id, n := range byRule {
		require.Equal(t, 1, n, "rule %s has %d revocation records", id, n)
	}
}

// D4: a rule found by the sweep (no event names it) is "opened by unknown",
// never "sweep" or the author of an unrelated event.
func TestRedteamD4SweepRevocationOpenedByUnknown(t *testing.T) {
	e := start(t, localcloud.Options{})
	ep := endpointsFile(t, e.cloud)
	_, err := e.cloud.Advance(t.Context(), time.Hour)
	require.NoError(t, err)
	code, out, errOut := porthygiene(t, "ledger", "--endpoints", ep, "--kind", "revocation", "--group", "sg-legacy")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "opened by unknown", out)
}

// N4: ModifySecurityGroupRule widens a harmless SSH rule (10.0.0.0/16 to the
// world): revoked within the event, attributed to whoever modified it.
func TestRedteamN4ModifyWidensHarmlessRule(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "widen")
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: "10.0.0.0/16", desc: "from the vpc"})
	id := e.ruleIDOf(g, "TCP 22/22 10.0.0.0/16 Accept")
	require.NotEmpty(t, id)
	erin := e.ecsAs("erin")
	req := ecs.CreateModifySecurityGroupRuleRequest()
	req.RegionId, req.SecurityGroupId, req.SecurityGroupRuleId, req.SourceCidrIp = e.cloud.Region(), g, id, world
	_, err := erin.ModifySecurityGroupRule(req)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)
	require.Empty(t, e.rules(g), "the widened rule is revoked")
	revs := e.revocations(g)
	require.Len(t, revs, 1)
	rv, err := revs[0].Revocation()
	require.NoError(t, err)
	require.Equal(t, "ModifySecurityGroupRule", rv.Event.EventName)
	require.Equal(t, "erin", rv.OpenedBy)

	// Widening the ports of a harmless rule (443 → 1-1024) too.
	e.authorize(g, perm{proto: "tcp", ports: "443/443", cidr: world})
	id = e.ruleIDOf(g, "TCP 443/443 0.0.0.0/0 Accept")
	req = ecs.CreateModifySecurityGroupRuleRequest()
	req.RegionId, req.SecurityGroupId, req.SecurityGroupRuleId, req.PortRange = e.cloud.Region(), g, id, "1/1024"
	_, err = erin.ModifySecurityGroupRule(req)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)
	require.Empty(t, e.rules(g))
}

// N5: egress. The default policy does not judge egress: an egress rule to
// the world stays. With egress: true, it is revoked within its event, and
// removing an egress drop that hid an accept unmasks it and it goes too.
func TestRedteamN5Egress(t *testing.T) {
	authorizeEgress := func(e *env, g string, p perm) {
		req := ecs.CreateAuthorizeSecurityGroupEgressRequest()
		req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
		req.Permissions = &[]ecs.AuthorizeSecurityGroupEgressPermissions{{IpProtocol: p.proto, PortRange: p.ports, DestCidrIp: p.cidr, Policy: p.policy, Priority: p.priority}}
		_, err := e.ecs.AuthorizeSecurityGroupEgress(req)
		require.NoError(t, err)
		lctest.Settle(t, e.cloud)
	}
	t.Run("default ignores egress", func(t *testing.T) {
		e := start(t, localcloud.Options{})
		g := createGroup(t, e, "egress-default")
		authorizeEgress(e, g, perm{proto: "tcp", ports: "22/22", cidr: world})
		require.Contains(t, e.egress(g), "TCP 22/22 0.0.0.0/0 Accept")
		require.Empty(t, e.revocations(g))
	})
	t.Run("egress judged", func(t *testing.T) {
		e := startWithPolicy(t, "modes:\n  guard: enforce\negress: true\n")
		g := createGroup(t, e, "egress-on")
		authorizeEgress(e, g, perm{proto: "tcp", ports: "3306/3306", cidr: world})
		require.NotContains(t, e.egress(g), "TCP 3306/3306 0.0.0.0/0 Accept")
		require.Len(t, e.revocations(g), 1)

		authorizeEgress(e, g, perm{proto: "tcp", ports: "22/22", cidr: world, policy: "drop", priority: "1"})
		authorizeEgress(e, g, perm{proto: "tcp", ports: "22/22", cidr: world, policy: "accept", priority: "9"})
		require.Len(t, e.revocations(g), 1, "masked by the drop")
		req := ecs.CreateRevokeSecurityGroupEgressRequest()
		req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
		req.IpProtocol, req.PortRange, req.DestCidrIp, req.Policy, req.Priority = "tcp", "22/22", world, "drop", "1"
		_, err := e.ecs.RevokeSecurityGroupEgress(req)
		require.NoError(t, err)
		lctest.Settle(t, e.cloud)
		require.NotContains(t, e.egress(g), "TCP 22/22 0.0.0.0/0 Accept", "unmasked egress accept revoked")
		require.Len(t, e.revocations(g), 2)
	})
}

func (e *env) authorizePrefixList(g, ports, pl string) {
	e.t.Helper()
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: ports, SourcePrefixListId: pl}}
	_, err := e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
}

// N7: prefix lists. A rule naming a list that holds the world (or two halves
// of it) is revoked within its event; a list of office CIDRs is harmless.
// ModifyPrefixList widening a referenced list to the world: the guard does not
// watch ModifyPrefixList (s.yaml's pattern names only security-group events;
// prefix-list changes are issue 11's), so the event is ignored and the SSH
// rule stays open until the next hourly sweep, which closes it.
func TestRedteamN7PrefixLists(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "prefix")
	worldPL := e.prefixList("world", world)
	halves := e.prefixList("halves", "0.0.0.0/1", "128.0.0.0/1")
	office := e.prefixList("office", "203.0.113.0/24")
	e.authorizePrefixList(g, "22/22", worldPL)
	e.authorizePrefixList(g, "3389/3389", halves)
	e.authorizePrefixList(g, "5432/5432", office)
	require.Equal(t, []string{"TCP 5432/5432 " + office + " Accept"}, e.rules(g))
	require.Len(t, e.revocations(g), 2)

	mod := ecs.CreateModifyPrefixListRequest()
	mod.RegionId, mod.PrefixListId = e.cloud.Region(), office
	mod.AddEntry = &[]ecs.ModifyPrefixListAddEntry{{Cidr: world}}
	_, err := e.ecs.ModifyPrefixList(mod)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)
	// Was the red team's confirmed gap (ModifyPrefixList not watched, SSH
	// open until the sweep): now the list's event closes it.
	require.Empty(t, e.rules(g), "ModifyPrefixList widening the office list to the world: revoked by its event")
	require.Len(t, e.revocations(g), 3)
}

// N6: IPv6 shapes: ::/0, two halves, 2000::/3 (all global unicast) go; a
// /64 stays.
func TestRedteamN6IPv6(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "v6")
	e.authorize(g,
		perm{proto: "tcp", ports: "22/22", cidr6: "::/0"},
		perm{proto: "tcp", ports: "6379/6379", cidr6: "::/1"}, perm{proto: "tcp", ports: "6379/6379", cidr6: "8000::/1"},
		perm{proto: "udp", ports: "11211/11211", cidr6: "2000::/3"},
		perm{proto: "tcp", ports: "22/22", cidr6: "2001:db8:1::/64"})
	// 8000::/1 holds no global unicast address (2000::/3 is inside ::/1):
	// not internet-wide, so it stays, as the policy's definition says.
	require.ElementsMatch(t, []string{"TCP 6379/6379 8000::/1 Accept", "TCP 22/22 2001:db8:1::/64 Accept"}, e.rules(g))
	require.Len(t, e.revocations(g), 3)
}

// D6/N1: events dated in the past (2001) and just ahead (+3 s, within the
// allowed skew) sent through the FC API: handled as any event (the guard
// re-reads the group), backups dated on the trusted clock. An SLS trigger
// payload whose cursorTime is 2099 voids no exemption either.
func TestRedteamN1EventsDatedInThePastAndFuture(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{}, "guard")
	e := &env{t: t, cloud: c, ecs: lctest.ECS(t, c), led: ledgerOf(c)}
	require.NoError(t, c.SetTriggerEnabled("guard", "actiontrail-events", false))
	require.NoError(t, c.SetTriggerEnabled("guard", "actiontrail-logstore", false))
	until := c.Clock.Now().Add(24 * time.Hour).Format("2006-01-02")
	e.authorize("sg-bastion", perm{proto: "tcp", ports: "22/22", cidr: world, desc: "[porthygiene-exempt owner=ops until=" + until + " reason=\"bastion\"]"})
	e.authorize("sg-web", perm{proto: "tcp", ports: "22/22", cidr: world})
	e.authorize("sg-db", perm{proto: "tcp", ports: "3306/3306", cidr: world})

	e.invoke(forgedEvent(t, "sg-web", "PAST-2001", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.NotContains(t, e.rules("sg-web"), "TCP 22/22 0.0.0.0/0 Accept", "a late event still closes what is open now")
	revs := e.revocations("sg-web")
	require.Len(t, revs, 1)
	require.WithinDuration(t, c.Clock.Now(), revs[0].Time, time.Minute)

	e.invoke(forgedEvent(t, "sg-db", "SOON", time.Now().Add(3*time.Second).Truncate(time.Second).UTC()))
	require.NotContains(t, e.rules("sg-db"), "TCP 3306/3306 0.0.0.0/0 Accept")

	ep := c.Endpoints()
	sls := fmt.Sprintf(`{"parameter":{"mode":"actiontrail"},"source":{"endpoint":"http://%s.log.aliyuncs.com","projectName":%q,"logstoreName":%q,"shardId":0,"beginCursor":"MA==","endCursor":"MA=="},"jobName":"j","taskId":"t","cursorTime":%d}`,
		c.Region(), ep.Trail.Project, ep.Trail.Logstore, y2099.Unix())
	e.invoke([]byte(sls))
	sweep, err := trigger.EncodeTimer("sweep", y2099, map[string]string{"mode": "sweep"})
	require.NoError(t, err)
	e.invoke(sweep)
	require.Contains(t, e.rules("sg-bastion"), "TCP 22/22 0.0.0.0/0 Accept", "exempt until tomorrow, whatever the payload says")
	require.Empty(t, e.revocations("sg-bastion"))
	require.Empty(t, e.refused())
}

// N2: a burst with every event duplicated, reordered and delayed, mixing
// harmless and exposing changes across groups: every exposure closed, every
// harmless rule kept, one revocation record and one revoke per rule.
func TestRedteamN2DuplicatedReorderedDelayedBurst(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.cloud.SetFaults(faults.Config{DuplicateEvents: true, ReorderEvents: true, EventDelay: 300 * time.Millisecond})
	var groups []string
	for i := range 6 {
		g := createGroup(t, e, fmt.Sprintf("burst-n2-%d", i))
		groups = append(groups, g)
		e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: "10.0.0.0/8"}, perm{proto: "tcp", ports: "443/443", cidr: world})
		e.authorize(g, perm{proto: "tcp", ports: "3389/3389", cidr: world}, perm{proto: "tcp", ports: "9200/9200", cidr6: "::/0"})
		e.authorize(g, perm{proto: "udp", ports: "51820/51820", cidr: world})
	}
	e.cloud.Bus.Flush()
	lctest.Settle(t, e.cloud)
	_, err := e.cloud.Advance(t.Context(), 10*time.Second)
	require.NoError(t, err)
	revoked := map[string]int{}
	for _, r := range e.guardResults() {
		for _, id := range asStrings(r["revoked"]) {
			revoked[id]++
		}
	}
	for _, g := range groups {
		rules := e.rules(g)
		require.ElementsMatch(t, []string{"TCP 22/22 10.0.0.0/8 Accept", "TCP 443/443 0.0.0.0/0 Accept", "UDP 51820/51820 0.0.0.0/0 Accept"}, rules)
		revs := e.revocations(g)
		require.Len(t, revs, 2)
		for _, r := range revs {
			require.Equal(t, 1, revoked[r.RuleID], "rule %s revoked %d times", r.RuleID, revoked[r.RuleID])
		}
	}
}

// N8: a huge description: the longest ECS accepts (512), with an expired
// marker first and a valid one after padding, and a marker given twice with
// different ends. Nothing is trusted that should not be, nothing panics.
func TestRedteamN8HugeAndConflictingMarkers(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "markers")
	soon := e.cloud.Clock.Now().Add(24 * time.Hour).Format("2006-01-02")
	pad := strings.Repeat("x", 512)
	long := `[porthygiene-exempt owner=ops until=2001-01-01 reason="old"] ` + pad
	long = long[:512-len(` [porthygiene-exempt owner=mallory until=`+soon+` reason="late"]`)] + ` [porthygiene-exempt owner=mallory until=` + soon + ` reason="late"]`
	require.Len(t, long, 512)
	twice := `[porthygiene-exempt owner=a until=` + soon + ` reason="x"][porthygiene-exempt owner=b until=9999-12-31 reason="y"]`
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: world, desc: long})
	e.authorize(g, perm{proto: "tcp", ports: "3389/3389", cidr: world, desc: twice})
	lctest.Settle(t, e.cloud)
	for _, r := range e.rulesFull(g) {
		t.Logf("left: %s %s desc=%.80q", r.PortRange, r.SourceCidrIp, r.Description)
	}
	notices, err := ledgertest.Written(t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindExemption}, GroupID: g})
	require.NoError(t, err)
	kept := len(e.rules(g))
	require.Len(t, notices, kept, "every rule left open by a marker is announced and recorded")
	for _, n := range notices {
		b, err := n.ExemptionNotice()
		require.NoError(t, err)
		require.LessOrEqual(t, b.Until.Sub(e.cloud.Clock.Now()), 90*24*time.Hour)
	}
	for _, inv := range e.cloud.Runtime.Invocations() {
		require.NotContains(t, inv.Error, "panic")
	}
	require.NotContains(t, e.cloud.Runtime.Logs("porthygiene-guard"), "panic")
	// An ECS description longer than 512 is refused by ECS itself.
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "23/23", SourceCidrIp: world, Description: pad + "y"}}
	_, err = e.ecs.AuthorizeSecurityGroup(req)
	require.Error(t, err)
}

// N9: tag exemptions: until=9999-12-31 is cut to the policy's maximum and
// announced; until=9999 is malformed and exempts nothing.
func TestRedteamN9TagExemptionUntil9999(t *testing.T) {
	e := start(t, localcloud.Options{})
	tag := func(g, v string) {
		req := ecs.CreateTagResourcesRequest()
		req.RegionId, req.ResourceType, req.ResourceId = e.cloud.Region(), "securitygroup", &[]string{g}
		req.Tag = &[]ecs.TagResourcesTag{{Key: "porthygiene-exempt", Value: v}}
		_, err := e.ecs.TagResources(req)
		require.NoError(t, err)
		lctest.Settle(t, e.cloud)
	}
	long, bad := createGroup(t, e, "tag-long"), createGroup(t, e, "tag-bad")
	tag(long, "owner=mallory;reason=mine;until=9999-12-31")
	tag(bad, "owner=mallory;reason=mine;until=9999")
	e.authorize(long, perm{proto: "tcp", ports: "22/22", cidr: world})
	e.authorize(bad, perm{proto: "tcp", ports: "22/22", cidr: world})
	require.NotContains(t, e.rules(bad), "TCP 22/22 0.0.0.0/0 Accept", "a malformed exemption exempts nothing")
	require.Contains(t, e.rules(long), "TCP 22/22 0.0.0.0/0 Accept")
	notices, err := ledgertest.Written(t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindExemption}, GroupID: long})
	require.NoError(t, err)
	require.Len(t, notices, 1)
	n, err := notices[0].ExemptionNotice()
	require.NoError(t, err)
	require.True(t, n.Cut)
	require.LessOrEqual(t, n.Until.Sub(e.cloud.Clock.Now()), 90*24*time.Hour)
	require.True(t, e.told(long, "mallory"), "announced")
}

// N8b: the restore CLI asked for an exemption until 9999: the guard keeps the
// restored rule only up to the policy's maximum, and announces it.
func TestRedteamN8RestoreWithForeverExemption(t *testing.T) {
	e := startWithPolicy(t, "modes:\n  guard: enforce\nexemptions:\n  maxDays: 2\n  warnDays: 1\n")
	ep := endpointsFile(t, e.cloud)
	e.authorize("sg-web", perm{proto: "tcp", ports: "3389/3389", cidr: world})
	revs := e.revocations("sg-web")
	require.Len(t, revs, 1)
	code, out, errOut := porthygiene(t, "restore", "--endpoints", ep, "--id", revs[0].ID, "--exempt-until", "9999-12-31", "--owner", "mallory", "--reason", "forever")
	t.Logf("restore: %d %s %s", code, out, errOut)
	lctest.Settle(t, e.cloud)
	if code == 0 {
		notices, err := ledgertest.Written(t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindExemption}, GroupID: "sg-web"})
		require.NoError(t, err)
		require.NotEmpty(t, notices, "the restored rule's exemption is announced and recorded")
		n, err := notices[0].ExemptionNotice()
		require.NoError(t, err)
		require.True(t, n.Cut, "9999 cut to the policy's maximum")
		_, err = e.cloud.Advance(t.Context(), 3*24*time.Hour)
		require.NoError(t, err)
		require.NotContains(t, e.rules("sg-web"), "TCP 3389/3389 0.0.0.0/0 Accept", "ended by the policy's maximum")
	} else {
		require.Equal(t, 1, code)
	}
}

// D7: replace with internet-wide trusted sources is refused with exit 2 and
// file:line, by evaluate and by audit; narrower ones are accepted.
func TestRedteamD7InternetWideReplaceRefused(t *testing.T) {
	dir := t.TempDir()
	attr := filepath.Join(lctest.RepoRoot(), "cmd", "porthygiene", "testdata", "evaluate-open.json")
	for _, cidrs := range []string{`[0.0.0.0/0]`, `["::/0"]`, `["0.0.0.0/1", "128.0.0.0/1"]`, `["1.0.0.0/8"]`, `["2000::/3"]`, `["1.0.0.0/9", "1.128.0.0/9", "2.0.0.0/9"]`} {
		p := filepath.Join(dir, "p.yaml")
		require.NoError(t, os.WriteFile(p, []byte("modes:\n  guard: enforce\nreplace:\n  trustedCidrs: "+cidrs+"\n"), 0o600))
		code, _, errOut := porthygiene(t, "evaluate", "--attribute", attr, "--policy", p)
		require.Equal(t, 2, code, "%s: %s", cidrs, errOut)
		require.Regexp(t, regexp.MustCompile(`p\.yaml:\d+: replace\.trustedCidrs`), errOut)
		require.Contains(t, errOut, "internet-wide")
	}
	p := filepath.Join(dir, "ok.yaml")
	require.NoError(t, os.WriteFile(p, []byte("replace:\n  trustedCidrs: [203.0.113.0/24]\n"), 0o600))
	code, _, errOut := porthygiene(t, "evaluate", "--attribute", attr, "--policy", p)
	require.Equal(t, 0, code, errOut)
}

// D7: the guard itself, deployed with such a policy, refuses to act on it
// (every invocation fails naming the policy) rather than re-create SSH to
// the world.
func TestRedteamD7GuardRefusesInternetWideReplace(t *testing.T) {
	e := startWithPolicy(t, "modes:\n  guard: enforce\nreplace:\n  trustedCidrs: [0.0.0.0/0]\n")
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = e.cloud.Region(), "sg-web"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: world}}
	_, err := e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)
	logs := e.cloud.Runtime.Logs("porthygiene-guard")
	require.Contains(t, logs, "internet-wide")
	t.Logf("SSH to the world after the event: %v (the guard refuses to run on that policy)", slices.Contains(e.rules("sg-web"), "TCP 22/22 0.0.0.0/0 Accept"))
	for _, r := range e.revocations("sg-web") {
		rv, err := r.Revocation()
		require.NoError(t, err)
		require.Empty(t, rv.Replacement, "nothing re-created for the world")
	}
}

// D8: `porthygiene local` on a non-loopback address is refused (exit 2)
// without --listen-any; with it, the secret-bearing routes answer 403 to a
// non-loopback client.
func TestRedteamD8LocalListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0", "192.0.2.77:0", "localhost.example.com:0"} {
		code, _, errOut := porthygieneTimeout(t, 20*time.Second, "local", "--config", filepath.Join(lctest.RepoRoot(), "s.yaml"), "--addr", addr)
		require.Equal(t, 2, code, "%s: %s", addr, errOut)
		require.Contains(t, errOut, "--listen-any")
	}
	var ip net.IP
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP
		}
	}
	if ip == nil {
		t.Log("no non-loopback IPv4 address: the --listen-any half needs one")
		return
	}
	c, err := localcloud.Start(localcloud.Options{Addr: net.JoinHostPort(ip.String(), "0"), ListenAny: true, Seed: localcloud.DefaultSeed()})
	require.NoError(t, err)
	defer c.Close()
	hc := &http.Client{Timeout: 5 * time.Second}
	for _, route := range []string{"endpoints", "dingtalk/messages", "invocations", "logs?function=porthygiene-guard", "triggers", "traffic", "settle"} {
		resp, err := hc.Get(c.URL() + "/_localcloud/" + route)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, route)
	}
	req, err := http.NewRequest("GET", c.URL()+"/_localcloud/endpoints", nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-For", "127.0.0.1")
	req.Host = "127.0.0.1"
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "forwarding headers do not make a client loopback")
}

// N12: secrets under forced failures: the ledger's SLS failing, ECS failing,
// DingTalk down then refusing, a revoke that cannot be done; no log line,
// invocation output, DingTalk body or ledger record (as the CLI prints it)
// holds the operator's secret, a robot's token or secret, the link key or an
// invocation's STS token.
func TestRedteamN12NoSecretsUnderForcedFailures(t *testing.T) {
	const key = "redteam-link-signing-key-0123456789"
	c := lctest.Start(t, localcloud.Options{Env: map[string]string{"APPROVE_SIGNING_KEY": key}}, "guard", "approve")
	e := &env{t: t, cloud: c, ecs: lctest.ECS(t, c), led: ledgerOf(c)}
	ep := endpointsFile(t, c)
	phases := []faults.Config{
		{Actions: []faults.Action{{Service: "sls", Action: "PutLogs", ServerErrorRatio: 1}}},
		{Actions: []faults.Action{{Service: "ecs", Action: "RevokeSecurityGroup", ServerErrorRatio: 1}}},
		{DingTalkDown: true},
		{Actions: []faults.Action{{Service: "dingtalk", ServerErrorRatio: 1}}},
	}
	for i, f := range phases {
		c.SetFaults(f)
		before := len(c.Runtime.Invocations())
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = c.Region(), "sg-web"
		req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: fmt.Sprintf("%d/%d", 5900+i, 5900+i), SourceCidrIp: world}}
		_, _ = e.ecs.AuthorizeSecurityGroup(req)
		// Let the first attempts fail (and report), then let FC's retries
		// succeed rather than wait for all of them to fail.
		began := time.Now()
		for time.Since(began) < 90*time.Second && !slices.ContainsFunc(c.Runtime.Invocations()[before:], func(inv fcrt.InvocationRecord) bool {
			return inv.Status == fcrt.StatusError || inv.Status == fcrt.StatusTimeout || inv.Status == fcrt.StatusOK
		}) {
			time.Sleep(200 * time.Millisecond)
		}
		c.SetFaults(faults.Config{})
		settleWithin(t, c, 3*time.Minute)
		t.Logf("phase %d (%+v) done in %v", i, f, time.Since(began).Round(time.Second))
	}
	// The operator CLI against a failing cloud: errors, no secrets.
	c.SetFaults(faults.Config{Actions: []faults.Action{{Service: "sls", ServerErrorRatio: 1}, {Service: "ecs", ServerErrorRatio: 1}}})
	var cliOut strings.Builder
	for _, args := range [][]string{{"ledger"}, {"explain", "--instance", "i-web-1", "--port", "22"}} {
		code, out, errOut := porthygiene(t, append(args, "--endpoints", ep)...)
		require.Equal(t, 1, code, "%v: %s", args, errOut)
		cliOut.WriteString(out + errOut)
	}
	c.SetFaults(faults.Config{})
	_, err := c.Advance(t.Context(), time.Hour)
	require.NoError(t, err)
	all := e.everything(ep) + cliOut.String()
	require.NotEmpty(t, all)
	secrets := []string{c.Operator().AccessKeySecret, key}
	for _, r := range c.Endpoints().Robots {
		secrets = append(secrets, r.Secret)
		if _, tok, ok := strings.Cut(r.Webhook, "access_token="); ok {
			secrets = append(secrets, strings.SplitN(tok, "&", 2)[0])
		}
	}
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.NotContains(t, all, s)
	}
	require.Empty(t, stsToken.FindAllString(all, 3), "no STS token in any output")
	// The failures were real: something was told or logged about each.
	require.Contains(t, all, "NOT revoked")
}

// settleWithin is lctest.Settle with a longer bound, for runs that retry.
func settleWithin(t *testing.T, c *localcloud.Cloud, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	require.NoError(t, c.Settle(ctx))
}

// D1 ("the cap counts changes per minute across all instances, not per
// invocation"): five events at once, 10 exposures each: at most 20 revokes
// in that minute. Each run backs up the changes it was granted (its claims),
// reads on by cursor what the others claimed, and keeps only what the
// minute still allows (engine.minutePace).
func TestRedteamD1CapCountsAcrossInstances(t *testing.T) {
	e := start(t, localcloud.Options{})
	var groups []string
	for i := range 5 {
		groups = append(groups, createGroup(t, e, fmt.Sprintf("cap-across-%d", i)))
	}
	for _, g := range groups {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
		var list []ecs.AuthorizeSecurityGroupPermissions
		for _, p := range exposures(10) {
			list = append(list, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: p.proto, PortRange: p.ports, SourceCidrIp: p.cidr, Ipv6SourceCidrIp: p.cidr6})
		}
		req.Permissions = &list
		_, err := e.ecs.AuthorizeSecurityGroup(req)
		require.NoError(t, err)
	}
	lctest.Settle(t, e.cloud)
	n := 0
	for _, g := range groups {
		n += len(e.revocations(g))
	}
	require.LessOrEqual(t, n, 20, "DEFECT D1: %d revokes within one minute, the cap is per invocation", n)
	require.Positive(t, n, "the minute's budget is used")
}

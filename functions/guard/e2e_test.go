package main

// End-to-end tests of the guard: the real guard binary, run by localcloud's FC
// runtime from the repo's s.yaml, reacting to changes a human makes with the
// unmodified ECS SDK. Nothing here calls the guard's Go code directly.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	sls "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/approve/approvetest"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
)

type env struct {
	t     *testing.T
	cloud *localcloud.Cloud
	ecs   *ecs.Client
	led   *ledger.Ledger
}

func start(t *testing.T, opts localcloud.Options) *env {
	t.Helper()
	c := lctest.Start(t, opts, "guard")
	return &env{t: t, cloud: c, ecs: lctest.ECS(t, c), led: ledgerOf(c)}
}

// ledgerOf is the ledger of c, read over the real SLS SDK.
func ledgerOf(c *localcloud.Cloud) *ledger.Ledger { return ledgertest.Of(c) }

func (e *env) decisions() []ledger.Record {
	e.t.Helper()
	recs, err := ledgertest.Written(e.t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindDecision}})
	require.NoError(e.t, err)
	return recs
}

// click opens a decision link as its owner does: the GET answers the
// confirmation page and records nothing (asserted), then its form is
// submitted. It returns the status of the last request.
func (e *env) click(link string) int {
	e.t.Helper()
	before := len(e.decisions())
	status, page, err := approvetest.Click(e.t.Context(), nil, link, func(_ int, _ string) {
		require.Len(e.t, e.decisions(), before, "a GET records nothing")
	})
	require.NoError(e.t, err)
	want := before
	if status == http.StatusOK {
		want++ // the confirmation recorded one decision
	}
	require.Len(e.t, e.decisions(), want, page)
	// The owner's next step comes seconds later, when SLS's index has the
	// decision: what the guard and the approve function search for.
	ledgertest.Searchable(e.t, e.led, e.decisions()...)
	return status
}

type perm struct {
	proto, ports, cidr, cidr6, policy, priority, desc string
}

// authorize is the human: one AuthorizeSecurityGroup call with Permissions.N.
func (e *env) authorize(group string, ps ...perm) {
	e.t.Helper()
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId = e.cloud.Region()
	req.SecurityGroupId = group
	var list []ecs.AuthorizeSecurityGroupPermissions
	for _, p := range ps {
		list = append(list, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: p.proto, PortRange: p.ports, SourceCidrIp: p.cidr,
			Ipv6SourceCidrIp: p.cidr6, Policy: p.policy, Priority: p.priority, Description: p.desc})
	}
	req.Permissions = &list
	_, err := e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
}

// rules lists the group's ingress rules as "PROTO PORTS PEER POLICY".
func (e *env) rules(group string) []string {
	e.t.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId = e.cloud.Region()
	req.SecurityGroupId = group
	req.Direction = "ingress"
	resp, err := e.ecs.DescribeSecurityGroupAttribute(req)
	require.NoError(e.t, err)
	var out []string
	for _, p := range resp.Permissions.Permission {
		peer := p.SourceCidrIp + p.Ipv6SourceCidrIp + p.SourceGroupId + p.SourcePrefixListId
		out = append(out, fmt.Sprintf("%s %s %s %s", p.IpProtocol, p.PortRange, peer, p.Policy))
	}
	return out
}

func (e *env) revocations(group string) []ledger.Record {
	e.t.Helper()
	recs, err := ledgertest.Written(e.t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRevocation}, GroupID: group})
	require.NoError(e.t, err)
	return recs
}

// guardResults are the guard's responses, one per invocation.
func (e *env) guardResults() []map[string]any {
	var out []map[string]any
	for _, inv := range e.cloud.Runtime.Invocations() {
		if inv.Function != "porthygiene-guard" || inv.Initializer {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(inv.Response), &m) == nil {
			m["trigger"] = inv.Trigger
			m["status"] = string(inv.Status)
			out = append(out, m)
		}
	}
	return out
}

func TestGuardRevokesSSHOpenToTheWorld(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.authorize("sg-web", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", desc: "debug"})

	require.NotContains(t, e.rules("sg-web"), "TCP 22/22 0.0.0.0/0 Accept", "the exposing rule must be revoked")
	require.Contains(t, e.rules("sg-web"), "TCP 22/22 10.0.0.0/16 Accept", "the sibling rule on the same port must stay")
	require.Contains(t, e.rules("sg-web"), "TCP 443/443 0.0.0.0/0 Accept", "443 is allowed to the internet")

	revs := e.revocations("sg-web")
	require.Len(t, revs, 1)
	rv, err := revs[0].Revocation()
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0/0", rv.Rule.SourceCidrIp)
	require.Equal(t, "22/22", rv.Rule.PortRange)
	require.Equal(t, "debug", rv.Rule.Description)
	require.Equal(t, "alice", rv.Event.ActorUserName, "the backup names who opened it")
	require.Equal(t, "alice", rv.OpenedBy)
	require.Equal(t, "AuthorizeSecurityGroup", rv.Event.EventName)

	// Our own revoke reaches the guard through the ActionTrail logstore (the
	// EventBridge pattern names only the events that can open a port): it is
	// ignored, and alice's event, seen there a second time, is not handled twice.
	_, err = e.cloud.Advance(t.Context(), 10*time.Second)
	require.NoError(t, err)
	require.Len(t, e.revocations("sg-web"), 1)
	var ownIgnored, dupIgnored bool
	for _, r := range e.guardResults() {
		for _, ig := range asStrings(r["ignored"]) {
			ownIgnored = ownIgnored || strings.Contains(ig, "our own role")
			dupIgnored = dupIgnored || strings.Contains(ig, "already handled")
		}
	}
	require.True(t, ownIgnored, "the guard's own revoke event must be ignored: %v", e.guardResults())
	require.True(t, dupIgnored, "an event seen on both paths is handled once: %v", e.guardResults())
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestGuardExposureShapes(t *testing.T) {
	e := start(t, localcloud.Options{})
	cases := []struct {
		name   string
		perms  []perm
		gone   []string
		stays  []string
		revoke int
	}{
		// IPv6: ::/0 is the internet too (a c7n remediation missed it).
		{"ipv6 world", []perm{{proto: "tcp", ports: "3306/3306", cidr6: "::/0"}}, []string{"TCP 3306/3306 ::/0 Accept"}, nil, 1},
		// ALL -1/-1 opens every tcp and udp port, ssh included.
		{"all protocols", []perm{{proto: "all", ports: "-1/-1", cidr: "0.0.0.0/0"}}, []string{"ALL -1/-1 0.0.0.0/0 Accept"}, nil, 1},
		// Two halves of the internet are the internet: both rules go.
		{"split halves", []perm{{proto: "tcp", ports: "6379/6379", cidr: "0.0.0.0/1"}, {proto: "tcp", ports: "6379/6379", cidr: "128.0.0.0/1"}},
			[]string{"TCP 6379/6379 0.0.0.0/1 Accept", "TCP 6379/6379 128.0.0.0/1 Accept"}, nil, 2},
		// 443 may be open to the world.
		{"https stays", []perm{{proto: "tcp", ports: "443/443", cidr: "0.0.0.0/0", priority: "2"}}, nil, []string{"TCP 443/443 0.0.0.0/0 Accept"}, 0},
		// GRE has no ports: never reported as ssh.
		{"gre stays", []perm{{proto: "gre", ports: "-1/-1", cidr: "0.0.0.0/0"}}, nil, []string{"GRE -1/-1 0.0.0.0/0 Accept"}, 0},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			group := createGroup(t, e, fmt.Sprintf("case-%d", i))
			e.authorize(group, tc.perms...)
			rules := e.rules(group)
			for _, g := range tc.gone {
				require.NotContains(t, rules, g)
			}
			for _, s := range tc.stays {
				require.Contains(t, rules, s)
			}
			require.Len(t, e.revocations(group), tc.revoke)
		})
	}
}

// createGroup creates an empty group and returns the id ECS gave it.
func createGroup(t *testing.T, e *env, name string) string {
	t.Helper()
	req := ecs.CreateCreateSecurityGroupRequest()
	req.RegionId = e.cloud.Region()
	req.VpcId = "vpc-demo"
	req.SecurityGroupName = name
	resp, err := e.ecs.CreateSecurityGroup(req)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)
	return resp.SecurityGroupId
}

func TestGuardHigherPriorityDropMakesAcceptHarmless(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "drop")
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", policy: "drop", priority: "1"})
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", policy: "accept", priority: "5"})
	require.Contains(t, e.rules(g), "TCP 22/22 0.0.0.0/0 Accept")
	require.Empty(t, e.revocations(g))
}

func TestGuardLeavesExemptRule(t *testing.T) {
	e := start(t, localcloud.Options{})
	until := e.cloud.Clock.Now().Add(72 * time.Hour).Format("2006-01-02")
	e.authorize("sg-bastion", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0",
		desc: "[porthygiene-exempt owner=ops until=" + until + " reason=\"bastion host\"]"})
	require.Contains(t, e.rules("sg-bastion"), "TCP 22/22 0.0.0.0/0 Accept")
	require.Empty(t, e.revocations("sg-bastion"))

	// The exemption ends; the hourly sweep closes the rule.
	_, err := e.cloud.Advance(t.Context(), 5*24*time.Hour)
	require.NoError(t, err)
	require.NotContains(t, e.rules("sg-bastion"), "TCP 22/22 0.0.0.0/0 Accept")
	require.Len(t, e.revocations("sg-bastion"), 1)
}

func TestGuardSweepFindsRuleWithoutEvent(t *testing.T) {
	e := start(t, localcloud.Options{})
	// sg-legacy's RDP rule predates the deployment: no event ever named it.
	require.Contains(t, e.rules("sg-legacy"), "TCP 3389/3389 0.0.0.0/0 Accept")
	_, err := e.cloud.Advance(t.Context(), time.Hour)
	require.NoError(t, err)
	require.NotContains(t, e.rules("sg-legacy"), "TCP 3389/3389 0.0.0.0/0 Accept")
	revs := e.revocations("sg-legacy")
	require.Len(t, revs, 1)
	rv, err := revs[0].Revocation()
	require.NoError(t, err)
	require.Equal(t, "sweep", rv.Event.Source)
}

func TestGuardJoinExposedGroup(t *testing.T) {
	e := start(t, localcloud.Options{})
	req := ecs.CreateJoinSecurityGroupRequest()
	req.RegionId = e.cloud.Region()
	req.InstanceId = "i-db-1"
	req.SecurityGroupId = "sg-legacy"
	_, err := e.ecs.JoinSecurityGroup(req)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)
	require.NotContains(t, e.rules("sg-legacy"), "TCP 3389/3389 0.0.0.0/0 Accept")
	rv, err := e.revocations("sg-legacy")[0].Revocation()
	require.NoError(t, err)
	require.Equal(t, "JoinSecurityGroup", rv.Event.EventName)
	require.Equal(t, ledger.Unknown, rv.OpenedBy, "the instance's owner did not open the rule")
}

func TestGuardDuplicatedAndReorderedEvents(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.cloud.SetFaults(faults.Config{DuplicateEvents: true, ReorderEvents: true})
	e.authorize("sg-web", perm{proto: "tcp", ports: "23/23", cidr: "0.0.0.0/0"})
	e.authorize("sg-web", perm{proto: "tcp", ports: "5900/5900", cidr: "0.0.0.0/0"})
	e.cloud.Bus.Flush()
	lctest.Settle(t, e.cloud)
	rules := e.rules("sg-web")
	require.NotContains(t, rules, "TCP 23/23 0.0.0.0/0 Accept")
	require.NotContains(t, rules, "TCP 5900/5900 0.0.0.0/0 Accept")
	// Concurrent instances may each take a backup (keyed by rule id, identical),
	// but each rule is revoked by exactly one of them.
	backedUp := map[string]bool{}
	for _, r := range e.revocations("sg-web") {
		backedUp[r.RuleID] = true
	}
	require.Len(t, backedUp, 2)
	revokedBy := map[string]int{}
	for _, r := range e.guardResults() {
		for _, id := range asStrings(r["revoked"]) {
			revokedBy[id]++
		}
	}
	require.Len(t, revokedBy, 2, "both rules revoked: %v", e.guardResults())
	for id, n := range revokedBy {
		require.Equal(t, 1, n, "rule %s revoked by %d invocations", id, n)
	}
}

func TestGuardSLSTriggerPathAlone(t *testing.T) {
	e := start(t, localcloud.Options{})
	require.NoError(t, e.cloud.SetTriggerEnabled("guard", "actiontrail-events", false))
	e.authorize("sg-web", perm{proto: "tcp", ports: "27017/27017", cidr: "0.0.0.0/0"})
	require.Contains(t, e.rules("sg-web"), "TCP 27017/27017 0.0.0.0/0 Accept", "no EventBridge delivery yet")
	_, err := e.cloud.Advance(t.Context(), 10*time.Second)
	require.NoError(t, err)
	require.NotContains(t, e.rules("sg-web"), "TCP 27017/27017 0.0.0.0/0 Accept")
	rv, err := e.revocations("sg-web")[0].Revocation()
	require.NoError(t, err)
	require.Equal(t, "sls", rv.Event.Source)
}

// TestGuardHonoursDecisionButtons: in notify mode the guard reports with
// signed "keep open" / "close now" links; clicking them (the approve function,
// HTTP trigger) records a decision that the next sweep honours.
func TestGuardHonoursDecisionButtons(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "notify.yaml")
	require.NoError(t, os.WriteFile(pol, []byte("modes:\n  guard: notify\n"), 0o644))
	c := lctest.Start(t, localcloud.Options{Getenv: func(k string) string {
		if k == "PORTHYGIENE_POLICY" {
			return pol
		}
		return ""
	}}, "guard", "approve")
	e := &env{t: t, cloud: c, ecs: lctest.ECS(t, c), led: ledgerOf(c)}
	e.authorize("sg-web", perm{proto: "tcp", ports: "6379/6379", cidr: "0.0.0.0/0", desc: "redis debug"})
	e.authorize("sg-db", perm{proto: "tcp", ports: "5432/5432", cidr: "0.0.0.0/0", desc: "pg for the vendor"})
	require.Contains(t, e.rules("sg-web"), "TCP 6379/6379 0.0.0.0/0 Accept", "notify mode changes nothing")

	button := func(group, title string) string {
		for _, m := range c.DingTalk.Messages("") {
			if !strings.Contains(m.Text, group) {
				continue
			}
			for _, b := range m.Buttons {
				if strings.Contains(b.Title, title) {
					return b.ActionURL
				}
			}
			for _, l := range regexp.MustCompile(`\((http://[^)]+)\)`).FindAllStringSubmatch(m.Text, -1) {
				if strings.Contains(m.Text, title) && strings.Contains(l[1], "a="+map[string]string{"关闭": "close", "保持": "keep"}[title]) {
					return l[1]
				}
			}
		}
		t.Fatalf("no %q button for %s in %+v", title, group, c.DingTalk.Messages(""))
		return ""
	}
	click := e.click
	closeNow := button("sg-web", "关闭")
	status, page, err := approvetest.Get(t.Context(), nil, closeNow)
	require.NoError(t, err)
	require.Equal(t, 200, status, page)
	require.Empty(t, e.decisions(), "a GET alone records nothing")
	require.Equal(t, 200, click(closeNow))
	keep := button("sg-db", "保持")
	require.Equal(t, 200, click(keep))
	require.Equal(t, 409, click(keep), "a link works once")
	u, err := url.Parse(keep)
	require.NoError(t, err)
	status, _, err = approvetest.Post(t.Context(), nil, keep, u.Query())
	require.NoError(t, err)
	require.Equal(t, 409, status, "a confirmation works once")
	require.Equal(t, 403, click(strings.Replace(keep, "a=keep", "a=close", 1)), "a tampered link is refused")
	require.Len(t, e.decisions(), 2)

	_, err = c.Advance(t.Context(), time.Hour) // the sweep honours the decisions
	require.NoError(t, err)
	require.NotContains(t, e.rules("sg-web"), "TCP 6379/6379 0.0.0.0/0 Accept", "closed at the owner's request")
	require.Contains(t, e.rules("sg-db"), "TCP 5432/5432 0.0.0.0/0 Accept", "kept open by the owner's decision")
}

// TestGuardBurstReachesDingTalkWithinTheLimit: an IaC apply opens 300
// sensitive rules at once. The guard paces itself (20 changes a minute
// across its instances, the default, never more: each run's claims are
// checked against the others'), says so, and closes all 300 within 20
// virtual minutes (15 at the least, at 20 a minute) through its delayed
// continuations, not at the next hourly sweep. Every revocation is reported exactly once, as digests, with no
// message refused as too fast (the robot allows 20 a minute), even though
// the reports are sent by several invocations and instances.
func TestGuardBurstReachesDingTalkWithinTheLimit(t *testing.T) {
	e := start(t, localcloud.Options{})
	ports := []int{21, 23, 445, 1433, 1521, 2375, 2376, 2379, 2380, 3306, 3389, 5432, 5900, 6379, 9200, 9300, 10250, 11211, 27017, 22}
	var groups []string
	for i := 0; i < 15; i++ {
		g := createGroup(t, e, fmt.Sprintf("burst-%d", i))
		groups = append(groups, g)
		var ps []perm
		for _, p := range ports {
			ps = append(ps, perm{proto: "tcp", ports: fmt.Sprintf("%d/%d", p, p), cidr: "0.0.0.0/0", desc: "terraform"})
		}
		e.authorize(g, ps...)
	}
	revokedNow := func() map[string]bool {
		revoked := map[string]bool{}
		for _, g := range groups {
			for _, r := range e.revocations(g) {
				revoked[r.RuleID] = true
			}
		}
		return revoked
	}
	first := len(revokedNow())
	require.Less(t, first, 300, "the pace holds most of the burst back")
	require.GreaterOrEqual(t, first, 20, "the first minute's budget is used at once")
	var paced bool
	for _, m := range e.cloud.DingTalk.Messages("") {
		paced = paced || strings.Contains(m.Text, "rate-limiting itself")
	}
	require.True(t, paced, "the guard says it is rate-limiting itself")
	minutes := 0
	for len(revokedNow()) < 300 && minutes < 20 {
		_, err := e.cloud.Advance(t.Context(), time.Minute)
		require.NoError(t, err)
		minutes++
	}
	revoked := revokedNow()
	require.Len(t, revoked, 300, "all closed within 20 virtual minutes")
	revokedPerMinute := map[int64]int{}
	for _, g := range groups {
		for _, r := range e.revocations(g) {
			revokedPerMinute[r.Time.Unix()/60]++
		}
	}
	for minute, n := range revokedPerMinute {
		require.LessOrEqual(t, n, 20, "revocations in minute %d: the pace holds across instances", minute)
	}
	t.Logf("300 exposures closed in %d virtual minute(s) after the burst (%d at once)", minutes, first)
	for _, g := range groups {
		require.Empty(t, slicesFilter(e.rules(g), "0.0.0.0/0"), "group %s still exposed", g)
	}

	// Later invocations (the hourly sweeps) send what the budget deferred.
	_, err := e.cloud.Advance(t.Context(), 3*time.Hour)
	require.NoError(t, err)

	shown := map[string]int{}
	perMinute := map[int64]int{}
	msgs := e.cloud.DingTalk.Messages("")
	for _, m := range msgs {
		perMinute[m.Time.Unix()/60]++
		for id := range revoked {
			if strings.Contains(m.Text, id) {
				shown[id]++
			}
		}
	}
	for id := range revoked {
		require.Equal(t, 1, shown[id], "revocation of %s reported %d times", id, shown[id])
	}
	for minute, n := range perMinute {
		require.LessOrEqual(t, n, 20, "minute %d", minute)
	}
	for _, a := range e.cloud.DingTalk.Attempts() {
		require.NotEqual(t, 130101, a.ErrCode, "a message was refused as too fast")
	}
	require.Less(t, len(msgs), 60, "300 reports arrive as digests, not one message each")
	t.Logf("300 revocations reported in %d messages", len(msgs))
}

func slicesFilter(list []string, sub string) []string {
	var out []string
	for _, s := range list {
		if strings.Contains(s, sub) && !strings.HasPrefix(s, "TCP 443/") && !strings.HasPrefix(s, "TCP 80/") {
			out = append(out, s)
		}
	}
	return out
}

// TestGuardNotificationsSurviveADingTalkOutage: the robot is down for an hour;
// nothing is lost, everything arrives once when it is back, and no log line
// of the function carries the robot's token or signing secret.
func TestGuardNotificationsSurviveADingTalkOutage(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.cloud.SetFaults(faults.Config{DingTalkDown: true})
	e.authorize("sg-web", perm{proto: "tcp", ports: "3306/3306", cidr: "0.0.0.0/0"})
	e.authorize("sg-db", perm{proto: "tcp", ports: "6379/6379", cidr: "0.0.0.0/0"})
	_, err := e.cloud.Advance(t.Context(), time.Hour) // sweeps try and fail
	require.NoError(t, err)
	require.Empty(t, e.cloud.DingTalk.Messages(""))
	failed := 0
	for _, a := range e.cloud.DingTalk.Attempts() {
		if a.HTTPStatus == http.StatusServiceUnavailable {
			failed++
		}
	}
	require.Positive(t, failed, "the functions tried while the robot was down")

	e.cloud.SetFaults(faults.Config{})
	_, err = e.cloud.Advance(t.Context(), 2*time.Hour)
	require.NoError(t, err)
	var ids []string
	for _, g := range []string{"sg-web", "sg-db"} {
		for _, r := range e.revocations(g) {
			ids = append(ids, r.RuleID)
		}
	}
	require.Len(t, ids, 2)
	for _, id := range ids {
		n := 0
		for _, m := range e.cloud.DingTalk.Messages("") {
			if strings.Contains(m.Text, id) {
				n++
			}
		}
		require.Equal(t, 1, n, "rule %s reported once after the outage", id)
	}
	logs := e.cloud.Runtime.Logs("porthygiene-guard")
	for _, r := range e.cloud.Endpoints().Robots {
		u, err := url.Parse(r.Webhook)
		require.NoError(t, err)
		require.NotContains(t, logs, u.Query().Get("access_token"))
		require.NotContains(t, logs, r.Secret)
	}
	require.NotContains(t, logs, e.cloud.Operator().AccessKeySecret)
}

// startWithPolicy starts the guard with a policy file of the test's own.
func startWithPolicy(t *testing.T, yaml string) *env {
	t.Helper()
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(pol, []byte(yaml), 0o644))
	return start(t, localcloud.Options{Getenv: func(k string) string {
		if k == "PORTHYGIENE_POLICY" {
			return pol
		}
		return ""
	}})
}

func TestGuardModes(t *testing.T) {
	t.Run("DryRunChangesNothingAndTellsNoOne", func(t *testing.T) {
		e := startWithPolicy(t, "modes:\n  guard: dry-run\n")
		e.authorize("sg-web", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0"})
		require.Contains(t, e.rules("sg-web"), "TCP 22/22 0.0.0.0/0 Accept")
		require.Empty(t, e.revocations("sg-web"))
		require.Empty(t, e.cloud.DingTalk.Messages(""))
		require.Contains(t, e.cloud.Runtime.Logs("porthygiene-guard"), "dry-run: would revoke")
	})
	t.Run("NotifyReportsAndChangesNothing", func(t *testing.T) {
		e := startWithPolicy(t, "modes:\n  guard: notify\n")
		e.authorize("sg-web", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0"})
		require.Contains(t, e.rules("sg-web"), "TCP 22/22 0.0.0.0/0 Accept")
		require.Empty(t, e.revocations("sg-web"))
		msgs := e.cloud.DingTalk.Messages("")
		require.Len(t, msgs, 1)
		require.Contains(t, msgs[0].Text, "sg-web")
	})
	t.Run("ReplaceReauthorizesForTrustedSources", func(t *testing.T) {
		e := startWithPolicy(t, "modes:\n  guard: enforce\nreplace:\n  trustedCidrs: [203.0.113.0/24]\n")
		e.authorize("sg-web", perm{proto: "tcp", ports: "5432/5432", cidr: "0.0.0.0/0", priority: "3"})
		rules := e.rules("sg-web")
		require.NotContains(t, rules, "TCP 5432/5432 0.0.0.0/0 Accept")
		require.Contains(t, rules, "TCP 5432/5432 203.0.113.0/24 Accept", "same ports, trusted source")
		rv, err := e.revocations("sg-web")[0].Revocation()
		require.NoError(t, err)
		require.Len(t, rv.Replacement, 1, "the backup records what replaced the rule")
	})
	t.Run("CapSwitchesToNotifyAndSaysSo", func(t *testing.T) {
		e := startWithPolicy(t, "modes:\n  guard: enforce\nmaxChangesPerRun: 3\n")
		g := createGroup(t, e, "capped")
		e.authorize(g, perm{proto: "tcp", ports: "21/21", cidr: "0.0.0.0/0"}, perm{proto: "tcp", ports: "23/23", cidr: "0.0.0.0/0"},
			perm{proto: "tcp", ports: "445/445", cidr: "0.0.0.0/0"}, perm{proto: "tcp", ports: "3389/3389", cidr: "0.0.0.0/0"},
			perm{proto: "tcp", ports: "5900/5900", cidr: "0.0.0.0/0"})
		require.Len(t, e.revocations(g), 3, "one run revokes at most maxChangesPerRun rules")
		var capped float64
		for _, r := range e.guardResults() {
			if c, ok := r["capped"].(float64); ok {
				capped += c
			}
		}
		require.Equal(t, 2.0, capped)
		var said bool
		for _, m := range e.cloud.DingTalk.Messages("") {
			said = said || strings.Contains(m.Text, "rate-limiting itself: 2 more change(s) waiting")
		}
		require.True(t, said, "the message says the guard is rate-limiting itself, and how many wait")
		// A paced continuation, a minute later, not the next hourly sweep.
		_, err := e.cloud.Advance(t.Context(), 2*time.Minute)
		require.NoError(t, err)
		require.Len(t, e.revocations(g), 5)
	})
}

// TestGuardRestoresOnTheOwnersDecision: the message about a revoked rule
// carries a signed "restore" button; clicking it records a decision that the
// next sweep carries out, with an exemption, and the guard then leaves it.
func TestGuardRestoresOnTheOwnersDecision(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{}, "guard", "approve")
	e := &env{t: t, cloud: c, ecs: lctest.ECS(t, c), led: ledgerOf(c)}
	e.authorize("sg-web", perm{proto: "tcp", ports: "9200/9200", cidr: "0.0.0.0/0", desc: "es for the demo"})
	require.NotContains(t, e.rules("sg-web"), "TCP 9200/9200 0.0.0.0/0 Accept")
	var link string
	for _, m := range c.DingTalk.Messages("") {
		for _, b := range m.Buttons {
			if strings.Contains(b.ActionURL, "a=restore") {
				link = b.ActionURL
			}
		}
		if link == "" {
			if l := regexp.MustCompile(`\((http://[^)]*a=restore[^)]*)\)`).FindStringSubmatch(m.Text); l != nil {
				link = l[1]
			}
		}
	}
	require.NotEmpty(t, link, "the revocation message offers a restore button")
	status, page, err := approvetest.Get(t.Context(), nil, link)
	require.NoError(t, err)
	require.Equal(t, 200, status, page)
	require.Contains(t, page, "restore rule")
	_, err = c.Advance(t.Context(), time.Hour)
	require.NoError(t, err)
	require.NotContains(t, e.rules("sg-web"), "TCP 9200/9200 0.0.0.0/0 Accept", "a GET alone restores nothing")
	require.Empty(t, e.decisions(), "a GET alone records nothing")
	require.Equal(t, 200, e.click(link))

	_, err = c.Advance(t.Context(), time.Hour)
	require.NoError(t, err)
	require.Contains(t, e.rules("sg-web"), "TCP 9200/9200 0.0.0.0/0 Accept", "restored by the sweep")
	_, err = c.Advance(t.Context(), 2*time.Hour)
	require.NoError(t, err)
	require.Contains(t, e.rules("sg-web"), "TCP 9200/9200 0.0.0.0/0 Accept", "and left open: it carries an exemption")
	var restored bool
	for _, m := range c.DingTalk.Messages("") {
		restored = restored || strings.Contains(m.Text, "9200") && (strings.Contains(m.Text, "已恢复") || strings.Contains(m.Text, "restored"))
	}
	require.True(t, restored, "the owners are told it was restored")
}

// One AuthorizeSecurityGroup opening ALL, SSH and RDP to the world: the
// evaluator credits each port to the first rule that decides it, yet every
// exposing rule is gone after the one invocation of that event, not at the
// next sweep.
func TestGuardOverlappingExposuresAllGoInOneInvocation(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "overlap")
	e.authorize(g,
		perm{proto: "all", ports: "-1/-1", cidr: "0.0.0.0/0"},
		perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0"},
		perm{proto: "tcp", ports: "3389/3389", cidr: "0.0.0.0/0"})
	require.Empty(t, e.rules(g), "every exposing rule revoked by the event's invocation")
	require.Len(t, e.revocations(g), 3)
	for _, rec := range e.revocations(g) {
		rv, err := rec.Revocation()
		require.NoError(t, err)
		require.Equal(t, "AuthorizeSecurityGroup", rv.Event.EventName, "revoked by the event, not by a later sweep")
	}
}

// A higher-priority drop hides an accept to the world; when someone revokes
// the drop, the accept is exposed, and the guard closes it within the
// revoke's event.
func TestGuardRevokedDropUnmasksTheAccept(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "unmask")
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", policy: "drop", priority: "1"})
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", policy: "accept", priority: "5"})
	require.Empty(t, e.revocations(g), "the drop makes the accept harmless")

	var dropID string
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId, req.SecurityGroupId, req.Direction = e.cloud.Region(), g, "ingress"
	resp, err := e.ecs.DescribeSecurityGroupAttribute(req)
	require.NoError(t, err)
	for _, p := range resp.Permissions.Permission {
		if strings.EqualFold(p.Policy, "drop") {
			dropID = p.SecurityGroupRuleId
		}
	}
	require.NotEmpty(t, dropID)
	rv := ecs.CreateRevokeSecurityGroupRequest()
	rv.RegionId, rv.SecurityGroupId = e.cloud.Region(), g
	rv.SecurityGroupRuleId = &[]string{dropID}
	_, err = e.ecs.RevokeSecurityGroup(rv)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)

	require.Empty(t, e.rules(g), "the unmasked accept is revoked")
	revs := e.revocations(g)
	require.Len(t, revs, 1)
	body, err := revs[0].Revocation()
	require.NoError(t, err)
	require.Equal(t, "RevokeSecurityGroup", body.Event.EventName, "closed by the revoke's event, not by the sweep")
}

// RevokeSecurityGroup fails every time: the rule stays open, and people hear
// of it from the same invocation, within seconds, naming the rule, not from
// the next sweep. Once ECS recovers, FC's retry of the invocation closes it.
func TestGuardFailedRevokeIsToldAtOnce(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "revoke-fails")
	e.cloud.SetFaults(faults.Config{Actions: []faults.Action{{Service: "ecs", Action: "RevokeSecurityGroup", ServerErrorRatio: 1}}})
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0", Description: "debug"}}
	began := time.Now()
	_, err := e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	var ruleID string
	require.Eventually(t, func() bool {
		for _, p := range e.rulesFull(g) {
			if p.SourceCidrIp == "0.0.0.0/0" {
				ruleID = p.SecurityGroupRuleId
			}
		}
		for _, m := range e.cloud.DingTalk.Messages("") {
			if ruleID != "" && strings.Contains(m.Text, ruleID) && strings.Contains(m.Text, "NOT revoked") {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "a DingTalk message naming the rule that could not be revoked")
	t.Logf("failure told %v after the change", time.Since(began).Round(time.Millisecond))
	require.Contains(t, e.rules(g), "TCP 22/22 0.0.0.0/0 Accept", "still open: the revoke failed")
	require.Empty(t, e.revocations(g), "the ledger claims no revocation that did not happen")

	e.cloud.SetFaults(faults.Config{})
	require.Eventually(t, func() bool { return !slices.Contains(e.rules(g), "TCP 22/22 0.0.0.0/0 Accept") }, 30*time.Second, 200*time.Millisecond,
		"FC's retry closes the rule once ECS recovers")
	lctest.Settle(t, e.cloud)
	require.Len(t, e.revocations(g), 1, "one revocation record, for the one revoke that happened")
}

// ecsAs is the ECS SDK as another RAM user of the account.
func (e *env) ecsAs(user string) *ecs.Client {
	e.t.Helper()
	cred := e.cloud.Auth.AddUser(user)
	cl, err := ecs.NewClientWithOptions(e.cloud.Region(), sdk.NewConfig(), credentials.NewAccessKeyCredential(cred.AccessKeyID, cred.AccessKeySecret))
	require.NoError(e.t, err)
	cl.Domain = e.cloud.Addr()
	return cl
}

// Three harmless changes by bob and one exposure by carol on one group, at
// once: every run that looks at the group sees the exposure, yet the ledger
// holds one revocation record, and names carol as its opener, never bob:
// on the revocation when carol's run revoked it, else on a finding record of
// carol's run when one of bob's runs got there first ("already gone" when
// both revoked at once, "opened, already gone" when hers read it gone).
func TestGuardOneRevocationRecordAttributedToTheOpener(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "attribution")
	bob, carol := e.ecsAs("bob"), e.ecsAs("carol")
	send := func(cl *ecs.Client, ports, cidr string) {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
		req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: ports, SourceCidrIp: cidr}}
		_, err := cl.AuthorizeSecurityGroup(req)
		require.NoError(t, err)
	}
	send(bob, "8080/8080", "10.1.0.0/16")
	send(carol, "22/22", "0.0.0.0/0")
	send(bob, "8081/8081", "10.2.0.0/16")
	send(bob, "8082/8082", "10.3.0.0/16")
	lctest.Settle(t, e.cloud)

	require.NotContains(t, e.rules(g), "TCP 22/22 0.0.0.0/0 Accept")
	revs := e.revocations(g)
	require.Len(t, revs, 1, "one record per rule actually revoked")
	body, err := revs[0].Revocation()
	require.NoError(t, err)
	require.NotEmpty(t, body.BackupID, "the revocation names its backup")
	require.NotEqual(t, "bob", body.OpenedBy)
	if body.OpenedBy != "carol" {
		require.Equal(t, ledger.Unknown, body.OpenedBy)
		found, err := ledgertest.Written(t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindFinding}, GroupID: g})
		require.NoError(t, err)
		var openers []string
		for _, f := range found {
			fb, err := f.Finding()
			require.NoError(t, err)
			if fb.OpenedBy != "" {
				openers = append(openers, fb.OpenedBy)
			}
		}
		require.Equal(t, []string{"carol"}, openers, "carol's run, finding the rule gone, records that she opened it")
	}
	for _, m := range e.cloud.DingTalk.Messages("") {
		if strings.Contains(m.Text, revs[0].RuleID) {
			require.NotContains(t, m.Text, "bob", "the message never names the author of an unrelated change")
		}
	}
}

// rulesFull is the group's ingress rules as the SDK returns them.
func (e *env) rulesFull(group string) []ecs.Permission {
	e.t.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId, req.SecurityGroupId, req.Direction = e.cloud.Region(), group, "ingress"
	resp, err := e.ecs.DescribeSecurityGroupAttribute(req)
	require.NoError(e.t, err)
	return resp.Permissions.Permission
}

// Anyone who can open a port can write an exemption marker: mallory opens
// SSH to the world with "until=9999-12-31" in the same call. The exemption
// is announced at once, flagged as written by the principal who opened the
// port, recorded with the end the policy's maximum allows, and the rule is
// closed when that end comes (here maxDays 2, so that the test advances 3
// virtual days rather than 91).
func TestGuardSelfWrittenForeverExemptionIsAnnouncedAndEnded(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(pol, []byte("modes:\n  guard: enforce\nexemptions:\n  maxDays: 2\n  warnDays: 1\n"), 0o600))
	e := start(t, localcloud.Options{Env: map[string]string{"PORTHYGIENE_POLICY": pol}})
	g := createGroup(t, e, "forever")
	mallory := e.ecsAs("mallory")
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = e.cloud.Region(), g
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0",
		Description: `[porthygiene-exempt owner=mallory until=9999-12-31 reason="mine"]`}}
	_, err := mallory.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)

	require.Contains(t, e.rules(g), "TCP 22/22 0.0.0.0/0 Accept", "exempt for now")
	notices, err := ledgertest.Written(t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindExemption}, GroupID: g})
	require.NoError(t, err)
	require.Len(t, notices, 1, "announced once, recorded once")
	n, err := notices[0].ExemptionNotice()
	require.NoError(t, err)
	require.Equal(t, "mallory", n.WrittenBy)
	require.True(t, n.SelfExempted)
	require.True(t, n.Cut)
	require.Equal(t, 9999, n.Asked.Year())
	require.LessOrEqual(t, n.Until.Sub(e.cloud.Clock.Now()), 2*24*time.Hour, "cut to the policy's maximum")
	var told bool
	for _, m := range e.cloud.DingTalk.Messages("") {
		told = told || strings.Contains(m.Text, "WRITTEN BY THE PRINCIPAL WHO OPENED THE PORT") && strings.Contains(m.Text, "mallory")
	}
	require.True(t, told, "the exemption is announced, flagged")

	// The end comes: the hourly sweep closes the rule, once.
	_, err = e.cloud.Advance(t.Context(), 3*24*time.Hour)
	require.NoError(t, err)
	require.NotContains(t, e.rules(g), "TCP 22/22 0.0.0.0/0 Accept")
	revs := e.revocations(g)
	require.Len(t, revs, 1)
	body, err := revs[0].Revocation()
	require.NoError(t, err)
	require.Contains(t, body.Reason, "at the policy's maximum length")
	notices, err = ledgertest.Written(t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindExemption}, GroupID: g})
	require.NoError(t, err)
	require.Len(t, notices, 2, "announced, then announced as expiring; never again")
}

// The ledger's index is deleted (or was never created): owners' decisions
// cannot be read. The guard says so by name in its log, keeps revoking what
// was just opened (nobody can have kept a rule that did not exist a minute
// ago), and reports, without revoking, the older exposure an owner may have
// chosen to keep.
func TestGuardWithoutTheLedgerIndex(t *testing.T) {
	e := start(t, localcloud.Options{})
	op := e.cloud.Operator()
	dial := &net.Dialer{Timeout: 2 * time.Second}
	raw := &sls.Client{Endpoint: e.cloud.Region() + ".log.aliyuncs.com", AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, nw, _ string) (net.Conn, error) {
				return dial.DialContext(ctx, nw, e.cloud.Addr())
			}}}}
	ep := e.cloud.Endpoints()
	require.NoError(t, raw.DeleteIndex(ep.Ledger.Project, ep.Ledger.Logstore))

	// Fresh: opened now, revoked now.
	e.authorize("sg-web", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", desc: "debug"})
	require.NotContains(t, e.rules("sg-web"), "TCP 22/22 0.0.0.0/0 Accept", "a fresh exposure is revoked without the ledger's index")

	// Old: sg-legacy's RDP rule predates the deployment; the sweep reports it.
	require.Contains(t, e.rules("sg-legacy"), "TCP 3389/3389 0.0.0.0/0 Accept")
	_, err := e.cloud.Advance(t.Context(), time.Hour)
	require.NoError(t, err)
	require.Contains(t, e.rules("sg-legacy"), "TCP 3389/3389 0.0.0.0/0 Accept", "an old rule may have been kept: reported, not revoked")

	require.Contains(t, e.cloud.Runtime.Logs("porthygiene-guard"), "the ledger logstore has no index", "the guard names the problem in its log")
}

// The robot is down for ten minutes; what the guard could not send goes out
// within minutes of the robot answering again (the notifier's retry backoff
// reaches 10 minutes), through the outbox's own delayed flush, not at the
// next event or the hourly sweep. Each once.
func TestGuardOutboxDrainsSoonAfterTheRobotRecovers(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.cloud.SetFaults(faults.Config{DingTalkDown: true})
	e.authorize("sg-web", perm{proto: "tcp", ports: "3306/3306", cidr: "0.0.0.0/0"})
	_, err := e.cloud.Advance(t.Context(), 10*time.Minute)
	require.NoError(t, err)
	require.Empty(t, e.cloud.DingTalk.Messages(""))

	e.cloud.SetFaults(faults.Config{})
	back := e.cloud.Clock.Now()
	revs := e.revocations("sg-web")
	require.Len(t, revs, 1)
	var at time.Time
	for range 11 {
		_, err := e.cloud.Advance(t.Context(), time.Minute)
		require.NoError(t, err)
		for _, m := range e.cloud.DingTalk.Messages("") {
			if strings.Contains(m.Text, revs[0].RuleID) && at.IsZero() {
				at = m.Time
			}
		}
		if !at.IsZero() {
			break
		}
	}
	require.False(t, at.IsZero(), "delivered within 11 virtual minutes of the robot's return")
	t.Logf("delivered %v after the robot came back", at.Sub(back).Round(time.Second))
	for _, r := range e.guardResults() {
		require.NotEqual(t, "sweep", r["trigger"], "no hourly sweep ran: the flush did it")
	}
	n := 0
	for _, m := range e.cloud.DingTalk.Messages("") {
		if strings.Contains(m.Text, revs[0].RuleID) {
			n++
		}
	}
	require.Equal(t, 1, n, "once")
}

// The shipped policy.yaml (guard: enforce) revokes the catalogued sensitive
// services and reports everything else open to the world: WireGuard, SMTP,
// DNS, 8080 and 8443 stay open and are reported, SSH in the same call is
// revoked.
func TestGuardShippedPolicyCutsOnlyCataloguedServices(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "edge")
	e.authorize(g,
		perm{proto: "udp", ports: "51820/51820", cidr: "0.0.0.0/0", desc: "wireguard"},
		perm{proto: "tcp", ports: "25/25", cidr: "0.0.0.0/0", desc: "smtp"},
		perm{proto: "tcp", ports: "53/53", cidr: "0.0.0.0/0", desc: "dns"},
		perm{proto: "udp", ports: "53/53", cidr: "0.0.0.0/0", desc: "dns"},
		perm{proto: "tcp", ports: "8080/8080", cidr: "0.0.0.0/0"},
		perm{proto: "tcp", ports: "8443/8443", cidr: "0.0.0.0/0"},
		perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", desc: "debug"})
	rules := e.rules(g)
	for _, kept := range []string{"UDP 51820/51820 0.0.0.0/0 Accept", "TCP 25/25 0.0.0.0/0 Accept", "TCP 53/53 0.0.0.0/0 Accept",
		"UDP 53/53 0.0.0.0/0 Accept", "TCP 8080/8080 0.0.0.0/0 Accept", "TCP 8443/8443 0.0.0.0/0 Accept"} {
		require.Contains(t, rules, kept, "not a catalogued service: reported, never cut")
	}
	require.NotContains(t, rules, "TCP 22/22 0.0.0.0/0 Accept", "ssh is catalogued: revoked")
	require.Len(t, e.revocations(g), 1)
	var reported bool
	for _, m := range e.cloud.DingTalk.Messages("") {
		reported = reported || strings.Contains(m.Text, "51820") && strings.Contains(m.Text, "enforces only critical, high")
	}
	require.True(t, reported, "the kept ports are reported, saying why nothing changed")
}

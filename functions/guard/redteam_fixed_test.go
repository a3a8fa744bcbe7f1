// Red-team tests of issue 10's closing run that failed on the commit the
// red team ran against and pass now: each asserts what the issue's "Done
// when" (or the README) promises. (Their messages still say "DEFECT": what
// a failure would mean.)

package main

// FAILING red-team tests: attacks of issue 10's closing run that still
// succeed on this commit. Each asserts what the "Done when" (or the
// README) promises, and fails today. Kept out of CI by the build tag; run:
//
//	go test -tags redteam ./functions/guard/ -run 'TestRedteamFixed' -count=1 -v

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	lcfcapi "github.com/porthygiene/porthygiene/localcloud/fcapi"
	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
)

// sensitivePorts are the default catalogue's TCP ports.
var sensitivePorts = []int{21, 22, 23, 445, 1433, 1521, 2375, 2376, 2379, 2380, 3306, 3389, 5432, 5900, 6379, 9200, 9300, 10250, 11211, 27017}

// exposures returns n (at most 40) rules that each open a different
// catalogued port to the world, over IPv4 then IPv6, so that no two share a
// port and address family (overlapping ones are D1's other defect, below).
func exposures(n int) []perm {
	var ps []perm
	for _, family := range []string{"v4", "v6"} {
		for _, p := range sensitivePorts {
			pr := perm{proto: "tcp", ports: fmt.Sprintf("%d/%d", p, p), desc: "terraform"}
			if family == "v4" {
				pr.cidr = world
			} else {
				pr.cidr6 = "::/0"
			}
			ps = append(ps, pr)
		}
	}
	return ps[:n]
}

// open counts the group's rules open to the world (IPv4 or IPv6).
func (e *env) open(g string) int {
	n := 0
	for _, r := range e.rules(g) {
		if strings.Contains(r, " 0.0.0.0/0 ") || strings.Contains(r, " ::/0 ") {
			n++
		}
	}
	return n
}

// D1 (issue 10: "every rule that exposes a sensitive port is a finding, even
// if another rule exposes the same port too"; "converge in one run"): one
// call opening SSH to the world through four overlapping port ranges: after
// its invocation 22/30 is still open (reported as "other ports 24-30", low),
// until the hourly sweep. ALL + SSH + RDP (issue 10's case) is fixed;
// overlapping ranges are not.
func TestRedteamFixedD1OverlappingPortRangesLeftForTheSweep(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "ranges")
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: world}, perm{proto: "tcp", ports: "22/24", cidr: world},
		perm{proto: "tcp", ports: "22/30", cidr: world}, perm{proto: "tcp", ports: "20/22", cidr: world})
	require.Empty(t, e.rules(g), "DEFECT D1: an SSH-exposing rule survives the event's invocation")
}

// D1 (issue 10, "the cap limits pace, not outcome"): one call opening 25
// exposures with the default cap of 20: the 5 capped ones must be closed
// within a minute (a follow-up invocation), not at the next hourly sweep.
func TestRedteamFixedD1CappedWorkContinuesWithinAMinute(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "cap-25")
	e.authorize(g, exposures(25)...)
	require.Len(t, e.revocations(g), 20, "the first run revokes the cap")
	for range 2 {
		_, err := e.cloud.Advance(t.Context(), 30*time.Second)
		require.NoError(t, err)
	}
	require.Zero(t, e.open(g), "DEFECT D1: capped exposures wait for the hourly sweep")
}

// D1 ("Done when": 300-exposure burst gone within 15 virtual minutes with the
// default cap and a cap message sent).
func TestRedteamFixedD1Burst300ClosedWithin15Minutes(t *testing.T) {
	e := start(t, localcloud.Options{})
	var groups []string
	for i := range 8 { // 7 × 40 + 20 = 300, one call per group
		g := createGroup(t, e, fmt.Sprintf("burst300-%d", i))
		groups = append(groups, g)
		e.authorize(g, exposures(min(40, 300-40*i))...)
	}
	for range 15 {
		_, err := e.cloud.Advance(t.Context(), time.Minute)
		require.NoError(t, err)
	}
	left := 0
	for _, g := range groups {
		left += e.open(g)
	}
	t.Logf("after 15 virtual minutes: %d of 300 still open; rate-limiting message: %v", left, e.told("rate-limiting"))
	require.Zero(t, left, "DEFECT D1: %d of 300 exposures still open after 15 virtual minutes", left)
	require.True(t, e.told("rate-limiting"), "DEFECT D1: no 'the guard is rate-limiting itself: N more waiting' message")
}

// D9 ("the outbox drains as soon as the robot answers again, within
// minutes, not at the sweep").
func TestRedteamFixedD9OutboxDrainsWithinMinutes(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.cloud.SetFaults(faults.Config{DingTalkDown: true})
	e.authorize("sg-web", perm{proto: "tcp", ports: "3306/3306", cidr: world})
	require.Empty(t, e.cloud.DingTalk.Messages(""))
	e.cloud.SetFaults(faults.Config{})
	for range 10 { // ten virtual minutes; the sweep is ~59 minutes away
		_, err := e.cloud.Advance(t.Context(), time.Minute)
		require.NoError(t, err)
	}
	require.True(t, e.told("sg-web", "3306"), "DEFECT D9: queued messages wait for the hourly sweep")
}

// D9 ("errors that can never succeed on retry are logged and answered
// without a function error"): an event for a region that does not exist, an
// SLS trigger payload for a shard that does not exist and one with a cursor
// that is not one are each attempted 4 times (FC's 3 retries).
func TestRedteamFixedD9PermanentErrorsAreNotRetried(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{}, "guard")
	e := &env{t: t, cloud: c, ecs: lctest.ECS(t, c), led: ledgerOf(c)}
	ep := c.Endpoints()
	slsPayload := func(shard int, begin, end string) []byte {
		return fmt.Appendf(nil, `{"parameter":{"mode":"actiontrail"},"source":{"endpoint":"http://%s.log.aliyuncs.com","projectName":%q,"logstoreName":%q,"shardId":%d,"beginCursor":%q,"endCursor":%q},"jobName":"j","taskId":"t","cursorTime":%d}`,
			c.Region(), ep.Trail.Project, ep.Trail.Logstore, shard, begin, end, c.Clock.Now().Unix())
	}
	cases := []struct {
		name    string
		payload []byte
	}{
		{"unknown region", []byte(strings.ReplaceAll(string(forgedEvent(t, "sg-web", "NOWHERE", c.Clock.Now().Truncate(time.Second).UTC())), "cn-hangzhou", "xx-nowhere-9"))},
		{"unknown shard", slsPayload(99, "MA==", "MQ==")},
		{"bad cursor", slsPayload(0, "not-a-cursor", "also-not")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.apiInvocations())
			e.invoke(tc.payload)
			invs := e.apiInvocations()[before:]
			require.Len(t, invs, 1, "DEFECT D9: attempted %d times: %s", len(invs), invs[len(invs)-1].Error)
			require.Equal(t, "ok", string(invs[0].Status), "DEFECT D9: a function error: %s", invs[0].Error)
		})
	}
}

// D9 ("a message for an ALL rule lists every sensitive port it exposes"):
// SSH is open to the world by an exempt rule; an ALL rule is then opened and
// revoked: its message lists 21, 23, 445 … but not 22 (ssh), which it opens
// too.
func TestRedteamFixedD9AllRuleMessageOmitsPortsOfOtherRules(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "all-msg")
	until := e.cloud.Clock.Now().Add(48 * time.Hour).Format("2006-01-02")
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: world, priority: "1", desc: "[porthygiene-exempt owner=ops until=" + until + " reason=\"bastion\"]"})
	e.authorize(g, perm{proto: "all", ports: "-1/-1", cidr: world, priority: "50"})
	revs := e.revocations(g)
	require.Len(t, revs, 1, "the ALL rule is revoked")
	entry := entryAbout(e.texts(), revs[0].RuleID, "exposure-revoked")
	require.NotEmpty(t, entry)
	require.Contains(t, entry, "3389 (rdp)")
	require.Contains(t, entry, "22 (ssh)", "DEFECT D9: the ALL rule's message leaves out ssh:\n%s", entry)
}

// entryAbout is the part of a message (a digest entry, or the whole
// message) that reports kind for rule id.
func entryAbout(texts []string, id, kind string) string {
	for _, m := range texts {
		for _, part := range strings.Split(m, "\n**") {
			if strings.Contains(part, id) && strings.Contains(part, kind) {
				return part
			}
		}
	}
	return ""
}

// N13 (new): markdown injection into the security team's DingTalk channel.
// A valid exemption refuses '[' and ']', but the message of the revocation
// quotes the malformed tag value raw in its "说明" line (plain(), not code()),
// so a tag reason "[立即关闭 Close now](dingtalk://…url=evil.example…)" renders
// as a clickable "close now" link next to the real signed buttons. Group
// names and ids are put in code spans for exactly this reason
// (shared/notify/render.go). (ECS refuses http:// and https:// in tag
// values; DingTalk's own dingtalk:// scheme opens any URL.)
func TestRedteamFixedN13MarkdownInjectionThroughExemptionText(t *testing.T) {
	e := start(t, localcloud.Options{})
	g := createGroup(t, e, "phish")
	req := ecs.CreateTagResourcesRequest()
	req.RegionId, req.ResourceType, req.ResourceId = e.cloud.Region(), "securitygroup", &[]string{g}
	until := e.cloud.Clock.Now().Add(48 * time.Hour).Format("2006-01-02")
	req.Tag = &[]ecs.TagResourcesTag{{Key: "porthygiene-exempt", Value: "owner=ops;reason=[立即关闭 Close now](dingtalk://dingtalkclient/page/link?url=evil.example%2Flogin);until=" + until}}
	_, err := e.ecs.TagResources(req)
	require.NoError(t, err)
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: world})
	require.NotContains(t, e.rules(g), "TCP 22/22 0.0.0.0/0 Accept", "'[' and ']' make the exemption malformed: revoked")
	var raw string
	for _, m := range e.cloud.DingTalk.Messages("") {
		if strings.Contains(m.Text, "evil.example") {
			raw = m.Text
		}
	}
	require.NotEmpty(t, raw, "the revocation's message quotes the malformed tag")
	require.NotContains(t, raw, "](dingtalk://", "DEFECT N13: a markdown link from an untrusted tag is rendered:\n%s", raw)
}

// N10 (new): replace.trustedPrefixList naming a prefix list that holds the
// world. The policy file cannot be checked offline (the list's entries are
// in ECS), so the guard must check it when it acts: it must never re-create
// a rule for an internet-wide source. Today it revokes SSH to the world and
// re-authorizes it for pl-office, which now holds 0.0.0.0/0.
func TestRedteamFixedN10TrustedPrefixListThatHoldsTheWorld(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(pol, []byte("modes:\n  guard: enforce\nreplace:\n  trustedPrefixList: pl-office\n"), 0o600))
	e := start(t, localcloud.Options{Env: map[string]string{"PORTHYGIENE_POLICY": pol}})
	mod := ecs.CreateModifyPrefixListRequest()
	mod.RegionId, mod.PrefixListId = e.cloud.Region(), "pl-office"
	mod.AddEntry = &[]ecs.ModifyPrefixListAddEntry{{Cidr: world}}
	_, err := e.ecs.ModifyPrefixList(mod)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)

	g := createGroup(t, e, "replace-pl")
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: world})
	_, err = e.cloud.Advance(t.Context(), time.Hour) // and a sweep
	require.NoError(t, err)
	rules := e.rules(g)
	t.Logf("rules after the event and a sweep: %v", rules)
	var replaced int
	for _, r := range e.revocations(g) {
		rv, err := r.Revocation()
		require.NoError(t, err)
		replaced += len(rv.Replacement)
	}
	t.Logf("revocation records: %d, replacements: %d", len(e.revocations(g)), replaced)
	require.NotContains(t, rules, "TCP 22/22 pl-office Accept", "DEFECT N10: SSH re-opened to the world through the trusted prefix list")
	require.Zero(t, replaced, "DEFECT N10: %d replacements made for an internet-wide prefix list", replaced)
}

// N7/gap (issue 11's, confirmed): ModifyPrefixList adding 0.0.0.0/0 to a list
// an SSH rule references exposes SSH until the next hourly sweep: the
// guard's trigger pattern and HandledEvents do not include ModifyPrefixList.
func TestRedteamFixedGapModifyPrefixListExposesUntilTheSweep(t *testing.T) {
	e := start(t, localcloud.Options{})
	e.authorizePrefixList("sg-bastion", "22/22", "pl-office")
	require.Contains(t, e.rules("sg-bastion"), "TCP 22/22 pl-office Accept", "the office list is harmless")
	mod := ecs.CreateModifyPrefixListRequest()
	mod.RegionId, mod.PrefixListId = e.cloud.Region(), "pl-office"
	mod.AddEntry = &[]ecs.ModifyPrefixListAddEntry{{Cidr: world}}
	_, err := e.ecs.ModifyPrefixList(mod)
	require.NoError(t, err)
	lctest.Settle(t, e.cloud)
	_, err = e.cloud.Advance(t.Context(), 10*time.Second)
	require.NoError(t, err)
	require.NotContains(t, e.rules("sg-bastion"), "TCP 22/22 pl-office Accept", "GAP: SSH open to the world through pl-office until the sweep")
	revs, err := ledgertest.Written(t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRevocation}})
	require.NoError(t, err)
	require.NotEmpty(t, revs)
}

// N14 (new, minor): the README's exit codes say 2 for bad usage or input;
// `porthygiene ledger --kind nope` (a kind that does not exist) exits 1, as
// if the command had run and failed.
func TestRedteamFixedN14LedgerUnknownKindIsBadUsage(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{})
	code, _, errOut := porthygiene(t, "ledger", "--endpoints", endpointsFile(t, c), "--kind", "nope")
	require.Contains(t, errOut, "unknown ledger record kind")
	require.Equal(t, 2, code, "DEFECT N14: exit %d for an unknown --kind", code)
}

// apiInvocations are the guard's attempts started through the FC API.
func (e *env) apiInvocations() []fcrt.InvocationRecord {
	var out []fcrt.InvocationRecord
	for _, inv := range e.cloud.Runtime.Invocations() {
		if inv.Function == "porthygiene-guard" && !inv.Initializer && inv.Trigger == lcfcapi.TriggerLabel {
			out = append(out, inv)
		}
	}
	return out
}

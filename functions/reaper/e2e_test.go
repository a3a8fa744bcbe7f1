package main

// The reaper end to end: the real binary on localcloud, its two daily timers
// (summary, run) firing on the virtual clock for 40 days over the default
// world's flow logs, real SDK clients for every check.

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/approve/approvetest"
	"github.com/porthygiene/porthygiene/shared/fcapi"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
)

type env struct {
	t     *testing.T
	cloud *localcloud.Cloud
	ecs   *ecs.Client
	led   *ledger.Ledger
	day0  time.Time
}

// ledgerOf is the ledger of c, read over the real SLS SDK.
func ledgerOf(c *localcloud.Cloud) *ledger.Ledger { return ledgertest.Of(c) }

// to advances the virtual clock to day d, hour h (day 0 is the UTC day the
// clock starts on).
func (e *env) to(d int, h time.Duration) {
	e.t.Helper()
	target := e.day0.Add(time.Duration(d)*24*time.Hour + h)
	now := e.cloud.Clock.Now()
	require.True(e.t, target.After(now), "day %d %v is past (now %v)", d, h, now)
	_, err := e.cloud.Advance(e.t.Context(), target.Sub(now))
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
}

// ingress is sg's ingress rules as "port source" → rule id.
func (e *env) ingress(sg string) map[string]string {
	e.t.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId, req.SecurityGroupId, req.Direction = e.cloud.Region(), sg, "ingress"
	resp, err := e.ecs.DescribeSecurityGroupAttribute(req)
	require.NoError(e.t, err)
	out := map[string]string{}
	for _, p := range resp.Permissions.Permission {
		out[p.PortRange+" "+p.SourceCidrIp+p.SourceGroupId] = p.SecurityGroupRuleId
	}
	return out
}

func (e *env) authorize(sg, ports, cidr string) string {
	e.t.Helper()
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = e.cloud.Region(), sg
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: ports, SourceCidrIp: cidr}}
	_, err := e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(e.t, err)
	return e.ingress(sg)[ports+" "+cidr]
}

// records are the reaper's ledger records of kind k, by rule id.
func (e *env) records(k ledger.Kind) map[string][]ledger.Record {
	e.t.Helper()
	recs, err := e.led.Query(e.t.Context(), ledger.Filter{Kinds: []ledger.Kind{k}})
	require.NoError(e.t, err)
	out := map[string][]ledger.Record{}
	seen := map[string]bool{}
	for _, r := range recs {
		if !seen[r.ID] {
			seen[r.ID] = true
			out[r.RuleID] = append(out[r.RuleID], r)
		}
	}
	return out
}

// stages are each rule's announcement records' stages, in time order.
func (e *env) stages() map[string][]string {
	out := map[string][]string{}
	for id, recs := range e.records(ledger.KindAnnouncement) {
		slices.SortFunc(recs, func(a, b ledger.Record) int { return a.Time.Compare(b.Time) })
		for _, r := range recs {
			b, err := r.Announcement()
			require.NoError(e.t, err)
			out[id] = append(out[id], b.Stage)
		}
	}
	return out
}

func (e *env) invokeTimer(name, payload string, at time.Time) {
	e.t.Helper()
	op := e.cloud.Operator()
	base, err := fcapi.New(fcapi.Config{Endpoint: e.cloud.URL()})
	require.NoError(e.t, err)
	c, err := base.WithCredentials(fcapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret})
	require.NoError(e.t, err)
	ev, err := json.Marshal(map[string]string{"triggerTime": at.UTC().Format(time.RFC3339), "triggerName": name, "payload": payload})
	require.NoError(e.t, err)
	_, err = c.InvokeAsync(e.t.Context(), "porthygiene-reaper", ev)
	require.NoError(e.t, err)
}

var linkRe = regexp.MustCompile(`https?://[^\s"'<>()\[\]\\]+`)

// TestReaperFortyDays is the scenario, day by day.
func TestReaperFortyDays(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(pol, []byte("modes:\n  reaper: enforce\n"), 0o644))
	seed := localcloud.DefaultSeed()
	// One SKIPDATA window on the bastion's ENI on day 10.
	seed.Traffic = append(seed.Traffic, localcloud.TrafficPattern{ENI: "eni-bastion-1", LogStatus: "SKIPDATA", Days: []int{10}})
	c := lctest.Start(t, localcloud.Options{Seed: seed, Env: map[string]string{"PORTHYGIENE_POLICY": pol, "APPROVE_SIGNING_KEY": "reaper-e2e-signing-key-0123456789"}}, "reaper", "approve")
	e := &env{t: t, cloud: c, ecs: lctest.ECS(t, c), led: ledgerOf(c), day0: c.Clock.Now().UTC().Truncate(24 * time.Hour)}

	web := e.ingress("sg-web")
	r443, r8080 := web["443/443 0.0.0.0/0"], web["8080/8080 10.0.0.0/16"]
	r3306 := e.ingress("sg-db")["3306/3306 sg-web"]
	r6379 := e.ingress("sg-cache")["6379/6379 sg-web"]
	// Silent rules created with the world: one will change after its
	// announcement, one will be kept by its owner; one on the bastion, whose
	// ENI had a SKIPDATA window.
	r8081 := e.authorize("sg-web", "8081/8081", "10.0.0.0/16")
	r8443 := e.authorize("sg-web", "8443/8443", "10.0.0.0/16")
	r2222 := e.authorize("sg-bastion", "2222/2222", "10.0.0.0/16")
	for _, id := range []string{r443, r8080, r3306, r6379, r8081, r8443, r2222} {
		require.NotEmpty(t, id)
	}

	e.to(20, 2*time.Hour)
	young := e.authorize("sg-web", "9000/9000", "10.0.0.0/16") // 20 days younger than the others
	require.Empty(t, e.records(ledger.KindAnnouncement), "nothing qualifies before 30 days of evidence")

	// Day 31: 30 complete days covered; the silent rules are announced.
	e.to(31, 2*time.Hour)
	st := e.stages()
	for _, id := range []string{r8080, r3306, r8081, r8443} {
		require.Equal(t, []string{ledger.StageAnnounced}, st[id], "rule %s announced once", id)
	}
	for name, id := range map[string]string{"443 (daily traffic)": r443, "6379 (an ENI without flow log)": r6379,
		"2222 (a SKIPDATA day)": r2222, "9000 (young)": young} {
		require.Empty(t, st[id], "%s is not announced", name)
	}
	require.NotEmpty(t, c.DingTalk.Messages("ops"), "the announcements were sent")

	// The owner of 8443 clicks "keep" in the announcement (the approve
	// function records the decision); day 33: 8081 changes.
	keep := ""
	for _, m := range c.DingTalk.Messages("ops") {
		links := linkRe.FindAllString(m.Text, -1) // a digest carries the buttons as links
		for _, b := range m.Buttons {
			links = append(links, b.ActionURL)
		}
		for _, l := range links {
			if strings.Contains(l, "r="+r8443) && strings.Contains(l, "a=keep") {
				keep = l
			}
		}
	}
	require.NotEmpty(t, keep, "the announcement of 8443 has a keep button")
	status, page, err := approvetest.Click(t.Context(), nil, keep, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "%s", page)
	e.to(33, 2*time.Hour)
	mod := ecs.CreateModifySecurityGroupRuleRequest()
	mod.RegionId, mod.SecurityGroupId, mod.SecurityGroupRuleId, mod.PortRange = c.Region(), "sg-web", r8081, "8081/8082"
	_, err = e.ecs.ModifySecurityGroupRule(mod)
	require.NoError(t, err)

	// Day 35: 3306 saw traffic from day 33 (the seed), 8081 changed, 8443 kept: cancelled.
	e.to(35, 2*time.Hour)
	st = e.stages()
	require.Equal(t, []string{ledger.StageAnnounced, ledger.StageCancelled}, st[r3306], "traffic during the grace cancels")
	require.Equal(t, []string{ledger.StageAnnounced, ledger.StageCancelled}, st[r8081], "a changed rule is not closed")
	require.Equal(t, []string{ledger.StageAnnounced, ledger.StageCancelled}, st[r8443], "a keep click cancels")
	require.Equal(t, []string{ledger.StageAnnounced}, st[r8080])
	require.Contains(t, e.ingress("sg-web"), "8080/8080 10.0.0.0/16", "not before the close date")

	// Day 38: 8080's grace is over: closed, exactly once.
	e.to(38, 2*time.Hour)
	closures := e.records(ledger.KindClosure)
	require.Len(t, closures, 1, "only 8080 is closed: %v", closures)
	require.Len(t, closures[r8080], 1)
	require.NotContains(t, e.ingress("sg-web"), "8080/8080 10.0.0.0/16")
	for _, k := range []string{"443/443 0.0.0.0/0", "8081/8082 10.0.0.0/16", "8443/8443 10.0.0.0/16", "9000/9000 10.0.0.0/16"} {
		require.Contains(t, e.ingress("sg-web"), k)
	}
	require.Contains(t, e.ingress("sg-db"), "3306/3306 sg-web")
	require.Contains(t, e.ingress("sg-cache"), "6379/6379 sg-web")
	require.Contains(t, e.ingress("sg-bastion"), "2222/2222 10.0.0.0/16")

	// The day's run redelivered, twice at once: nothing is closed twice.
	runAt := e.day0.Add(38*24*time.Hour + time.Hour)
	e.invokeTimer("daily-run", `{"mode":"sweep"}`, runAt)
	e.invokeTimer("daily-run", `{"mode":"sweep"}`, runAt)
	e.invokeTimer("daily-summary", `{"mode":"summary"}`, runAt.Add(-50*time.Minute))
	lctest.Settle(t, c)
	require.Len(t, e.records(ledger.KindClosure), 1, "redelivered and overlapping runs close nothing twice")

	cli := filepath.Join(dir, "porthygiene")
	build := exec.Command("go", "build", "-o", cli, "./cmd/porthygiene")
	build.Dir = lctest.RepoRoot()
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	epFile := filepath.Join(dir, "endpoints.json")
	data, err := json.Marshal(c.Endpoints())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(epFile, data, 0o600))

	// The report: every verdict, with its reason, as the contract says.
	htmlFile := filepath.Join(dir, "reaper.html")
	out, err = exec.Command(cli, "reaper", "report", "--endpoints", epFile, "--json", "--html", htmlFile).Output()
	require.NoError(t, err, "%s", out)
	var rep struct {
		GeneratedAt  *time.Time `json:"generatedAt"`
		LookbackDays int        `json:"lookbackDays"`
		Rules        []struct {
			SecurityGroupID, RuleID, Verdict, Reason, PortRange string
			LastSeen, AnnouncedAt, ClosesAt                     *time.Time
		} `json:"rules"`
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	require.NoError(t, dec.Decode(&rep))
	require.Equal(t, 30, rep.LookbackDays)
	verdict := map[string]string{}
	reason := map[string]string{}
	for _, r := range rep.Rules {
		verdict[r.RuleID], reason[r.RuleID] = r.Verdict, r.Reason
		if r.RuleID == r443 {
			require.NotNil(t, r.LastSeen, "443's last flow: %s", out)
		}
		if r.RuleID == r8080 {
			require.NotNil(t, r.AnnouncedAt)
			require.NotNil(t, r.ClosesAt)
		}
	}
	require.Equal(t, map[string]string{r443: "used", r8080: "closed", r3306: "used", r6379: "unknown", r2222: "unknown",
		young: "young", r8443: "exempt", r8081: "young"},
		map[string]string{r443: verdict[r443], r8080: verdict[r8080], r3306: verdict[r3306], r6379: verdict[r6379], r2222: verdict[r2222],
			young: verdict[young], r8443: verdict[r8443], r8081: verdict[r8081]}, "%s", out)
	require.Contains(t, reason[r6379], "eni-cache-1 no-flow-log")
	require.Contains(t, reason[r2222], "eni-bastion-1 skipdata")
	html, err := os.ReadFile(htmlFile)
	require.NoError(t, err)
	require.Contains(t, string(html), "45.33.32.156", "the REJECTed probes are in the review")
	out, err = exec.Command(cli, "reaper", "report", "--endpoints", epFile).Output()
	require.NoError(t, err, "%s", out)
	require.Regexp(t, `probe\s+cn-hangzhou\s+sg-web\s+tcp/23\s+45\.33\.32\.156`, string(out))

	// restore brings the closed rule back, through the CLI.
	closure := closures[r8080][0]
	out, err = exec.Command(cli, "restore", "--endpoints", epFile, "--id", closure.ID).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, e.ingress("sg-web"), "8080/8080 10.0.0.0/16", "restored: %s", out)

	// The monthly review (s.yaml's timer, on the 1st at 02:00 UTC, which the
	// 40 days cross): each group's robot got its REJECTed probes by port and
	// source (发现未授权的端口访问尝试); fired again this month, and
	// redelivered, it sends nothing twice.
	reviews := func() (n int, text string) {
		for _, m := range c.DingTalk.Messages("ops") {
			// sg-web's review, alone or in a digest
			if strings.Contains(m.Text, "每月端口使用情况核查") && strings.Contains(m.Text, "tcp/23 ← 45.33.32.156") {
				n++
				text = m.Text
			}
		}
		return n, text
	}
	n, text := reviews()
	require.GreaterOrEqual(t, n, 1, "the monthly review was sent")
	require.Contains(t, text, "发现未授权的端口访问尝试")
	require.Contains(t, text, "tcp/23 ← 45.33.32.156")
	var all string
	for _, m := range c.DingTalk.Messages("ops") {
		all += m.Text
	}
	require.Contains(t, all, "tcp/3306 ← 185.220.101.4", "sg-db's probes too")
	require.NoError(t, c.FireTimer("reaper", "monthly-review")) // the monthly timer, fired now
	lctest.Settle(t, c)
	_, err = c.Advance(t.Context(), time.Minute) // past SLS's index delay on the virtual clock
	require.NoError(t, err)
	e.invokeTimer("monthly-review", `{"mode":"review"}`, c.Clock.Now())
	lctest.Settle(t, c)
	again, _ := reviews()
	require.Equal(t, n, again, "one review per group and month")

	// To day 40: the restored rule is a new, young rule; nothing else closes.
	e.to(40, 2*time.Hour)
	require.Len(t, e.records(ledger.KindClosure), 1)
	require.Contains(t, e.ingress("sg-web"), "8080/8080 10.0.0.0/16")
	t.Logf("invocations: %d; messages: %d", len(c.Runtime.Invocations()), len(c.DingTalk.Messages("ops")))
}

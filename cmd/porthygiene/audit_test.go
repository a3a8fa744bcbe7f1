package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// auditWorld starts localcloud with seed (nil: the demo world) and writes its
// endpoints file, as `porthygiene local --endpoints-file` does.
func auditWorld(t *testing.T, seed *localcloud.Seed) (*localcloud.Cloud, string) {
	t.Helper()
	c := lctest.Start(t, localcloud.Options{Seed: seed})
	data, err := json.Marshal(c.Endpoints())
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "endpoints.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return c, path
}

// auditRunEnv is runCLI with an environment.
func auditRunEnv(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cliEnv{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	code := run(t.Context(), env, args)
	return code, stdout.String(), stderr.String()
}

func decodeAudit(t *testing.T, stdout string) auditReport {
	t.Helper()
	var rep auditReport
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&rep), "stdout: %s", stdout)
	return rep
}

func findingOf(rep auditReport, group string) *auditFinding {
	for i := range rep.Findings {
		if rep.Findings[i].GroupID == group {
			return &rep.Findings[i]
		}
	}
	return nil
}

func TestAuditDemoWorld(t *testing.T) {
	_, ep := auditWorld(t, nil)

	t.Run("JSON", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "audit", "--endpoints", ep, "--json")
		require.Equal(t, 0, code, "stderr: %s", stderr)
		require.Empty(t, stderr, "no progress bar when stderr is not a terminal")
		rep := decodeAudit(t, stdout)
		require.Equal(t, "default.yaml", rep.Policy)
		require.Equal(t, "team", rep.OwnerTag)
		// (The default world's sg-cache is a fifth group, the replica sg-web-dr, in vpc-dr, a sixth.)
		require.Equal(t, []auditRegion{{Region: "cn-hangzhou", Groups: 6, Rules: 11}}, rep.Regions)

		// The only exposure of the demo world: RDP to the world.
		require.Len(t, rep.Findings, 1, "findings: %+v", rep.Findings)
		f := rep.Findings[0]
		require.Equal(t, "sg-legacy", f.GroupID)
		require.Equal(t, "legacy-windows", f.GroupName)
		require.Equal(t, "cn-hangzhou", f.Region)
		require.Equal(t, "", f.Owner, "sg-legacy has no team tag")
		require.Equal(t, []int{3389}, f.Ports)
		require.Equal(t, []string{"rdp"}, f.Services)
		require.Equal(t, "critical", string(f.Severity))
		require.Equal(t, "0.0.0.0/0", f.Source)
		require.Equal(t, rule.TCP, f.Protocol)
		require.NotEmpty(t, f.RuleID)
		require.Nil(t, findingOf(rep, "sg-web"), "443 and 80 are allowed to the internet")
		require.Empty(t, rep.Exempted)

		tot := rep.Totals
		require.Equal(t, 6, tot.Groups)
		require.Equal(t, 11, tot.Rules)
		require.Equal(t, 1, tot.Findings)
		require.Equal(t, 1, tot.GroupsWithFindings)
		require.Equal(t, []auditCount{{Name: "rdp", Findings: 1, Groups: 1, Severity: "critical"}}, tot.ByService)
		require.Equal(t, []auditCount{{Name: "cn-hangzhou", Findings: 1, Groups: 1, Severity: "critical"}}, tot.ByRegion)
		require.Equal(t, []auditCount{{Name: noOwner, Findings: 1, Groups: 1, Severity: "critical"}}, tot.ByOwner)
		require.Equal(t, []auditCount{{Name: "critical", Findings: 1, Groups: 1, Severity: "critical"}}, tot.BySeverity)
		require.Nil(t, rep.Trend, "no ledger configured")
		require.Empty(t, rep.Warnings)
	})

	t.Run("Text", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "audit", "--endpoints", ep)
		require.Equal(t, 0, code, "findings do not fail the audit; stderr: %s", stderr)
		require.Contains(t, stdout, "6 groups, 11 rules: 1 findings in 1 groups, 0 exempted")
		require.Regexp(t, `critical\s+cn-hangzhou\s+sg-legacy \(legacy-windows\)\s+\S+\s+tcp/3389\s+rdp\s+0\.0\.0\.0/0`, stdout)
		require.Contains(t, stdout, "by service:  rdp 1")
		require.NotContains(t, stdout, "sg-web")
	})

	t.Run("Markdown", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "audit", "--endpoints", ep, "--markdown")
		require.Equal(t, 0, code, "stderr: %s", stderr)
		require.True(t, strings.HasPrefix(stdout, "# Port audit: cn-hangzhou\n"), stdout)
		require.Contains(t, stdout, "| Severity | Region | Group | Rule | Ports | Services | Source | Owner | Reason |")
		require.Regexp(t, `\| critical \| cn-hangzhou \| sg-legacy \(legacy-windows\) \| \S+ \| tcp/3389 \| rdp \| 0\.0\.0\.0/0 \| - \|`, stdout)
		require.Contains(t, stdout, "## By service\n\n| Name | Findings | Groups | Worst severity |\n|---|---:|---:|---|\n| rdp | 1 | 1 | critical |")
		require.Contains(t, stdout, "No ledger configured")
	})

	t.Run("HTML", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "audit.html")
		code, stdout, stderr := runCLI(t, "audit", "--endpoints", ep, "--html", path)
		require.Equal(t, 0, code, "stderr: %s", stderr)
		require.Contains(t, stdout, "HTML report: "+path)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		html := string(b)
		require.True(t, strings.HasPrefix(html, "<!DOCTYPE html>"))
		// Services, region and owner charts; no trend without a ledger.
		require.Equal(t, 3, strings.Count(html, "<svg "), html)
		require.Contains(t, html, `aria-label="Exposed services"`)
		require.Contains(t, html, `aria-label="Findings by region"`)
		require.Contains(t, html, `aria-label="Findings by owner"`)
		require.Contains(t, html, "<title>rdp: 1 findings in 1 groups</title>")
		require.Contains(t, html, `fill="#c0392b"`, "the rdp bar is critical red")
		require.Contains(t, html, "No ledger configured")
		require.Contains(t, html, "sg-legacy")
		assertSelfContained(t, html)
	})

	t.Run("ProgressAlways", func(t *testing.T) {
		code, _, stderr := runCLI(t, "audit", "--endpoints", ep, "--json", "--progress", "always")
		require.Equal(t, 0, code, "stderr: %s", stderr)
		require.Contains(t, stderr, "6/6 groups")
		require.Contains(t, stderr, "[##############################]")
	})
}

// assertSelfContained: one file, nothing fetched from elsewhere.
func assertSelfContained(t *testing.T, html string) {
	t.Helper()
	for _, bad := range []string{"<script", "<link", "src=", "@import", "url(", "http://", "https://"} {
		require.NotContains(t, html, bad, "the report must be one self-contained file")
	}
}

// auditRichWorld is the demo world plus a mysql exposure of team dba, an
// exempt ssh rule, and a ledger with three revocations and a restore: two
// revocations and the restore yesterday, one revocation today. It returns the
// endpoints file and the flags that name the ledger.
func auditRichWorld(t *testing.T) (ep string, ledgerFlags []string) {
	t.Helper()
	seed := localcloud.DefaultSeed()
	seed.Projects = []localcloud.SeedProject{{Name: "ph-ledger", Logstores: []localcloud.SeedLogstore{{Name: "ledger"}}}}
	c, ep := auditWorld(t, seed)
	cl := lctest.ECS(t, c)

	// sg-db (team dba) opens mysql and ssh to the world; ssh is exempt by a
	// description marker.
	sdkAuthorize(t, cl, "sg-db", "3306/3306", "0.0.0.0/0", "accept", 1, "mysql for the migration")
	sdkAuthorize(t, cl, "sg-db", "22/22", "0.0.0.0/0", "accept", 1, "[porthygiene-exempt owner=bob until=2099-12-31 reason=\"vendor access\"]")

	cf := cloudFlags{endpoints: ep, ledgerProject: "ph-ledger", ledgerLogstore: "ledger"}
	conn, err := cf.open(&cliEnv{getenv: func(string) string { return "" }}, true)
	require.NoError(t, err)
	now := time.Now().UTC()
	yesterday := now.Add(-24 * time.Hour)
	var recs []ledger.Record
	for i, at := range []time.Time{yesterday, yesterday.Add(time.Second), now} {
		r := rule.Rule{GroupID: "sg-legacy", Region: "cn-hangzhou", ID: "sgr-old-" + string(rune('a'+i)), Direction: rule.Ingress, Protocol: rule.TCP,
			Ports: rule.PortRange{From: 22, To: 22}, Peer: rule.Peer{Kind: rule.PeerCIDR4, Prefix: mustPfx("0.0.0.0/0")}, Policy: rule.Accept, Priority: 1, NicType: "intranet"}
		rev := ledger.NewRevocation(ledger.Meta{Time: at, Function: "guard", GroupID: r.GroupID, Region: r.Region, RuleID: r.ID},
			ledger.Revocation{Rule: r.Permission(), Reason: "ssh to the world", Event: ledger.EventContext{Source: "sweep"}})
		recs = append(recs, rev)
		if i == 0 {
			recs = append(recs, ledger.NewRestore(ledger.Meta{Time: at.Add(time.Minute), Function: "cli", GroupID: r.GroupID, Region: r.Region, RuleID: r.ID},
				ledger.Restore{LedgerID: rev.ID, Rule: r.Permission(), By: "alice"}))
		}
	}
	require.NoError(t, conn.ledger.Append(t.Context(), recs...))
	ledgertest.Searchable(t, conn.ledger, recs...) // what audit reads, it searches
	return ep, []string{"--ledger-project", "ph-ledger", "--ledger-logstore", "ledger"}
}

func TestAuditOwnersExemptionsAndTrend(t *testing.T) {
	ep, ledgerFlags := auditRichWorld(t)
	now := time.Now().UTC()
	yesterday := now.Add(-24 * time.Hour)

	code, stdout, stderr := runCLI(t, append([]string{"audit", "--endpoints", ep, "--json", "--days", "7"}, ledgerFlags...)...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	rep := decodeAudit(t, stdout)
	require.Len(t, rep.Findings, 2)
	db := findingOf(rep, "sg-db")
	require.NotNil(t, db)
	require.Equal(t, "dba", db.Owner)
	require.Equal(t, []string{"mysql"}, db.Services)
	require.Equal(t, "critical", string(rep.Findings[0].Severity), "most severe first")
	require.Equal(t, "sg-legacy", rep.Findings[0].GroupID)

	require.Len(t, rep.Exempted, 1)
	require.Equal(t, []int{22}, rep.Exempted[0].Ports)
	require.Equal(t, "bob", rep.Exempted[0].Exempt.Owner)
	require.Equal(t, "description", rep.Exempted[0].Exempt.Source)

	require.Equal(t, []auditCount{
		{Name: noOwner, Findings: 1, Groups: 1, Severity: "critical"},
		{Name: "dba", Findings: 1, Groups: 1, Severity: "high"},
	}, rep.Totals.ByOwner, "equal counts: the more severe first")
	require.Equal(t, "rdp", rep.Totals.ByService[0].Name, "equal counts: the more severe first")
	require.Equal(t, "mysql", rep.Totals.ByService[1].Name)

	require.NotNil(t, rep.Trend)
	require.Len(t, rep.Trend.Days, 7)
	require.Equal(t, 3, rep.Trend.Revocations)
	require.Equal(t, 1, rep.Trend.Restores)
	last, prev := rep.Trend.Days[6], rep.Trend.Days[5]
	require.Equal(t, now.Format(time.DateOnly), last.Date)
	require.Equal(t, auditDay{Date: yesterday.Format(time.DateOnly), Revocations: 2, Restores: 1}, prev)
	require.Equal(t, 1, last.Revocations)

	// The HTML report has the trend chart too.
	path := filepath.Join(t.TempDir(), "audit.html")
	code, _, stderr = runCLI(t, append([]string{"audit", "--endpoints", ep, "--html", path}, ledgerFlags...)...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	html := string(b)
	require.Equal(t, 4, strings.Count(html, "<svg "))
	require.Contains(t, html, `aria-label="revocations per day"`)
	require.Contains(t, html, "<title>"+yesterday.Format(time.DateOnly)+": 2 revocations, 1 restores</title>")
	require.NotContains(t, html, "No ledger configured")
	require.Contains(t, html, "vendor access")
	assertSelfContained(t, html)
}

// TestAuditProfile: without credential variables, the aliyun CLI's current
// profile is used (here pointing at localcloud through ECS_ENDPOINT).
func TestAuditProfile(t *testing.T) {
	c, _ := auditWorld(t, nil)
	op := c.Operator()
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".aliyun"), 0o700))
	cfg := `{"current": "ops", "profiles": [
	  {"name": "default", "mode": "AK", "access_key_id": "wrong", "access_key_secret": "wrong", "region_id": "cn-beijing"},
	  {"name": "ops", "mode": "AK", "access_key_id": "` + op.AccessKeyID + `", "access_key_secret": "` + op.AccessKeySecret + `", "region_id": "cn-hangzhou", "output_format": "json"},
	  {"name": "role", "mode": "RamRoleArn", "access_key_id": "x", "access_key_secret": "y", "ram_role_arn": "acs:ram::1:role/x"}
	], "meta_path": ""}`
	require.NoError(t, os.WriteFile(filepath.Join(home, ".aliyun", "config.json"), []byte(cfg), 0o600))
	vars := map[string]string{"HOME": home, "ECS_ENDPOINT": c.URL()}

	code, stdout, stderr := auditRunEnv(t, vars, "audit", "--json")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	rep := decodeAudit(t, stdout)
	require.Equal(t, "cn-hangzhou", rep.Regions[0].Region, "the profile's region")
	require.Equal(t, "sg-legacy", rep.Findings[0].GroupID)

	// ALIBABA_CLOUD_PROFILE picks another profile; a role profile is refused clearly.
	vars["ALIBABA_CLOUD_PROFILE"] = "role"
	code, _, stderr = auditRunEnv(t, vars, "audit")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, `profile "role" uses mode RamRoleArn; porthygiene reads only AK and StsToken profiles`)

	// The environment wins over the profile: wrong keys are refused by the cloud.
	delete(vars, "ALIBABA_CLOUD_PROFILE")
	vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], vars["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "LTAIwrong", "wrong"
	code, _, stderr = auditRunEnv(t, vars, "audit", "--region", "cn-hangzhou")
	require.Equal(t, 1, code, "stderr: %s", stderr)
	require.Contains(t, stderr, "forbidden")
}

func TestAuditCloudError(t *testing.T) {
	c, ep := auditWorld(t, nil)
	c.Close() // the cloud is gone: a cloud error, exit 1, nothing printed
	// The deadline bounds the adapter's retries.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, &cliEnv{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}, []string{"audit", "--endpoints", ep, "--json"})
	require.Equal(t, 1, code, "stderr: %s", stderr.String())
	require.Empty(t, stdout.String())
	require.Contains(t, stderr.String(), "porthygiene audit: region cn-hangzhou: list security groups")
}

func TestAuditUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"UnknownFlag", []string{"--jsn"}, "flag provided but not defined: -jsn"},
		{"JSONAndMarkdown", []string{"--json", "--markdown"}, "--json and --markdown: choose one"},
		{"BadDays", []string{"--days", "-1"}, "--days -1: want 0 to 366"},
		{"DaysNotANumber", []string{"--days", "many"}, `invalid value "many" for flag -days`},
		{"BadProgress", []string{"--progress", "sometimes"}, `--progress "sometimes": want auto, always or never`},
		{"HTMLNoDir", []string{"--html", "/nonexistent/dir/a.html"}, "--html /nonexistent/dir/a.html: no such directory"},
		{"BadPolicy", []string{"--policy", td("evaluate-bad-policy.yaml")}, `unknown key "sevrity"`},
		{"NoCredentials", nil, "no credentials"},
		{"Positional", []string{"now"}, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"audit"}, tt.args...)...)
			require.Equal(t, 2, code, "stderr: %s", stderr)
			require.Empty(t, stdout)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			require.Contains(t, lines[len(lines)-1], tt.want)
		})
	}
}

func TestCommandHelp(t *testing.T) {
	for cmd, want := range map[string][]string{
		"audit":    {"usage: porthygiene audit", "-html", "-markdown", "-owner-tag", "Exit codes: 0 the report was produced, whatever it found"},
		"explain":  {"usage: porthygiene explain --instance ID --port P", "-from", "defaults to 8.8.8.8", "Exit codes"},
		"snapshot": {"usage: porthygiene snapshot", "-output", "porthygiene local --seed", "Exit codes"},
	} {
		t.Run(cmd, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, cmd, "--help")
			require.Equal(t, 0, code)
			require.Empty(t, stdout)
			for _, w := range want {
				require.Contains(t, stderr, w)
			}
		})
	}
}

// TestAuditRegions sweeps two regions in one report.
func TestAuditRegions(t *testing.T) {
	seed := localcloud.DefaultSeed()
	seed.Regions = append(seed.Regions, lcecs.Region{
		RegionID: "cn-beijing",
		SecurityGroups: []lcecs.SecurityGroup{{
			SecurityGroupID: "sg-sh", SecurityGroupName: "shanghai", Tags: []lcecs.Tag{{Key: "team", Value: "ops"}},
			Permissions: []lcecs.Permission{
				{Direction: "ingress", IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0"},
				{Direction: "ingress", IpProtocol: "TCP", PortRange: "6379/6379", SourceCidrIp: "0.0.0.0/0"},
			},
		}},
	})
	_, ep := auditWorld(t, seed)
	code, stdout, stderr := runCLI(t, "audit", "--endpoints", ep, "--json", "--region", "cn-hangzhou, cn-beijing")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	rep := decodeAudit(t, stdout)
	require.Equal(t, []auditRegion{{"cn-hangzhou", 6, 11}, {"cn-beijing", 1, 2}}, rep.Regions)
	require.Len(t, rep.Findings, 3)
	require.Equal(t, []auditCount{
		{Name: "cn-beijing", Findings: 2, Groups: 1, Severity: "critical"},
		{Name: "cn-hangzhou", Findings: 1, Groups: 1, Severity: "critical"},
	}, rep.Totals.ByRegion)
	require.Equal(t, []auditCount{
		{Name: "ops", Findings: 2, Groups: 1, Severity: "critical"},
		{Name: noOwner, Findings: 1, Groups: 1, Severity: "critical"},
	}, rep.Totals.ByOwner)
	require.Len(t, rep.Totals.ByService, 3) // rdp, ssh, redis

	// A region with nothing in it still has its row.
	code, stdout, _ = runCLI(t, "audit", "--endpoints", ep, "--json", "--region", "cn-beijing,cn-qingdao")
	require.Equal(t, 0, code)
	rep = decodeAudit(t, stdout)
	require.Equal(t, auditCount{Name: "cn-qingdao"}, rep.Totals.ByRegion[1])
}

// audit reads groups through the guard's observer, owners' decisions
// included: a rule its owner chose to keep (a DingTalk "keep" recorded by the
// approve function) is reported as exempt, not as a finding, exactly as the
// guard leaves it open. An expired keep, or one on another group, keeps
// nothing.
func TestAuditHonoursAnOwnersKeepDecision(t *testing.T) {
	ep, ledgerFlags := auditRichWorld(t)
	cf := cloudFlags{endpoints: ep, ledgerProject: "ph-ledger", ledgerLogstore: "ledger"}
	conn, err := cf.open(&cliEnv{getenv: func(string) string { return "" }}, true)
	require.NoError(t, err)
	attr, err := conn.ecs.DescribeRules(t.Context(), "sg-db")
	require.NoError(t, err)
	var mysql string
	for _, r := range attr.Rules {
		if r.Ports.From == 3306 {
			mysql = r.ID
		}
	}
	require.NotEmpty(t, mysql)
	now := time.Now().UTC()
	keep := func(group, link string, at, until time.Time) ledger.Record {
		return ledger.NewDecision(ledger.Meta{Time: at, Function: "approve", GroupID: group, Region: "cn-hangzhou", RuleID: mysql, EventID: link},
			ledger.Decision{Action: "exempt", Target: group + "/" + mysql, By: "carol", Until: until, Reason: "migration window", Via: "dingtalk"})
	}
	// Before the decision: mysql is a finding.
	code, stdout, stderr := runCLI(t, append([]string{"audit", "--endpoints", ep, "--json", "--days", "0"}, ledgerFlags...)...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	require.NotNil(t, findingOf(decodeAudit(t, stdout), "sg-db"))

	// An expired keep and a keep on another group change nothing.
	stale := []ledger.Record{keep("sg-db", "link-old", now.Add(-2*time.Hour), now.Add(-time.Hour)), keep("sg-web", "link-other", now.Add(-2*time.Hour), now.Add(72*time.Hour))}
	require.NoError(t, conn.ledger.Append(t.Context(), stale...))
	ledgertest.Searchable(t, conn.ledger, stale...)
	code, stdout, stderr = runCLI(t, append([]string{"audit", "--endpoints", ep, "--json", "--days", "0"}, ledgerFlags...)...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	require.NotNil(t, findingOf(decodeAudit(t, stdout), "sg-db"), "an expired keep keeps nothing")

	// An active keep: exempt, with who kept it and why.
	active := keep("sg-db", "link-1", now.Add(-time.Minute), now.Add(72*time.Hour))
	require.NoError(t, conn.ledger.Append(t.Context(), active))
	ledgertest.Searchable(t, conn.ledger, active)
	code, stdout, stderr = runCLI(t, append([]string{"audit", "--endpoints", ep, "--json", "--days", "0"}, ledgerFlags...)...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	rep := decodeAudit(t, stdout)
	require.Nil(t, findingOf(rep, "sg-db"), "the owner kept it: not a finding")
	var kept *auditFinding
	for i := range rep.Exempted {
		if rep.Exempted[i].GroupID == "sg-db" && rep.Exempted[i].RuleID == mysql {
			kept = &rep.Exempted[i]
		}
	}
	require.NotNil(t, kept, "reported as exempt: %+v", rep.Exempted)
	require.Equal(t, "carol", kept.Exempt.Owner)
	require.Equal(t, "ledger", kept.Exempt.Source)
}

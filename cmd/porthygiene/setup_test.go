package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	sdk "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/deploy"
	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/localcloud/ram"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/shared/ledger"
)

var updateSetupGolden = flag.Bool("update-setup", false, "rewrite testdata/setup-*.golden")

// The names s.yaml renders with an empty environment.
const (
	ledgerProject = "porthygiene-ledger"
	ledgerStore   = "ledger"
	trailProject  = "porthygiene-actiontrail"
	trailStore    = "actiontrail_porthygiene"
)

var syaml = filepath.Join(lctest.RepoRoot(), "s.yaml")

// policyFor renders deploy/ram's policy for localcloud's account.
func policyFor(t *testing.T) string {
	t.Helper()
	doc, err := deploy.Vars{AccountID: auth.AccountID, Region: "cn-hangzhou", LedgerProject: ledgerProject, LedgerLogstore: ledgerStore,
		TrailProject: trailProject, TrailLogstore: trailStore}.Policy()
	require.NoError(t, err)
	return doc
}

// fcRole is the role scripts/create-ram-role.sh creates, with edit applied.
func fcRole(t *testing.T, edit func(*ram.Role)) ram.Role {
	t.Helper()
	r := ram.Role{RoleName: deploy.DefaultRole, AssumeRolePolicyDocument: json.RawMessage(deploy.Trust()),
		Policies: []ram.Policy{{PolicyName: deploy.PolicyName(deploy.DefaultRole), PolicyDocument: json.RawMessage(policyFor(t))}}}
	if edit != nil {
		edit(&r)
	}
	return r
}

// freshAccount is the demo world whose ledger logstore nobody indexed, with
// the functions' role in place and the guard deployed (its SLS trigger makes
// the trail exist).
func freshAccount(t *testing.T, edit func(*localcloud.Seed)) *localcloud.Cloud {
	t.Helper()
	seed := localcloud.DefaultSeed()
	seed.Projects = []localcloud.SeedProject{{Name: ledgerProject, Logstores: []localcloud.SeedLogstore{{Name: ledgerStore, NoIndex: true}}}}
	seed.Roles = []ram.Role{fcRole(t, nil)}
	if edit != nil {
		edit(seed)
	}
	return lctest.Start(t, localcloud.Options{Seed: seed}, "guard")
}

// writes counts the SLS calls that change an account.
func writes(s stats.Snapshot) map[string]int {
	out := map[string]int{}
	for _, a := range []string{"CreateProject", "CreateLogStore", "UpdateLogStore", "CreateIndex", "UpdateIndex", "DeleteIndex", "PutLogs"} {
		if n := s.Count("sls", a, ""); n > 0 {
			out[a] = n
		}
	}
	return out
}

func diff(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// checkGolden compares a setup output with testdata/<name> (-update-setup
// rewrites it), after replacing the s.yaml path.
func checkGolden(t *testing.T, name, out string) {
	t.Helper()
	out = strings.ReplaceAll(out, syaml, "s.yaml")
	p := td(name)
	if *updateSetupGolden {
		require.NoError(t, os.WriteFile(p, []byte(out), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "go test -run TestSetup ./cmd/porthygiene/ -update-setup creates it")
	require.Equal(t, string(want), out)
}

// proxiedClient reaches localcloud's SLS as the CLI does, through it as a proxy.
func proxiedClient(t *testing.T, c *localcloud.Cloud) *http.Client {
	t.Helper()
	u, err := url.Parse(c.URL())
	require.NoError(t, err)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
}

func noSecrets(t *testing.T, c *localcloud.Cloud, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		require.NotContains(t, o, c.Operator().AccessKeySecret)
	}
}

func TestSetupOnAFreshAccountIndexesTheLedgerOnce(t *testing.T) {
	c := freshAccount(t, nil)
	ep := endpointsFileFor(t, c)

	code, _, errOut := cli(t, "ledger", "--endpoints", ep)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "IndexConfigNotExist", "nobody indexed the ledger: it cannot be queried")

	before := writes(c.Stats.Snapshot())
	code, out, errOut := cli(t, "setup", "--dry-run", "--endpoints", ep, "--config", syaml)
	require.Equal(t, 0, code, "a dry run with nothing to fix by hand: %s", errOut)
	checkGolden(t, "setup-dry-run.golden", out)
	require.Empty(t, diff(writes(c.Stats.Snapshot()), before), "--dry-run writes nothing")
	code, _, errOut = cli(t, "ledger", "--endpoints", ep)
	require.Equal(t, 1, code, "still no index after a dry run")
	require.Contains(t, errOut, "IndexConfigNotExist")

	before = writes(c.Stats.Snapshot())
	code, out2, errOut := cli(t, "setup", "--endpoints", ep, "--config", syaml)
	require.Equal(t, 0, code, errOut)
	checkGolden(t, "setup-apply.golden", out2)
	require.Equal(t, map[string]int{"CreateIndex": 1}, diff(writes(c.Stats.Snapshot()), before), "only the index was missing")

	before = writes(c.Stats.Snapshot())
	code, out3, errOut := cli(t, "setup", "--endpoints", ep, "--config", syaml)
	require.Equal(t, 0, code, errOut)
	checkGolden(t, "setup-nothing.golden", out3)
	require.Empty(t, diff(writes(c.Stats.Snapshot()), before), "a second setup makes no write call")

	// The ledger answers the product's queries: the guard records a
	// revocation (it checks for the event id first), the CLI finds it.
	cl := lctest.ECS(t, c)
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = c.Region(), "sg-web"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0"}}
	_, err := cl.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	lctest.Settle(t, c)
	entries := searchedEntries(t, ep, "revocation", 1)
	require.Equal(t, "sg-web", entries[0].GroupID)
	noSecrets(t, c, out, out2, out3)
}

func TestSetupUpdatesAnIndexThatLacksAField(t *testing.T) {
	c := freshAccount(t, nil)
	ep := endpointsFileFor(t, c)
	keys := map[string]any{"note": map[string]any{"type": "long"}} // the operator's own field
	for _, k := range ledger.IndexKeys {
		if k != "eventId" {
			keys[k] = map[string]any{"type": "text", "token": []string{" "}, "caseSensitive": false}
		}
	}
	body, err := json.Marshal(map[string]any{"keys": keys, "line": map[string]any{"token": []string{" "}}})
	require.NoError(t, err)
	require.NoError(t, c.SLS.CreateIndex(ledgerProject, ledgerStore, body))

	before := writes(c.Stats.Snapshot())
	code, out, errOut := cli(t, "setup", "--dry-run", "--endpoints", ep, "--config", syaml)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "○ ledger index porthygiene-ledger/ledger: would update: add eventId")
	require.Empty(t, diff(writes(c.Stats.Snapshot()), before))

	code, out, errOut = cli(t, "setup", "--endpoints", ep, "--config", syaml)
	require.Equal(t, 0, code, errOut)
	checkGolden(t, "setup-update-index.golden", out)
	require.Equal(t, map[string]int{"UpdateIndex": 1}, diff(writes(c.Stats.Snapshot()), before), "updated, not recreated")

	op := c.Operator()
	raw := sdk.CreateNormalInterface("http://cn-hangzhou.log.aliyuncs.com", op.AccessKeyID, op.AccessKeySecret, "")
	raw.SetHTTPClient(proxiedClient(t, c))
	idx, err := raw.GetIndex(ledgerProject, ledgerStore)
	require.NoError(t, err)
	require.Equal(t, "text", idx.Keys["eventId"].Type)
	require.Equal(t, "long", idx.Keys["note"].Type, "the operator's field stays")
	require.False(t, idx.Keys["kind"].CaseSensitive, "a field already indexed as text is left as it was")
	require.NotNil(t, idx.Line, "the full-text index stays")

	code, out, _ = cli(t, "setup", "--endpoints", ep, "--config", syaml)
	require.Equal(t, 0, code)
	require.Contains(t, out, "✔ ledger index porthygiene-ledger/ledger: covers id, kind")
	require.Contains(t, out, "nothing to change.")
}

// An account with nothing prepared: setup creates what it may and lists the
// rest with the exact fixes.
func TestSetupListsWhatMustBeFixedByHand(t *testing.T) {
	c, err := localcloud.Start(localcloud.Options{Seed: localcloud.DefaultSeed()})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ep := endpointsFileFor(t, c)

	before := writes(c.Stats.Snapshot())
	code, out, errOut := cli(t, "setup", "--endpoints", ep, "--config", syaml, "--ttl-days", "400")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "fix the ✘ items above by hand")
	checkGolden(t, "setup-fix-by-hand.golden", out)
	require.Equal(t, map[string]int{"CreateProject": 2, "CreateLogStore": 2, "CreateIndex": 1}, diff(writes(c.Stats.Snapshot()), before))
	noSecrets(t, c, out, errOut)

	// What setup created is in place; what it may not create is still missing.
	code, out, _ = cli(t, "setup", "--endpoints", ep, "--config", syaml)
	require.Equal(t, 1, code)
	require.Contains(t, out, "✔ ledger index porthygiene-ledger/ledger: covers")
	require.Contains(t, out, "✘ ActionTrail logstore porthygiene-actiontrail/actiontrail_porthygiene: missing")
}

func TestSetupChecksTheTrailAndTheRole(t *testing.T) {
	extra := `{"Effect":"Allow","Action":"ecs:DeleteSecurityGroup","Resource":"*"}`
	cases := []struct {
		name string
		edit func(*localcloud.Seed)
		want []string
	}{
		{"trail stopped", func(s *localcloud.Seed) {
			s.Trails = []localcloud.SeedTrail{{Name: "porthygiene", Project: trailProject, Stopped: true}}
		}, []string{
			"✘ ActionTrail trail porthygiene (cn-hangzhou): exists but is not logging (Disable)",
			"fix: aliyun actiontrail StartLogging --region cn-hangzhou --Name porthygiene",
		}},
		{"trail delivers elsewhere", func(s *localcloud.Seed) {
			s.Trails = []localcloud.SeedTrail{{Name: "porthygiene", Project: "other-audit"}}
		}, []string{
			"✘ ActionTrail trail porthygiene (cn-hangzhou): delivers to project other-audit in cn-hangzhou, but the SLS trigger reads porthygiene-actiontrail in cn-hangzhou",
			"fix: aliyun actiontrail UpdateTrail --region cn-hangzhou --Name porthygiene --SlsProjectArn acs:log:cn-hangzhou:1234567890123456:project/porthygiene-actiontrail",
		}},
		{"no role", func(s *localcloud.Seed) { s.Roles = nil }, []string{
			"✘ RAM role porthygiene-fc-role: not found",
			"fix: PORTHYGIENE_REGION=cn-hangzhou PORTHYGIENE_ROLE=porthygiene-fc-role LEDGER_PROJECT=porthygiene-ledger LEDGER_LOGSTORE=ledger ACTIONTRAIL_PROJECT=porthygiene-actiontrail ACTIONTRAIL_LOGSTORE=actiontrail_porthygiene scripts/create-ram-role.sh",
		}},
		{"role trusts another service", func(s *localcloud.Seed) {
			s.Roles = []ram.Role{fcRole(t, func(r *ram.Role) {
				r.AssumeRolePolicyDocument = json.RawMessage(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["ecs.aliyuncs.com"]}}]}`)
			})}
		}, []string{"✘ RAM role porthygiene-fc-role: exists, but its trust policy does not let fc.aliyuncs.com assume it"}},
		{"policy lacks a grant and has one more", func(s *localcloud.Seed) {
			doc := strings.Replace(policyFor(t), `"fc:InvokeFunction"`, `"fc:GetFunction"`, 1)
			doc = strings.Replace(doc, `"Statement": [`, `"Statement": [`+extra+",", 1)
			s.Roles = []ram.Role{fcRole(t, func(r *ram.Role) { r.Policies[0].PolicyDocument = json.RawMessage(doc) })}
		}, []string{
			"✘ RAM policy porthygiene-fc-role-policy of porthygiene-fc-role: differs from deploy/ram/porthygiene-fc-role.policy.json",
			"- lacks fc:invokefunction on acs:fc:cn-hangzhou:1234567890123456:functions/porthygiene-guard",
			"+ grants ecs:deletesecuritygroup on * (more than the functions need)",
			"+ grants fc:getfunction on acs:fc:cn-hangzhou:1234567890123456:functions/porthygiene-guard",
			"fix: ACCOUNT_ID=1234567890123456 PORTHYGIENE_REGION=cn-hangzhou",
		}},
		{"another policy instead", func(s *localcloud.Seed) {
			s.Roles = []ram.Role{fcRole(t, func(r *ram.Role) {
				r.Policies = []ram.Policy{{PolicyName: "AliyunECSFullAccess", PolicyType: "System", PolicyDocument: json.RawMessage(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`)}}
			})}
		}, []string{
			"✘ RAM policy porthygiene-fc-role-policy of porthygiene-fc-role: not found",
			"! also attached: AliyunECSFullAccess (System): the functions need only porthygiene-fc-role-policy",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := freshAccount(t, tc.edit)
			code, out, errOut := cli(t, "setup", "--endpoints", endpointsFileFor(t, c), "--config", syaml)
			require.Equal(t, 1, code, "%s\n%s", out, errOut)
			for _, w := range tc.want {
				require.Contains(t, out, w)
			}
			require.Contains(t, out, "✔ ledger index porthygiene-ledger/ledger: created", "what setup may do, it does anyway")
			noSecrets(t, c, out, errOut)
		})
	}
}

func TestSetupBadInput(t *testing.T) {
	dir := t.TempDir()
	twoLedgers := filepath.Join(dir, "s.yaml")
	data, err := os.ReadFile(syaml)
	require.NoError(t, err)
	// The approve function writes another ledger than the guard reads.
	s := strings.Replace(string(data), "environmentVariables: *env\n      logConfig: auto\n      triggers:\n        - triggerName: decision-links",
		"environmentVariables: {LEDGER_PROJECT: other, LEDGER_LOGSTORE: ledger}\n      logConfig: auto\n      triggers:\n        - triggerName: decision-links", 1)
	require.NotEqual(t, string(data), s)
	require.NoError(t, os.WriteFile(twoLedgers, []byte(s), 0o644))

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--ttl-days", "0"}, "--ttl-days"},
		{[]string{"--shards", "100"}, "--shards"},
		{[]string{"--trail-logstore", "audit"}, "actiontrail_<trail>"},
		{[]string{"--trail-logstore", "actiontrail_x"}, "trail name"},
		{[]string{"--role", "Admin Role"}, "role"},
		{[]string{"--region", "Hangzhou"}, "region"},
		{[]string{"--ledger-project", trailProject, "--ledger-logstore", trailStore}, "nothing else may write there"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, "--config"},
		{[]string{"--config", twoLedgers}, "disagree on LEDGER_PROJECT"},
		{[]string{"extra"}, "unexpected argument"},
		{nil, "no credentials"},
	}
	for _, tc := range cases {
		args := append([]string{"setup"}, tc.args...)
		if !strings.Contains(strings.Join(tc.args, " "), "--config") {
			args = append(args, "--config", syaml)
		}
		code, out, errOut := cli(t, args...)
		require.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		require.Contains(t, errOut, tc.want, "%v", tc.args)
		require.Empty(t, out, "%v: nothing printed before the input is known good", tc.args)
	}
	code, _, errOut := cli(t, "setup", "--help")
	require.Equal(t, 0, code)
	require.Contains(t, errOut, "Exit codes: 0 everything is ✔")
}

// setup reads what `s deploy` renders: the same variables, the same defaults.
func TestSetupReadsTheAccountSettingsOfSYAML(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want setupConfig
	}{
		{nil, setupConfig{region: "cn-hangzhou", ledgerProject: ledgerProject, ledgerLogstore: ledgerStore,
			trailProject: trailProject, trailLogstore: trailStore, role: deploy.DefaultRole,
			triggerLogs: [][2]string{{ledgerProject, "trigger-log"}}}},
		{map[string]string{
			"PORTHYGIENE_REGION": "cn-shanghai", "PORTHYGIENE_ROLE": "Acme-Role",
			"LEDGER_PROJECT": "acme-ledger", "LEDGER_LOGSTORE": "acme-store",
			"ACTIONTRAIL_PROJECT": "acme-audit", "ACTIONTRAIL_LOGSTORE": "actiontrail_acme-trail",
		}, setupConfig{region: "cn-shanghai", ledgerProject: "acme-ledger", ledgerLogstore: "acme-store",
			trailProject: "acme-audit", trailLogstore: "actiontrail_acme-trail", role: "acme-role",
			triggerLogs: [][2]string{{"acme-ledger", "trigger-log"}}}},
	} {
		got, err := setupFromSYAML(syaml, func(k string) string { return tc.env[k] })
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "%v", tc.env)
		require.NoError(t, got.validate())
	}
}

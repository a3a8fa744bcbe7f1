package deploytest

// Least privilege, measured: the functions run their end-to-end scenarios on
// localcloud, localcloud's stats record every API action their role called,
// and the role's policy (deploy/ram) must grant exactly those actions.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/localcloud/sconfig"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/shared/approve"
	"github.com/porthygiene/porthygiene/shared/approve/approvetest"
	"github.com/porthygiene/porthygiene/shared/ledger"
)

const (
	// roleName is the functions' role: s.yaml's default and the script's.
	roleName   = "porthygiene-fc-role"
	policyFile = "deploy/ram/porthygiene-fc-role.policy.json"
	trustFile  = "deploy/ram/trust.json"
	roleScript = "scripts/create-ram-role.sh"
	// The replicator's own role (s.yaml vars.replicatorRole): the guard
	// ignores roleName's calls, and must see the replicator's.
	replicatorRoleName   = "porthygiene-replicator-role"
	replicatorPolicyFile = "deploy/ram/porthygiene-replicator-role.policy.json"
)

// roleSpec is one RAM role of s.yaml: its policy file and the s.yaml
// resource whose function it may invoke (its own fan-out and flushes).
type roleSpec struct{ name, file, invokes string }

var roles = []roleSpec{
	{name: roleName, file: policyFile, invokes: "guard"},
	{name: replicatorRoleName, file: replicatorPolicyFile, invokes: "replicator"},
}

// slsRAMActions maps the SLS API names localcloud records (localcloud/sls
// server.go routes) to the RAM actions that authorize them.
var slsRAMActions = map[string]string{
	"PutLogs":        "log:PostLogStoreLogs",
	"PullLogs":       "log:GetCursorOrData",
	"GetCursor":      "log:GetCursorOrData",
	"GetCursorTime":  "log:GetCursorOrData",
	"GetLogs":        "log:GetLogStoreLogs",
	"ListShards":     "log:ListShards",
	"GetLogStore":    "log:GetLogStore",
	"ListLogStores":  "log:ListLogStores",
	"CreateLogStore": "log:CreateLogStore",
	"DeleteLogStore": "log:DeleteLogStore",
	"GetProject":     "log:GetProject",
	"ListProject":    "log:ListProject",
	"CreateProject":  "log:CreateProject",
	"DeleteProject":  "log:DeleteProject",
	"CreateIndex":    "log:CreateIndex",
	"UpdateIndex":    "log:UpdateIndex",
	"GetIndex":       "log:GetIndex",
	"DeleteIndex":    "log:DeleteIndex",
}

// ramAction is the RAM action that authorizes one recorded call; ok is false
// for calls RAM does not authorize (DingTalk webhooks) and err reports calls
// this test cannot map.
func ramAction(c stats.Call) (action string, ok bool, err error) {
	switch c.Service {
	case "ecs":
		return "ecs:" + c.Action, true, nil
	case "sls":
		a, known := slsRAMActions[c.Action]
		if !known {
			return "", false, fmt.Errorf("sls action %q has no RAM action in slsRAMActions", c.Action)
		}
		return a, true, nil
	case "vpc":
		// VPC RAM actions carry the API's name (vpc:DescribeFlowLogs: the reaper's coverage).
		return "vpc:" + c.Action, true, nil
	case "fc":
		// Function Compute 3.0 RAM actions carry the API's name
		// (fc:InvokeFunction: the guard's sweep fan-out).
		return "fc:" + c.Action, true, nil
	case "dingtalk":
		return "", false, nil // a webhook with its own signature, not a cloud API
	}
	return "", false, fmt.Errorf("service %q: add its RAM actions to ram_test.go", c.Service)
}

// ---- the policy document ----

type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Effect    string          `json:"Effect"`
	Action    stringList      `json:"Action"`
	Resource  stringList      `json:"Resource"`
	Condition json.RawMessage `json:"Condition,omitempty"`
}

// stringList is a RAM policy field that is a string or a list of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

func loadPolicyFile(t *testing.T, policyFile string) policyDoc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), policyFile))
	if err != nil {
		t.Fatal(err)
	}
	var p policyDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", policyFile, err)
	}
	return p
}

func (p policyDoc) actions() map[string]bool {
	out := map[string]bool{}
	for _, s := range p.Statement {
		for _, a := range s.Action {
			out[a] = true
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---- static shape: scoping per aliyun-facts §7 ----

const (
	ecsGroupsARN = "acs:ecs:*:${ACCOUNT_ID}:securitygroup/*"
	ledgerARN    = "acs:log:${REGION}:${ACCOUNT_ID}:project/${LEDGER_PROJECT}/logstore/${LEDGER_LOGSTORE}"
	trailARN     = "acs:log:${REGION}:${ACCOUNT_ID}:project/${ACTIONTRAIL_PROJECT}/logstore/${ACTIONTRAIL_LOGSTORE}"
	// The reaper's daily summaries, beside the ledger, and the flow logs it reads.
	summaryARN = "acs:log:${REGION}:${ACCOUNT_ID}:project/${LEDGER_PROJECT}/logstore/flow-summary"
	flowLogARN = "acs:log:${REGION}:${ACCOUNT_ID}:project/${FLOWLOG_PROJECT}/logstore/${FLOWLOG_LOGSTORE}"
	// fcFunctionsARN is the prefix of a function's ARN (FC 3.0 RAM resource
	// acs:fc:{#regionId}:{#accountId}:functions/{#functionName}).
	fcFunctionsARN = "acs:fc:${REGION}:${ACCOUNT_ID}:functions/"
)

// functionName is the functionName of an s.yaml resource.
func functionName(t *testing.T, resource string) string {
	t.Helper()
	proj, err := sconfig.Load(filepath.Join(repoRoot(), "s.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range proj.Functions {
		if fn.Resource == resource {
			return fn.Name
		}
	}
	t.Fatalf("s.yaml has no %s resource", resource)
	return ""
}

var ecsReadRe = regexp.MustCompile(`^ecs:(Describe|List)[A-Za-z]+$`)

func TestRolePolicyShape(t *testing.T) {
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) { testRolePolicyShape(t, r) })
	}
}

func testRolePolicyShape(t *testing.T, r roleSpec) {
	p := loadPolicyFile(t, r.file)
	if p.Version != "1" {
		t.Errorf("Version %q, want \"1\"", p.Version)
	}
	if len(p.Statement) == 0 {
		t.Fatal("no statements")
	}
	seen := map[string]int{}
	for i, s := range p.Statement {
		at := fmt.Sprintf("statement %d %v", i, s.Action)
		if s.Effect != "Allow" {
			t.Errorf("%s: Effect %q, want Allow (nothing here needs Deny)", at, s.Effect)
		}
		if len(s.Action) == 0 || len(s.Resource) == 0 {
			t.Errorf("%s: Action and Resource are required", at)
		}
		for _, a := range s.Action {
			seen[a]++
			if strings.Contains(a, "*") {
				t.Errorf("%s: wildcard action %q: name each action the functions call", at, a)
			}
			var want []string
			switch {
			case ecsReadRe.MatchString(a), a == "vpc:DescribeFlowLogs":
				// Describe-many and List APIs authorize on "*" only.
				want = []string{"*"}
			case strings.HasPrefix(a, "ecs:"):
				want = []string{ecsGroupsARN}
			case a == "log:GetCursorOrData":
				if r.name == replicatorRoleName {
					// The notifier's budget and outbox read by cursor from
					// the ledger (the replicator has no SLS trigger).
					want = []string{ledgerARN}
					break
				}
				// The SLS trigger's range, and the notifier's budget read
				// by cursor from the ledger.
				want = []string{ledgerARN, trailARN}
			case a == "log:GetLogStoreLogs" && r.name == replicatorRoleName:
				// The ledger, and the trail's logstore: who changed a replica.
				want = []string{ledgerARN, trailARN}
			case a == "log:PostLogStoreLogs" && r.name != replicatorRoleName:
				// The ledger, and the reaper's flow summaries.
				want = []string{ledgerARN, summaryARN}
			case a == "log:GetLogStoreLogs" && r.name != replicatorRoleName:
				// The ledger, the flow summaries and the flow logs (the reaper).
				want = []string{ledgerARN, summaryARN, flowLogARN}
			case strings.HasPrefix(a, "log:"):
				want = []string{ledgerARN}
			case a == "fc:InvokeFunction":
				// A function's fan-out and flushes invoke itself, nothing else.
				want = []string{fcFunctionsARN + functionName(t, r.invokes)}
			default:
				t.Errorf("%s: action %q of an unexpected service", at, a)
				continue
			}
			if !slices.Equal(s.Resource, want) {
				t.Errorf("%s: %s on %v, want %v", at, a, []string(s.Resource), want)
			}
		}
	}
	for a, n := range seen {
		if n > 1 {
			t.Errorf("action %s is granted by %d statements", a, n)
		}
	}

	trust, err := os.ReadFile(filepath.Join(repoRoot(), trustFile))
	if err != nil {
		t.Fatal(err)
	}
	var tp struct {
		Version   string
		Statement []struct {
			Effect    string
			Action    stringList
			Principal struct{ Service stringList }
		}
	}
	if err := json.Unmarshal(trust, &tp); err != nil {
		t.Fatalf("%s: %v", trustFile, err)
	}
	if tp.Version != "1" || len(tp.Statement) != 1 || tp.Statement[0].Effect != "Allow" ||
		!slices.Equal(tp.Statement[0].Action, []string{"sts:AssumeRole"}) ||
		!slices.Equal(tp.Statement[0].Principal.Service, []string{"fc.aliyuncs.com"}) {
		t.Errorf("%s: want one statement letting only fc.aliyuncs.com sts:AssumeRole, got %s", trustFile, trust)
	}
}

// ---- the script ----

func runScript(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not found")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{roleScript}, args...)...)
	cmd.Dir = repoRoot()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The script renders the policy with s.yaml's defaults, or with the same
// variables s.yaml reads, and never calls the aliyun CLI in --dry-run.
func TestCreateRoleScriptDryRun(t *testing.T) {
	out, err := runScript(t, map[string]string{"ACCOUNT_ID": "1234567890123456"}, "--print-policy")
	if err != nil {
		t.Fatalf("--print-policy: %v\n%s", err, out)
	}
	var p policyDoc
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("--print-policy printed no JSON policy: %v\n%s", err, out)
	}
	var all []string
	for _, s := range p.Statement {
		all = append(all, s.Resource...)
	}
	// s.yaml's defaults (vars and environmentVariables).
	for _, want := range []string{
		"acs:ecs:*:1234567890123456:securitygroup/*",
		"acs:log:cn-hangzhou:1234567890123456:project/porthygiene-ledger/logstore/ledger",
		"acs:log:cn-hangzhou:1234567890123456:project/porthygiene-actiontrail/logstore/actiontrail_porthygiene",
		"acs:fc:cn-hangzhou:1234567890123456:functions/porthygiene-guard",
	} {
		if !slices.Contains(all, want) {
			t.Errorf("rendered policy lacks %s: %v", want, all)
		}
	}
	if strings.Contains(out, "${") {
		t.Errorf("rendered policy keeps a placeholder:\n%s", out)
	}

	env := map[string]string{
		"ACCOUNT_ID": "1234567890123456", "PORTHYGIENE_REGION": "cn-shanghai", "PORTHYGIENE_ROLE": "acme-role",
		"LEDGER_PROJECT": "acme-ledger", "LEDGER_LOGSTORE": "led", "ACTIONTRAIL_PROJECT": "acme-trail", "ACTIONTRAIL_LOGSTORE": "actiontrail_acme",
		// A fake aliyun that fails: --dry-run must not call it.
		"ALIYUN_CLI": "false",
	}
	out, err = runScript(t, env, "--dry-run")
	if err != nil {
		t.Fatalf("--dry-run: %v\n%s", err, out)
	}
	for _, want := range []string{
		"ram CreateRole", "--RoleName acme-role", "ram CreatePolicy", "ram AttachPolicyToRole",
		"project/acme-ledger/logstore/led", "acs:log:cn-shanghai:1234567890123456:project/acme-trail/logstore/actiontrail_acme",
		"fc.aliyuncs.com",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--dry-run output lacks %q:\n%s", want, out)
		}
	}

	if out, err := runScript(t, nil, "--bogus"); err == nil || !strings.Contains(out, "usage") {
		t.Errorf("an unknown flag must fail with the usage: %v\n%s", err, out)
	}
}

// ---- measured: what the role really calls ----

// roleFunctions are the functions to run: each functions/<name> that is an
// s.yaml resource and builds.
func roleFunctions(t *testing.T) []string {
	t.Helper()
	proj, err := sconfig.Load(filepath.Join(repoRoot(), "s.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fn := range proj.Functions {
		if st, err := os.Stat(filepath.Join(repoRoot(), "functions", fn.Resource)); err != nil || !st.IsDir() {
			continue
		}
		if _, err := lctest.Build(fn.Resource); err != nil {
			if fn.Resource == "guard" {
				t.Fatal(err)
			}
			t.Logf("functions/%s does not build; left out of the measurement: %v", fn.Resource, err)
			continue
		}
		out = append(out, fn.Resource)
	}
	if !slices.Contains(out, "guard") {
		t.Fatal("s.yaml has no guard resource")
	}
	return out
}

type scenario struct {
	t     *testing.T
	cloud *localcloud.Cloud
	ecs   *ecs.Client
}

func (s *scenario) settle() { lctest.Settle(s.t, s.cloud) }

func (s *scenario) advance(d time.Duration) {
	s.t.Helper()
	if _, err := s.cloud.Advance(s.t.Context(), d); err != nil {
		s.t.Fatalf("advance %v: %v", d, err)
	}
}

func (s *scenario) authorize(group string, egress bool, perms ...ecs.AuthorizeSecurityGroupPermissions) {
	s.t.Helper()
	var err error
	if egress {
		req := ecs.CreateAuthorizeSecurityGroupEgressRequest()
		req.RegionId = s.cloud.Region()
		req.SecurityGroupId = group
		var list []ecs.AuthorizeSecurityGroupEgressPermissions
		for _, p := range perms {
			list = append(list, ecs.AuthorizeSecurityGroupEgressPermissions{IpProtocol: p.IpProtocol, PortRange: p.PortRange,
				DestCidrIp: p.SourceCidrIp, Policy: p.Policy, Priority: p.Priority, Description: p.Description})
		}
		req.Permissions = &list
		_, err = s.ecs.AuthorizeSecurityGroupEgress(req)
	} else {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.RegionId = s.cloud.Region()
		req.SecurityGroupId = group
		req.Permissions = &perms
		_, err = s.ecs.AuthorizeSecurityGroup(req)
	}
	if err != nil {
		s.t.Fatalf("authorize %s: %v", group, err)
	}
	s.settle()
}

func (s *scenario) createGroup(name string) string {
	s.t.Helper()
	req := ecs.CreateCreateSecurityGroupRequest()
	req.RegionId = s.cloud.Region()
	req.VpcId = "vpc-demo"
	req.SecurityGroupName = name
	resp, err := s.ecs.CreateSecurityGroup(req)
	if err != nil {
		s.t.Fatalf("create group: %v", err)
	}
	s.settle()
	return resp.SecurityGroupId
}

// ruleID finds an ingress rule of group by port range and peer.
func (s *scenario) ruleID(group, ports, peer string) string {
	s.t.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId = s.cloud.Region()
	req.SecurityGroupId = group
	req.Direction = "ingress"
	resp, err := s.ecs.DescribeSecurityGroupAttribute(req)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, p := range resp.Permissions.Permission {
		if p.PortRange == ports && p.SourceCidrIp+p.SourceGroupId+p.SourcePrefixListId+p.Ipv6SourceCidrIp == peer {
			return p.SecurityGroupRuleId
		}
	}
	s.t.Fatalf("no ingress rule %s from %s in %s", ports, peer, group)
	return ""
}

// drive runs the scenarios of the functions' end-to-end suites: every
// trigger, every kind of change the guard reacts to, the sweep, the SLS path
// alone, duplicated events, and the approve links when approve is deployed.
func drive(t *testing.T, c *localcloud.Cloud) {
	s := &scenario{t: t, cloud: c, ecs: lctest.ECS(t, c)}
	perm := func(proto, ports, cidr string) ecs.AuthorizeSecurityGroupPermissions {
		return ecs.AuthorizeSecurityGroupPermissions{IpProtocol: proto, PortRange: ports, SourceCidrIp: cidr}
	}

	// EventBridge: a human opens SSH to the world; then the same event and the
	// guard's own revoke arrive through the ActionTrail logstore (SLS trigger).
	s.authorize("sg-web", false, perm("tcp", "22/22", "0.0.0.0/0"))
	s.advance(10 * time.Second)

	// The shapes of exposure, in a group created for it (CreateSecurityGroup is
	// an event too): IPv6, all protocols, split halves, a prefix list, egress.
	g := s.createGroup("least-privilege")
	s.authorize(g, false, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "tcp", PortRange: "3306/3306", Ipv6SourceCidrIp: "::/0"})
	s.authorize(g, false, perm("all", "-1/-1", "0.0.0.0/0"))
	s.authorize(g, false, perm("tcp", "6379/6379", "0.0.0.0/1"), perm("tcp", "6379/6379", "128.0.0.0/1"))
	s.authorize(g, false, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "tcp", PortRange: "22/22", SourcePrefixListId: "pl-office"})
	s.authorize(g, true, perm("tcp", "22/22", "0.0.0.0/0"))

	// The replicator copies a rule naming a prefix list into the other
	// region, mapping the list there by name (DescribePrefixLists).
	s.authorize("sg-db", false, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "tcp", PortRange: "5432/5432", SourcePrefixListId: "pl-office"})

	// ModifySecurityGroupRule widens a private rule to the world.
	req := ecs.CreateModifySecurityGroupRuleRequest()
	req.RegionId = c.Region()
	req.SecurityGroupId = "sg-web"
	req.SecurityGroupRuleId = s.ruleID("sg-web", "22/22", "10.0.0.0/16")
	req.SourceCidrIp = "0.0.0.0/0"
	if _, err := s.ecs.ModifySecurityGroupRule(req); err != nil {
		t.Fatalf("modify rule: %v", err)
	}
	s.settle()

	// A prefix list a rule names is widened to the world (ModifyPrefixList):
	// the guard maps the list to its groups (DescribePrefixListAssociations).
	pl := ecs.CreateCreatePrefixListRequest()
	pl.RegionId, pl.PrefixListName, pl.AddressFamily, pl.MaxEntries = c.Region(), "least-privilege", "IPv4", requests.NewInteger(5)
	pl.Entry = &[]ecs.CreatePrefixListEntry{{Cidr: "198.51.100.0/24"}}
	created, err := s.ecs.CreatePrefixList(pl)
	if err != nil {
		t.Fatalf("create prefix list: %v", err)
	}
	s.settle()
	s.authorize(g, false, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "tcp", PortRange: "3389/3389", SourcePrefixListId: created.PrefixListId})
	widen := ecs.CreateModifyPrefixListRequest()
	widen.RegionId, widen.PrefixListId = c.Region(), created.PrefixListId
	widen.AddEntry = &[]ecs.ModifyPrefixListAddEntry{{Cidr: "0.0.0.0/0"}}
	if _, err := s.ecs.ModifyPrefixList(widen); err != nil {
		t.Fatalf("modify prefix list: %v", err)
	}
	s.settle()

	// An instance joins an exposed group.
	join := ecs.CreateJoinSecurityGroupRequest()
	join.RegionId = c.Region()
	join.InstanceId = "i-db-1"
	join.SecurityGroupId = "sg-legacy"
	if _, err := s.ecs.JoinSecurityGroup(join); err != nil {
		t.Fatalf("join: %v", err)
	}
	s.settle()

	// Duplicated and reordered events.
	c.SetFaults(faults.Config{DuplicateEvents: true, ReorderEvents: true})
	s.authorize("sg-web", false, perm("tcp", "23/23", "0.0.0.0/0"))
	s.authorize("sg-web", false, perm("tcp", "5900/5900", "0.0.0.0/0"))
	c.Bus.Flush()
	s.settle()
	c.SetFaults(faults.Config{})

	// DingTalk down while the replicator undoes a hand edit on a replica:
	// its message waits in the outbox and it schedules a delayed flush of
	// itself (fc:InvokeFunction).
	c.SetFaults(faults.Config{DingTalkDown: true})
	s.authorize("sg-web-dr", false, perm("tcp", "9000/9000", "192.168.0.0/16"))
	c.SetFaults(faults.Config{})

	// An exemption that expires: the hourly sweep closes the rule.
	until := c.Clock.Now().Add(72 * time.Hour).Format("2006-01-02")
	s.authorize("sg-bastion", false, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0",
		Description: "[porthygiene-exempt owner=ops until=" + until + " reason=\"bastion host\"]"})
	s.advance(5 * 24 * time.Hour)

	// The SLS trigger path alone.
	if err := c.SetTriggerEnabled("guard", "actiontrail-events", false); err != nil {
		t.Fatal(err)
	}
	s.authorize("sg-web", false, perm("tcp", "27017/27017", "0.0.0.0/0"))
	s.advance(10 * time.Second)
	if err := c.SetTriggerEnabled("guard", "actiontrail-events", true); err != nil {
		t.Fatal(err)
	}

	clickApproveLinks(t, c)
	// The next sweep carries the decisions out (keep, close now, restore).
	s.advance(time.Hour)

	// The reaper's monthly review, fired now rather than after a month of
	// virtual time.
	if _, ok := sliceIndex(c, "reaper"); ok {
		if err := c.FireTimer("reaper", "monthly-review"); err != nil {
			t.Fatal(err)
		}
		s.settle()
	}
}

func sliceIndex(c *localcloud.Cloud, resource string) (int, bool) {
	for i, f := range c.Project.Functions {
		if f.Resource == resource {
			return i, true
		}
	}
	return 0, false
}

var approveLinkRe = regexp.MustCompile(`https?://[^\s"'<>()\[\]\\]+`)

// approveKey signs the decision links in the scenarios (both functions read
// APPROVE_SIGNING_KEY).
const approveKey = "least-privilege-test-signing-key"

// clickApproveLinks opens the decision links the robots received, when approve
// is deployed; while the guard sends none, it signs a keep, a close and a
// restore link for a revocation the guard made. Each is opened (GET: the
// confirmation page, which must record nothing) and confirmed (POST of its
// form). The first link is opened twice (a replay).
func clickApproveLinks(t *testing.T, c *localcloud.Cloud) {
	var base string
	for _, f := range c.Endpoints().Functions {
		if f.Resource == "approve" && f.HTTPURL != "" {
			base = f.HTTPURL
		}
	}
	if base == "" {
		return
	}
	seen := map[string]bool{}
	var links []string
	for _, r := range c.Endpoints().Robots {
		raw, _ := json.Marshal(c.DingTalk.Messages(r.Name))
		var msgs []any
		_ = json.Unmarshal(raw, &msgs) // undoes the JSON escaping of & in URLs
		for _, l := range approveLinkRe.FindAllString(flatten(msgs), -1) {
			if strings.HasPrefix(l, base) && !seen[l] {
				seen[l] = true
				links = append(links, l)
			}
		}
	}
	if len(links) == 0 {
		t.Logf("no DingTalk message carries a decision link yet: signing links to %s", base)
		ledgerID, group, ruleID := guardRevocation(c)
		now := c.Clock.Now()
		for _, a := range []approve.Action{approve.ActionKeep, approve.ActionClose, approve.ActionRestore} {
			l := approve.Link{Action: a, LedgerID: ledgerID, GroupID: group, RuleID: ruleID, Region: c.Region(),
				Expires: now.Add(approve.DefaultTTL).UTC().Truncate(time.Second), Nonce: approve.NewNonce()}
			if a != approve.ActionClose {
				l.Days = approve.DefaultKeepDays
			}
			if err := l.Validate(); err != nil {
				t.Fatalf("decision link %+v: %v", l, err)
			}
			links = append(links, approve.Sign([]byte(approveKey), base, l))
		}
	}
	links = append(links, links[0])
	hc := &http.Client{Timeout: 30 * time.Second}
	statuses := map[int]int{}
	for _, l := range links {
		before := approveDecisions(t, c)
		status, body, err := approvetest.Click(t.Context(), hc, l, func(_ int, _ string) {
			lctest.Settle(t, c)
			if n := approveDecisions(t, c); n != before {
				t.Errorf("opening decision link %s (GET) recorded %d decisions", l, n-before)
			}
		})
		if err != nil {
			t.Fatalf("open decision link %s: %v", l, err)
		}
		if status >= 500 {
			t.Errorf("decision link %s: %d\n%s", l, status, body)
		}
		statuses[status]++
		lctest.Settle(t, c)
		if n := approveDecisions(t, c); status == http.StatusOK && n != before+1 {
			t.Errorf("confirming decision link %s recorded %d decisions, want 1", l, n-before)
		}
	}
	t.Logf("opened %d decision links (the first twice): HTTP status counts %v", len(links), statuses)
	if statuses[http.StatusOK] == 0 {
		t.Errorf("no decision link was accepted (statuses %v): approve's ledger writes went unmeasured", statuses)
	}
}

// approveDecisions counts the approve function's decision records.
func approveDecisions(t *testing.T, c *localcloud.Cloud) int {
	t.Helper()
	ep := c.Endpoints()
	rows, err := c.SLS.Query(ep.Ledger.Project, ep.Ledger.Logstore, time.Unix(0, 0), c.Clock.Now().Add(24*time.Hour), "kind: decision")
	if err != nil {
		t.Fatalf("read the ledger's decisions: %v", err)
	}
	return len(rows)
}

// guardRevocation returns a ledger id, group and rule the guard revoked.
func guardRevocation(c *localcloud.Cloud) (ledgerID, group, ruleID string) {
	for _, inv := range c.Runtime.Invocations() {
		var r struct {
			Groups  []string `json:"groups"`
			Revoked []string `json:"revoked"`
			Ledger  []string `json:"ledger"`
		}
		if inv.Function != "porthygiene-guard" || json.Unmarshal([]byte(inv.Response), &r) != nil {
			continue
		}
		if len(r.Groups) == 1 && len(r.Revoked) > 0 && len(r.Ledger) > 0 {
			return r.Ledger[0], r.Groups[0], r.Revoked[0]
		}
	}
	return ledger.NewID(c.Clock.Now().Add(-time.Hour)), "sg-web", "sgr-unknown"
}

func flatten(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		}
	}
	walk(v)
	return b.String()
}

func TestRolePolicyMatchesActionsCalled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the end-to-end scenarios")
	}
	fns := roleFunctions(t)
	// Slices of 4 groups: the default world's sweep fans out, so the FC API
	// call (fc:InvokeFunction) is measured too.
	c := lctest.Start(t, localcloud.Options{Env: map[string]string{"APPROVE_SIGNING_KEY": approveKey, "PORTHYGIENE_SWEEP_SLICE": "4"}}, fns...)
	drive(t, c)
	lctest.Settle(t, c)

	// Every trigger of every function ran: an action only an unvisited path
	// calls would otherwise be missed.
	ran := map[string]bool{}
	var failed []string
	for _, inv := range c.Runtime.Invocations() {
		if inv.Initializer {
			continue
		}
		ran[inv.Function+"/"+inv.Trigger] = true
		if inv.Status != "ok" {
			failed = append(failed, fmt.Sprintf("%s/%s: %s %s", inv.Function, inv.Trigger, inv.Status, inv.Error))
		}
	}
	for _, fn := range c.Project.Functions {
		for _, tr := range fn.Triggers {
			key := fn.Name + "/" + tr.Name
			if tr.Type == "http" {
				key = fn.Name + "/http"
			}
			if !ran[key] {
				t.Errorf("trigger %s (%s) of %s never ran: add a scenario to drive() so its API calls are measured", tr.Name, tr.Type, fn.Resource)
			}
		}
	}
	if len(failed) > 0 {
		t.Logf("failed invocations (their calls still count):\n%s", strings.Join(failed, "\n"))
	}

	operator := c.Operator().Identity.UserName
	used := map[string]map[string]bool{}
	for _, r := range roles {
		used[r.name] = map[string]bool{}
	}
	var unmapped, strangers []string
	for _, call := range c.Stats.Snapshot().Calls {
		switch {
		case used[call.Caller] != nil:
		case call.Caller == operator:
			continue // the scenarios' human
		default:
			if call.Service != "dingtalk" {
				strangers = append(strangers, fmt.Sprintf("%s %s by %q (%d)", call.Service, call.Action, call.Caller, call.Count))
			}
			continue
		}
		a, ok, err := ramAction(call)
		if err != nil {
			unmapped = append(unmapped, err.Error())
		}
		if ok {
			used[call.Caller][a] = true
		}
	}
	for _, u := range unmapped {
		t.Error(u)
	}
	if len(strangers) > 0 {
		t.Errorf("calls by neither the roles %v nor the operator %s (unauthenticated, or another role):\n%s", roles, operator, strings.Join(strangers, "\n"))
	}
	t.Logf("%v ran %d invocations", fns, len(c.Runtime.Invocations()))
	for _, r := range roles {
		if !slices.Contains(fns, r.invokes) {
			continue
		}
		t.Logf("role %s called %v", r.name, sortedKeys(used[r.name]))
		granted := loadPolicyFile(t, r.file).actions()
		var missing, unused []string
		for a := range used[r.name] {
			if !granted[a] {
				missing = append(missing, a)
			}
		}
		for a := range granted {
			if !used[r.name][a] {
				unused = append(unused, a)
			}
		}
		sort.Strings(missing)
		sort.Strings(unused)
		if len(missing) > 0 || len(unused) > 0 {
			t.Errorf("%s is not least privilege for what %v called as %s:\n  missing (called, not granted): %v\n  unused (granted, never called): %v\n  called: %v\n  granted: %v",
				r.file, fns, r.name, missing, unused, sortedKeys(used[r.name]), sortedKeys(granted))
		}
	}
}

// fakeAliyun answers like the aliyun CLI from a state file: GetRole/GetPolicy
// say EntityNotExist until the entity was created.
const fakeAliyun = `#!/usr/bin/env bash
dir="$(dirname "$0")"
echo "$2" >> "$dir/calls"
case "$2" in
GetCallerIdentity) echo '{"AccountId": "1234567890123456"}' ;;
GetRole) grep -qx role "$dir/state" 2>/dev/null || { echo "ErrorCode: EntityNotExist.Role"; exit 1; } ;;
GetPolicy) grep -qx policy "$dir/state" 2>/dev/null || { echo "ErrorCode: EntityNotExist.Policy"; exit 1; } ;;
CreateRole) echo role >> "$dir/state" ;;
CreatePolicy) echo policy >> "$dir/state" ;;
AttachPolicyToRole) echo attached >> "$dir/state" ;;
ListPoliciesForRole)
	if grep -qx attached "$dir/state" 2>/dev/null; then
		printf '{\n  "Policies": {"Policy": [{\n    "PolicyName": "porthygiene-fc-role-policy"\n  }]}\n}\n'
	else
		echo '{"Policies": {"Policy": []}}'
	fi ;;
GetUser) echo "ErrorCode: Forbidden.RAM"; exit 1 ;;
esac
`

// A second run updates instead of creating, and attaches only once.
func TestCreateRoleScriptIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	cli := filepath.Join(dir, "aliyun")
	if err := os.WriteFile(cli, []byte(fakeAliyun), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if out, err := runScript(t, map[string]string{"ALIYUN_CLI": cli}); err != nil {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
	}
	calls, err := os.ReadFile(filepath.Join(dir, "calls"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(calls))
	want := []string{
		"GetCallerIdentity", "GetRole", "CreateRole", "GetPolicy", "CreatePolicy", "ListPoliciesForRole", "AttachPolicyToRole",
		"GetCallerIdentity", "GetRole", "UpdateRole", "GetPolicy", "CreatePolicyVersion", "ListPoliciesForRole",
	}
	if !slices.Equal(got, want) {
		t.Errorf("aliyun calls over two runs:\n got %v\nwant %v", got, want)
	}
}

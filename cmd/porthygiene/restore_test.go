package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

// cli runs one porthygiene command and returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), &cliEnv{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, args)
	return code, out.String(), errb.String()
}

func endpointsFileFor(t *testing.T, c *localcloud.Cloud) string {
	t.Helper()
	data, err := json.Marshal(c.Endpoints())
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "endpoints.json")
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func ingress(t *testing.T, cl *ecs.Client, region, group string) []string {
	t.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId, req.SecurityGroupId, req.Direction = region, group, "ingress"
	resp, err := cl.DescribeSecurityGroupAttribute(req)
	require.NoError(t, err)
	var out []string
	for _, p := range resp.Permissions.Permission {
		out = append(out, p.IpProtocol+" "+p.PortRange+" "+p.SourceCidrIp+" "+p.Description)
	}
	return out
}

func TestRestoreBringsTheRuleBackWithAnExemption(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{}, "guard")
	ep := endpointsFileFor(t, c)
	cl := lctest.ECS(t, c)
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = c.Region(), "sg-web"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "3389/3389", SourceCidrIp: "0.0.0.0/0", Priority: "7", Description: "vendor rdp"}}
	_, err := cl.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	lctest.Settle(t, c)
	require.False(t, hasPrefix(ingress(t, cl, c.Region(), "sg-web"), "TCP 3389/3389 0.0.0.0/0"), "the guard revoked it")

	entries := searchedEntries(t, ep, "revocation", 1)
	id := entries[0].ID
	require.Contains(t, entries[0].Summary, "alice")

	// Without an exemption the guard would close it again: refused, nothing changes.
	code, _, errOut := cli(t, "restore", "--endpoints", ep, "--id", id)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "refused")
	require.False(t, hasPrefix(ingress(t, cl, c.Region(), "sg-web"), "TCP 3389/3389 0.0.0.0/0"))

	until := time.Now().Add(30 * 24 * time.Hour).Format("2006-01-02")
	code, out, errOut := cli(t, "restore", "--endpoints", ep, "--id", id, "--exempt-until", until, "--owner", "alice", "--reason", "vendor support window", "--json")
	require.Equal(t, 0, code, errOut)
	var res restoreResult
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.NotEmpty(t, res.NewRuleID)
	lctest.Settle(t, c)
	rules := ingress(t, cl, c.Region(), "sg-web")
	require.True(t, hasPrefix(rules, "TCP 3389/3389 0.0.0.0/0 vendor rdp [porthygiene-exempt owner=alice until="+until), "restored exactly, with the exemption marker: %v", rules)

	// The guard leaves it, also at the next sweep.
	_, err = c.Advance(t.Context(), time.Hour)
	require.NoError(t, err)
	require.True(t, hasPrefix(ingress(t, cl, c.Region(), "sg-web"), "TCP 3389/3389 0.0.0.0/0"))

	code, _, errOut = cli(t, "restore", "--endpoints", ep, "--id", id, "--exempt-until", until, "--owner", "alice", "--reason", "again")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already restored")

	code, out, _ = cli(t, "ledger", "--endpoints", ep, "--kind", "restore")
	require.Equal(t, 0, code)
	require.Contains(t, out, "exempt until "+until)
}

// ruleID is the id of the group's ingress rule on port, "" if none.
func ruleID(t *testing.T, cl *ecs.Client, region, group, port string) string {
	t.Helper()
	req := ecs.CreateDescribeSecurityGroupAttributeRequest()
	req.RegionId, req.SecurityGroupId, req.Direction = region, group, "ingress"
	resp, err := cl.DescribeSecurityGroupAttribute(req)
	require.NoError(t, err)
	id := ""
	for _, p := range resp.Permissions.Permission {
		if p.PortRange == port+"/"+port {
			require.Empty(t, id, "one rule on port %s", port)
			id = p.SecurityGroupRuleId
		}
	}
	return id
}

// searchedEntries waits until `porthygiene ledger` lists n entries of kind
// and returns them: the CLI searches the ledger, and SLS indexes a write
// seconds after it (localcloud's SLSIndexDelay), so an operator who just
// acted sees the record seconds later, as this test does.
func searchedEntries(t *testing.T, ep, kind string, n int) []ledgerEntry {
	t.Helper()
	var entries []ledgerEntry
	require.Eventually(t, func() bool {
		entries = ledgerEntries(t, ep, kind)
		return len(entries) >= n
	}, 15*time.Second, 100*time.Millisecond, "%d %s record(s) never searchable", n, kind)
	require.Len(t, entries, n)
	return entries
}

func ledgerEntries(t *testing.T, ep, kind string) []ledgerEntry {
	t.Helper()
	code, out, errOut := cli(t, "ledger", "--endpoints", ep, "--kind", kind, "--json")
	require.Equal(t, 0, code, errOut)
	var entries []ledgerEntry
	require.NoError(t, json.Unmarshal([]byte(out), &entries))
	return entries
}

// TestRestoreIsHonest is the red team's case: the guard's revoke fails, so
// the rule is still in the group, and the ledger holds its backup but no
// revocation. A restore of that backup restores nothing (ECS ignores a duplicate authorize): it says so, exits 1 and
// records nothing, so the real restore, once the rule is gone, works. A
// second restore is "already restored"; after the restored rule is revoked
// again, the revocation restores again.
func TestRestoreIsHonest(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{}, "guard")
	ep := endpointsFileFor(t, c)
	cl := lctest.ECS(t, c)
	c.SetFaults(faults.Config{Actions: []faults.Action{{Service: "ecs", Action: "RevokeSecurityGroup", ServerErrorRatio: 1}}})
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = c.Region(), "sg-web"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "3389/3389", SourceCidrIp: "0.0.0.0/0", Priority: "7", Description: "vendor rdp"}}
	_, err := cl.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	// Backed up, the revoke refused (and retried by FC, refused again):
	// the rule is still there.
	var id string
	require.Eventually(t, func() bool {
		code, out, _ := cli(t, "ledger", "--endpoints", ep, "--kind", "backup", "--json")
		var revs []ledgerEntry
		if code != 0 || json.Unmarshal([]byte(out), &revs) != nil || len(revs) == 0 {
			return false
		}
		id = revs[0].ID
		return true
	}, 20*time.Second, 100*time.Millisecond, "the guard backs the rule up before its revoke")
	still := ruleID(t, cl, c.Region(), "sg-web", "3389")
	require.NotEmpty(t, still, "the revoke failed: the rule is still there")
	require.Empty(t, ledgerEntries(t, ep, "revocation"), "no revocation is claimed while the revoke fails")
	until := time.Now().Add(30 * 24 * time.Hour).Format("2006-01-02")
	exempt := []string{"--exempt-until", until, "--owner", "alice", "--reason", "vendor support window"}
	code, out, errOut := cli(t, append([]string{"restore", "--endpoints", ep, "--id", id}, exempt...)...)
	require.Equal(t, 1, code, "nothing was restored: %s", out)
	require.Empty(t, out, "no \"restored\"")
	require.Contains(t, errOut, "the rule is already in the group ("+still+"): nothing was restored")
	require.Contains(t, errOut, "to exempt it, add [porthygiene-exempt owner=alice")
	require.Empty(t, ledgerEntries(t, ep, "restore"), "nothing recorded")
	require.Equal(t, still, ruleID(t, cl, c.Region(), "sg-web", "3389"), "the rule is untouched")

	// ECS recovers: FC's retry of the guard's invocation closes the rule;
	// now the restore is real.
	c.SetFaults(faults.Config{})
	lctest.Settle(t, c)
	require.Empty(t, ruleID(t, cl, c.Region(), "sg-web", "3389"), "the guard revoked it")
	code, out, errOut = cli(t, append([]string{"restore", "--endpoints", ep, "--id", id, "--json"}, exempt...)...)
	require.Equal(t, 0, code, errOut)
	var first restoreResult
	require.NoError(t, json.Unmarshal([]byte(out), &first))
	require.Equal(t, first.NewRuleID, ruleID(t, cl, c.Region(), "sg-web", "3389"))
	require.NotEqual(t, still, first.NewRuleID)
	restores := searchedEntries(t, ep, "restore", 1)
	require.Contains(t, restores[0].Summary, first.NewRuleID)

	code, _, errOut = cli(t, append([]string{"restore", "--endpoints", ep, "--id", id}, exempt...)...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "already restored as "+first.NewRuleID)
	require.Len(t, ledgerEntries(t, ep, "restore"), 1)

	// Someone revokes the restored rule: the revocation is still the backup
	// of the rule, and restores again.
	rev := ecs.CreateRevokeSecurityGroupRequest()
	rev.RegionId, rev.SecurityGroupId, rev.SecurityGroupRuleId = c.Region(), "sg-web", &[]string{first.NewRuleID}
	_, err = cl.RevokeSecurityGroup(rev)
	require.NoError(t, err)
	lctest.Settle(t, c)
	require.Empty(t, ruleID(t, cl, c.Region(), "sg-web", "3389"))
	code, out, errOut = cli(t, append([]string{"restore", "--endpoints", ep, "--id", id}, exempt...)...)
	require.Equal(t, 0, code, errOut)
	again := ruleID(t, cl, c.Region(), "sg-web", "3389")
	require.NotEmpty(t, again)
	require.NotEqual(t, first.NewRuleID, again)
	require.Contains(t, out, "new rule id: "+again)
	searchedEntries(t, ep, "restore", 2)
}

func hasPrefix(list []string, p string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func TestRestoreAndLedgerBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"restore"}, "--id is required"},
		{[]string{"restore", "--id", "nope"}, "--id"},
		{[]string{"restore", "--id", "L01M8A19C5GRGVF0X8A", "--exempt-until", "tomorrow", "--owner", "a", "--reason", "b"}, "--exempt-until"},
		{[]string{"restore", "--id", "L01M8A19C5GRGVF0X8A", "--bogus"}, "bogus"},
		{[]string{"restore", "--id", "L01M8A19C5GRGVF0X8A"}, "no credentials"},
		{[]string{"ledger", "--since", "yesterday-ish"}, "--since"},
		{[]string{"ledger", "extra"}, "unexpected argument"},
		{[]string{"local", "--config", "/nonexistent/s.yaml"}, "--config"},
		{[]string{"nosuchcommand"}, "unknown command"},
	}
	for _, tc := range cases {
		code, _, errOut := cli(t, tc.args...)
		require.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		require.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}

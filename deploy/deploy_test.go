package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/deploy"
)

var vars = deploy.Vars{
	AccountID: "1234567890123456", Region: "cn-shanghai",
	LedgerProject: "acme-ledger", LedgerLogstore: "ledger",
	TrailProject: "acme-audit", TrailLogstore: "actiontrail_acme",
}

// The CLI checks the role against what the script creates: same document.
func TestPolicyIsWhatTheScriptRenders(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	cmd := exec.Command(bash, filepath.Join("..", deploy.RoleScript), "--print-policy")
	cmd.Env = append(os.Environ(), "ACCOUNT_ID="+vars.AccountID, "PORTHYGIENE_REGION="+vars.Region,
		"LEDGER_PROJECT="+vars.LedgerProject, "LEDGER_LOGSTORE="+vars.LedgerLogstore,
		"ACTIONTRAIL_PROJECT="+vars.TrailProject, "ACTIONTRAIL_LOGSTORE="+vars.TrailLogstore)
	out, err := cmd.Output()
	require.NoError(t, err)
	doc, err := vars.Policy()
	require.NoError(t, err)
	require.Equal(t, strings.TrimRight(string(out), "\n"), doc)
	require.Contains(t, doc, "acs:log:cn-shanghai:1234567890123456:project/acme-ledger/logstore/ledger")
	require.NotContains(t, doc, "${")
}

func TestVarsAreCheckedAsTheScriptChecksThem(t *testing.T) {
	for _, tc := range []struct {
		edit func(*deploy.Vars)
		want string
	}{
		{func(v *deploy.Vars) { v.AccountID = "" }, "ACCOUNT_ID"},
		{func(v *deploy.Vars) { v.AccountID = "12ab" }, "ACCOUNT_ID"},
		{func(v *deploy.Vars) { v.Region = "Hangzhou" }, "PORTHYGIENE_REGION"},
		{func(v *deploy.Vars) { v.LedgerProject = `x"y` }, "LEDGER_PROJECT"},
		{func(v *deploy.Vars) { v.TrailLogstore = "a/b" }, "ACTIONTRAIL_LOGSTORE"},
	} {
		v := vars
		tc.edit(&v)
		_, err := v.Policy()
		require.ErrorIs(t, err, deploy.ErrInvalid, tc.want)
		require.ErrorContains(t, err, tc.want)
	}
	require.True(t, deploy.ValidRole(deploy.DefaultRole))
	require.False(t, deploy.ValidRole("Porthygiene-Role"), "fc3 lowercases role names")
}

func TestGrantsCompareWhatIsGrantedNotHowItIsWritten(t *testing.T) {
	a := `{"Version":"1","Statement":[{"Effect":"Allow","Action":["ecs:DescribeSecurityGroups","log:GetLogStoreLogs"],"Resource":"*"}]}`
	b := `{"Statement":[{"Effect":"Allow","Action":"log:getlogstorelogs","Resource":["*"]},
	                    {"Effect":"Allow","Action":"ecs:DescribeSecurityGroups","Resource":"*"},
	                    {"Effect":"Allow","Action":"ecs:DescribeSecurityGroups","Resource":"*"}]}`
	ga, err := deploy.Grants(a)
	require.NoError(t, err)
	gb, err := deploy.Grants(b)
	require.NoError(t, err)
	require.Equal(t, ga, gb)
	missing, extra := deploy.Diff(ga, gb)
	require.Empty(t, missing)
	require.Empty(t, extra)

	c := `{"Statement":[{"Effect":"Allow","Action":"ecs:DescribeSecurityGroups","Resource":"*"},
	                    {"Effect":"Allow","Action":"ecs:RevokeSecurityGroup","Resource":"*"},
	                    {"Effect":"Allow","Action":"log:GetLogStoreLogs","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}}]}`
	gc, err := deploy.Grants(c)
	require.NoError(t, err)
	missing, extra = deploy.Diff(ga, gc)
	require.Equal(t, []string{"log:getlogstorelogs on *"}, grantStrings(missing), "a condition narrows the grant: not the same")
	require.Len(t, extra, 2)
	require.Contains(t, grantStrings(extra), "ecs:revokesecuritygroup on *")

	_, err = deploy.Grants(`{"Statement":[{"Effect":"Allow","Action":7}]}`)
	require.Error(t, err)
	_, err = deploy.Grants(`not json`)
	require.Error(t, err)
}

func grantStrings(gs []deploy.Grant) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.String())
	}
	return out
}

func TestTrust(t *testing.T) {
	ok, err := deploy.Trusts(deploy.Trust(), deploy.TrustedService)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = deploy.Trusts(`{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["ecs.aliyuncs.com"]}}]}`, deploy.TrustedService)
	require.NoError(t, err)
	require.False(t, ok, "another service")
	ok, err = deploy.Trusts(`{"Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Principal":{"Service":"fc.aliyuncs.com"}}]}`, deploy.TrustedService)
	require.NoError(t, err)
	require.False(t, ok, "a deny")
	_, err = deploy.Trusts(`{`, deploy.TrustedService)
	require.Error(t, err)
}

func TestPolicyGrantsTheDocumentedActions(t *testing.T) {
	doc, err := vars.Policy()
	require.NoError(t, err)
	gs, err := deploy.Grants(doc)
	require.NoError(t, err)
	s := strings.Join(grantStrings(gs), "\n")
	require.Contains(t, s, "fc:invokefunction on acs:fc:cn-shanghai:1234567890123456:functions/porthygiene-guard")
	require.Contains(t, s, "log:getcursorordata on acs:log:cn-shanghai:1234567890123456:project/acme-audit/logstore/actiontrail_acme")
}

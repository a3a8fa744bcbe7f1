package accountapi_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/ram"
	"github.com/porthygiene/porthygiene/shared/accountapi"
)

const trust = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["fc.aliyuncs.com"]}}]}`

func world(t *testing.T) *localcloud.Cloud {
	t.Helper()
	c, err := localcloud.Start(localcloud.Options{Seed: &localcloud.Seed{
		Roles: []ram.Role{{RoleName: "fn-role", AssumeRolePolicyDocument: json.RawMessage(trust), Policies: []ram.Policy{
			{PolicyName: "fn-role-policy", PolicyDocument: json.RawMessage(`{"Version":"1","Statement":[]}`)},
		}}},
		Trails: []localcloud.SeedTrail{{Name: "main", Project: "acme-audit"}, {Name: "quiet", Project: "elsewhere", Stopped: true}},
	}})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func client(t *testing.T, c *localcloud.Cloud, cred auth.Credential) *accountapi.Client {
	t.Helper()
	cl, err := accountapi.New(accountapi.Config{Region: c.Region(), RAMEndpoint: c.URL(), TrailEndpoint: c.URL(),
		Credentials: accountapi.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret, SecurityToken: cred.SecurityToken},
		MinBackoff:  time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 3})
	require.NoError(t, err)
	return cl
}

func TestReadsRolesPoliciesAndTrails(t *testing.T) {
	c := world(t)
	cl := client(t, c, c.Operator())
	ctx := t.Context()

	r, err := cl.Role(ctx, "fn-role")
	require.NoError(t, err)
	require.Equal(t, auth.AccountID, r.AccountID, "read from the ARN")
	require.JSONEq(t, trust, r.TrustPolicy)
	_, err = cl.Role(ctx, "nobody")
	require.ErrorIs(t, err, accountapi.ErrNotFound)
	require.ErrorContains(t, err, "EntityNotExist.Role")

	ps, err := cl.RolePolicies(ctx, "fn-role")
	require.NoError(t, err)
	require.Equal(t, []accountapi.AttachedPolicy{{Name: "fn-role-policy", Type: "Custom"}}, ps)
	doc, err := cl.PolicyDocument(ctx, "fn-role-policy", "Custom")
	require.NoError(t, err)
	require.JSONEq(t, `{"Version":"1","Statement":[]}`, doc)
	_, err = cl.PolicyDocument(ctx, "nope", "Custom")
	require.ErrorIs(t, err, accountapi.ErrNotFound)
	_, err = cl.PolicyDocument(ctx, "fn-role-policy", "Bogus")
	require.ErrorIs(t, err, accountapi.ErrInvalid)

	tr, err := cl.Trail(ctx, "main")
	require.NoError(t, err)
	require.Equal(t, accountapi.Trail{Name: "main", HomeRegion: "cn-hangzhou", SLSProject: "acme-audit", SLSRegion: "cn-hangzhou", Status: "Enable", Logging: true}, tr)
	tr, err = cl.Trail(ctx, "quiet")
	require.NoError(t, err)
	require.False(t, tr.Logging)
	require.Equal(t, "elsewhere", tr.SLSProject)
	_, err = cl.Trail(ctx, "absent")
	require.ErrorIs(t, err, accountapi.ErrNotFound)
}

func TestRefusalsAreClassifiedAndCarryNoSecret(t *testing.T) {
	c := world(t)
	ctx := t.Context()
	bad := c.Operator()
	bad.AccessKeySecret = "wrong-secret-wrong-secret"
	_, err := client(t, c, bad).Role(ctx, "fn-role")
	require.ErrorIs(t, err, accountapi.ErrForbidden)
	require.ErrorContains(t, err, "SignatureDoesNotMatch")
	require.NotContains(t, err.Error(), bad.AccessKeySecret)

	sts := c.Auth.IssueSTS("ops", "setup", c.Clock.Now().Add(-2*time.Hour), time.Hour)
	_, err = client(t, c, sts).Trail(ctx, "main")
	require.ErrorIs(t, err, accountapi.ErrForbidden, "an expired token")
	require.NotContains(t, err.Error(), sts.SecurityToken)
	require.NotContains(t, err.Error(), sts.AccessKeySecret)

	c.Faults.Replace(faults.Config{Actions: []faults.Action{{Service: "ram", Action: "GetRole", ThrottleRatio: 1}}})
	_, err = client(t, c, c.Operator()).Role(ctx, "fn-role")
	require.ErrorIs(t, err, accountapi.ErrThrottled)
	require.Equal(t, 3, c.Stats.Snapshot().Count("ram", "GetRole", c.Operator().Identity.UserName), "retried up to MaxAttempts")

	c.Faults.Replace(faults.Config{})
	cl, err := accountapi.New(accountapi.Config{Region: c.Region(), RAMEndpoint: "http://127.0.0.1:1", TrailEndpoint: c.URL(),
		Credentials: accountapi.Credentials{AccessKeyID: "LTAIx", AccessKeySecret: "s3cr3t-s3cr3t"}, MaxAttempts: 1})
	require.NoError(t, err)
	_, err = cl.Role(ctx, "fn-role")
	require.ErrorIs(t, err, accountapi.ErrServer, "unreachable")
	require.False(t, strings.Contains(err.Error(), "Signature="), "no signed query in the error: %v", err)
}

func TestConfigIsChecked(t *testing.T) {
	for _, cfg := range []accountapi.Config{
		{Region: "Hangzhou", Credentials: accountapi.Credentials{AccessKeyID: "a", AccessKeySecret: "b"}},
		{Region: "cn-hangzhou"},
		{Region: "cn-hangzhou", Credentials: accountapi.Credentials{AccessKeyID: "a", AccessKeySecret: "b"}, RAMEndpoint: "ftp://x"},
		{Region: "cn-hangzhou", Credentials: accountapi.Credentials{AccessKeyID: "a", AccessKeySecret: "b"}, TrailEndpoint: "http://x/path"},
	} {
		_, err := accountapi.New(cfg)
		require.ErrorIs(t, err, accountapi.ErrInvalid, "%+v", cfg)
	}
}

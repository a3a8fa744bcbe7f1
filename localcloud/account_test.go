package localcloud_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	slssdk "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/auth"
	lcram "github.com/porthygiene/porthygiene/localcloud/ram"
)

const trustDoc = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["fc.aliyuncs.com"]}}]}`

func accountWorld(t *testing.T) *localcloud.Cloud {
	t.Helper()
	seed := localcloud.DefaultSeed()
	seed.Roles = []lcram.Role{{
		RoleName: "porthygiene-fc-role", Description: "functions",
		AssumeRolePolicyDocument: json.RawMessage(trustDoc),
		Policies: []lcram.Policy{
			{PolicyName: "porthygiene-fc-role-policy", PolicyDocument: json.RawMessage(`{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:DescribeSecurityGroups", "Resource": "*"}]}`)},
			{PolicyName: "AliyunECSReadOnlyAccess", PolicyType: "System", PolicyDocument: json.RawMessage(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}]}`)},
		},
	}}
	seed.Trails = []localcloud.SeedTrail{{Name: "main", Project: "acme-audit"}, {Name: "old", Project: "acme-audit", Stopped: true}}
	c, err := localcloud.Start(localcloud.Options{Seed: seed})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func ramClient(t *testing.T, c *localcloud.Cloud, cred auth.Credential) *ram.Client {
	t.Helper()
	cl, err := ram.NewClientWithOptions(c.Region(), sdk.NewConfig(), credentials.NewAccessKeyCredential(cred.AccessKeyID, cred.AccessKeySecret))
	require.NoError(t, err)
	cl.Domain = c.Addr()
	return cl
}

func trailClient(t *testing.T, c *localcloud.Cloud) *actiontrail.Client {
	t.Helper()
	op := c.Operator()
	cl, err := actiontrail.NewClientWithOptions(c.Region(), sdk.NewConfig(), credentials.NewAccessKeyCredential(op.AccessKeyID, op.AccessKeySecret))
	require.NoError(t, err)
	cl.Domain = c.Addr()
	return cl
}

func serverCode(t *testing.T, err error) (string, int) {
	t.Helper()
	var se *sdkerrors.ServerError
	require.True(t, errors.As(err, &se), "want a server error, got %v", err)
	return se.ErrorCode(), se.HttpStatus()
}

func TestRAMServesTheSeedsRoles(t *testing.T) {
	c := accountWorld(t)
	cl := ramClient(t, c, c.Operator())

	req := ram.CreateGetRoleRequest()
	req.RoleName = "Porthygiene-FC-Role" // RAM role names are case-insensitive
	resp, err := cl.GetRole(req)
	require.NoError(t, err)
	require.Equal(t, "porthygiene-fc-role", resp.Role.RoleName)
	require.Equal(t, "acs:ram::"+auth.AccountID+":role/porthygiene-fc-role", resp.Role.Arn)
	require.JSONEq(t, trustDoc, resp.Role.AssumeRolePolicyDocument)
	require.NotEmpty(t, resp.RequestId)

	req = ram.CreateGetRoleRequest()
	req.RoleName = "nobody"
	_, err = cl.GetRole(req)
	code, status := serverCode(t, err)
	require.Equal(t, "EntityNotExist.Role", code)
	require.Equal(t, 404, status)

	lreq := ram.CreateListPoliciesForRoleRequest()
	lreq.RoleName = "porthygiene-fc-role"
	list, err := cl.ListPoliciesForRole(lreq)
	require.NoError(t, err)
	require.Len(t, list.Policies.Policy, 2)
	require.Equal(t, "porthygiene-fc-role-policy", list.Policies.Policy[0].PolicyName)
	require.Equal(t, "Custom", list.Policies.Policy[0].PolicyType, "the default type")
	require.Equal(t, "System", list.Policies.Policy[1].PolicyType)

	preq := ram.CreateGetPolicyRequest()
	preq.PolicyName, preq.PolicyType = "porthygiene-fc-role-policy", "Custom"
	pol, err := cl.GetPolicy(preq)
	require.NoError(t, err)
	require.True(t, pol.DefaultPolicyVersion.IsDefaultVersion)
	require.JSONEq(t, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:DescribeSecurityGroups","Resource":"*"}]}`, pol.DefaultPolicyVersion.PolicyDocument)
	require.Equal(t, 1, pol.Policy.AttachmentCount)

	preq = ram.CreateGetPolicyRequest()
	preq.PolicyName, preq.PolicyType = "porthygiene-fc-role-policy", "System"
	_, err = cl.GetPolicy(preq)
	code, _ = serverCode(t, err)
	require.Equal(t, "EntityNotExist.Policy", code, "the type is part of the policy's identity")

	bad := c.Operator()
	bad.AccessKeySecret = "not-the-secret"
	_, err = ramClient(t, c, bad).GetRole(ram.CreateGetRoleRequest())
	code, _ = serverCode(t, err)
	require.Equal(t, "SignatureDoesNotMatch", code)

	st := c.Stats.Snapshot()
	require.Equal(t, 3, st.Count("ram", "GetRole", ""))
	require.Equal(t, 2, st.Count("ram", "GetRole", c.Operator().Identity.UserName), "counted per caller; the refused call has none")
}

func TestActionTrailServesTheTrailsAndOnlyLoggingOnesDeliver(t *testing.T) {
	c := accountWorld(t)
	cl := trailClient(t, c)

	resp, err := cl.DescribeTrails(actiontrail.CreateDescribeTrailsRequest())
	require.NoError(t, err)
	require.Len(t, resp.TrailList, 2)
	req := actiontrail.CreateDescribeTrailsRequest()
	req.NameList = "main"
	resp, err = cl.DescribeTrails(req)
	require.NoError(t, err)
	require.Len(t, resp.TrailList, 1)
	tr := resp.TrailList[0]
	require.Equal(t, "acs:log:cn-hangzhou:"+auth.AccountID+":project/acme-audit", tr.SlsProjectArn)
	require.Equal(t, "Enable", tr.Status)

	for _, tc := range []struct {
		name    string
		logging bool
	}{{"main", true}, {"old", false}} {
		sreq := actiontrail.CreateGetTrailStatusRequest()
		sreq.Name = tc.name
		st, err := cl.GetTrailStatus(sreq)
		require.NoError(t, err)
		require.Equal(t, tc.logging, st.IsLogging, tc.name)
	}
	sreq := actiontrail.CreateGetTrailStatusRequest()
	sreq.Name = "nope"
	_, err = cl.GetTrailStatus(sreq)
	code, status := serverCode(t, err)
	require.Equal(t, "TrailNotFoundException", code)
	require.Equal(t, 404, status)

	// An ECS write reaches the logging trail's logstore only.
	op := c.Operator()
	ec, err := ecs.NewClientWithOptions(c.Region(), sdk.NewConfig(), credentials.NewAccessKeyCredential(op.AccessKeyID, op.AccessKeySecret))
	require.NoError(t, err)
	ec.Domain = c.Addr()
	creq := ecs.CreateCreateSecurityGroupRequest()
	creq.RegionId, creq.VpcId, creq.SecurityGroupName = c.Region(), "vpc-demo", "audit-me"
	_, err = ec.CreateSecurityGroup(creq)
	require.NoError(t, err)
	sl := slsClient(t, c)
	now := c.Clock.Now()
	count := func(logstore string) int {
		r, err := sl.GetLogsV3("acme-audit", logstore, &slssdk.GetLogRequest{From: now.Add(-time.Hour).Unix(), To: now.Add(time.Hour).Unix(), Query: "*"})
		require.NoError(t, err, "ActionTrail creates %s with an index", logstore)
		return len(r.Logs)
	}
	// SLS indexes a delivered event seconds later (SLSIndexDelay).
	require.Eventually(t, func() bool { return count("actiontrail_main") == 1 }, 15*time.Second, 100*time.Millisecond)
	require.Equal(t, 0, count("actiontrail_old"), "a stopped trail delivers nothing")
}

func TestSeedRolesAreChecked(t *testing.T) {
	for _, bad := range []lcram.Role{
		{RoleName: "has space", AssumeRolePolicyDocument: json.RawMessage(trustDoc)},
		{RoleName: "r", AssumeRolePolicyDocument: json.RawMessage(`"not an object"`)},
		{RoleName: "r", AssumeRolePolicyDocument: json.RawMessage(trustDoc), Policies: []lcram.Policy{{PolicyName: "p", PolicyType: "Managed", PolicyDocument: json.RawMessage(`{}`)}}},
	} {
		seed := &localcloud.Seed{Roles: []lcram.Role{bad}}
		_, err := localcloud.Start(localcloud.Options{Seed: seed})
		require.Error(t, err, "%+v", bad)
	}
	_, err := localcloud.ParseSeed([]byte(`{"Trails":[{"Name":"x","Project":"p","Bogus":1}]}`))
	require.Error(t, err, "strict")
}

package ecs_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/actiontrail"
	"github.com/porthygiene/porthygiene/localcloud/faults"
)

// contractEnv is what the suite needs from the account under test. Optional
// resources left empty skip the cases that need them.
type contractEnv struct {
	Region string
	VpcID  string
	// InstanceID: an instance in VpcID whose primary ENI is in exactly one group.
	InstanceID string
	// SecondaryENIID: a secondary ENI in VpcID.
	SecondaryENIID string
	// PrefixListID: an IPv4 prefix list with at least one entry.
	PrefixListID string
	// BadSecret returns a client with a known AccessKeyId and a wrong secret.
	BadSecret func(t *testing.T) *ecs.Client
	// UnknownKey returns a client with an AccessKeyId the account does not know.
	UnknownKey func(t *testing.T) *ecs.Client
	// STS returns a client with STS credentials (optional).
	STS func(t *testing.T) *ecs.Client
	// emu is the emulator under test; nil against a real account. Cases that
	// inspect the emulator (ActionTrail, stats, faults, raw wire) need it.
	emu *emulator
}

func serverError(t *testing.T, err error) *sdkerrors.ServerError {
	t.Helper()
	require.Error(t, err)
	var se *sdkerrors.ServerError
	require.ErrorAs(t, err, &se, "want an SDK ServerError, got %v", err)
	return se
}

func requireCode(t *testing.T, err error, status int, code string) *sdkerrors.ServerError {
	t.Helper()
	se := serverError(t, err)
	require.Equal(t, code, se.ErrorCode(), "message: %s", se.Message())
	if status != 0 {
		require.Equal(t, status, se.HttpStatus(), "code %s", code)
	}
	return se
}

func randSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var ruleIDPattern = regexp.MustCompile(`^sgr-[0-9a-z]+$`)

// suite holds the per-run helpers around one client.
type suite struct {
	t   *testing.T
	c   *ecs.Client
	env contractEnv
}

func (s suite) newGroup(t *testing.T, typ string, tags ...ecs.CreateSecurityGroupTag) string {
	t.Helper()
	req := ecs.CreateCreateSecurityGroupRequest()
	req.RegionId, req.VpcId = s.env.Region, s.env.VpcID
	req.SecurityGroupName = "porthygiene-contract-" + randSuffix()
	req.Description = "porthygiene contract test"
	req.SecurityGroupType = typ
	if len(tags) > 0 {
		req.Tag = &tags
	}
	resp, err := s.c.CreateSecurityGroup(req)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(resp.SecurityGroupId, "sg-"), resp.SecurityGroupId)
	id := resp.SecurityGroupId
	t.Cleanup(func() {
		d := ecs.CreateDeleteSecurityGroupRequest()
		d.RegionId, d.SecurityGroupId = s.env.Region, id
		_, _ = s.c.DeleteSecurityGroup(d)
	})
	return id
}

func (s suite) rules(t *testing.T, sg, direction string) []ecs.Permission {
	t.Helper()
	var out []ecs.Permission
	token := ""
	for {
		req := ecs.CreateDescribeSecurityGroupAttributeRequest()
		req.RegionId, req.SecurityGroupId, req.Direction, req.NextToken = s.env.Region, sg, direction, token
		req.MaxResults = requests.NewInteger(1000)
		resp, err := s.c.DescribeSecurityGroupAttribute(req)
		require.NoError(t, err)
		out = append(out, resp.Permissions.Permission...)
		if token = resp.NextToken; token == "" {
			return out
		}
	}
}

func ingress(perms ...ecs.AuthorizeSecurityGroupPermissions) *ecs.AuthorizeSecurityGroupRequest {
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.Permissions = &perms
	return req
}

func (s suite) authorize(sg string, req *ecs.AuthorizeSecurityGroupRequest) (*ecs.AuthorizeSecurityGroupResponse, error) {
	req.RegionId, req.SecurityGroupId = s.env.Region, sg
	return s.c.AuthorizeSecurityGroup(req)
}

func tcpFrom(port int, cidr string) ecs.AuthorizeSecurityGroupPermissions {
	return ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "tcp", PortRange: fmt.Sprintf("%d/%d", port, port), SourceCidrIp: cidr}
}

func ruleIDs(ps []ecs.Permission) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.SecurityGroupRuleId)
	}
	return out
}

// runContract drives one ECS implementation through the behaviours porthygiene
// relies on. Every case uses only the unmodified SDK client, except those that
// inspect the emulator (skipped against a real account).
func runContract(t *testing.T, newClient func(t *testing.T) *ecs.Client, env contractEnv) {
	s := suite{t: t, c: newClient(t), env: env}
	emuOnly := func(t *testing.T) *emulator {
		t.Helper()
		if env.emu == nil {
			t.Skip("emulator-only case: inspects localcloud state")
		}
		return env.emu
	}

	t.Run("CreateDescribeDeleteGroupWithTags", func(t *testing.T) {
		run := randSuffix()
		sg := s.newGroup(t, "", ecs.CreateSecurityGroupTag{Key: "contract", Value: run})
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = env.Region
		req.SecurityGroupIds = `["` + sg + `"]`
		resp, err := s.c.DescribeSecurityGroups(req)
		require.NoError(t, err)
		require.Len(t, resp.SecurityGroups.SecurityGroup, 1)
		g := resp.SecurityGroups.SecurityGroup[0]
		require.Equal(t, sg, g.SecurityGroupId)
		require.Equal(t, env.VpcID, g.VpcId)
		require.Equal(t, "normal", g.SecurityGroupType)
		require.NotEmpty(t, g.CreationTime)
		require.Contains(t, g.Tags.Tag, ecs.Tag{Key: "contract", Value: run, TagKey: "contract", TagValue: run})

		// the comma-separated form of SecurityGroupIds is accepted too
		req = ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId, req.SecurityGroupIds = env.Region, sg
		resp, err = s.c.DescribeSecurityGroups(req)
		require.NoError(t, err)
		require.Len(t, resp.SecurityGroups.SecurityGroup, 1)

		del := ecs.CreateDeleteSecurityGroupRequest()
		del.RegionId, del.SecurityGroupId = env.Region, sg
		_, err = s.c.DeleteSecurityGroup(del)
		require.NoError(t, err)
		attr := ecs.CreateDescribeSecurityGroupAttributeRequest()
		attr.RegionId, attr.SecurityGroupId = env.Region, sg
		_, err = s.c.DescribeSecurityGroupAttribute(attr)
		requireCode(t, err, 404, "InvalidSecurityGroupId.NotFound")
	})

	t.Run("WrongSecretIsSignatureDoesNotMatch", func(t *testing.T) {
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = env.Region
		_, err := env.BadSecret(t).DescribeSecurityGroups(req)
		se := requireCode(t, err, 400, "SignatureDoesNotMatch")
		require.Contains(t, se.Message(), "server string to sign is:")
		// The SDK compares its string-to-sign with ours: equal means only the secret differs.
		require.Contains(t, se.Recommend(), "InvalidAccessKeySecret")
	})

	t.Run("UnknownKeyIsInvalidAccessKeyIdNotFound", func(t *testing.T) {
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = env.Region
		_, err := env.UnknownKey(t).DescribeSecurityGroups(req)
		requireCode(t, err, 0, "InvalidAccessKeyId.NotFound")
	})

	t.Run("STSCredentialsAccepted", func(t *testing.T) {
		if env.STS == nil {
			t.Skip("no STS credentials configured")
		}
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = env.Region
		_, err := env.STS(t).DescribeSecurityGroups(req)
		require.NoError(t, err)
	})

	t.Run("AuthorizeThenDescribeCapitalised", func(t *testing.T) {
		sg := s.newGroup(t, "")
		resp, err := s.authorize(sg, ingress(ecs.AuthorizeSecurityGroupPermissions{
			IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "192.0.2.0/24", Policy: "accept", Priority: "7",
			Description: "ssh * ~ é",
		}, ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "udp", PortRange: "53/53", SourceCidrIp: "10.0.0.0/8", Policy: "drop"},
			ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "all", SourceCidrIp: "198.51.100.0/24"}))
		require.NoError(t, err)
		require.NotEmpty(t, resp.RequestId)
		got := s.rules(t, sg, "ingress")
		require.Len(t, got, 3)
		byPort := map[string]ecs.Permission{}
		for _, p := range got {
			require.Regexp(t, ruleIDPattern, p.SecurityGroupRuleId)
			require.Equal(t, "ingress", p.Direction)
			require.Equal(t, "intranet", p.NicType)
			require.NotEmpty(t, p.CreateTime)
			byPort[p.PortRange] = p
		}
		ssh := byPort["22/22"]
		require.Equal(t, "TCP", ssh.IpProtocol)
		require.Equal(t, "Accept", ssh.Policy)
		require.Equal(t, "7", ssh.Priority)
		require.Equal(t, "192.0.2.0/24", ssh.SourceCidrIp)
		require.Equal(t, "ssh * ~ é", ssh.Description)
		dns := byPort["53/53"]
		require.Equal(t, "UDP", dns.IpProtocol)
		require.Equal(t, "Drop", dns.Policy)
		require.Equal(t, "1", dns.Priority, "priority defaults to 1")
		all := byPort["-1/-1"]
		require.Equal(t, "ALL", all.IpProtocol)
		require.Equal(t, "Accept", all.Policy, "policy defaults to accept")
		if e := env.emu; e != nil {
			for _, p := range got {
				require.Regexp(t, `^sgr-[0-9a-z]{20}$`, p.SecurityGroupRuleId)
			}
			require.Equal(t, e.clock.Now().Format(time.RFC3339), ssh.CreateTime)
		}
	})

	t.Run("DuplicateAuthorizeAddsNothing", func(t *testing.T) {
		sg := s.newGroup(t, "")
		_, err := s.authorize(sg, ingress(tcpFrom(22, "192.0.2.0/24")))
		require.NoError(t, err)
		before := s.rules(t, sg, "all")
		_, err = s.authorize(sg, ingress(tcpFrom(22, "192.0.2.0/24")))
		require.NoError(t, err, "a duplicate succeeds")
		// same rule spelled differently (case, explicit defaults) is still a duplicate
		p := tcpFrom(22, "192.0.2.0/24")
		p.IpProtocol, p.Policy, p.Priority, p.Description = "TCP", "Accept", "1", "other description"
		_, err = s.authorize(sg, ingress(p))
		require.NoError(t, err)
		after := s.rules(t, sg, "all")
		require.Equal(t, ruleIDs(before), ruleIDs(after))
		// ignored entirely: the rule keeps its description (a restore that
		// meant to add an exemption marker this way added nothing)
		require.Equal(t, before[0].Description, after[0].Description)
		require.Equal(t, "", after[0].Description)
		require.Equal(t, before[0].CreateTime, after[0].CreateTime)
		// a different priority is a different rule
		p.Priority = "2"
		_, err = s.authorize(sg, ingress(p))
		require.NoError(t, err)
		require.Len(t, s.rules(t, sg, "all"), 2)
	})

	t.Run("LegacyFlatFieldsAndMixingRefused", func(t *testing.T) {
		sg := s.newGroup(t, "")
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.IpProtocol, req.PortRange, req.SourceCidrIp, req.Policy, req.Priority = "TCP", "80/80", "203.0.113.0/24", "accept", "3"
		_, err := s.authorize(sg, req)
		require.NoError(t, err)
		got := s.rules(t, sg, "ingress")
		require.Len(t, got, 1)
		require.Equal(t, "80/80", got[0].PortRange)
		require.Equal(t, "3", got[0].Priority)

		mixed := ingress(tcpFrom(81, "203.0.113.0/24"))
		mixed.IpProtocol, mixed.PortRange, mixed.SourceCidrIp = "TCP", "82/82", "203.0.113.0/24"
		_, err = s.authorize(sg, mixed)
		serverError(t, err)
		if env.emu != nil {
			requireCode(t, err, 400, "InvalidParam.Permissions")
		}
		require.Len(t, s.rules(t, sg, "ingress"), 1)
	})

	t.Run("ValidationErrorsAreAtomic", func(t *testing.T) {
		sg := s.newGroup(t, "")
		good := tcpFrom(443, "0.0.0.0/0")
		for _, tc := range []struct {
			name string
			bad  ecs.AuthorizeSecurityGroupPermissions
			code string
		}{
			{"BadProtocol", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "SCTP", PortRange: "1/2", SourceCidrIp: "10.0.0.0/8"}, "InvalidIpProtocol.ValueNotSupported"},
			{"BadPortFormat", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22-23", SourceCidrIp: "10.0.0.0/8"}, "InvalidParam.PortRange"},
			{"ReversedPorts", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "200/1", SourceCidrIp: "10.0.0.0/8"}, "InvalidParam.PortRange"},
			{"IcmpWithPorts", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "ICMP", PortRange: "22/22", SourceCidrIp: "10.0.0.0/8"}, "OperationDenied"},
			{"PriorityZero", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "10.0.0.0/8", Priority: "0"}, "InvalidPriority.ValueNotSupported"},
			{"PriorityText", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "10.0.0.0/8", Priority: "high"}, "InvalidPriority.Malformed"},
			{"BadPolicy", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "10.0.0.0/8", Policy: "deny"}, "InvalidPolicy.Malformed"},
			{"NoSource", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22/22"}, "MissingParameter.Source"},
			{"BadCidr", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "10.0.0.0/33"}, "InvalidSourceCidrIp.Malformed"},
			{"UnknownSourceGroup", ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22/22", SourceGroupId: "sg-doesnotexist00000000"}, "InvalidSourceGroupId.NotFound"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.authorize(sg, ingress(good, tc.bad))
				requireCode(t, err, 0, tc.code)
				require.Empty(t, s.rules(t, sg, "all"), "nothing is added when one permission is invalid")
			})
		}
	})

	t.Run("HundredAndOnePermissionsRefused", func(t *testing.T) {
		sg := s.newGroup(t, "")
		var perms []ecs.AuthorizeSecurityGroupPermissions
		for i := range 101 {
			perms = append(perms, tcpFrom(1000+i, "10.0.0.0/8"))
		}
		_, err := s.authorize(sg, ingress(perms...))
		se := serverError(t, err)
		if env.emu != nil {
			require.Equal(t, "InvalidParameter", se.ErrorCode())
			require.Equal(t, 400, se.HttpStatus())
		}
		require.Empty(t, s.rules(t, sg, "all"))
		_, err = s.authorize(sg, ingress(perms[:100]...))
		require.NoError(t, err, "100 permissions in one call are fine")
		require.Len(t, s.rules(t, sg, "all"), 100)
	})

	t.Run("TwoHundredRuleLimit", func(t *testing.T) {
		sg := s.newGroup(t, "")
		for batch := range 2 {
			var perms []ecs.AuthorizeSecurityGroupPermissions
			for i := range 100 {
				perms = append(perms, tcpFrom(2000+batch*100+i, "10.0.0.0/8"))
			}
			_, err := s.authorize(sg, ingress(perms...))
			require.NoError(t, err)
		}
		_, err := s.authorize(sg, ingress(tcpFrom(3000, "10.0.0.0/8")))
		requireCode(t, err, 403, "AuthorizationLimitExceed")
		egress := ecs.CreateAuthorizeSecurityGroupEgressRequest()
		egress.RegionId, egress.SecurityGroupId = env.Region, sg
		egress.Permissions = &[]ecs.AuthorizeSecurityGroupEgressPermissions{{IpProtocol: "TCP", PortRange: "443/443", DestCidrIp: "0.0.0.0/0"}}
		_, err = s.c.AuthorizeSecurityGroupEgress(egress)
		requireCode(t, err, 403, "AuthorizationLimitExceed")
		require.Len(t, s.rules(t, sg, "all"), 200)
		// a duplicate of an existing rule still succeeds at the limit
		_, err = s.authorize(sg, ingress(tcpFrom(2000, "10.0.0.0/8")))
		require.NoError(t, err)
	})

	t.Run("RevokeByRuleID", func(t *testing.T) {
		sg := s.newGroup(t, "")
		_, err := s.authorize(sg, ingress(tcpFrom(22, "10.0.0.0/8"), tcpFrom(23, "10.0.0.0/8")))
		require.NoError(t, err)
		ids := ruleIDs(s.rules(t, sg, "ingress"))
		require.Len(t, ids, 2)

		// SDK request objects keep the flattened parameters of earlier calls:
		// build a fresh request for every call.
		revoke := func(ids ...string) error {
			req := ecs.CreateRevokeSecurityGroupRequest()
			req.RegionId, req.SecurityGroupId, req.SecurityGroupRuleId = env.Region, sg, &ids
			_, err := s.c.RevokeSecurityGroup(req)
			return err
		}
		requireCode(t, revoke(ids[0], "sgr-doesnotexist000000"), 400, "InvalidParam.SecurityGroupRuleId")
		require.ElementsMatch(t, ids, ruleIDs(s.rules(t, sg, "ingress")), "an unknown id revokes nothing")

		require.NoError(t, revoke(ids[0]))
		require.Equal(t, ids[1:], ruleIDs(s.rules(t, sg, "ingress")))
		requireCode(t, revoke(ids[0]), 400, "InvalidParam.SecurityGroupRuleId")
	})

	t.Run("RevokeByAttributes", func(t *testing.T) {
		sg := s.newGroup(t, "")
		_, err := s.authorize(sg, ingress(tcpFrom(22, "10.0.0.0/8"), tcpFrom(3389, "0.0.0.0/0")))
		require.NoError(t, err)
		req := ecs.CreateRevokeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = env.Region, sg
		req.Permissions = &[]ecs.RevokeSecurityGroupPermissions{{IpProtocol: "TCP", PortRange: "8080/8080", SourceCidrIp: "0.0.0.0/0", Policy: "accept"}}
		_, err = s.c.RevokeSecurityGroup(req)
		require.NoError(t, err, "no match succeeds")
		require.Len(t, s.rules(t, sg, "ingress"), 2)

		req = ecs.CreateRevokeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = env.Region, sg
		req.Permissions = &[]ecs.RevokeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "3389/3389", SourceCidrIp: "0.0.0.0/0", Policy: "accept"}}
		_, err = s.c.RevokeSecurityGroup(req)
		require.NoError(t, err)
		got := s.rules(t, sg, "ingress")
		require.Len(t, got, 1)
		require.Equal(t, "22/22", got[0].PortRange)
	})

	t.Run("EgressAuthorizeRevokeModify", func(t *testing.T) {
		sg := s.newGroup(t, "")
		req := ecs.CreateAuthorizeSecurityGroupEgressRequest()
		req.RegionId, req.SecurityGroupId = env.Region, sg
		req.Permissions = &[]ecs.AuthorizeSecurityGroupEgressPermissions{
			{IpProtocol: "TCP", PortRange: "443/443", DestCidrIp: "0.0.0.0/0", Policy: "accept", Priority: "10"},
			{IpProtocol: "ALL", PortRange: "-1/-1", DestCidrIp: "0.0.0.0/0", Policy: "drop", Priority: "100"},
		}
		_, err := s.c.AuthorizeSecurityGroupEgress(req)
		require.NoError(t, err)
		require.Empty(t, s.rules(t, sg, "ingress"))
		got := s.rules(t, sg, "egress")
		require.Len(t, got, 2)
		var https ecs.Permission
		for _, p := range got {
			require.Equal(t, "egress", p.Direction)
			if p.PortRange == "443/443" {
				https = p
			}
		}
		require.Equal(t, "0.0.0.0/0", https.DestCidrIp)

		// an egress duplicate is ignored as an ingress one is
		dup := ecs.CreateAuthorizeSecurityGroupEgressRequest()
		dup.RegionId, dup.SecurityGroupId = env.Region, sg
		dup.Permissions = &[]ecs.AuthorizeSecurityGroupEgressPermissions{
			{IpProtocol: "tcp", PortRange: "443/443", DestCidrIp: "0.0.0.0/0", Policy: "Accept", Priority: "10", Description: "again"}}
		_, err = s.c.AuthorizeSecurityGroupEgress(dup)
		require.NoError(t, err, "a duplicate succeeds")
		again := s.rules(t, sg, "egress")
		require.ElementsMatch(t, ruleIDs(got), ruleIDs(again))
		for _, p := range again {
			require.NotEqual(t, "again", p.Description, "the duplicate changed nothing")
		}

		mod := ecs.CreateModifySecurityGroupEgressRuleRequest()
		mod.RegionId, mod.SecurityGroupId, mod.SecurityGroupRuleId = env.Region, sg, https.SecurityGroupRuleId
		mod.DestCidrIp, mod.Description = "100.64.0.0/10", "internal https"
		_, err = s.c.ModifySecurityGroupEgressRule(mod)
		require.NoError(t, err)

		rev := ecs.CreateRevokeSecurityGroupEgressRequest()
		rev.RegionId, rev.SecurityGroupId = env.Region, sg
		rev.Permissions = &[]ecs.RevokeSecurityGroupEgressPermissions{{IpProtocol: "ALL", PortRange: "-1/-1", DestCidrIp: "0.0.0.0/0", Policy: "drop", Priority: "100"}}
		_, err = s.c.RevokeSecurityGroupEgress(rev)
		require.NoError(t, err)
		got = s.rules(t, sg, "egress")
		require.Len(t, got, 1)
		require.Equal(t, https.SecurityGroupRuleId, got[0].SecurityGroupRuleId)
		require.Equal(t, "100.64.0.0/10", got[0].DestCidrIp)
		require.Equal(t, "internal https", got[0].Description)

		// an ingress rule id is unknown to the egress revoke
		_, err = s.authorize(sg, ingress(tcpFrom(22, "10.0.0.0/8")))
		require.NoError(t, err)
		in := s.rules(t, sg, "ingress")
		rev = ecs.CreateRevokeSecurityGroupEgressRequest()
		rev.RegionId, rev.SecurityGroupId = env.Region, sg
		rev.SecurityGroupRuleId = &[]string{in[0].SecurityGroupRuleId}
		_, err = s.c.RevokeSecurityGroupEgress(rev)
		requireCode(t, err, 400, "InvalidParam.SecurityGroupRuleId")
	})

	t.Run("ModifyRule", func(t *testing.T) {
		sg := s.newGroup(t, "")
		_, err := s.authorize(sg, ingress(tcpFrom(22, "10.0.0.0/8"), tcpFrom(23, "10.0.0.0/8")))
		require.NoError(t, err)
		var r22, r23 ecs.Permission
		for _, p := range s.rules(t, sg, "ingress") {
			if p.PortRange == "22/22" {
				r22 = p
			} else {
				r23 = p
			}
		}
		mod := ecs.CreateModifySecurityGroupRuleRequest()
		mod.RegionId, mod.SecurityGroupId, mod.SecurityGroupRuleId = env.Region, sg, r22.SecurityGroupRuleId
		mod.PortRange, mod.SourceCidrIp, mod.Description, mod.Priority = "2222/2222", "192.168.0.0/16", "moved", "5"
		_, err = s.c.ModifySecurityGroupRule(mod)
		require.NoError(t, err)
		var after ecs.Permission
		for _, p := range s.rules(t, sg, "ingress") {
			if p.SecurityGroupRuleId == r22.SecurityGroupRuleId {
				after = p
			}
		}
		require.Equal(t, "2222/2222", after.PortRange, "the rule keeps its id")
		require.Equal(t, "192.168.0.0/16", after.SourceCidrIp)
		require.Equal(t, "moved", after.Description)
		require.Equal(t, "5", after.Priority)
		require.Equal(t, "TCP", after.IpProtocol)
		require.Equal(t, r22.CreateTime, after.CreateTime)

		mod = ecs.CreateModifySecurityGroupRuleRequest()
		mod.RegionId, mod.SecurityGroupId, mod.SecurityGroupRuleId = env.Region, sg, "sgr-doesnotexist000000"
		mod.Description = "x"
		_, err = s.c.ModifySecurityGroupRule(mod)
		requireCode(t, err, 404, "SecurityGroupRule.NotFound")

		mod = ecs.CreateModifySecurityGroupRuleRequest()
		mod.RegionId, mod.SecurityGroupId, mod.SecurityGroupRuleId = env.Region, sg, r23.SecurityGroupRuleId
		mod.Ipv6SourceCidrIp = "2001:db8::/32"
		_, err = s.c.ModifySecurityGroupRule(mod)
		requireCode(t, err, 400, "InvalidOperation.ModifySgRuleEntityType")

		// by attributes: the fields locate the rule, the description changes
		mod = ecs.CreateModifySecurityGroupRuleRequest()
		mod.RegionId, mod.SecurityGroupId = env.Region, sg
		mod.IpProtocol, mod.PortRange, mod.SourceCidrIp, mod.Policy, mod.Description = "TCP", "23/23", "10.0.0.0/8", "accept", "telnet"
		_, err = s.c.ModifySecurityGroupRule(mod)
		require.NoError(t, err)
		for _, p := range s.rules(t, sg, "ingress") {
			if p.SecurityGroupRuleId == r23.SecurityGroupRuleId {
				require.Equal(t, "telnet", p.Description)
			}
		}
		mod = ecs.CreateModifySecurityGroupRuleRequest()
		mod.RegionId, mod.SecurityGroupId = env.Region, sg
		mod.IpProtocol, mod.PortRange, mod.SourceCidrIp, mod.Policy, mod.Description = "TCP", "24/24", "10.0.0.0/8", "accept", "telnet"
		_, err = s.c.ModifySecurityGroupRule(mod)
		requireCode(t, err, 404, "SecurityGroupRule.NotFound")
	})

	t.Run("DescribeAttributePagingAndDirection", func(t *testing.T) {
		sg := s.newGroup(t, "")
		var perms []ecs.AuthorizeSecurityGroupPermissions
		for i := range 25 {
			perms = append(perms, tcpFrom(4000+i, "10.0.0.0/8"))
		}
		_, err := s.authorize(sg, ingress(perms...))
		require.NoError(t, err)
		eg := ecs.CreateAuthorizeSecurityGroupEgressRequest()
		eg.RegionId, eg.SecurityGroupId = env.Region, sg
		eg.Permissions = &[]ecs.AuthorizeSecurityGroupEgressPermissions{{IpProtocol: "TCP", PortRange: "443/443", DestCidrIp: "0.0.0.0/0"}}
		_, err = s.c.AuthorizeSecurityGroupEgress(eg)
		require.NoError(t, err)

		seen := map[string]bool{}
		pages, token := 0, ""
		for {
			req := ecs.CreateDescribeSecurityGroupAttributeRequest()
			req.RegionId, req.SecurityGroupId, req.Direction, req.NextToken = env.Region, sg, "ingress", token
			req.MaxResults = requests.NewInteger(10)
			resp, err := s.c.DescribeSecurityGroupAttribute(req)
			require.NoError(t, err)
			require.LessOrEqual(t, len(resp.Permissions.Permission), 10)
			for _, p := range resp.Permissions.Permission {
				require.False(t, seen[p.SecurityGroupRuleId], "rule %s on two pages", p.SecurityGroupRuleId)
				require.Equal(t, "ingress", p.Direction)
				seen[p.SecurityGroupRuleId] = true
			}
			pages++
			if token = resp.NextToken; token == "" {
				break
			}
		}
		require.Len(t, seen, 25)
		require.Equal(t, 3, pages)
		require.Len(t, s.rules(t, sg, "egress"), 1)
		require.Len(t, s.rules(t, sg, "all"), 26)
		require.Len(t, s.rules(t, sg, ""), 26, "Direction defaults to all")
	})

	t.Run("DescribeGroupsPagingAndTagFilters", func(t *testing.T) {
		run := randSuffix()
		var want []string
		for i := range 3 {
			want = append(want, s.newGroup(t, "", ecs.CreateSecurityGroupTag{Key: "contract-run", Value: run},
				ecs.CreateSecurityGroupTag{Key: "idx", Value: fmt.Sprint(i)}))
		}
		s.newGroup(t, "", ecs.CreateSecurityGroupTag{Key: "contract-run", Value: "other-" + run})
		var got []string
		token := ""
		for {
			req := ecs.CreateDescribeSecurityGroupsRequest()
			req.RegionId, req.NextToken = env.Region, token
			req.MaxResults = requests.NewInteger(2)
			req.Tag = &[]ecs.DescribeSecurityGroupsTag{{Key: "contract-run", Value: run}}
			resp, err := s.c.DescribeSecurityGroups(req)
			require.NoError(t, err)
			require.LessOrEqual(t, len(resp.SecurityGroups.SecurityGroup), 2)
			for _, g := range resp.SecurityGroups.SecurityGroup {
				got = append(got, g.SecurityGroupId)
			}
			if token = resp.NextToken; token == "" {
				break
			}
		}
		require.ElementsMatch(t, want, got)

		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = env.Region
		req.Tag = &[]ecs.DescribeSecurityGroupsTag{{Key: "contract-run", Value: run}, {Key: "idx", Value: "1"}}
		resp, err := s.c.DescribeSecurityGroups(req)
		require.NoError(t, err)
		require.Len(t, resp.SecurityGroups.SecurityGroup, 1)
		require.Equal(t, want[1], resp.SecurityGroups.SecurityGroup[0].SecurityGroupId)

		// legacy paging
		req = ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = env.Region
		req.Tag = &[]ecs.DescribeSecurityGroupsTag{{Key: "contract-run", Value: run}}
		req.PageNumber, req.PageSize = requests.NewInteger(2), requests.NewInteger(2)
		resp, err = s.c.DescribeSecurityGroups(req)
		require.NoError(t, err)
		require.Equal(t, 3, resp.TotalCount)
		require.Len(t, resp.SecurityGroups.SecurityGroup, 1)
	})

	t.Run("TagResourcesAndListTagResources", func(t *testing.T) {
		sg := s.newGroup(t, "")
		run := randSuffix()
		tag := ecs.CreateTagResourcesRequest()
		tag.RegionId, tag.ResourceType = env.Region, "securitygroup"
		tag.ResourceId = &[]string{sg}
		tag.Tag = &[]ecs.TagResourcesTag{{Key: "owner", Value: "team-" + run}, {Key: "cost", Value: "42"}}
		_, err := s.c.TagResources(tag)
		require.NoError(t, err)

		list := ecs.CreateListTagResourcesRequest()
		list.RegionId, list.ResourceType = env.Region, "securitygroup"
		list.ResourceId = &[]string{sg}
		resp, err := s.c.ListTagResources(list)
		require.NoError(t, err)
		require.ElementsMatch(t, []ecs.TagResource{
			{ResourceId: sg, ResourceType: "securitygroup", TagKey: "owner", TagValue: "team-" + run},
			{ResourceId: sg, ResourceType: "securitygroup", TagKey: "cost", TagValue: "42"},
		}, resp.TagResources.TagResource, "one row per resource-tag pair")

		list = ecs.CreateListTagResourcesRequest()
		list.RegionId, list.ResourceType = env.Region, "securitygroup"
		list.Tag = &[]ecs.ListTagResourcesTag{{Key: "owner", Value: "team-" + run}}
		resp, err = s.c.ListTagResources(list)
		require.NoError(t, err)
		require.NotEmpty(t, resp.TagResources.TagResource)
		for _, r := range resp.TagResources.TagResource {
			require.Equal(t, sg, r.ResourceId)
		}

		untag := ecs.CreateUntagResourcesRequest()
		untag.RegionId, untag.ResourceType = env.Region, "securitygroup"
		untag.ResourceId, untag.TagKey = &[]string{sg}, &[]string{"cost"}
		_, err = s.c.UntagResources(untag)
		require.NoError(t, err)
		list = ecs.CreateListTagResourcesRequest()
		list.RegionId, list.ResourceType = env.Region, "securitygroup"
		list.ResourceId = &[]string{sg}
		resp, err = s.c.ListTagResources(list)
		require.NoError(t, err)
		require.Equal(t, []ecs.TagResource{{ResourceId: sg, ResourceType: "securitygroup", TagKey: "owner", TagValue: "team-" + run}},
			resp.TagResources.TagResource)

		tag = ecs.CreateTagResourcesRequest()
		tag.RegionId, tag.ResourceType = env.Region, "securitygroup"
		tag.ResourceId = &[]string{"sg-doesnotexist00000000"}
		tag.Tag = &[]ecs.TagResourcesTag{{Key: "owner", Value: "x"}}
		_, err = s.c.TagResources(tag)
		serverError(t, err)
	})

	t.Run("ENIFilterQuirksAndJoinLeave", func(t *testing.T) {
		if env.InstanceID == "" || env.SecondaryENIID == "" {
			t.Skip("no instance / secondary ENI configured")
		}
		sg := s.newGroup(t, "")
		join := func(instanceID, eniID string) error {
			req := ecs.CreateJoinSecurityGroupRequest()
			req.RegionId, req.SecurityGroupId, req.InstanceId, req.NetworkInterfaceId = env.Region, sg, instanceID, eniID
			_, err := s.c.JoinSecurityGroup(req)
			return err
		}
		leave := func(instanceID, eniID, group string) error {
			req := ecs.CreateLeaveSecurityGroupRequest()
			req.RegionId, req.SecurityGroupId, req.InstanceId, req.NetworkInterfaceId = env.Region, group, instanceID, eniID
			_, err := s.c.LeaveSecurityGroup(req)
			return err
		}
		require.NoError(t, join(env.InstanceID, ""))
		t.Cleanup(func() { _ = leave(env.InstanceID, "", sg) })
		require.NoError(t, join("", env.SecondaryENIID))
		t.Cleanup(func() { _ = leave("", env.SecondaryENIID, sg) })
		requireCode(t, join(env.InstanceID, ""), 403, "InvalidInstanceId.AlreadyExists")

		// DescribeInstances(SecurityGroupId) finds the instance.
		di := ecs.CreateDescribeInstancesRequest()
		di.RegionId, di.SecurityGroupId = env.Region, sg
		inst, err := s.c.DescribeInstances(di)
		require.NoError(t, err)
		require.Len(t, inst.Instances.Instance, 1)
		require.Equal(t, env.InstanceID, inst.Instances.Instance[0].InstanceId)
		require.Contains(t, inst.Instances.Instance[0].SecurityGroupIds.SecurityGroupId, sg)
		require.NotEmpty(t, inst.Instances.Instance[0].NetworkInterfaces.NetworkInterface)
		var primary string
		for _, n := range inst.Instances.Instance[0].NetworkInterfaces.NetworkInterface {
			if n.Type == "Primary" {
				primary = n.NetworkInterfaceId
			}
		}
		require.NotEmpty(t, primary)

		// DescribeNetworkInterfaces(SecurityGroupId) sees only the secondary ENI.
		dn := ecs.CreateDescribeNetworkInterfacesRequest()
		dn.RegionId, dn.SecurityGroupId = env.Region, sg
		dn.MaxResults = requests.NewInteger(100)
		enis, err := s.c.DescribeNetworkInterfaces(dn)
		require.NoError(t, err)
		var ids []string
		for _, n := range enis.NetworkInterfaceSets.NetworkInterfaceSet {
			ids = append(ids, n.NetworkInterfaceId)
		}
		require.Equal(t, []string{env.SecondaryENIID}, ids)

		// NetworkInterfaceId.N finds both, each with its groups.
		dn = ecs.CreateDescribeNetworkInterfacesRequest()
		dn.RegionId = env.Region
		dn.NetworkInterfaceId = &[]string{primary, env.SecondaryENIID}
		enis, err = s.c.DescribeNetworkInterfaces(dn)
		require.NoError(t, err)
		require.Len(t, enis.NetworkInterfaceSets.NetworkInterfaceSet, 2)
		for _, n := range enis.NetworkInterfaceSets.NetworkInterfaceSet {
			require.Contains(t, n.SecurityGroupIds.SecurityGroupId, sg)
			require.NotEmpty(t, n.PrivateIpAddress)
		}

		// Deleting a group in use is refused.
		del := ecs.CreateDeleteSecurityGroupRequest()
		del.RegionId, del.SecurityGroupId = env.Region, sg
		_, err = s.c.DeleteSecurityGroup(del)
		requireCode(t, err, 403, "DependencyViolation")

		require.NoError(t, leave(env.InstanceID, "", sg))
		requireCode(t, leave(env.InstanceID, "", sg), 0, "InstanceNotInSecurityGroup")
		// The primary ENI is back to its single original group: leaving it is refused.
		inst, err = s.c.DescribeInstances(func() *ecs.DescribeInstancesRequest {
			r := ecs.CreateDescribeInstancesRequest()
			r.RegionId, r.InstanceIds = env.Region, `["`+env.InstanceID+`"]`
			return r
		}())
		require.NoError(t, err)
		require.Len(t, inst.Instances.Instance, 1)
		orig := inst.Instances.Instance[0].SecurityGroupIds.SecurityGroupId
		require.Len(t, orig, 1, "the contract instance must be in exactly one group")
		requireCode(t, leave(env.InstanceID, "", orig[0]), 403, "InstanceLastSecurityGroup")
	})

	t.Run("JoinLimitFiveGroups", func(t *testing.T) {
		if env.SecondaryENIID == "" {
			t.Skip("no secondary ENI configured")
		}
		dn := ecs.CreateDescribeNetworkInterfacesRequest()
		dn.RegionId, dn.NetworkInterfaceId = env.Region, &[]string{env.SecondaryENIID}
		enis, err := s.c.DescribeNetworkInterfaces(dn)
		require.NoError(t, err)
		require.Len(t, enis.NetworkInterfaceSets.NetworkInterfaceSet, 1)
		have := len(enis.NetworkInterfaceSets.NetworkInterfaceSet[0].SecurityGroupIds.SecurityGroupId)
		for i := have; i <= 5; i++ {
			sg := s.newGroup(t, "")
			req := ecs.CreateJoinSecurityGroupRequest()
			req.RegionId, req.SecurityGroupId, req.NetworkInterfaceId = env.Region, sg, env.SecondaryENIID
			_, err := s.c.JoinSecurityGroup(req)
			if i == 5 {
				requireCode(t, err, 400, "InstanceSecurityGroupLimitExceeded")
				break
			}
			require.NoError(t, err)
			t.Cleanup(func() {
				l := ecs.CreateLeaveSecurityGroupRequest()
				l.RegionId, l.SecurityGroupId, l.NetworkInterfaceId = env.Region, sg, env.SecondaryENIID
				_, _ = s.c.LeaveSecurityGroup(l)
			})
		}
	})

	t.Run("PrefixLists", func(t *testing.T) {
		if env.PrefixListID == "" {
			t.Skip("no prefix list configured")
		}
		req := ecs.CreateDescribePrefixListAttributesRequest()
		req.RegionId, req.PrefixListId = env.Region, env.PrefixListID
		resp, err := s.c.DescribePrefixListAttributes(req)
		require.NoError(t, err)
		require.Equal(t, env.PrefixListID, resp.PrefixListId)
		require.Equal(t, "IPv4", resp.AddressFamily)
		require.NotEmpty(t, resp.Entries.Entry)
		require.Positive(t, resp.MaxEntries)
		for _, e := range resp.Entries.Entry {
			require.Contains(t, e.Cidr, "/")
		}

		req.PrefixListId = "pl-doesnotexist0000000"
		_, err = s.c.DescribePrefixListAttributes(req)
		requireCode(t, err, 0, "InvalidPrefixListId.NotFound")

		sg := s.newGroup(t, "")
		_, err = s.authorize(sg, ingress(ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22/22", SourcePrefixListId: env.PrefixListID}))
		require.NoError(t, err)
		got := s.rules(t, sg, "ingress")
		require.Len(t, got, 1)
		require.Equal(t, env.PrefixListID, got[0].SourcePrefixListId)
		require.Empty(t, got[0].SourceCidrIp)
		_, err = s.authorize(sg, ingress(ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22/22", SourcePrefixListId: "pl-doesnotexist0000000"}))
		requireCode(t, err, 404, "InvalidPrefixListId.NotFound")
	})

	s.prefixListCases(t)

	t.Run("GroupIsRegional", func(t *testing.T) {
		sg := s.newGroup(t, "")
		other := "cn-shanghai"
		if env.Region == other {
			other = "cn-beijing"
		}
		req := ecs.CreateDescribeSecurityGroupAttributeRequest()
		req.RegionId, req.SecurityGroupId = other, sg
		_, err := s.c.DescribeSecurityGroupAttribute(req)
		requireCode(t, err, 0, "InvalidSecurityGroupId.NotFound")
	})

	t.Run("UnknownActionFailsLoudly", func(t *testing.T) {
		req := requests.NewCommonRequest()
		req.Method, req.Product, req.Version, req.ApiName = "POST", "Ecs", "2014-05-26", "FrobnicateSecurityGroup"
		req.QueryParams["RegionId"] = env.Region
		if s.c.Domain == "" {
			req.Domain = "ecs." + env.Region + ".aliyuncs.com"
		}
		_, err := s.c.ProcessCommonRequest(req)
		se := requireCode(t, err, 0, "InvalidAction.NotFound")
		if e := env.emu; e != nil {
			require.Equal(t, 400, se.HttpStatus())
			require.Contains(t, se.Message(), "FrobnicateSecurityGroup")
			require.Equal(t, 1, e.stats.Snapshot().Count("ecs", "FrobnicateSecurityGroup", "alice"))
		}
	})

	t.Run("ActionTrailRecords", func(t *testing.T) {
		e := emuOnly(t)
		sg := s.newGroup(t, "")
		resp, err := s.authorize(sg, ingress(ecs.AuthorizeSecurityGroupPermissions{
			IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0", Policy: "accept", Priority: "1", Description: "open ssh"}))
		require.NoError(t, err)
		rec, ok := e.trail.byRequestID(resp.RequestId)
		require.True(t, ok, "a record carries the response RequestId")
		require.Equal(t, "AuthorizeSecurityGroup", rec.EventName)
		require.Equal(t, "ApiCall", rec.EventType)
		require.Equal(t, "Write", rec.EventRW)
		require.Equal(t, "Management", rec.EventCategory)
		require.Equal(t, "1", rec.EventVersion)
		require.Equal(t, "ecs.aliyuncs.com", rec.EventSource)
		require.Equal(t, "Ecs", rec.ServiceName)
		require.Equal(t, "2014-05-26", rec.APIVersion)
		require.Equal(t, env.Region, rec.AcsRegion)
		require.Equal(t, e.clock.Now().Format(time.RFC3339), rec.EventTime)
		require.Equal(t, "127.0.0.1", rec.SourceIPAddress)
		require.Contains(t, rec.UserAgent, "AlibabaCloud")
		require.Empty(t, rec.ErrorCode)
		require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, rec.EventID)
		require.Equal(t, "1234567890123456", rec.RecipientAccountID)
		require.Equal(t, "ram-user", rec.UserIdentity.Type)
		require.Equal(t, "alice", rec.UserIdentity.UserName)
		require.Equal(t, e.op.AccessKeyID, rec.UserIdentity.AccessKeyID)
		require.Equal(t, map[string][]string{"ACS::ECS::SecurityGroup": {sg}}, rec.ReferencedResources)
		require.Equal(t, map[string]any{
			"RegionId": env.Region, "SecurityGroupId": sg,
			"Permissions.1.IpProtocol": "TCP", "Permissions.1.PortRange": "22/22",
			"Permissions.1.SourceCidrIp": "0.0.0.0/0", "Permissions.1.Policy": "accept",
			"Permissions.1.Priority": "1", "Permissions.1.Description": "open ssh",
			"AcsHost": e.domain(), "AcsProduct": "Ecs",
		}, rec.RequestParameters)
		// the record of a JSON round trip (as EventBridge delivers it) keeps the dotted keys
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		require.Contains(t, string(b), `"Permissions.1.PortRange":"22/22"`)

		// reads emit nothing; failed writes emit nothing
		n := len(e.trail.all())
		_ = s.rules(t, sg, "all")
		_, err = s.authorize(sg, ingress(ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "0/0", SourceCidrIp: "0.0.0.0/0"}))
		require.Error(t, err)
		require.Len(t, e.trail.all(), n)

		// revoke by id: SecurityGroupRuleId.1 as sent
		id := s.rules(t, sg, "ingress")[0].SecurityGroupRuleId
		rev := ecs.CreateRevokeSecurityGroupRequest()
		rev.RegionId, rev.SecurityGroupId, rev.SecurityGroupRuleId = env.Region, sg, &[]string{id}
		rresp, err := s.c.RevokeSecurityGroup(rev)
		require.NoError(t, err)
		rec, ok = e.trail.byRequestID(rresp.RequestId)
		require.True(t, ok)
		require.Equal(t, "RevokeSecurityGroup", rec.EventName)
		require.Equal(t, id, rec.RequestParameters["SecurityGroupRuleId.1"])
	})

	t.Run("ActionTrailAssumedRoleAndVisibility", func(t *testing.T) {
		e := emuOnly(t)
		cred := e.auth.IssueSTS("porthygiene-fc", "guard-invocation-1", e.clock.Now(), time.Hour)
		c := e.client(t, cred)
		sg := s.newGroup(t, "")
		seen := make(chan int, 1)
		e.trail.mu.Lock()
		e.trail.onEmit = func(r actiontrail.Record) {
			if r.EventName == "AuthorizeSecurityGroup" {
				rules, _ := e.srv.Rules(sg)
				seen <- len(rules)
			}
		}
		e.trail.mu.Unlock()
		t.Cleanup(func() { e.trail.mu.Lock(); e.trail.onEmit = nil; e.trail.mu.Unlock() })
		req := ingress(tcpFrom(8443, "10.0.0.0/8"))
		req.RegionId, req.SecurityGroupId = env.Region, sg
		resp, err := c.AuthorizeSecurityGroup(req)
		require.NoError(t, err)
		require.Equal(t, 1, <-seen, "the rule is visible when the record is emitted")
		rec, ok := e.trail.byRequestID(resp.RequestId)
		require.True(t, ok)
		require.Equal(t, "assumed-role", rec.UserIdentity.Type)
		require.Equal(t, "porthygiene-fc:guard-invocation-1", rec.UserIdentity.UserName)
		require.True(t, strings.HasPrefix(rec.UserIdentity.AccessKeyID, "STS."))
		_, hasToken := rec.RequestParameters["SecurityToken"]
		require.False(t, hasToken)
		require.Equal(t, 1, e.stats.Snapshot().Count("ecs", "AuthorizeSecurityGroup", "porthygiene-fc"), "stats count roles by role name")

		e.clock.Advance(2 * time.Hour)
		d := ecs.CreateDescribeSecurityGroupsRequest()
		d.RegionId = env.Region
		_, err = c.DescribeSecurityGroups(d)
		requireCode(t, err, 400, "InvalidSecurityToken.Expired")
	})

	t.Run("ReusedNonceRejected", func(t *testing.T) {
		e := emuOnly(t)
		rc := newRawCall(e.op, "DescribeSecurityGroups", nil)
		rc.sign(e.op.AccessKeySecret)
		status, body := rc.do(t, e.hs.URL)
		require.Equal(t, 200, status, "body %v", body)
		status, body = rc.do(t, e.hs.URL)
		require.Equal(t, 400, status)
		require.Equal(t, "SignatureNonceUsed", body["Code"])

		stale := newRawCall(e.op, "DescribeSecurityGroups", map[string]string{
			"Timestamp": time.Now().Add(-20 * time.Minute).UTC().Format("2006-01-02T15:04:05Z")})
		stale.sign(e.op.AccessKeySecret)
		status, body = stale.do(t, e.hs.URL)
		require.Equal(t, 400, status)
		require.Equal(t, "InvalidTimeStamp.Expired", body["Code"])
		// the virtual clock does not matter for timestamps (wall clock only)
		e.clock.Advance(72 * time.Hour)
		fresh := newRawCall(e.op, "DescribeSecurityGroups", nil)
		fresh.sign(e.op.AccessKeySecret)
		status, _ = fresh.do(t, e.hs.URL)
		require.Equal(t, 200, status)
	})

	t.Run("ErrorBodyAndPermissionShape", func(t *testing.T) {
		e := emuOnly(t)
		rc := newRawCall(e.op, "DescribeSecurityGroupAttribute", map[string]string{"SecurityGroupId": "sg-bp1nope"})
		rc.sign(e.op.AccessKeySecret)
		status, body := rc.do(t, e.hs.URL)
		require.Equal(t, 404, status)
		for _, k := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
			require.IsType(t, "", body[k], "field %s must be a string", k)
		}
		rc = newRawCall(e.op, "DescribeSecurityGroupAttribute", map[string]string{"SecurityGroupId": "sg-bp1web0000000000000"})
		rc.sign(e.op.AccessKeySecret)
		status, body = rc.do(t, e.hs.URL)
		require.Equal(t, 200, status)
		perms := body["Permissions"].(map[string]any)["Permission"].([]any)
		require.Len(t, perms, 4)
		p := perms[0].(map[string]any)
		require.Equal(t, float64(1), p["Priority"], "Priority is a JSON number")
		for _, k := range []string{"SourceGroupId", "DestCidrIp", "Ipv6SourceCidrIp", "SourcePortRange", "DestPrefixListName", "SourceGroupOwnerAccount"} {
			require.Equal(t, "", p[k], "absent field %s is an empty string", k)
		}
		require.Equal(t, "TCP", p["IpProtocol"])
		require.Equal(t, "Accept", p["Policy"])
		office := perms[3].(map[string]any)
		require.Equal(t, "office", office["SourcePrefixListName"])
		require.Equal(t, "Accept", body["InnerAccessPolicy"])
	})

	t.Run("FaultThrottling", func(t *testing.T) {
		e := emuOnly(t)
		setFaults(t, e, faultsConfig{action: "DescribeSecurityGroups", throttle: 1})
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = env.Region
		_, err := s.c.DescribeSecurityGroups(req)
		requireCode(t, err, 400, "Throttling.User")
		// other actions are not affected
		_, err = s.c.DescribeInstances(func() *ecs.DescribeInstancesRequest {
			r := ecs.CreateDescribeInstancesRequest()
			r.RegionId = env.Region
			return r
		}())
		require.NoError(t, err)
	})

	t.Run("FaultRateLimit", func(t *testing.T) {
		e := emuOnly(t)
		e.faults.Replace(faults.Config{RateLimits: map[string]float64{"ecs": 1}})
		t.Cleanup(func() { e.faults.Replace(faults.Config{}) })
		var codes []string
		for range 3 {
			req := ecs.CreateDescribeSecurityGroupsRequest()
			req.RegionId = env.Region
			_, err := s.c.DescribeSecurityGroups(req)
			if err != nil {
				codes = append(codes, serverError(t, err).ErrorCode())
			}
		}
		require.NotEmpty(t, codes, "3 calls in a burst exceed 1 call/s")
		for _, c := range codes {
			require.Equal(t, "Throttling.User", c)
		}
	})

	t.Run("FaultServerError", func(t *testing.T) {
		e := emuOnly(t)
		setFaults(t, e, faultsConfig{action: "DescribeSecurityGroups", serverError: 1})
		before := e.stats.Snapshot().Count("ecs", "DescribeSecurityGroups", "alice")
		req := ecs.CreateDescribeSecurityGroupsRequest()
		req.RegionId = env.Region
		_, err := s.c.DescribeSecurityGroups(req)
		requireCode(t, err, 503, "ServiceUnavailable")
		require.Equal(t, before+1, e.stats.Snapshot().Count("ecs", "DescribeSecurityGroups", "alice"))
	})

	t.Run("FaultLatency", func(t *testing.T) {
		e := emuOnly(t)
		setFaults(t, e, faultsConfig{action: "DescribePrefixListAttributes", latency: 300 * time.Millisecond})
		c := e.client(t, e.op) // a fresh client: SDK read timeouts are sticky
		req := ecs.CreateDescribePrefixListAttributesRequest()
		req.RegionId, req.PrefixListId = env.Region, "pl-bp1office0000000000"
		req.SetReadTimeout(5 * time.Second)
		start := time.Now()
		_, err := c.DescribePrefixListAttributes(req)
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)

		req = ecs.CreateDescribePrefixListAttributesRequest()
		req.RegionId, req.PrefixListId = env.Region, "pl-bp1office0000000000"
		req.SetReadTimeout(50 * time.Millisecond)
		_, err = e.client(t, e.op).DescribePrefixListAttributes(req)
		require.Error(t, err)
		require.Contains(t, err.Error(), "Timeout")
	})
}

type faultsConfig struct {
	action      string
	throttle    float64
	serverError float64
	latency     time.Duration
}

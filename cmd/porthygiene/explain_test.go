package main

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

// sdkAuthorize adds one ingress tcp rule with the plain SDK.
func sdkAuthorize(t *testing.T, cl *ecs.Client, group, ports, cidr, policy string, priority int, desc string) {
	t.Helper()
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", group
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: ports, SourceCidrIp: cidr,
		Policy: policy, Priority: strconv.Itoa(priority), Description: desc}}
	_, err := cl.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
}

func mustPfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func explainJSON(t *testing.T, ep string, args ...string) explainResult {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"explain", "--endpoints", ep, "--json"}, args...)...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	var res explainResult
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&res), stdout)
	return res
}

func outcomes(e explainENI) []string {
	var out []string
	for _, r := range e.Considered {
		out = append(out, r.GroupID+" "+r.PortRange+" "+r.Policy+" "+strconv.Itoa(r.Priority)+" "+r.Peer+": "+r.Outcome)
	}
	return out
}

func TestExplain(t *testing.T) {
	c, ep := auditWorld(t, nil)
	cl := lctest.ECS(t, c)

	t.Run("AllowedBySgWeb443", func(t *testing.T) {
		res := explainJSON(t, ep, "--instance", "i-web-1", "--port", "443", "--from", "8.8.8.8")
		require.True(t, res.Allowed)
		require.Equal(t, "tcp", res.Protocol)
		require.Equal(t, 443, res.Port)
		require.Equal(t, "8.8.8.8", res.From)
		require.Len(t, res.Interfaces, 1)
		e := res.Interfaces[0]
		require.Equal(t, "eni-web-1", e.ID)
		require.Equal(t, []string{"sg-web"}, e.Groups)
		require.Equal(t, "47.96.0.10", e.PublicIP)
		require.NotNil(t, e.Decision)
		require.Equal(t, "sg-web", e.Decision.GroupID)
		require.True(t, strings.HasPrefix(e.Decision.RuleID, "sgr-"), e.Decision.RuleID)
		require.Equal(t, "443/443", e.Decision.PortRange)
		require.Equal(t, "accept", e.Decision.Policy)
		require.Equal(t, 1, e.Decision.Priority)
		require.Equal(t, "0.0.0.0/0", e.Decision.Peer)
		require.Equal(t, "https", e.Decision.Description)
		require.Equal(t, []string{"sg-web 443/443 accept 1 0.0.0.0/0: decides"}, outcomes(e))
	})

	t.Run("DefaultFromIsTheInternet", func(t *testing.T) {
		res := explainJSON(t, ep, "--instance", "i-web-1", "--port", "22")
		require.Equal(t, defaultFrom, res.From)
		require.False(t, res.Allowed)
		require.Nil(t, res.Interfaces[0].Decision)
		require.Equal(t, []string{"sg-web 22/22 accept 1 10.0.0.0/16: peer does not match"}, outcomes(res.Interfaces[0]))

		res = explainJSON(t, ep, "--instance", "i-web-1", "--port", "22", "--from", "10.0.2.10")
		require.True(t, res.Allowed, "ssh from the vpc")
		require.Equal(t, "eni-bastion-1", res.FromENI)
	})

	t.Run("DeniedByDefaultText", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "explain", "--endpoints", ep, "--instance", "i-web-1", "--port", "3306", "--from", "8.8.8.8")
		require.Equal(t, 0, code, "a denied port is an answer, not an error; stderr: %s", stderr)
		require.Contains(t, stdout, "i-web-1 tcp/3306 from 8.8.8.8: DENIED")
		require.Contains(t, stdout, "no rule matched: denied by default")
		require.Contains(t, stdout, "no rule of these groups covers tcp/3306")
	})

	t.Run("GroupPeer", func(t *testing.T) {
		// sg-db accepts mysql from sg-web: from web-1's private address, yes;
		// from the bastion, no.
		res := explainJSON(t, ep, "--instance", "i-db-1", "--port", "3306", "--from", "10.0.1.10")
		require.True(t, res.Allowed)
		require.Equal(t, []string{"sg-web"}, res.FromGroups)
		require.Equal(t, "sg-web", res.Interfaces[0].Decision.Peer)
		res = explainJSON(t, ep, "--instance", "i-db-1", "--port", "3306", "--from", "10.0.2.10")
		require.False(t, res.Allowed)
	})

	// A drop rule wins over an accept at a lower priority, and at equal
	// priority (drop wins ties); the accepts it beats are listed after it.
	sdkAuthorize(t, cl, "sg-web", "8080/8080", "0.0.0.0/0", "accept", 1, "app")
	sdkAuthorize(t, cl, "sg-web", "8000/9000", "8.8.0.0/16", "drop", 1, "block google")
	sdkAuthorize(t, cl, "sg-web", "443/443", "8.8.8.0/24", "drop", 1, "block one /24")
	sdkAuthorize(t, cl, "sg-web", "8080/8080", "8.8.8.8/32", "accept", 50, "low priority accept")

	t.Run("DropWinsTie", func(t *testing.T) {
		res := explainJSON(t, ep, "--instance", "i-web-1", "--port", "443", "--from", "8.8.8.8")
		require.False(t, res.Allowed)
		e := res.Interfaces[0]
		require.Equal(t, "drop", e.Decision.Policy)
		require.Equal(t, "8.8.8.0/24", e.Decision.Peer)
		require.Equal(t, []string{
			"sg-web 443/443 drop 1 8.8.8.0/24: decides",
			"sg-web 443/443 accept 1 0.0.0.0/0: shadowed",
		}, outcomes(e))
		// From elsewhere the drop does not match and the accept decides.
		res = explainJSON(t, ep, "--instance", "i-web-1", "--port", "443", "--from", "1.1.1.1")
		require.True(t, res.Allowed)
		require.Equal(t, []string{
			"sg-web 443/443 drop 1 8.8.8.0/24: peer does not match",
			"sg-web 443/443 accept 1 0.0.0.0/0: decides",
		}, outcomes(res.Interfaces[0]))
	})

	t.Run("HigherPriorityDropWins", func(t *testing.T) {
		sdkAuthorize(t, cl, "sg-web", "9090/9090", "0.0.0.0/0", "accept", 20, "metrics")
		sdkAuthorize(t, cl, "sg-web", "9090/9090", "0.0.0.0/0", "drop", 10, "no metrics from outside")
		res := explainJSON(t, ep, "--instance", "i-web-1", "--port", "9090")
		require.False(t, res.Allowed)
		require.Equal(t, []string{
			"sg-web 9090/9090 drop 10 0.0.0.0/0: decides",
			"sg-web 9090/9090 accept 20 0.0.0.0/0: shadowed",
		}, outcomes(res.Interfaces[0]))

		code, stdout, _ := runCLI(t, "explain", "--endpoints", ep, "--instance", "i-web-1", "--port", "8080")
		require.Equal(t, 0, code)
		require.Contains(t, stdout, "i-web-1 tcp/8080 from 8.8.8.8: DENIED")
		require.Regexp(t, `denied by sg-web sgr-\S+: priority 1 drop tcp 8000/9000 from 8\.8\.0\.0/16 \("block google"\)`, stdout)
		require.Regexp(t, `1\. sg-web sgr-\S+: priority 1 drop tcp 8000/9000 from 8\.8\.0\.0/16 \("block google"\) — decides`, stdout)
		// The default world's own 8080 rule (the reaper's silent port) is weighed too.
		require.Regexp(t, `2\. sg-web sgr-\S+: priority 1 accept tcp 8080/8080 from 10\.0\.0\.0/16 \("old admin console"\) — shadowed`, stdout)
		require.Regexp(t, `3\. sg-web sgr-\S+: priority 1 accept tcp 8080/8080 from 0\.0\.0\.0/0 \("app"\) — shadowed`, stdout)
		require.Regexp(t, `4\. sg-web sgr-\S+: priority 50 accept tcp 8080/8080 from 8\.8\.8\.8/32 \("low priority accept"\) — shadowed`, stdout)
	})

	t.Run("AllGroupsOfAllInterfaces", func(t *testing.T) {
		// i-win-1 joins sg-legacy as well: the RDP rule of the second group
		// now decides on the same interface.
		req := ecs.CreateJoinSecurityGroupRequest()
		req.RegionId, req.InstanceId, req.SecurityGroupId = "cn-hangzhou", "i-win-1", "sg-legacy"
		_, err := cl.JoinSecurityGroup(req)
		require.NoError(t, err)
		res := explainJSON(t, ep, "--instance", "i-win-1", "--port", "3389")
		require.True(t, res.Allowed)
		require.ElementsMatch(t, []string{"sg-web", "sg-legacy"}, res.Interfaces[0].Groups)
		require.Equal(t, "sg-legacy", res.Interfaces[0].Decision.GroupID)
	})

	t.Run("UnknownInstance", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, "explain", "--endpoints", ep, "--instance", "i-nope", "--port", "22")
		require.Equal(t, 1, code, "stderr: %s", stderr)
		require.Empty(t, stdout)
		require.Contains(t, stderr, "porthygiene explain: instance i-nope not found in cn-hangzhou")
	})

	t.Run("Usage", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--port", "22"}, "--instance is required"},
			{[]string{"--instance", "i-web-1"}, "--port is required for tcp"},
			{[]string{"--instance", "i-web-1", "--port", "70000"}, "--port 70000: want 1-65535"},
			{[]string{"--instance", "i-web-1", "--port", "ssh"}, `invalid value "ssh" for flag -port`},
			{[]string{"--instance", "i-web-1", "--port", "22", "--protocol", "sctp"}, `--protocol "sctp": want tcp, udp, icmp, icmpv6 or gre`},
			{[]string{"--instance", "i-web-1", "--port", "22", "--protocol", "all"}, `--protocol "all"`},
			{[]string{"--instance", "i-web-1", "--port", "22", "--protocol", "icmp"}, "--port: icmp has no ports"},
			{[]string{"--instance", "i-web-1", "--port", "22", "--from", "the internet"}, `--from "the internet": want an IPv4 or IPv6 address`},
			{[]string{"--instance", "i-web-1", "--port", "22", "--region", "a,b"}, "explain looks in one region"},
			{[]string{"--instance", "i-web-1", "--prot", "22"}, "flag provided but not defined: -prot"},
		} {
			code, stdout, stderr := runCLI(t, append([]string{"explain", "--endpoints", ep}, tt.args...)...)
			require.Equal(t, 2, code, "%v: %s", tt.args, stderr)
			require.Empty(t, stdout)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			require.Contains(t, lines[len(lines)-1], tt.want)
		}
	})

	t.Run("ICMP", func(t *testing.T) {
		res := explainJSON(t, ep, "--instance", "i-web-1", "--protocol", "icmp")
		require.False(t, res.Allowed)
		require.Equal(t, 0, res.Port)
	})
}

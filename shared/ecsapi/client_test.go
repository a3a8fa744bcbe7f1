package ecsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/porthygiene/porthygiene/shared/rule"
	"github.com/stretchr/testify/require"
)

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	cfg := Config{Region: "cn-hangzhou", Credentials: testCreds}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("creds", "c", testCreds, "cfg", cfg)
	js, err := json.Marshal(struct{ C Credentials }{testCreds})
	require.NoError(t, err)

	for name, text := range map[string]string{
		"v":     fmt.Sprintf("%v", testCreds),
		"+v":    fmt.Sprintf("%+v", testCreds),
		"#v":    fmt.Sprintf("%#v", testCreds),
		"s":     fmt.Sprintf("%s", testCreds),
		"ptr":   fmt.Sprintf("%+v", &testCreds),
		"cfg+v": fmt.Sprintf("%+v", cfg),
		"cfg#v": fmt.Sprintf("%#v", cfg),
		"slog":  logBuf.String(),
		"json":  string(js),
	} {
		t.Run(name, func(t *testing.T) {
			requireNoSecrets(t, text)
			require.Contains(t, text, testCreds.AccessKeyID)
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	ok := Config{Region: "cn-hangzhou", Credentials: Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}}
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string
	}{
		{"NoRegion", func(c *Config) { c.Region = "" }, "region"},
		{"BadRegion", func(c *Config) { c.Region = "cn hangzhou" }, "region"},
		{"NoKey", func(c *Config) { c.Credentials.AccessKeyID = "" }, "AccessKeyID"},
		{"NoSecret", func(c *Config) { c.Credentials.AccessKeySecret = "" }, "AccessKeySecret"},
		{"NegativeTimeout", func(c *Config) { c.CallTimeout = -1 }, "CallTimeout"},
		{"MinAboveMax", func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond }, "MinBackoff"},
		{"EndpointScheme", func(c *Config) { c.Endpoint = "ftp://x" }, "endpoint"},
		{"EndpointPath", func(c *Config) { c.Endpoint = "http://127.0.0.1:8600/ecs" }, "endpoint"},
		{"NegativeBurst", func(c *Config) { c.Burst = -1 }, "burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			_, err := New(cfg)
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, tt.field)
		})
	}
	c, err := New(ok)
	require.NoError(t, err)
	require.Equal(t, DefaultCallTimeout, c.cfg.CallTimeout)
	require.Equal(t, DefaultMinBackoff, c.cfg.MinBackoff)
	require.Equal(t, DefaultMaxBackoff, c.cfg.MaxBackoff)
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		raw, region    string
		scheme, domain string
	}{
		{"", "cn-hangzhou", "https", "ecs-cn-hangzhou.aliyuncs.com"}, // from the SDK's endpoint map
		{"", "ap-southeast-1", "https", "ecs.ap-southeast-1.aliyuncs.com"},
		{"http://127.0.0.1:8600", "cn-hangzhou", "http", "127.0.0.1:8600"},
		{"https://ecs.cn-shanghai.aliyuncs.com/", "cn-shanghai", "https", "ecs.cn-shanghai.aliyuncs.com"},
		{"ecs.cn-beijing.aliyuncs.com", "cn-beijing", "https", "ecs.cn-beijing.aliyuncs.com"},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.region, func(t *testing.T) {
			scheme, domain, err := endpoint(tt.raw, tt.region)
			require.NoError(t, err)
			require.Equal(t, tt.scheme, scheme)
			require.Equal(t, tt.domain, domain)
		})
	}
}

func describeGroupsOK() (int, any) {
	return 200, map[string]any{"RequestId": "ok", "NextToken": "", "SecurityGroups": map[string]any{"SecurityGroup": []any{}}}
}

func TestRetriesThrottlingWithFreshRequests(t *testing.T) {
	var seen []Call
	s, c := newStubClient(t, func(n int, _ url.Values) (int, any) {
		if n <= 3 {
			return 400, apiErrorBody([]string{"Throttling", "Throttling.User", "ServiceUnavailable"}[n-1], "slow down")
		}
		return describeGroupsOK()
	}, func(cfg *Config) {
		cfg.OnCall = func(_ context.Context, c Call) { seen = append(seen, c) }
	})

	_, err := c.ListGroups(t.Context(), ListOptions{})
	require.NoError(t, err)

	reqs := s.requests()
	require.Len(t, reqs, 4)
	nonces := map[string]bool{}
	for _, r := range reqs {
		nonces[r.Get("SignatureNonce")] = true
		require.Equal(t, "DescribeSecurityGroups", r.Get("Action"))
		require.Equal(t, testCreds.SecurityToken, r.Get("SecurityToken"))
		require.Equal(t, "cn-hangzhou", r.Get("RegionId"))
	}
	require.Len(t, nonces, 4, "each retry must be a freshly signed request")
	require.Len(t, seen, 4)
	for i, call := range seen {
		require.Equal(t, i+1, call.Attempt)
		require.Equal(t, "DescribeSecurityGroups", call.Op)
	}
	require.ErrorIs(t, seen[0].Err, ErrThrottled)
	require.ErrorIs(t, seen[2].Err, ErrServer)
	require.NoError(t, seen[3].Err)
}

func TestNonRetryableErrorIsNotRetried(t *testing.T) {
	s, c := newStubClient(t, func(int, url.Values) (int, any) {
		return 404, apiErrorBody("InvalidSecurityGroupId.NotFound", "no such group")
	})
	_, err := c.DescribeRules(t.Context(), "sg-missing")
	require.ErrorIs(t, err, ErrNotFound)
	require.Len(t, s.requests(), 1)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "DescribeSecurityGroupAttribute", ae.Op)
	require.Equal(t, "REQ-InvalidSecurityGroupId.NotFound", ae.RequestID)
	require.Equal(t, 404, ae.HTTPStatus)
	require.ErrorContains(t, err, "sg-missing")
}

func TestRetriesStopBeforeTheDeadline(t *testing.T) {
	s, c := newStubClient(t, func(int, url.Values) (int, any) {
		return 400, apiErrorBody("Throttling.User", "Request was denied due to user flow control.")
	}, func(cfg *Config) {
		cfg.MinBackoff, cfg.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
	})
	const budget = 600 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), budget)
	defer cancel()
	start := time.Now()

	_, err := c.GroupTags(ctx, "sg-1")

	require.Less(t, time.Since(start), budget, "must give up before the deadline, leaving FC time to fail the invocation")
	require.ErrorIs(t, err, ErrThrottled)
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "giving up")
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Greater(t, ae.Attempts, 2)
	require.Equal(t, len(s.requests()), ae.Attempts)
	require.ErrorContains(t, err, strconv.Itoa(ae.Attempts)+" attempts")
}

func TestMaxAttemptsWithoutDeadline(t *testing.T) {
	s, c := newStubClient(t, func(int, url.Values) (int, any) {
		return 503, apiErrorBody("ServiceUnavailable", "down")
	})
	_, err := c.GroupTags(context.WithoutCancel(t.Context()), "sg-1")
	require.ErrorIs(t, err, ErrServer)
	require.Len(t, s.requests(), DefaultMaxAttemptsNoDeadline)
}

func TestCancelInterruptsBackoffAndKeepsCause(t *testing.T) {
	_, c := newStubClient(t, func(int, url.Values) (int, any) {
		return 400, apiErrorBody("Throttling", "slow down")
	}, func(cfg *Config) { cfg.MinBackoff, cfg.MaxBackoff = time.Second, 2*time.Second })
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)

	_, err := c.GroupTags(ctx, "sg-1")

	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, ErrThrottled)
}

func TestSlowCallEndsWithContext(t *testing.T) {
	release := make(chan struct{})
	_, c := newStubClient(t, func(int, url.Values) (int, any) {
		<-release
		return describeGroupsOK()
	})
	t.Cleanup(func() { close(release) }) // before the server's Close (cleanups run last-in first-out)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ListGroups(ctx, ListOptions{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second)
}

func TestCallTimeoutOnEveryRequest(t *testing.T) {
	// The SDK keeps the first call's timeout for later calls unless each
	// request sets one; ours must time out at CallTimeout every time.
	var slow atomic.Bool
	_, c := newStubClient(t, func(int, url.Values) (int, any) {
		if slow.Load() {
			time.Sleep(time.Second)
		}
		return describeGroupsOK()
	}, func(cfg *Config) { cfg.CallTimeout = 300 * time.Millisecond; cfg.MaxAttempts = 1 })
	_, err := c.ListGroups(t.Context(), ListOptions{})
	require.NoError(t, err)
	slow.Store(true)
	start := time.Now()
	_, err = c.ListGroups(t.Context(), ListOptions{})
	require.ErrorIs(t, err, ErrServer)
	require.Less(t, time.Since(start), 900*time.Millisecond)
}

func TestErrorsNeverContainCredentials(t *testing.T) {
	t.Run("EchoingServer", func(t *testing.T) {
		// A server that echoes everything it got, plus the secret itself.
		_, c := newStubClient(t, func(_ int, p url.Values) (int, any) {
			return 400, apiErrorBody("SignatureDoesNotMatch",
				"bad: "+p.Encode()+" secret="+testCreds.AccessKeySecret+" server string to sign is:"+p.Encode())
		})
		_, err := c.DescribeRules(t.Context(), "sg-1")
		require.ErrorIs(t, err, ErrForbidden)
		requireNoSecrets(t, err.Error())
		requireNoSecrets(t, fmt.Sprintf("%+v", err))
	})
	t.Run("Throttled", func(t *testing.T) {
		_, c := newStubClient(t, func(_ int, p url.Values) (int, any) {
			return 400, apiErrorBody("Throttling", "token "+p.Get("SecurityToken"))
		}, func(cfg *Config) { cfg.MaxAttempts = 2 })
		err := c.Authorize(t.Context(), "sg-1", rule.Ingress, []rule.Permission{{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "10.0.0.0/8"}})
		require.ErrorIs(t, err, ErrThrottled)
		requireNoSecrets(t, err.Error())
	})
	t.Run("TransportFailure", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		c, err := New(Config{Region: "cn-hangzhou", Endpoint: "http://" + addr, Credentials: testCreds,
			MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxAttempts: 2})
		require.NoError(t, err)
		_, err = c.RevokeByID(t.Context(), "sg-1", rule.Ingress, []string{"sgr-1"})
		require.ErrorIs(t, err, ErrServer)
		require.ErrorContains(t, err, "RevokeSecurityGroup")
		requireNoSecrets(t, err.Error())
		require.NotContains(t, err.Error(), "Signature=")
	})
}

func TestAuthorizeBatchesAndReusesClientTokenAcrossRetries(t *testing.T) {
	s, c := newStubClient(t, func(n int, _ url.Values) (int, any) {
		if n == 2 { // the second batch's first attempt fails
			return 503, apiErrorBody("ServiceUnavailable", "down")
		}
		return 200, map[string]string{"RequestId": "ok"}
	})
	perms := make([]rule.Permission, 250)
	for i := range perms {
		perms[i] = rule.Permission{IpProtocol: "tcp", PortRange: fmt.Sprintf("%d/%d", i+1, i+1),
			SourceCidrIp: "10.0.0.0/8", Policy: "accept", Priority: "1", Description: "d" + strconv.Itoa(i)}
	}

	require.NoError(t, c.Authorize(t.Context(), "sg-1", rule.Ingress, perms))

	reqs := s.requests()
	require.Len(t, reqs, 4)
	tok := func(i int) string { return reqs[i].Get("ClientToken") }
	for i := range reqs {
		require.Len(t, tok(i), 36, "a UUID")
		require.Equal(t, "AuthorizeSecurityGroup", reqs[i].Get("Action"))
	}
	require.Equal(t, tok(1), tok(2), "a retry reuses its call's ClientToken")
	require.NotEqual(t, reqs[1].Get("SignatureNonce"), reqs[2].Get("SignatureNonce"))
	require.NotEqual(t, tok(0), tok(1))
	require.NotEqual(t, tok(2), tok(3))
	require.Equal(t, "1/1", reqs[0].Get("Permissions.1.PortRange"))
	require.Equal(t, "100/100", reqs[0].Get("Permissions.100.PortRange"))
	require.Empty(t, reqs[0].Get("Permissions.101.PortRange"))
	require.Equal(t, "101/101", reqs[1].Get("Permissions.1.PortRange"))
	require.Equal(t, "250/250", reqs[3].Get("Permissions.50.PortRange"))
	require.Equal(t, "d249", reqs[3].Get("Permissions.50.Description"))
	require.Empty(t, reqs[0].Get("SourceCidrIp"), "only Permissions.N, never the deprecated top-level fields")
}

func TestAuthorizeRefusesFieldsTheDirectionCannotCarry(t *testing.T) {
	s, c := newStubClient(t, func(int, url.Values) (int, any) { return 200, map[string]string{"RequestId": "ok"} })
	tests := []struct {
		name string
		dir  rule.Direction
		p    rule.Permission
	}{
		{"IngressDestGroup", rule.Ingress, rule.Permission{IpProtocol: "tcp", PortRange: "22/22", DestGroupId: "sg-2"}},
		{"IngressDestPrefixList", rule.Ingress, rule.Permission{IpProtocol: "tcp", PortRange: "22/22", DestPrefixListId: "pl-1"}},
		{"EgressSourceGroup", rule.Egress, rule.Permission{IpProtocol: "tcp", PortRange: "22/22", SourceGroupId: "sg-2"}},
		{"DirectionMismatch", rule.Egress, rule.Permission{Direction: "ingress", IpProtocol: "tcp", PortRange: "22/22", DestCidrIp: "0.0.0.0/0"}},
		{"BadDirection", rule.Direction("both"), rule.Permission{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Authorize(t.Context(), "sg-1", tt.dir, []rule.Permission{tt.p})
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
	require.Empty(t, s.requests(), "nothing may be sent")
}

func TestRevokeRejectedTwiceIsNotRuleGone(t *testing.T) {
	// Every revoke fails with InvalidParam.SecurityGroupRuleId while the
	// describe says the rules exist: the group keeps changing under us.
	s, c := newStubClient(t, func(_ int, p url.Values) (int, any) {
		if p.Get("Action") == "DescribeSecurityGroupAttribute" {
			return 200, attributeBody("sg-1", "",
				permJSON("sgr-a", "ingress", "22/22"), permJSON("sgr-b", "ingress", "80/80"))
		}
		return 400, apiErrorBody("InvalidParam.SecurityGroupRuleId", "The specified SecurityGroupRuleId is invalid.")
	})

	res, err := c.RevokeByID(t.Context(), "sg-1", rule.Ingress, []string{"sgr-a", "sgr-b", "sgr-gone"})

	require.Error(t, err)
	require.NotErrorIs(t, err, ErrRuleGone, "must not read as 'already gone': sgr-a and sgr-b are still there")
	require.ErrorIs(t, err, ErrServer)
	require.Empty(t, res.Revoked)
	require.Equal(t, []string{"sgr-gone"}, res.Gone)
	actions := []string{}
	for _, r := range s.requests() {
		actions = append(actions, r.Get("Action"))
	}
	require.Equal(t, []string{"RevokeSecurityGroup", "DescribeSecurityGroupAttribute", "RevokeSecurityGroup"}, actions)
	require.Equal(t, "sgr-a", s.requests()[2].Get("SecurityGroupRuleId.1"))
	require.Equal(t, "sgr-b", s.requests()[2].Get("SecurityGroupRuleId.2"))
	require.Empty(t, s.requests()[2].Get("SecurityGroupRuleId.3"))
}

func TestRevokeRefusesWrongDirectionId(t *testing.T) {
	_, c := newStubClient(t, func(_ int, p url.Values) (int, any) {
		if p.Get("Action") == "DescribeSecurityGroupAttribute" {
			return 200, attributeBody("sg-1", "", permJSON("sgr-in", "ingress", "22/22"))
		}
		return 400, apiErrorBody("InvalidParam.SecurityGroupRuleId", "invalid")
	})
	_, err := c.RevokeByID(t.Context(), "sg-1", rule.Egress, []string{"sgr-in"})
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "sgr-in")
}

func TestDescribeRulesFailsOnUnparseableRule(t *testing.T) {
	_, c := newStubClient(t, func(int, url.Values) (int, any) {
		return 200, attributeBody("sg-1", "",
			permJSON("sgr-ok", "ingress", "22/22"),
			permJSON("sgr-bad", "ingress", "99999/1"),
			permJSON("", "ingress", "80/80"))
	})
	_, err := c.DescribeRules(t.Context(), "sg-1")
	require.Error(t, err)
	require.ErrorContains(t, err, "sgr-bad")
	require.ErrorContains(t, err, "without SecurityGroupRuleId")
	require.NotContains(t, err.Error(), "sgr-ok")
}

func TestDescribeRulesFollowsNextToken(t *testing.T) {
	s, c := newStubClient(t, func(n int, p url.Values) (int, any) {
		switch p.Get("NextToken") {
		case "":
			return 200, attributeBody("sg-1", "t1", permJSON("sgr-1", "ingress", "22/22"))
		case "t1":
			return 200, attributeBody("sg-1", "t2", permJSON("sgr-2", "egress", "443/443"))
		default:
			return 200, attributeBody("sg-1", "", permJSON("sgr-3", "ingress", "80/80"))
		}
	})
	attr, err := c.DescribeRules(t.Context(), "sg-1")
	require.NoError(t, err)
	require.Len(t, attr.Rules, 3)
	require.Equal(t, rule.Egress, attr.Rules[1].Direction)
	require.Empty(t, attr.NextToken)
	for _, r := range s.requests() {
		require.Equal(t, "all", r.Get("Direction"))
		require.Equal(t, "1000", r.Get("MaxResults"))
	}
}

func TestRepeatedNextTokenFails(t *testing.T) {
	_, c := newStubClient(t, func(int, url.Values) (int, any) {
		return 200, attributeBody("sg-1", "same", permJSON("sgr-1", "ingress", "22/22"))
	})
	_, err := c.DescribeRules(t.Context(), "sg-1")
	require.ErrorIs(t, err, ErrServer, "a response we cannot trust is the service's failure")
	require.ErrorContains(t, err, "repeated")
}

func attributeBody(groupID, next string, perms ...map[string]any) map[string]any {
	return map[string]any{
		"RequestId": "ok", "RegionId": "cn-hangzhou", "SecurityGroupId": groupID, "VpcId": "vpc-1",
		"InnerAccessPolicy": "Accept", "NextToken": next,
		"Permissions": map[string]any{"Permission": perms},
	}
}

func permJSON(id, dir, ports string) map[string]any {
	src, dst := "0.0.0.0/0", ""
	if dir == "egress" {
		src, dst = dst, src
	}
	return map[string]any{
		"SecurityGroupRuleId": id, "Direction": dir, "IpProtocol": "TCP", "PortRange": ports,
		"SourceCidrIp": src, "DestCidrIp": dst, "Policy": "Accept", "Priority": 1,
		"NicType": "intranet", "Description": "", "CreateTime": "2024-01-01T00:00:00Z",
	}
}

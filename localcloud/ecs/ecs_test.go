package ecs_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkauth "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
)

var integration = flag.Bool("integration", false,
	"also run the ECS contract suite against a real Alibaba Cloud account (needs ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET and PORTHYGIENE_IT_REGION/VPC_ID; creates and deletes security groups)")

func TestContractEmulator(t *testing.T) {
	e := newEmulator(t)
	runContract(t, func(t *testing.T) *ecs.Client { return e.client(t, e.op) }, contractEnv{
		Region:         "cn-hangzhou",
		VpcID:          "vpc-bp1main0000000000000",
		InstanceID:     "i-bp1web100000000000000",
		SecondaryENIID: "eni-bp1db1second000000",
		PrefixListID:   "pl-bp1office0000000000",
		BadSecret: func(t *testing.T) *ecs.Client {
			bad := e.op
			bad.AccessKeySecret = "not-the-secret"
			return e.client(t, bad)
		},
		UnknownKey: func(t *testing.T) *ecs.Client {
			return e.client(t, auth.Credential{AccessKeyID: "LTAIunknown000000", AccessKeySecret: "x"})
		},
		STS: func(t *testing.T) *ecs.Client {
			return e.client(t, e.auth.IssueSTS("porthygiene-fc", "contract", e.clock.Now(), time.Hour))
		},
		emu: e,
	})
}

// TestContractIntegration runs the same suite against a real account. Never in
// CI: it needs -integration and credentials, and it creates security groups
// and prefix lists (named porthygiene-contract-*, deleted at the end) in the
// sandbox VPC's region; the key needs ecs:CreatePrefixList, ModifyPrefixList,
// DeletePrefixList, DescribePrefixLists, DescribePrefixListAttributes and
// DescribePrefixListAssociations besides the security-group actions.
func TestContractIntegration(t *testing.T) {
	if !*integration {
		t.Skip("real-account contract run disabled: pass -integration with ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, PORTHYGIENE_IT_REGION, PORTHYGIENE_IT_VPC_ID (optional: PORTHYGIENE_IT_INSTANCE_ID, PORTHYGIENE_IT_SECONDARY_ENI_ID, PORTHYGIENE_IT_PREFIX_LIST_ID, ALIBABA_CLOUD_SECURITY_TOKEN)")
	}
	ak, sk := os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	region, vpc := os.Getenv("PORTHYGIENE_IT_REGION"), os.Getenv("PORTHYGIENE_IT_VPC_ID")
	if ak == "" || sk == "" || region == "" || vpc == "" {
		t.Skip("-integration needs ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, PORTHYGIENE_IT_REGION and PORTHYGIENE_IT_VPC_ID")
	}
	mk := func(t *testing.T, cred sdkauth.Credential) *ecs.Client {
		cfg := sdk.NewConfig()
		cfg.Scheme = "HTTPS"
		c, err := ecs.NewClientWithOptions(region, cfg, cred)
		require.NoError(t, err)
		return c
	}
	env := contractEnv{
		Region: region, VpcID: vpc,
		InstanceID:     os.Getenv("PORTHYGIENE_IT_INSTANCE_ID"),
		SecondaryENIID: os.Getenv("PORTHYGIENE_IT_SECONDARY_ENI_ID"),
		PrefixListID:   os.Getenv("PORTHYGIENE_IT_PREFIX_LIST_ID"),
		BadSecret: func(t *testing.T) *ecs.Client {
			return mk(t, credentials.NewAccessKeyCredential(ak, sk+"x"))
		},
		UnknownKey: func(t *testing.T) *ecs.Client {
			return mk(t, credentials.NewAccessKeyCredential("LTAIporthygieneunknown", "x"))
		},
	}
	if tok := os.Getenv("ALIBABA_CLOUD_SECURITY_TOKEN"); tok != "" {
		env.STS = func(t *testing.T) *ecs.Client {
			return mk(t, credentials.NewStsTokenCredential(ak, sk, tok))
		}
	}
	runContract(t, func(t *testing.T) *ecs.Client { return mk(t, credentials.NewAccessKeyCredential(ak, sk)) }, env)
}

// The emulator also serves absolute-form proxy requests: an SDK client with no
// endpoint override and HTTP_PROXY set reaches it with r.Host = the cloud host.
func TestProxyMode(t *testing.T) {
	e := newEmulator(t)
	t.Setenv("HTTP_PROXY", e.hs.URL)
	t.Setenv("http_proxy", e.hs.URL)
	c, err := ecs.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(), credentials.NewAccessKeyCredential(e.op.AccessKeyID, e.op.AccessKeySecret))
	require.NoError(t, err)
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-bp1web0000000000000"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "TCP", PortRange: "8000/8000", SourceCidrIp: "10.0.0.0/8"}}
	resp, err := c.AuthorizeSecurityGroup(req)
	require.NoError(t, err)
	rec, ok := e.trail.byRequestID(resp.RequestId)
	require.True(t, ok)
	require.Equal(t, "ecs-cn-hangzhou.aliyuncs.com", rec.RequestParameters["AcsHost"])
}

func TestWorldRoundTrip(t *testing.T) {
	e := newEmulator(t)
	w := e.srv.World()
	b, err := json.MarshalIndent(w, "", "  ")
	require.NoError(t, err)
	w2, err := lcecs.DecodeWorld(b)
	require.NoError(t, err)
	s2 := lcecs.New(lcecs.Config{Auth: auth.NewStore()})
	require.NoError(t, s2.Load(w2))
	b2, err := json.MarshalIndent(s2.World(), "", "  ")
	require.NoError(t, err)
	require.JSONEq(t, string(b), string(b2))
	require.Contains(t, string(b), `"Priority": 5`)
	require.Contains(t, string(b), `"SourcePrefixListName": "office"`)

	// Changes made through the API survive an export/import.
	c := e.client(t, e.op)
	req := ecs.CreateAuthorizeSecurityGroupEgressRequest()
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-bp1db00000000000000"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupEgressPermissions{{IpProtocol: "UDP", PortRange: "53/53", Ipv6DestCidrIp: "2001:db8::/32", SourcePortRange: "1024/65535"}}
	_, err = c.AuthorizeSecurityGroupEgress(req)
	require.NoError(t, err)
	s3 := lcecs.New(lcecs.Config{Auth: auth.NewStore()})
	require.NoError(t, s3.Load(e.srv.World()))
	require.Equal(t, e.srv.World(), s3.World())
	rules, ok := s3.Rules("sg-bp1db00000000000000")
	require.True(t, ok)
	last := rules[len(rules)-1]
	require.Equal(t, netip.MustParsePrefix("2001:db8::/32"), last.Peer)
	require.Equal(t, 1024, last.SourcePortFrom)
}

func TestLoadRejectsBadWorldsAndKeepsState(t *testing.T) {
	e := newEmulator(t)
	before := e.srv.World()
	for name, mutate := range map[string]func(w *lcecs.World){
		"UnknownVpc": func(w *lcecs.World) { w.Regions[0].SecurityGroups[0].VpcID = "vpc-nope" },
		"BadRule": func(w *lcecs.World) {
			w.Regions[0].SecurityGroups[0].Permissions[0].PortRange = "22"
		},
		"UnknownPeerGroup": func(w *lcecs.World) {
			w.Regions[0].SecurityGroups[1].Permissions[0].SourceGroupID = "sg-nope"
		},
		"ENIUnknownGroup": func(w *lcecs.World) {
			w.Regions[0].NetworkInterfaces[0].SecurityGroupIDs = []string{"sg-nope"}
		},
		"InstanceWithoutPrimary": func(w *lcecs.World) {
			w.Regions[0].NetworkInterfaces = w.Regions[0].NetworkInterfaces[1:]
		},
		"DuplicateRule": func(w *lcecs.World) {
			p := w.Regions[0].SecurityGroups[0].Permissions[0]
			p.SecurityGroupRuleID, p.Description = "", "same tuple"
			w.Regions[0].SecurityGroups[0].Permissions = append(w.Regions[0].SecurityGroups[0].Permissions, p)
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := testWorld()
			mutate(&w)
			require.Error(t, e.srv.Load(w))
			require.Equal(t, before, e.srv.World(), "a failed Load keeps the previous state")
		})
	}
	_, err := lcecs.DecodeWorld([]byte(`{"Regions":[{"RegionId":"cn-hangzhou","Typo":1}]}`))
	require.Error(t, err)
}

func TestDecide(t *testing.T) {
	e := newEmulator(t)
	ip := netip.MustParseAddr
	web, dbSecond, dbPrimary := "eni-bp1web1primary00000", "eni-bp1db1second000000", "eni-bp1db1primary000000"
	for _, tc := range []struct {
		name            string
		eni, dir, proto string
		port            int
		remote          string
		want            bool
	}{
		{"SSHFromCorp", web, "ingress", "tcp", 22, "10.1.2.3", true},
		{"SSHFromInternet", web, "ingress", "tcp", 22, "8.8.8.8", false},
		{"HTTPSFromInternet", web, "ingress", "TCP", 443, "8.8.8.8", true},
		// 10.9/16 ALL drop at priority 1 beats the 10/8 ssh accept at priority 1 (drop wins ties)
		{"DropWinsTie", web, "ingress", "tcp", 22, "10.9.1.1", false},
		{"PrefixListPeer", web, "ingress", "tcp", 8080, "203.0.113.50", true},
		{"PrefixListMiss", web, "ingress", "tcp", 8080, "192.0.2.1", false},
		{"UDPNotTCP", web, "ingress", "udp", 443, "8.8.8.8", false},
		{"IANANumber", web, "ingress", "6", 443, "8.8.8.8", true},
		{"IANANumberUDP", web, "ingress", "17", 443, "8.8.8.8", false},
		{"EgressDefaultAllow", web, "egress", "tcp", 5432, "8.8.8.8", true},
		// db: egress drop-all at 100 with https to 100.100/16 accepted at 1
		{"EgressAcceptRule", dbPrimary, "egress", "tcp", 443, "100.100.1.1", true},
		{"EgressDropAll", dbPrimary, "egress", "tcp", 443, "8.8.8.8", false},
		// mysql from members of sg-web (web-1's primary ENI address)
		{"GroupPeer", dbPrimary, "ingress", "tcp", 3306, "10.0.1.10", true},
		{"GroupPeerNotMember", dbPrimary, "ingress", "tcp", 3306, "10.0.5.5", false},
		// the secondary db ENI is in sg-db and sg-web: rules of both apply
		{"MergedGroups", dbSecond, "ingress", "tcp", 443, "8.8.8.8", true},
		// same-group peers: web-1 and the db secondary ENI share sg-web (basic, Accept)
		{"SameGroupPeer", web, "ingress", "tcp", 9999, "10.0.1.22", true},
		{"NotSameGroup", dbPrimary, "ingress", "tcp", 9999, "10.0.1.30", false},
		{"UnknownENI", "eni-nope", "ingress", "tcp", 22, "10.1.1.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, e.srv.Decide(tc.eni, tc.dir, tc.proto, tc.port, ip(tc.remote)))
		})
	}
}

func TestInspectionHelpers(t *testing.T) {
	e := newEmulator(t)
	rules, ok := e.srv.Rules("sg-bp1web0000000000000")
	require.True(t, ok)
	require.Len(t, rules, 4)
	require.Equal(t, lcecs.RuleView{
		ID: "sgr-bp1web0000000000ssh", GroupID: "sg-bp1web0000000000000", Direction: "ingress", Protocol: "TCP",
		PortFrom: 22, PortTo: 22, Policy: "Accept", Priority: 1, Peer: netip.MustParsePrefix("10.0.0.0/8"),
		Description: "ssh from corp", CreateTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}, rules[0])
	_, ok = e.srv.Rules("sg-nope")
	require.False(t, ok)
	n, ok := e.srv.ENI("eni-bp1db1second000000")
	require.True(t, ok)
	require.Equal(t, []netip.Addr{netip.MustParseAddr("10.0.1.21"), netip.MustParseAddr("10.0.1.22")}, n.PrivateIPs)
	require.Equal(t, []string{"sg-bp1db00000000000000", "sg-bp1web0000000000000"}, n.SecurityGroupIDs)
	require.Equal(t, "replication", n.Tags["role"])
	require.Len(t, e.srv.ENIs("cn-hangzhou"), 3)
	require.Empty(t, e.srv.ENIs("cn-shanghai"))
}

// Concurrent writers and readers through the SDK; run with -race.
func TestConcurrentRequests(t *testing.T) {
	e := newEmulator(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client(t, e.op)
			for i := range 10 {
				req := ecs.CreateAuthorizeSecurityGroupRequest()
				req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-bp1web0000000000000"
				req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "TCP", PortRange: fmt.Sprintf("%d/%d", 10000+w*100+i, 10000+w*100+i), SourceCidrIp: "10.0.0.0/8"}}
				_, err := c.AuthorizeSecurityGroup(req)
				require.NoError(t, err)
				d := ecs.CreateDescribeSecurityGroupAttributeRequest()
				d.RegionId, d.SecurityGroupId = "cn-hangzhou", "sg-bp1web0000000000000"
				_, err = c.DescribeSecurityGroupAttribute(d)
				require.NoError(t, err)
				_ = e.srv.Decide("eni-bp1web1primary00000", "ingress", "tcp", 22, netip.MustParseAddr("10.0.0.1"))
			}
		}()
	}
	wg.Wait()
	rules, _ := e.srv.Rules("sg-bp1web0000000000000")
	require.Len(t, rules, 4+40)
}

func TestEnterpriseGroupRestrictions(t *testing.T) {
	e := newEmulator(t)
	c := e.client(t, e.op)
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-bp1ent00000000000000"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "10.0.0.0/8", Policy: "drop"}}
	_, err := c.AuthorizeSecurityGroup(req)
	requireCode(t, err, 400, "InvalidGroupParameter.OperationDenied")
	req = ecs.CreateAuthorizeSecurityGroupRequest() // never reuse an SDK request
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-bp1ent00000000000000"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "TCP", PortRange: "22/22", SourceGroupId: "sg-bp1web0000000000000"}}
	_, err = c.AuthorizeSecurityGroup(req)
	requireCode(t, err, 400, "InvalidGroupAuthParameter.OperationDenied")

	d := ecs.CreateDescribeSecurityGroupAttributeRequest()
	d.RegionId, d.SecurityGroupId = "cn-hangzhou", "sg-bp1ent00000000000000"
	resp, err := c.DescribeSecurityGroupAttribute(d)
	require.NoError(t, err)
	require.Equal(t, "Drop", resp.InnerAccessPolicy)

	// a group referenced by another group's rule cannot be deleted
	del := ecs.CreateDeleteSecurityGroupRequest()
	del.RegionId, del.SecurityGroupId = "cn-hangzhou", "sg-bp1web0000000000000"
	_, err = c.DeleteSecurityGroup(del)
	requireCode(t, err, 403, "DependencyViolation")
}

func TestMiscValidation(t *testing.T) {
	e := newEmulator(t)
	c := e.client(t, e.op)
	// same-group reference is refused on authorize
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-bp1web0000000000000"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "TCP", PortRange: "22/22", SourceGroupId: "sg-bp1web0000000000000"}}
	_, err := c.AuthorizeSecurityGroup(req)
	requireCode(t, err, 403, "InvalidParamter.Conflict")
	// two identical permissions in one call
	p := ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "7/7", SourceCidrIp: "10.0.0.0/8"}
	req = ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-bp1web0000000000000"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{p, p}
	_, err = c.AuthorizeSecurityGroup(req)
	requireCode(t, err, 400, "InvalidParam.DuplicatePermissions")
	// ICMPv6 needs an IPv6 peer
	req = ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-bp1web0000000000000"
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "ICMPv6", SourceCidrIp: "10.0.0.0/8"}}
	_, err = c.AuthorizeSecurityGroup(req)
	requireCode(t, err, 400, "InvalidParam.Ipv6ProtocolConflictWithIpv4Address")
	// DescribeSecurityGroupAttribute MaxResults range
	d := ecs.CreateDescribeSecurityGroupAttributeRequest()
	d.RegionId, d.SecurityGroupId, d.MaxResults = "cn-hangzhou", "sg-bp1web0000000000000", requests.NewInteger(5)
	_, err = c.DescribeSecurityGroupAttribute(d)
	requireCode(t, err, 400, "InvalidParameter")
	// unknown region id
	g := ecs.CreateDescribeSecurityGroupsRequest()
	g.RegionId = "mars-north-1"
	_, err = c.DescribeSecurityGroups(g)
	requireCode(t, err, 400, "InvalidRegionId.NotFound")
	// CreateSecurityGroup in an unknown VPC
	cr := ecs.CreateCreateSecurityGroupRequest()
	cr.RegionId, cr.VpcId = "cn-hangzhou", "vpc-nope"
	_, err = c.CreateSecurityGroup(cr)
	requireCode(t, err, 404, "InvalidVpcId.NotFound")
	// ClientToken makes CreateSecurityGroup idempotent
	cr = ecs.CreateCreateSecurityGroupRequest()
	cr.RegionId, cr.VpcId, cr.ClientToken = "cn-hangzhou", "vpc-bp1main0000000000000", "tok-1"
	r1, err := c.CreateSecurityGroup(cr)
	require.NoError(t, err)
	r2, err := c.CreateSecurityGroup(cr)
	require.NoError(t, err)
	require.Equal(t, r1.SecurityGroupId, r2.SecurityGroupId)
	require.True(t, strings.HasPrefix(r1.SecurityGroupId, "sg-bp"))
	require.Len(t, r1.SecurityGroupId, len("sg-")+20)
	// ListTagResources with a fuzzy TagFilter on instances
	lt := ecs.CreateListTagResourcesRequest()
	lt.RegionId, lt.ResourceType = "cn-hangzhou", "eni"
	lt.TagFilter = &[]ecs.ListTagResourcesTagFilter{{TagKey: "role", TagValues: &[]string{"repl*"}}}
	tr, err := c.ListTagResources(lt)
	require.NoError(t, err)
	require.Equal(t, []ecs.TagResource{{ResourceId: "eni-bp1db1second000000", ResourceType: "eni", TagKey: "role", TagValue: "replication"}}, tr.TagResources.TagResource)
	lt.ResourceType = "SecurityGroup"
	_, err = c.ListTagResources(lt)
	requireCode(t, err, 400, "InvalidResourceType.NotSupported")
}

// The example in SEED.md is a valid seed.
func TestSeedExampleLoads(t *testing.T) {
	doc, err := os.ReadFile("SEED.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	require.True(t, ok)
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	w, err := lcecs.DecodeWorld([]byte(example))
	require.NoError(t, err)
	s := lcecs.New(lcecs.Config{Auth: auth.NewStore()})
	require.NoError(t, s.Load(w))
	rules, ok := s.Rules("sg-bp1web")
	require.True(t, ok)
	require.Len(t, rules, 3)
	require.Equal(t, 5, rules[1].Priority)
	require.True(t, s.Decide("eni-bp1web1", "ingress", "tcp", 8080, netip.MustParseAddr("203.0.113.9")))
	require.False(t, s.Decide("eni-bp1web1", "egress", "tcp", 443, netip.MustParseAddr("8.8.8.8")))
}

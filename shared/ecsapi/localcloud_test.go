package ecsapi_test

// Integration tests: the adapter, with the unmodified SDK under it, against
// localcloud's ECS emulator over loopback. Outcomes are asserted on the
// emulator's state and on what the adapter returns, not on call order.

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/rule"
)

const (
	region   = "cn-hangzhou"
	vpcMain  = "vpc-bp1main0000000000000"
	vpcOther = "vpc-bp1other000000000000"
	vswMain  = "vsw-bp1h0000000000000000"
	sgBig    = "sg-bp1big0000000000000"
	sgWeb    = "sg-bp1web0000000000000"
	plOffice = "pl-bp1office0000000000"
	instApp  = "i-bp1app00000000000000"
	eniAppP  = "eni-bp1appprimary00000"
	eniAppS  = "eni-bp1appsecond000000"
	bigRules = 25 // ingress rules of sgBig, plus one egress rule
	listed   = 25 // groups sgList(0..24) in vpcMain
)

func sgList(i int) string { return fmt.Sprintf("sg-bp1list%011d", i) }

// world: sgBig with 26 rules; sgWeb with ssh/rdp/https open to the world and
// an egress rule; 25 plain groups (every third tagged env=prod) plus one in
// another VPC; an instance whose primary ENI is in sgWeb and whose secondary
// ENI is in sgBig and sgList(0); a prefix list.
func world() lcecs.World {
	var big []lcecs.Permission
	for i := range bigRules {
		big = append(big, lcecs.Permission{
			SecurityGroupRuleID: fmt.Sprintf("sgr-bp1big%013d", i), Direction: "ingress", IpProtocol: "TCP",
			PortRange: fmt.Sprintf("%d/%d", 1000+i, 1000+i), SourceCidrIp: "10.0.0.0/8", Policy: "Accept",
			Priority: lcecs.Priority(1 + i%100), Description: fmt.Sprintf("rule %d", i),
		})
	}
	big = append(big, lcecs.Permission{SecurityGroupRuleID: "sgr-bp1bigegress000000", Direction: "egress",
		IpProtocol: "ALL", PortRange: "-1/-1", DestCidrIp: "0.0.0.0/0", Policy: "Drop", Priority: 100})
	groups := []lcecs.SecurityGroup{
		{SecurityGroupID: sgBig, SecurityGroupName: "big", Description: "many rules", VpcID: vpcMain, Permissions: big},
		{SecurityGroupID: sgWeb, SecurityGroupName: "web", VpcID: vpcMain,
			Tags: []lcecs.Tag{{Key: "env", Value: "prod"}, {Key: "tier", Value: "web"}},
			Permissions: []lcecs.Permission{
				{SecurityGroupRuleID: "sgr-bp1webssh000000000", Direction: "ingress", IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0"},
				{SecurityGroupRuleID: "sgr-bp1webrdp000000000", Direction: "ingress", IpProtocol: "TCP", PortRange: "3389/3389", SourceCidrIp: "0.0.0.0/0"},
				{SecurityGroupRuleID: "sgr-bp1webhttps0000000", Direction: "ingress", IpProtocol: "TCP", PortRange: "443/443", SourceCidrIp: "0.0.0.0/0"},
				{SecurityGroupRuleID: "sgr-bp1webegress000000", Direction: "egress", IpProtocol: "TCP", PortRange: "25/25", DestCidrIp: "0.0.0.0/0", Policy: "Drop"},
			}},
		{SecurityGroupID: "sg-bp1other00000000000", SecurityGroupName: "other", VpcID: vpcOther},
	}
	for i := range listed {
		g := lcecs.SecurityGroup{SecurityGroupID: sgList(i), SecurityGroupName: fmt.Sprintf("list-%d", i), VpcID: vpcMain}
		if i%3 == 0 {
			g.Tags = []lcecs.Tag{{Key: "env", Value: "prod"}}
		}
		groups = append(groups, g)
	}
	return lcecs.World{Regions: []lcecs.Region{{
		RegionID:       region,
		Zones:          []string{"cn-hangzhou-h"},
		Vpcs:           []lcecs.Vpc{{VpcID: vpcMain, CidrBlock: "10.0.0.0/16"}, {VpcID: vpcOther, CidrBlock: "172.16.0.0/16"}},
		VSwitches:      []lcecs.VSwitch{{VSwitchID: vswMain, VpcID: vpcMain, ZoneID: "cn-hangzhou-h", CidrBlock: "10.0.1.0/24"}},
		SecurityGroups: groups,
		Instances:      []lcecs.Instance{{InstanceID: instApp, ZoneID: "cn-hangzhou-h", VpcID: vpcMain, VSwitchID: vswMain}},
		NetworkInterfaces: []lcecs.NetworkInterface{
			{NetworkInterfaceID: eniAppP, Type: "Primary", InstanceID: instApp, VpcID: vpcMain, VSwitchID: vswMain, ZoneID: "cn-hangzhou-h",
				PrivateIPAddress: "10.0.1.10", PublicIPAddress: "47.96.0.10", SecurityGroupIDs: []string{sgWeb}},
			{NetworkInterfaceID: eniAppS, Type: "Secondary", InstanceID: instApp, DeviceIndex: 1, VpcID: vpcMain, VSwitchID: vswMain,
				ZoneID: "cn-hangzhou-h", PrivateIPAddress: "10.0.1.11", SecurityGroupIDs: []string{sgBig, sgList(0)}},
		},
		PrefixLists: []lcecs.PrefixList{{PrefixListID: plOffice, PrefixListName: "office", MaxEntries: 10,
			Entries: []lcecs.PrefixListEntry{{Cidr: "203.0.113.0/24"}, {Cidr: "198.51.100.7"}}}},
	}}}
}

type cloud struct {
	srv    *lcecs.Server
	url    string
	clock  *vclock.Clock
	auth   *auth.Store
	stats  *stats.Stats
	faults *faults.Set
	alice  auth.Credential
}

func newCloud(t *testing.T) *cloud {
	t.Helper()
	c := &cloud{clock: vclock.New(time.Now()), auth: auth.NewStore(), stats: &stats.Stats{}, faults: &faults.Set{}}
	c.alice = c.auth.AddUser("alice")
	c.srv = lcecs.New(lcecs.Config{Clock: c.clock, Auth: c.auth, Stats: c.stats, Faults: c.faults, DefaultRegion: region})
	require.NoError(t, c.srv.Load(world()))
	hs := httptest.NewServer(c.srv)
	t.Cleanup(hs.Close)
	c.url = hs.URL
	return c
}

func creds(a auth.Credential) ecsapi.Credentials {
	return ecsapi.Credentials{AccessKeyID: a.AccessKeyID, AccessKeySecret: a.AccessKeySecret, SecurityToken: a.SecurityToken}
}

func (c *cloud) client(t *testing.T, a auth.Credential, mutate ...func(*ecsapi.Config)) *ecsapi.Client {
	t.Helper()
	cfg := ecsapi.Config{
		Region: region, Endpoint: c.url, Credentials: creds(a),
		CallTimeout: 5 * time.Second, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	cl, err := ecsapi.New(cfg)
	require.NoError(t, err)
	return cl
}

// calls counts the emulator's served calls of one action (errors included).
func (c *cloud) calls(action string) (n, errs int) {
	for _, call := range c.stats.Snapshot().Calls {
		if call.Service == "ecs" && call.Action == action {
			n += call.Count
			errs += call.Errors
		}
	}
	return n, errs
}

// ruleIDs are the ids of the group's rules in the emulator's own state.
func (c *cloud) ruleIDs(t *testing.T, groupID string) []string {
	t.Helper()
	for _, r := range c.srv.World().Regions {
		for _, g := range r.SecurityGroups {
			if g.SecurityGroupID == groupID {
				var ids []string
				for _, p := range g.Permissions {
					ids = append(ids, p.SecurityGroupRuleID)
				}
				slices.Sort(ids)
				return ids
			}
		}
	}
	t.Fatalf("group %s not in the emulator", groupID)
	return nil
}

func pageSize(n int) func(*ecsapi.Config) { return func(c *ecsapi.Config) { c.PageSize = n } }

func TestLocalcloudDescribeRulesPages(t *testing.T) {
	lc := newCloud(t)
	cl := lc.client(t, lc.alice, pageSize(10))

	attr, err := cl.DescribeRules(t.Context(), sgBig)

	require.NoError(t, err)
	require.Equal(t, sgBig, attr.GroupID)
	require.Equal(t, region, attr.Region)
	require.Equal(t, vpcMain, attr.VpcID)
	require.Equal(t, "big", attr.Name)
	require.Equal(t, "many rules", attr.Description)
	require.Equal(t, rule.Accept, attr.InnerAccessPolicy)
	require.Empty(t, attr.NextToken)
	require.Len(t, attr.Rules, bigRules+1)
	var ids []string
	for _, r := range attr.Rules {
		ids = append(ids, r.ID)
		require.Equal(t, sgBig, r.GroupID)
	}
	slices.Sort(ids)
	require.Equal(t, lc.ruleIDs(t, sgBig), ids, "every rule exactly once across pages")
	n, _ := lc.calls("DescribeSecurityGroupAttribute")
	require.Equal(t, 3, n, "26 rules at 10 per page")

	eg := attr.Rules[slices.IndexFunc(attr.Rules, func(r rule.Rule) bool { return r.Direction == rule.Egress })]
	require.Equal(t, rule.Drop, eg.Policy)
	require.Equal(t, 100, eg.Priority)
	require.Equal(t, rule.All, eg.Protocol)
	require.Equal(t, netip.MustParsePrefix("0.0.0.0/0"), eg.Peer.Prefix)

	_, err = cl.DescribeRules(t.Context(), "sg-bp1nosuchgroup00000")
	require.ErrorIs(t, err, ecsapi.ErrNotFound)
}

func TestLocalcloudListGroups(t *testing.T) {
	lc := newCloud(t)
	cl := lc.client(t, lc.alice, pageSize(10))
	ctx := t.Context()

	all, err := cl.ListGroups(ctx, ecsapi.ListOptions{})
	require.NoError(t, err)
	require.Len(t, all, listed+3)
	n, _ := lc.calls("DescribeSecurityGroups")
	require.Equal(t, 3, n, "28 groups at 10 per page")

	byID := map[string]ecsapi.Group{}
	for _, g := range all {
		byID[g.ID] = g
	}
	require.Len(t, byID, len(all), "each group once")
	require.Equal(t, ecsapi.Group{ID: sgWeb, Name: "web", VpcID: vpcMain, Region: region, Type: "normal",
		Tags: map[string]string{"env": "prod", "tier": "web"}, RuleCount: 4}, byID[sgWeb])
	require.Equal(t, bigRules+1, byID[sgBig].RuleCount)

	main, err := cl.ListGroups(ctx, ecsapi.ListOptions{VpcID: vpcMain})
	require.NoError(t, err)
	require.Len(t, main, listed+2)

	prod, err := cl.ListGroups(ctx, ecsapi.ListOptions{Tags: map[string]string{"env": "prod"}})
	require.NoError(t, err)
	var prodIDs []string
	for _, g := range prod {
		prodIDs = append(prodIDs, g.ID)
		require.Equal(t, "prod", g.Tags["env"])
	}
	want := []string{sgWeb}
	for i := 0; i < listed; i += 3 {
		want = append(want, sgList(i))
	}
	require.ElementsMatch(t, want, prodIDs)

	both, err := cl.ListGroups(ctx, ecsapi.ListOptions{Tags: map[string]string{"env": "prod", "tier": "web"}})
	require.NoError(t, err)
	require.Len(t, both, 1)
	require.Equal(t, sgWeb, both[0].ID)

	some, err := cl.ListGroups(ctx, ecsapi.ListOptions{GroupIDs: []string{sgWeb, sgList(7), "sg-bp1nosuchgroup00000"}})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{sgWeb, sgList(7)}, []string{some[0].ID, some[1].ID})
	require.Len(t, some, 2)

	tags, err := cl.GroupTags(ctx, sgWeb)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"env": "prod", "tier": "web"}, tags)
	tags, err = cl.GroupTags(ctx, sgBig)
	require.NoError(t, err)
	require.Empty(t, tags)
}

func TestLocalcloudRevokeByID(t *testing.T) {
	lc := newCloud(t)
	cl := lc.client(t, lc.alice)
	ctx := t.Context()
	const ssh, rdp, https, egress = "sgr-bp1webssh000000000", "sgr-bp1webrdp000000000", "sgr-bp1webhttps0000000", "sgr-bp1webegress000000"

	t.Run("AllPresent", func(t *testing.T) {
		res, err := cl.RevokeByID(ctx, sgWeb, rule.Ingress, []string{ssh})
		require.NoError(t, err)
		require.Equal(t, ecsapi.RevokeResult{Revoked: []string{ssh}}, res)
		require.NotContains(t, lc.ruleIDs(t, sgWeb), ssh)
	})
	t.Run("MixOfPresentAndGone", func(t *testing.T) {
		// ssh was revoked above, one id never existed: the first call revokes
		// nothing, so the adapter re-reads and revokes rdp alone.
		res, err := cl.RevokeByID(ctx, sgWeb, rule.Ingress, []string{ssh, rdp, "sgr-bp1neverexisted000"})
		require.NoError(t, err)
		require.Equal(t, []string{rdp}, res.Revoked)
		require.ElementsMatch(t, []string{ssh, "sgr-bp1neverexisted000"}, res.Gone)
		require.ElementsMatch(t, []string{https, egress}, lc.ruleIDs(t, sgWeb))
		_, errs := lc.calls("RevokeSecurityGroup")
		require.Equal(t, 1, errs, "one rejected call, then one that succeeded")
	})
	t.Run("AllGoneIsIdempotent", func(t *testing.T) {
		res, err := cl.RevokeByID(ctx, sgWeb, rule.Ingress, []string{ssh, rdp})
		require.NoError(t, err)
		require.Empty(t, res.Revoked)
		require.ElementsMatch(t, []string{ssh, rdp}, res.Gone)
	})
	t.Run("Egress", func(t *testing.T) {
		res, err := cl.RevokeByID(ctx, sgWeb, rule.Egress, []string{egress})
		require.NoError(t, err)
		require.Equal(t, []string{egress}, res.Revoked)
		require.Equal(t, []string{https}, lc.ruleIDs(t, sgWeb))
	})
	t.Run("WrongDirection", func(t *testing.T) {
		_, err := cl.RevokeByID(ctx, sgWeb, rule.Egress, []string{https})
		require.ErrorIs(t, err, ecsapi.ErrInvalid)
		require.Equal(t, []string{https}, lc.ruleIDs(t, sgWeb), "nothing revoked")
	})
	t.Run("ManyInBatches", func(t *testing.T) {
		var ids []string
		for i := range bigRules {
			ids = append(ids, fmt.Sprintf("sgr-bp1big%013d", i))
		}
		res, err := cl.RevokeByID(ctx, sgBig, rule.Ingress, ids)
		require.NoError(t, err)
		require.ElementsMatch(t, ids, res.Revoked)
		require.Equal(t, []string{"sgr-bp1bigegress000000"}, lc.ruleIDs(t, sgBig))
	})
	t.Run("MissingGroup", func(t *testing.T) {
		_, err := cl.RevokeByID(ctx, "sg-bp1nosuchgroup00000", rule.Ingress, []string{ssh})
		require.ErrorIs(t, err, ecsapi.ErrNotFound)
	})
}

func TestLocalcloudAuthorizeRoundTrip(t *testing.T) {
	lc := newCloud(t)
	cl := lc.client(t, lc.alice)
	ctx := t.Context()
	group := sgList(1)

	ingress := []rule.Permission{
		{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "203.0.113.7/32", Policy: "accept", Priority: "7",
			Description: "ssh from the bastion — änd spaces, * and ~"},
		{IpProtocol: "udp", PortRange: "53/53", Ipv6SourceCidrIp: "2001:db8::/32", Policy: "drop", Priority: "100", Description: "dns v6"},
		{IpProtocol: "tcp", PortRange: "8080/8080", SourcePrefixListId: plOffice, Policy: "accept", Priority: "3"},
		{IpProtocol: "tcp", PortRange: "5432/5432", SourceGroupId: sgWeb, Policy: "accept", Priority: "1", Description: "db from web"},
		{IpProtocol: "icmp", PortRange: "-1/-1", SourceCidrIp: "10.0.0.0/8", DestCidrIp: "10.0.1.0/24", Policy: "accept", Priority: "2"},
	}
	egress := []rule.Permission{
		{Direction: "egress", IpProtocol: "tcp", PortRange: "25/25", DestCidrIp: "0.0.0.0/0", Policy: "drop", Priority: "1", Description: "no smtp"},
	}
	require.NoError(t, cl.Authorize(ctx, group, rule.Ingress, ingress))
	require.NoError(t, cl.Authorize(ctx, group, rule.Egress, egress))

	attr, err := cl.DescribeRules(ctx, group)
	require.NoError(t, err)
	got := map[rule.Rule]bool{}
	for _, r := range attr.Rules {
		require.NotEmpty(t, r.ID)
		r.ID, r.CreateTime = "", time.Time{}
		got[r] = true
	}
	require.Len(t, got, len(ingress)+len(egress))
	for _, p := range ingress {
		p.Direction = "ingress"
		want, err := p.Rule(group, region)
		require.NoError(t, err)
		require.True(t, got[want], "authorized rule not read back exactly: %+v", want)
	}
	want, err := egress[0].Rule(group, region)
	require.NoError(t, err)
	require.True(t, got[want], "egress rule not read back exactly: %+v", want)

	// A backed-up rule (with its id and create time) re-authorizes as is, and
	// authorizing what exists creates nothing.
	var backup []rule.Permission
	for _, r := range attr.Rules {
		if r.Direction == rule.Ingress {
			backup = append(backup, r.Permission())
		}
	}
	require.NoError(t, cl.Authorize(ctx, group, rule.Ingress, backup))
	again, err := cl.DescribeRules(ctx, group)
	require.NoError(t, err)
	require.ElementsMatch(t, attr.Rules, again.Rules)

	// Revoked and restored from the backup: the same rule, a new id.
	first := attr.Rules[slices.IndexFunc(attr.Rules, func(r rule.Rule) bool { return r.Priority == 7 })]
	_, err = cl.RevokeByID(ctx, group, rule.Ingress, []string{first.ID})
	require.NoError(t, err)
	require.NoError(t, cl.Authorize(ctx, group, rule.Ingress, []rule.Permission{first.Permission()}))
	restored, err := cl.DescribeRules(ctx, group)
	require.NoError(t, err)
	i := slices.IndexFunc(restored.Rules, func(r rule.Rule) bool { return r.Priority == 7 })
	require.GreaterOrEqual(t, i, 0)
	r := restored.Rules[i]
	require.NotEqual(t, first.ID, r.ID)
	r.ID, r.CreateTime, first.ID, first.CreateTime = "", time.Time{}, "", time.Time{}
	require.Equal(t, first, r)
}

func TestLocalcloudAuthorizeQuota(t *testing.T) {
	lc := newCloud(t)
	cl := lc.client(t, lc.alice)
	var perms []rule.Permission
	for i := range 201 {
		perms = append(perms, rule.Permission{IpProtocol: "tcp", PortRange: fmt.Sprintf("%d/%d", 2000+i, 2000+i), SourceCidrIp: "10.0.0.0/8"})
	}
	err := cl.Authorize(t.Context(), sgList(2), rule.Ingress, perms)
	require.ErrorIs(t, err, ecsapi.ErrQuota)
	var ae *ecsapi.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "AuthorizationLimitExceed", ae.Code)
	require.NotEmpty(t, ae.RequestID)
	require.Len(t, lc.ruleIDs(t, sgList(2)), 200, "the first two calls of 100 were applied")
}

func TestLocalcloudENIsAndPrefixLists(t *testing.T) {
	lc := newCloud(t)
	cl := lc.client(t, lc.alice, pageSize(10))
	ctx := t.Context()

	groups, err := cl.GroupsOfInstance(ctx, instApp)
	require.NoError(t, err)
	require.Equal(t, []string{sgBig, sgList(0), sgWeb}, groups, "primary and secondary ENIs, sorted")
	_, err = cl.GroupsOfInstance(ctx, "i-bp1nosuchinstance000")
	require.ErrorIs(t, err, ecsapi.ErrNotFound)

	enis, err := cl.NetworkInterfaces(ctx, ecsapi.ENIOptions{IDs: []string{eniAppP}})
	require.NoError(t, err)
	require.Equal(t, []ecsapi.ENI{{ID: eniAppP, InstanceID: instApp, Type: "Primary",
		PrivateIP: netip.MustParseAddr("10.0.1.10"), PublicIP: netip.MustParseAddr("47.96.0.10"),
		GroupIDs: []string{sgWeb}, VpcID: vpcMain, VSwitchID: vswMain, ZoneID: "cn-hangzhou-h"}}, enis)

	byENI, err := cl.GroupsOfENIs(ctx, []string{eniAppP, eniAppS, "eni-bp1nosuch000000000"})
	require.NoError(t, err)
	require.Equal(t, map[string][]string{eniAppP: {sgWeb}, eniAppS: {sgBig, sgList(0)}}, byENI)

	pl, err := cl.PrefixListEntries(ctx, plOffice)
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.7/32")}, pl)
	_, err = cl.PrefixListEntries(ctx, "pl-bp1nosuch0000000000")
	require.ErrorIs(t, err, ecsapi.ErrNotFound)
}

func TestLocalcloudThrottling(t *testing.T) {
	t.Run("HalfThrottledSucceeds", func(t *testing.T) {
		lc := newCloud(t)
		lc.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "ecs", ThrottleRatio: 0.5}}})
		var attempts atomic.Int64
		cl := lc.client(t, lc.alice, pageSize(10), func(c *ecsapi.Config) {
			c.OnCall = func(context.Context, ecsapi.Call) { attempts.Add(1) }
		})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		for range 10 {
			attr, err := cl.DescribeRules(ctx, sgBig)
			require.NoError(t, err)
			require.Len(t, attr.Rules, bigRules+1)
		}
		n, errs := lc.calls("DescribeSecurityGroupAttribute")
		require.Positive(t, errs, "some calls were throttled")
		require.Equal(t, int64(n), attempts.Load(), "OnCall sees every attempt")
	})
	t.Run("AlwaysThrottledGivesUpInTime", func(t *testing.T) {
		lc := newCloud(t)
		lc.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "ecs", ThrottleRatio: 1}}})
		cl := lc.client(t, lc.alice, func(c *ecsapi.Config) { c.MinBackoff, c.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond })
		const budget = 800 * time.Millisecond
		ctx, cancel := context.WithTimeout(t.Context(), budget)
		defer cancel()
		start := time.Now()
		_, err := cl.RevokeByID(ctx, sgWeb, rule.Ingress, []string{"sgr-bp1webssh000000000"})
		require.Less(t, time.Since(start), budget)
		require.ErrorIs(t, err, ecsapi.ErrThrottled)
		var ae *ecsapi.APIError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "Throttling.User", ae.Code)
		require.Greater(t, ae.Attempts, 2)
		require.Contains(t, lc.ruleIDs(t, sgWeb), "sgr-bp1webssh000000000")
	})
	t.Run("RateLimitedConcurrentCallers", func(t *testing.T) {
		lc := newCloud(t)
		lc.faults.Replace(faults.Config{RateLimits: map[string]float64{"ecs": 50}})
		cl := lc.client(t, lc.alice)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make([]error, 100)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = cl.DescribeRules(ctx, sgList(i%listed))
			})
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		_, throttled := lc.calls("DescribeSecurityGroupAttribute")
		require.Positive(t, throttled, "the limit was reached and absorbed")
	})
}

func TestLocalcloudCredentials(t *testing.T) {
	lc := newCloud(t)
	sts := lc.auth.IssueSTS("porthygiene-guard", "fc-invocation", lc.clock.Now(), time.Hour)

	t.Run("STS", func(t *testing.T) {
		cl := lc.client(t, sts)
		_, err := cl.DescribeRules(t.Context(), sgWeb)
		require.NoError(t, err)
		var callers []string
		for _, c := range lc.stats.Snapshot().Calls {
			callers = append(callers, c.Caller)
		}
		require.Contains(t, callers, "porthygiene-guard")
	})
	t.Run("WithCredentials", func(t *testing.T) {
		base := lc.client(t, lc.alice)
		cl, err := base.WithCredentials(creds(sts))
		require.NoError(t, err)
		_, err = cl.ListGroups(t.Context(), ecsapi.ListOptions{VpcID: vpcOther})
		require.NoError(t, err)
	})
	leaks := func(t *testing.T, err error, secrets ...string) {
		t.Helper()
		for _, s := range secrets {
			require.NotContains(t, err.Error(), s)
			require.NotContains(t, fmt.Sprintf("%+v", err), s)
		}
	}
	t.Run("WrongSecret", func(t *testing.T) {
		bad := sts
		bad.AccessKeySecret = "not-" + sts.AccessKeySecret
		cl := lc.client(t, bad)
		_, err := cl.DescribeRules(t.Context(), sgWeb)
		require.ErrorIs(t, err, ecsapi.ErrForbidden)
		var ae *ecsapi.APIError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "SignatureDoesNotMatch", ae.Code)
		leaks(t, err, bad.AccessKeySecret, sts.AccessKeySecret, sts.SecurityToken)
	})
	t.Run("WrongToken", func(t *testing.T) {
		bad := sts
		bad.SecurityToken = "CAIS" + strings.Repeat("x", 40)
		_, err := lc.client(t, bad).DescribeRules(t.Context(), sgWeb)
		require.ErrorIs(t, err, ecsapi.ErrForbidden)
		leaks(t, err, bad.SecurityToken, sts.AccessKeySecret)
	})
	t.Run("ExpiredToken", func(t *testing.T) {
		old := lc.auth.IssueSTS("porthygiene-guard", "old", lc.clock.Now(), time.Minute)
		lc.clock.Advance(2 * time.Minute)
		_, err := lc.client(t, old).DescribeRules(t.Context(), sgWeb)
		require.ErrorIs(t, err, ecsapi.ErrForbidden)
		var ae *ecsapi.APIError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "InvalidSecurityToken.Expired", ae.Code)
		leaks(t, err, old.AccessKeySecret, old.SecurityToken)
	})
	t.Run("ThrottledWithSTS", func(t *testing.T) {
		fresh := lc.auth.IssueSTS("porthygiene-guard", "throttled", lc.clock.Now(), time.Hour)
		lc.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "ecs", ThrottleRatio: 1}}})
		defer lc.faults.Replace(faults.Config{})
		cl := lc.client(t, fresh, func(c *ecsapi.Config) { c.MaxAttempts = 3 })
		err := cl.Authorize(t.Context(), sgWeb, rule.Ingress, []rule.Permission{{IpProtocol: "tcp", PortRange: "1/1", SourceCidrIp: "10.0.0.0/8"}})
		require.ErrorIs(t, err, ecsapi.ErrThrottled)
		leaks(t, err, fresh.AccessKeySecret, fresh.SecurityToken)
	})
}

func TestLocalcloudConcurrentUse(t *testing.T) {
	lc := newCloud(t)
	cl := lc.client(t, lc.alice, pageSize(10))
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), time.Duration(5+i)*time.Second)
			defer cancel()
			if i%2 == 0 {
				_, errs[i] = cl.DescribeRules(ctx, sgBig)
			} else {
				_, errs[i] = cl.ListGroups(ctx, ecsapi.ListOptions{})
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
}

package ecs_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/actiontrail"
	"github.com/porthygiene/porthygiene/localcloud/auth"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
)

var epoch = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// emulator is one in-process ECS emulator behind a loopback listener.
type emulator struct {
	srv    *lcecs.Server
	hs     *httptest.Server
	clock  *vclock.Clock
	auth   *auth.Store
	stats  *stats.Stats
	faults *faults.Set
	trail  *trailLog
	op     auth.Credential // RAM user "alice"
}

// trailLog records emitted ActionTrail records; onEmit (if set) runs inside Emit.
type trailLog struct {
	mu      sync.Mutex
	records []actiontrail.Record
	onEmit  func(actiontrail.Record)
}

func (l *trailLog) Emit(r actiontrail.Record) {
	l.mu.Lock()
	f := l.onEmit
	l.records = append(l.records, r)
	l.mu.Unlock()
	if f != nil {
		f(r)
	}
}

func (l *trailLog) all() []actiontrail.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]actiontrail.Record(nil), l.records...)
}

// byRequestID finds the record of one request.
func (l *trailLog) byRequestID(id string) (actiontrail.Record, bool) {
	for _, r := range l.all() {
		if r.RequestID == id {
			return r, true
		}
	}
	return actiontrail.Record{}, false
}

func newEmulator(t testing.TB) *emulator {
	e := &emulator{
		clock:  vclock.New(epoch),
		auth:   auth.NewStore(),
		stats:  &stats.Stats{},
		faults: &faults.Set{},
		trail:  &trailLog{},
	}
	e.op = e.auth.AddUser("alice")
	e.srv = lcecs.New(lcecs.Config{Clock: e.clock, Auth: e.auth, Stats: e.stats, Faults: e.faults, Trail: e.trail, DefaultRegion: "cn-hangzhou"})
	require.NoError(t, e.srv.Load(testWorld()))
	e.hs = httptest.NewServer(e.srv)
	t.Cleanup(e.hs.Close)
	return e
}

func (e *emulator) domain() string { return strings.TrimPrefix(e.hs.URL, "http://") }

// client returns an unmodified SDK client for cred pointed at the emulator.
func (e *emulator) client(t testing.TB, cred auth.Credential) *ecs.Client {
	var c *ecs.Client
	var err error
	if cred.SecurityToken != "" {
		c, err = ecs.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(),
			credentials.NewStsTokenCredential(cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken))
	} else {
		c, err = ecs.NewClientWithOptions("cn-hangzhou", sdk.NewConfig(),
			credentials.NewAccessKeyCredential(cred.AccessKeyID, cred.AccessKeySecret))
	}
	require.NoError(t, err)
	c.Domain = e.domain()
	return c
}

// testWorld is the seed of the emulator tests: one VPC with a web tier (an
// instance in sg-web), a db tier (an instance whose secondary ENI is in both
// groups), an enterprise group, a prefix list, and a second VPC.
func testWorld() lcecs.World {
	return lcecs.World{Regions: []lcecs.Region{{
		RegionID: "cn-hangzhou",
		Zones:    []string{"cn-hangzhou-h", "cn-hangzhou-i"},
		Vpcs: []lcecs.Vpc{
			{VpcID: "vpc-bp1main0000000000000", VpcName: "main", CidrBlock: "10.0.0.0/16"},
			{VpcID: "vpc-bp1other000000000000", VpcName: "other", CidrBlock: "172.16.0.0/16"},
		},
		VSwitches: []lcecs.VSwitch{
			{VSwitchID: "vsw-bp1h0000000000000000", VpcID: "vpc-bp1main0000000000000", ZoneID: "cn-hangzhou-h", CidrBlock: "10.0.1.0/24"},
		},
		SecurityGroups: []lcecs.SecurityGroup{
			{SecurityGroupID: "sg-bp1web0000000000000", SecurityGroupName: "web", Description: "web tier",
				VpcID: "vpc-bp1main0000000000000", CreationTime: "2026-01-01T00:00:00Z",
				Tags: []lcecs.Tag{{Key: "env", Value: "prod"}, {Key: "tier", Value: "web"}},
				Permissions: []lcecs.Permission{
					{SecurityGroupRuleID: "sgr-bp1web0000000000ssh", Direction: "ingress", IpProtocol: "TCP", PortRange: "22/22",
						SourceCidrIp: "10.0.0.0/8", Policy: "Accept", Priority: 1, Description: "ssh from corp", CreateTime: "2026-01-01T00:00:00Z"},
					{SecurityGroupRuleID: "sgr-bp1web000000000http", Direction: "ingress", IpProtocol: "tcp", PortRange: "443/443",
						SourceCidrIp: "0.0.0.0/0", Policy: "accept", Priority: 1, CreateTime: "2026-01-01T00:00:00Z"},
					{SecurityGroupRuleID: "sgr-bp1web000000000drop", Direction: "ingress", IpProtocol: "ALL", PortRange: "-1/-1",
						SourceCidrIp: "10.9.0.0/16", Policy: "Drop", Priority: 1, CreateTime: "2026-01-01T00:00:00Z"},
					{SecurityGroupRuleID: "sgr-bp1web00000000offic", Direction: "ingress", IpProtocol: "TCP", PortRange: "8080/8080",
						SourcePrefixListID: "pl-bp1office0000000000", Priority: 5, CreateTime: "2026-01-01T00:00:00Z"},
				}},
			{SecurityGroupID: "sg-bp1db00000000000000", SecurityGroupName: "db", VpcID: "vpc-bp1main0000000000000",
				CreationTime: "2026-01-01T00:00:00Z", Tags: []lcecs.Tag{{TagKey: "env", TagValue: "prod"}},
				Permissions: []lcecs.Permission{
					{SecurityGroupRuleID: "sgr-bp1db000000000mysql", Direction: "ingress", IpProtocol: "TCP", PortRange: "3306/3306",
						SourceGroupID: "sg-bp1web0000000000000", Policy: "Accept", Priority: 1, CreateTime: "2026-01-01T00:00:00Z"},
					{SecurityGroupRuleID: "sgr-bp1db0000000000egr1", Direction: "egress", IpProtocol: "ALL", PortRange: "-1/-1",
						DestCidrIp: "0.0.0.0/0", Policy: "Drop", Priority: 100, CreateTime: "2026-01-01T00:00:00Z"},
					{SecurityGroupRuleID: "sgr-bp1db0000000000egr2", Direction: "egress", IpProtocol: "TCP", PortRange: "443/443",
						DestCidrIp: "100.100.0.0/16", Policy: "Accept", Priority: 1, CreateTime: "2026-01-01T00:00:00Z"},
				}},
			{SecurityGroupID: "sg-bp1ent00000000000000", SecurityGroupName: "ent", VpcID: "vpc-bp1main0000000000000",
				SecurityGroupType: "enterprise", CreationTime: "2026-01-01T00:00:00Z"},
		},
		Instances: []lcecs.Instance{
			{InstanceID: "i-bp1web100000000000000", InstanceName: "web-1", ZoneID: "cn-hangzhou-h", VpcID: "vpc-bp1main0000000000000",
				VSwitchID: "vsw-bp1h0000000000000000", InstanceType: "ecs.g7.large", CreationTime: "2026-01-02T00:00:00Z",
				Tags: []lcecs.Tag{{Key: "env", Value: "prod"}}},
			{InstanceID: "i-bp1db1000000000000000", InstanceName: "db-1", ZoneID: "cn-hangzhou-h", VpcID: "vpc-bp1main0000000000000",
				VSwitchID: "vsw-bp1h0000000000000000", InstanceType: "ecs.g7.xlarge", CreationTime: "2026-01-02T00:00:00Z"},
		},
		NetworkInterfaces: []lcecs.NetworkInterface{
			{NetworkInterfaceID: "eni-bp1web1primary00000", Type: "Primary", InstanceID: "i-bp1web100000000000000",
				VpcID: "vpc-bp1main0000000000000", VSwitchID: "vsw-bp1h0000000000000000", ZoneID: "cn-hangzhou-h",
				MacAddress: "00:16:3e:00:00:01", PrivateIPAddress: "10.0.1.10", PublicIPAddress: "47.96.0.10",
				SecurityGroupIDs: []string{"sg-bp1web0000000000000"}, CreationTime: "2026-01-02T00:00:00Z"},
			{NetworkInterfaceID: "eni-bp1db1primary000000", Type: "Primary", InstanceID: "i-bp1db1000000000000000",
				VpcID: "vpc-bp1main0000000000000", VSwitchID: "vsw-bp1h0000000000000000", ZoneID: "cn-hangzhou-h",
				MacAddress: "00:16:3e:00:00:02", PrivateIPAddress: "10.0.1.20",
				SecurityGroupIDs: []string{"sg-bp1db00000000000000"}, CreationTime: "2026-01-02T00:00:00Z"},
			{NetworkInterfaceID: "eni-bp1db1second000000", Type: "Secondary", InstanceID: "i-bp1db1000000000000000", DeviceIndex: 1,
				VpcID: "vpc-bp1main0000000000000", VSwitchID: "vsw-bp1h0000000000000000", ZoneID: "cn-hangzhou-h",
				MacAddress: "00:16:3e:00:00:03", PrivateIPAddress: "10.0.1.21", SecondaryPrivateIPAddresses: []string{"10.0.1.22"},
				SecurityGroupIDs: []string{"sg-bp1db00000000000000", "sg-bp1web0000000000000"}, CreationTime: "2026-01-02T00:00:00Z",
				Tags: []lcecs.Tag{{Key: "role", Value: "replication"}}},
		},
		PrefixLists: []lcecs.PrefixList{
			{PrefixListID: "pl-bp1office0000000000", PrefixListName: "office", AddressFamily: "IPv4", MaxEntries: 10,
				CreationTime: "2026-01-01T00:00:00Z", Entries: []lcecs.PrefixListEntry{
					{Cidr: "203.0.113.0/24", Description: "hq"}, {Cidr: "198.51.100.7/32", Description: "vpn"}}},
		},
	}}}
}

// rawCall is a hand-signed request, for what the SDK cannot do: reuse a nonce,
// send a stale timestamp. It signs with lcecs.StringToSign, which
// TestStringToSignMatchesObservedSDK pins to the SDK's observed output.
type rawCall struct {
	params url.Values
}

func newRawCall(cred auth.Credential, action string, extra map[string]string) *rawCall {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	v := url.Values{}
	for k, x := range map[string]string{
		"Action": action, "Version": "2014-05-26", "Format": "JSON", "RegionId": "cn-hangzhou",
		"AccessKeyId": cred.AccessKeyID, "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
		"SignatureType": "", "SignatureNonce": hex.EncodeToString(nonce),
		"Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05Z"),
	} {
		v.Set(k, x)
	}
	if cred.SecurityToken != "" {
		v.Set("SecurityToken", cred.SecurityToken)
	}
	for k, x := range extra {
		v.Set(k, x)
	}
	return &rawCall{params: v}
}

func (rc *rawCall) sign(secret string) string {
	rc.params.Del("Signature")
	sts := lcecs.StringToSign("POST", rc.params)
	rc.params.Set("Signature", lcecs.Sign(sts, secret))
	return rc.params.Encode()
}

// do posts the (already signed) call and decodes the JSON body.
func (rc *rawCall) do(t testing.TB, base string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/?"+rc.params.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "body: %s", b)
	return resp.StatusCode, m
}

// setFaults installs one fault for the rest of the test.
func setFaults(t testing.TB, e *emulator, f faultsConfig) {
	e.faults.Replace(faults.Config{Actions: []faults.Action{{
		Service: "ecs", Action: f.action, ThrottleRatio: f.throttle, ServerErrorRatio: f.serverError, Latency: f.latency,
	}}})
	t.Cleanup(func() { e.faults.Replace(faults.Config{}) })
}

package ecs_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
)

var descriptions = []string{"", "ssh from corp", "https", "monitoring", "legacy app", "partner api", "k8s nodeport", "db replication"}

// bigWorld is groups × rulesPerGroup rules in one VPC: varied protocols,
// ports, CIDRs, priorities and policies, some group peers and prefix lists.
func bigWorld(groups, rulesPerGroup int) lcecs.World {
	reg := lcecs.Region{
		RegionID:    "cn-hangzhou",
		Vpcs:        []lcecs.Vpc{{VpcID: "vpc-bench"}},
		PrefixLists: []lcecs.PrefixList{{PrefixListID: "pl-bench", Entries: []lcecs.PrefixListEntry{{Cidr: "203.0.113.0/24"}}}},
	}
	for g := range groups {
		sg := lcecs.SecurityGroup{
			SecurityGroupID: fmt.Sprintf("sg-bench%012d", g), SecurityGroupName: fmt.Sprintf("bench-%d", g),
			VpcID: "vpc-bench", CreationTime: "2026-01-01T00:00:00Z",
			Tags: []lcecs.Tag{{Key: "env", Value: "bench"}},
		}
		for i := range rulesPerGroup {
			p := lcecs.Permission{
				Direction: "ingress", IpProtocol: "TCP", PortRange: fmt.Sprintf("%d/%d", 1000+i, 1000+i),
				SourceCidrIp: fmt.Sprintf("10.%d.%d.0/24", i%256, g%256), Policy: "Accept", Priority: lcecs.Priority(1 + i%100),
				Description: descriptions[i%len(descriptions)], CreateTime: "2026-01-01T00:00:00Z",
			}
			switch {
			case i%10 == 9:
				p.Direction, p.SourceCidrIp, p.DestCidrIp = "egress", "", fmt.Sprintf("172.16.%d.0/24", i%256)
			case i%17 == 3 && g > 0:
				p.SourceCidrIp, p.SourceGroupID = "", fmt.Sprintf("sg-bench%012d", g-1)
			case i%13 == 5:
				p.SourceCidrIp, p.SourcePrefixListID = "", "pl-bench"
			case i%7 == 2:
				p.IpProtocol, p.Policy = "UDP", "Drop"
			}
			sg.Permissions = append(sg.Permissions, p)
		}
		reg.SecurityGroups = append(reg.SecurityGroups, sg)
	}
	return lcecs.World{Regions: []lcecs.Region{reg}}
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkLoad10kGroups100Rules loads 10,000 groups × 100 rules and reports
// the heap the emulator keeps (the seed value itself is freed first).
func BenchmarkLoad10kGroups100Rules(b *testing.B) {
	for b.Loop() {
		base := heapAlloc()
		w := bigWorld(10_000, 100)
		s := lcecs.New(lcecs.Config{Auth: auth.NewStore()})
		start := time.Now()
		require.NoError(b, s.Load(w))
		load := time.Since(start)
		w = lcecs.World{}
		_ = w
		kept := heapAlloc() - base
		rules, ok := s.Rules("sg-bench000000009999")
		require.True(b, ok)
		require.Len(b, rules, 100)
		b.ReportMetric(float64(kept)/(1<<20), "MiB-kept")
		b.ReportMetric(float64(kept)/1e6, "B/rule")
		b.ReportMetric(load.Seconds(), "s-load")
		runtime.KeepAlive(s)
	}
}

func benchServer(b *testing.B) (*emulator, string) {
	e := newEmulator(b)
	w := bigWorld(1, 200)
	require.NoError(b, e.srv.Load(w))
	return e, "sg-bench000000000000"
}

// BenchmarkDescribeAttribute200Rules serves DescribeSecurityGroupAttribute on a
// 200-rule group through ServeHTTP, a freshly signed request per iteration
// (signature check, nonce, JSON body all included).
func BenchmarkDescribeAttribute200Rules(b *testing.B) {
	e, sg := benchServer(b)
	for b.Loop() {
		b.StopTimer()
		rc := newRawCall(e.op, "DescribeSecurityGroupAttribute", map[string]string{"SecurityGroupId": sg})
		req := httptest.NewRequest(http.MethodPost, "/?"+rc.sign(e.op.AccessKeySecret), nil)
		rec := httptest.NewRecorder()
		b.StartTimer()
		e.srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkDescribeAttribute200RulesSDK is the same call end to end: the
// unmodified SDK client over loopback HTTP, including its JSON decoding.
func BenchmarkDescribeAttribute200RulesSDK(b *testing.B) {
	e, sg := benchServer(b)
	c := e.client(b, e.op)
	for b.Loop() {
		req := ecs.CreateDescribeSecurityGroupAttributeRequest()
		req.RegionId, req.SecurityGroupId = "cn-hangzhou", sg
		resp, err := c.DescribeSecurityGroupAttribute(req)
		if err != nil || len(resp.Permissions.Permission) != 200 {
			b.Fatalf("err %v, %d rules", err, len(resp.Permissions.Permission))
		}
	}
}

// BenchmarkDescribeAttribute200RulesHTTP is the server over a loopback TCP
// connection with a plain HTTP client: what "served" costs without the SDK's
// own request building and reflection-based decoding.
func BenchmarkDescribeAttribute200RulesHTTP(b *testing.B) {
	e, sg := benchServer(b)
	for b.Loop() {
		b.StopTimer()
		rc := newRawCall(e.op, "DescribeSecurityGroupAttribute", map[string]string{"SecurityGroupId": sg})
		rc.sign(e.op.AccessKeySecret)
		req, err := http.NewRequest(http.MethodPost, e.hs.URL+"/?"+rc.params.Encode(), nil)
		require.NoError(b, err)
		b.StartTimer()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(b, err)
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n < 200*400 {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}

package main

// Latency benchmark of the guard (issue 4): the real guard binary, warm, run by
// localcloud from the repo's s.yaml; a human opens tcp 22 to 0.0.0.0/0 with the
// unmodified ECS SDK; the clock runs from AuthorizeSecurityGroup returning to
// the rule being gone from the emulator's state (read in-process, no HTTP).
//
//	go test -run '^$' -bench 'GuardLatency$' -benchtime 200x ./functions/guard/
//
// BenchmarkGuardLatencyWithRTT adds 20 ms to every ECS and SLS call, about
// what an FC function sees on the intranet endpoints, to show where the time
// goes outside the emulator.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/porthygiene/porthygiene/localcloud"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

const (
	benchGroup = "sg-bench"
	guardRole  = "porthygiene-fc-role" // s.yaml's default role: the guard's caller name
)

// benchSeed is the demo world plus a group of realistic size: 50 harmless rules.
func benchSeed() *localcloud.Seed {
	s := localcloud.DefaultSeed()
	var perms []lcecs.Permission
	for i := range 50 {
		perms = append(perms, lcecs.Permission{Direction: "ingress", IpProtocol: "TCP",
			PortRange: fmt.Sprintf("%d/%d", 10000+i, 10000+i), SourceCidrIp: fmt.Sprintf("10.%d.0.0/16", i),
			Policy: "Accept", Priority: 1, Description: fmt.Sprintf("service %d", i)})
	}
	s.Regions[0].SecurityGroups = append(s.Regions[0].SecurityGroups, lcecs.SecurityGroup{
		SecurityGroupID: benchGroup, SecurityGroupName: "bench", VpcID: "vpc-demo",
		Tags: []lcecs.Tag{{Key: "team", Value: "bench"}}, Permissions: perms})
	return s
}

func BenchmarkGuardLatency(b *testing.B) { benchGuardLatency(b, 0) }

func BenchmarkGuardLatencyWithRTT(b *testing.B) { benchGuardLatency(b, 20*time.Millisecond) }

func benchGuardLatency(b *testing.B, rtt time.Duration) {
	// The iterations follow each other at once: at the default pacing
	// (PORTHYGIENE_ECS_QPS=20, three ECS calls per event) a stream faster than
	// about 6 events a second would queue behind the guard's own rate limit
	// and measure that, not the latency of one event. localcloud has no ECS
	// rate limit, so the pacing is lifted here; so is the guard's own pace of
	// changes per minute (maxChangesPerMinute): hundreds of revokes in one
	// virtual minute would otherwise measure the pace, not one event.
	pol := filepath.Join(b.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("modes:\n  guard: enforce\nmaxChangesPerMinute: 100000\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	c := lctest.Start(b, localcloud.Options{Seed: benchSeed(), Env: map[string]string{"PORTHYGIENE_ECS_QPS": "1000", "PORTHYGIENE_POLICY": pol}}, "guard")
	cli := lctest.ECS(b, c)
	if rtt > 0 {
		c.SetFaults(faults.Config{Actions: []faults.Action{{Service: "ecs", Latency: rtt}, {Service: "sls", Latency: rtt}}})
	}

	// One exposure, closed by the guard: returns how long the rule lived
	// after the human's call returned.
	expose := func() time.Duration {
		b.Helper()
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.RegionId = c.Region()
		req.SecurityGroupId = benchGroup
		req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0", Description: "debug"}}
		if _, err := cli.AuthorizeSecurityGroup(req); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for {
			open := false
			rules, _ := c.ECS.Rules(benchGroup)
			for _, r := range rules {
				open = open || r.PortFrom == 22 && r.Peer.String() == "0.0.0.0/0"
			}
			if !open {
				d := time.Since(start)
				lctest.Settle(b, c) // the rest of the invocation: ledger marker, notification
				return d
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("the rule is still open after 10 s; guard results: %v", c.Runtime.Invocations())
			}
			time.Sleep(100 * time.Microsecond)
		}
	}

	for range 5 { // warm the function instance (and the connection pools)
		expose()
	}
	before := c.Stats.Snapshot()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		lat = append(lat, expose())
	}
	b.StopTimer()
	after := c.Stats.Snapshot()

	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := min(len(lat)-1, int(p*float64(len(lat))))
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.90), "p90-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")

	n := float64(b.N)
	d := after.Since(before)
	per := func(service, action, caller string) float64 { return float64(d.Count(service, action, caller)) / n }
	b.ReportMetric(per("ecs", "DescribeSecurityGroupAttribute", guardRole), "describe/op")
	b.ReportMetric(per("ecs", "ListTagResources", guardRole)+per("ecs", "DescribeSecurityGroups", guardRole), "tags/op")
	b.ReportMetric(per("ecs", "RevokeSecurityGroup", guardRole), "revoke/op")
	b.ReportMetric(per("ecs", "", guardRole), "ecs/op")
	b.ReportMetric(per("sls", "PutLogs", guardRole), "putlogs/op")
	b.ReportMetric(per("sls", "GetLogs", guardRole), "getlogs/op")
	b.ReportMetric(per("sls", "", guardRole), "sls/op")
	b.ReportMetric(per("dingtalk", "", ""), "dingtalk/op")
	if b.N < 20 {
		return // the framework's probing runs
	}
	for _, row := range d.Calls {
		b.Logf("%-8s %-32s %-22s %6.2f/op errors=%d", row.Service, row.Action, row.Caller, float64(row.Count)/n, row.Errors)
	}
}

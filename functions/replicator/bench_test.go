package main

// Convergence benchmark of the replicator: the real binary, warm, run by
// localcloud from the repo's s.yaml over the default world. A human changes
// the primary (cn-hangzhou/sg-web) with the unmodified ECS SDK; the clock runs
// from the call returning to both replicas (cn-hangzhou/sg-web-dr in the
// standby VPC, cn-shanghai/sg-web-sh) holding the change, read in-process
// from the emulator's state. Each iteration is two changes: a rule added,
// then removed again.
//
//	go test -run '^$' -bench 'ReplicatorConvergence' -benchtime 100x ./functions/replicator/
//
// make bench puts its figures in BENCHMARKS.md (internal/benchtable).
//
// ...WithRTT adds 20 ms to every ECS and SLS call.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

const replicatorRole = "porthygiene-replicator-role"

func BenchmarkReplicatorConvergence(b *testing.B) { benchConvergence(b, 0) }

func BenchmarkReplicatorConvergenceWithRTT(b *testing.B) { benchConvergence(b, 20*time.Millisecond) }

func benchConvergence(b *testing.B, rtt time.Duration) {
	c := lctest.Start(b, localcloud.Options{Env: map[string]string{"PORTHYGIENE_ECS_QPS": "1000"}}, "replicator")
	cli := lctest.ECS(b, c)
	if rtt > 0 {
		c.SetFaults(faults.Config{Actions: []faults.Action{{Service: "ecs", Latency: rtt}, {Service: "sls", Latency: rtt}}})
	}
	has := func(group string, port int) bool {
		rules, _ := c.ECS.Rules(group)
		for _, r := range rules {
			if r.PortFrom == port && r.Peer.String() == "10.0.0.0/8" {
				return true
			}
		}
		return false
	}
	wait := func(port int, want bool) time.Duration {
		start := time.Now()
		for has("sg-web-dr", port) != want || has("sg-web-sh", port) != want {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("replicas not converged after 10 s (port %d, want %v)", port, want)
			}
			time.Sleep(100 * time.Microsecond)
		}
		d := time.Since(start)
		lctest.Settle(b, c) // the rest of the invocation: records, notification
		return d
	}
	change := func(i int) (add, remove time.Duration) {
		port := 20000 + i%1000
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = "cn-hangzhou", "sg-web"
		req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: fmt.Sprintf("%d/%d", port, port), SourceCidrIp: "10.0.0.0/8", Description: "bench"}}
		if _, err := cli.AuthorizeSecurityGroup(req); err != nil {
			b.Fatal(err)
		}
		add = wait(port, true)
		rev := ecs.CreateRevokeSecurityGroupRequest()
		rev.RegionId, rev.SecurityGroupId = "cn-hangzhou", "sg-web"
		rev.Permissions = &[]ecs.RevokeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: fmt.Sprintf("%d/%d", port, port), SourceCidrIp: "10.0.0.0/8"}}
		if _, err := cli.RevokeSecurityGroup(rev); err != nil {
			b.Fatal(err)
		}
		return add, wait(port, false)
	}
	for i := range 5 { // warm the instance and the connection pools
		change(i)
	}
	before := c.Stats.Snapshot()
	lat := make([]time.Duration, 0, 2*b.N)
	b.ResetTimer()
	for i := range b.N {
		a, r := change(100 + i)
		lat = append(lat, a, r)
	}
	b.StopTimer()
	after := c.Stats.Snapshot()
	adds := make([]time.Duration, 0, b.N)
	for i := 0; i < len(lat); i += 2 {
		adds = append(adds, lat[i])
	}
	slices.Sort(adds)
	b.ReportMetric(float64(adds[len(adds)-1].Microseconds())/1000, "max-add-ms")
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	changes := float64(len(lat))
	d := after.Since(before)
	per := func(service, action string) float64 {
		return float64(d.Count(service, action, replicatorRole)) / changes
	}
	b.ReportMetric(per("ecs", "DescribeSecurityGroupAttribute"), "describe/change")
	b.ReportMetric(per("ecs", "DescribeSecurityGroups"), "list/change")
	b.ReportMetric(per("ecs", "AuthorizeSecurityGroup")+per("ecs", "RevokeSecurityGroup"), "writes/change")
	b.ReportMetric(per("ecs", ""), "ecs/change")
	b.ReportMetric(per("sls", ""), "sls/change")
	if b.N < 20 {
		return
	}
	for _, row := range d.Calls {
		b.Logf("%-8s %-32s %-28s %6.2f/change", row.Service, row.Action, row.Caller, float64(row.Count)/changes)
	}
}

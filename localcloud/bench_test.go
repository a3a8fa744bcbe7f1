package localcloud_test

import (
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

// BenchmarkEventToWarmFunction measures how long an ActionTrail event takes
// from the ECS write that causes it to the start of the (warm) function's
// invocation: ECS emulator → ActionTrail → EventBridge pattern → FC runtime.
// Target (issue 3): under 5 ms with no injected latency.
//
//	go test -run '^$' -bench EventToWarmFunction -benchtime 200x ./localcloud/
func BenchmarkEventToWarmFunction(b *testing.B) {
	dir := b.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "main"), "./localcloud/fcrt/testdata/echofn")
	build.Dir = lctest.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build echofn: %v\n%s", err, out)
	}
	cfg, _ := filepath.Abs("testdata/echo-s.yaml")
	c, err := localcloud.Start(localcloud.Options{Config: cfg, CodeDirs: map[string]string{"echo": dir}, Seed: localcloud.DefaultSeed(),
		Getenv: func(string) string { return "" }})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cl := lctest.ECS(b, c)
	authorize := func(port int) time.Time {
		req := ecs.CreateAuthorizeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = c.Region(), "sg-db"
		req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: portRange(port), SourceCidrIp: "10.1.0.0/16"}}
		if _, err := cl.AuthorizeSecurityGroup(req); err != nil {
			b.Fatal(err)
		}
		return time.Now()
	}
	revoke := func(port int) { // keep the group under its 200-rule quota
		req := ecs.CreateRevokeSecurityGroupRequest()
		req.RegionId, req.SecurityGroupId = c.Region(), "sg-db"
		req.Permissions = &[]ecs.RevokeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: portRange(port), SourceCidrIp: "10.1.0.0/16"}}
		if _, err := cl.RevokeSecurityGroup(req); err != nil {
			b.Fatal(err)
		}
	}
	authorize(1) // warm the instance
	lctest.Settle(b, c)
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := len(c.Runtime.Invocations())
		sent := time.Now()
		authorize(1000 + i%60000)
		lctest.Settle(b, c)
		invs := c.Runtime.Invocations()
		if len(invs) <= n {
			b.Fatal("no invocation")
		}
		// From sending the write (SDK round trip included: the event is
		// emitted once the change is visible, before the response) to the
		// start of the function's invocation: an upper bound of the delivery.
		lat = append(lat, invs[len(invs)-1].Start.Sub(sent))
		b.StopTimer()
		revoke(1000 + i%60000)
		b.StartTimer()
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func portRange(p int) string { return strconv.Itoa(p) + "/" + strconv.Itoa(p) }

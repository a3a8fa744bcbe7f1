package main

// The reaper at scale (issue 12): 2,000 groups, 20,000 ENIs, 30 days of
// summaries, on localcloud with the real binary. Run it once:
//
//	go test -run '^$' -bench BenchmarkReaperScale -benchtime 1x -timeout 30m ./functions/reaper/
//
// It reports the daily run's SLS queries and rows, the summary job's
// queries for one day of flow records of every ENI, each job's wall time,
// and the function process's peak RSS (VmHWM, sampled from /proc).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	lcsls "github.com/porthygiene/porthygiene/localcloud/sls"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/logstore"
)

const (
	benchGroups = 2000
	benchENIs   = 20000
	benchDays   = 30
)

func scaleSeed(b *testing.B) *localcloud.Seed {
	b.Helper()
	var sb strings.Builder
	sb.WriteString(`{"Region":"cn-hangzhou","Regions":[{"RegionId":"cn-hangzhou","Zones":["cn-hangzhou-h"],
"Vpcs":[{"VpcId":"vpc-scale","CidrBlock":"10.0.0.0/8"}],
"VSwitches":[{"VSwitchId":"vsw-scale","VpcId":"vpc-scale","ZoneId":"cn-hangzhou-h","CidrBlock":"10.0.0.0/8"}],
"SecurityGroups":[`)
	for g := range benchGroups {
		if g > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"SecurityGroupId":"sg-s%04d","VpcId":"vpc-scale","Tags":[{"Key":"team","Value":"t%d"}],"Permissions":[
{"Direction":"ingress","IpProtocol":"TCP","PortRange":"443/443","SourceCidrIp":"0.0.0.0/0","CreateTime":"2026-01-01T00:00:00Z"},
{"Direction":"ingress","IpProtocol":"TCP","PortRange":"22/22","SourceCidrIp":"10.0.0.0/8","CreateTime":"2026-01-01T00:00:00Z"},
{"Direction":"ingress","IpProtocol":"TCP","PortRange":"8080/8080","SourceCidrIp":"10.0.0.0/8","CreateTime":"2026-01-01T00:00:00Z"}]}`, g, g%20)
	}
	sb.WriteString(`],"Instances":[`)
	for i := range benchGroups {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"InstanceId":"i-s%04d","ZoneId":"cn-hangzhou-h","VpcId":"vpc-scale","VSwitchId":"vsw-scale"}`, i)
	}
	sb.WriteString(`],"NetworkInterfaces":[`)
	for e := range benchENIs {
		if e > 0 {
			sb.WriteString(",")
		}
		g := e % benchGroups
		ip := fmt.Sprintf("10.%d.%d.%d", 1+e/65000, (e/250)%250, 1+e%250)
		if e < benchGroups {
			fmt.Fprintf(&sb, `{"NetworkInterfaceId":"eni-s%05d","Type":"Primary","InstanceId":"i-s%04d","VpcId":"vpc-scale","VSwitchId":"vsw-scale","ZoneId":"cn-hangzhou-h","PrivateIpAddress":"%s","SecurityGroupIds":["sg-s%04d"]}`, e, e, ip, g)
		} else {
			fmt.Fprintf(&sb, `{"NetworkInterfaceId":"eni-s%05d","Type":"Secondary","VpcId":"vpc-scale","VSwitchId":"vsw-scale","ZoneId":"cn-hangzhou-h","PrivateIpAddress":"%s","SecurityGroupIds":["sg-s%04d"]}`, e, ip, g)
		}
	}
	sb.WriteString(`]}],"FlowLogs":[{"FlowLogId":"fl-scale","RegionId":"cn-hangzhou","ResourceType":"VPC","ResourceId":"vpc-scale","ProjectName":"vpc-flowlog","LogStoreName":"flowlog","CreationTime":"2026-01-01T00:00:00Z"}]}`)
	seed, err := localcloud.ParseSeed([]byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	return seed
}

// peakRSS samples the VmHWM of the reaper's processes until stop is closed.
func peakRSS(stop <-chan struct{}) *atomic.Int64 {
	var peak atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			dirs, _ := filepath.Glob("/proc/[0-9]*")
			for _, d := range dirs {
				cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
				if err != nil || !strings.Contains(string(cmd), "/reaper/main") {
					continue
				}
				st, err := os.ReadFile(filepath.Join(d, "status"))
				if err != nil {
					continue
				}
				for _, l := range strings.Split(string(st), "\n") {
					if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
						if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > peak.Load() {
							peak.Store(kb)
						}
					}
				}
			}
		}
	}()
	return &peak
}

func BenchmarkReaperScale(b *testing.B) {
	seed := scaleSeed(b)
	for b.Loop() {
		c := lctest.Start(b, localcloud.Options{Seed: seed, Start: time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)}, "reaper")
		for _, trig := range []string{"daily-summary", "daily-run", "monthly-review"} {
			if err := c.SetTriggerEnabled("porthygiene-reaper", trig, false); err != nil {
				b.Fatal(err)
			}
		}
		ep := c.Endpoints()
		sum := flowevidence.Summary{Project: ep.Ledger.Project, Logstore: "flow-summary"}
		today := c.Clock.Now().UTC().Truncate(24 * time.Hour)
		// 30 days of summaries: every group covered each day, 443 and 22 used.
		for d := 1; d <= benchDays; d++ {
			day := today.Add(-time.Duration(d) * 24 * time.Hour)
			var logs []lcsls.Log
			for g := range benchGroups {
				sg := fmt.Sprintf("sg-s%04d", g)
				base := [][2]string{{"day", day.Format(time.DateOnly)}, {"region", "cn-hangzhou"}, {"sg", sg}}
				logs = append(logs, lcsls.Log{Time: day, Contents: append(base[:3:3], [2]string{"kind", "group"}, [2]string{"enis", "10"},
					[2]string{"covered", "true"}, [2]string{"gaps", ""}, [2]string{"ipv6", "false"})})
				for _, rule := range ruleIDs(c, sg) {
					logs = append(logs, lcsls.Log{Time: day, Contents: append(base[:3:3], [2]string{"kind", "rule"}, [2]string{"rule", rule},
						[2]string{"hits", "24"}, [2]string{"last", strconv.FormatInt(day.Add(23*time.Hour).Unix(), 10)})})
				}
			}
			if _, err := c.SLS.Append(sum.Project, sum.Logstore, lcsls.LogGroupInput{Topic: flowevidence.Topic, Logs: logs}); err != nil {
				b.Fatal(err)
			}
		}
		// Yesterday's flow records: two accepted flows per ENI.
		var flows []localcloud.Traffic
		for e := range benchENIs {
			flows = append(flows, localcloud.Traffic{ENI: fmt.Sprintf("eni-s%05d", e), DstPort: 443, SrcAddr: "198.51.100.7", Window: "10m"},
				localcloud.Traffic{ENI: fmt.Sprintf("eni-s%05d", e), DstPort: 23, SrcAddr: "45.33.32.156", Window: "10m"})
		}
		if _, err := c.Advance(context.Background(), time.Nanosecond); err != nil {
			b.Fatal(err)
		}

		run := func(trigger string) (time.Duration, int64, int) {
			before := getLogs(c)
			stop := make(chan struct{})
			peak := peakRSS(stop)
			start := time.Now()
			if err := c.FireTimer("reaper", trigger); err != nil {
				b.Fatal(err)
			}
			lctest.Settle(b, c)
			took := time.Since(start)
			close(stop)
			for _, inv := range c.Runtime.Invocations() {
				if inv.Trigger == trigger && inv.Status != "ok" {
					b.Fatalf("%s: %s %s", trigger, inv.Status, inv.Error)
				}
			}
			return took, peak.Load(), getLogs(c) - before
		}
		took, rss, queries := run("daily-run")
		rows := evidenceRows(b, c, sum)
		b.ReportMetric(float64(queries), "run-sls-queries")
		b.ReportMetric(float64(rows), "run-rows")
		b.ReportMetric(took.Seconds(), "run-s")
		b.ReportMetric(float64(rss)/1024, "run-peak-rss-MiB")

		// The summary of one day: the flows are written into yesterday's
		// window (InjectTraffic dates them now: move the clock a day on).
		if _, err := c.InjectTraffic(flows); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Advance(context.Background(), 24*time.Hour); err != nil {
			b.Fatal(err)
		}
		took, rss, queries = run("daily-summary")
		b.ReportMetric(float64(queries), "summary-sls-queries")
		b.ReportMetric(took.Seconds(), "summary-s")
		b.ReportMetric(float64(rss)/1024, "summary-peak-rss-MiB")
	}
}

var ruleCache sync.Map

func ruleIDs(c *localcloud.Cloud, sg string) []string {
	if v, ok := ruleCache.Load(sg); ok {
		return v.([]string)
	}
	var out []string
	for _, r := range c.ECS.World().Regions[0].SecurityGroups {
		var ids []string
		for _, p := range r.Permissions {
			if p.PortRange == "443/443" || p.PortRange == "22/22" {
				ids = append(ids, p.SecurityGroupRuleID)
			}
		}
		ruleCache.Store(r.SecurityGroupID, ids)
		if r.SecurityGroupID == sg {
			out = ids
		}
	}
	return out
}

func getLogs(c *localcloud.Cloud) int {
	n := 0
	for _, call := range c.Stats.Snapshot().Calls {
		if call.Service == "sls" && call.Action == "GetLogs" && strings.HasPrefix(call.Caller, "porthygiene") {
			n += int(call.Count)
		}
	}
	return n
}

// emulatorStore reads localcloud's SLS in process (for counting rows).
type emulatorStore struct{ c *localcloud.Cloud }

func (s emulatorStore) Query(_ context.Context, project, logstore string, from, to time.Time, query string) ([]map[string]string, error) {
	return s.c.SLS.Query(project, logstore, from, to, query)
}

func (emulatorStore) PutLogs(context.Context, string, string, string, []logstore.Log) error {
	return errors.New("read only")
}

// evidenceRows is the rows the run's evidence queries return (the same
// flowevidence.Load the function runs).
func evidenceRows(b *testing.B, c *localcloud.Cloud, sum flowevidence.Summary) int {
	from, to := flowevidence.Window(c.Clock.Now(), benchDays)
	ev, err := flowevidence.Load(context.Background(), emulatorStore{c}, sum, "cn-hangzhou", from, to)
	if err != nil {
		b.Fatal(err)
	}
	return ev.Rows
}

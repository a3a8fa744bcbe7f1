package guard_test

// The sweep at scale (issue 4): the guard's sweep, in process, against
// localcloud through the real ECS adapter over loopback HTTP, with localcloud
// throttling ECS at 100 calls per second. The sweep must finish without a
// single failed call, within 10% of the time the rate limit allows.
//
//	go test -run TestSweepPacing ./shared/guard/                       (500 groups, in make test)
//	go test -run '^$' -bench BenchmarkSweep10k -benchtime 1x ./shared/guard/   (10,000 groups, ~100 s)

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/porthygiene/porthygiene/localcloud"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/guard"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/slsapi"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

const (
	sweepRegion   = "cn-hangzhou"
	sweepQPS      = 100 // localcloud's ECS rate limit, and the client's pace
	ledgerProject = "porthygiene-ledger"
	ledgerStore   = "ledger"
)

// sweepWorld is one region with n groups of rulesPer rules each. Every
// exposeEvery-th group also opens ssh to the world; the one after it does too
// but carries an exemption tag (which only the listing's tags reveal); every
// tenth group refers to a shared prefix list.
type sweepWorld struct {
	groups, rulesPer, exposeEvery int
}

func (w sweepWorld) exposed() (revoke, exempt int) {
	for i := range w.groups {
		switch i % w.exposeEvery {
		case 0:
			revoke++
		case 1:
			exempt++
		}
	}
	return revoke, exempt
}

func (w sweepWorld) seed(now time.Time) *localcloud.Seed {
	until := now.Add(30 * 24 * time.Hour).Format("2006-01-02")
	groups := make([]lcecs.SecurityGroup, 0, w.groups)
	for i := range w.groups {
		perms := make([]lcecs.Permission, 0, w.rulesPer+1)
		for j := range w.rulesPer {
			p := lcecs.Permission{Direction: "ingress", IpProtocol: "TCP", PortRange: fmt.Sprintf("%d/%d", 10000+j, 10000+j),
				SourceCidrIp: fmt.Sprintf("10.%d.%d.0/24", j, i%250), Policy: "Accept", Priority: 1, Description: fmt.Sprintf("service %d", j)}
			if j == 0 && i%10 == 0 {
				p.SourceCidrIp, p.SourcePrefixListID = "", "pl-office"
			}
			perms = append(perms, p)
		}
		g := lcecs.SecurityGroup{SecurityGroupID: fmt.Sprintf("sg-sweep%06d", i), SecurityGroupName: fmt.Sprintf("sweep-%d", i),
			VpcID: "vpc-sweep", Tags: []lcecs.Tag{{Key: "team", Value: fmt.Sprintf("team-%d", i%7)}}}
		switch i % w.exposeEvery {
		case 0:
			perms = append(perms, lcecs.Permission{Direction: "ingress", IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0", Description: "debug"})
		case 1:
			perms = append(perms, lcecs.Permission{Direction: "ingress", IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0", Description: "bastion"})
			g.Tags = append(g.Tags, lcecs.Tag{Key: "porthygiene-exempt", Value: "owner=ops;reason=bastion;until=" + until})
		}
		g.Permissions = perms
		groups = append(groups, g)
	}
	return &localcloud.Seed{
		Region: sweepRegion,
		Regions: []lcecs.Region{{
			RegionID:       sweepRegion,
			Vpcs:           []lcecs.Vpc{{VpcID: "vpc-sweep", CidrBlock: "10.0.0.0/8"}},
			SecurityGroups: groups,
			PrefixLists: []lcecs.PrefixList{{PrefixListID: "pl-office", PrefixListName: "office", MaxEntries: 10,
				Entries: []lcecs.PrefixListEntry{{Cidr: "203.0.113.0/24"}}}},
		}},
		Projects: []localcloud.SeedProject{{Name: ledgerProject, Logstores: []localcloud.SeedLogstore{{Name: ledgerStore}}}},
	}
}

// countingNotifier counts what the guard would tell people.
type countingNotifier struct {
	mu     sync.Mutex
	events int
}

func (n *countingNotifier) Notify(_ context.Context, _ time.Time, evs []notify.Event) (notify.Report, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events += len(evs)
	return notify.Report{Sent: len(evs)}, nil
}

type sweepOutcome struct {
	res     guard.Result
	elapsed time.Duration
	ecs     stats.Snapshot // ECS calls of the sweep
	calls   int
	failed  int
	notes   int
}

// bound is the time the rate limit allows for the sweep's calls.
func (o sweepOutcome) bound() time.Duration {
	return time.Duration(float64(o.calls) / sweepQPS * float64(time.Second))
}

// runSweep loads w into a fresh localcloud, turns on the rate limit and runs
// one sweep invocation of the guard in process.
func runSweep(tb testing.TB, w sweepWorld, timeout time.Duration) sweepOutcome {
	tb.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	c, err := localcloud.Start(localcloud.Options{Seed: w.seed(now), Start: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	op := c.Operator()

	ecsClient, err := ecsapi.New(ecsapi.Config{Region: sweepRegion, Endpoint: c.URL(), QPS: sweepQPS,
		Credentials: ecsapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}})
	if err != nil {
		tb.Fatal(err)
	}
	dial := &net.Dialer{Timeout: 2 * time.Second}
	sls := slsapi.New(slsapi.Config{
		Endpoint: "http://" + sweepRegion + ".log.aliyuncs.com",
		Credentials: func() slsapi.Credentials {
			return slsapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}
		},
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, nw, _ string) (net.Conn, error) { return dial.DialContext(ctx, nw, c.Addr()) },
		}},
	})
	pol := policy.Default()
	pol.Modes.Guard = policy.ModeEnforce
	g, err := guard.New(pol, guard.Config{RoleName: "porthygiene-fc-role", Regions: []string{sweepRegion},
		Logger: slog.New(slog.DiscardHandler), Wall: func() time.Time { return now }})
	if err != nil {
		tb.Fatal(err)
	}
	notes := &countingNotifier{}
	deps := guard.Deps{
		Cloud:    func(string) (guard.Cloud, error) { return ecsClient, nil },
		Ledger:   ledger.New(sls, ledgerProject, ledgerStore),
		Notifier: notes,
	}
	payload, err := trigger.EncodeTimer("sweep", now, map[string]string{"mode": "sweep"})
	if err != nil {
		tb.Fatal(err)
	}

	c.SetFaults(faults.Config{RateLimits: map[string]float64{"ecs": sweepQPS}})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	before := c.Stats.Snapshot()
	start := time.Now()
	res, err := g.Handle(ctx, deps, payload)
	elapsed := time.Since(start)
	if err != nil {
		tb.Fatalf("sweep: %v (result: partial=%v groups=%d)", err, res.Partial, len(res.Groups))
	}
	out := sweepOutcome{res: res, elapsed: elapsed, ecs: ecsDelta(before, c.Stats.Snapshot()), notes: notes.events}
	for _, r := range out.ecs.Calls {
		out.calls += r.Count
		out.failed += r.Errors
	}
	return out
}

// ecsDelta is the ECS part of after minus before.
func ecsDelta(before, after stats.Snapshot) stats.Snapshot {
	prev := map[string]stats.Call{}
	for _, r := range before.Calls {
		prev[r.Service+"/"+r.Action+"/"+r.Caller] = r
	}
	var out stats.Snapshot
	for _, r := range after.Calls {
		if r.Service != "ecs" {
			continue
		}
		p := prev[r.Service+"/"+r.Action+"/"+r.Caller]
		r.Count -= p.Count
		r.Errors -= p.Errors
		for k, v := range p.ErrorCodes {
			r.ErrorCodes[k] -= v
		}
		if r.Count > 0 {
			out.Calls = append(out.Calls, r)
		}
	}
	return out
}

// check asserts the sweep's outcome: every group read, the exposed ones
// revoked, the exempt ones left, no failed call, and the time within 10%
// (plus slack) of what the rate limit allows.
func check(tb testing.TB, w sweepWorld, o sweepOutcome, slack time.Duration) {
	tb.Helper()
	for _, r := range o.ecs.Calls {
		tb.Logf("%-32s %6d calls %d errors %v", r.Action, r.Count, r.Errors, r.ErrorCodes)
	}
	tb.Logf("%d groups, %d ECS calls in %v; the rate limit allows %v (ratio %.3f)",
		len(o.res.Groups), o.calls, o.elapsed.Round(time.Millisecond), o.bound().Round(time.Millisecond),
		o.elapsed.Seconds()/o.bound().Seconds())
	revoke, exempt := w.exposed()
	if got := len(o.res.Groups); got != w.groups {
		tb.Errorf("groups evaluated = %d, want %d", got, w.groups)
	}
	if got := len(o.res.Revoked); got != revoke {
		tb.Errorf("revoked = %d, want %d (the exposed groups)", got, revoke)
	}
	if got := o.res.Findings; got != revoke {
		tb.Errorf("findings = %d, want %d: the %d groups exempt by tag must not be findings", got, revoke, exempt)
	}
	if o.failed != 0 {
		tb.Errorf("%d ECS calls failed, want none (the client paces itself below the limit)", o.failed)
	}
	// One listing page per 100 groups, one rules page per group, one batched
	// revoke per exposed group, and the shared prefix list read once or
	// twice (concurrent first reads); no per-group tag read.
	if tags := o.ecs.Count("ecs", "ListTagResources", ""); tags != 0 {
		tb.Errorf("ListTagResources calls = %d, want 0: the listing carries the tags", tags)
	}
	if pl := o.ecs.Count("ecs", "DescribePrefixListAttributes", ""); pl > guard.DefaultSweepWorkers {
		tb.Errorf("DescribePrefixListAttributes calls = %d, want the shared list read about once", pl)
	}
	if limit := time.Duration(1.1*float64(o.bound())) + slack; o.elapsed > limit {
		tb.Errorf("sweep took %v, want at most %v (1.1 × %d calls / %d per second + %v)", o.elapsed, limit, o.calls, sweepQPS, slack)
	}
}

// TestSweepPacing is the scaled-down sweep run by make test: 500 groups × 50
// rules at 100 ECS calls per second.
func TestSweepPacing(t *testing.T) {
	if testing.Short() {
		t.Skip("about 5 s of rate-limited calls")
	}
	w := sweepWorld{groups: 500, rulesPer: 50, exposeEvery: 100}
	o := runSweep(t, w, 60*time.Second) // FC's timeout of the guard
	check(t, w, o, time.Second)
}

// BenchmarkSweep10k is the target: 10,000 groups × 50 rules at 100
// ECS calls per second (about 100 s). It does not run in make test.
func BenchmarkSweep10k(b *testing.B) {
	w := sweepWorld{groups: 10000, rulesPer: 50, exposeEvery: 1000}
	for range b.N {
		o := runSweep(b, w, 10*time.Minute)
		check(b, w, o, 0)
		b.ReportMetric(o.elapsed.Seconds(), "sweep-s")
		b.ReportMetric(o.bound().Seconds(), "bound-s")
		b.ReportMetric(o.elapsed.Seconds()/o.bound().Seconds(), "ratio")
		b.ReportMetric(float64(o.calls), "ecs-calls")
		b.ReportMetric(float64(o.failed), "failed-calls")
	}
}

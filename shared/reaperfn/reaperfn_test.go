package reaperfn_test

// The reaper's handler in process, on localcloud with the real adapters
// (ECS, VPC, SLS, the ledger) and a small fake of our own notifier: the
// cap paces closures without dropping any, a payload dated 2099 summarizes
// no future day, and a log store that fails closes and announces nothing.

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	lcsls "github.com/porthygiene/porthygiene/localcloud/sls"
	"github.com/porthygiene/porthygiene/shared/accountapi"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/reaper"
	"github.com/porthygiene/porthygiene/shared/reaperfn"
	"github.com/porthygiene/porthygiene/shared/slsapi"
)

const world = `{"Region":"cn-hangzhou","Regions":[{"RegionId":"cn-hangzhou","Zones":["cn-hangzhou-h"],
"Vpcs":[{"VpcId":"vpc-t","CidrBlock":"10.0.0.0/16"}],
"VSwitches":[{"VSwitchId":"vsw-a","VpcId":"vpc-t","ZoneId":"cn-hangzhou-h","CidrBlock":"10.0.1.0/24"}],
"SecurityGroups":[{"SecurityGroupId":"sg-a","VpcId":"vpc-t","Permissions":[
  {"Direction":"ingress","IpProtocol":"TCP","PortRange":"8080/8080","SourceCidrIp":"10.0.0.0/16","SecurityGroupRuleId":"sgr-8080","CreateTime":"2026-01-01T00:00:00Z"},
  {"Direction":"ingress","IpProtocol":"TCP","PortRange":"8081/8081","SourceCidrIp":"10.0.0.0/16","SecurityGroupRuleId":"sgr-8081","CreateTime":"2026-01-01T00:00:00Z"}]}],
"Instances":[{"InstanceId":"i-a","ZoneId":"cn-hangzhou-h","VpcId":"vpc-t","VSwitchId":"vsw-a"}],
"NetworkInterfaces":[{"NetworkInterfaceId":"eni-a","Type":"Primary","InstanceId":"i-a","VpcId":"vpc-t","VSwitchId":"vsw-a","ZoneId":"cn-hangzhou-h","PrivateIpAddress":"10.0.1.10","SecurityGroupIds":["sg-a"]}]}],
"FlowLogs":[{"FlowLogId":"fl-a","ResourceType":"VSwitch","ResourceId":"vsw-a","ProjectName":"flows","LogStoreName":"flowlog","CreationTime":"2026-01-01T00:00:00Z"}],
"Projects":[{"Name":"ledger","Logstores":[{"Name":"ledger"},{"Name":"flow-summary"}]}]}`

type notifier struct {
	mu     sync.Mutex
	events []notify.Event
}

func (n *notifier) Notify(_ context.Context, _ time.Time, evs []notify.Event) (notify.Report, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, evs...)
	return notify.Report{Sent: len(evs)}, nil
}

type rig struct {
	c    *localcloud.Cloud
	deps reaperfn.Deps
	led  *ledger.Ledger
	sum  flowevidence.Summary
	now  time.Time
}

func newRig(t *testing.T) *rig {
	t.Helper()
	seed, err := localcloud.ParseSeed([]byte(world))
	require.NoError(t, err)
	now := time.Date(2026, 4, 10, 1, 0, 0, 0, time.UTC)
	c, err := localcloud.Start(localcloud.Options{Seed: seed, Start: now})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	op := c.Operator()
	ec, err := ecsapi.New(ecsapi.Config{Region: c.Region(), Endpoint: c.URL(), MaxAttempts: 1,
		Credentials: ecsapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}})
	require.NoError(t, err)
	fl, err := accountapi.New(accountapi.Config{Region: c.Region(), VPCEndpoint: c.URL(),
		Credentials: accountapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}})
	require.NoError(t, err)
	d := &net.Dialer{Timeout: 2 * time.Second}
	sls := slsapi.New(slsapi.Config{Endpoint: "http://" + c.Region() + ".log.aliyuncs.com", RetryTimeout: 200 * time.Millisecond,
		Credentials: func() slsapi.Credentials {
			return slsapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}
		},
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, nw, _ string) (net.Conn, error) { return d.DialContext(ctx, nw, c.Addr()) }}}})
	led := ledger.New(sls, "ledger", "ledger")
	r := &rig{c: c, led: led, sum: flowevidence.Summary{Project: "ledger", Logstore: "flow-summary"}, now: now}
	r.deps = reaperfn.Deps{
		Deps:  engine.Deps{Cloud: func(string) (engine.Cloud, error) { return ec, nil }, Ledger: led, Notifier: &notifier{}},
		Store: sls, FlowLogs: func(string) (flowevidence.FlowLogs, error) { return fl, nil },
	}
	return r
}

// covered writes days of summaries of sg-a before day: covered, no hits.
func (r *rig) covered(t *testing.T, day time.Time, days int) {
	t.Helper()
	for d := 1; d <= days; d++ {
		at := day.Add(-time.Duration(d) * 24 * time.Hour)
		_, err := r.c.SLS.Append(r.sum.Project, r.sum.Logstore, lcsls.LogGroupInput{Topic: flowevidence.Topic, Logs: []lcsls.Log{{Time: at, Contents: [][2]string{
			{"kind", "group"}, {"day", at.Format(time.DateOnly)}, {"region", "cn-hangzhou"}, {"sg", "sg-a"}, {"enis", "1"}, {"covered", "true"}, {"gaps", ""}, {"ipv6", "false"}}}}})
		require.NoError(t, err)
	}
}

// handle runs the reaper at at. The virtual clock moves a minute first:
// runs are a day apart, so what the last one wrote is searchable (SLS's
// index delay has passed on the virtual clock).
func (r *rig) handle(t *testing.T, at time.Time, payload string, maxCloses int) (reaperfn.Result, error) {
	t.Helper()
	_, err := r.c.Advance(t.Context(), time.Minute)
	require.NoError(t, err)
	rp, err := reaperfn.New(mustPolicy(t), reaperfn.Config{Config: engine.Config{Regions: []string{"cn-hangzhou"}, Wall: func() time.Time { return at }},
		Settings: reaper.Settings{MaxCloses: maxCloses}, Summary: r.sum})
	require.NoError(t, err)
	ev := `{"triggerTime":"` + at.Format(time.RFC3339) + `","triggerName":"t","payload":` + strconv.Quote(payload) + `}`
	return rp.Handle(context.Background(), r.deps, []byte(ev))
}

func mustPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte("modes:\n  reaper: enforce\n"), "policy.yaml")
	require.NoError(t, err)
	return p
}

func (r *rig) records(t *testing.T, k ledger.Kind) int {
	t.Helper()
	_, err := r.c.Advance(t.Context(), time.Minute) // past SLS's index delay
	require.NoError(t, err)
	recs, err := r.led.Query(t.Context(), ledger.Filter{Kinds: []ledger.Kind{k}})
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, rec := range recs {
		seen[rec.ID] = true
	}
	return len(seen)
}

// The cap is a pace: of two rules due, one closes in this run, the other in
// the next; none is dropped.
func TestCapPacesClosures(t *testing.T) {
	r := newRig(t)
	r.covered(t, r.now.Add(10*24*time.Hour), 40)
	res, err := r.handle(t, r.now, `{"mode":"sweep"}`, 1)
	require.NoError(t, err, "%+v", res)
	require.Equal(t, 2, r.records(t, ledger.KindAnnouncement), "both silent rules announced")

	later := r.now.Add(8 * 24 * time.Hour)
	res, err = r.handle(t, later, `{"mode":"sweep"}`, 1)
	require.NoError(t, err)
	require.Len(t, res.Revoked, 1, "one close a run")
	require.Equal(t, 1, res.Capped, "the other is held back, not dropped")
	res, err = r.handle(t, later.Add(24*time.Hour), `{"mode":"sweep"}`, 1)
	require.NoError(t, err)
	require.Len(t, res.Revoked, 1, "closed in the next run")
	require.Equal(t, 2, r.records(t, ledger.KindClosure))
}

// A timer payload dated 2099 is not trusted: the summary is of the days
// before the wall clock, not of 2099.
func TestFuturePayloadSummarizesNoFutureDay(t *testing.T) {
	r := newRig(t)
	ev := `{"triggerTime":"2099-01-01T00:00:00Z","triggerName":"daily-summary","payload":"{\"mode\":\"summary\"}"}`
	rp, err := reaperfn.New(mustPolicy(t), reaperfn.Config{Config: engine.Config{Regions: []string{"cn-hangzhou"}, Wall: func() time.Time { return r.now }}, Summary: r.sum})
	require.NoError(t, err)
	out, err := rp.Handle(context.Background(), r.deps, []byte(ev))
	require.NoError(t, err)
	require.Len(t, out.Summaries, 2)
	require.Equal(t, "2026-04-08", out.Summaries[0].Day)
	require.Equal(t, "2026-04-09", out.Summaries[1].Day, "yesterday by the wall clock, not 2098-12-31")
}

// SLS failing: the run fails (FC retries it) and nothing is announced or
// closed on evidence it could not read.
func TestFailingLogStoreDecidesNothing(t *testing.T) {
	r := newRig(t)
	r.covered(t, r.now, 40)
	r.c.SetFaults(faults.Config{Actions: []faults.Action{{Service: "sls", Action: "GetLogs", ServerErrorRatio: 1}}})
	res, err := r.handle(t, r.now, `{"mode":"sweep"}`, 5)
	require.Error(t, err, "%+v", res)
	require.Empty(t, res.Revoked)
	r.c.SetFaults(faults.Config{})
	require.Zero(t, r.records(t, ledger.KindAnnouncement), "no announcement on unread evidence")
}

package flowevidence_test

import (
	"context"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/shared/accountapi"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/reaper"
	"github.com/porthygiene/porthygiene/shared/slsapi"
)

const world = `{"Region":"cn-hangzhou","Regions":[{"RegionId":"cn-hangzhou","Zones":["cn-hangzhou-h"],
"Vpcs":[{"VpcId":"vpc-t","CidrBlock":"10.0.0.0/16"}],
"VSwitches":[{"VSwitchId":"vsw-a","VpcId":"vpc-t","ZoneId":"cn-hangzhou-h","CidrBlock":"10.0.1.0/24"},
             {"VSwitchId":"vsw-b","VpcId":"vpc-t","ZoneId":"cn-hangzhou-h","CidrBlock":"10.0.2.0/24"}],
"SecurityGroups":[
 {"SecurityGroupId":"sg-a","VpcId":"vpc-t","Permissions":[
  {"Direction":"ingress","IpProtocol":"TCP","PortRange":"443/443","SourceCidrIp":"0.0.0.0/0","SecurityGroupRuleId":"sgr-443"},
  {"Direction":"ingress","IpProtocol":"TCP","PortRange":"1/65535","SourceCidrIp":"198.51.100.0/24","SecurityGroupRuleId":"sgr-wide"},
  {"Direction":"ingress","IpProtocol":"TCP","PortRange":"3306/3306","SourceGroupId":"sg-app","SecurityGroupRuleId":"sgr-3306"},
  {"Direction":"ingress","IpProtocol":"TCP","PortRange":"8080/8080","SourceCidrIp":"10.0.0.0/16","SecurityGroupRuleId":"sgr-8080"}]},
 {"SecurityGroupId":"sg-app","VpcId":"vpc-t"}],
"Instances":[{"InstanceId":"i-a","ZoneId":"cn-hangzhou-h","VpcId":"vpc-t","VSwitchId":"vsw-a"},
             {"InstanceId":"i-app","ZoneId":"cn-hangzhou-h","VpcId":"vpc-t","VSwitchId":"vsw-a"},
             {"InstanceId":"i-b","ZoneId":"cn-hangzhou-h","VpcId":"vpc-t","VSwitchId":"vsw-b"}],
"NetworkInterfaces":[
 {"NetworkInterfaceId":"eni-a","Type":"Primary","InstanceId":"i-a","VpcId":"vpc-t","VSwitchId":"vsw-a","ZoneId":"cn-hangzhou-h","PrivateIpAddress":"10.0.1.10","SecurityGroupIds":["sg-a"]},
 {"NetworkInterfaceId":"eni-app","Type":"Primary","InstanceId":"i-app","VpcId":"vpc-t","VSwitchId":"vsw-a","ZoneId":"cn-hangzhou-h","PrivateIpAddress":"10.0.1.5","SecurityGroupIds":["sg-app"]},
 {"NetworkInterfaceId":"eni-b","Type":"Primary","InstanceId":"i-b","VpcId":"vpc-t","VSwitchId":"vsw-b","ZoneId":"cn-hangzhou-h","PrivateIpAddress":"10.0.2.10","SecurityGroupIds":["sg-a"]}]}],
"FlowLogs":[{"FlowLogId":"fl-a","ResourceType":"VSwitch","ResourceId":"vsw-a","ProjectName":"flows","LogStoreName":"flowlog","CreationTime":"2026-01-01T00:00:00Z"}],
"Projects":[{"Name":"ledger","Logstores":[{"Name":"flow-summary"}]}]}`

type clients struct {
	c   *localcloud.Cloud
	ecs *ecsapi.Client
	fl  *accountapi.Client
	sls *slsapi.Client
}

func start(t *testing.T, at time.Time) clients {
	t.Helper()
	seed, err := localcloud.ParseSeed([]byte(world))
	require.NoError(t, err)
	// The records are read after the clock moves on: SLS's index delay has
	// passed on the virtual clock whatever its setting.
	c, err := localcloud.Start(localcloud.Options{Seed: seed, Start: at})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	op := c.Operator()
	ec, err := ecsapi.New(ecsapi.Config{Region: c.Region(), Endpoint: c.URL(), Credentials: ecsapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}})
	require.NoError(t, err)
	fl, err := accountapi.New(accountapi.Config{Region: c.Region(), VPCEndpoint: c.URL(), Credentials: accountapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}})
	require.NoError(t, err)
	d := &net.Dialer{Timeout: 2 * time.Second}
	sls := slsapi.New(slsapi.Config{Endpoint: "http://" + c.Region() + ".log.aliyuncs.com",
		Credentials: func() slsapi.Credentials {
			return slsapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}
		},
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, nw, _ string) (net.Conn, error) { return d.DialContext(ctx, nw, c.Addr()) }}}})
	return clients{c, ec, fl, sls}
}

// One day summarized: attribution with the oracle (every accept rule that
// alone admits a flow, a group peer through the source's ENI), coverage gaps
// (an ENI no flow log covers, a SKIPDATA window), NODATA as captured
// silence, REJECTs as probes, one query for the batch; a second run of the
// same day is skipped; Load reads it back.
func TestSummarizeOneDay(t *testing.T) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	k := start(t, day.Add(10*time.Hour))
	ctx := t.Context()
	_, err := k.c.InjectTraffic([]localcloud.Traffic{
		{ENI: "eni-a", DstPort: 443, SrcAddr: "198.51.100.7"},
		{ENI: "eni-a", DstPort: 443, SrcAddr: "198.51.100.7", SrcPort: 5},
		{ENI: "eni-a", DstPort: 443, SrcAddr: "203.0.113.1"},
		{ENI: "eni-a", DstPort: 3306, SrcAddr: "10.0.1.5"}, // eni-app, in sg-app
		{ENI: "eni-a", DstPort: 23, SrcAddr: "45.33.32.156"},
		{ENI: "eni-a", LogStatus: "NODATA"},
		{ENI: "eni-app", LogStatus: "SKIPDATA"},
	})
	require.NoError(t, err)
	_, err = k.c.Advance(ctx, 15*time.Hour)
	require.NoError(t, err)

	sum := flowevidence.Summary{Project: "ledger", Logstore: "flow-summary"}
	st, err := flowevidence.Summarize(ctx, k.ecs, k.fl, k.sls, sum, "cn-hangzhou", day)
	require.NoError(t, err)
	require.Equal(t, 3, st.ENIs)
	require.Equal(t, 2, st.Covered, "eni-b's VSwitch has no flow log")
	require.Equal(t, 1, st.Queries, "one aggregate for the batch of covered ENIs")
	require.Equal(t, 2, st.Groups)
	require.Equal(t, 1, st.Probes)
	require.Zero(t, st.Unmatched)

	// A redelivery comes minutes later, past SLS's index delay (inside it,
	// both runs would write: README's known limits).
	_, err = k.c.Advance(ctx, time.Minute)
	require.NoError(t, err)
	again, err := flowevidence.Summarize(ctx, k.ecs, k.fl, k.sls, sum, "cn-hangzhou", day)
	require.NoError(t, err)
	require.True(t, again.Skipped, "a redelivered summary of the same day writes nothing")
	require.Zero(t, again.Queries)

	ev, err := flowevidence.Load(ctx, k.sls, sum, "cn-hangzhou", day, day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 4, ev.Queries)
	a := ev.Groups["sg-a"]
	require.NotNil(t, a)
	require.Equal(t, 2, a.ENIs)
	require.Zero(t, a.Covered, "eni-b had no flow log")
	require.Contains(t, a.Gaps, reaperGap("2026-03-10", "eni-b", "no-flow-log"))
	require.Equal(t, int64(3), a.Use["sgr-443"].Hits, "three accepted 443 flows (two records share a 5-tuple but for the source port)")
	require.Equal(t, int64(2), a.Use["sgr-wide"].Hits, "the wide rule admits the 198.51.100.7 flows too: every accept rule that would admit it")
	require.Equal(t, int64(1), a.Use["sgr-3306"].Hits, "the sg-app peer, through the source's ENI")
	require.Zero(t, a.Use["sgr-8080"].Hits)
	app := ev.Groups["sg-app"]
	require.NotNil(t, app)
	require.Contains(t, app.Gaps, reaperGap("2026-03-10", "eni-app", "skipdata"))
	require.False(t, a.IPv6)
}

func TestFlowQueryStaysWithinTheKeywordLimit(t *testing.T) {
	enis := make([]string, flowevidence.BatchENIs)
	for i := range enis {
		enis[i] = "eni-x"
	}
	q := flowevidence.FlowQuery(enis)
	search, _, ok := strings.Cut(q, "|")
	require.True(t, ok, "a search | SQL query")
	require.LessOrEqual(t, strings.Count(search, `"eni-id"`), 30, "SLS allows 30 keywords in a search")
}

func reaperGap(day, eni, why string) reaper.Gap { return reaper.Gap{Day: day, ENI: eni, Reason: why} }

// A flow record that lies — an address that is none, a port out of range —
// is evidence not read: its ENI's day is a gap, so the rules it might have
// used are "unknown", never silent, never unused.
func TestSummarizeUnreadableFlowRecordIsAGap(t *testing.T) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	k := start(t, day.Add(10*time.Hour))
	ctx := t.Context()
	end := strconv.FormatInt(day.Add(10*time.Hour).Unix(), 10)
	for _, bad := range []map[string]string{
		{"srcaddr": "not-an-address", "dstport": "8080"},
		{"srcaddr": "10.0.2.10", "dstport": "70000"},
	} {
		rec := map[string]string{"eni-id": "eni-a", "log-status": "OK", "action": "ACCEPT", "direction": "in", "protocol": "6",
			"start": end, "end": end, "srcport": "5000", "dstaddr": "10.0.1.10"}
		maps.Copy(rec, bad)
		require.NoError(t, k.sls.PutLogs(ctx, "flows", "flowlog", "", []slsapi.Log{{Time: day.Add(10 * time.Hour), Contents: rec}}))
	}
	_, err := k.c.Advance(ctx, 15*time.Hour)
	require.NoError(t, err)
	sum := flowevidence.Summary{Project: "ledger", Logstore: "flow-summary"}
	st, err := flowevidence.Summarize(ctx, k.ecs, k.fl, k.sls, sum, "cn-hangzhou", day)
	require.NoError(t, err)
	require.Equal(t, 2, st.Rows, "both records were read")
	_, err = k.c.Advance(ctx, time.Minute) // past SLS's index delay
	require.NoError(t, err)
	ev, err := flowevidence.Load(ctx, k.sls, sum, "cn-hangzhou", day, day.Add(24*time.Hour))
	require.NoError(t, err)
	a := ev.Groups["sg-a"]
	require.NotNil(t, a)
	require.Contains(t, a.Gaps, reaperGap("2026-03-10", "eni-a", "unreadable flow record"))
	require.Zero(t, a.Use["sgr-8080"].Hits, "nothing counted from what could not be read")
}

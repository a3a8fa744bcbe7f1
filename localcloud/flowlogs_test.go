package localcloud_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
)

func vpcClient(t *testing.T, c *localcloud.Cloud) *vpc.Client {
	t.Helper()
	op := c.Operator()
	cl, err := vpc.NewClientWithOptions(c.Region(), sdk.NewConfig(), credentials.NewAccessKeyCredential(op.AccessKeyID, op.AccessKeySecret))
	require.NoError(t, err)
	cl.Domain = c.Addr()
	return cl
}

// The default world's flow logs, as the real SDK reads them: one VSwitch,
// two ENIs; eni-cache-1 is covered by none.
func TestDescribeFlowLogsDefaultWorld(t *testing.T) {
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	c, err := localcloud.Start(localcloud.Options{Seed: localcloud.DefaultSeed(), Start: start})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	cl := vpcClient(t, c)

	req := vpc.CreateDescribeFlowLogsRequest()
	req.RegionId = "cn-hangzhou"
	resp, err := cl.DescribeFlowLogs(req)
	require.NoError(t, err)
	require.Equal(t, "3", resp.TotalCount)
	got := map[string]vpc.FlowLog{}
	for _, fl := range resp.FlowLogs.FlowLog {
		got[fl.ResourceId] = fl
	}
	require.Contains(t, got, "vsw-demo-h")
	require.Contains(t, got, "eni-bastion-1")
	require.Contains(t, got, "eni-win-1")
	fl := got["vsw-demo-h"]
	require.Equal(t, "VSwitch", fl.ResourceType)
	require.Equal(t, "Active", fl.Status)
	require.Equal(t, "vpc-flowlog-demo", fl.ProjectName)
	require.Equal(t, "flowlog", fl.LogStoreName)
	require.Equal(t, "2026-03-01T08:00:00Z", fl.CreationTime, "created when the virtual clock starts")

	// Filters and paging, as the real API.
	req = vpc.CreateDescribeFlowLogsRequest()
	req.RegionId, req.ResourceType = "cn-hangzhou", "NetworkInterface"
	req.PageSize = requests.NewInteger(1)
	req.PageNumber = requests.NewInteger(2)
	resp, err = cl.DescribeFlowLogs(req)
	require.NoError(t, err)
	require.Equal(t, "2", resp.TotalCount)
	require.Len(t, resp.FlowLogs.FlowLog, 1)
	require.Equal(t, "2", resp.PageNumber)

	req = vpc.CreateDescribeFlowLogsRequest()
	req.RegionId, req.VpcId = "cn-hangzhou", "vpc-demo"
	resp, err = cl.DescribeFlowLogs(req)
	require.NoError(t, err)
	require.Equal(t, "3", resp.TotalCount, "the VpcId filter matches flow logs of the VPC's VSwitches and ENIs")

	req = vpc.CreateDescribeFlowLogsRequest()
	req.RegionId = "cn-shanghai"
	resp, err = cl.DescribeFlowLogs(req)
	require.NoError(t, err)
	require.Equal(t, "0", resp.TotalCount, "flow logs are regional")

	for _, bad := range []func(*vpc.DescribeFlowLogsRequest){
		func(r *vpc.DescribeFlowLogsRequest) { r.PageSize = requests.NewInteger(51) },
		func(r *vpc.DescribeFlowLogsRequest) { r.ResourceType = "Instance" },
		func(r *vpc.DescribeFlowLogsRequest) { r.Status = "Running" },
	} {
		req = vpc.CreateDescribeFlowLogsRequest()
		req.RegionId = "cn-hangzhou"
		bad(req)
		_, err = cl.DescribeFlowLogs(req)
		var se *sdkerrors.ServerError
		require.True(t, errors.As(err, &se), "%v", err)
		require.Equal(t, 400, se.HttpStatus())
	}
}

// The seed's traffic becomes flow records as the clock moves: per day, with
// the action the security groups decide, only on days the pattern is on,
// only on ENIs a flow log covers, and SKIPDATA/NODATA records as asked.
func TestSeedTrafficBecomesFlowRecords(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	seed := localcloud.DefaultSeed()
	seed.Traffic = []localcloud.TrafficPattern{
		{ENI: "eni-web-1", Port: 443, Source: "198.51.100.7", PerDay: 4},
		{ENI: "eni-web-1", Port: 23, Source: "45.33.32.156", PerDay: 2},
		{ENI: "eni-db-1", Port: 3306, Source: "10.0.1.10", PerDay: 1, FromDay: 2},
		{ENI: "eni-web-1", Port: 22, Source: "10.0.2.10", PerDay: 1, OnDays: 1, OffDays: 1},
		{ENI: "eni-win-1", LogStatus: "SKIPDATA", Days: []int{1}},
		{ENI: "eni-cache-1", Port: 6379, Source: "10.0.1.10", PerDay: 5}, // no flow log: nothing written
	}
	c, err := localcloud.Start(localcloud.Options{Seed: seed, Start: start})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = c.Advance(context.Background(), 3*24*time.Hour)
	require.NoError(t, err)

	q := func(query string) []map[string]string {
		rows, err := c.SLS.Query("vpc-flowlog-demo", "flowlog", start, start.Add(3*24*time.Hour), query)
		require.NoError(t, err)
		return rows
	}
	count := func(query string) string { return q(query + " | select count(*) as n")[0]["n"] }
	require.Equal(t, "12", count(`"eni-id": eni-web-1 and dstport: 443 and action: ACCEPT`), "4 a day for 3 days")
	require.Equal(t, "6", count(`"eni-id": eni-web-1 and dstport: 23 and action: REJECT`), "a probe of a closed port is REJECTed")
	require.Equal(t, "1", count(`"eni-id": eni-db-1 and dstport: 3306 and action: ACCEPT`), "from day 2 only, admitted by the sg-web source group")
	require.Equal(t, "2", count(`"eni-id": eni-web-1 and dstport: 22`), "on, off, on")
	require.Equal(t, "1", count(`"eni-id": eni-win-1 and "log-status": SKIPDATA`))
	require.Equal(t, "0", count(`"eni-id": eni-cache-1`), "no flow log covers eni-cache-1")
	day := q(`"eni-id": eni-db-1 and dstport: 3306 | select min(__time__) as t`)[0]["t"]
	require.Equal(t, "1772539200", day, "day 2 at noon (one record a day, mid-day)")

	// A second advance writes only what is new.
	_, err = c.Advance(context.Background(), time.Hour)
	require.NoError(t, err)
	require.Equal(t, "12", count(`"eni-id": eni-web-1 and dstport: 443`))
}

package accountapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/shared/accountapi"
)

// Every page of DescribeFlowLogs is read (50 a page), with the fields the
// reaper's coverage needs; a throttled call is retried; a refusal is
// classified.
func TestFlowLogsEveryPage(t *testing.T) {
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	seed := &localcloud.Seed{}
	for i := range 73 {
		seed.FlowLogs = append(seed.FlowLogs, localcloud.FlowLog{FlowLogID: fmt.Sprintf("fl-%03d", i), ResourceType: "NetworkInterface",
			ResourceID: fmt.Sprintf("eni-%03d", i), ProjectName: "flows", LogStoreName: "flowlog"})
	}
	seed.FlowLogs[7].Status, seed.FlowLogs[7].CreationTime = "Inactive", "2026-04-02T03:04:05Z"
	c, err := localcloud.Start(localcloud.Options{Seed: seed, Start: start})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	op := c.Operator()
	cl, err := accountapi.New(accountapi.Config{Region: c.Region(), VPCEndpoint: c.URL(),
		Credentials: accountapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret},
		MinBackoff:  time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 4})
	require.NoError(t, err)

	c.SetFaults(faults.Config{Actions: []faults.Action{{Service: "vpc", Action: "DescribeFlowLogs", ThrottleRatio: 1}}})
	_, err = cl.FlowLogs(t.Context())
	require.ErrorIs(t, err, accountapi.ErrThrottled, "retried, then told as throttled")
	c.SetFaults(faults.Config{})
	fls, err := cl.FlowLogs(t.Context())
	require.NoError(t, err)
	require.Len(t, fls, 73)
	require.Equal(t, accountapi.FlowLog{ID: "fl-007", ResourceType: "NetworkInterface", ResourceID: "eni-007", Project: "flows", Logstore: "flowlog",
		Status: "Inactive", TrafficType: "All", Created: time.Date(2026, 4, 2, 3, 4, 5, 0, time.UTC), IPVersion: "IPv4"}, fls[7])
	require.Equal(t, start, fls[0].Created, "created when the virtual clock starts, by default")
	require.Equal(t, "fl-072", fls[72].ID)

	bad, err := accountapi.New(accountapi.Config{Region: c.Region(), VPCEndpoint: c.URL(),
		Credentials: accountapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: "wrong-secret"}, MaxAttempts: 1})
	require.NoError(t, err)
	_, err = bad.FlowLogs(t.Context())
	require.ErrorIs(t, err, accountapi.ErrForbidden)
	require.NotContains(t, err.Error(), "wrong-secret")
}

package accountapi

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/vpc"

	"github.com/porthygiene/porthygiene/shared/cloud"
)

// FlowLog is a VPC flow log (cloud.FlowLog).
type FlowLog = cloud.FlowLog

// flowLogPage is DescribeFlowLogs's largest page.
const flowLogPage = 50

// FlowLogs lists the flow logs of the client's region (DescribeFlowLogs,
// every page). A creation time that does not parse fails the call: coverage
// is decided from it, and a guess would be evidence nobody gave.
func (c *Client) FlowLogs(ctx context.Context) ([]FlowLog, error) {
	var out []FlowLog
	for page := 1; ; page++ {
		var resp *vpc.DescribeFlowLogsResponse
		err := c.call(ctx, "vpc", "DescribeFlowLogs", func() error {
			cl, err := vpc.NewClientWithOptions(c.cfg.Region, c.sdkConfig(ctx), c.credentials)
			if err != nil {
				return err
			}
			req := vpc.CreateDescribeFlowLogsRequest()
			c.prepare(req, c.vpc)
			req.RegionId = c.cfg.Region
			req.PageNumber, req.PageSize = requests.NewInteger(page), requests.NewInteger(flowLogPage)
			resp, err = cl.DescribeFlowLogs(req)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("flow logs of %s: %w", c.cfg.Region, err)
		}
		for _, f := range resp.FlowLogs.FlowLog {
			created, err := time.Parse(time.RFC3339, f.CreationTime)
			if err != nil {
				return nil, fmt.Errorf("flow log %s: creation time %q: %w", f.FlowLogId, f.CreationTime,
					&APIError{Service: "vpc", Op: "DescribeFlowLogs", Message: "unreadable CreationTime", Err: ErrServer})
			}
			out = append(out, FlowLog{ID: f.FlowLogId, Name: f.FlowLogName, ResourceType: f.ResourceType, ResourceID: f.ResourceId,
				Project: f.ProjectName, Logstore: f.LogStoreName, Status: f.Status, TrafficType: f.TrafficType, Created: created.UTC(), IPVersion: f.IpVersion})
		}
		total, _ := strconv.Atoi(resp.TotalCount)
		if len(resp.FlowLogs.FlowLog) == 0 || page*flowLogPage >= total {
			return out, nil
		}
	}
}

// Package vpc serves the part of the VPC API (version 2016-04-28, POP RPC)
// that the reaper reads: DescribeFlowLogs, over the seed's flow logs. It
// answers with the fields the real API returns (services/vpc FlowLog of the
// Go SDK), pages as the real API pages (PageSize 1..50, default 20) and
// refuses what it refuses (no RegionId, an unknown ResourceType or Status).
package vpc

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/rpc"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// APIVersion is the VPC API version the SDK sends.
const APIVersion = "2016-04-28"

// Flow log statuses of the real API.
const (
	StatusActive     = "Active"
	StatusActivating = "Activating"
	StatusInactive   = "Inactive"
)

// FlowLog is one VPC flow log: the traffic of a VPC, a VSwitch or one ENI
// (ResourceType) delivered to an SLS logstore.
type FlowLog struct {
	FlowLogID    string
	FlowLogName  string
	Description  string
	RegionID     string
	ResourceType string // VPC | VSwitch | NetworkInterface
	ResourceID   string
	VpcID        string // the VPC the resource is in (the VpcId filter)
	ProjectName  string
	LogStoreName string
	TrafficType  string // All | Allow | Drop
	Status       string // Active | Activating | Inactive
	CreationTime time.Time
	// AggregationInterval is the capture window in minutes (1, 5 or 10).
	AggregationInterval int
}

// ServerConfig configures a Server.
type ServerConfig struct {
	Auth   *auth.Store
	Stats  *stats.Stats
	Faults *faults.Set
	Clock  interface{ Now() time.Time }
}

// Server is the VPC API.
type Server struct {
	rpc.Service

	mu   sync.RWMutex
	logs []FlowLog
}

// NewServer builds the VPC API.
func NewServer(cfg ServerConfig) *Server {
	s := &Server{}
	s.Service = rpc.Service{Name: "vpc", Product: "Vpc", Version: APIVersion, Auth: cfg.Auth, Stats: cfg.Stats, Faults: cfg.Faults, Clock: cfg.Clock,
		Handlers: map[string]rpc.Handler{"DescribeFlowLogs": s.describeFlowLogs}}
	return s
}

// SetFlowLog adds a flow log, or replaces the one with its id.
func (s *Server) SetFlowLog(fl FlowLog) {
	fl.Status = cmp.Or(fl.Status, StatusActive)
	fl.TrafficType = cmp.Or(fl.TrafficType, "All")
	if fl.AggregationInterval == 0 {
		fl.AggregationInterval = 10
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.logs, func(x FlowLog) bool { return x.FlowLogID == fl.FlowLogID }); i >= 0 {
		s.logs[i] = fl
		return
	}
	s.logs = append(s.logs, fl)
}

// FlowLogs returns the flow logs.
func (s *Server) FlowLogs() []FlowLog {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.logs)
}

const timeLayout = "2006-01-02T15:04:05Z"

type flowLogJSON struct {
	FlowLogID                  string `json:"FlowLogId"`
	FlowLogName                string `json:"FlowLogName"`
	Description                string `json:"Description"`
	RegionID                   string `json:"RegionId"`
	ResourceType               string `json:"ResourceType"`
	ResourceID                 string `json:"ResourceId"`
	ProjectName                string `json:"ProjectName"`
	LogStoreName               string `json:"LogStoreName"`
	TrafficType                string `json:"TrafficType"`
	Status                     string `json:"Status"`
	BusinessStatus             string `json:"BusinessStatus"`
	CreationTime               string `json:"CreationTime"`
	AggregationInterval        int    `json:"AggregationInterval"`
	ServiceType                string `json:"ServiceType"`
	IPVersion                  string `json:"IpVersion"`
	FlowLogDeliverStatus       string `json:"FlowLogDeliverStatus"`
	FlowLogDeliverErrorMessage string `json:"FlowLogDeliverErrorMessage"`
	ResourceGroupID            string `json:"ResourceGroupId"`
	TrafficPath                struct {
		TrafficPathList []string `json:"TrafficPathList"`
	} `json:"TrafficPath"`
	Tags struct {
		Tag []struct{} `json:"Tag"`
	} `json:"Tags"`
}

var (
	resourceTypes = []string{"VPC", "VSwitch", "NetworkInterface"}
	statuses      = []string{StatusActive, StatusActivating, StatusInactive}
	trafficTypes  = []string{"All", "Allow", "Drop"}
)

func (s *Server) describeFlowLogs(c *rpc.Call) (any, *rpc.Error) {
	region := c.Get("RegionId")
	if region == "" {
		return nil, rpc.Errorf(400, "MissingRegionId", "RegionId is mandatory for this action.")
	}
	for _, p := range []struct {
		name string
		ok   []string
	}{{"ResourceType", resourceTypes}, {"Status", statuses}, {"TrafficType", trafficTypes}} {
		if v := c.Get(p.name); v != "" && !slices.Contains(p.ok, v) {
			return nil, rpc.Errorf(400, "InvalidParameter", "The specified %s %q is invalid.", p.name, v)
		}
	}
	page, size := 1, 20
	if v := c.Get("PageNumber"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, rpc.Errorf(400, "InvalidPageNumber", "The specified PageNumber %q is invalid.", v)
		}
		page = n
	}
	if v := c.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			return nil, rpc.Errorf(400, "InvalidPageSize", "The specified PageSize %q is invalid: 1 to 50.", v)
		}
		size = n
	}
	filters := map[string]func(FlowLog) string{
		"FlowLogId": func(f FlowLog) string { return f.FlowLogID }, "FlowLogName": func(f FlowLog) string { return f.FlowLogName },
		"ResourceType": func(f FlowLog) string { return f.ResourceType }, "ResourceId": func(f FlowLog) string { return f.ResourceID },
		"ProjectName": func(f FlowLog) string { return f.ProjectName }, "LogStoreName": func(f FlowLog) string { return f.LogStoreName },
		"Status": func(f FlowLog) string { return f.Status }, "VpcId": func(f FlowLog) string { return f.VpcID },
		"TrafficType": func(f FlowLog) string { return f.TrafficType }, "Description": func(f FlowLog) string { return f.Description },
	}
	var match []FlowLog
	for _, fl := range s.FlowLogs() {
		if fl.RegionID != region {
			continue
		}
		ok := true
		for name, get := range filters {
			if v := c.Get(name); v != "" && get(fl) != v {
				ok = false
			}
		}
		if ok {
			match = append(match, fl)
		}
	}
	out := []flowLogJSON{}
	for i := (page - 1) * size; i < len(match) && i < page*size; i++ {
		fl := match[i]
		j := flowLogJSON{FlowLogID: fl.FlowLogID, FlowLogName: fl.FlowLogName, Description: fl.Description, RegionID: fl.RegionID,
			ResourceType: fl.ResourceType, ResourceID: fl.ResourceID, ProjectName: fl.ProjectName, LogStoreName: fl.LogStoreName,
			TrafficType: fl.TrafficType, Status: fl.Status, BusinessStatus: "Normal", CreationTime: fl.CreationTime.UTC().Format(timeLayout),
			AggregationInterval: fl.AggregationInterval, ServiceType: "sls", IPVersion: "IPv4", FlowLogDeliverStatus: "SUCCESS"}
		j.TrafficPath.TrafficPathList = []string{"all"}
		j.Tags.Tag = []struct{}{}
		out = append(out, j)
	}
	return map[string]any{
		"Success": "true", "TotalCount": strconv.Itoa(len(match)), "PageNumber": strconv.Itoa(page), "PageSize": strconv.Itoa(size),
		"FlowLogs": map[string]any{"FlowLog": out},
	}, nil
}

package localcloud

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"

	"github.com/porthygiene/porthygiene/localcloud/dingtalk"
	"github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/ram"
)

// Seed is a whole localcloud world: the ECS resources of each region (the
// format of localcloud/ecs, see localcloud/ecs/SEED.md), SLS projects, VPC flow
// logs, DingTalk robots and the operator's keys. `porthygiene snapshot` writes
// the ECS part from a real account.
type Seed struct {
	// Region is the default region (cn-hangzhou when empty).
	Region string `json:"Region,omitempty"`
	// Regions are the ECS resources, region by region.
	Regions []ecs.Region `json:"Regions,omitempty"`
	// Projects are SLS projects and logstores to create.
	Projects []SeedProject `json:"Projects,omitempty"`
	// FlowLogs send the traffic of ENIs to a logstore; VPC's DescribeFlowLogs
	// lists them.
	FlowLogs []FlowLog `json:"FlowLogs,omitempty"`
	// Traffic is steady traffic that localcloud writes as flow records into
	// the flow log covering each ENI while the virtual clock moves
	// (flowlogs.go): the evidence the reaper reads.
	Traffic []TrafficPattern `json:"Traffic,omitempty"`
	// Robots are the DingTalk robots the sink accepts; default one "ops" robot.
	Robots []dingtalk.Robot `json:"Robots,omitempty"`
	// Operator is the RAM user whose keys the endpoints file hands out; keys
	// are generated when empty.
	Operator SeedUser `json:"Operator,omitempty"`
	// Roles are the account's RAM roles with their attached policies, served
	// by RAM's GetRole, ListPoliciesForRole and GetPolicy (what
	// `porthygiene setup` checks). localcloud does not enforce them.
	Roles []ram.Role `json:"Roles,omitempty"`
	// Trails are the account's ActionTrail trails. Without them the account
	// has one trail, logging, named by the first log trigger of s.yaml on an
	// actiontrail_<trail> logstore (or Options.Trail).
	Trails []SeedTrail `json:"Trails,omitempty"`
}

// SeedTrail is an ActionTrail trail delivering every ECS write to the
// logstore actiontrail_<Name> of Project (created with an index), unless
// Stopped (its logging is turned off: nothing is delivered).
type SeedTrail struct {
	Name    string `json:"Name"`
	Project string `json:"Project"`
	Region  string `json:"Region,omitempty"` // home region; default the seed's
	Stopped bool   `json:"Stopped,omitempty"`
}

// SeedProject is an SLS project with its logstores.
type SeedProject struct {
	Name      string         `json:"Name"`
	Logstores []SeedLogstore `json:"Logstores,omitempty"`
}

// SeedLogstore is one logstore. It gets SLS's default index (as a prepared
// account's logstores have one) unless NoIndex is set: GetLogs on it then
// fails with IndexConfigNotExist, as on a real logstore nobody indexed.
type SeedLogstore struct {
	Name    string `json:"Name"`
	Shards  int    `json:"Shards,omitempty"`
	NoIndex bool   `json:"NoIndex,omitempty"`
}

// FlowLog is a VPC flow log on one ENI (ResourceType NetworkInterface), a
// VSwitch or a VPC, delivered to ProjectName/LogStoreName.
type FlowLog struct {
	FlowLogID    string `json:"FlowLogId"`
	RegionID     string `json:"RegionId,omitempty"`
	ResourceType string `json:"ResourceType"` // NetworkInterface | VSwitch | VPC
	ResourceID   string `json:"ResourceId"`
	ProjectName  string `json:"ProjectName"`
	LogStoreName string `json:"LogStoreName"`
	// The fields below are DescribeFlowLogs's; all optional.
	FlowLogName string `json:"FlowLogName,omitempty"`
	Description string `json:"Description,omitempty"`
	// Status is Active (default), Activating or Inactive; only an Active
	// flow log writes records.
	Status string `json:"Status,omitempty"`
	// CreationTime (RFC 3339) is when the flow log was created; default the
	// virtual clock's start. It writes no record dated before it.
	CreationTime string `json:"CreationTime,omitempty"`
	// TrafficType is All (default), Allow or Drop: which records it writes.
	TrafficType string `json:"TrafficType,omitempty"`
}

// SeedUser is a RAM user with an AccessKey pair.
type SeedUser struct {
	UserName        string `json:"UserName,omitempty"`
	AccessKeyID     string `json:"AccessKeyId,omitempty"`
	AccessKeySecret string `json:"AccessKeySecret,omitempty"`
}

//go:embed default_world.json
var defaultWorld []byte

// DefaultSeed is the demo's world.
func DefaultSeed() *Seed {
	s, err := ParseSeed(defaultWorld)
	if err != nil {
		panic(fmt.Sprintf("localcloud: embedded default world: %v", err))
	}
	return s
}

// ParseSeed decodes a seed strictly: unknown fields are errors.
func ParseSeed(data []byte) (*Seed, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Seed
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return &s, nil
}

// LoadSeed reads a seed file.
func LoadSeed(path string) (*Seed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	s, err := ParseSeed(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

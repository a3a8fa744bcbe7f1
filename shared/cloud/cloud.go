package cloud

import (
	"errors"
	"net/netip"
	"time"

	"github.com/porthygiene/porthygiene/shared/apicall"
)

// Sentinels, tested with errors.Is. An error from an ECS call carries an
// [*APIError] whose Err is (or wraps) exactly one of them.
var (
	// ErrNotFound: the security group, prefix list, instance or network
	// interface named in the request does not exist.
	ErrNotFound = apicall.ErrNotFound
	// ErrRuleGone: RevokeSecurityGroup(Egress) named a SecurityGroupRuleId
	// that does not exist (InvalidParam.SecurityGroupRuleId). Since 2024-07-08
	// the whole call then revokes nothing.
	ErrRuleGone = errors.New("security group rule already gone")
	// ErrThrottled: flow control (Throttling*, Rejected.Throttling, HTTP 429).
	ErrThrottled = apicall.ErrThrottled
	// ErrServer: the service failed or could not be reached.
	ErrServer = apicall.ErrServer
	// ErrForbidden: the caller may not do this, or its credentials were
	// refused.
	ErrForbidden = apicall.ErrForbidden
	// ErrQuota: a quota is exhausted (AuthorizationLimitExceed: 200 rules per
	// group; QuotaExceed*).
	ErrQuota = errors.New("quota exceeded")
	// ErrInvalid: the request was rejected as malformed or not allowed in this
	// state, or refused before any call.
	ErrInvalid = apicall.ErrInvalid
)

// APIError is one failed ECS call (after any retries), with Service "ecs".
// Its text and fields never contain the AccessKeySecret or the SecurityToken.
type APIError = apicall.APIError

// ListOptions filters a listing of security groups. The zero value lists
// every group of the region.
type ListOptions struct {
	VpcID    string
	GroupIDs []string          // only these groups (any number; sent 100 per query)
	Tags     map[string]string // groups carrying all of these tags (at most 20); an empty value: the key, with any value
}

// Group is one security group as DescribeSecurityGroups lists it.
type Group struct {
	ID, Name, VpcID, Region string
	Type                    string // "normal" or "enterprise"
	Tags                    map[string]string
	RuleCount               int
}

// RevokeResult says what a revocation by rule id did with each id.
type RevokeResult struct {
	// Revoked lists the ids this call removed.
	Revoked []string
	// Gone lists the ids that were not in the group when we looked: removed
	// by someone else, by an earlier attempt of this call, or never there.
	Gone []string
}

// ENIOptions filters a listing of network interfaces. The zero value lists
// every network interface of the region.
type ENIOptions struct {
	InstanceID string   // the instance's ENIs, primary and secondary
	IDs        []string // only these ENIs (any number; sent 100 per query)
	VpcID      string
}

// ENI is one elastic network interface.
type ENI struct {
	ID         string
	InstanceID string // empty when not attached
	Type       string // "Primary" or "Secondary"
	PrivateIP  netip.Addr
	PublicIP   netip.Addr // zero when none is associated
	GroupIDs   []string
	VpcID      string
	VSwitchID  string
	ZoneID     string
}

// FlowLog is a VPC flow log (DescribeFlowLogs): the traffic of a VPC, a
// VSwitch or one ENI (ResourceType) delivered to an SLS logstore.
type FlowLog struct {
	ID           string
	Name         string
	ResourceType string // VPC | VSwitch | NetworkInterface
	ResourceID   string
	Project      string
	Logstore     string
	Status       string // Active | Activating | Inactive
	TrafficType  string // All | Allow | Drop
	Created      time.Time
	// IPVersion is what it captures (IPv4; aliyun-facts §3: IPv4 only).
	IPVersion string
}

// Covers reports whether the flow log captures e's traffic all day from
// dayStart on: active, created by then, on the ENI, its VSwitch or its VPC,
// and keeping accepted records (TrafficType All or Allow).
func (f FlowLog) Covers(e ENI, dayStart time.Time) bool {
	if f.Status != "Active" || f.Created.After(dayStart) || f.TrafficType == "Drop" {
		return false
	}
	switch f.ResourceType {
	case "NetworkInterface":
		return f.ResourceID == e.ID
	case "VSwitch":
		return f.ResourceID == e.VSwitchID && e.VSwitchID != ""
	case "VPC":
		return f.ResourceID == e.VpcID && e.VpcID != ""
	}
	return false
}

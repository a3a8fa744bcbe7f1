// Package cloud holds the SDK-free types of the ECS API the engine works
// with: security groups, the listing's options, the outcome of a revoke,
// network interfaces and the sentinel errors. The adapter (shared/ecsapi)
// fills them from the SDK and aliases them; everything above the adapters
// uses them without importing a cloud SDK.
package cloud

import (
	"errors"
	"net/netip"

	"github.com/porthygiene/porthygiene/shared/apicall"
)

// Sentinels, tested with errors.Is. ErrNotFound, ErrThrottled, ErrServer,
// ErrForbidden and ErrInvalid are package apicall's, shared by the adapters.
var (
	// ErrNotFound: the security group, prefix list, instance or network
	// interface named in the request does not exist.
	ErrNotFound = apicall.ErrNotFound
	// ErrRuleGone: a revoke named a SecurityGroupRuleId that does not exist.
	ErrRuleGone = errors.New("security group rule already gone")
	// ErrThrottled: flow control; retried with backoff.
	ErrThrottled = apicall.ErrThrottled
	// ErrServer: the service failed or could not be reached; retried.
	ErrServer = apicall.ErrServer
	// ErrForbidden: the caller may not do this, or its credentials were refused.
	ErrForbidden = apicall.ErrForbidden
	// ErrQuota: a quota is exhausted (200 rules per group, …).
	ErrQuota = errors.New("quota exceeded")
	// ErrInvalid: any other refusal, and arguments an adapter refuses to send.
	ErrInvalid = apicall.ErrInvalid
)

// ListOptions filters a listing of security groups. The zero value lists
// every group of the region.
type ListOptions struct {
	VpcID    string
	GroupIDs []string          // only these groups (any number; sent 100 per query)
	Tags     map[string]string // groups carrying all of these tags (at most 20)
}

// Group is one security group as DescribeSecurityGroups lists it.
type Group struct {
	ID, Name, VpcID, Region string
	Type                    string // "normal" or "enterprise"
	Tags                    map[string]string
	RuleCount               int
}

// RevokeResult says what a revoke by rule id did with each id.
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
	ZoneID     string
}

// Package accountapi is porthygiene's only adapter over the RAM (2015-05-01),
// ActionTrail (2020-07-06) and VPC (2016-04-28, DescribeFlowLogs: the reaper's
// coverage) services of alibaba-cloud-sdk-go. It only
// reads: `porthygiene setup` checks with it what it cannot create itself —
// the functions' role, its trust policy and attached policies, and the trail
// that delivers ActionTrail events to the SLS trigger's logstore.
//
// Invariants:
//
//   - Reads only: GetRole, ListPoliciesForRole, GetPolicy, DescribeTrails,
//     GetTrailStatus, DescribeFlowLogs.
//   - Errors are *APIError values (Service "ram" or "actiontrail") that wrap
//     exactly one sentinel, chosen from the error code and HTTP status, never
//     the message: ErrNotFound (EntityNotExist.*, TrailNotFoundException),
//     ErrForbidden (NoPermission, Forbidden*, refused credentials),
//     ErrThrottled (Throttling*, 429), ErrServer (5xx, unreachable),
//     ErrInvalid (any other refusal). Throttling and server errors are
//     retried with backoff within the context deadline.
//   - No error or value contains the AccessKeySecret or the SecurityToken, in
//     any spelling (shared/credentials).
//   - Endpoints default to the services' public ones (https://ram.aliyuncs.com,
//     https://actiontrail.<region>.aliyuncs.com); localcloud serves both.
package accountapi

// Package cloud holds the SDK-free types of the ECS security-group API that
// domain code passes around: the groups and network interfaces a region
// lists, the options that filter those lists, the outcome of a revocation by
// rule id, and the sentinels every ECS failure is classified into. The ECS
// adapter (shared/ecsapi) returns these types (it declares them as aliases),
// so a consumer can declare the interface it needs of the adapter with no
// import of the adapter or of the cloud SDK.
//
// Invariants:
//
//   - The package imports the standard library and shared/apicall only: no
//     cloud SDK, no I/O.
//   - The sentinels are the ones ecsapi classifies into: ErrNotFound,
//     ErrThrottled, ErrServer, ErrForbidden and ErrInvalid are package
//     apicall's (shared with the other adapters); ErrRuleGone and ErrQuota
//     are ECS's own. Test them with errors.Is; an *APIError carries them.
//   - Zero values mean "everything": a zero ListOptions lists every group of
//     the region, a zero ENIOptions every network interface.
package cloud

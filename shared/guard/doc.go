// Package guard finds internet-exposed sensitive ports and fixes them.
//
// Invariants:
//   - Events only pick which groups to look at. The guard always re-reads the
//     group's current rules, tags and prefix lists and evaluates them with the
//     policy, so late, duplicated and reordered events are harmless.
//   - Events caused by our own role, failed calls and events that cannot
//     expose a port are ignored, and say why in the result.
//   - In enforce mode the full backup of every rule is written to the ledger
//     first; if that write fails nothing is revoked and people are told.
//     Then exactly the offending rules are revoked by SecurityGroupRuleId, in
//     one batched call per direction; "already gone" is success.
//   - At most Policy.MaxChangesPerRun revokes per invocation; the rest are
//     reported, and said to be capped.
//   - An unresolved prefix list makes a finding "unknown": reported, never
//     revoked, never silently safe.
//   - A malformed or unknown payload changes nothing and returns no error
//     (FC would only retry it); an error from Handle means "retry": every
//     step is safe to repeat.
//   - Owners' decisions recorded by the approve function are honoured: "keep"
//     exempts the rule until its date, "close now" closes it whatever the
//     mode, "restore" is carried out by the next sweep (shared/restore).
//   - The hourly sweep fans out one asynchronous invocation per slice of
//     groups (fanout.go); the slices' ECS pacing adds up to at most the
//     region's budget (PORTHYGIENE_ECS_QPS).
//   - Every invocation flushes the notifier's outbox, so nothing deferred by
//     the robot's limit or an outage waits for the next finding.
//   - Decisions use now = max(wall clock, the trigger's time), a trigger
//     time more than clock.Skew ahead being ignored (clock.Decide); the wall
//     clock is the invocation's trusted one (fcwire's time source).
package guard

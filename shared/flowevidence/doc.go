// Package flowevidence is the reaper's evidence: VPC flow logs in SLS,
// aggregated in SLS and never pulled into memory as raw records.
//
// The daily summary (Summarize) reads, for one UTC day and one region, the
// flow logs' coverage of every ENI (DescribeFlowLogs: an Active flow log on
// the ENI, its VSwitch or its VPC, created before the day began) and one
// `search | SQL` aggregate per batch of covered ENIs (grouped by ENI, log
// status, action, direction, protocol, destination port and source), and
// writes to the summary logstore:
//
//   - kind "rule": one record per rule that accepted traffic that day (hits,
//     last seen), attributed with the evaluator's own packet oracle
//     (exposure.Decide) over each ENI's merged groups: a flow counts for every
//     accept rule that alone would admit it (conservative);
//   - kind "group": one record per group and day: its ENIs, whether every
//     one was covered with no SKIPDATA window, and the gaps (ENI:reason);
//   - kind "probe": REJECTed inbound flows by group, port and source (the
//     monthly review's unauthorized access attempts);
//   - kind "done": the day is summarized (a redelivered timer skips it).
//
// The reaper's run (Load) reads the look-back from the summaries with four
// aggregate queries per region — not one per group, and never raw flows.
package flowevidence

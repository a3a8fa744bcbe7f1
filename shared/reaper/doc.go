// Package reaper is the reaper's pure planner: it closes ingress rules that
// carried no traffic, after notice and a grace period, and never on missing
// evidence. It judges each ingress accept rule of one observed group
// against the group's flow-log evidence over the look-back (read by
// shared/flowevidence from the daily summaries) and the rule's lifecycle in
// the ledger (announced → closed, or cancelled), and plans the lifecycle's
// next step (plan.Announce, plan.Cancel, plan.Close), which shared/apply
// carries out like every function's plan.
//
// Verdicts (Judge): exempt (a marker, a tag or a keep decision in force),
// young (younger than the minimum age or the look-back), redundant (another
// accept rule of the group admits all it admits), unknown (no evidence, a
// group no ENI uses, a day not covered — an ENI without a flow log, a
// SKIPDATA window, no summary — or an IPv6 rule while the flow logs hold no
// IPv6 record: the reason names the ENIs and days), used (accepted flows
// attributed to it), unused; announced while an announcement is open.
//
// Invariants:
//   - Missing evidence is never "unused": only a rule whose group was fully
//     covered on every day of the look-back can be announced or closed.
//   - Only a rule that was announced, is unchanged since (same id and
//     fields), is still unused, and whose close date has passed (or whose
//     owner asked to close it) is closed, and only in enforce mode; notify
//     mode announces and reports.
//   - Anything but "unused" ends an open announcement (Cancel) with the
//     reason: traffic appeared, an exemption or a keep decision, the rule
//     changed, the evidence became incomplete.
//   - Pure: no I/O, no clock. Planning again on plan.Simulate's result
//     changes nothing more (the golden tests' idempotence check).
package reaper

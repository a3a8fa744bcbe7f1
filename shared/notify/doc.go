// Package notify carries porthygiene's events to DingTalk custom robots:
// signing, failure classification, routing, digests, a shared per-robot
// budget and an outbox, so that no finding is lost, none is shown twice, and
// no robot is pushed over DingTalk's 20 messages a minute.
//
// # Pipeline
//
// Notifier.Notify (and Flush, which is Notify with no new events) runs named
// stages in one visible order (see Notifier.pipeline):
//
//	load    outbox records that are due (NotBefore passed, older than Grace) + the new events
//	dedup   drop IDs that Delivered has seen (and clear them from the outbox)
//	persist write-ahead: put the new events in the outbox before sending
//	route   the robot the owner's tag names, else the default (first) robot
//	batch   Plan: one message per event, or markdown digests per (robot, team, @-list)
//	budget  Budget.Take per robot; messages over it stay in the outbox
//	send    Sender with retry; success → Delivered.Mark then Outbox.Done;
//	        failure → the events stay in the outbox with a NotBefore
//	settle  events neither sent nor saved: save once more, else ErrUnsaved
//
// All state lives behind the Outbox, Delivered and Budget interfaces, because
// warm Function Compute instances share no memory. MemOutbox, MemDelivered and
// MemBudget serve tests and single processes; production backs them with the
// ledger.
//
// # Invariants
//
//   - Nothing is lost: an event is in the outbox from before its first send
//     until it is delivered. If the outbox cannot be written and the send
//     fails, Notify returns an error wrapping ErrUnsaved, so the caller fails
//     its invocation and the platform retries it.
//   - Shown once: an event ID is shown at most once per Delivered memory
//     (at least once overall: a crash between the send and Delivered.Mark,
//     or two concurrent Flushes of the same due record, can repeat it).
//   - Within the limit: a robot gets at most what Budget grants (DefaultLimit
//     15 a minute by default, below DingTalk's 20), each retry included. After
//     a 130101 no message goes to that robot for DefaultPenalty (10 minutes).
//   - Within the size: every body is at most Options.MaxBytes (default
//     DefaultMaxBytes 19000, below DingTalk's 20,000); a digest that would be
//     larger is split, every event in exactly one part.
//   - The robot's keyword is in the title and text of every message.
//   - Secrets never show: webhook URLs (they hold the access_token) and
//     signing secrets are Secret values that print "[redacted]", and every
//     error and errmsg passes a redactor before it is returned, logged or
//     stored (a *url.Error keeps its type, with its URL redacted).
//   - Failures are classified on the HTTP status and the body's errcode
//     (Classify): 130101, 429, 5xx and transport errors are retryable (130101
//     only after the penalty); 310000, 300001, 400013, 460101 and unknown
//     codes are permanent. Retries back off with jitter and end before the
//     ctx deadline. Permanent failures stay in the outbox too, retried at
//     most every 6 hours, so fixing the configuration delivers them.
//   - Signed at the real time: a signed request's timestamp is the wall
//     clock (Options.Wall, the system clock), never the run's decision time,
//     because DingTalk refuses a timestamp more than an hour from its own
//     clock (310000 "invalid timestamp"). Budget and outbox times are the
//     decision time.
//   - Plan is pure: no I/O, no clock.
//
// # Configuration
//
// DINGTALK_ROBOTS is a JSON list [{"name","webhook","secret","keyword",
// "atMobiles","atUserIds"}]; the first robot is the default. DINGTALK_LANG is
// "zh" (default) or "en". Configuration errors name the field and never quote
// a value.
package notify

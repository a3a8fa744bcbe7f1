// Package notifystore keeps the DingTalk notifier's state in the ledger, so
// that every function and every warm Function Compute instance (which share no
// memory) share one outbox, one memory of delivered events and one per-robot
// budget. A Store implements notify.Outbox, notify.Delivered, notify.Budget and
// notify.Penalizer.
//
// # Records
//
// Everything is appended; nothing is updated or deleted (the logstore's TTL
// ages records out). Meta.Function is Options.Function.
//
//	Outbox.Put        outbox        eventId=<event id>  body.pending = the notify.Pending
//	Outbox.Done       outbox        eventId=<event id>  body.done = true (tombstone)
//	Delivered.Mark    notification  eventId=<event id>  status "sent"
//	Budget.Take       notification  eventId="notify-budget/<robot>"   status "reserved", one per granted send
//	Penalize          notification  eventId="notify-penalty/<robot>"  status "penalized", body.until
//
// Outbox and mark records carry robot "-" when the caller does not name one
// (the notifier routes later).
//
// # Invariants
//
//   - Outbox: the latest record per event id wins (ordered by time, then id;
//     one Store stamps its records strictly increasing, so its own Put, Put,
//     Done sequence keeps its order even within a millisecond; across
//     instances the order is the clocks', which the notifier's one-minute
//     Grace keeps far apart, and a Done lost that way only costs a dedup
//     lookup, since Done follows Mark); Pending is
//     the latest non-tombstoned records of the last OutboxWindow, oldest
//     Queued first. A record still pending after half the window is
//     re-appended by Pending, so a long-failing event is never aged out.
//     Outbox records without a pending body (not written here) are ignored.
//   - Delivered: Seen looks back DeliveredWindow (default 7 days, far longer
//     than any redelivery) from the Store's clock; Mark appends.
//   - Read-your-writes: Pending and Seen search the ledger and also read its
//     last RecentWindow (a minute) by cursor (Ledger.Tail), so an outbox
//     tombstone or a delivered mark another instance wrote a moment ago
//     counts although SLS's index has it only seconds later.
//   - Budget: Take counts, by cursor, the robot's reservations in the sliding window
//     (now-Window, ∞) — now is the caller's, so localcloud's virtual clock and
//     the real one both work, and reservations stamped after now (another
//     instance's clock ahead) count — grants at most Limit minus that,
//     appends one reservation per grant, then reads again and keeps only what
//     the other reservations leave (see below). Nothing is granted while a
//     penalty's until is after now.
//   - Errors are returned wrapped (%w), never swallowed; a Budget error makes
//     the notifier fall back to its small allowance.
//
// # The race
//
// SLS has no compare-and-swap, so Take is read, append, read again. Every
// taker reads on after its own append and keeps min(granted, Limit - others),
// where others counts every reservation in its window that is not its own,
// including ones other takers will give up. Of concurrent takers the one whose
// append landed last reads the others' reservations, so the grants that stand
// never exceed Limit in a window; the cost is that concurrent takers may both
// yield and waste a minute (the messages wait in the outbox). The reads go by
// cursor (Ledger.Tail: PullLogs), not by search: SLS's index lags writes by
// about 3 seconds, and a budget counted by search is spent again by every
// instance inside that lag. Penalties older than the lag are read by search.
// The default Limit stays 15 of DingTalk's 20, as margin for the difference
// between our clock and DingTalk's; a 130101 penalty (10 minutes) is still
// recorded for every instance to honour.
package notifystore

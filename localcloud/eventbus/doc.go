// Package eventbus is localcloud's EventBridge default bus: it wraps ActionTrail
// records in the CloudEvents 1.0 envelope EventBridge delivers, compiles
// EventBridge event patterns, and delivers matching events to subscribed targets
// (the composition layer subscribes one target per eventbridge trigger, which
// invokes the function).
//
// Pattern invariants (EventBridge semantics, as documented for Alibaba Cloud):
//
//   - A pattern is a non-empty JSON object. Keys are ANDed; a key's value is
//     either an array of alternatives (ORed) or an object (a pattern for the
//     nested object, e.g. "data":{"eventName":[...]}).
//   - An alternative is an exact value (string, number, true/false, null, "")
//     or an operator object with exactly one key: prefix, suffix, contains,
//     anything-but (a value, a list, or {"prefix":…}), numeric, cidr (IPv4) or
//     exists. Anything else fails CompilePattern with an error naming it.
//   - Exact numbers compare by their JSON text, as EventBridge does (300 and
//     300.0 differ); "numeric" compares values.
//   - A field missing from the event matches only {"exists":false}. A nested
//     pattern whose object is missing or null is matched against an empty
//     object. When the event's value is an array, an alternative matches if it
//     matches any element.
//   - Matching is case-sensitive and never modifies strings.
//
// Bus invariants:
//
//   - Publish never blocks on a target. Each subscription has its own FIFO
//     queue drained by one goroutine, so a target sees events in publish order
//     (unless Reorder says otherwise) and one at a time; different
//     subscriptions are delivered concurrently. A slow target delays only its
//     own later deliveries; a target that wants FC's async concurrency should
//     hand the event off and return.
//   - Patterns are matched when an event is published, against the
//     subscriptions present then.
//   - Options model delivery faults: Duplicate delivers every event twice (same
//     id, as EventBridge redelivery does); Delay holds each delivery for a
//     wall-clock duration; Reorder holds one event back and delivers it right
//     after the next one (Flush releases it). Events are never dropped.
//   - Wait returns once every queued delivery has been made; a held (reordered)
//     event does not count until it is released.
//   - One Bus is one region's default bus: the caller publishes only that
//     region's events, and only write events (EventBridge receives no
//     ActionTrail read events).
package eventbus

// Package trigger holds porthygiene's own types for every Function Compute
// trigger payload the functions receive, and their strict decoders:
//
//   - [CloudEvent]: an EventBridge CloudEvents 1.0 envelope; for ActionTrail
//     events its data is an [ActionTrailRecord].
//   - [SLSEvent]: the SLS ("log") trigger, one shard cursor range per invocation.
//   - [TimerEvent]: the timer trigger; its payload is a JSON document of ours
//     inside a string. Our own asynchronous fan-out invocations reuse this shape
//     (see [EncodeTimer]), so there is no fifth kind.
//   - [HTTPEvent] and [HTTPResponse]: the FC 3.0 HTTP trigger.
//
// The FC SDK's all-pointer events package is deliberately not used: these are
// value types with the field names of the wire format.
//
// Invariants:
//
//   - [Decode] and the DecodeX functions never panic. They return either a
//     fully validated value or an error: a *[DecodeError] naming the kind and
//     the JSON path of the offending field (malformed JSON, a wrong type, a
//     missing required field, an unparsable time), or an error wrapping
//     [ErrUnknownPayload] naming the top-level keys seen. Both are
//     errors.Is(err, [ErrInvalid]).
//   - Unknown fields are ignored (the cloud adds fields; a new field must not
//     stop the guard), but every documented field is modelled, so decoding and
//     re-encoding a sample loses nothing (events_test.go checks every file in
//     events/).
//   - JSON numbers inside free-form maps (requestParameters, eventAttributes)
//     are kept as [encoding/json.Number], never float64, so 16-digit ids stay exact.
//   - Every [Event] has Time, the instant the cloud says the event happened
//     (zero when the payload carries none). It is not trusted: handlers
//     decide at max(wall clock, Time) only while Time is within clock.Skew
//     of the wall clock, and ignore a later one (clock.Decide).
//   - Every [Event] has DedupKey, the at-least-once key: the ActionTrail
//     eventId for ActionTrail events (the same on the EventBridge and SLS
//     paths), else the CloudEvent source and id, the SLS (project, logstore,
//     shard, beginCursor), the timer (name, time), the HTTP request id.
//
// The package imports only the standard library.
package trigger

// Package ledger is porthygiene's append-only record of what it found and did,
// kept in an SLS logstore: findings, revocations with the full rule backup,
// restores, processed event ids, decisions, and (for the reaper and the
// notifier) announcements, closures, notifications and outbox entries.
//
// # Record format (schema version "1")
//
// One record is one SLS log whose __time__ is the record time (seconds) and
// whose contents are, all as strings:
//
//	id        "L" + 10 Crockford base32 digits of the Unix time in ms + 8 random
//	          digits (40 bits, crypto/rand), e.g. "L01KE62932V8H74GQT9": unique,
//	          sorts by time, typable (case-insensitive; I and L read as 1, O as 0)
//	kind      finding | revocation | restore | event | announcement | closure |
//	          decision | notification | outbox
//	v         "1"
//	time      RFC 3339 UTC with milliseconds; equals the time in the id
//	function  the writer: "guard", "reaper", "cli", ...
//	groupId   security group id, "" when none
//	region    region id, "" when none
//	ruleId    SecurityGroupRuleId, "" when none
//	eventId   the dedup key of the event the record relates to, "" when none
//	body      JSON object, the kind's payload (Finding, Revocation, ...)
//
// Writes use the topic "porthygiene-ledger".
//
// # Queries
//
// The ledger issues search-only GetLogs queries (no SQL), the subset that
// localcloud's SLS emulator implements; a real logstore needs a text index on
// the fields (see Setup and IndexKeys). Kinds are bare words, other values
// are double-quoted (logstore.Quote):
//
//	Get:        id: "L01KE62932V8H74GQT9"                  over [t-1s, t+2s), t the id's time
//	Query:      kind: revocation and groupId: "sg-1"        (terms present only when set)
//	            (kind: revocation or kind: restore) and ruleId: "sgr-1" and eventId: "e-1"
//	            *                                           (empty filter)
//	SeenEvent:  kind: event and eventId: "actiontrail/3F2C…"  over all time
//
// Results are re-checked against the filter exactly on the client (SLS search
// is token-based and case-insensitive), de-duplicated by id and sorted by
// (time, id).
//
// # Invariants
//
//   - Records are values; Append only adds. Append validates every record
//     (known kind, version, an id matching the time, the kind's required
//     fields, a body that decodes strictly into the kind's type; a revocation's
//     backup must parse as a rule) and writes them all in one PutLogs, or none.
//   - A record that cannot be decoded (unknown version or kind, malformed
//     field or body) is an error naming its id, never skipped: ErrVersion,
//     ErrUnknownKind, ErrMalformed.
//   - The SDK may store a PutLogs twice after a 5xx; both copies share the id,
//     and readers de-duplicate by id.
//   - Revocation backups are rule.Permission, the API's exact string form, so a
//     restore re-authorizes exactly what was removed.
package ledger

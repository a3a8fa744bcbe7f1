// Package exemption parses and formats porthygiene's exemptions: the owned,
// reasoned, expiring permission for a security group or a rule to stay open.
//
// An exemption is written in one of two places:
//
//   - a tag on the security group, key "porthygiene-exempt" (configurable),
//     value "owner=alice;reason=bastion host;until=2026-12-31[;ports=22,3389]";
//   - a marker in a rule's description,
//     `[porthygiene-exempt owner=alice until=2026-12-31 reason="bastion host"]`
//     (values with spaces in double quotes; optional ports=22,3389).
//
// Invariants:
//
//   - Owner, reason and until are all required; a string missing one, naming an
//     unknown field, naming a field twice, or holding an unparsable value is
//     malformed, and a malformed exemption is no exemption (ParseTagValue,
//     ParseMarker and Find return an error and the evaluator reports the
//     rule, saying why).
//   - until is a date (2006-01-02, meaning through the end of that UTC day) or
//     an RFC 3339 instant. An exemption is active while now is before its end
//     ([Exemption.Active]); an expired exemption no longer applies.
//   - No ports means every port; ports are 1..65535, kept sorted and unique.
//   - Values never contain ';', '"', '[', ']' or control characters, so
//     ParseTagValue(e.TagValue()) and ParseMarker(DefaultKey, e.Marker()) give
//     back e for every valid e.
//   - Nothing here reads the clock: now is always an argument.
package exemption

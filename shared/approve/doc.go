// Package approve turns the buttons of porthygiene's DingTalk messages into
// recorded decisions: signed, expiring, single-use links ("keep open for 30
// days", "close now", "restore") and the Handler of the approve function's
// HTTP trigger, which verifies a clicked link, asks for confirmation and, once
// confirmed, appends a decision record to the ledger. The guard and the
// reaper act on those records; this package changes no security group.
//
// # Two steps: open, then confirm
//
// Chat clients fetch links to build previews, so opening a link records
// nothing. A GET of a valid, unused link answers 200 with a confirmation page
// (what would be recorded, for which group and rule, until when, and until
// when the link is valid) whose form POSTs the link's parameters, signature
// included, back to the link. The POST verifies them again, exactly as
// above, and records the decision. A POST takes its parameters from its
// application/x-www-form-urlencoded body when that carries any, else from
// the query. The HTTP trigger allows GET and POST only (s.yaml).
//
// # Links
//
//	<base>?a=keep&l=<ledger id>&g=<group>&r=<rule>&rg=<region>&d=30&exp=<unix s>&n=<nonce>&sig=<hex>
//
// sig is HMAC-SHA256, keyed with APPROVE_SIGNING_KEY, over
// "porthygiene-approve/v1" and the values of a, l, g, r, rg, d, exp and n, one
// per line in that order (absent ones empty). Values are restricted to
// [A-Za-z0-9._:/-], so no value can move into another field.
//
// # Decision records
//
// A valid first confirmation (POST) appends one ledger decision record:
//
//	Meta:  Function "approve", GroupID, Region, RuleID of the link, EventID NonceKey(nonce) = "approve/<nonce>"
//	Body:  Action "exempt" (keep) | "close" | "restore"; Target the ledger id, else "group/rule";
//	       By "dingtalk-link"; Via "dingtalk"; Until now+d days for keep and restore; Reason
//
// # Invariants
//
//   - Verify checks syntax, then the signature in constant time (hmac.Equal)
//     before interpreting any value, then the values, then the expiry.
//   - A GET never writes: it answers the confirmation page, or the refusal
//     page a POST of the same parameters would get.
//   - A refused request (malformed 400, forged 403, expired 410, replayed
//     409, neither GET nor POST 405, not configured or ledger unavailable 503)
//     writes nothing and answers a page saying why, with nothing to confirm.
//     The one exception: two confirmations of one link at the same instant
//     may both be appended; the later is answered 409, and readers take the
//     earliest decision per NonceKey.
//   - A link is usable once: the nonce is looked up (kind decision, eventId
//     NonceKey) before anything is written, and on GET too (a used link opens
//     on its "already used" page).
//   - The signing key is a notify.Secret: never logged, printed or returned;
//     error details name fields, never the signature. Without a key of at
//     least MinKeyLen bytes every request is refused with 503 and an error log
//     line.
//   - Decisions are taken at clock.Decide(wall clock, the request's time,
//     clock.Skew): a request time more than 5 s ahead is ignored. The wall
//     clock is the one the request's context carries (clock.WithWall: the
//     function's trusted time source), else Handler.Now.
//   - Pages are no-store and Referrer-Policy no-referrer (the URL is a
//     capability).
package approve

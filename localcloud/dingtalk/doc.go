// Package dingtalk is localcloud's DingTalk custom-robot webhook: the sink
// that POST /robot/send?access_token=…[&timestamp=…&sign=…] reaches. It keeps
// every accepted message for tests and the control API.
//
// Invariants (DingTalk's behaviour as the project relies on it):
//
//   - The answer is always HTTP 200 with {"errcode":N,"errmsg":"…"}; errcode
//     0 ("ok") means accepted. The one exception is an outage injected with
//     faults.Config.DingTalkDown, or a server error drawn from a "dingtalk"
//     fault action: HTTP 503 with a plain-text body and no errcode.
//   - Checks run in this order, and the first failure answers:
//     method POST (43002); access_token names a robot (300001 "token is not
//     exist"); body at most MaxBody bytes (460101); for a robot with a
//     Secret, timestamp (ms) within one hour of the wall clock
//     (Config.Wall: the real time, as DingTalk checks it, not the virtual
//     clock; 310000 "invalid timestamp") and sign = base64(HmacSHA256(secret,
//     timestamp+"\n"+secret)) as url-decoded from the query (310000 "sign
//     not match"); a well-formed message of a supported msgtype with its
//     required fields (40035, naming the problem); for a robot with
//     Keywords, one keyword in the content (310000 "keywords not in
//     content"); the rate limit (130101).
//   - Rate limit: a robot accepts at most Limit messages in any sliding
//     minute of the virtual clock. The next message gets 130101 and starts
//     a Penalty during which every message gets 130101. Rejected messages
//     do not count toward the limit. A "dingtalk" fault action with
//     ThrottleRatio also answers 130101, without a penalty.
//   - Keyword content: text.content; markdown and actionCard title and text;
//     link title and text; feedCard link titles.
//   - Messages holds exactly the accepted messages, in acceptance order;
//     Attempts holds every request, accepted or not. Each request is also
//     counted as stats.Record("dingtalk", "send", robot name or "unknown",
//     errcode, or "HTTP503" for an outage, or "" when accepted).
//
// Supported msgtypes: text, markdown, actionCard (whole-card singleTitle
// and singleURL, or btns), link and feedCard. The IP allow-list security
// setting is not emulated.
package dingtalk

package notify

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// DingTalk errcodes with a meaning of their own (aliyun-facts §6).
const (
	CodeOK           = 0
	CodeTooFast      = 130101 // more than 20 messages/minute: the robot is silenced for 10 minutes
	CodeSecurity     = 310000 // keyword missing, sign mismatch or stale timestamp, IP not allowed
	CodeTokenInvalid = 300001 // access_token invalid or expired
	CodeGroupGone    = 400013 // the robot's group was dissolved
	CodeTooLarge     = 460101 // body above 20,000 bytes
	CodeTooLong      = 101002 // older "message is too long"
	CodeMonthlyQuota = 90030  // organisation/monthly webhook quota
)

// Reason is the class of a send failure.
type Reason string

const (
	ReasonRateLimited Reason = "rate-limited" // 130101, HTTP 429; retryable, but not before the penalty ends
	ReasonServer      Reason = "server"       // HTTP 5xx or an unreadable answer; retryable
	ReasonTransport   Reason = "transport"    // no HTTP answer; retryable
	ReasonSecurity    Reason = "security"     // 310000; permanent until the config is fixed
	ReasonAuth        Reason = "auth"         // 300001, 400013, HTTP 401/403/404; permanent
	ReasonTooLarge    Reason = "too-large"    // 460101, 101002, HTTP 413; permanent for this message
	ReasonQuota       Reason = "quota"        // 90030; permanent for now
	ReasonClient      Reason = "client"       // other HTTP 4xx; permanent
	ReasonUnknown     Reason = "unknown"      // an errcode we do not know; permanent
)

// robotWide reports whether a failure of this class says the robot cannot take
// any message now, so the rest of the run's messages to it wait in the outbox.
func (r Reason) robotWide() bool {
	switch r {
	case ReasonTooLarge, ReasonUnknown, ReasonClient:
		return false
	}
	return true
}

// Outcome is the classification of one HTTP answer.
type Outcome struct {
	OK        bool
	Code      int    // body errcode; 0 when absent
	Msg       string // body errmsg (not yet redacted)
	Reason    Reason // empty when OK
	Retryable bool
}

// Classify classifies DingTalk's answer from the HTTP status and the body's
// errcode: DingTalk reports most failures as HTTP 200 with a non-zero errcode.
//
//   - 200 + errcode 0: ok.
//   - errcode 130101 or HTTP 429: rate-limited, retryable.
//   - HTTP 5xx (whatever the body), or a 2xx body that is not DingTalk JSON:
//     server, retryable (delivery is at least once).
//   - 310000 security, 300001/400013 auth, 460101/101002 too large, 90030
//     quota: permanent.
//   - any other non-zero errcode: unknown, permanent, with the code.
//   - other 4xx without an errcode: auth (401/403/404), too large (413) or
//     client; permanent.
func Classify(status int, body []byte) Outcome {
	var b struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	parsed := json.Unmarshal(body, &b) == nil && b.ErrCode != nil
	o := Outcome{}
	if parsed {
		o.Code, o.Msg = *b.ErrCode, b.ErrMsg
	}
	switch {
	case o.Code == CodeTooFast || status == http.StatusTooManyRequests:
		o.Reason, o.Retryable = ReasonRateLimited, true
	case status >= 500:
		o.Reason, o.Retryable = ReasonServer, true
	case parsed && o.Code != CodeOK:
		o.Reason = codeReason(o.Code)
	case status >= 200 && status < 300 && parsed:
		o.OK = true
	case status >= 200 && status < 300:
		o.Reason, o.Retryable = ReasonServer, true
	case status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound:
		o.Reason = ReasonAuth
	case status == http.StatusRequestEntityTooLarge:
		o.Reason = ReasonTooLarge
	default:
		o.Reason = ReasonClient
	}
	return o
}

func codeReason(code int) Reason {
	switch code {
	case CodeSecurity:
		return ReasonSecurity
	case CodeTokenInvalid, CodeGroupGone:
		return ReasonAuth
	case CodeTooLarge, CodeTooLong:
		return ReasonTooLarge
	case CodeMonthlyQuota:
		return ReasonQuota
	}
	return ReasonUnknown
}

// SendError is a failed delivery of one message. Every string in it has been
// scrubbed of webhook URLs, tokens and secrets.
type SendError struct {
	Robot      string // robot name
	Code       int    // DingTalk errcode; 0 when there was none
	Msg        string // DingTalk errmsg, redacted
	HTTPStatus int    // 0 when no HTTP answer came back
	Reason     Reason
	Retryable  bool
	Attempts   int   // attempts made in this call
	Err        error // the last cause (redacted), if any
}

func (e *SendError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "send to dingtalk robot %q: %s", e.Robot, e.Reason)
	if e.Retryable {
		b.WriteString(" (retryable)")
	}
	fmt.Fprintf(&b, " after %d attempt(s)", e.Attempts)
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, ": http %d", e.HTTPStatus)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": errcode %d", e.Code)
		if e.Msg != "" {
			fmt.Fprintf(&b, " %q", e.Msg)
		}
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *SendError) Unwrap() error { return e.Err }

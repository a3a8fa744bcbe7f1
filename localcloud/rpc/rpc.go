// Package rpc serves the POP RPC style (signature version 1.0, HMAC-SHA1) of
// the small Alibaba Cloud APIs localcloud emulates besides ECS: RAM and
// ActionTrail. It authenticates a request exactly as the services do (the
// AccessKey and STS token against auth.Store, the timestamp window, the
// signature, a single-use nonce), dispatches it to the handler of its
// Action and Version, and writes the JSON answers and errors the SDKs parse.
package rpc

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// StringToSign returns the RPC (signature version 1.0) string-to-sign of a
// request with the given method and parameters, exactly as the Alibaba Cloud
// SDK computes it: every parameter except Signature (empty values kept),
// sorted, POP-percent-encoded, then encoded once more.
func StringToSign(method string, params url.Values) string {
	v := make(url.Values, len(params))
	for k, vs := range params {
		if k != "Signature" {
			v[k] = vs
		}
	}
	canon := popEscape(v.Encode())
	return method + "&%2F&" + url.QueryEscape(canon)
}

// popEscape turns url.Values.Encode output into POP percent-encoding.
func popEscape(s string) string {
	if !strings.ContainsAny(s, "+*~") && !strings.Contains(s, "%7E") {
		return s
	}
	s = strings.ReplaceAll(s, "+", "%20")
	s = strings.ReplaceAll(s, "*", "%2A")
	return strings.ReplaceAll(s, "%7E", "~")
}

// Sign returns the Signature of a string-to-sign for an AccessKey secret.
func Sign(stringToSign, secret string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Error is an API error answer.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error.
func Errorf(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

// Call is one authenticated request.
type Call struct {
	R         *http.Request
	Action    string
	RequestID string
	Cred      auth.Credential
	Caller    string // RAM user name, or the role name of an assumed role
}

// Get returns a request parameter.
func (c *Call) Get(name string) string { return c.R.Form.Get(name) }

// Handler serves one action; the answer is marshalled as JSON with the
// RequestId added.
type Handler func(c *Call) (any, *Error)

// Service is one emulated RPC product.
type Service struct {
	// Name counts the calls in Stats ("ram", "actiontrail") and names the
	// Faults service.
	Name string
	// Product and Version are what the SDK sends (Version is checked).
	Product, Version string
	// Handlers by Action.
	Handlers map[string]Handler
	// Auth holds the AccessKeys that may call. Nil refuses every request.
	Auth *auth.Store
	// Stats counts every request as (Name, Action, caller, error code). May be nil.
	Stats *stats.Stats
	// Faults injects latency, throttling and 503s. May be nil.
	Faults *faults.Set
	// Clock is the virtual clock for STS expiry; nil means the wall clock.
	// Request timestamps are always checked against the wall clock.
	Clock interface{ Now() time.Time }

	nonces auth.NonceCache
}

// Actions lists the served actions, sorted.
func (s *Service) Actions() []string {
	out := make([]string, 0, len(s.Handlers))
	for a := range s.Handlers {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// ServeHTTP serves one request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &Call{R: r, RequestID: NewRequestID()}
	if err := r.ParseForm(); err != nil {
		s.fail(w, c, Errorf(400, "InvalidParameter", "The request parameters cannot be parsed: %v.", err))
		return
	}
	c.Action = c.Get("Action")
	if e := s.authenticate(c); e != nil {
		s.fail(w, c, e)
		return
	}
	h, ok := s.Handlers[c.Action]
	if !ok || c.Get("Version") != s.Version {
		s.fail(w, c, Errorf(404, "InvalidAction.NotFound", "Specified api %q (version %q) is not found in product %s; localcloud serves %s: %s.",
			c.Action, c.Get("Version"), s.Product, s.Version, strings.Join(s.Actions(), ", ")))
		return
	}
	if s.Faults != nil {
		d := s.Faults.Decide(s.Name, c.Action, time.Now())
		if d.Latency > 0 {
			t := time.NewTimer(d.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		switch {
		case d.Throttle:
			s.fail(w, c, Errorf(400, "Throttling.User", "Request was denied due to user flow control."))
			return
		case d.ServerError:
			s.fail(w, c, Errorf(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."))
			return
		}
	}
	resp, e := h(c)
	if e != nil {
		s.fail(w, c, e)
		return
	}
	s.record(c, "")
	b, err := json.Marshal(resp)
	if err == nil {
		var m map[string]json.RawMessage
		if err = json.Unmarshal(b, &m); err == nil {
			m["RequestId"], _ = json.Marshal(c.RequestID)
			b, err = json.Marshal(m)
		}
	}
	if err != nil { // a bug: every answer is a JSON object
		b, _ = json.Marshal(map[string]string{"RequestId": c.RequestID, "Code": "InternalError", "Message": "localcloud: marshal response: " + err.Error()})
		writeBody(w, 500, b)
		return
	}
	writeBody(w, 200, b)
}

func (s *Service) record(c *Call, code string) {
	if s.Stats != nil {
		s.Stats.Record(s.Name, c.Action, c.Caller, code)
	}
}

func (s *Service) fail(w http.ResponseWriter, c *Call, e *Error) {
	s.record(c, e.Code)
	b, _ := json.Marshal(struct {
		RequestID string `json:"RequestId"`
		HostID    string `json:"HostId"`
		Code      string `json:"Code"`
		Message   string `json:"Message"`
		Recommend string `json:"Recommend"`
	}{c.RequestID, strings.ToLower(s.Product) + ".aliyuncs.com", e.Code, e.Message,
		"https://api.aliyun.com/troubleshoot?q=" + e.Code + "&product=" + s.Product + "&requestId=" + c.RequestID})
	writeBody(w, e.Status, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Service) now() time.Time {
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return time.Now()
}

// authenticate checks the AccessKey, STS token, timestamp, signature and nonce.
func (s *Service) authenticate(c *Call) *Error {
	f := c.R.Form
	ak := f.Get("AccessKeyId")
	if ak == "" {
		return Errorf(400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action.")
	}
	sig := f.Get("Signature")
	if sig == "" {
		return Errorf(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards: Signature is missing.")
	}
	if m := f.Get("SignatureMethod"); m != "HMAC-SHA1" {
		return Errorf(400, "InvalidSignatureMethod", "The specified SignatureMethod %q is not supported; use HMAC-SHA1.", m)
	}
	if v := f.Get("SignatureVersion"); v != "1.0" {
		return Errorf(400, "InvalidSignatureVersion", "The specified SignatureVersion %q is not supported; use 1.0.", v)
	}
	if s.Auth == nil {
		return Errorf(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	cred, err := s.Auth.Verify(ak, f.Get("SecurityToken"), s.now())
	switch {
	case errors.Is(err, auth.ErrUnknownKey):
		return Errorf(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	case errors.Is(err, auth.ErrTokenExpired):
		return Errorf(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
	case errors.Is(err, auth.ErrTokenMismatch):
		return Errorf(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
	case errors.Is(err, auth.ErrTokenMissing):
		return Errorf(400, "InvalidSecurityToken.Missing", "SecurityToken is required for an STS AccessKey.")
	case err != nil:
		return Errorf(400, "InvalidAccessKeyId", "%v", err)
	}
	ts := f.Get("Timestamp")
	if ts == "" {
		return Errorf(400, "MissingTimestamp", "Timestamp is mandatory for this action.")
	}
	t, perr := time.Parse("2006-01-02T15:04:05Z", ts)
	if perr != nil {
		return Errorf(400, "InvalidTimeStamp.Format", "Specified time stamp %q is not in ISO8601 UTC format (yyyy-MM-ddTHH:mm:ssZ).", ts)
	}
	now := time.Now()
	if d := now.Sub(t); d > auth.SignatureWindow || d < -auth.SignatureWindow {
		return Errorf(400, "InvalidTimeStamp.Expired", "Specified time stamp or date header %q is expired (server time %s).", ts, now.UTC().Format(time.RFC3339))
	}
	sts := StringToSign(c.R.Method, f)
	if !hmac.Equal([]byte(Sign(sts, cred.AccessKeySecret)), []byte(sig)) {
		// The real services echo the string to sign; so does this.
		return Errorf(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:%s", sts)
	}
	nonce := f.Get("SignatureNonce")
	if nonce == "" {
		return Errorf(400, "MissingSignatureNonce", "SignatureNonce is mandatory for this action.")
	}
	if !s.nonces.Use(ak, nonce, now) {
		return Errorf(400, "SignatureNonceUsed", "Specified signature nonce %q was used already.", nonce)
	}
	c.Cred = cred
	c.Caller = cred.Identity.UserName
	if cred.Role != "" {
		c.Caller = cred.Role
	}
	return nil
}

// NewRequestID is an ECS-style request id: a version-4 UUID in upper-case
// hex.
func NewRequestID() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rand.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789ABCDEF"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[x>>4], hexd[x&15])
	}
	return string(out)
}

package fcapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// APIVersion is the emulated API version; PathPrefix its path prefix.
const (
	APIVersion = "2023-03-30"
	PathPrefix = "/" + APIVersion + "/"

	// MaxAsyncPayload and MaxSyncPayload are Function Compute's payload limits.
	MaxAsyncPayload = 128 << 10
	MaxSyncPayload  = 32 << 20

	// TriggerLabel labels invocations made through the API in the runtime's
	// records.
	TriggerLabel = "api"

	dateWindow = auth.SignatureWindow
	action     = "InvokeFunction"
)

// Runtime runs functions (fcrt.Runtime).
type Runtime interface {
	Invoke(ctx context.Context, fn string, payload []byte, opts ...fcrt.InvokeOptions) (fcrt.Result, error)
	InvokeAsync(fn string, payload []byte, opts ...fcrt.InvokeOptions) string
}

// Config wires the server. Auth and Runtime are required.
type Config struct {
	Auth    *auth.Store
	Runtime Runtime
	// Exists reports whether a function of that name is deployed; nil: every
	// name the runtime accepts.
	Exists func(name string) bool
	// Clock is the virtual clock STS expiry is judged by; nil: the wall clock.
	Clock interface{ Now() time.Time }
	// Wall is the clock x-acs-date is checked against; nil: time.Now.
	Wall   func() time.Time
	Stats  *stats.Stats // nil: not counted
	Faults *faults.Set  // nil: none
	// Delay runs fn once d has passed on the virtual clock: an asynchronous
	// invocation with x-fc-async-delay. nil: such requests are refused.
	Delay func(d time.Duration, fn func())
}

// MaxAsyncDelay is the largest x-fc-async-delay FC accepts, in seconds.
const MaxAsyncDelay = 3600

// Server serves the FC API. Build it with New.
type Server struct {
	cfg    Config
	nonces auth.NonceCache
}

// New returns a server.
func New(cfg Config) *Server {
	if cfg.Wall == nil {
		cfg.Wall = time.Now
	}
	if cfg.Clock == nil {
		cfg.Clock = wall{cfg.Wall}
	}
	return &Server{cfg: cfg}
}

type wall struct{ now func() time.Time }

func (w wall) Now() time.Time { return w.now() }

// apiError is an error answer.
type apiError struct {
	status        int
	code, message string
}

func errf(status int, code, format string, a ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, a...)}
}

// ServeHTTP serves one request (direct, or absolute-form through a proxy).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	act := r.Header.Get("x-acs-action")
	name, ok := invocationPath(r.URL.Path)
	if !ok || r.Method != http.MethodPost {
		if act == "" {
			act = "unknown"
		}
		s.fail(w, reqID, act, "", errf(501, "NotImplemented",
			"localcloud does not emulate FC API %s %s (x-acs-action %q); it serves POST %sfunctions/{functionName}/invocations",
			r.Method, r.URL.Path, r.Header.Get("x-acs-action"), PathPrefix))
		return
	}
	limit := int64(MaxSyncPayload)
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		s.fail(w, reqID, action, "", errf(400, "InvalidArgument", "cannot read the request body: %v", err))
		return
	}
	cred, e := s.authenticate(r, body)
	if e != nil {
		s.fail(w, reqID, action, "", e)
		return
	}
	caller := cred.Identity.UserName
	if cred.Role != "" {
		caller = cred.Role
	}
	if e := s.checkAction(r); e != nil {
		s.fail(w, reqID, action, caller, e)
		return
	}
	if s.cfg.Faults != nil {
		d := s.cfg.Faults.Decide("fc", action, time.Now())
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
			s.fail(w, reqID, action, caller, errf(429, "TooManyRequests", "Request was throttled (localcloud fault)."))
			return
		case d.ServerError:
			s.fail(w, reqID, action, caller, errf(503, "ServiceUnavailable", "The service is temporarily unavailable (localcloud fault)."))
			return
		}
	}
	if q := r.URL.Query().Get("qualifier"); q != "" && q != "LATEST" {
		s.fail(w, reqID, action, caller, errf(404, "VersionNotFound", "version or alias %q of function %s not found: localcloud serves LATEST only", q, name))
		return
	}
	if s.cfg.Exists != nil && !s.cfg.Exists(name) {
		s.fail(w, reqID, action, caller, errf(404, "FunctionNotFound", "function %s not found", name))
		return
	}
	switch typ := r.Header.Get("x-fc-invocation-type"); typ {
	case "Async":
		if len(body) > MaxAsyncPayload {
			s.fail(w, reqID, action, caller, errf(413, "EntityTooLarge", "payload size exceeds maximum allowed size (%d > %d bytes for an asynchronous invocation)", len(body), MaxAsyncPayload))
			return
		}
		delay, e := asyncDelay(r.Header.Get("x-fc-async-delay"))
		if e == nil && delay > 0 && s.cfg.Delay == nil {
			e = errf(400, "InvalidArgument", "x-fc-async-delay is not supported by this server")
		}
		if e != nil {
			s.fail(w, reqID, action, caller, e)
			return
		}
		var id string
		if delay > 0 {
			// FC persists the request and runs it after the delay; the
			// request id answered now is the invocation's.
			id = reqID
			s.cfg.Delay(delay, func() {
				s.cfg.Runtime.InvokeAsync(name, body, fcrt.InvokeOptions{Trigger: TriggerLabel, RequestID: id})
			})
		} else {
			id = s.cfg.Runtime.InvokeAsync(name, body, fcrt.InvokeOptions{Trigger: TriggerLabel})
		}
		s.record(action, caller, "")
		w.Header().Set("x-fc-request-id", id)
		w.WriteHeader(http.StatusAccepted)
	case "", "Sync":
		if len(body) > MaxSyncPayload {
			s.fail(w, reqID, action, caller, errf(413, "EntityTooLarge", "payload size exceeds maximum allowed size (%d bytes)", MaxSyncPayload))
			return
		}
		res, err := s.cfg.Runtime.Invoke(r.Context(), name, body, fcrt.InvokeOptions{Trigger: TriggerLabel})
		if err != nil {
			if errors.Is(err, fcrt.ErrUnknownFunction) {
				s.fail(w, reqID, action, caller, errf(404, "FunctionNotFound", "function %s not found", name))
				return
			}
			s.fail(w, reqID, action, caller, errf(503, "ServiceUnavailable", "invoke %s: %v", name, err))
			return
		}
		s.record(action, caller, "")
		w.Header().Set("x-fc-request-id", res.RequestID)
		if res.Failed() {
			typ := "HandledInvocationError"
			if res.Status == fcrt.StatusTimeout {
				typ = "UnhandledInvocationError"
			}
			w.Header().Set("x-fc-error-type", typ)
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		w.Write(res.Payload)
	default:
		s.fail(w, reqID, action, caller, errf(400, "InvalidArgument", "x-fc-invocation-type %q: want Sync or Async", typ))
	}
}

// invocationPath returns the function name of /2023-03-30/functions/{name}/invocations.
func invocationPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, PathPrefix+"functions/")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, "/invocations")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// asyncDelay reads x-fc-async-delay: whole seconds, 0 to MaxAsyncDelay.
func asyncDelay(v string) (time.Duration, *apiError) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > MaxAsyncDelay {
		return 0, errf(400, "InvalidArgument", "x-fc-async-delay %q: want whole seconds from 0 to %d", v, MaxAsyncDelay)
	}
	return time.Duration(n) * time.Second, nil
}

func (s *Server) checkAction(r *http.Request) *apiError {
	if a := r.Header.Get("x-acs-action"); a != "" && a != action {
		return errf(400, "InvalidAction", "x-acs-action %q does not match the path (%s)", a, action)
	}
	if v := r.Header.Get("x-acs-version"); v != "" && v != APIVersion {
		return errf(400, "InvalidVersion", "x-acs-version %q: localcloud serves %s", v, APIVersion)
	}
	return nil
}

// authenticate verifies the V3 signature and returns the caller's credential.
func (s *Server) authenticate(r *http.Request, body []byte) (auth.Credential, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return auth.Credential{}, errf(401, "MissingAuthorization", "the request carries no Authorization header")
	}
	a, err := ParseAuthorization(h)
	if err != nil {
		return auth.Credential{}, errf(400, "IncompleteSignature", "%v", err)
	}
	if err := CheckSignedHeaders(r, a.SignedHeaders); err != nil {
		return auth.Credential{}, errf(400, "IncompleteSignature", "%v", err)
	}
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	if got := r.Header.Get("x-acs-content-sha256"); got != bodyHash {
		return auth.Credential{}, errf(400, "ContentSHA256Mismatch", "x-acs-content-sha256 %q is not the SHA-256 of the body", got)
	}
	ts := r.Header.Get("x-acs-date")
	t, err := time.Parse("2006-01-02T15:04:05Z", ts)
	if err != nil {
		return auth.Credential{}, errf(400, "InvalidTimeStamp.Format", "x-acs-date %q is not yyyy-MM-ddTHH:mm:ssZ", ts)
	}
	now := s.cfg.Wall()
	if d := now.Sub(t); d > dateWindow || d < -dateWindow {
		return auth.Credential{}, errf(403, "InvalidTimeStamp.Expired", "x-acs-date %q is more than %v from the server time %s", ts, dateWindow, now.UTC().Format(time.RFC3339))
	}
	if s.cfg.Auth == nil {
		return auth.Credential{}, errf(403, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	cred, err := s.cfg.Auth.Verify(a.AccessKeyID, r.Header.Get("x-acs-security-token"), s.cfg.Clock.Now())
	switch {
	case errors.Is(err, auth.ErrUnknownKey):
		return auth.Credential{}, errf(403, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	case errors.Is(err, auth.ErrTokenExpired):
		return auth.Credential{}, errf(403, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
	case errors.Is(err, auth.ErrTokenMismatch):
		return auth.Credential{}, errf(403, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
	case errors.Is(err, auth.ErrTokenMissing):
		return auth.Credential{}, errf(403, "InvalidSecurityToken.Missing", "SecurityToken is required for an STS AccessKey.")
	case err != nil:
		return auth.Credential{}, errf(403, "InvalidAccessKeyId", "%v", err)
	}
	want := Sign(CanonicalRequest(r, a.SignedHeaders, bodyHash), cred.AccessKeySecret)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(a.Signature))) {
		// The canonical request is not echoed: it holds the STS token.
		return auth.Credential{}, errf(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your AccessKey secret and signing method (%s).", Algorithm)
	}
	if !s.nonces.Use(a.AccessKeyID, r.Header.Get("x-acs-signature-nonce"), now) {
		return auth.Credential{}, errf(403, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	return cred, nil
}

func (s *Server) record(act, caller, code string) {
	if s.cfg.Stats != nil {
		s.cfg.Stats.Record("fc", act, caller, code)
	}
}

func (s *Server) fail(w http.ResponseWriter, reqID, act, caller string, e *apiError) {
	s.record(act, caller, e.code)
	b, _ := json.Marshal(struct {
		Code      string `json:"Code"`
		Message   string `json:"Message"`
		RequestID string `json:"RequestId"`
	}{e.code, e.message, reqID})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-fc-request-id", reqID)
	w.WriteHeader(e.status)
	w.Write(b)
}

func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("fcapi: crypto/rand: %v", err))
	}
	h := hex.EncodeToString(b[:])
	return "1-" + h[:8] + "-" + h[8:]
}

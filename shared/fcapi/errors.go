package fcapi

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels, tested with errors.Is. An error from a call carries an
// [*APIError] whose Err is (or wraps) exactly one of them; arguments refused
// before any call wrap ErrInvalid.
var (
	// ErrNotFound: the function (or the qualifier) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrThrottled: too many requests (HTTP 429). Retried with backoff until
	// the context deadline is near.
	ErrThrottled = errors.New("throttled")
	// ErrServer: the service failed or could not be reached (HTTP >= 500,
	// transport errors, an answer without a request id). Retried like
	// ErrThrottled.
	ErrServer = errors.New("server error")
	// ErrForbidden: the credentials were refused (unknown key, bad signature,
	// missing or expired STS token) or the caller may not invoke the
	// function (HTTP 401, 403).
	ErrForbidden = errors.New("forbidden")
	// ErrTooLarge: the payload exceeds what an asynchronous invocation
	// carries (MaxAsyncPayload; HTTP 413).
	ErrTooLarge = errors.New("payload too large")
	// ErrInvalid: any other refusal (HTTP 4xx), and arguments this package
	// refuses to send.
	ErrInvalid = errors.New("invalid request")
)

// APIError is one failed call (after any retries). Its text and fields never
// contain the AccessKeySecret or the SecurityToken.
type APIError struct {
	Op         string // API action, "InvokeFunction"
	Code       string // the service's error code; empty when no answer arrived
	Message    string // the service's message, credentials removed
	RequestID  string // for support tickets; empty when no answer arrived
	HTTPStatus int    // 0 when no answer arrived
	Attempts   int    // calls made, including the failed last one
	// Err is the sentinel the failure was classified as; for transport
	// failures it also wraps the (redacted) cause.
	Err error
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("fc ")
	b.WriteString(e.Op)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (%d attempts)", e.Attempts)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	if e.Code != "" || e.HTTPStatus != 0 {
		code := e.Code
		if code == "" {
			code = "no error code"
		}
		fmt.Fprintf(&b, ": %s (http %d", code, e.HTTPStatus)
		if e.RequestID != "" {
			fmt.Fprintf(&b, ", request id %s", e.RequestID)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns Err, so errors.Is(err, ErrThrottled) and friends work.
func (e *APIError) Unwrap() error { return e.Err }

func (e *APIError) retryable() bool {
	return errors.Is(e.Err, ErrThrottled) || errors.Is(e.Err, ErrServer)
}

// classify maps an HTTP status and error code to a sentinel. The status
// decides; the code only refines a 4xx. Messages are never looked at.
func classify(status int, code string) error {
	switch {
	case status == 429:
		return ErrThrottled
	case status >= 500:
		return ErrServer
	case status == 401, status == 403:
		return ErrForbidden
	case status == 413, code == "EntityTooLarge":
		return ErrTooLarge
	case status == 404:
		return ErrNotFound
	}
	return ErrInvalid
}

// maxMessage bounds the service message kept in an APIError.
const maxMessage = 512

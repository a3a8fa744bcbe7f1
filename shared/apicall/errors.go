package apicall

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinels, tested with errors.Is. The adapters re-export them and document
// which of their service's codes map to each.
var (
	// ErrNotFound: the resource named in the request does not exist.
	ErrNotFound = errors.New("not found")
	// ErrThrottled: flow control. Retried with backoff until the context
	// deadline is near.
	ErrThrottled = errors.New("throttled")
	// ErrServer: the service failed or could not be reached. Retried like
	// ErrThrottled.
	ErrServer = errors.New("server error")
	// ErrForbidden: the caller may not do this, or its credentials were
	// refused.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: any other refusal, and arguments an adapter refuses to send.
	ErrInvalid = errors.New("invalid request")
)

// Permanent reports whether err can never succeed on retry: it is (or
// joins) a refusal of the request as invalid or of a missing resource, and
// nothing transient (throttling, a server error, a deadline). A function
// answers such an error without failing, so that FC does not retry it for
// minutes; anything else is retried.
func Permanent(err error) bool {
	if err == nil || errors.Is(err, ErrThrottled) || errors.Is(err, ErrServer) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound)
}

// APIError is one failed call (after any retries). The adapters fill it with
// credentials already removed: its text and fields never contain the
// AccessKeySecret or the SecurityToken.
type APIError struct {
	Service    string // the error text's prefix, e.g. "ecs", "fc"
	Op         string // API action, e.g. "RevokeSecurityGroup"
	Code       string // the service's error code; empty when no response arrived
	Message    string // the service's message, with credentials removed
	RequestID  string // for support tickets; empty when no response arrived
	HTTPStatus int    // 0 when no response arrived
	Attempts   int    // calls made, including the failed last one
	// Err is the sentinel the failure was classified as. For transport
	// failures it also wraps the (redacted) cause.
	Err error
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Service != "" {
		b.WriteString(e.Service)
		b.WriteString(" ")
	}
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

// Retryable reports whether another attempt may succeed: the call was
// throttled or the service failed.
func (e *APIError) Retryable() bool {
	return errors.Is(e.Err, ErrThrottled) || errors.Is(e.Err, ErrServer)
}

// MaxMessage bounds the service message kept in an APIError (a proxy's HTML
// error page would otherwise end up in logs whole).
const MaxMessage = 512

// TrimMessage cuts msg to MaxMessage bytes, marking the cut.
func TrimMessage(msg string) string {
	if len(msg) > MaxMessage {
		return msg[:MaxMessage] + "…"
	}
	return msg
}

// Interrupted reports a call of service's op ended by its context, keeping
// the last API error (if any) in the chain so callers still see why it was
// retrying.
func Interrupted(service, op string, ctxErr error, last *APIError) error {
	if last == nil {
		return fmt.Errorf("%s %s: %w", service, op, ctxErr)
	}
	return fmt.Errorf("%s %s: %w after %d attempts; last error: %w", service, op, ctxErr, last.Attempts, last)
}

package fcapi

import (
	"errors"

	"github.com/porthygiene/porthygiene/shared/apicall"
)

// Sentinels, tested with errors.Is. An error from a call carries an
// [*APIError] whose Err is (or wraps) exactly one of them; arguments refused
// before any call wrap ErrInvalid. All but ErrTooLarge are package apicall's,
// shared with the other adapters.
var (
	// ErrNotFound: the function (or the qualifier) does not exist.
	ErrNotFound = apicall.ErrNotFound
	// ErrThrottled: too many requests (HTTP 429). Retried with backoff until
	// the context deadline is near.
	ErrThrottled = apicall.ErrThrottled
	// ErrServer: the service failed or could not be reached (HTTP >= 500,
	// transport errors, an answer without a request id). Retried like
	// ErrThrottled.
	ErrServer = apicall.ErrServer
	// ErrForbidden: the credentials were refused (unknown key, bad signature,
	// missing or expired STS token) or the caller may not invoke the
	// function (HTTP 401, 403).
	ErrForbidden = apicall.ErrForbidden
	// ErrTooLarge: the payload exceeds what an asynchronous invocation
	// carries (MaxAsyncPayload; HTTP 413).
	ErrTooLarge = errors.New("payload too large")
	// ErrInvalid: any other refusal (HTTP 4xx), and arguments this package
	// refuses to send.
	ErrInvalid = apicall.ErrInvalid
)

// APIError is one failed call (after any retries), with Service "fc". Its
// text and fields never contain the AccessKeySecret or the SecurityToken.
type APIError = apicall.APIError

// service prefixes this package's errors.
const service = "fc"

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

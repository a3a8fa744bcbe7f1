package ecsapi

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/porthygiene/porthygiene/shared/credentials"
)

// Sentinels, tested with errors.Is. An error from an API call carries an
// [*APIError] whose Err is (or wraps) exactly one of them; arguments refused
// before any call wrap ErrInvalid; a response the adapter cannot trust
// (a repeated NextToken, another group's attribute) wraps ErrServer. A rule
// that does not parse wraps none: it is neither the caller's fault nor
// transient.
var (
	// ErrNotFound: the security group, prefix list, instance or network
	// interface named in the request does not exist.
	ErrNotFound = errors.New("not found")
	// ErrRuleGone: RevokeSecurityGroup(Egress) named a SecurityGroupRuleId
	// that does not exist (InvalidParam.SecurityGroupRuleId). Since 2024-07-08
	// the whole call then revokes nothing. RevokeByID handles it itself.
	ErrRuleGone = errors.New("security group rule already gone")
	// ErrThrottled: flow control (Throttling*, Rejected.Throttling, HTTP 429).
	// Retried with backoff until the context deadline is near.
	ErrThrottled = errors.New("throttled")
	// ErrServer: the service failed or could not be reached (InternalError,
	// ServiceUnavailable, OperationConflict, HTTP >= 500, transport errors, an
	// unreadable success body). Retried like ErrThrottled.
	ErrServer = errors.New("server error")
	// ErrForbidden: the caller may not do this (Forbidden*, NoPermission, a
	// cloud-managed group) or its credentials were refused (unknown key, bad
	// signature, missing or expired STS token).
	ErrForbidden = errors.New("forbidden")
	// ErrQuota: a quota is exhausted (AuthorizationLimitExceed: 200 rules per
	// group; QuotaExceed*).
	ErrQuota = errors.New("quota exceeded")
	// ErrInvalid: the request was rejected as malformed or not allowed in this
	// state (InvalidParameter*, MissingParameter*, OperationDenied,
	// *.Malformed, …): any other 4xx. Also returned before any call for
	// arguments this package refuses to send.
	ErrInvalid = errors.New("invalid request")
)

// APIError is one failed ECS call (after any retries). Its text and fields
// never contain the AccessKeySecret or the SecurityToken.
type APIError struct {
	Op         string // ECS action, e.g. "RevokeSecurityGroup"
	Code       string // ECS error code; empty when no response arrived
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
	b.WriteString("ecs ")
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

// retryable reports whether another attempt may succeed.
func (e *APIError) retryable() bool {
	return errors.Is(e.Err, ErrThrottled) || errors.Is(e.Err, ErrServer)
}

// classify maps an ECS error code and HTTP status to a sentinel. Codes are
// compared exactly or by documented prefix/suffix; messages are never looked
// at. The order matters: throttling and credentials first, then specific
// codes, then the status.
func classify(code string, status int) error {
	switch {
	case strings.HasPrefix(code, "Throttling"), code == "Rejected.Throttling", status == 429:
		return ErrThrottled
	case code == "ServiceUnavailable", strings.HasPrefix(code, "ServiceUnavailable."),
		code == "InternalError", strings.HasPrefix(code, "InternalError."),
		code == "UnknownError", code == "OperationConflict":
		return ErrServer
	case code == "InvalidParam.SecurityGroupRuleId":
		return ErrRuleGone
	case strings.HasPrefix(code, "Forbidden"), strings.HasPrefix(code, "NoPermission"),
		strings.HasPrefix(code, "InvalidAccessKeyId"), code == "InvalidAccessKeySecret",
		code == "SignatureDoesNotMatch", code == "IncompleteSignature",
		strings.HasPrefix(code, "InvalidSecurityToken"), code == "InvalidOperation.ResourceManagedByCloudProduct",
		status == 401:
		return ErrForbidden
	case code == "AuthorizationLimitExceed", strings.HasPrefix(code, "QuotaExceed"):
		return ErrQuota
	case notFoundCodes[code]:
		return ErrNotFound
	case status >= 500:
		return ErrServer
	}
	// Everything else the service refused: InvalidParameter*, MissingParameter*,
	// OperationDenied, *.Malformed, IdempotentParameterMismatch, unknown
	// *.NotFound such as InvalidRegionId.NotFound (a configuration error must
	// not read as "the group is gone"), and 4xx without a code.
	return ErrInvalid
}

// notFoundCodes are the codes that mean "the resource named in the request
// does not exist". Deliberately a list, not a ".NotFound" suffix match.
var notFoundCodes = map[string]bool{
	"InvalidSecurityGroupId.NotFound":    true,
	"InvalidPrefixListId.NotFound":       true,
	"InvalidSourceGroupId.NotFound":      true,
	"InvalidDestGroupId.NotFound":        true,
	"InvalidInstanceId.NotFound":         true,
	"InvalidNetworkInterfaceId.NotFound": true,
	"InvalidEniId.NotFound":              true,
	"InvalidVpcId.NotFound":              true,
	"InvalidResourceId.NotFound":         true,
	"SecurityGroupRule.NotFound":         true,
}

// maxMessage bounds the service message kept in an APIError (a proxy's HTML
// error page would otherwise end up in logs whole).
const maxMessage = 512

// redactor removes credentials from text that leaves the package.
type redactor struct{ credentials.Redactor }

func newRedactor(c Credentials) redactor { return redactor{credentials.NewRedactor(c)} }

// cleanError returns err with credentials removed from its text. A *url.Error
// (transport failure) carries the request URL, whose query holds the
// SecurityToken and the signature; it is replaced by one naming only the
// action. Anything whose text still contains a credential is flattened to a
// redacted string, losing its chain rather than leaking.
func (r redactor) cleanError(err error, op string) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			u.RawQuery = url.Values{"Action": {op}}.Encode()
			u.User = nil
			err = &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		} else {
			err = &url.Error{Op: ue.Op, URL: "(redacted)", Err: ue.Err}
		}
	}
	return r.RedactError(err)
}

// apiError turns an error from the SDK into an *APIError.
func (r redactor) apiError(op string, err error) *APIError {
	if se, ok := errors.AsType[*sdkerrors.ServerError](err); ok {
		msg := se.Message()
		if se.ErrorCode() == "SignatureDoesNotMatch" || se.ErrorCode() == "IncompleteSignature" {
			// "... server string to sign is:<string-to-sign>": the string to
			// sign holds the SecurityToken. Drop it.
			if i := strings.Index(msg, sdkerrors.MessageContain); i >= 0 {
				msg = msg[:i] + sdkerrors.MessageContain + " " + credentials.Redacted
			}
		}
		msg = r.Redact(msg)
		if len(msg) > maxMessage {
			msg = msg[:maxMessage] + "…"
		}
		return &APIError{
			Op:         op,
			Code:       r.Redact(se.ErrorCode()),
			Message:    msg,
			RequestID:  r.Redact(se.RequestId()),
			HTTPStatus: se.HttpStatus(),
			Err:        classify(se.ErrorCode(), se.HttpStatus()),
		}
	}
	if ce, ok := errors.AsType[*sdkerrors.ClientError](err); ok {
		sentinel := ErrInvalid
		if ce.ErrorCode() == sdkerrors.JsonUnmarshalErrorCode {
			sentinel = ErrServer // a success status with a body we cannot read
		}
		if oe := ce.OriginError(); oe != nil {
			if _, isURL := errors.AsType[*url.Error](oe); isURL {
				sentinel = ErrServer
			}
		}
		return &APIError{Op: op, Code: ce.ErrorCode(), Err: fmt.Errorf("%w: %w", sentinel, r.cleanError(ce, op))}
	}
	// Transport: *url.Error from net/http (AutoRetry is off, so the SDK
	// returns it unwrapped).
	return &APIError{Op: op, Err: fmt.Errorf("%w: %w", ErrServer, r.cleanError(err, op))}
}

package ecsapi

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/porthygiene/porthygiene/shared/apicall"
	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/credentials"
)

// Sentinels, tested with errors.Is. An error from an API call carries an
// [*APIError] whose Err is (or wraps) exactly one of them; arguments refused
// before any call wrap ErrInvalid; a response the adapter cannot trust
// (a repeated NextToken, another group's attribute) wraps ErrServer. A rule
// that does not parse wraps none: it is neither the caller's fault nor
// transient. ErrNotFound, ErrThrottled, ErrServer, ErrForbidden and
// ErrInvalid are package apicall's, shared with the other adapters; all seven
// are declared in package cloud (SDK-free), so that consumers can test for
// them without importing this package.
var (
	// ErrNotFound: the security group, prefix list, instance or network
	// interface named in the request does not exist.
	ErrNotFound = cloud.ErrNotFound
	// ErrRuleGone: RevokeSecurityGroup(Egress) named a SecurityGroupRuleId
	// that does not exist (InvalidParam.SecurityGroupRuleId). Since 2024-07-08
	// the whole call then revokes nothing. RevokeByID handles it itself.
	ErrRuleGone = cloud.ErrRuleGone
	// ErrThrottled: flow control (Throttling*, Rejected.Throttling, HTTP 429).
	// Retried with backoff until the context deadline is near.
	ErrThrottled = cloud.ErrThrottled
	// ErrServer: the service failed or could not be reached (InternalError,
	// ServiceUnavailable, OperationConflict, HTTP >= 500, transport errors, an
	// unreadable success body). Retried like ErrThrottled.
	ErrServer = cloud.ErrServer
	// ErrForbidden: the caller may not do this (Forbidden*, NoPermission, a
	// cloud-managed group) or its credentials were refused (unknown key, bad
	// signature, missing or expired STS token).
	ErrForbidden = cloud.ErrForbidden
	// ErrQuota: a quota is exhausted (AuthorizationLimitExceed: 200 rules per
	// group; QuotaExceed*).
	ErrQuota = cloud.ErrQuota
	// ErrInvalid: the request was rejected as malformed or not allowed in this
	// state (InvalidParameter*, MissingParameter*, OperationDenied,
	// *.Malformed, …): any other 4xx. Also returned before any call for
	// arguments this package refuses to send.
	ErrInvalid = cloud.ErrInvalid
)

// APIError is one failed ECS call (after any retries), with Service "ecs".
// Its text and fields never contain the AccessKeySecret or the SecurityToken.
type APIError = cloud.APIError

// service prefixes this package's errors.
const service = "ecs"

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
		return &APIError{
			Service:    service,
			Op:         op,
			Code:       r.Redact(se.ErrorCode()),
			Message:    apicall.TrimMessage(r.Redact(msg)),
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
		return &APIError{Service: service, Op: op, Code: ce.ErrorCode(), Err: fmt.Errorf("%w: %w", sentinel, r.cleanError(ce, op))}
	}
	// Transport: *url.Error from net/http (AutoRetry is off, so the SDK
	// returns it unwrapped).
	return &APIError{Service: service, Op: op, Err: fmt.Errorf("%w: %w", ErrServer, r.cleanError(err, op))}
}

package slsapi

import (
	"errors"
	"fmt"
	"strings"

	sdk "github.com/aliyun/aliyun-log-go-sdk"

	"github.com/porthygiene/porthygiene/shared/apicall"
	"github.com/porthygiene/porthygiene/shared/credentials"
	"github.com/porthygiene/porthygiene/shared/logstore"
)

// Sentinels; every *Error unwraps to exactly one of them. ErrNotFound,
// ErrThrottled, ErrServer and ErrInvalid are package apicall's, shared with
// the other adapters, so that code above the adapters can tell a permanent
// failure from a transient one (apicall.Permanent) without importing this.
var (
	ErrNotFound      = apicall.ErrNotFound          // project, logstore, shard or index missing
	ErrAlreadyExists = errors.New("already exists") // project, logstore or index exists
	ErrUnauthorized  = errors.New("unauthorized")   // bad or expired credentials, signature, clock skew, no permission
	ErrThrottled     = apicall.ErrThrottled         // read/write quota exceeded; retry later
	ErrServer        = apicall.ErrServer            // 5xx, unreachable, retries exhausted, query incomplete; retry later
	ErrInvalid       = apicall.ErrInvalid
	// ErrNoIndex: a query of a logstore without an index
	// (IndexConfigNotExist). It is also ErrNotFound and logstore.ErrNoIndex.
	ErrNoIndex = fmt.Errorf("%w: %w", logstore.ErrNoIndex, ErrNotFound)
)

// Error is a failed SLS call.
type Error struct {
	Op        string // SDK operation, e.g. "PutLogs"
	Project   string
	Logstore  string
	Code      string // SLS errorCode; "" when none came back
	Status    int    // HTTP status; 0 when none came back
	RequestID string // x-log-requestid
	Message   string // server or transport message, secrets scrubbed
	Err       error  // the sentinel
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sls %s %s: %v", e.Op, call{project: e.Project, logstore: e.Logstore}.target(), e.Err)
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" [request " + e.RequestID + "]")
	}
	return b.String()
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

const maxMessage = 512

// mapError translates an SDK error. cred is only used to scrub messages.
func mapError(cl call, err error, tr *trace, cred Credentials) error {
	e := &Error{Op: cl.op, Project: cl.project, Logstore: cl.logstore}
	var se *sdk.Error
	var be *sdk.BadResponseError
	switch {
	case errors.As(err, &se) && se.HTTPCode > 0:
		e.Code, e.Status, e.RequestID, e.Message = se.Code, int(se.HTTPCode), se.RequestID, se.Message
		e.Err = classify(se.Code, int(se.HTTPCode))
	case errors.As(err, &be) && be.HTTPCode > 0:
		e.Status, e.Message = be.HTTPCode, "malformed response: "+be.RespBody
		e.Err = classify("", be.HTTPCode)
		if e.Err == ErrInvalid && be.HTTPCode == 200 {
			e.Err = ErrServer
		}
	default:
		status, terr := tr.last()
		switch {
		case status >= 500:
			e.Status, e.Err, e.Message = status, ErrServer, "retries exhausted"
		case terr != nil:
			e.Err, e.Message = ErrServer, "unreachable: "+terr.Error()
		case status == 429:
			e.Status, e.Err, e.Message = status, ErrThrottled, "retries exhausted"
		default:
			// A client-side failure (response decoding, credentials provider).
			e.Err, e.Message = ErrServer, err.Error()
			if status >= 400 {
				e.Status, e.Err = status, classify("", status)
			}
		}
	}
	e.Message = scrub(e.Message, cred)
	return e
}

// classify maps an SLS error code (first) or HTTP status to a sentinel.
func classify(code string, status int) error {
	switch code {
	case "IndexConfigNotExist":
		return ErrNoIndex
	case "ProjectNotExist", "LogStoreNotExist", "ShardNotExist", "IndexNotExist", "MetaStoreNotExist":
		return ErrNotFound
	case "ProjectAlreadyExist", "LogStoreAlreadyExist", "IndexAlreadyExist":
		return ErrAlreadyExists
	case "Unauthorized", "SignatureNotMatch", "InvalidAccessKeyId", "InvalidAccessKeyId.NotFound", "SecurityTokenExpired",
		"InvalidSecurityToken", "ProjectForbidden", "RequestTimeExpired", "RequestTimeTooSkewed", "MissingSignatureMethod",
		"InvalidSignatureMethod", "MissAccessKeyId":
		return ErrUnauthorized
	case "WriteQuotaExceed", "ShardWriteQuotaExceed", "ReadQuotaExceed", "ShardReadQuotaExceed", "ExceedQuota", "QuotaExceed":
		return ErrThrottled
	case "InternalServerError", "ServerBusy", "RequestTimeout":
		return ErrServer
	}
	switch {
	case status == 404:
		return ErrNotFound
	case status == 401 || status == 403:
		return ErrUnauthorized
	case status == 429:
		return ErrThrottled
	case status >= 500:
		return ErrServer
	}
	return ErrInvalid
}

// scrub removes the secret and the token, in any spelling, from a message
// and bounds its length.
func scrub(msg string, cred Credentials) string {
	msg = credentials.NewRedactor(cred).Redact(msg)
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "…"
	}
	return msg
}

package ecsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/credentials"
)

var sentinels = []error{ErrNotFound, ErrRuleGone, ErrThrottled, ErrServer, ErrForbidden, ErrQuota, ErrInvalid}

func TestClassifyServerErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
		want   error
		retry  bool
	}{
		// ECS throttles with HTTP 400; the SDK never retries it, we must.
		{"Throttling", 400, "Throttling", ErrThrottled, true},
		{"ThrottlingUser", 400, "Throttling.User", ErrThrottled, true},
		{"ThrottlingApi", 400, "Throttling.Api", ErrThrottled, true},
		{"RejectedThrottling", 400, "Rejected.Throttling", ErrThrottled, true},
		{"HTTP429WithoutCode", 429, "", ErrThrottled, true},
		{"ServiceUnavailable", 503, "ServiceUnavailable", ErrServer, true},
		{"InternalError", 500, "InternalError", ErrServer, true},
		// OperationConflict is 409: a concurrent request; retry.
		{"OperationConflict", 409, "OperationConflict", ErrServer, true},
		// Any 5xx, even with a code that looks like a client error.
		{"GressFlow500", 500, "InvalidGressFlow.Malformed", ErrServer, true},
		{"Gateway502NoCode", 502, "", ErrServer, true},
		// Revoke by an id that is gone: nothing was revoked.
		{"RuleGone", 400, "InvalidParam.SecurityGroupRuleId", ErrRuleGone, false},
		{"GroupNotFound", 404, "InvalidSecurityGroupId.NotFound", ErrNotFound, false},
		{"PrefixListNotFound", 404, "InvalidPrefixListId.NotFound", ErrNotFound, false},
		// A wrong region is configuration, not "the group is gone".
		{"RegionNotFound", 404, "InvalidRegionId.NotFound", ErrInvalid, false},
		// An unknown key says NotFound but is a credential problem.
		{"AccessKeyNotFound", 404, "InvalidAccessKeyId.NotFound", ErrForbidden, false},
		{"ForbiddenRAM", 403, "Forbidden.RAM", ErrForbidden, false},
		{"NoPermission", 403, "NoPermission", ErrForbidden, false},
		{"SignatureDoesNotMatch", 400, "SignatureDoesNotMatch", ErrForbidden, false},
		{"TokenExpired", 400, "InvalidSecurityToken.Expired", ErrForbidden, false},
		{"ManagedGroup", 403, "InvalidOperation.ResourceManagedByCloudProduct", ErrForbidden, false},
		{"RuleQuota", 403, "AuthorizationLimitExceed", ErrQuota, false},
		{"InvalidParameter", 400, "InvalidParameter", ErrInvalid, false},
		{"OperationDenied", 400, "OperationDenied", ErrInvalid, false},
		{"MalformedCidr", 400, "InvalidSourceCidrIp.Malformed", ErrInvalid, false},
		{"MissingParameter", 400, "MissingParameter", ErrInvalid, false},
		{"IdempotentMismatch", 400, "IdempotentParameterMismatch", ErrInvalid, false},
		{"Unknown4xx", 400, "Something.New", ErrInvalid, false},
	}
	r := newRedactor(testCreds)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := "<html>bad gateway</html>"
			if tt.code != "" {
				b, err := json.Marshal(apiErrorBody(tt.code, "message for "+tt.code))
				require.NoError(t, err)
				body = string(b)
			}
			sdkErr := sdkerrors.NewServerError(tt.status, body, "")
			got := r.apiError("DescribeSecurityGroupAttribute", fmt.Errorf("wrapped: %w", sdkErr))

			require.ErrorIs(t, got, tt.want)
			for _, s := range sentinels {
				if s != tt.want {
					require.NotErrorIs(t, got, s, "classified as more than one sentinel")
				}
			}
			require.Equal(t, tt.retry, got.Retryable())
			require.Equal(t, tt.code, got.Code)
			require.Equal(t, tt.status, got.HTTPStatus)
			require.Equal(t, "DescribeSecurityGroupAttribute", got.Op)
			if tt.code != "" {
				require.Equal(t, "REQ-"+tt.code, got.RequestID)
				require.Contains(t, got.Error(), tt.code)
				require.Contains(t, got.Error(), "REQ-"+tt.code)
			}
			var ae *APIError
			require.ErrorAs(t, fmt.Errorf("outer: %w", got), &ae)
		})
	}
}

func TestTransportErrorIsRetryableAndRedacted(t *testing.T) {
	r := newRedactor(testCreds)
	q := url.Values{"Action": {"RevokeSecurityGroup"}, "SecurityToken": {testCreds.SecurityToken}, "Signature": {"sig"}}
	err := &url.Error{Op: "Post", URL: "http://127.0.0.1:1/?" + q.Encode(), Err: errors.New("connection refused")}

	got := r.apiError("RevokeSecurityGroup", err)

	require.ErrorIs(t, got, ErrServer)
	require.True(t, got.Retryable())
	require.Zero(t, got.HTTPStatus)
	require.Contains(t, got.Error(), "connection refused")
	require.Contains(t, got.Error(), "Action=RevokeSecurityGroup")
	requireNoSecrets(t, got.Error())
	require.NotContains(t, got.Error(), "Signature")
}

func TestSignatureMismatchDropsStringToSign(t *testing.T) {
	r := newRedactor(testCreds)
	sts := "POST&%2F&AccessKeyId%3DLTAItestkey%26SecurityToken%3D" + credentials.PercentEncode(credentials.PercentEncode(testCreds.SecurityToken))
	b, err := json.Marshal(apiErrorBody("SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:"+sts))
	require.NoError(t, err)

	got := r.apiError("DescribeSecurityGroups", sdkerrors.NewServerError(400, string(b), ""))

	require.ErrorIs(t, got, ErrForbidden)
	require.NotContains(t, got.Error(), "AccessKeyId%3D")
	requireNoSecrets(t, got.Error())
}

func TestRedactorRemovesEverySpelling(t *testing.T) {
	r := newRedactor(testCreds)
	for _, s := range []string{
		testCreds.AccessKeySecret,
		testCreds.SecurityToken,
		url.QueryEscape(testCreds.SecurityToken),
		url.QueryEscape(url.QueryEscape(testCreds.SecurityToken)),
		credentials.PercentEncode(credentials.PercentEncode(testCreds.SecurityToken)),
	} {
		got := r.Redact("before " + s + " after")
		require.Equal(t, "before [REDACTED] after", got)
	}
}

// requireNoSecrets fails if text holds the test secret or token in any
// encoding.
func requireNoSecrets(t *testing.T, text string) {
	t.Helper()
	require.Equal(t, text, newRedactor(testCreds).Redact(text), "text leaks a credential (in some spelling): %s", text)
	require.NotContains(t, text, "SECRET-value")
	require.NotContains(t, text, "TOKEN-value")
}

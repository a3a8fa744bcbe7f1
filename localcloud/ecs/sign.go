package ecs

import (
	"crypto/hmac"
	"errors"
	"net/url"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/rpc"
)

// timestampWindow is how far a request's Timestamp may be from the wall clock.
const timestampWindow = auth.SignatureWindow

// StringToSign returns the RPC (signature version 1.0) string-to-sign of a
// request with the given method and parameters, exactly as the Alibaba Cloud
// SDK computes it (see package rpc, which RAM and ActionTrail share).
func StringToSign(method string, params url.Values) string { return rpc.StringToSign(method, params) }

// Sign returns the Signature of a string-to-sign for an AccessKey secret.
func Sign(stringToSign, secret string) string { return rpc.Sign(stringToSign, secret) }

// authenticate checks the AccessKey, STS token, timestamp, signature and nonce.
func (s *Server) authenticate(c *call) *apiError {
	f := c.r.Form
	ak := f.Get("AccessKeyId")
	if ak == "" {
		return errMissing("AccessKeyId")
	}
	sig := f.Get("Signature")
	if sig == "" {
		return errf(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards: Signature is missing.")
	}
	if m := f.Get("SignatureMethod"); m != "HMAC-SHA1" {
		return errf(400, "InvalidSignatureMethod", "The specified SignatureMethod %q is not supported; use HMAC-SHA1.", m)
	}
	if v := f.Get("SignatureVersion"); v != "1.0" {
		return errf(400, "InvalidSignatureVersion", "The specified SignatureVersion %q is not supported; use 1.0.", v)
	}
	if s.cfg.Auth == nil {
		return errf(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	cred, err := s.cfg.Auth.Verify(ak, f.Get("SecurityToken"), s.clock.Now())
	switch {
	case errors.Is(err, auth.ErrUnknownKey):
		return errf(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	case errors.Is(err, auth.ErrTokenExpired):
		return errf(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
	case errors.Is(err, auth.ErrTokenMismatch):
		return errf(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
	case errors.Is(err, auth.ErrTokenMissing):
		return errf(400, "InvalidSecurityToken.Missing", "SecurityToken is required for an STS AccessKey.")
	case err != nil:
		return errf(400, "InvalidAccessKeyId", "%v", err)
	}
	ts := f.Get("Timestamp")
	if ts == "" {
		return errMissing("Timestamp")
	}
	t, perr := time.Parse("2006-01-02T15:04:05Z", ts)
	if perr != nil {
		return errf(400, "InvalidTimeStamp.Format", "Specified time stamp %q is not in ISO8601 UTC format (yyyy-MM-ddTHH:mm:ssZ).", ts)
	}
	now := time.Now()
	if d := now.Sub(t); d > timestampWindow || d < -timestampWindow {
		return errf(400, "InvalidTimeStamp.Expired", "Specified time stamp or date header %q is expired (server time %s).", ts, now.UTC().Format(time.RFC3339))
	}
	sts := StringToSign(c.r.Method, f)
	if !hmac.Equal([]byte(Sign(sts, cred.AccessKeySecret)), []byte(sig)) {
		return errf(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:%s", sts)
	}
	nonce := f.Get("SignatureNonce")
	if nonce == "" {
		return errMissing("SignatureNonce")
	}
	if !s.nonces.Use(ak, nonce, now) {
		return errf(400, "SignatureNonceUsed", "Specified signature nonce %q was used already.", nonce)
	}
	c.cred = cred
	c.caller = cred.Identity.UserName
	if cred.Role != "" {
		c.caller = cred.Role
	}
	return nil
}

// Package fcapi is porthygiene's only adapter over the Function Compute 3.0
// API (version 2023-03-30). It does one thing: start an asynchronous
// invocation of a function (InvokeFunction with x-fc-invocation-type: Async),
// which the guard uses to fan a large sweep out over invocations of itself.
// It is a small hand-written client over net/http; no SDK is involved.
//
// Wire contract (Alibaba Cloud "Request syntax and signature method V3" and
// the FC 3.0 InvokeFunction reference):
//
//	POST /2023-03-30/functions/{functionName}/invocations[?qualifier=Q]
//	Host: <accountId>.<region>.fc.aliyuncs.com
//	x-acs-action: InvokeFunction
//	x-acs-version: 2023-03-30
//	x-fc-invocation-type: Async
//	x-acs-date, x-acs-signature-nonce, x-acs-content-sha256 (hex SHA-256 of the body),
//	x-acs-security-token (STS credentials only)
//	Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<h1;h2;...>,Signature=<hex>
//
// The service answers 202 with the invocation's id in x-fc-request-id, or an
// error status with {"Code","Message","RequestId"}.
//
// Invariants:
//
//   - Signing follows signature method V3 (ACS3-HMAC-SHA256): the canonical
//     request is method, percent-encoded path, sorted query, the lower-cased
//     and sorted host, content-type and x-acs-* headers, the signed-header
//     list and the body's hex SHA-256; the signature is the hex
//     HMAC-SHA256 of "ACS3-HMAC-SHA256\n" + hex(SHA-256(canonical request)).
//     Every attempt is signed afresh (new date and nonce). The test pins the
//     signer to the worked example of the V3 documentation.
//   - Credentials are per invocation: build one Client in main and derive one
//     per invocation with WithCredentials (Function Compute hands each
//     invocation fresh STS credentials).
//   - Retries: throttling (HTTP 429) and server failures (HTTP >= 500,
//     transport errors) are retried with exponential backoff and jitter
//     between Config.MinBackoff and MaxBackoff, while another wait plus one
//     more call fits before the context deadline (without a deadline, at most
//     DefaultMaxAttemptsNoDeadline attempts). Nothing else is retried. A
//     retried asynchronous invocation may run twice if the first attempt
//     was accepted but its answer lost: callers must be idempotent, as every
//     Function Compute handler must be anyway.
//   - Errors are classified once, here, from the HTTP status and the error
//     code into the sentinels ErrNotFound, ErrThrottled, ErrServer,
//     ErrForbidden, ErrTooLarge and ErrInvalid, carried by an *APIError (Op,
//     Code, Message, RequestID, HTTPStatus, Attempts). Callers use errors.Is.
//   - No error, log value or formatted Credentials contains the
//     AccessKeySecret or the SecurityToken, in any spelling (shared/credentials'
//     Credentials and Redactor).
//   - A Client is safe for concurrent use.
package fcapi

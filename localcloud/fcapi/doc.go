// Package fcapi emulates the part of the Function Compute 3.0 API
// (2023-03-30) that porthygiene calls: InvokeFunction.
//
//	POST /2023-03-30/functions/{functionName}/invocations[?qualifier=LATEST]
//
// with x-fc-invocation-type Async (queued on the FC runtime emulator; 202 and
// the invocation's x-fc-request-id) or Sync (run to completion; 200 and the
// function's response, with x-fc-error-type when the function failed).
//
// Invariants:
//
//   - Every request is authenticated with signature method V3
//     (ACS3-HMAC-SHA256), verified from the documentation independently of
//     any client (sign.go): the key and STS token against the credential
//     store, x-acs-date within 15 minutes of the wall clock, the body against
//     x-acs-content-sha256, the signature over method, path, query and the
//     signed headers (host and every x-acs-* and content-type header present
//     must be signed), and a nonce used once. A failure is a 4xx JSON error
//     {"Code","Message","RequestId"} and changes nothing.
//   - Every answered request is counted once in stats as service "fc",
//     action "InvokeFunction" (or the x-acs-action of an unemulated call),
//     with the caller (the role name for STS credentials) and the error code.
//   - Unemulated paths answer 501 NotImplemented naming the method, path and
//     x-acs-action.
//   - Invocations through the API carry the trigger label "api" in the
//     runtime's records: FC's API has no trigger name.
//   - Faults for service "fc" apply: throttling answers 429 TooManyRequests,
//     server errors 503 ServiceUnavailable.
//   - An asynchronous payload above 128 KB is refused (413 EntityTooLarge),
//     as Function Compute does.
package fcapi

// Package slsapi is porthygiene's only adapter over the Simple Log Service Go
// SDK (github.com/aliyun/aliyun-log-go-sdk). Nothing else imports the SDK.
//
// Invariants:
//
//   - Credentials are read per call, from the context (ContextWithCredentials;
//     FC hands out STS credentials per invocation) or else from
//     Config.Credentials; never cached, never printed: Credentials redacts
//     itself, and error messages are scrubbed of the secret and token.
//   - Every call honours its context: the SDK's own retry budget (it retries
//     reads on network errors and 5xx, writes on 500/502/503, with backoff) is
//     min(Config.RetryTimeout, time until the context deadline), requests carry
//     the context, and a cancelled call returns at once with ctx.Err() wrapped.
//   - Failures are *Error values that unwrap to one sentinel, chosen from the
//     SDK's *sls.Error code and HTTP status with errors.As, never by matching
//     text: ErrNotFound, ErrAlreadyExists, ErrUnauthorized, ErrThrottled,
//     ErrServer (5xx, unreachable, retries exhausted, query still incomplete),
//     ErrInvalid (other 4xx). SDK types never escape this package.
//   - With no Config.HTTPClient the transport is a clone of Go's default, so
//     HTTP_PROXY/NO_PROXY are honoured: localcloud reaches the real function
//     binaries through the environment alone (an SLS endpoint cannot be an IP
//     address; the SDK prefixes the project to the host).
//   - A PutLogs retried by the SDK after a 5xx may have been stored twice;
//     writers that care (the ledger) make records idempotent by id.
package slsapi

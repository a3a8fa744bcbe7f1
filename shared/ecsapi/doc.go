// Package ecsapi is porthygiene's only adapter over the Alibaba Cloud ECS SDK
// (github.com/aliyun/alibaba-cloud-sdk-go/services/ecs, API 2014-05-26). It
// reads security groups, their rules, tags, prefix lists and network
// interfaces, revokes rules by id and authorizes rules, and returns the
// SDK-free types of package rule and of this package. No SDK type crosses its
// API.
//
// Invariants:
//
//   - Complete or failed. A list (rules, groups, tags, ENIs) is returned only
//     after its last page. A rule that does not parse, or has no
//     SecurityGroupRuleId, fails DescribeRules and is named in the error: an
//     unparseable rule must not look safe. A tag-filtered group listing that
//     reaches the API's 1000-group cap fails rather than look complete.
//   - Revocation is by SecurityGroupRuleId only, never by attributes, in
//     calls of at most 100 ids. "Already gone" (InvalidParam.SecurityGroupRuleId,
//     which since 2024-07-08 fails the whole call) is resolved by re-reading
//     the group and retrying once with the ids still present; the result says
//     which ids were revoked and which were already gone.
//   - Authorize sends Permissions.N, at most 100 per call, with one random
//     ClientToken per call reused across its retries. Fields a direction's
//     API cannot carry are refused, never dropped.
//   - Retries: throttling (Throttling*, Rejected.Throttling, HTTP 429; ECS
//     throttles with HTTP 400 and the SDK never retries it), InternalError,
//     ServiceUnavailable, OperationConflict, HTTP >= 500 and transport errors
//     are retried with exponential backoff and jitter (smithy-go
//     waiter.ComputeDelay) between Config.MinBackoff and MaxBackoff. A retry
//     is a fresh SDK request (new nonce and timestamp). Retrying stops as soon
//     as the next backoff plus one more call (as slow as the slowest so far)
//     would overrun the context deadline; the error then wraps ErrThrottled or
//     ErrServer and the last *APIError with its attempt count, so that
//     Function Compute's asynchronous retry can take over. The SDK's own
//     AutoRetry is off.
//   - Pacing: with Config.QPS set, every attempt (pages and retries
//     included) first takes a token from a bucket (golang.org/x/time/rate)
//     of Config.Burst tokens refilled at QPS per second, shared by the
//     Client and every Client WithCredentials derives from it; a turn that
//     would come after the context deadline fails at once, and a turn not
//     taken (deadline, cancellation) is given back. A sweep then stays under
//     the region's rate limit instead of learning it from Throttling errors.
//   - Every request carries an explicit read timeout (Config.CallTimeout) and
//     ends when its context ends.
//   - Errors are classified once, here, from the SDK's *errors.ServerError
//     code and HTTP status (never from message text) into the sentinels
//     ErrNotFound, ErrRuleGone, ErrThrottled, ErrServer, ErrForbidden,
//     ErrQuota and ErrInvalid, carried by an *APIError (Op, Code, RequestID,
//     HTTPStatus, Attempts). Callers use errors.Is and errors.As.
//   - No error, log value or formatted Credentials contains the
//     AccessKeySecret or the SecurityToken: the request URL of transport
//     errors (whose query holds the token) is cut to the action, the server's
//     echoed string-to-sign is dropped, and any remaining occurrence, in any
//     spelling, is replaced (shared/credentials' Credentials and Redactor).
//   - A Client is safe for concurrent use. The SDK client is not (it writes
//     its timeout on every request), so each concurrent call uses its own SDK
//     client over one shared connection pool.
package ecsapi

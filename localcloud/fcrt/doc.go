// Package fcrt runs real Function Compute 3.0 Go function binaries on loopback,
// speaking the runtime API of github.com/aliyun/fc-runtime-go-sdk v0.3.1.
//
// Each function instance is one child process started from the function's
// code directory. Each instance has its own loopback listener, because
// FC_RUNTIME_API is only host:port and the port is what tells instances apart.
// The listener serves
//
//	GET  /2020-11-11/runtime/invocation/next          long-poll: the next event
//	POST /2020-11-11/runtime/invocation/{id}/response  success body (JSON)
//	POST /2020-11-11/runtime/invocation/{id}/error     {"errorMessage","errorType",...}
//
// Invariants:
//
//   - /next never answers while the instance is idle: it blocks until an
//     invocation is handed over, or the instance is killed. The SDK loops
//     without sleeping on any non-200 answer.
//   - Every delivered invocation carries x-fc-request-id,
//     x-fc-function-deadline (epoch ms, wall clock, set when the event is
//     handed over) and x-fc-function-timeout (whole seconds, rounded up). The
//     SDK silently drops an invocation that lacks either of the last two.
//   - Concurrency per instance is 1, as FC fixes it for the Go runtime: an
//     instance gets the next event only after it has answered the previous
//     one. A busy function starts another instance, up to Config.MaxInstances;
//     above that, invocations queue.
//   - With FunctionSpec.Initializer set, every new instance gets an
//     invocation with x-fc-function-type: 1 before its first event. If that
//     fails, the instance is discarded and the event's attempt fails.
//   - Credentials travel per invocation in x-fc-access-key-id,
//     x-fc-access-key-secret and x-fc-security-token. They are STS
//     credentials issued by auth.Store.IssueSTS for the function's role,
//     with the function name as the session name, and renewed when they are
//     within an hour of expiry on the virtual clock. The process environment
//     never holds keys: unlike FC, which also sets ALIBABA_CLOUD_ACCESS_KEY_*,
//     localcloud makes functions use fccontext credentials. The child's
//     environment is built from scratch. It holds no host variables except
//     PATH, TMPDIR, GOCOVERDIR, GORACE and GOTRACEBACK, so host keys and
//     ~/.alibabacloud never leak in.
//   - The emulator enforces the function timeout on the wall clock. At the
//     deadline the attempt is recorded as "timeout" and the instance process
//     is killed; the next invocation starts a new instance. A handler panic
//     is reported by the SDK to /error and the process keeps serving. A
//     process that exits fails its attempt and is replaced.
//   - Synchronous invocations are never retried. An asynchronous one is
//     retried after a handler error, timeout or crash, up to
//     MaxAsyncRetryAttempts times, after a wall-clock backoff
//     Config.RetryBackoff·2^n. x-fc-retry-count carries the attempt number
//     (0 first). All attempts of one async invocation share its request id.
//     An event is not retried once it is older than MaxAsyncEventAge,
//     measured on the wall clock or the virtual clock, whichever says older.
//   - Every attempt, and every initializer run, becomes an InvocationRecord.
//     Every attempt (not the initializer runs) is counted once in
//     stats.Invocation.
//   - Wait returns only when no invocation is queued, running or waiting
//     for a retry.
//
// Not emulated: idle instance reclaim (instances live until Close or a
// timeout kill), preFreeze/preStop hooks, HTTP functions (fc.StartHttp),
// the 4 KB environment limit, async destinations, and throttling (429).
package fcrt

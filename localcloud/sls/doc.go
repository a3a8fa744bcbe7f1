// Package sls is localcloud's emulator of Alibaba Cloud Simple Log Service
// (SLS): projects, logstores and shards; PutLogs, GetCursor, PullLogs and
// GetLogs on the wire the unmodified aliyun-log-go-sdk speaks; and a Go API
// through which the rest of localcloud feeds logstores (ActionTrail delivery,
// VPC flow logs) and drives the SLS ("log") trigger.
//
// # Wire
//
// The project is the first label of the Host ("<project>.<region>[-intranet]
// .log.aliyuncs.com"), so requests reach the server either through a dialer
// that always dials it or as absolute-form HTTP proxy requests
// (HTTP_PROXY=http://127.0.0.1:PORT); both give the same r.Host. Every request
// is checked as the SDK signs it (signature v1, HMAC-SHA1; Content-MD5 is the
// upper-case hex MD5 of the wire body and is verified; query values enter the
// canonical resource decoded; x-acs-security-token is signed and checked
// against the STS credential at the virtual time). Errors are
// {"errorCode","errorMessage"} with the x-log-requestid header, which every
// response carries. Requests the emulator does not implement get 400
// NotSupported naming them (not a 5xx, which the SDK would retry for its whole
// RetryTimeout).
//
// # Invariants
//
//   - A shard is an append-only sequence of log groups. Group i of a shard has
//     sequence base+i and cursor base64(decimal(sequence)), which the SDK
//     decodes too. The begin cursor is base, the end cursor base+len; a cursor
//     names the same group until the logstore TTL drops it (then InvalidCursor).
//   - Receive times come from Config.Clock, which must not go backwards, so they
//     are non-decreasing per shard: GetCursor(from=<time>) and CursorAt are
//     binary searches.
//   - A group is readable (PullLogs, GetLogs, Query) before any OnAppend hook
//     runs. Hooks run synchronously in the appending goroutine with no lock held.
//   - Groups keep their wire content: PullLogs returns topic, source, tags, log
//     times (with nanoseconds) and contents in order, as PutLogs received them.
//   - All values are strings. Keys and values are interned per logstore, and
//     each log stores uint32 ids, so a million flow-log records take about
//     200 MiB; the intern table is never shrunk.
//   - A query runs under the logstore's read lock and sees one consistent
//     snapshot; appends wait for it.
//   - GetLogs needs an index (else 400 IndexConfigNotExist) and sees only the
//     groups received after the index was created, each once Config.IndexDelay
//     has passed on the wall or the virtual clock (QUERY.md). PullLogs, the
//     Go API's Query and the SLS trigger see every stored group at once.
//   - Every HTTP request is counted once in Stats as ("sls", action, caller,
//     error code), caller being the RAM user name, or the role name of
//     assumed-role (STS) keys, or "" when authentication failed.
//   - Faults (Config.Faults) apply after authentication: throttling answers
//     403 ReadQuotaExceed (GET) or WriteQuotaExceed (other methods), server
//     errors 500 InternalServerError; latency is wall-clock.
//   - Logstores created through HTTP expire groups older than their TTL (by
//     receive time, virtual clock); logstores created through the Go API and
//     TTLs of 3650 days or more never expire.
//
// The GetLogs query language subset is documented in QUERY.md. The package
// imports nothing from the suite's shared/ packages.
package sls

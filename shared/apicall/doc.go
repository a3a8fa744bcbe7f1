// Package apicall holds what the HTTP API adapters (shared/ecsapi,
// shared/fcapi) have in common: the sentinels both classify failures into,
// the *APIError that carries one failed call, and the retry settings with the
// deadline-bounded backoff between attempts. Each adapter keeps its own
// classification of the service's codes and statuses, and its own sentinels
// for what only its service reports; it re-exports these under its own names.
//
// It imports no cloud SDK (smithy-go only), so that domain code may use it.
package apicall

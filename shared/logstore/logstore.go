package logstore

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Log is one log entry. SLS values are strings.
type Log struct {
	Time     time.Time
	Contents map[string]string
}

// MaxPageLines is the most rows a search-only query returns per page.
const MaxPageLines = 100

// Page selects rows of a search-only query: Lines (1..MaxPageLines, 0 means
// MaxPageLines) from Offset, oldest first unless Reverse. SQL queries ignore
// it (they page with LIMIT).
type Page struct {
	Lines   int
	Offset  int
	Reverse bool
}

// Quote returns s as a double-quoted SLS search value (exact phrase), with
// backslashes and quotes escaped.
func Quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Cursors is a position in a logstore: per shard id, the cursor after the
// last log group read.
type Cursors map[int]string

// Store is a log store organised in projects and logstores, as SLS is. Every
// method honours its context and is safe for concurrent use. Errors are the
// implementation's (shared/slsapi's unwrap to its sentinels); a caller wraps
// them and does not look inside.
type Store interface {
	// PutLogs writes logs as one log group with the given topic, in one
	// request: all or none. An empty slice writes nothing. A write retried
	// after a server error may be stored twice; writers that care make
	// their records idempotent by id.
	PutLogs(ctx context.Context, project, logstore, topic string, logs []Log) error
	// Query runs query ("<search>" or "<search> | <SQL>") over the logs whose
	// time is in [from, to) (whole seconds: from rounds down, to rounds up)
	// and returns every row, each value a string. A search-only query is
	// read page by page until exhausted.
	Query(ctx context.Context, project, logstore string, from, to time.Time, query string) ([]map[string]string, error)
	// QueryPage is Query for one page p of a search-only query.
	QueryPage(ctx context.Context, project, logstore string, from, to time.Time, query string, p Page) ([]map[string]string, error)
	// Tail reads by cursor, not by search: on every shard, the logs
	// received from since on (the service's receive time, whole seconds:
	// since rounds down) or, on a shard after names, from after's cursor,
	// up to the end of the shard when the read began. It returns them in
	// each shard's order with the position after them; pass that as after
	// to read only what arrived since. Unlike Query, whose index lags
	// writes by seconds, Tail sees every PutLogs that returned before it
	// began: it is how a reader sees its own and other writers' latest
	// writes (DESIGN.md, "SLS is not read-your-writes").
	Tail(ctx context.Context, project, logstore string, since time.Time, after Cursors) ([]Log, Cursors, error)
	// EnsureLogstore creates the logstore (ttlDays retention, shards shards)
	// unless it exists; an existing logstore is left as it is. Idempotent.
	EnsureLogstore(ctx context.Context, project, logstore string, ttlDays, shards int) error
	// EnsureIndex gives each key a text field index, so that the logstore
	// can be queried by field: it creates the index when there is none and
	// otherwise adds the keys it lacks (or re-types those indexed as
	// another type), keeping the rest of the index; it writes nothing when
	// every key is indexed. Idempotent. An index, and each field added to
	// it, covers only logs written after the change.
	EnsureIndex(ctx context.Context, project, logstore string, keys ...string) error
}

// ErrNoIndex: the logstore has no index, so it cannot be queried (SLS's
// IndexConfigNotExist). `porthygiene setup` creates it; an index covers only
// data written after it exists. Store implementations wrap it.
var ErrNoIndex = errors.New("the logstore has no index (run porthygiene setup; an index covers only data written after it exists)")

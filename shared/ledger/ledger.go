package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/logstore"
)

// Topic is the SLS topic of ledger writes.
const Topic = "porthygiene-ledger"

// IndexKeys are the fields a real logstore must index for the ledger's queries.
var IndexKeys = []string{"id", "kind", "v", "function", "groupId", "region", "ruleId", "eventId"}

// The queryable range when a filter leaves it open.
var (
	beginningOfTime = time.Unix(0, 0).UTC()
	endOfTime       = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Ledger reads and writes records in one logstore. It is safe for concurrent use.
type Ledger struct {
	store    logstore.Store
	project  string
	logstore string
}

// New returns a ledger over project/logstore of store (in production an
// *slsapi.Client).
func New(store logstore.Store, project, logstore string) *Ledger {
	return &Ledger{store: store, project: project, logstore: logstore}
}

// Setup creates the logstore (unless it exists) and makes its index cover
// IndexKeys as text fields (created, or updated with the keys it lacks); for
// `porthygiene setup` and for tests. The ledger's queries are equality and
// phrase searches on those fields over a time range of the log time, so text
// field indexes are all they need.
func (l *Ledger) Setup(ctx context.Context, ttlDays, shards int) error {
	if err := l.store.EnsureLogstore(ctx, l.project, l.logstore, ttlDays, shards); err != nil {
		return fmt.Errorf("ledger setup: %w", err)
	}
	if err := l.store.EnsureIndex(ctx, l.project, l.logstore, IndexKeys...); err != nil {
		return fmt.Errorf("ledger setup: %w", err)
	}
	return nil
}

// Append validates recs and writes them in one PutLogs call: all or none.
func (l *Ledger) Append(ctx context.Context, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	logs := make([]logstore.Log, len(recs))
	for i, r := range recs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("ledger append: %w", err)
		}
		logs[i] = logstore.Log{Time: r.Time, Contents: r.contents()}
	}
	if err := l.store.PutLogs(ctx, l.project, l.logstore, Topic, logs); err != nil {
		return fmt.Errorf("ledger append %d record(s) (first %s %s): %w", len(recs), recs[0].Kind, recs[0].ID, err)
	}
	return nil
}

// Get returns the record with the given id (typed forms are normalized).
// It is ErrNotFound when no such record exists.
func (l *Ledger) Get(ctx context.Context, id string) (Record, error) {
	n, err := NormalizeID(id)
	if err != nil {
		return Record{}, fmt.Errorf("ledger get: %w", err)
	}
	t, err := IDTime(n)
	if err != nil {
		return Record{}, fmt.Errorf("ledger get: %w", err)
	}
	q := "id: " + logstore.Quote(n)
	rows, err := l.store.Query(ctx, l.project, l.logstore, t.Add(-time.Second), t.Add(2*time.Second), q)
	if err != nil {
		return Record{}, fmt.Errorf("ledger get %s: %w", n, err)
	}
	for _, row := range rows {
		if row["id"] != n {
			continue
		}
		r, err := fromContents(row)
		if err != nil {
			return Record{}, fmt.Errorf("ledger get %s: %w", n, err)
		}
		return r, nil
	}
	return Record{}, fmt.Errorf("ledger get %s: %w", n, ErrNotFound)
}

// Query returns the records f selects, sorted by (time, id), newest first
// when f.Newest. Any row that does not decode fails the query.
func (l *Ledger) Query(ctx context.Context, f Filter) ([]Record, error) {
	q, err := f.query()
	if err != nil {
		return nil, fmt.Errorf("ledger query: %w", err)
	}
	from, to := f.Since, f.Until
	if from.IsZero() {
		from = beginningOfTime
	}
	if to.IsZero() {
		to = endOfTime
	}
	seen := map[string]bool{}
	var out []Record
	for off := 0; ; off += logstore.MaxPageLines {
		rows, err := l.store.QueryPage(ctx, l.project, l.logstore, from, to, q, logstore.Page{Lines: logstore.MaxPageLines, Offset: off, Reverse: f.Newest})
		if err != nil {
			return nil, fmt.Errorf("ledger query %q: %w", q, err)
		}
		for _, row := range rows {
			r, err := fromContents(row)
			if err != nil {
				return nil, fmt.Errorf("ledger query %q: %w", q, err)
			}
			if seen[r.ID] || !f.Match(r) {
				continue
			}
			seen[r.ID] = true
			out = append(out, r)
		}
		if len(rows) < logstore.MaxPageLines || f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	slices.SortFunc(out, f.Compare)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// TailSlack is how long before a Tail's f.Since it starts reading by receive
// time: a record is stamped with its writer's clock and received at the
// service's, so a writer up to TailSlack ahead of the service is still read.
const TailSlack = time.Minute

// Tail returns the records f selects, as Query does, among the logs the
// logstore received from f.Since-TailSlack on (or, per shard, after the
// position after), read by cursor (logstore.Store.Tail) rather than searched:
// it sees every Append that returned before it began, where Query is blind
// for the index's few seconds of delay. It also returns the position after
// what it read, so that a second Tail from there reads only what arrived
// since. f.Since is required (it bounds the read); rows whose kind or ids f
// excludes are skipped before they are decoded, and a selected row that does
// not decode fails the read.
func (l *Ledger) Tail(ctx context.Context, f Filter, after logstore.Cursors) ([]Record, logstore.Cursors, error) {
	if f.Since.IsZero() {
		return nil, nil, errors.New("ledger tail: a filter without Since would read the whole logstore")
	}
	if _, err := f.query(); err != nil {
		return nil, nil, fmt.Errorf("ledger tail: %w", err)
	}
	logs, pos, err := l.store.Tail(ctx, l.project, l.logstore, f.Since.Add(-TailSlack), after)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger tail %s/%s: %w", l.project, l.logstore, err)
	}
	seen := map[string]bool{}
	var out []Record
	for _, lg := range logs {
		c := lg.Contents
		if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, Kind(c["kind"])) ||
			f.GroupID != "" && c["groupId"] != f.GroupID || f.RuleID != "" && c["ruleId"] != f.RuleID ||
			f.EventID != "" && c["eventId"] != f.EventID {
			continue
		}
		r, err := fromContents(c)
		if err != nil {
			return nil, nil, fmt.Errorf("ledger tail: %w", err)
		}
		if seen[r.ID] || !f.Match(r) {
			continue
		}
		seen[r.ID] = true
		out = append(out, r)
	}
	slices.SortFunc(out, f.Compare)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, pos, nil
}

// SeenEvent reports whether an event record (KindEvent) with Meta.EventID ==
// eventID exists. Record and look up the same key: the trigger's DedupKey
// ("actiontrail/<eventId>" for ActionTrail events on either delivery path).
func (l *Ledger) SeenEvent(ctx context.Context, eventID string) (bool, error) {
	if eventID == "" {
		return false, errors.New("ledger seen event: empty event id")
	}
	recs, err := l.Query(ctx, Filter{Kinds: []Kind{KindEvent}, EventID: eventID, Limit: 1})
	if err != nil {
		return false, fmt.Errorf("ledger seen event %s: %w", eventID, err)
	}
	return len(recs) > 0, nil
}

// contents is the SLS form of r (see the package doc).
func (r Record) contents() map[string]string {
	return map[string]string{
		"id":       r.ID,
		"kind":     string(r.Kind),
		"v":        r.V,
		"time":     r.Time.UTC().Format(timeLayout),
		"function": r.Function,
		"groupId":  r.GroupID,
		"region":   r.Region,
		"ruleId":   r.RuleID,
		"eventId":  r.EventID,
		"body":     string(r.Body),
	}
}

// timeLayout is RFC 3339 with exactly three fractional digits.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// fromContents decodes one SLS row; SLS's own fields (__time__, __topic__,
// ...) are ignored. The version is checked first, then the kind, then the
// rest, so an old binary names a new version rather than a confusing field.
func fromContents(c map[string]string) (Record, error) {
	id := c["id"]
	v, ok := c["v"]
	if !ok || v == "" {
		return Record{}, fmt.Errorf("%w: record %q has no version", ErrMalformed, id)
	}
	if v != Version {
		return Record{}, fmt.Errorf("%w %q (record %s, kind %s): this binary reads version %s", ErrVersion, v, id, c["kind"], Version)
	}
	r := Record{ID: id, Kind: Kind(c["kind"]), V: v, Meta: Meta{
		Function: c["function"], GroupID: c["groupId"], Region: c["region"], RuleID: c["ruleId"], EventID: c["eventId"],
	}}
	if !r.Kind.known() {
		return Record{}, fmt.Errorf("%w %q (record %s)", ErrUnknownKind, r.Kind, id)
	}
	n, err := NormalizeID(id)
	if err != nil || n != id {
		return Record{}, fmt.Errorf("%w: %s record with invalid id %q", ErrMalformed, r.Kind, id)
	}
	t, err := time.Parse(time.RFC3339Nano, c["time"])
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s %s: time %q", ErrMalformed, r.Kind, id, c["time"])
	}
	r.Time = t.UTC()
	body := strings.TrimSpace(c["body"])
	if !strings.HasPrefix(body, "{") || !json.Valid([]byte(body)) {
		return Record{}, fmt.Errorf("%w: %s %s: body is not a JSON object", ErrMalformed, r.Kind, id)
	}
	r.Body = json.RawMessage(body)
	if err := r.validate(false); err != nil {
		return Record{}, err
	}
	return r, nil
}

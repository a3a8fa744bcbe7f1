package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/logstore"
)

// Mem is an in-memory ledger with the methods and contract of a
// ledger.Ledger. It is safe for concurrent use; the zero value is empty.
type Mem struct {
	// Err, when set, fails every call with it: the ledger is down. Set it
	// between calls.
	Err error
	// BeforeAppend, when set, runs once, at the start of the next Append and
	// outside the lock: e.g. to let a concurrent writer in between a
	// caller's read and its write.
	BeforeAppend func()

	mu   sync.Mutex
	recs []ledger.Record
}

// Append validates recs and adds them all, or none.
func (m *Mem) Append(_ context.Context, recs ...ledger.Record) error {
	m.mu.Lock()
	hook := m.BeforeAppend
	m.BeforeAppend = nil
	m.mu.Unlock()
	if hook != nil {
		hook()
	}
	if len(recs) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("ledger append: %w", err)
		}
	}
	m.recs = append(m.recs, recs...)
	return nil
}

// Get returns the record with the given id (typed forms are normalized), or
// ledger.ErrNotFound.
func (m *Mem) Get(_ context.Context, id string) (ledger.Record, error) {
	n, err := ledger.NormalizeID(id)
	if err != nil {
		return ledger.Record{}, fmt.Errorf("ledger get: %w", err)
	}
	if _, err := ledger.IDTime(n); err != nil {
		return ledger.Record{}, fmt.Errorf("ledger get: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return ledger.Record{}, m.Err
	}
	for _, r := range m.recs {
		if r.ID == n {
			return r, nil
		}
	}
	return ledger.Record{}, fmt.Errorf("ledger get %s: %w", n, ledger.ErrNotFound)
}

// Query returns the records f selects, each once, in f's order.
func (m *Mem) Query(_ context.Context, f ledger.Filter) ([]ledger.Record, error) {
	for _, k := range f.Kinds {
		if !slices.Contains(ledger.Kinds, k) {
			return nil, fmt.Errorf("ledger query: %w %q in filter", ledger.ErrUnknownKind, k)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	seen := map[string]bool{}
	var out []ledger.Record
	for _, r := range m.recs {
		if !seen[r.ID] && f.Match(r) {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	slices.SortFunc(out, f.Compare)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Tail is Query by position, as ledger.Ledger.Tail: the records f selects
// among those appended after the position after (all, when after is nil),
// and the position after the last record appended. Mem has no receive time:
// the read is bounded by f.Since (required) alone.
func (m *Mem) Tail(ctx context.Context, f ledger.Filter, after logstore.Cursors) ([]ledger.Record, logstore.Cursors, error) {
	if f.Since.IsZero() {
		return nil, nil, errors.New("ledger tail: a filter without Since would read the whole logstore")
	}
	from := 0
	if c, ok := after[0]; ok {
		n, err := strconv.Atoi(c)
		if err != nil {
			return nil, nil, fmt.Errorf("ledger tail: cursor %q: %w", c, err)
		}
		from = n
	}
	m.mu.Lock()
	end := len(m.recs)
	fail := m.Err
	m.mu.Unlock()
	if fail != nil {
		return nil, nil, fail
	}
	tail := &Mem{recs: m.Records()[min(from, end):end]}
	recs, err := tail.Query(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	return recs, logstore.Cursors{0: strconv.Itoa(end)}, nil
}

// SeenEvent reports whether an event record with the given event id exists.
func (m *Mem) SeenEvent(ctx context.Context, eventID string) (bool, error) {
	if eventID == "" {
		return false, errors.New("ledger seen event: empty event id")
	}
	recs, err := m.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindEvent}, EventID: eventID, Limit: 1})
	if err != nil {
		return false, fmt.Errorf("ledger seen event %s: %w", eventID, err)
	}
	return len(recs) > 0, nil
}

// Records returns every record appended so far, in append order.
func (m *Mem) Records() []ledger.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.recs)
}

// Count returns how many records of the kind were appended.
func (m *Mem) Count(kind ledger.Kind) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.recs {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

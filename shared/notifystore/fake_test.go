package notifystore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/porthygiene/porthygiene/shared/ledger"
)

// fakeLedger is an in-memory ledger with the real one's contract: Append
// validates and is all-or-none; Query matches exactly, sorts by (time, id),
// honours Newest and Limit. It is linearizable (one mutex), which is what the
// budget's re-check relies on.
type fakeLedger struct {
	mu      sync.Mutex
	recs    []ledger.Record
	queries int
	failing error // when set, every call fails with it
}

func (f *fakeLedger) Append(_ context.Context, recs ...ledger.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failing != nil {
		return f.failing
	}
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			return err
		}
	}
	f.recs = append(f.recs, recs...)
	return nil
}

func (f *fakeLedger) Query(_ context.Context, flt ledger.Filter) ([]ledger.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if f.failing != nil {
		return nil, f.failing
	}
	var out []ledger.Record
	for _, r := range f.recs {
		if (len(flt.Kinds) == 0 || slices.Contains(flt.Kinds, r.Kind)) &&
			(flt.GroupID == "" || r.GroupID == flt.GroupID) &&
			(flt.RuleID == "" || r.RuleID == flt.RuleID) &&
			(flt.EventID == "" || r.EventID == flt.EventID) &&
			(flt.Since.IsZero() || !r.Time.Before(flt.Since)) &&
			(flt.Until.IsZero() || r.Time.Before(flt.Until)) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b ledger.Record) int {
		c := a.Time.Compare(b.Time)
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if flt.Newest {
			c = -c
		}
		return c
	})
	if flt.Limit > 0 && len(out) > flt.Limit {
		out = out[:flt.Limit]
	}
	return out, nil
}

func (f *fakeLedger) count(kind ledger.Kind) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.recs {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

var errDown = errors.New("ledger down")

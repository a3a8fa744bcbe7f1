package ledger_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/vclock"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/logstore"
)

// tailer is what a Ledger and ledgertest.Mem both are, for Tail.
type tailer interface {
	store
	Tail(ctx context.Context, f ledger.Filter, after logstore.Cursors) ([]ledger.Record, logstore.Cursors, error)
}

func TestTailSeesWritesTheIndexDoesNotYet(t *testing.T) {
	// SLS's index lags writes by seconds; a cursor does not. On a ledger
	// whose index delay is 3 s, what was just appended is not found by
	// Query but is read by Tail, and a Tail from the returned position reads
	// only what arrived since.
	now := time.Now().UTC().Truncate(time.Millisecond)
	clock := vclock.New(now)
	lc := ledgertest.OnLocalcloudWith(t, ledgertest.Options{Clock: clock, IndexDelay: 3 * time.Second})
	testTail(t, lc.Ledger, now, true)
	t.Run("Mem", func(t *testing.T) { testTail(t, &ledgertest.Mem{}, now, false) })
}

func testTail(t *testing.T, s tailer, now time.Time, lagging bool) {
	ctx := t.Context()
	old := ledger.NewEvent(meta(now.Add(-2*time.Hour), "sg-1", "", "ev-old"), ledger.Event{Source: "timer", EventName: "sweep", Outcome: "handled"})
	require.NoError(t, s.Append(ctx, old))
	a := ledger.NewEvent(meta(now, "sg-1", "", "ev-a"), ledger.Event{Source: "timer", EventName: "sweep", Outcome: "handled"})
	b := ledger.NewEvent(meta(now, "sg-2", "", "ev-b"), ledger.Event{Source: "timer", EventName: "sweep", Outcome: "handled"})
	require.NoError(t, s.Append(ctx, a, b))

	f := ledger.Filter{Kinds: []ledger.Kind{ledger.KindEvent}, Since: now.Add(-time.Minute)}
	if lagging {
		got, err := s.Query(ctx, f)
		require.NoError(t, err)
		require.Empty(t, got, "inside the index delay a search finds nothing")
	}
	got, pos, err := s.Tail(ctx, f, nil)
	require.NoError(t, err)
	both := []string{a.ID, b.ID}
	slices.Sort(both) // same time: by id
	require.Equal(t, both, idsOf(got), "both, sorted; the record older than Since is not selected")
	got, _, err = s.Tail(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindEvent}, EventID: "ev-b", Since: now.Add(-time.Minute)}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{b.ID}, idsOf(got))

	c := ledger.NewEvent(meta(now.Add(time.Second), "sg-3", "", "ev-c"), ledger.Event{Source: "timer", EventName: "sweep", Outcome: "handled"})
	require.NoError(t, s.Append(ctx, c, a)) // a written twice is read once
	got, pos2, err := s.Tail(ctx, f, pos)
	require.NoError(t, err)
	require.Equal(t, []string{a.ID, c.ID}, idsOf(got), "only what arrived after pos")
	got, _, err = s.Tail(ctx, f, pos2)
	require.NoError(t, err)
	require.Empty(t, got)

	_, _, err = s.Tail(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindEvent}}, nil)
	require.Error(t, err, "a tail needs Since")
}

func idsOf(recs []ledger.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

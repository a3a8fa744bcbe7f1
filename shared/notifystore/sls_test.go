package notifystore_test

// Integration tests: the Store on a real ledger (the real SLS SDK via
// shared/slsapi) served by localcloud's SLS emulator.

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/notifystore"
)

func TestSLSOutboxAndDelivered(t *testing.T) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	l := ledgertest.OnLocalcloud(t).Ledger
	c := &manualClock{t: now}
	a, b := newStore(l, c), newStore(l, c) // two warm instances

	var items []notify.Pending
	for i := range 12 {
		items = append(items, pending(fmt.Sprintf("actiontrail/EV-%02d", i), now.Add(time.Duration(i)*time.Millisecond), 0))
	}
	require.NoError(t, a.Put(ctx, items))
	got, err := b.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, got, 12, "another instance sees the outbox")
	require.Equal(t, items[0].ID(), got[0].ID())

	require.NoError(t, b.Mark(ctx, ids(items[:10])))
	require.NoError(t, b.Done(ctx, ids(items[:10])))
	got, err = a.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, ids(items[10:]), ids(got))

	seen, err := a.Seen(ctx, ids(items[:3]))
	require.NoError(t, err)
	require.Len(t, seen, 3)
	seen, err = a.Seen(ctx, ids(items))
	require.NoError(t, err)
	require.Len(t, seen, 10)
	require.False(t, seen[items[11].ID()])
}

func TestSLSBudgetTwoWarmInstances(t *testing.T) {
	// Two instances, taking in turn every 2 seconds over 3 minutes of the
	// caller's clock, never grant more than 15 in any minute.
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	l := ledgertest.OnLocalcloud(t).Ledger
	stores := []*notifystore.Store{newStore(l, &manualClock{t: now}), newStore(l, &manualClock{t: now})}
	var kept []time.Time
	for i := range 90 {
		at := now.Add(time.Duration(i) * 2 * time.Second)
		g, err := stores[i%2].Take(ctx, "ops", 1+i%3, at)
		require.NoError(t, err)
		for range g {
			kept = append(kept, at)
		}
	}
	requireWithinLimit(t, kept, notify.DefaultLimit)
	require.GreaterOrEqual(t, len(kept), 3*notify.DefaultLimit-notify.DefaultLimit)

	require.NoError(t, stores[0].Penalize(ctx, "ops", now.Add(20*time.Minute)))
	g, err := stores[1].Take(ctx, "ops", 1, now.Add(10*time.Minute))
	require.NoError(t, err)
	require.Zero(t, g, "the other instance honours the penalty")
}

func TestSLSNotifierOnTheStore(t *testing.T) {
	// The real notifier on the ledger-backed store: a robot answering 130101
	// silences it for every instance; events wait in the outbox and arrive
	// once, later, through another instance.
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	l := ledgertest.OnLocalcloud(t).Ledger
	var tooFast atomic.Bool
	var got atomic.Int64
	tooFast.Store(true)
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if tooFast.Load() {
			fmt.Fprint(w, `{"errcode":130101,"errmsg":"send too fast"}`)
			return
		}
		got.Add(1)
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(robot.Close)
	robots := []notify.Robot{{Name: "ops", Webhook: notify.Secret(robot.URL + "/robot/send?access_token=tok"), Secret: "SECs", Keyword: "porthygiene"}}
	// Instances stamp records with one wall clock that moves (a frozen clock
	// per instance would order one instance's Done before another's Put).
	wall := &tickingClock{t: now}
	newNotifier := func() *notify.Notifier {
		s := notifystore.New(l, notifystore.Options{Now: wall.Now, Logger: slog.New(slog.DiscardHandler)})
		n, err := notify.New(notify.Options{Robots: robots, Outbox: s, Delivered: s, Budget: s, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		return n
	}
	events := []notify.Event{
		{ID: "ev-1", Kind: notify.KindExposureRevoked, GroupID: "sg-1", Ports: []notify.PortRange{{From: 22, To: 22}}, Action: "revoked"},
		{ID: "ev-2", Kind: notify.KindExposureRevoked, GroupID: "sg-1", Ports: []notify.PortRange{{From: 3389, To: 3389}}, Action: "revoked"},
	}
	rep, err := newNotifier().Notify(ctx, now, events)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Failed)

	tooFast.Store(false)
	rep, err = newNotifier().Flush(ctx, now.Add(5*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 0, rep.Sent, "silenced for 10 minutes")
	require.Zero(t, got.Load())

	rep, err = newNotifier().Flush(ctx, now.Add(11*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 2, rep.Sent)
	require.EqualValues(t, 1, got.Load(), "one digest")

	rep, err = newNotifier().Notify(ctx, now.Add(12*time.Minute), events)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Duplicates, "shown once")
	require.EqualValues(t, 1, got.Load())
	pend, err := newStore(l, &manualClock{t: wall.Now()}).Pending(ctx)
	require.NoError(t, err)
	require.Empty(t, pend)
}

// tickingClock advances a millisecond at every reading.
type tickingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

package notifystore_test

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/notifystore"
)

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

var errDown = errors.New("ledger down")

// manualClock is a clock the test moves.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newStore(l notifystore.Ledger, c *manualClock) *notifystore.Store {
	return notifystore.New(l, notifystore.Options{Function: "test", Now: c.Now, Logger: slog.New(slog.DiscardHandler)})
}

func pending(id string, queued time.Time, attempts int) notify.Pending {
	return notify.Pending{
		Event:    notify.Event{ID: id, Kind: notify.KindExposureRevoked, GroupID: "sg-1", Region: "cn-hangzhou", Ports: []notify.PortRange{{From: 22, To: 22}}},
		Queued:   queued,
		Attempts: attempts,
	}
}

func ids(ps []notify.Pending) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID())
	}
	return out
}

func TestOutbox(t *testing.T) {
	ctx := t.Context()
	l := &ledgertest.Mem{}
	c := &manualClock{t: t0}
	s := newStore(l, c)

	require.NoError(t, s.Put(ctx, []notify.Pending{pending("b", t0.Add(time.Second), 0), pending("a", t0, 0), pending("c", t0.Add(2*time.Second), 0)}))
	got, err := s.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, ids(got), "oldest Queued first")
	require.Equal(t, []notify.PortRange{{From: 22, To: 22}}, got[0].Event.Ports, "the event survives the round trip")

	// Latest wins: a failed attempt is recorded with a NotBefore.
	retry := pending("b", t0.Add(time.Second), 1)
	retry.NotBefore = t0.Add(time.Minute)
	retry.LastError = "server: 503"
	require.NoError(t, s.Put(ctx, []notify.Pending{retry}))
	got, err = s.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, 1, got[1].Attempts)
	require.Equal(t, t0.Add(time.Minute), got[1].NotBefore.UTC())
	require.Equal(t, "server: 503", got[1].LastError)

	// Done removes; unknown ids are ignored; idempotent.
	require.NoError(t, s.Done(ctx, []string{"a", "zz", "a"}))
	require.NoError(t, s.Done(ctx, []string{"a"}))
	got, err = s.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"b", "c"}, ids(got))

	// A later Put of a done id queues it again (the notifier's dedup then
	// drops it if it was delivered).
	require.NoError(t, s.Put(ctx, []notify.Pending{pending("a", t0, 0)}))
	got, err = s.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, ids(got))
}

func TestOutboxOrderWithinOneMillisecond(t *testing.T) {
	// The clock does not move: Put, Put, Done, Put, Done must still apply in
	// order.
	ctx := t.Context()
	l := &ledgertest.Mem{}
	s := newStore(l, &manualClock{t: t0})
	for i := range 20 {
		require.NoError(t, s.Put(ctx, []notify.Pending{pending("x", t0, i)}))
		require.NoError(t, s.Put(ctx, []notify.Pending{pending("x", t0, i+1)}))
		got, err := s.Pending(ctx)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, i+1, got[0].Attempts, "the later Put wins")
		require.NoError(t, s.Done(ctx, []string{"x"}))
		got, err = s.Pending(ctx)
		require.NoError(t, err)
		require.Empty(t, got, "the tombstone wins")
	}
}

func TestOutboxNeverAgesOut(t *testing.T) {
	ctx := t.Context()
	l := &ledgertest.Mem{}
	c := &manualClock{t: t0}
	s := newStore(l, c)
	require.NoError(t, s.Put(ctx, []notify.Pending{pending("old", t0, 3)}))
	for range 6 { // 6 × 5 days, far beyond the 14-day window
		c.Add(5 * 24 * time.Hour)
		got, err := s.Pending(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{"old"}, ids(got))
		require.Equal(t, 3, got[0].Attempts)
	}
}

func TestOutboxSkipsForeignAndBrokenRecords(t *testing.T) {
	ctx := t.Context()
	l := &ledgertest.Mem{}
	s := newStore(l, &manualClock{t: t0})
	m := ledger.Meta{Time: t0, Function: "other"}
	// A message-shaped outbox record (no pending body) and one whose pending
	// body names another event.
	m2 := m
	m2.EventID = "e-2"
	require.NoError(t, l.Append(ctx,
		ledger.NewOutbox(m, ledger.Outbox{Robot: "ops", Title: "digest", Markdown: "### x"}),
		ledger.NewOutbox(m2, ledger.Outbox{Robot: "ops", Pending: []byte(`{"event":{"id":"e-3","kind":"error"},"queued":"2026-05-01T10:00:00Z"}`)}),
	))
	require.NoError(t, s.Put(ctx, []notify.Pending{pending("e-1", t0, 0)}))
	got, err := s.Pending(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"e-1"}, ids(got))
}

func TestOutboxErrors(t *testing.T) {
	ctx := t.Context()
	l := &ledgertest.Mem{Err: errDown}
	s := newStore(l, &manualClock{t: t0})
	require.ErrorIs(t, s.Put(ctx, []notify.Pending{pending("a", t0, 0)}), errDown)
	require.ErrorIs(t, s.Done(ctx, []string{"a"}), errDown)
	_, err := s.Pending(ctx)
	require.ErrorIs(t, err, errDown)
	require.Error(t, newStore(&ledgertest.Mem{}, &manualClock{t: t0}).Put(ctx, []notify.Pending{{Queued: t0}}), "an event without an id")
}

func TestDelivered(t *testing.T) {
	for _, n := range []int{3, 40} { // looked up one by one; one scan
		t.Run(fmt.Sprintf("Ids%d", n), func(t *testing.T) {
			ctx := t.Context()
			l := &ledgertest.Mem{}
			c := &manualClock{t: t0}
			s := newStore(l, c)
			var all, marked []string
			for i := range n {
				id := fmt.Sprintf("ev-%02d", i)
				all = append(all, id)
				if i%2 == 0 {
					marked = append(marked, id)
				}
			}
			// Budget reservations and penalties are notification records too;
			// they must not count as deliveries.
			_, err := s.Take(ctx, "ops", 2, t0)
			require.NoError(t, err)
			require.NoError(t, s.Mark(ctx, marked))
			require.NoError(t, s.Mark(ctx, marked[:1]), "idempotent")
			c.Add(6 * 24 * time.Hour)
			seen, err := s.Seen(ctx, append(all, notifystore.BudgetKey("ops")))
			require.NoError(t, err)
			require.Len(t, seen, len(marked))
			for _, id := range marked {
				require.True(t, seen[id], id)
			}
			c.Add(2 * 24 * time.Hour)
			seen, err = s.Seen(ctx, all)
			require.NoError(t, err)
			require.Empty(t, seen, "beyond the 7-day window")
		})
	}
}

func TestDeliveredErrors(t *testing.T) {
	s := newStore(&ledgertest.Mem{Err: errDown}, &manualClock{t: t0})
	_, err := s.Seen(t.Context(), []string{"a"})
	require.ErrorIs(t, err, errDown)
	require.ErrorIs(t, s.Mark(t.Context(), []string{"a"}), errDown)
	seen, err := s.Seen(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, seen)
}

func TestBudgetSlidingMinute(t *testing.T) {
	ctx := t.Context()
	l := &ledgertest.Mem{}
	s := newStore(l, &manualClock{t: t0})
	take := func(robot string, n int, at time.Time) int {
		t.Helper()
		g, err := s.Take(ctx, robot, n, at)
		require.NoError(t, err)
		return g
	}
	require.Equal(t, 10, take("ops", 10, t0))
	require.Equal(t, 5, take("ops", 10, t0.Add(30*time.Second)), "15 a minute")
	require.Equal(t, 0, take("ops", 1, t0.Add(59*time.Second)))
	require.Equal(t, 15, take("web", 20, t0.Add(59*time.Second)), "per robot")
	require.Equal(t, 10, take("ops", 12, t0.Add(60*time.Second)), "the first 10 left the window")
	require.Equal(t, 0, take("ops", 1, t0.Add(89*time.Second)))
	require.Equal(t, 5, take("ops", 5, t0.Add(90*time.Second)))
	require.Equal(t, 0, take("ops", 0, t0.Add(time.Hour)))
	// A clock that went back still sees the later grants.
	require.Equal(t, 0, take("ops", 1, t0.Add(45*time.Second)))
}

func TestBudgetPenalty(t *testing.T) {
	ctx := t.Context()
	l := &ledgertest.Mem{}
	s := newStore(l, &manualClock{t: t0})
	require.NoError(t, s.Penalize(ctx, "ops", t0.Add(10*time.Minute)))
	require.NoError(t, s.Penalize(ctx, "ops", t0.Add(5*time.Minute)), "a shorter penalty does not shorten it")
	// Another instance honours it.
	other := newStore(l, &manualClock{t: t0})
	for _, at := range []time.Duration{0, time.Minute, 9*time.Minute + 59*time.Second} {
		g, err := other.Take(ctx, "ops", 3, t0.Add(at))
		require.NoError(t, err)
		require.Zero(t, g, "silenced at +%s", at)
	}
	g, err := other.Take(ctx, "web", 3, t0)
	require.NoError(t, err)
	require.Equal(t, 3, g, "only that robot")
	g, err = other.Take(ctx, "ops", 3, t0.Add(10*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 3, g, "the penalty is over")
}

func TestBudgetErrors(t *testing.T) {
	l := &ledgertest.Mem{Err: errDown}
	s := newStore(l, &manualClock{t: t0})
	g, err := s.Take(t.Context(), "ops", 3, t0)
	require.ErrorIs(t, err, errDown)
	require.Zero(t, g)
	require.ErrorIs(t, s.Penalize(t.Context(), "ops", t0.Add(time.Minute)), errDown)
}

// grantsPerMinute checks the reservations that were kept: at most limit in any
// window (now-1m, now] at each grant. kept holds the times of kept grants.
func requireWithinLimit(t *testing.T, kept []time.Time, limit int) {
	t.Helper()
	for _, at := range kept {
		n := 0
		for _, g := range kept {
			if !g.After(at) && at.Sub(g) < time.Minute {
				n++
			}
		}
		require.LessOrEqual(t, n, limit, "grants in the minute ending %s", at)
	}
}

func TestBudgetTwoWarmInstancesSequential(t *testing.T) {
	// Two instances share the ledger and take in turn, every 3 seconds for 5
	// minutes, asking for 1–4 sends each time.
	ctx := t.Context()
	l := &ledgertest.Mem{}
	a := newStore(l, &manualClock{t: t0})
	b := newStore(l, &manualClock{t: t0})
	var kept []time.Time
	total := 0
	for i := range 100 {
		at := t0.Add(time.Duration(i) * 3 * time.Second)
		s := a
		if i%2 == 1 {
			s = b
		}
		g, err := s.Take(ctx, "ops", 1+i%4, at)
		require.NoError(t, err)
		for range g {
			kept = append(kept, at)
		}
		total += g
	}
	requireWithinLimit(t, kept, notify.DefaultLimit)
	require.GreaterOrEqual(t, total, 5*notify.DefaultLimit-notify.DefaultLimit, "the budget is used, not starved")
}

func TestBudgetConcurrentInstances(t *testing.T) {
	// Eight instances take at once, many times, on a linearizable ledger:
	// the re-check keeps what stands within the limit.
	ctx := t.Context()
	l := &ledgertest.Mem{}
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		s := newStore(l, &manualClock{t: t0})
		wg.Go(func() {
			for j := range 10 {
				g, err := s.Take(ctx, "ops", 1+(i+j)%5, t0.Add(time.Duration(j)*time.Second))
				require.NoError(t, err)
				granted.Add(int64(g))
			}
		})
	}
	wg.Wait()
	require.LessOrEqual(t, granted.Load(), int64(notify.DefaultLimit), "all within one minute")
	require.Positive(t, granted.Load())
}

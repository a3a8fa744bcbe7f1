package notifystore_test

// Integration tests: the Store on a real ledger (the real SLS SDK via
// shared/slsapi) served by localcloud's SLS emulator.

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/dingtalk"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/vclock"

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
	// caller's clock, never grant more than 15 in any minute — with SLS's
	// index delay on, so that every reservation is read back before the
	// index has it.
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	clock := &manualClock{t: now}
	l := ledgertest.OnLocalcloudWith(t, ledgertest.Options{Clock: clock, IndexDelay: 3 * time.Second}).Ledger
	stores := []*notifystore.Store{newStore(l, clock), newStore(l, clock)}
	var kept []time.Time
	for i := range 90 {
		at := now.Add(time.Duration(i) * 2 * time.Second)
		clock.Set(at)
		g, err := stores[i%2].Take(ctx, "ops", 1+i%3, at)
		require.NoError(t, err)
		for range g {
			kept = append(kept, at)
		}
	}
	requireWithinLimit(t, kept, notify.DefaultLimit)
	require.GreaterOrEqual(t, len(kept), 3*notify.DefaultLimit-notify.DefaultLimit)

	clock.Set(now.Add(3 * time.Minute))
	require.NoError(t, stores[0].Penalize(ctx, "ops", now.Add(20*time.Minute)))
	g, err := stores[1].Take(ctx, "ops", 1, now.Add(3*time.Minute))
	require.NoError(t, err)
	require.Zero(t, g, "the other instance honours the penalty at once, inside the index delay")
	clock.Set(now.Add(10 * time.Minute))
	g, err = stores[1].Take(ctx, "ops", 1, now.Add(10*time.Minute))
	require.NoError(t, err)
	require.Zero(t, g, "and later, from the index")
}

func TestSLSTwoInstancesInsideTheIndexDelayStayUnderDingTalksLimit(t *testing.T) {
	// Issue 11: 30 findings reach two warm instances at the same instant, on
	// a ledger whose index lags writes by 3 s (real SLS) and against
	// localcloud's DingTalk sink (20 a minute per robot, then 130101 and 10
	// minutes of silence). Every finding is its own message (30 teams), all to
	// one robot. Searching the ledger, both instances saw no reservation and
	// spent the budget twice (30 messages in one minute: 130101). Read by
	// cursor, the robot never gets more than the budget in a minute, the sink
	// never answers 130101, and every finding arrives once, the rest from the
	// outbox.
	ctx := t.Context()
	clock := vclock.New(time.Now().UTC().Truncate(time.Second))
	sink, instance := instancesOnASink(t, clock, nil, 3)
	events := findings(30)
	var wg sync.WaitGroup
	for k := range 2 {
		n := instance()
		wg.Go(func() {
			_, err := n.Notify(ctx, clock.Now(), events[k*15:(k+1)*15])
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	require.LessOrEqual(t, len(sink.Messages("ops")), notify.DefaultLimit, "the first minute")

	for minute := 1; minute <= 10 && len(sink.Messages("ops")) < len(events); minute++ {
		clock.Advance(time.Minute)
		_, err := instance().Flush(ctx, clock.Now())
		require.NoError(t, err)
	}
	for _, a := range sink.Attempts() {
		require.NotEqual(t, dingtalk.CodeSendTooFast, a.ErrCode, "DingTalk never silences the robot")
	}
	msgs := sink.Messages("ops")
	shown := map[string]int{}
	for i, m := range msgs {
		inWindow := 0
		for j := i; j < len(msgs) && msgs[j].Time.Sub(m.Time) < time.Minute; j++ {
			inWindow++
		}
		require.LessOrEqual(t, inWindow, notify.DefaultLimit, "messages in the minute from %s", m.Time)
		for _, e := range events {
			if strings.Contains(m.Text, e.GroupID) {
				shown[e.ID]++
			}
		}
	}
	for _, e := range events {
		require.Equal(t, 1, shown[e.ID], "finding %s reaches DingTalk once", e.ID)
	}
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

func TestSLSTwoFlushersAfterAnOutageSendEachEventOnce(t *testing.T) {
	// The robot is down while 12 findings are notified: they wait in the
	// outbox. It comes back, and two instances flush the outbox at the same
	// moment, inside SLS's index delay, minute after minute. Without claims
	// both loaded the same waiting events and both sent them (the chaos run
	// saw every revocation of an outage shown twice). With them each event
	// reaches DingTalk once, and all within a few minutes of the robot's
	// return.
	ctx := t.Context()
	clock := vclock.New(time.Now().UTC().Truncate(time.Second))
	fs := &faults.Set{}
	sink, instance := instancesOnASink(t, clock, fs, 2)
	events := findings(12)
	fs.Replace(faults.Config{DingTalkDown: true})
	for minute := range 12 { // a 12-minute outage, one finding a minute, retried by every run
		_, _ = instance().Notify(ctx, clock.Now(), events[minute:minute+1])
		clock.Advance(time.Minute)
	}
	require.Empty(t, sink.Messages("ops"))
	fs.Replace(faults.Config{})
	back := clock.Now()

	for minute := 0; minute <= 6; minute++ {
		var wg sync.WaitGroup
		for range 2 {
			n := instance()
			wg.Go(func() {
				_, err := n.Flush(ctx, clock.Now())
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		clock.Advance(time.Minute)
	}
	shown := map[string]int{}
	for _, m := range sink.Messages("ops") {
		require.LessOrEqual(t, m.Time.Sub(back), 5*time.Minute, "sent more than 5 minutes after the robot came back")
		for _, e := range events {
			if strings.Contains(m.Text, e.GroupID+"`") || strings.Contains(m.Text, e.GroupID+" ") {
				shown[e.ID]++
			}
		}
	}
	for _, e := range events {
		require.Equal(t, 1, shown[e.ID], "finding %s reaches DingTalk once", e.ID)
	}
}

// instancesOnASink is a ledger on localcloud's SLS with its 3 s index delay
// and a DingTalk sink with robot "ops" (faults from fs, if set), both on
// clock, and a constructor of notifier instances that share them, each with
// a Store of its own, as warm FC instances do.
func instancesOnASink(t *testing.T, clock *vclock.Clock, fs *faults.Set, attempts int) (*dingtalk.Sink, func() *notify.Notifier) {
	t.Helper()
	l := ledgertest.OnLocalcloudWith(t, ledgertest.Options{Clock: clock, IndexDelay: 3 * time.Second}).Ledger
	sink := dingtalk.New(dingtalk.Config{Clock: clock, Faults: fs})
	sink.AddRobot(dingtalk.Robot{Name: "ops", AccessToken: "tok-ops", Keywords: []string{"porthygiene"}})
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	robots := []notify.Robot{{Name: "ops", Webhook: notify.Secret(srv.URL + "/robot/send?access_token=tok-ops"), Keyword: "porthygiene"}}
	return sink, func() *notify.Notifier {
		s := notifystore.New(l, notifystore.Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
		n, err := notify.New(notify.Options{Robots: robots, Outbox: s, Delivered: s, Budget: s, Logger: slog.New(slog.DiscardHandler),
			Sender: &notify.Sender{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, MaxAttempts: attempts}})
		require.NoError(t, err)
		return n
	}
}

// findings are n revocations of one team each.
func findings(n int) []notify.Event {
	var events []notify.Event
	for i := range n {
		events = append(events, notify.Event{
			ID: fmt.Sprintf("ev-%02d", i), Kind: notify.KindExposureRevoked, GroupID: fmt.Sprintf("sg-%02d", i),
			Ports: []notify.PortRange{{From: 22, To: 22}}, Action: "revoked", Owner: notify.Owner{Team: fmt.Sprintf("team-%02d", i)},
		})
	}
	return events
}

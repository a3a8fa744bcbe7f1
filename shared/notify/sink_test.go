package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/dingtalk"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
	"github.com/porthygiene/porthygiene/shared/notify"
)

const (
	opsToken  = "ops-token-7f3a9c1e5b"
	opsSecret = "SECops-signing-secret-4d2b8a"
	webToken  = "web-token-c0ffee1234"
)

var start = time.Date(2026, 5, 1, 2, 0, 0, 0, time.UTC)

// lockedBuffer collects log output from concurrent notifiers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// world is localcloud's DingTalk sink behind a loopback server, plus the
// shared state (outbox, delivered ids, budget) every notifier instance uses.
type world struct {
	clock     *vclock.Clock
	faults    *faults.Set
	sink      *dingtalk.Sink
	srv       *httptest.Server
	outbox    *notify.MemOutbox
	delivered *notify.MemDelivered
	budget    *notify.MemBudget
	logs      *lockedBuffer
	robots    []notify.Robot
}

func newWorld(t *testing.T, sinkCfg dingtalk.Config) *world {
	w := &world{clock: vclock.New(start), faults: &faults.Set{}, outbox: &notify.MemOutbox{},
		delivered: &notify.MemDelivered{}, budget: &notify.MemBudget{}, logs: &lockedBuffer{}}
	sinkCfg.Clock, sinkCfg.Faults = w.clock, w.faults
	w.sink = dingtalk.New(sinkCfg)
	w.sink.AddRobot(dingtalk.Robot{Name: "ops", AccessToken: opsToken, Secret: opsSecret, Keywords: []string{"porthygiene"}})
	w.sink.AddRobot(dingtalk.Robot{Name: "web", AccessToken: webToken, Keywords: []string{"安全组"}})
	w.srv = httptest.NewServer(w.sink)
	t.Cleanup(w.srv.Close)
	w.robots = []notify.Robot{
		{Name: "ops", Webhook: notify.Secret(w.srv.URL + "/robot/send?access_token=" + opsToken), Secret: opsSecret, Keyword: "porthygiene"},
		{Name: "web", Webhook: notify.Secret(w.srv.URL + "/robot/send?access_token=" + webToken), Keyword: "安全组"},
	}
	return w
}

// instance is one FC instance: its own Notifier over the shared state.
func (w *world) instance(t *testing.T) *notify.Notifier {
	t.Helper()
	n, err := notify.New(notify.Options{
		Robots: w.robots, Outbox: w.outbox, Delivered: w.delivered, Budget: w.budget,
		Sender: &notify.Sender{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, MaxAttempts: 3},
		Logger: slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	return n
}

var idRE = regexp.MustCompile("`(ev-[0-9]+)`")

// shown counts how often each event id appears in the messages the sink accepted.
func (w *world) shown() map[string]int {
	out := map[string]int{}
	for _, m := range w.sink.Messages("") {
		for _, match := range idRE.FindAllStringSubmatch(m.Text, -1) {
			out[match[1]]++
		}
	}
	return out
}

func (w *world) attempts(code int) int {
	n := 0
	for _, a := range w.sink.Attempts() {
		if a.ErrCode == code && a.HTTPStatus == http.StatusOK {
			n++
		}
	}
	return n
}

func (w *world) pendingIDs(t *testing.T) map[string]bool {
	ps, err := w.outbox.Pending(t.Context())
	require.NoError(t, err)
	out := map[string]bool{}
	for _, p := range ps {
		out[p.ID()] = true
	}
	return out
}

// flushUntilEmpty runs Flush once a virtual minute until the outbox is empty.
func (w *world) flushUntilEmpty(t *testing.T, n *notify.Notifier, maxMinutes int) int {
	t.Helper()
	for minute := 1; minute <= maxMinutes; minute++ {
		w.clock.Advance(time.Minute)
		_, err := n.Flush(t.Context(), w.clock.Now())
		require.NoError(t, err)
		if w.outbox.Len() == 0 {
			return minute
		}
	}
	t.Fatalf("outbox still holds %d events after %d minutes", w.outbox.Len(), maxMinutes)
	return 0
}

func event(i int) notify.Event {
	e := notify.Event{
		ID: fmt.Sprintf("ev-%04d", i), Kind: notify.KindExposureRevoked, Severity: notify.SeverityCritical,
		Region: "cn-hangzhou", GroupID: fmt.Sprintf("sg-bp1%05d", i%11), GroupName: "app", RuleID: fmt.Sprintf("sgr-%06d", i),
		Direction: "ingress", Protocol: "tcp", Ports: []notify.PortRange{{From: 22, To: 22}}, Services: []string{"ssh"},
		Source: "0.0.0.0/0", Actor: notify.Actor{Type: "ram-user", UserName: "deployer", AccessKeyID: "LTAI5tDEPLOYKEY000000000", SourceIP: "198.51.100.9"},
		EventTime: start.Add(-time.Duration(300-i) * time.Second), Action: "revoked",
		UndoCommand: fmt.Sprintf("porthygiene restore --id L%06d", i), LedgerID: fmt.Sprintf("L%06d", i),
	}
	return e
}

func TestSignatureVerifiedBySink(t *testing.T) {
	w := newWorld(t, dingtalk.Config{})
	e := event(1)
	e.Buttons = []notify.Button{{Title: "保留 30 天", URL: "http://127.0.0.1:8600/http/approve/keep?sig=x"}}
	rep, err := w.instance(t).Notify(t.Context(), w.clock.Now(), []notify.Event{e})
	require.NoError(t, err)
	require.Equal(t, notify.Report{Sent: 1, Messages: 1}, rep)
	msgs := w.sink.Messages("ops")
	require.Len(t, msgs, 1, "attempts: %+v", w.sink.Attempts())
	require.Equal(t, "actionCard", msgs[0].MsgType)
	require.Equal(t, e.Buttons[0].URL, msgs[0].Buttons[0].ActionURL)

	// The same robot with another secret: the sink refuses the signature.
	w.sink.AddRobot(dingtalk.Robot{Name: "ops", AccessToken: opsToken, Secret: "SECsomething-else"})
	rep, err = w.instance(t).Notify(t.Context(), w.clock.Now(), []notify.Event{event(2)})
	require.NoError(t, err, "a failed send is kept, not lost")
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, notify.ReasonSecurity, rep.Errors[0].Reason)
	require.Equal(t, notify.CodeSecurity, rep.Errors[0].Code)
	require.False(t, rep.Errors[0].Retryable)
	require.Equal(t, 1, rep.Errors[0].Attempts, "permanent: no retry")
	require.True(t, w.pendingIDs(t)["ev-0002"])
}

// TestADecisionClockAheadIsNeverRefused: the sink checks timestamps against
// the real time, as DingTalk does. Runs whose decision time is a month
// ahead (localcloud's virtual clock) or in 2099 still sign at the wall
// clock, so no message is refused for its timestamp; the decision time is
// what the budget is charged at.
func TestADecisionClockAheadIsNeverRefused(t *testing.T) {
	w := newWorld(t, dingtalk.Config{}) // Wall nil: the sink checks the system clock
	for i, now := range []time.Time{time.Now().Add(30 * 24 * time.Hour), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)} {
		rep, err := w.instance(t).Notify(t.Context(), now, []notify.Event{event(i + 1)})
		require.NoError(t, err)
		require.Equal(t, notify.Report{Sent: 1, Messages: 1}, rep, "decided at %v: %+v", now, rep.Errors)
	}
	require.Zero(t, w.attempts(dingtalk.CodeSecurity), "no message refused: %+v", w.sink.Attempts())
	require.Len(t, w.sink.Messages("ops"), 2)
	granted, err := w.budget.Take(t.Context(), "ops", 100, time.Date(2099, 1, 1, 0, 0, 30, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, notify.DefaultLimit-1, granted, "the 2099 run's message was charged to the budget at 2099")

	// What is signed is Options.Wall: a wall clock two hours off is refused.
	n, err := notify.New(notify.Options{Robots: w.robots, Outbox: w.outbox, Delivered: w.delivered, Budget: &notify.MemBudget{},
		Logger: slog.New(slog.DiscardHandler), Wall: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	require.NoError(t, err)
	rep, err := n.Notify(t.Context(), time.Now(), []notify.Event{event(9)})
	require.NoError(t, err)
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, notify.ReasonSecurity, rep.Errors[0].Reason)
	require.Equal(t, 1, w.attempts(dingtalk.CodeSecurity))
}

func TestBurstOf300StaysWithinBudget(t *testing.T) {
	w := newWorld(t, dingtalk.Config{})
	var events []notify.Event
	for i := range 300 {
		e := event(i)
		switch {
		case i < 120: // one big team: its digest is split
			e.Owner = notify.Owner{Team: "platform"}
		case i%3 == 0:
			e.Owner = notify.Owner{Team: fmt.Sprintf("web-%d", i%8), Robot: "web", AtMobiles: []string{fmt.Sprintf("1380000000%d", i%8)}}
		default:
			e.Owner = notify.Owner{Team: fmt.Sprintf("team-%d", i%17)}
		}
		events = append(events, e)
	}

	// An IaC apply: three FC instances notify a third each, at once.
	var wg sync.WaitGroup
	reports := make([]notify.Report, 3)
	for k := range 3 {
		n := w.instance(t)
		wg.Go(func() {
			var err error
			reports[k], err = n.Notify(t.Context(), w.clock.Now(), events[k*100:(k+1)*100])
			require.NoError(t, err)
		})
	}
	wg.Wait()

	require.Zero(t, w.attempts(notify.CodeTooFast))
	shown, pending := w.shown(), w.pendingIDs(t)
	sent := 0
	for _, r := range reports {
		sent += r.Sent
		require.Zero(t, r.Failed)
	}
	require.Equal(t, sent, len(shown))
	require.Positive(t, len(pending), "300 findings do not fit one minute")
	for _, e := range events {
		require.Equal(t, 1, shown[e.ID]+map[bool]int{true: 1}[pending[e.ID]], "event %s: shown %d, pending %v", e.ID, shown[e.ID], pending[e.ID])
	}
	for _, robot := range []string{"ops", "web"} {
		require.LessOrEqual(t, len(w.sink.Messages(robot)), notify.DefaultLimit)
	}

	minutes := w.flushUntilEmpty(t, w.instance(t), 30)
	t.Logf("drained in %d more minute(s); %d messages", minutes, len(w.sink.Messages("")))
	require.Zero(t, w.attempts(notify.CodeTooFast))
	shown = w.shown()
	require.Len(t, shown, 300)
	for id, n := range shown {
		require.Equal(t, 1, n, "event %s shown %d times", id, n)
	}
	// At most 15 a sliding minute per robot, measured by the sink's clock.
	for _, robot := range []string{"ops", "web"} {
		msgs := w.sink.Messages(robot)
		for i := range msgs {
			inWindow := 0
			for j := i; j < len(msgs) && msgs[j].Time.Sub(msgs[i].Time) < time.Minute; j++ {
				inWindow++
			}
			require.LessOrEqual(t, inWindow, notify.DefaultLimit)
		}
		for _, m := range msgs {
			require.Less(t, len(m.Raw), notify.BodyLimit)
		}
	}

	// A redelivery of the same findings shows nothing new.
	rep, err := w.instance(t).Notify(t.Context(), w.clock.Now(), events[:50])
	require.NoError(t, err)
	require.Equal(t, notify.Report{Duplicates: 50}, rep)
}

func TestSinkDownForAnHourThenUp(t *testing.T) {
	w := newWorld(t, dingtalk.Config{})
	var events []notify.Event
	for i := range 40 {
		e := event(i)
		e.Owner.Team = fmt.Sprintf("team-%d", i%20) // 20 messages: more than one minute's budget
		events = append(events, e)
	}
	w.faults.Replace(faults.Config{DingTalkDown: true})
	n := w.instance(t)
	rep, err := n.Notify(t.Context(), w.clock.Now(), events)
	require.NoError(t, err)
	require.Zero(t, rep.Sent)
	require.Equal(t, 40, rep.Failed+rep.Deferred)
	require.Equal(t, notify.ReasonServer, rep.Errors[0].Reason)
	require.Equal(t, 3, rep.Errors[0].Attempts, "retried within the invocation")
	require.Equal(t, 40, w.outbox.Len())

	for range 60 {
		w.clock.Advance(time.Minute)
		_, err := n.Flush(t.Context(), w.clock.Now())
		require.NoError(t, err)
	}
	require.Empty(t, w.sink.Messages(""))
	require.Equal(t, 40, w.outbox.Len(), "an hour down loses nothing")
	down := len(w.sink.Attempts())
	require.Less(t, down, 200, "a failing robot is not hammered")

	w.faults.Replace(faults.Config{})
	w.flushUntilEmpty(t, n, 15)
	shown := w.shown()
	require.Len(t, shown, 40)
	for id, c := range shown {
		require.Equal(t, 1, c, "event %s", id)
	}
	require.Zero(t, w.attempts(notify.CodeTooFast))
}

func TestRateLimitedRobotIsLeftAloneForThePenalty(t *testing.T) {
	// A sink stricter than DingTalk (2 a minute) answers 130101 on the third.
	w := newWorld(t, dingtalk.Config{Limit: 2})
	var events []notify.Event
	for i := range 4 {
		e := event(i)
		e.Owner.Team = fmt.Sprintf("team-%d", i)
		events = append(events, e)
	}
	n := w.instance(t)
	rep, err := n.Notify(t.Context(), w.clock.Now(), events)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Sent)
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, 1, rep.Deferred)
	require.Equal(t, notify.ReasonRateLimited, rep.Errors[0].Reason)
	require.True(t, rep.Errors[0].Retryable)
	require.Equal(t, 1, rep.Errors[0].Attempts, "130101 is not retried at once")

	for range 9 {
		w.clock.Advance(time.Minute)
		rep, err := n.Flush(t.Context(), w.clock.Now())
		require.NoError(t, err)
		require.Zero(t, rep.Messages, "silenced robot: nothing sent during the penalty")
	}
	require.Equal(t, 1, w.attempts(notify.CodeTooFast))
	w.flushUntilEmpty(t, n, 10)
	require.Len(t, w.shown(), 4)
	require.Equal(t, 1, w.attempts(notify.CodeTooFast), "one 130101 in all")
}

// failingOutbox cannot be written.
type failingOutbox struct{ notify.MemOutbox }

func (*failingOutbox) Put(context.Context, []notify.Pending) error {
	return errors.New("ledger unavailable")
}

func TestUnsavedEventsAreAnError(t *testing.T) {
	w := newWorld(t, dingtalk.Config{})
	n, err := notify.New(notify.Options{Robots: w.robots, Outbox: &failingOutbox{}, Delivered: w.delivered, Budget: w.budget,
		Sender: &notify.Sender{MinBackoff: time.Millisecond, MaxAttempts: 1}, Logger: slog.New(slog.NewTextHandler(w.logs, nil))})
	require.NoError(t, err)

	rep, err := n.Notify(t.Context(), w.clock.Now(), []notify.Event{event(1)})
	require.NoError(t, err, "sent: nothing to lose")
	require.Equal(t, 1, rep.Sent)

	w.faults.Replace(faults.Config{DingTalkDown: true})
	_, err = n.Notify(t.Context(), w.clock.Now(), []notify.Event{event(2)})
	require.ErrorIs(t, err, notify.ErrUnsaved)
}

func TestSecretsNeverLeak(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := closed.Addr().String()
	require.NoError(t, closed.Close())

	w := newWorld(t, dingtalk.Config{})
	for name, tc := range map[string]struct {
		setup  func(r *notify.Robot)
		down   bool
		reason notify.Reason
		code   int
	}{
		"BadToken": {setup: func(r *notify.Robot) {
			r.Webhook = notify.Secret(w.srv.URL + "/robot/send?access_token=" + opsToken + "x")
		}, reason: notify.ReasonAuth, code: notify.CodeTokenInvalid},
		"Unavailable": {down: true, reason: notify.ReasonServer},
		"WrongSecret": {setup: func(r *notify.Robot) { r.Secret = opsSecret + "x" }, reason: notify.ReasonSecurity, code: notify.CodeSecurity},
		"TransportError": {setup: func(r *notify.Robot) {
			r.Webhook = notify.Secret("http://" + deadAddr + "/robot/send?access_token=" + opsToken)
		}, reason: notify.ReasonTransport},
	} {
		t.Run(name, func(t *testing.T) {
			robot := w.robots[0]
			if tc.setup != nil {
				tc.setup(&robot)
			}
			w.faults.Replace(faults.Config{DingTalkDown: tc.down})
			defer w.faults.Replace(faults.Config{})

			var logs bytes.Buffer
			outbox := &notify.MemOutbox{}
			n, err := notify.New(notify.Options{
				Robots: []notify.Robot{robot}, Outbox: outbox, Delivered: &notify.MemDelivered{}, Budget: &notify.MemBudget{},
				Sender: &notify.Sender{MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxAttempts: 2},
				Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			require.NoError(t, err)
			rep, err := n.Notify(t.Context(), w.clock.Now(), []notify.Event{event(1)})
			require.NoError(t, err)
			require.Len(t, rep.Errors, 1)
			se := rep.Errors[0]
			require.Equal(t, tc.reason, se.Reason, "%v", se)
			require.Equal(t, tc.code, se.Code)

			// Direct use of the Sender fails the same way, with the same hygiene.
			direct := (&notify.Sender{MinBackoff: time.Millisecond, MaxAttempts: 1}).Send(t.Context(), robot, []byte(`{"msgtype":"text","text":{"content":"porthygiene"}}`), time.Now)
			require.Error(t, direct)

			pending, err := outbox.Pending(t.Context())
			require.NoError(t, err)
			require.Len(t, pending, 1)
			var everything []string
			everything = append(everything, logs.String(), se.Error(), fmt.Sprintf("%+v|%#v|%v", se, se, se.Err), pending[0].LastError,
				direct.Error(), fmt.Sprintf("%+v|%#v", direct, direct), fmt.Sprint(robot), fmt.Sprintf("%#v", robot))
			for e := errors.Unwrap(direct); e != nil; e = errors.Unwrap(e) {
				everything = append(everything, e.Error())
			}
			for _, s := range everything {
				for _, secret := range []string{opsToken, opsSecret, url.QueryEscape(opsSecret)} {
					require.NotContains(t, s, secret)
				}
			}
			require.Contains(t, logs.String(), string(tc.reason), "the failure is logged")
		})
	}
}

func TestSenderRetriesEndBeforeTheDeadline(t *testing.T) {
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	robot := notify.Robot{Name: "r", Webhook: notify.Secret(srv.URL + "/robot/send?access_token=" + opsToken), Keyword: "k"}
	ctx, cancel := context.WithTimeout(t.Context(), 600*time.Millisecond)
	defer cancel()
	began := time.Now()
	s := &notify.Sender{MinBackoff: 10 * time.Millisecond, MaxBackoff: 80 * time.Millisecond, MaxAttempts: 1000, Reserve: 150 * time.Millisecond}
	err := s.Send(ctx, robot, []byte(`{}`), time.Now)
	var se *notify.SendError
	require.ErrorAs(t, err, &se)
	require.True(t, se.Retryable)
	require.Equal(t, http.StatusBadGateway, se.HTTPStatus)
	require.Greater(t, se.Attempts, 2)
	require.Less(t, time.Since(began), 600*time.Millisecond, "retries stop before the deadline")
	require.NoError(t, ctx.Err())
	mu.Lock()
	require.Equal(t, se.Attempts, calls)
	mu.Unlock()
}

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrUnsaved wraps the error of a Notify or Flush after which some events were
// neither delivered nor saved in the outbox: the caller must fail its
// invocation so that the platform retries it.
var ErrUnsaved = errors.New("events neither delivered nor saved in the outbox")

// Options configures a Notifier.
type Options struct {
	Robots    []Robot   // required; the first is the default robot
	Lang      Lang      // zero: LangZH
	MaxBytes  int       // per message body; 0: DefaultMaxBytes
	Outbox    Outbox    // required
	Delivered Delivered // required
	Budget    Budget    // required
	Sender    *Sender   // nil: a zero Sender
	Logger    *slog.Logger
	// FallbackBudget is how many messages per robot a run may send when the
	// Budget cannot be read; 0 means 1.
	FallbackBudget int
	// Wall is the clock requests are signed at; nil: time.Now. DingTalk
	// checks a signed request's timestamp against its own, real clock (within
	// an hour) whatever time the function decides at, so signing never uses
	// the decision clock: a decision clock ahead (localcloud's virtual clock)
	// must not get messages refused.
	Wall func() time.Time
	// Grace is how old an outbox record must be before a run other than the
	// one that queued it sends it, so that concurrent invocations do not send
	// each other's fresh events. 0: DefaultGrace; negative: none.
	Grace time.Duration
}

// DefaultGrace is the default Options.Grace: a budget window, after which
// deferred events are due anyway.
const DefaultGrace = time.Minute

// Notifier carries events to DingTalk robots; see the package doc for its
// stages and guarantees. It holds no state between calls (all of it is in
// Outbox, Delivered and Budget) and is safe for concurrent use.
type Notifier struct {
	o  Options
	rd redactor
}

// New validates o and returns a Notifier.
func New(o Options) (*Notifier, error) {
	if err := validateRobots(o.Robots); err != nil {
		return nil, err
	}
	if o.Outbox == nil || o.Delivered == nil || o.Budget == nil {
		return nil, errors.New("notify: Outbox, Delivered and Budget are required")
	}
	if o.Sender == nil {
		o.Sender = &Sender{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FallbackBudget <= 0 {
		o.FallbackBudget = 1
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.Wall == nil {
		o.Wall = time.Now
	}
	o.Lang = o.Lang.orDefault()
	return &Notifier{o: o, rd: newRedactor(o.Robots)}, nil
}

// Report says what one Notify or Flush did, counted in events.
type Report struct {
	Sent       int          // events shown by this run
	Messages   int          // messages DingTalk accepted in this run
	Deferred   int          // events left in the outbox untried: over budget, backing off, robot failing, ctx ended
	Failed     int          // events whose message failed in this run; kept in the outbox
	Duplicates int          // events dropped: already delivered, or repeated
	Errors     []*SendError // one per failed message, redacted
	// NextDue is when the earliest event left in the outbox may be tried
	// again (zero when none is left): when a flush is worth running.
	NextDue time.Time
}

// Notify delivers events, together with whatever the outbox holds that is
// due, oldest first and within each robot's budget; the rest stays in the
// outbox. now is the invocation's time: it stamps outbox records and is
// charged to the budget. Requests are signed at the wall clock
// (Options.Wall), never at now.
// The error is non-nil (wrapping ErrUnsaved) only when some event may be
// lost; failed sends are in the Report, and their events in the outbox.
func (n *Notifier) Notify(ctx context.Context, now time.Time, events []Event) (Report, error) {
	r := &run{now: now, clock: n.o.Wall, incoming: events, byID: map[string]*item{}, down: map[string]bool{}}
	err := n.pipeline().exec(ctx, r)
	r.tally()
	n.o.Logger.LogAttrs(ctx, slog.LevelInfo, "notify run",
		slog.Int("sent", r.report.Sent), slog.Int("messages", r.report.Messages),
		slog.Int("deferred", r.report.Deferred), slog.Int("failed", r.report.Failed),
		slog.Int("duplicates", r.report.Duplicates))
	return r.report, err
}

// Flush sends what the outbox holds and is due, oldest first, within budget.
// Every function calls it (or Notify) on every invocation.
func (n *Notifier) Flush(ctx context.Context, now time.Time) (Report, error) {
	return n.Notify(ctx, now, nil)
}

// pipeline is the whole notifier, in order. Each stage reads and narrows the
// run; only a stage that cannot go on without risking loss returns an error.
func (n *Notifier) pipeline() stage {
	return multiStage{
		{"load", stageFunc(n.load)},       // outbox records that are due + the new events
		{"dedup", stageFunc(n.dedup)},     // drop what was already delivered
		{"persist", stageFunc(n.persist)}, // write-ahead: new events into the outbox
		{"claim", stageFunc(n.claim)},     // events from the outbox: only those no other run is sending
		{"route", stageFunc(n.route)},     // owner's robot, else the default
		{"batch", stageFunc(n.batch)},     // digests under the body limit
		{"budget", stageFunc(n.budget)},   // per-robot allowance; the rest waits
		{"send", stageFunc(n.send)},       // send with retry; failures back into the outbox
		{"settle", stageFunc(n.settle)},   // anything unsent and unsaved: save again or report
	}
}

// stage is one step of the pipeline.
type stage interface {
	exec(ctx context.Context, r *run) error
}

type stageFunc func(ctx context.Context, r *run) error

func (f stageFunc) exec(ctx context.Context, r *run) error { return f(ctx, r) }

type namedStage struct {
	name string
	stage
}

// multiStage runs stages in order and stops at the first error.
type multiStage []namedStage

func (m multiStage) exec(ctx context.Context, r *run) error {
	for _, s := range m {
		if err := s.exec(ctx, r); err != nil {
			return fmt.Errorf("notify %s: %w", s.name, err)
		}
	}
	return nil
}

type state int

const (
	stateNew state = iota
	stateDuplicate
	stateSent
	stateFailed
	stateClaimed // another run claimed it: it stays in the outbox
)

type item struct {
	p      Pending
	routed Event // p.Event with Owner.Robot set to the robot it goes to
	saved  bool  // in the outbox (loaded from it, or persisted)
	stored bool  // loaded from the outbox (not an event of this run)
	state  state
}

// run is the state one Notify threads through the stages.
type run struct {
	now      time.Time
	clock    func() time.Time // signs requests: Options.Wall
	incoming []Event
	items    []*item // due, oldest first
	byID     map[string]*item
	notDue   int
	repeats  int
	msgs     []Message
	down     map[string]bool // robots that failed robot-wide in this run
	report   Report
	grace    time.Duration
}

// due notes that an event left in the outbox may be tried at t.
func (r *run) due(t time.Time) {
	if r.report.NextDue.IsZero() || t.Before(r.report.NextDue) {
		r.report.NextDue = t
	}
}

func (r *run) active() []*item {
	var out []*item
	for _, it := range r.items {
		if it.state == stateNew {
			out = append(out, it)
		}
	}
	return out
}

func (r *run) tally() {
	r.report.Deferred += r.notDue
	r.report.Duplicates += r.repeats
	for _, it := range r.items {
		switch it.state {
		case stateNew:
			r.report.Deferred++
			// Over budget, or its robot failing: the budget's window, or
			// the other runs' grace, has passed by then.
			r.due(r.now.Add(max(time.Minute, r.grace)))
		case stateDuplicate:
			r.report.Duplicates++
		case stateSent:
			r.report.Sent++
		case stateFailed:
			r.report.Failed++
			r.due(it.p.NotBefore)
		case stateClaimed:
			r.report.Deferred++
			// If its claimer died, the claim has lapsed by then.
			r.due(r.now.Add(ClaimLease))
		}
	}
}

func (n *Notifier) load(ctx context.Context, r *run) error {
	stored, err := n.o.Outbox.Pending(ctx)
	if err != nil {
		n.o.Logger.WarnContext(ctx, "notify: read outbox; sending new events only", "err", n.rd.Error(err))
	}
	waiting := map[string]bool{}
	for _, p := range stored {
		if p.NotBefore.After(r.now) || p.Queued.After(r.now.Add(-max(n.o.Grace, 0))) {
			waiting[p.ID()] = true
			r.notDue++
			r.due(maxTime(p.NotBefore, p.Queued.Add(max(n.o.Grace, 0))))
			continue
		}
		it := &item{p: p, saved: true, stored: true}
		r.items = append(r.items, it)
		r.byID[p.ID()] = it
	}
	for _, e := range r.incoming {
		e = e.withID()
		if r.byID[e.ID] != nil || waiting[e.ID] {
			r.repeats++
			continue
		}
		it := &item{p: Pending{Event: e, Queued: r.now}}
		r.items = append(r.items, it)
		r.byID[e.ID] = it
	}
	return nil
}

func (n *Notifier) dedup(ctx context.Context, r *run) error {
	ids := ids(r.active())
	if len(ids) == 0 {
		return nil
	}
	seen, err := n.o.Delivered.Seen(ctx, ids)
	if err != nil {
		n.o.Logger.WarnContext(ctx, "notify: read delivered ids; a repeat may be shown twice", "err", n.rd.Error(err))
		return nil
	}
	var done []string
	for _, id := range ids {
		if it := r.byID[id]; seen[id] {
			it.state = stateDuplicate
			if it.saved {
				done = append(done, id)
			}
		}
	}
	if len(done) > 0 {
		if err := n.o.Outbox.Done(ctx, done); err != nil {
			n.o.Logger.WarnContext(ctx, "notify: drop delivered ids from the outbox", "err", n.rd.Error(err))
		}
	}
	return nil
}

func (n *Notifier) persist(ctx context.Context, r *run) error {
	var fresh []*item
	for _, it := range r.active() {
		if !it.saved {
			fresh = append(fresh, it)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := n.o.Outbox.Put(ctx, pendings(fresh)); err != nil {
		n.o.Logger.ErrorContext(ctx, "notify: save new events in the outbox; sending anyway", "events", len(fresh), "err", n.rd.Error(err))
		return nil
	}
	for _, it := range fresh {
		it.saved = true
	}
	return nil
}

// claim keeps, of the events loaded from the outbox, those no other run is
// sending (Claimer). Without a Claimer, or when the claim cannot be read,
// they are sent: a repeat is better than silence.
func (n *Notifier) claim(ctx context.Context, r *run) error {
	c, ok := n.o.Outbox.(Claimer)
	if !ok {
		return nil
	}
	var stored []string
	for _, it := range r.active() {
		if it.stored {
			stored = append(stored, it.p.ID())
		}
	}
	if len(stored) == 0 {
		return nil
	}
	won, err := c.Claim(ctx, stored, r.now)
	if err != nil {
		n.o.Logger.WarnContext(ctx, "notify: claim outbox events; sending them, a concurrent run may repeat one", "events", len(stored), "err", n.rd.Error(err))
		return nil
	}
	lost := 0
	for _, id := range stored {
		if !won[id] {
			r.byID[id].state = stateClaimed
			lost++
		}
	}
	if lost > 0 {
		n.o.Logger.InfoContext(ctx, "notify: outbox events another run is sending; left to it", "events", lost)
	}
	return nil
}

func (n *Notifier) route(ctx context.Context, r *run) error {
	for _, it := range r.active() {
		rb, ok := route(n.o.Robots, it.p.Event)
		if !ok {
			n.o.Logger.WarnContext(ctx, "notify: robot not configured; using the default", "robot", it.p.Event.Owner.Robot, "event", it.p.ID())
		}
		it.routed = it.p.Event
		it.routed.Owner.Robot = rb.Name
	}
	return nil
}

func (n *Notifier) batch(_ context.Context, r *run) error {
	var evs []Event
	for _, it := range r.active() {
		evs = append(evs, it.routed)
	}
	r.msgs = Plan(evs, n.o.Robots, n.o.Lang, n.o.MaxBytes)
	return nil
}

func (n *Notifier) budget(ctx context.Context, r *run) error {
	want := map[string]int{}
	var order []string
	for _, m := range r.msgs {
		if want[m.Robot] == 0 {
			order = append(order, m.Robot)
		}
		want[m.Robot]++
	}
	granted := map[string]int{}
	for _, robot := range order {
		g, err := n.o.Budget.Take(ctx, robot, want[robot], r.now)
		if err != nil {
			g = min(want[robot], n.o.FallbackBudget)
			n.o.Logger.WarnContext(ctx, "notify: read budget; sending the fallback allowance", "robot", robot, "allowance", g, "err", n.rd.Error(err))
		}
		granted[robot] = g
		if g < want[robot] {
			n.o.Logger.InfoContext(ctx, "notify: over budget; the rest waits in the outbox", "robot", robot, "messages", want[robot], "granted", g)
		}
	}
	kept := r.msgs[:0]
	for _, m := range r.msgs {
		if granted[m.Robot] > 0 {
			granted[m.Robot]--
			kept = append(kept, m)
		}
	}
	r.msgs = kept
	return nil
}

func (n *Notifier) send(ctx context.Context, r *run) error {
	robots := map[string]Robot{}
	for _, rb := range n.o.Robots {
		robots[rb.Name] = rb
	}
	var retry []*item
	skip := make([]bool, len(r.msgs))
	for i, m := range r.msgs {
		if skip[i] || ctx.Err() != nil || r.down[m.Robot] {
			continue // stays in the outbox, untried
		}
		rb := robots[m.Robot]
		// A retry spends budget: first the grant of this robot's last
		// message not yet tried (which then waits), else a fresh unit.
		mayRetry := func() bool {
			for j := len(r.msgs) - 1; j > i; j-- {
				if r.msgs[j].Robot == m.Robot && !skip[j] {
					skip[j] = true
					return true
				}
			}
			g, err := n.o.Budget.Take(ctx, m.Robot, 1, r.now)
			return err == nil && g == 1
		}
		err := n.o.Sender.send(ctx, rb, m.Body, r.clock, n.rd, mayRetry)
		if err == nil {
			n.delivered(ctx, r, m)
			continue
		}
		var se *SendError
		if !errors.As(err, &se) {
			se = &SendError{Robot: rb.Name, Reason: ReasonUnknown, Err: n.rd.Error(err)}
		}
		r.report.Errors = append(r.report.Errors, se)
		n.o.Logger.WarnContext(ctx, "notify: message failed; its events stay in the outbox",
			"robot", rb.Name, "events", len(m.EventIDs), "reason", string(se.Reason), "code", se.Code, "http", se.HTTPStatus, "err", se)
		next := nextTry(r.now, se)
		for _, id := range m.EventIDs {
			it := r.byID[id]
			it.state = stateFailed
			it.p.Attempts++
			it.p.NotBefore = next(it.p.Attempts)
			it.p.LastError = se.Error()
			retry = append(retry, it)
		}
		if se.Reason == ReasonRateLimited {
			if p, ok := n.o.Budget.(Penalizer); ok {
				if err := p.Penalize(ctx, rb.Name, r.now.Add(DefaultPenalty)); err != nil {
					n.o.Logger.WarnContext(ctx, "notify: record robot penalty", "robot", rb.Name, "err", n.rd.Error(err))
				}
			}
		}
		if se.Reason.robotWide() {
			r.down[m.Robot] = true
		}
	}
	if len(retry) > 0 {
		if err := n.o.Outbox.Put(context.WithoutCancel(ctx), pendings(retry)); err != nil {
			n.o.Logger.WarnContext(ctx, "notify: record failed attempts in the outbox", "events", len(retry), "err", n.rd.Error(err))
		} else {
			for _, it := range retry {
				it.saved = true
			}
		}
	}
	return nil
}

// delivered records a sent message: mark its events delivered (so no repeat
// is shown), then clear them from the outbox.
func (n *Notifier) delivered(ctx context.Context, r *run, m Message) {
	r.report.Messages++
	var saved []string
	for _, id := range m.EventIDs {
		it := r.byID[id]
		it.state = stateSent
		if it.saved {
			saved = append(saved, id)
		}
	}
	n.o.Logger.InfoContext(ctx, "notify: message sent", "robot", m.Robot, "type", m.Type, "events", len(m.EventIDs), "bytes", len(m.Body))
	// The message is out: record it even if the invocation's ctx just ended.
	ctx = context.WithoutCancel(ctx)
	if err := n.o.Delivered.Mark(ctx, m.EventIDs); err != nil {
		n.o.Logger.WarnContext(ctx, "notify: mark events delivered; a repeat may be shown twice", "err", n.rd.Error(err))
	}
	if len(saved) > 0 {
		if err := n.o.Outbox.Done(ctx, saved); err != nil {
			n.o.Logger.WarnContext(ctx, "notify: clear sent events from the outbox", "err", n.rd.Error(err))
		}
	}
}

func (n *Notifier) settle(ctx context.Context, r *run) error {
	var unsaved []*item
	for _, it := range r.items {
		if !it.saved && (it.state == stateNew || it.state == stateFailed) {
			unsaved = append(unsaved, it)
		}
	}
	if len(unsaved) == 0 {
		return nil
	}
	// The write-ahead failed for these: one more try, then report.
	if err := n.o.Outbox.Put(context.WithoutCancel(ctx), pendings(unsaved)); err != nil {
		return fmt.Errorf("%w: %d event(s): %w", ErrUnsaved, len(unsaved), n.rd.Error(err))
	}
	return nil
}

// nextTry returns when a failed event may be tried again, given its attempt
// count: after the 10-minute silence for 130101; in 1, 2, 3, 3 … minutes for
// other retryable failures (MaxRetryBackoff: once the robot answers again,
// what waited reaches people within a few minutes, however long the outage
// was — the chaos run holds it to five); in 10 minutes doubling up to 6 hours
// for permanent ones (a fixed configuration then delivers them).
// MaxRetryBackoff is the longest wait before a retryable failure (the robot
// down, a 5xx, a timeout) is tried again.
const MaxRetryBackoff = 3 * time.Minute

func nextTry(now time.Time, se *SendError) func(attempts int) time.Time {
	return func(attempts int) time.Time {
		shift := min(max(attempts-1, 0), 10)
		switch {
		case se.Reason == ReasonRateLimited:
			return now.Add(DefaultPenalty)
		case se.Retryable:
			return now.Add(min(time.Minute<<shift, MaxRetryBackoff))
		}
		return now.Add(min(10*time.Minute<<shift, 6*time.Hour))
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func ids(items []*item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.p.ID()
	}
	return out
}

func pendings(items []*item) []Pending {
	out := make([]Pending, len(items))
	for i, it := range items {
		out[i] = it.p
	}
	return out
}

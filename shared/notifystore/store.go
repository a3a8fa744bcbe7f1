package notifystore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/logstore"
	"github.com/porthygiene/porthygiene/shared/notify"
)

// Ledger is what a Store needs of *ledger.Ledger.
type Ledger interface {
	// Append writes recs, all or none.
	Append(ctx context.Context, recs ...ledger.Record) error
	// Query returns the records f selects, sorted by (time, id).
	Query(ctx context.Context, f ledger.Filter) ([]ledger.Record, error)
	// Tail is Query by cursor: it sees every Append at once (the budget
	// reads its reservations with it; see ledger.Ledger.Tail).
	Tail(ctx context.Context, f ledger.Filter, after logstore.Cursors) ([]ledger.Record, logstore.Cursors, error)
}

var _ Ledger = (*ledger.Ledger)(nil)

// Defaults of Options.
const (
	DefaultFunction        = "notify"
	DefaultDeliveredWindow = 7 * 24 * time.Hour
	DefaultOutboxWindow    = 14 * 24 * time.Hour
)

// Status values of the notification records a Store writes.
const (
	StatusSent      = "sent"      // Delivered.Mark
	StatusReserved  = "reserved"  // Budget.Take, one per granted send
	StatusPenalized = "penalized" // Penalize
	StatusClaimed   = "claimed"   // Claim, one per outbox event a run is about to send
)

// noRobot is the robot field of records whose robot the caller does not name.
const noRobot = "-"

// maxPerIDQueries is the most ids Seen looks up one by one (by the indexed
// eventId); more are answered from one scan of the window.
const maxPerIDQueries = 8

// Append limits: SLS takes at most 4096 logs and a few MB per PutLogs.
const (
	maxRecordsPerAppend = 256
	maxBytesPerAppend   = 2 << 20
)

// penaltyLookups is how many of a robot's latest penalty records Take reads.
const penaltyLookups = 10

// Options configure a Store. The zero value is ready.
type Options struct {
	// Function is Meta.Function of the records; "": DefaultFunction.
	Function string
	// Limit is the sends a robot is granted per Window; 0: notify.DefaultLimit.
	Limit int
	// Window is the budget's sliding window; 0: notify.DefaultWindow.
	Window time.Duration
	// DeliveredWindow is how far back Seen looks; 0: DefaultDeliveredWindow.
	DeliveredWindow time.Duration
	// OutboxWindow is how far back Pending looks; 0: DefaultOutboxWindow.
	OutboxWindow time.Duration
	// Now stamps outbox, mark and penalty records and places the windows of
	// Pending and Seen; nil: time.Now. (Take uses the caller's now.)
	Now func() time.Time
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// Store is the notifier's state in the ledger. It is safe for concurrent use
// and holds nothing but the last stamp it gave, so many Stores (one per warm
// instance) can share one ledger.
type Store struct {
	l Ledger
	o Options

	mu   sync.Mutex
	last time.Time
}

var (
	_ notify.Outbox    = (*Store)(nil)
	_ notify.Delivered = (*Store)(nil)
	_ notify.Budget    = (*Store)(nil)
	_ notify.Penalizer = (*Store)(nil)
	_ notify.Claimer   = (*Store)(nil)
)

// New returns a Store over l.
func New(l Ledger, o Options) *Store {
	if o.Function == "" {
		o.Function = DefaultFunction
	}
	if o.Limit <= 0 {
		o.Limit = notify.DefaultLimit
	}
	if o.Window <= 0 {
		o.Window = notify.DefaultWindow
	}
	if o.DeliveredWindow <= 0 {
		o.DeliveredWindow = DefaultDeliveredWindow
	}
	if o.OutboxWindow <= 0 {
		o.OutboxWindow = DefaultOutboxWindow
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Store{l: l, o: o}
}

// stamp returns the time of a record this Store writes: the clock, but
// strictly after the previous stamp, so that this Store's writes keep their
// order even within one millisecond.
func (s *Store) stamp() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.o.Now().UTC().Truncate(time.Millisecond)
	if !t.After(s.last) {
		t = s.last.Add(time.Millisecond)
	}
	s.last = t
	return t
}

func (s *Store) meta(t time.Time, eventID string) ledger.Meta {
	return ledger.Meta{Time: t, Function: s.o.Function, EventID: eventID}
}

// appendAll writes recs in as few Appends as the service's limits allow.
func (s *Store) appendAll(ctx context.Context, recs []ledger.Record) error {
	for len(recs) > 0 {
		n, size := 0, 0
		for n < len(recs) && n < maxRecordsPerAppend && (n == 0 || size+len(recs[n].Body) < maxBytesPerAppend) {
			size += len(recs[n].Body)
			n++
		}
		if err := s.l.Append(ctx, recs[:n]...); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// ---- Outbox ----

// Put implements notify.Outbox: one outbox record per item.
func (s *Store) Put(ctx context.Context, items []notify.Pending) error {
	if len(items) == 0 {
		return nil
	}
	t := s.stamp()
	recs := make([]ledger.Record, 0, len(items))
	for _, p := range items {
		r, err := s.outboxRecord(t, p)
		if err != nil {
			return err
		}
		recs = append(recs, r)
	}
	if err := s.appendAll(ctx, recs); err != nil {
		return fmt.Errorf("outbox put %d event(s): %w", len(items), err)
	}
	return nil
}

func (s *Store) outboxRecord(t time.Time, p notify.Pending) (ledger.Record, error) {
	if p.ID() == "" {
		return ledger.Record{}, fmt.Errorf("outbox put: an event without an id (kind %s, group %s)", p.Event.Kind, p.Event.GroupID)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return ledger.Record{}, fmt.Errorf("outbox put %s: %w", p.ID(), err)
	}
	m := s.meta(t, p.ID())
	m.GroupID, m.Region, m.RuleID = p.Event.GroupID, p.Event.Region, p.Event.RuleID
	robot := cmp.Or(p.Event.Owner.Robot, noRobot)
	return ledger.NewOutbox(m, ledger.Outbox{Robot: robot, Title: string(p.Event.Kind), Pending: b}), nil
}

// Done implements notify.Outbox: one tombstone per id.
func (s *Store) Done(ctx context.Context, ids []string) error {
	return s.appendPerID(ctx, ids, "outbox done", func(m ledger.Meta) ledger.Record {
		return ledger.NewOutbox(m, ledger.Outbox{Robot: noRobot, Title: "done", Done: true})
	})
}

// appendPerID appends one record per distinct id, all stamped alike.
func (s *Store) appendPerID(ctx context.Context, ids []string, what string, rec func(ledger.Meta) ledger.Record) error {
	ids = unique(ids)
	if len(ids) == 0 {
		return nil
	}
	t := s.stamp()
	recs := make([]ledger.Record, len(ids))
	for i, id := range ids {
		recs[i] = rec(s.meta(t, id))
	}
	if err := s.appendAll(ctx, recs); err != nil {
		return fmt.Errorf("%s %d id(s): %w", what, len(ids), err)
	}
	return nil
}

// Pending implements notify.Outbox.
func (s *Store) Pending(ctx context.Context) ([]notify.Pending, error) {
	now := s.o.Now()
	recs, err := s.searchAndTail(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindOutbox}, Since: now.Add(-s.o.OutboxWindow)}, now)
	if err != nil {
		return nil, fmt.Errorf("outbox pending: %w", err)
	}
	type latest struct {
		rec  ledger.Record
		body ledger.Outbox
	}
	byID := map[string]latest{}
	for _, r := range recs { // sorted by (time, id): the last one wins
		b, err := r.Outbox()
		if err != nil {
			return nil, fmt.Errorf("outbox pending: %w", err)
		}
		if r.EventID == "" || (!b.Done && len(b.Pending) == 0) {
			continue // not a notifystore record
		}
		byID[r.EventID] = latest{r, b}
	}
	var out []notify.Pending
	var stale []notify.Pending
	for id, x := range byID {
		if x.body.Done {
			continue
		}
		var p notify.Pending
		if err := json.Unmarshal(x.body.Pending, &p); err != nil || p.ID() != id {
			// It cannot be sent; keeping it would block nothing but would
			// fail every read. Say so loudly and leave it in the ledger.
			s.o.Logger.ErrorContext(ctx, "notifystore: unreadable outbox record skipped", "record", x.rec.ID, "event", id, "err", err)
			continue
		}
		out = append(out, p)
		if now.Sub(x.rec.Time) > s.o.OutboxWindow/2 {
			stale = append(stale, p)
		}
	}
	sortPending(out)
	if len(stale) > 0 {
		// Re-append what would otherwise age out of the window (best effort:
		// it is still there for the next read if this fails).
		if err := s.Put(ctx, stale); err != nil {
			s.o.Logger.WarnContext(ctx, "notifystore: refresh old outbox records", "events", len(stale), "err", err)
		}
	}
	return out, nil
}

// RecentWindow is how far back a Store also reads by cursor what a search
// may not see yet (SLS indexes a write about 3 s after it): the outbox's
// latest records and the delivered marks of the last minute.
const RecentWindow = time.Minute

// searchAndTail returns the records f selects by search, together with those
// the last RecentWindow holds read by cursor (Ledger.Tail), each once, sorted
// by (time, id): what another instance wrote a moment ago counts.
func (s *Store) searchAndTail(ctx context.Context, f ledger.Filter, now time.Time) ([]ledger.Record, error) {
	recs, err := s.l.Query(ctx, f)
	if err != nil {
		return nil, err
	}
	tf := f
	tf.Since = now.Add(-RecentWindow)
	if f.Since.After(tf.Since) {
		tf.Since = f.Since
	}
	recent, _, err := s.l.Tail(ctx, tf, nil)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		seen[r.ID] = true
	}
	for _, r := range recent {
		if !seen[r.ID] {
			seen[r.ID] = true
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, f.Compare)
	return recs, nil
}

// sortPending orders oldest first, as notify.MemOutbox does: Queued, then
// event time, then id.
func sortPending(ps []notify.Pending) {
	slices.SortFunc(ps, func(a, b notify.Pending) int {
		if c := a.Queued.Compare(b.Queued); c != 0 {
			return c
		}
		if c := a.Event.EventTime.Compare(b.Event.EventTime); c != 0 {
			return c
		}
		return cmp.Compare(a.ID(), b.ID())
	})
}

// ---- Delivered ----

// Seen implements notify.Delivered: a "sent" notification record for the id
// within DeliveredWindow.
func (s *Store) Seen(ctx context.Context, ids []string) (map[string]bool, error) {
	ids = unique(ids)
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	since := s.o.Now().Add(-s.o.DeliveredWindow)
	kinds := []ledger.Kind{ledger.KindNotification}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	mark := func(recs []ledger.Record) error {
		for _, r := range recs {
			if !want[r.EventID] {
				continue
			}
			b, err := r.Notification()
			if err != nil {
				return err
			}
			if b.Status == StatusSent {
				out[r.EventID] = true
			}
		}
		return nil
	}
	// What another instance marked a moment ago, before the index has it.
	recent, _, err := s.l.Tail(ctx, ledger.Filter{Kinds: kinds, Since: s.o.Now().Add(-RecentWindow)}, nil)
	if err == nil {
		err = mark(recent)
	}
	if err != nil {
		return nil, fmt.Errorf("delivered seen %d id(s): %w", len(ids), err)
	}
	if len(ids) <= maxPerIDQueries {
		for _, id := range ids {
			recs, err := s.l.Query(ctx, ledger.Filter{Kinds: kinds, EventID: id, Since: since})
			if err == nil {
				err = mark(recs)
			}
			if err != nil {
				return nil, fmt.Errorf("delivered seen %s: %w", id, err)
			}
		}
		return out, nil
	}
	recs, err := s.l.Query(ctx, ledger.Filter{Kinds: kinds, Since: since})
	if err == nil {
		err = mark(recs)
	}
	if err != nil {
		return nil, fmt.Errorf("delivered seen %d id(s): %w", len(ids), err)
	}
	return out, nil
}

// Mark implements notify.Delivered: one "sent" notification record per id.
func (s *Store) Mark(ctx context.Context, ids []string) error {
	return s.appendPerID(ctx, ids, "delivered mark", func(m ledger.Meta) ledger.Record {
		return ledger.NewNotification(m, ledger.Notification{Robot: noRobot, Title: "delivered", Status: StatusSent})
	})
}

func unique(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

package notify

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// Pending is an event waiting in the outbox.
type Pending struct {
	Event     Event     `json:"event"`
	Queued    time.Time `json:"queued"`              // when it first entered the outbox
	Attempts  int       `json:"attempts,omitempty"`  // failed sends so far
	NotBefore time.Time `json:"notBefore,omitzero"`  // no send before this
	LastError string    `json:"lastError,omitempty"` // redacted
}

// ID is the event's ID, the outbox key.
func (p Pending) ID() string { return p.Event.ID }

// Outbox holds events not yet delivered, for the next invocation of any
// function. Production backs it with the ledger (append "outbox" records;
// Done appends a tombstone; Pending is the latest record per ID minus the
// tombstoned ones).
type Outbox interface {
	// Put upserts by ID: a later Put of the same ID replaces the record.
	// Idempotent. After it returns nil the events survive the process.
	Put(ctx context.Context, items []Pending) error
	// Pending returns every record not Done, oldest Queued first.
	Pending(ctx context.Context) ([]Pending, error)
	// Done removes ids; unknown ids are ignored. Idempotent.
	Done(ctx context.Context, ids []string) error
}

// Delivered remembers which event IDs were shown, so that an event is shown
// once however often it is notified. Production backs it with the ledger
// ("notification" records), over a window longer than any redelivery.
type Delivered interface {
	// Seen reports which of ids were delivered; absent means not delivered.
	Seen(ctx context.Context, ids []string) (map[string]bool, error)
	// Mark records ids as delivered. Idempotent.
	Mark(ctx context.Context, ids []string) error
}

// Claimer is optionally implemented by an Outbox shared by several
// processes: before a run sends events it loaded from the outbox (left there
// by an outage or the budget), it claims them, and sends only those no other
// run claimed in the last ClaimLease. Two runs draining one outbox at once
// would otherwise both send every waiting event. What a run does not win
// stays in the outbox for a later run; a claim by a run that then died
// expires with the lease.
type Claimer interface {
	// Claim returns the ids of ids this run may send now.
	Claim(ctx context.Context, ids []string, now time.Time) (map[string]bool, error)
}

// ClaimLease is how long a claim keeps other runs from sending its events.
// It is shorter than a budget window, so that the claimer's own next flush
// (a minute later at the soonest) is not held back by its own claim.
const ClaimLease = 45 * time.Second

// MemOutbox is an in-memory Outbox. The zero value is ready; safe for
// concurrent use.
type MemOutbox struct {
	mu    sync.Mutex
	items map[string]Pending
}

// MemDelivered is an in-memory Delivered. The zero value is ready; safe for
// concurrent use.
type MemDelivered struct {
	mu  sync.Mutex
	ids map[string]bool
}

var (
	_ Outbox    = (*MemOutbox)(nil)
	_ Delivered = (*MemDelivered)(nil)
)

// Put implements Outbox.
func (o *MemOutbox) Put(_ context.Context, items []Pending) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.items == nil {
		o.items = map[string]Pending{}
	}
	for _, p := range items {
		o.items[p.ID()] = p
	}
	return nil
}

// Pending implements Outbox.
func (o *MemOutbox) Pending(_ context.Context) ([]Pending, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Pending, 0, len(o.items))
	for _, p := range o.items {
		out = append(out, p)
	}
	sortPending(out)
	return out, nil
}

// Done implements Outbox.
func (o *MemOutbox) Done(_ context.Context, ids []string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range ids {
		delete(o.items, id)
	}
	return nil
}

// Len is the number of pending events.
func (o *MemOutbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.items)
}

// Seen implements Delivered.
func (d *MemDelivered) Seen(_ context.Context, ids []string) (map[string]bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]bool{}
	for _, id := range ids {
		if d.ids[id] {
			out[id] = true
		}
	}
	return out, nil
}

// Mark implements Delivered.
func (d *MemDelivered) Mark(_ context.Context, ids []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		d.ids = map[string]bool{}
	}
	for _, id := range ids {
		d.ids[id] = true
	}
	return nil
}

// sortPending orders oldest first: Queued, then event time, then ID.
func sortPending(ps []Pending) {
	slices.SortFunc(ps, func(a, b Pending) int {
		if c := a.Queued.Compare(b.Queued); c != 0 {
			return c
		}
		if c := a.Event.EventTime.Compare(b.Event.EventTime); c != 0 {
			return c
		}
		return cmp.Compare(a.ID(), b.ID())
	})
}

package eventbus

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// Target receives one delivery: the event and its JSON encoding (what FC
// passes to the function). It is called from the subscription's delivery
// goroutine, one delivery at a time.
type Target func(ev Event, payload []byte)

// Options are the delivery faults in force. The zero value delivers each event
// once, at once, in order.
type Options struct {
	Duplicate bool          // deliver every event twice (same id)
	Delay     time.Duration // wall-clock delay before each delivery
	Reorder   bool          // hold one event back and deliver it after the next
	// DuplicateRatio delivers that share of the events twice (same id), at
	// random: EventBridge's at-least-once delivery on a bad day.
	DuplicateRatio float64
	// Jitter adds a random wall-clock delay in [0, Jitter) to each delivery
	// (each copy of a duplicate drawn apart); deliveries are made in the
	// order of their due times, so events overtake one another.
	Jitter time.Duration
}

// Bus is one region's default event bus. The zero value is ready to use.
type Bus struct {
	mu     sync.Mutex
	opts   Options
	subs   []*subscription
	held   []delivery // the event held back by Reorder, already matched
	queued int        // deliveries queued or in progress
	idle   chan struct{}
}

type subscription struct {
	name    string
	pattern *Pattern
	target  Target
	queue   []delivery
	running bool
}

type delivery struct {
	sub     *subscription
	ev      Event
	payload []byte
	due     time.Time
}

// Subscribe adds a target for events matching pattern. A subscription with the
// same name is replaced; deliveries already queued for it are still made.
func (b *Bus) Subscribe(name string, pattern *Pattern, t Target) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := &subscription{name: name, pattern: pattern, target: t}
	for i, old := range b.subs {
		if old.name == name {
			b.subs[i] = s
			return
		}
	}
	b.subs = append(b.subs, s)
}

// Unsubscribe removes the named subscription; queued deliveries are still made.
func (b *Bus) Unsubscribe(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, s := range b.subs {
		if s.name == name {
			b.subs = append(b.subs[:i], b.subs[i+1:]...)
			return
		}
	}
}

// SetOptions replaces the fault options. Turning Reorder off releases a held
// event.
func (b *Bus) SetOptions(o Options) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opts = o
	if !o.Reorder {
		b.releaseLocked()
	}
}

// Options returns the fault options in force.
func (b *Bus) Options() Options {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opts
}

// Publish matches ev against every subscription and queues a delivery for each
// match. It does not wait for targets. It returns the number of subscriptions
// that matched.
func (b *Bus) Publish(ev Event) int {
	payload := ev.JSON()
	m, err := decodeEvent(payload)
	if err != nil {
		panic("eventbus: event does not decode: " + err.Error()) // JSON produced it
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	var ds []delivery
	for _, s := range b.subs {
		if s.pattern.Match(m) {
			ds = append(ds, delivery{sub: s, ev: ev, payload: payload, due: now.Add(b.opts.Delay)})
		}
	}
	if len(ds) == 0 {
		return 0
	}
	if b.opts.Reorder && b.held == nil {
		b.held = ds
		return len(ds)
	}
	b.enqueueLocked(ds)
	b.releaseLocked()
	return len(ds)
}

// Flush releases the event held back by Reorder, if any.
func (b *Bus) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.releaseLocked()
}

// Held reports whether an event is held back by Reorder.
func (b *Bus) Held() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held != nil
}

// Wait blocks until every queued delivery has been made (a held event does not
// count), or ctx is done.
func (b *Bus) Wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		if b.queued == 0 {
			b.mu.Unlock()
			return nil
		}
		if b.idle == nil {
			b.idle = make(chan struct{})
		}
		ch := b.idle
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *Bus) releaseLocked() {
	if b.held == nil {
		return
	}
	ds := b.held
	b.held = nil
	due := time.Now().Add(b.opts.Delay)
	for i := range ds {
		if ds[i].due.Before(due) {
			ds[i].due = due
		}
	}
	b.enqueueLocked(ds)
}

func (b *Bus) enqueueLocked(ds []delivery) {
	for _, d := range ds {
		n := 1
		if b.opts.Duplicate || (b.opts.DuplicateRatio > 0 && rand.Float64() < b.opts.DuplicateRatio) {
			n = 2
		}
		for range n {
			c := d
			if b.opts.Jitter > 0 {
				c.due = c.due.Add(rand.N(b.opts.Jitter))
				q := d.sub.queue
				i := sort.Search(len(q), func(i int) bool { return q[i].due.After(c.due) })
				d.sub.queue = append(q[:i], append([]delivery{c}, q[i:]...)...)
			} else {
				d.sub.queue = append(d.sub.queue, c)
			}
			b.queued++
		}
		if !d.sub.running {
			d.sub.running = true
			go b.drain(d.sub)
		}
	}
}

// drain delivers s's queue in order until it is empty.
func (b *Bus) drain(s *subscription) {
	for {
		b.mu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			b.mu.Unlock()
			return
		}
		d := s.queue[0]
		s.queue = s.queue[1:]
		b.mu.Unlock()

		if wait := time.Until(d.due); wait > 0 {
			time.Sleep(wait)
		}
		s.target(d.ev, d.payload)

		b.mu.Lock()
		b.queued--
		if b.queued == 0 && b.idle != nil {
			close(b.idle)
			b.idle = nil
		}
		b.mu.Unlock()
	}
}

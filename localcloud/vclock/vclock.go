// Package vclock is the virtual clock shared by everything in localcloud, so that
// weeks of timers, exemptions and grace periods pass in seconds.
//
// The clock only moves when Advance or Set is called. Waiters registered with
// After fire, in time order, while the clock passes their instant.
package vclock

import (
	"sort"
	"sync"
	"time"
)

// Clock is a manually advanced clock. The zero value is not usable; use New.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	seq     int
}

type waiter struct {
	at  time.Time
	seq int
	ch  chan time.Time
}

// New returns a clock that reads start.
func New(start time.Time) *Clock { return &Clock{now: start.UTC()} }

// Now returns the virtual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the virtual time once the clock has
// reached at least d past now. A non-positive d fires at once.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	at := c.now.Add(d)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.seq++
	c.waiters = append(c.waiters, waiter{at: at, seq: c.seq, ch: ch})
	return ch
}

// Advance moves the clock forward by d (negative d is ignored) and returns the
// new time. Waiters due on the way fire in time order.
func (c *Clock) Advance(d time.Duration) time.Time {
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	return c.Set(target)
}

// Set moves the clock to t; the clock never goes backwards.
func (c *Clock) Set(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t.UTC()
	}
	sort.Slice(c.waiters, func(i, j int) bool {
		if !c.waiters[i].at.Equal(c.waiters[j].at) {
			return c.waiters[i].at.Before(c.waiters[j].at)
		}
		return c.waiters[i].seq < c.waiters[j].seq
	})
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- w.at
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
	return c.now
}

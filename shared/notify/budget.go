package notify

import (
	"context"
	"sync"
	"time"
)

// Budget defaults: DingTalk allows 20 messages a minute per robot and
// silences a robot for 10 minutes above that; we stay at 15.
const (
	DefaultLimit   = 15
	DefaultWindow  = time.Minute
	DefaultPenalty = 10 * time.Minute
)

// Budget is the per-robot send allowance, shared by every function and
// instance (warm FC instances share no memory, so production backs it with
// shared storage).
type Budget interface {
	// Take asks for n sends to robot at now and returns how many are
	// granted (0..n); granted sends count against the robot at once. It is
	// safe for concurrent use. An error means the budget is unknown: the
	// caller then sends at most a small fallback allowance.
	Take(ctx context.Context, robot string, n int, now time.Time) (granted int, err error)
}

// Penalizer is optionally implemented by a Budget: the notifier reports a
// 130101 answer so that no instance spends budget on a silenced robot.
type Penalizer interface {
	// Penalize grants nothing for robot before until. Idempotent.
	Penalize(ctx context.Context, robot string, until time.Time) error
}

// MemBudget is an in-process sliding-window Budget for tests and single
// processes. The zero value allows DefaultLimit per DefaultWindow per robot.
type MemBudget struct {
	Limit  int           // per robot per Window; 0: DefaultLimit
	Window time.Duration // 0: DefaultWindow

	mu      sync.Mutex
	grants  map[string][]time.Time
	penalty map[string]time.Time
}

var (
	_ Budget    = (*MemBudget)(nil)
	_ Penalizer = (*MemBudget)(nil)
)

// Take implements Budget.
func (b *MemBudget) Take(_ context.Context, robot string, n int, now time.Time) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n <= 0 || now.Before(b.penalty[robot]) {
		return 0, nil
	}
	limit, window := b.Limit, orDur(b.Window, DefaultWindow)
	if limit <= 0 {
		limit = DefaultLimit
	}
	g := prune(b.grants[robot], now, window)
	k := min(n, allow(g, now, limit, window))
	for range k {
		g = append(g, now)
	}
	if b.grants == nil {
		b.grants = map[string][]time.Time{}
	}
	b.grants[robot] = g
	return k, nil
}

// Penalize implements Penalizer.
func (b *MemBudget) Penalize(_ context.Context, robot string, until time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.penalty == nil {
		b.penalty = map[string]time.Time{}
	}
	if until.After(b.penalty[robot]) {
		b.penalty[robot] = until
	}
	return nil
}

// allow is the pure rate-limit math: how many sends the sliding window
// (now-window, now] leaves after grants. Grants stamped after now (a clock
// that went back) still count.
func allow(grants []time.Time, now time.Time, limit int, window time.Duration) int {
	used := 0
	for _, g := range grants {
		if now.Sub(g) < window {
			used++
		}
	}
	return max(0, limit-used)
}

// prune drops grants that have left the window.
func prune(grants []time.Time, now time.Time, window time.Duration) []time.Time {
	kept := grants[:0]
	for _, g := range grants {
		if now.Sub(g) < window {
			kept = append(kept, g)
		}
	}
	return kept
}

package ecsapi

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// MaxDefaultBurst caps the default Config.Burst.
const MaxDefaultBurst = 10

// limiter is a token bucket: rate tokens per second, at most burst banked.
// It starts full. Reservations may drive the balance negative: each caller
// then waits its turn, so callers are served in reservation order at rate.
// Safe for concurrent use.
type limiter struct {
	rate  float64 // tokens per second, > 0
	burst float64 // >= 1

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newLimiter(qps float64, burst int) *limiter {
	if burst <= 0 {
		burst = int(min(math.Ceil(qps), MaxDefaultBurst))
	}
	burst = max(burst, 1)
	return &limiter{rate: qps, burst: float64(burst), tokens: float64(burst)}
}

// reserve takes one token at now and returns how long the caller must wait
// before it may send.
func (l *limiter) reserve(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	if now.After(l.last) {
		l.last = now
	}
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-l.tokens / l.rate * float64(time.Second)))
}

// unreserve gives back a token whose call was not sent.
func (l *limiter) unreserve() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = min(l.burst, l.tokens+1)
}

// wait blocks until the caller may send one request, or fails without
// waiting when the turn comes after the context's deadline.
func (l *limiter) wait(ctx context.Context) (time.Duration, error) {
	d := l.reserve(time.Now())
	if d <= 0 {
		return 0, nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		l.unreserve()
		return 0, fmt.Errorf("client-side rate limit: the next turn in %v is after the deadline: %w",
			d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return d, nil
	case <-ctx.Done():
		l.unreserve()
		return 0, ctx.Err()
	}
}

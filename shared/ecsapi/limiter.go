package ecsapi

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// MaxDefaultBurst caps the default Config.Burst.
const MaxDefaultBurst = 10

// newLimiter returns the token bucket of Config.QPS and Config.Burst: qps
// tokens per second, at most burst banked (default min(ceil(qps),
// MaxDefaultBurst), at least 1), starting full. Callers are served in
// reservation order.
func newLimiter(qps float64, burst int) *rate.Limiter {
	if burst <= 0 {
		burst = int(min(math.Ceil(qps), MaxDefaultBurst))
	}
	return rate.NewLimiter(rate.Limit(qps), max(burst, 1))
}

// waitTurn blocks until the caller may send one request and returns how long
// it waited. It fails at once when the turn comes after the context's
// deadline, and as soon as the context ends; either way the turn is given
// back, so the callers behind it do not wait for a request never sent.
func waitTurn(ctx context.Context, l *rate.Limiter) (time.Duration, error) {
	now := time.Now()
	r := l.ReserveN(now, 1) // always OK: the burst is at least 1
	d := r.DelayFrom(now)
	if d <= 0 {
		return 0, nil
	}
	if dl, ok := ctx.Deadline(); ok && dl.Sub(now) < d {
		r.CancelAt(now)
		return 0, fmt.Errorf("client-side rate limit: the next turn in %v is after the deadline: %w",
			d.Round(time.Millisecond), context.DeadlineExceeded)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return d, nil
	case <-ctx.Done():
		r.Cancel()
		return 0, ctx.Err()
	}
}

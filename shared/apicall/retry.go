package apicall

import (
	"context"
	"fmt"
	"math"
	"time"

	smithytime "github.com/aws/smithy-go/time"
	"github.com/aws/smithy-go/waiter"
)

// Defaults for the zero fields of Retry.
const (
	DefaultCallTimeout = 10 * time.Second
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
	// DefaultMaxAttemptsNoDeadline caps the attempts of one call whose
	// context has no deadline (with a deadline, the deadline is the bound).
	DefaultMaxAttemptsNoDeadline = 10
)

// NoDeadline stands in for the time left when the context has no deadline.
const NoDeadline = time.Duration(math.MaxInt64 / 4)

// Retry holds an adapter's retry settings. The adapters keep these as fields
// of their own Config (same names) and build a Retry from them. Zero values
// mean the defaults.
type Retry struct {
	// CallTimeout bounds each HTTP attempt (DefaultCallTimeout).
	CallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff with jitter
	// between retries (DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts caps the attempts of one call. 0: unlimited while the
	// context deadline allows, MaxAttemptsNoDeadline without a deadline.
	MaxAttempts int
	// MaxAttemptsNoDeadline is the adapter's cap without a deadline
	// (DefaultMaxAttemptsNoDeadline); not a Config field.
	MaxAttemptsNoDeadline int
}

// Resolve returns r with its zero fields set to the defaults, and one
// field-qualified error per invalid field (none when r is valid).
func (r Retry) Resolve() (Retry, []error) {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"CallTimeout", r.CallTimeout}, {"MinBackoff", r.MinBackoff}, {"MaxBackoff", r.MaxBackoff}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: must not be negative", d.name, d.v))
		}
	}
	if r.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("MaxAttempts %d: must not be negative", r.MaxAttempts))
	}
	if r.CallTimeout == 0 {
		r.CallTimeout = DefaultCallTimeout
	}
	if r.MinBackoff == 0 {
		r.MinBackoff = DefaultMinBackoff
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = DefaultMaxBackoff
	}
	if r.MaxAttemptsNoDeadline <= 0 {
		r.MaxAttemptsNoDeadline = DefaultMaxAttemptsNoDeadline
	}
	if r.MinBackoff > r.MaxBackoff {
		errs = append(errs, fmt.Errorf("MinBackoff %v: exceeds MaxBackoff %v", r.MinBackoff, r.MaxBackoff))
	}
	return r, errs
}

// Wait is called after failed attempt number attempt (1-based), whose
// retryable error is last; slowest is the longest attempt so far. It sleeps
// the backoff and returns nil when another attempt may go, or returns the
// error to give up with, wrapping last: the attempts are used up, the next
// backoff plus one more call as slow as slowest would overrun the context
// deadline, or the context ended while waiting. r must be resolved.
func (r Retry) Wait(ctx context.Context, attempt int, slowest time.Duration, last *APIError) error {
	left := NoDeadline
	maxAttempts := r.MaxAttempts
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	} else if maxAttempts == 0 {
		maxAttempts = r.MaxAttemptsNoDeadline
	}
	if maxAttempts > 0 && attempt >= maxAttempts {
		return fmt.Errorf("giving up after %d attempts: %w", attempt, last)
	}
	delay, ok := Backoff(attempt, r.MinBackoff, r.MaxBackoff, slowest, left)
	if !ok {
		return fmt.Errorf("giving up with %v left before the deadline (next backoff plus a %v call would overrun it): %w",
			left.Round(time.Millisecond), slowest.Round(time.Millisecond), last)
	}
	if err := smithytime.SleepWithContext(ctx, delay); err != nil {
		return Interrupted(last.Service, last.Op, err, last)
	}
	return nil
}

// Backoff returns how long to wait after failed attempt number attempt
// (1-based), given the slowest call so far and the time left before the
// deadline. ok is false when the wait plus one more call of that duration
// would not fit, or when even the minimum wait does not.
func Backoff(attempt int, minB, maxB, call, left time.Duration) (time.Duration, bool) {
	budget := left - call // time for the wait, keeping room for one more call
	if budget < minB {
		return 0, false
	}
	d, err := waiter.ComputeDelay(int64(attempt), minB, maxB, budget)
	if err != nil {
		return 0, false
	}
	// Near the deadline ComputeDelay shortens the last wait below minB; keep
	// at least minB (budget >= minB, so it still fits).
	return max(d, minB), true
}

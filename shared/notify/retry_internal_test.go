package notify

import (
	"testing"
	"time"
)

// A retryable failure is tried again in 1, 2, 3, 3 … minutes: however long
// the robot was down, what waited goes out within MaxRetryBackoff (plus the
// flush's minute) of its return. 130101 waits out DingTalk's silence; a
// permanent failure backs off to hours.
func TestNextTry(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	retryable := nextTry(now, &SendError{Retryable: true})
	for attempts, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 3 * time.Minute, 4: 3 * time.Minute, 40: 3 * time.Minute} {
		if got := retryable(attempts).Sub(now); got != want {
			t.Errorf("retryable, attempt %d: in %v, want %v", attempts, got, want)
		}
	}
	if got := nextTry(now, &SendError{Reason: ReasonRateLimited})(1).Sub(now); got != DefaultPenalty {
		t.Errorf("130101: in %v, want %v", got, DefaultPenalty)
	}
	if got := nextTry(now, &SendError{})(3).Sub(now); got != 40*time.Minute {
		t.Errorf("permanent, attempt 3: in %v, want 40m", got)
	}
}

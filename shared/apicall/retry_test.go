package apicall

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoffBounds(t *testing.T) {
	const minB, maxB = 100 * time.Millisecond, 5 * time.Second
	for attempt := 1; attempt <= 20; attempt++ {
		for _, call := range []time.Duration{0, 10 * time.Millisecond, time.Second} {
			for _, left := range []time.Duration{0, 50 * time.Millisecond, 150 * time.Millisecond, time.Second, 3 * time.Second, time.Minute, NoDeadline} {
				for range 20 { // jitter
					d, ok := Backoff(attempt, minB, maxB, call, left)
					if left-call < minB {
						require.False(t, ok, "attempt %d call %v left %v: no room for a wait and a call", attempt, call, left)
						continue
					}
					require.True(t, ok, "attempt %d call %v left %v", attempt, call, left)
					require.GreaterOrEqual(t, d, minB)
					require.LessOrEqual(t, d, maxB)
					require.LessOrEqual(t, d+call, left, "wait plus one call must fit before the deadline")
					// Exponential ceiling: min * 2^(attempt-1).
					if attempt < 10 {
						require.LessOrEqual(t, d, minB*time.Duration(1<<(attempt-1)))
					}
				}
			}
		}
	}
	d, ok := Backoff(1, minB, maxB, 0, time.Minute)
	require.True(t, ok)
	require.Equal(t, minB, d, "first retry waits exactly the minimum")
}

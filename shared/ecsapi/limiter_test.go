package ecsapi

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimiterReserve(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	l := newLimiter(10, 3)
	// A full bucket: three go at once, then one every 100 ms, in turn.
	for range 3 {
		require.Zero(t, l.reserve(t0))
	}
	require.Equal(t, 100*time.Millisecond, l.reserve(t0))
	require.Equal(t, 200*time.Millisecond, l.reserve(t0))
	// 300 ms later the two waiters have gone (at 100 and 200 ms) and the
	// third interval's token is there; the next caller waits one interval.
	t1 := t0.Add(300 * time.Millisecond)
	require.Zero(t, l.reserve(t1))
	require.Equal(t, 100*time.Millisecond, l.reserve(t1))
	// A long idle spell banks at most the burst.
	idle := t0.Add(time.Hour)
	for range 3 {
		require.Zero(t, l.reserve(idle))
	}
	require.Positive(t, l.reserve(idle))
}

func TestLimiterDefaultBurst(t *testing.T) {
	require.Equal(t, 1.0, newLimiter(0.5, 0).burst)
	require.Equal(t, 5.0, newLimiter(5, 0).burst)
	require.Equal(t, float64(MaxDefaultBurst), newLimiter(100, 0).burst)
	require.Equal(t, 40.0, newLimiter(100, 40).burst)
}

func TestLimiterWaitPastTheDeadlineFailsAtOnce(t *testing.T) {
	l := newLimiter(1, 1)
	_, err := l.wait(t.Context())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = l.wait(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 50*time.Millisecond, "no point waiting for a turn after the deadline")
	// The abandoned turn was given back: the next caller waits one interval, not two.
	require.LessOrEqual(t, l.reserve(time.Now()), time.Second)
}

func TestLimiterWaitEndsWithTheContext(t *testing.T) {
	l := newLimiter(0.1, 1)
	_, err := l.wait(t.Context())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = l.wait(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

func TestQPSConfig(t *testing.T) {
	base := Config{Region: "cn-hangzhou", Credentials: Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}}
	for _, bad := range []Config{{QPS: -1}, {Burst: -1}} {
		cfg := base
		cfg.QPS, cfg.Burst = bad.QPS, bad.Burst
		_, err := New(cfg)
		require.ErrorIs(t, err, ErrInvalid)
	}
	c, err := New(base)
	require.NoError(t, err)
	require.Nil(t, c.limiter, "no client-side limit by default")

	cfg := base
	cfg.QPS = 20
	c, err = New(cfg)
	require.NoError(t, err)
	d, err := c.WithCredentials(Credentials{AccessKeyID: "sts", AccessKeySecret: "sk", SecurityToken: "tok"})
	require.NoError(t, err)
	require.Same(t, c.limiter, d.limiter, "per-invocation clients share the process's limit")
}

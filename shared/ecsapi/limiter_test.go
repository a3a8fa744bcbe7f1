package ecsapi

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

func TestLimiterPacesAtQPSWithBurst(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	l := newLimiter(10, 3)
	turn := func(at time.Time) time.Duration { return l.ReserveN(at, 1).DelayFrom(at) }
	// A full bucket: three go at once, then one every 100 ms, in turn.
	for range 3 {
		require.Zero(t, turn(t0))
	}
	require.Equal(t, 100*time.Millisecond, turn(t0))
	require.Equal(t, 200*time.Millisecond, turn(t0))
	// 300 ms later the two waiters have gone (at 100 and 200 ms) and the
	// third interval's token is there; the next caller waits one interval.
	t1 := t0.Add(300 * time.Millisecond)
	require.Zero(t, turn(t1))
	require.Equal(t, 100*time.Millisecond, turn(t1))
	// A long idle spell banks at most the burst.
	idle := t0.Add(time.Hour)
	for range 3 {
		require.Zero(t, turn(idle))
	}
	require.Positive(t, turn(idle))
}

func TestLimiterDefaultBurst(t *testing.T) {
	require.Equal(t, 1, newLimiter(0.5, 0).Burst())
	require.Equal(t, 5, newLimiter(5, 0).Burst())
	require.Equal(t, 3, newLimiter(2.5, 0).Burst(), "a fractional QPS rounds up")
	require.Equal(t, MaxDefaultBurst, newLimiter(100, 0).Burst())
	require.Equal(t, 40, newLimiter(100, 40).Burst())
	require.Equal(t, rate.Limit(100), newLimiter(100, 40).Limit())
}

func TestLimiterWaitsItsTurn(t *testing.T) {
	l := newLimiter(20, 1)
	waited, err := waitTurn(t.Context(), l)
	require.NoError(t, err)
	require.Zero(t, waited, "the first request goes at once")
	start := time.Now()
	waited, err = waitTurn(t.Context(), l)
	require.NoError(t, err)
	require.Positive(t, waited, "the second waits")
	require.LessOrEqual(t, waited, 50*time.Millisecond, "at most one interval")
	require.GreaterOrEqual(t, time.Since(start), waited, "and really waited it")
}

func TestLimiterWaitPastTheDeadlineFailsAtOnce(t *testing.T) {
	l := newLimiter(1, 1)
	_, err := waitTurn(t.Context(), l)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = waitTurn(ctx, l)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 50*time.Millisecond, "no point waiting for a turn after the deadline")
	// The abandoned turn was given back: the next caller waits one interval, not two.
	now := time.Now()
	require.LessOrEqual(t, l.ReserveN(now, 1).DelayFrom(now), time.Second)
}

func TestLimiterWaitEndsWithTheContext(t *testing.T) {
	l := newLimiter(0.1, 1)
	_, err := waitTurn(t.Context(), l)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err = waitTurn(ctx, l)
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(start), 5*time.Second, "the wait ended with the context, not with the 10 s turn")
	// The cancelled turn was given back: the next caller waits one interval
	// (10 s), not two.
	now := time.Now()
	require.LessOrEqual(t, l.ReserveN(now, 1).DelayFrom(now), 10*time.Second)
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

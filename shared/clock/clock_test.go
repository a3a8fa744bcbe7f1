package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/clock"
)

func TestDecide(t *testing.T) {
	wall := time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)
	cst := time.FixedZone("CST", 8*3600)
	tests := []struct {
		name   string
		wall   time.Time
		event  time.Time
		now    time.Time
		beyond bool
	}{
		{"PayloadInThePast", wall, wall.Add(-time.Hour), wall, false},
		{"Equal", wall, wall, wall, false},
		{"WithinSkew", wall, wall.Add(3 * time.Second), wall.Add(3 * time.Second), false},
		{"AtTheSkew", wall, wall.Add(clock.Skew), wall.Add(clock.Skew), false},
		{"JustBeyondTheSkew", wall, wall.Add(clock.Skew + time.Millisecond), wall, true},
		{"AMonthAhead", wall, wall.Add(30 * 24 * time.Hour), wall, true},
		{"Year2099", wall, time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), wall, true},
		{"Zero", wall, time.Time{}, wall, false},
		{"WallInAnotherZone", wall.In(cst), wall.Add(time.Second).In(cst), wall.Add(time.Second), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now, beyond := clock.Decide(tc.wall, tc.event, clock.Skew)
			require.True(t, tc.now.Equal(now), "now %v, want %v", now, tc.now)
			require.Equal(t, time.UTC, now.Location())
			require.Equal(t, tc.beyond, beyond)
		})
	}
	now, beyond := clock.Decide(wall, wall.Add(time.Nanosecond), -time.Hour)
	require.True(t, beyond, "a negative skew trusts nothing ahead of the wall clock")
	require.Equal(t, wall, now)
	require.True(t, clock.Max().IsZero())
}

func TestWallPrefersTheInvocationsClock(t *testing.T) {
	own := time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)
	trusted := own.Add(48 * time.Hour)
	ctx := t.Context()
	require.Equal(t, own, clock.Wall(ctx, func() time.Time { return own }), "no clock in ctx: the handler's own")
	before := time.Now()
	got := clock.Wall(ctx, nil)
	require.False(t, got.Before(before), "no clock at all: the system clock")

	ctx = clock.WithWall(ctx, clock.Func(func() time.Time { return trusted }))
	require.Equal(t, trusted, clock.Wall(ctx, func() time.Time { return own }))
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	require.Equal(t, trusted, clock.Wall(child, nil), "derived contexts keep it")
	require.Equal(t, own, clock.Wall(clock.WithWall(t.Context(), nil), func() time.Time { return own }), "a nil clock is none")
}

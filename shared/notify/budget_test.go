package notify

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func TestAllow(t *testing.T) {
	at := func(s int) time.Time { return testNow.Add(time.Duration(s) * time.Second) }
	for name, tc := range map[string]struct {
		grants []time.Time
		now    time.Time
		want   int
	}{
		"Empty":                 {nil, at(0), 15},
		"SomeUsed":              {[]time.Time{at(0), at(10), at(20)}, at(30), 12},
		"AllUsed":               {repeat(at(0), 15), at(59), 0},
		"WindowSlid":            {repeat(at(0), 15), at(60), 15}, // exactly a minute later the grants have left
		"PartlySlid":            {append(repeat(at(0), 10), repeat(at(30), 5)...), at(61), 10},
		"OverUsedNeverNegative": {repeat(at(0), 20), at(1), 0},
		"FutureGrantsCount":     {repeat(at(30), 5), at(0), 10}, // a clock that went back still pays
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, allow(tc.grants, tc.now, 15, time.Minute))
		})
	}
}

func repeat(t time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t
	}
	return out
}

func TestMemBudget(t *testing.T) {
	var b MemBudget
	ctx := t.Context()
	g, err := b.Take(ctx, "ops", 10, testNow)
	require.NoError(t, err)
	require.Equal(t, 10, g)
	g, _ = b.Take(ctx, "ops", 10, testNow.Add(30*time.Second))
	require.Equal(t, 5, g, "15 a minute by default")
	g, _ = b.Take(ctx, "web", 3, testNow)
	require.Equal(t, 3, g, "robots are budgeted apart")
	g, _ = b.Take(ctx, "ops", 10, testNow.Add(time.Minute))
	require.Equal(t, 10, g, "the first ten left the window")
	g, _ = b.Take(ctx, "ops", 0, testNow.Add(time.Hour))
	require.Equal(t, 0, g)

	require.NoError(t, b.Penalize(ctx, "ops", testNow.Add(time.Hour+10*time.Minute)))
	g, _ = b.Take(ctx, "ops", 1, testNow.Add(time.Hour+9*time.Minute))
	require.Equal(t, 0, g, "penalised")
	g, _ = b.Take(ctx, "ops", 1, testNow.Add(time.Hour+10*time.Minute))
	require.Equal(t, 1, g, "penalty over")
}

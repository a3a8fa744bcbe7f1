package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/clock"
)

func TestAnchor(t *testing.T) {
	wall := time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)
	ahead := wall.Add(30 * 24 * time.Hour) // localcloud's virtual clock a month ahead
	require.Equal(t, ahead, clock.Anchor(wall, ahead), "an event from the future moves now forward")
	require.Equal(t, wall, clock.Anchor(wall, wall.Add(-time.Minute)), "a late event does not move now back")
	require.Equal(t, wall, clock.Anchor(wall, time.Time{}), "no event time: the wall clock")
	cst := time.FixedZone("CST", 8*3600)
	require.Equal(t, time.UTC, clock.Anchor(wall.In(cst), time.Time{}).Location())
	require.True(t, clock.Max().IsZero())
}

package clock

import "time"

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Func adapts a function to Clock.
type Func func() time.Time

// Now calls f.
func (f Func) Now() time.Time { return f() }

// System is the wall clock.
var System Clock = Func(time.Now)

// Anchor returns the later of wall and event, in UTC: the "now" a handler
// decides at. A zero event leaves wall.
func Anchor(wall, event time.Time) time.Time { return Max(wall, event).UTC() }

// Max returns the latest of ts (the zero time for none).
func Max(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

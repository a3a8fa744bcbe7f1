package clock

import (
	"context"
	"time"
)

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

// Skew is how far a trigger's time may lead the wall clock and still count:
// the clocks of the cloud's services and of the function's host differ by
// a little, never by more.
const Skew = 5 * time.Second

// Decide returns the time a handler decides at, in UTC: the later of wall
// and the trigger's time event, as long as event is at most skew past wall.
// A later event time is not trusted: it is ignored (now is wall) and beyond
// reports it, for the caller to log. A zero event leaves wall.
//
// A payload can thus never move a decision into the future: not void an
// exemption or a decision before its time, nor date a record ahead.
func Decide(wall, event time.Time, skew time.Duration) (now time.Time, beyond bool) {
	if event.After(wall.Add(max(skew, 0))) {
		return wall.UTC(), true
	}
	return Max(wall, event).UTC(), false
}

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

type wallKey struct{}

// WithWall returns ctx carrying wall as the invocation's wall clock: a
// trusted reading taken for this invocation (shared/fcwire's time source),
// which Wall then prefers to the handler's own clock.
func WithWall(ctx context.Context, wall Clock) context.Context {
	return context.WithValue(ctx, wallKey{}, wall)
}

// Wall reads the wall clock ctx carries (WithWall), else def (nil: the
// system clock).
func Wall(ctx context.Context, def func() time.Time) time.Time {
	if c, ok := ctx.Value(wallKey{}).(Clock); ok && c != nil {
		return c.Now()
	}
	if def == nil {
		return time.Now()
	}
	return def()
}

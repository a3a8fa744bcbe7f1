package timers

import (
	"testing"
	"time"
)

// A one-shot fires once, when virtual time reaches it, in time order with
// the timers, and is then gone.
func TestOnce(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	s := NewScheduler(start)
	var fired []string
	s.Once("a", start.Add(90*time.Second), func() { fired = append(fired, "a") })
	s.Once("past", start.Add(-time.Hour), func() { fired = append(fired, "past") })
	if next, ok := s.NextFire(); !ok || !next.After(start) || next.After(start.Add(time.Second)) {
		t.Fatalf("NextFire = %v, %v: a one-shot in the past fires at the next instant", next, ok)
	}
	s.AdvanceTo(start.Add(time.Minute))
	if len(fired) != 1 || fired[0] != "past" {
		t.Fatalf("after 1 minute fired %v, want [past]", fired)
	}
	s.AdvanceTo(start.Add(2 * time.Minute))
	s.AdvanceTo(start.Add(time.Hour))
	if len(fired) != 2 || fired[1] != "a" {
		t.Fatalf("fired %v, want [past a], each once", fired)
	}
	if _, ok := s.NextFire(); ok {
		t.Fatal("a fired one-shot is gone")
	}
}

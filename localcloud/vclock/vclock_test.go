package vclock

import (
	"testing"
	"time"
)

func TestAdvanceFiresDueWaitersInOrder(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start)
	late := c.After(2 * time.Hour)
	early := c.After(time.Hour)
	if got := c.Advance(90 * time.Minute); !got.Equal(start.Add(90 * time.Minute)) {
		t.Fatalf("Advance returned %v", got)
	}
	select {
	case at := <-early:
		if !at.Equal(start.Add(time.Hour)) {
			t.Fatalf("early fired at %v", at)
		}
	default:
		t.Fatal("early waiter did not fire")
	}
	select {
	case <-late:
		t.Fatal("late waiter fired too soon")
	default:
	}
	c.Advance(time.Hour)
	if _, ok := <-late; !ok {
		t.Fatal("late waiter closed")
	}
}

func TestClockNeverGoesBackwards(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start)
	c.Set(start.Add(-time.Hour))
	c.Advance(-time.Minute)
	if !c.Now().Equal(start) {
		t.Fatalf("clock moved backwards to %v", c.Now())
	}
}

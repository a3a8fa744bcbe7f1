package timers

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// DefaultMaxPerAdvance is the per-timer cap on occurrences fired by one
// AdvanceTo call when Scheduler.MaxPerAdvance is zero.
const DefaultMaxPerAdvance = 10000

// TimerEvent is the payload FC passes to a function invoked by a timer trigger.
type TimerEvent struct {
	TriggerTime string `json:"triggerTime"` // scheduled instant, RFC3339 UTC, seconds
	TriggerName string `json:"triggerName"`
	Payload     string `json:"payload"` // triggerConfig.payload, verbatim
}

// JSON returns the event exactly as FC sends it, without HTML escaping and
// without a trailing newline.
func (e TimerEvent) JSON() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		panic("timers: encode TimerEvent: " + err.Error()) // strings always encode
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Result reports what one AdvanceTo call did.
type Result struct {
	Fired  int      // fire calls made
	Capped []string // names of timers that hit MaxPerAdvance and skipped occurrences
}

// Scheduler holds timer triggers and fires them as virtual time advances. Add
// may be called concurrently with AdvanceTo, including from a fire callback;
// AdvanceTo calls are serialised.
type Scheduler struct {
	// MaxPerAdvance caps the occurrences of one timer fired per AdvanceTo call;
	// zero means DefaultMaxPerAdvance. Set it before the first AdvanceTo.
	MaxPerAdvance int

	advance sync.Mutex // serialises AdvanceTo

	mu     sync.Mutex
	cursor time.Time // time of the last check, or of the occurrence being fired
	timers []*timer
}

type timer struct {
	name    string
	sched   Schedule
	payload string
	fire    func(TimerEvent)
	next    time.Time // zero: never fires again
	once    bool      // fires once, at next, then is dropped
}

// NewScheduler returns a scheduler whose first check is at start.
func NewScheduler(start time.Time) *Scheduler {
	return &Scheduler{cursor: start.UTC()}
}

// Add registers a timer. Its first occurrence is the first one strictly after
// the scheduler's current time. Names need not be unique (two functions may
// each have a trigger "every5m"); disabled triggers should simply not be added.
func (s *Scheduler) Add(name string, sched Schedule, payload string, fire func(e TimerEvent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timers = append(s.timers, &timer{
		name:    name,
		sched:   sched,
		payload: payload,
		fire:    fire,
		next:    sched.Next(s.cursor),
	})
}

// Once registers fire to run once when virtual time reaches at (at once at
// the next AdvanceTo when at is not after the current time). It is how a
// delayed asynchronous invocation waits: on the virtual clock, like timers.
func (s *Scheduler) Once(name string, at time.Time, fire func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !at.After(s.cursor) {
		at = s.cursor.Add(time.Nanosecond)
	}
	s.timers = append(s.timers, &timer{name: name, next: at.UTC(), once: true, fire: func(TimerEvent) { fire() }})
}

// Now returns the time of the last check.
func (s *Scheduler) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursor
}

// NextFire returns the earliest pending occurrence over all timers.
func (s *Scheduler) NextFire() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best time.Time
	for _, t := range s.timers {
		if !t.next.IsZero() && (best.IsZero() || t.next.Before(best)) {
			best = t.next
		}
	}
	return best, !best.IsZero()
}

// AdvanceTo fires, in time order, every occurrence after the previous check and
// not after t, calling each timer's fire synchronously, then records t as the
// last check. A t not after the last check does nothing.
func (s *Scheduler) AdvanceTo(t time.Time) Result {
	s.advance.Lock()
	defer s.advance.Unlock()
	t = t.UTC()
	limit := s.MaxPerAdvance
	if limit <= 0 {
		limit = DefaultMaxPerAdvance
	}
	var res Result
	s.mu.Lock()
	if !t.After(s.cursor) {
		s.mu.Unlock()
		return res
	}
	s.mu.Unlock()
	counts := map[*timer]int{}
	for {
		s.mu.Lock()
		var due *timer
		for _, tm := range s.timers {
			if tm.next.IsZero() || tm.next.After(t) {
				continue
			}
			if due == nil || tm.next.Before(due.next) {
				due = tm
			}
		}
		if due == nil {
			s.cursor = t
			s.mu.Unlock()
			return res
		}
		at := due.next
		s.cursor = at
		counts[due]++
		if due.once {
			due.next = time.Time{}
			s.timers = slices.DeleteFunc(s.timers, func(tm *timer) bool { return tm == due })
		} else {
			due.next = due.sched.Next(at)
		}
		if counts[due] >= limit && !due.next.IsZero() && !due.next.After(t) {
			// Skip the rest of this timer's occurrences up to t.
			res.Capped = append(res.Capped, due.name)
			due.next = due.sched.Next(t)
		}
		ev := TimerEvent{TriggerTime: at.Format(time.RFC3339), TriggerName: due.name, Payload: due.payload}
		fire := due.fire
		s.mu.Unlock()

		res.Fired++
		fire(ev)
	}
}

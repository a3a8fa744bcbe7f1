package timers

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // CRON_TZ must not depend on the host's zoneinfo

	"github.com/robfig/cron/v3"
)

// parser is seconds-first with exactly six fields, plus descriptors (@every,
// @hourly, ...). Optional seconds are not allowed: FC rejects five-field cron.
var parser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a parsed timer expression. The zero value never fires.
type Schedule struct {
	expr  string
	sched cron.Schedule
}

// Parse parses an FC timer cronExpression. Errors name the expression.
func Parse(expr string) (Schedule, error) {
	e := strings.TrimSpace(expr)
	if e == "" {
		return Schedule{}, fmt.Errorf("parse cron expression %q: empty", expr)
	}
	if rest, ok := strings.CutPrefix(e, "@every"); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return Schedule{}, fmt.Errorf("parse cron expression %q: %w", expr, err)
		}
		if d < time.Second || d%time.Second != 0 {
			return Schedule{}, fmt.Errorf("parse cron expression %q: @every needs a whole number of seconds, at least 1s", expr)
		}
		return Schedule{expr: e, sched: cron.Every(d)}, nil
	}
	s, err := parser.Parse(e)
	if err != nil {
		return Schedule{}, fmt.Errorf("parse cron expression %q: %w", expr, err)
	}
	return Schedule{expr: e, sched: s}, nil
}

// MustParse is Parse for expressions known to be valid; it panics on error.
func MustParse(expr string) Schedule {
	s, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return s
}

// Next returns the first occurrence strictly after t, in UTC, or the zero time
// if there is none. Expressions without CRON_TZ are evaluated in UTC whatever
// t's location.
func (s Schedule) Next(t time.Time) time.Time {
	if s.sched == nil {
		return time.Time{}
	}
	n := s.sched.Next(t.UTC())
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// String returns the expression as parsed (trimmed).
func (s Schedule) String() string { return s.expr }

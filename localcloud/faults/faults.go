// Package faults holds the failures a test or the demo asks localcloud to inject:
// per-action throttling, latency and server errors, a per-service rate limit,
// event duplication, delay and reordering, and a DingTalk outage.
package faults

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Action is an injected behaviour for calls to one service (and optionally one action).
type Action struct {
	Service          string        `json:"service"`          // "ecs", "sls", "dingtalk"
	Action           string        `json:"action,omitempty"` // empty: every action of the service
	ThrottleRatio    float64       `json:"throttleRatio,omitempty"`
	ServerErrorRatio float64       `json:"serverErrorRatio,omitempty"`
	Latency          time.Duration `json:"latency,omitempty"`
}

// Config is the whole fault configuration (the body of POST /_localcloud/faults).
type Config struct {
	Actions []Action `json:"actions,omitempty"`
	// RateLimits caps calls per second (wall clock) per service; calls above it get Throttling.
	RateLimits map[string]float64 `json:"rateLimits,omitempty"`
	// Events: duplicate every delivered EventBridge event, delay it (wall clock),
	// or hold events and deliver each pair in reverse order.
	DuplicateEvents bool          `json:"duplicateEvents,omitempty"`
	EventDelay      time.Duration `json:"eventDelay,omitempty"`
	ReorderEvents   bool          `json:"reorderEvents,omitempty"`
	// DuplicateRatio duplicates that share of the events, at random.
	DuplicateRatio float64 `json:"duplicateRatio,omitempty"`
	// EventDelayJitter adds a random delay in [0, jitter) to each delivery,
	// so that events overtake one another.
	EventDelayJitter time.Duration `json:"eventDelayJitter,omitempty"`
	// DingTalkDown makes the robot sink refuse every message with HTTP 503.
	DingTalkDown bool `json:"dingtalkDown,omitempty"`
}

// Decision is what to do with one call.
type Decision struct {
	Latency     time.Duration
	Throttle    bool
	ServerError bool
}

// Set is the live configuration; safe for concurrent use. The zero value injects nothing.
type Set struct {
	mu      sync.Mutex
	cfg     Config
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Replace installs cfg, dropping the previous configuration.
func (s *Set) Replace(cfg Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = cfg
	s.buckets = nil
}

// Config returns the current configuration.
func (s *Set) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Decide draws the fate of one call to service/action at wall-clock time now.
func (s *Set) Decide(service, action string, now time.Time) Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d Decision
	for _, a := range s.cfg.Actions {
		if a.Service != service || (a.Action != "" && a.Action != action) {
			continue
		}
		d.Latency += a.Latency
		if a.ThrottleRatio > 0 && rand.Float64() < a.ThrottleRatio {
			d.Throttle = true
		}
		if a.ServerErrorRatio > 0 && rand.Float64() < a.ServerErrorRatio {
			d.ServerError = true
		}
	}
	if qps := s.cfg.RateLimits[service]; qps > 0 && !d.Throttle {
		if s.buckets == nil {
			s.buckets = map[string]*bucket{}
		}
		b := s.buckets[service]
		if b == nil {
			b = &bucket{tokens: qps, last: now}
			s.buckets[service] = b
		}
		b.tokens += now.Sub(b.last).Seconds() * qps
		if b.tokens > qps {
			b.tokens = qps
		}
		b.last = now
		if b.tokens < 1 {
			d.Throttle = true
		} else {
			b.tokens--
		}
	}
	return d
}

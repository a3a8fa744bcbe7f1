package faults

import (
	"testing"
	"time"
)

func TestRateLimitThrottlesAboveQPS(t *testing.T) {
	var s Set
	s.Replace(Config{RateLimits: map[string]float64{"ecs": 10}})
	now := time.Unix(1000, 0)
	allowed := 0
	for i := 0; i < 50; i++ {
		if !s.Decide("ecs", "DescribeSecurityGroups", now).Throttle {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("allowed %d calls in one instant, want 10 (the burst)", allowed)
	}
	if s.Decide("ecs", "X", now.Add(200*time.Millisecond)).Throttle {
		t.Fatal("a token should have refilled after 200ms at 10 qps")
	}
	if s.Decide("sls", "PutLogs", now).Throttle {
		t.Fatal("other services are not limited")
	}
}

func TestActionFaults(t *testing.T) {
	var s Set
	s.Replace(Config{Actions: []Action{{Service: "ecs", Action: "RevokeSecurityGroup", ThrottleRatio: 1, Latency: time.Millisecond}}})
	d := s.Decide("ecs", "RevokeSecurityGroup", time.Now())
	if !d.Throttle || d.Latency != time.Millisecond {
		t.Fatalf("decision %+v", d)
	}
	if s.Decide("ecs", "AuthorizeSecurityGroup", time.Now()).Throttle {
		t.Fatal("fault leaked to another action")
	}
}

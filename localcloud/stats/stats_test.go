package stats

import "testing"

func TestRecordAndCount(t *testing.T) {
	var s Stats
	s.Record("ecs", "RevokeSecurityGroup", "role-a", "")
	s.Record("ecs", "RevokeSecurityGroup", "role-a", "Throttling")
	s.Record("ecs", "DescribeSecurityGroupAttribute", "alice", "")
	s.Invocation("guard", false)
	s.Invocation("guard", true)
	snap := s.Snapshot()
	if got := snap.Count("ecs", "RevokeSecurityGroup", ""); got != 2 {
		t.Fatalf("revokes = %d, want 2", got)
	}
	if got := snap.Count("ecs", "", "alice"); got != 1 {
		t.Fatalf("alice calls = %d, want 1", got)
	}
	if snap.Calls[1].ErrorCodes["Throttling"] != 1 || snap.Calls[1].Errors != 1 {
		t.Fatalf("throttling not counted: %+v", snap.Calls[1])
	}
	if snap.Invocations["guard"] != 2 || snap.Failures["guard"] != 1 {
		t.Fatalf("invocations = %v failures = %v", snap.Invocations, snap.Failures)
	}
}

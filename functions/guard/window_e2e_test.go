package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/faults"
)

// indexDelay is real SLS's lag between PutLogs and GetLogs seeing the data.
const indexDelay = 3 * time.Second

// TestGuardEventDeliveredTwiceInsideTheIndexDelay: EventBridge delivers one
// ActionTrail event twice, and both deliveries run within the index delay, so
// neither instance's dedup lookup can see the other's "handled" record. The
// effects are idempotent by rule id: the rule is revoked once (the other
// instance finds it gone), so there is one revocation record and one message.
func TestGuardEventDeliveredTwiceInsideTheIndexDelay(t *testing.T) {
	e := start(t, localcloud.Options{SLSIndexDelay: indexDelay})
	e.cloud.SetFaults(faults.Config{DuplicateEvents: true})
	began := time.Now()
	e.authorize("sg-web", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", desc: "debug"})
	require.NotContains(t, e.rules("sg-web"), "TCP 22/22 0.0.0.0/0 Accept")
	runs := 0
	for _, r := range e.guardResults() {
		if r["trigger"] != "actiontrail-events" || !slices.Contains(asStrings(r["groups"]), "sg-web") {
			continue // alice's event, not our own revoke's (ignored: no group)
		}
		runs++
	}
	require.Equal(t, 2, runs, "both deliveries ran, blind to each other (one revoked; the other found the rule gone, or already closed when it read the group): %v", e.guardResults())
	require.Less(t, time.Since(began), indexDelay, "both deliveries ran inside the index delay")

	// What the ledger holds is searchable once the delay has passed; later
	// runs (the SLS path, sweeps, flushes) change nothing.
	_, err := e.cloud.Advance(t.Context(), 10*time.Minute)
	require.NoError(t, err)
	revs := e.revocations("sg-web")
	require.Len(t, revs, 1, "one revocation record")
	shown := 0
	for _, m := range e.cloud.DingTalk.Messages("") {
		if strings.Contains(m.Text, revs[0].RuleID) {
			shown++
		}
	}
	require.Equal(t, 1, shown, "one message about the revocation")
}

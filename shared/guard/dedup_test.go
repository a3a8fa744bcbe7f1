package guard_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/replicate"
)

// Functions share the ledger, and each handles each event for itself: the
// replicator, done first with an event (here on a group in no set), must not
// mark it handled for the guard. (It did: the demo's burst then left one
// group's exposures to the hourly sweep.)
func TestAnotherFunctionsHandledEventDoesNotHideItFromTheGuard(t *testing.T) {
	c, l := newPaceCloud(), &ledgertest.Mem{}
	c.add("sg-open", map[string]string{"team": "web"}, sshWorld)
	deps := paceDeps(c, l)
	rep, err := replicate.New(nil, replicate.Config{Config: engine.Config{RoleName: "porthygiene-replicator-role",
		Regions: []string{"cn-hangzhou"}, Logger: slog.New(slog.DiscardHandler), Wall: func() time.Time { return paceNow }}})
	require.NoError(t, err)
	res, err := rep.Handle(t.Context(), deps, authorizeEvent(t, "sg-open", "EV-BOTH"))
	require.NoError(t, err)
	require.Empty(t, res.Ignored)
	require.Equal(t, 1, l.Count(ledger.KindEvent), "the replicator recorded the event as handled")

	res, err = newPaceGuard(t, 0).Handle(t.Context(), deps, authorizeEvent(t, "sg-open", "EV-BOTH"))
	require.NoError(t, err)
	require.Empty(t, res.Ignored)
	require.Equal(t, []string{"sgr-open-0"}, res.Revoked)

	// And each still ignores its own second delivery.
	res, err = rep.Handle(t.Context(), deps, authorizeEvent(t, "sg-open", "EV-BOTH"))
	require.NoError(t, err)
	require.Len(t, res.Ignored, 1)
	require.Contains(t, res.Ignored[0], "already handled")
}

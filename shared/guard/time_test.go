package guard_test

// Time you cannot forge: a trigger's time moves the guard's decision clock
// only within clock.Skew of the wall clock; the trusted clock of the
// invocation's context (fcwire's time source) is what may run ahead.

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/clock"
	"github.com/porthygiene/porthygiene/shared/guard"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

var y2099 = time.Date(2099, 6, 1, 0, 0, 0, 0, time.UTC)

// timeWorld: sg-exempt's SSH rule is exempt (tag) until paceNow+ends,
// sg-open's is not.
func timeWorld(ends time.Duration) *paceCloud {
	c := newPaceCloud()
	until := paceNow.Add(ends).Format(time.RFC3339)
	c.add("sg-exempt", map[string]string{"porthygiene-exempt": "owner=ops;reason=bastion;until=" + until}, sshWorld)
	c.add("sg-open", map[string]string{"team": "web"}, sshWorld)
	return c
}

func timeGuard(t *testing.T, log *bytes.Buffer) *guard.Guard {
	t.Helper()
	pol := policy.Default()
	pol.Modes.Guard = policy.ModeEnforce
	g, err := guard.New(pol, guard.Config{RoleName: "porthygiene-fc-role", Regions: []string{"cn-hangzhou"},
		Logger: slog.New(slog.NewTextHandler(log, nil)), Wall: func() time.Time { return paceNow }})
	require.NoError(t, err)
	return g
}

func timerAt(t *testing.T, at time.Time) []byte {
	t.Helper()
	p, err := trigger.EncodeTimer("sweep", at, map[string]string{"mode": "sweep"})
	require.NoError(t, err)
	return p
}

// eventAt is the sample AuthorizeSecurityGroup event on gid, dated at (both
// the CloudEvent's time and the ActionTrail eventTime).
func eventAt(t *testing.T, gid, eventID string, at time.Time) []byte {
	t.Helper()
	s := string(authorizeEvent(t, gid, eventID))
	s = strings.ReplaceAll(s, "2026-01-05T03:12:45Z", at.Format(time.RFC3339))
	s = strings.ReplaceAll(s, "2026-01-05T03:12:44Z", at.Format(time.RFC3339))
	require.Contains(t, s, at.Format(time.RFC3339))
	return []byte(s)
}

func TestAPayloadFrom2099ChangesNothingExempt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload func(t *testing.T) []byte
		key     string // the event id logged
	}{
		{"TimerSweep", func(t *testing.T) []byte { return timerAt(t, y2099) }, "timer/sweep/2099-06-01T00:00:00Z"},
		{"CloudEvent", func(t *testing.T) []byte { return eventAt(t, "sg-exempt", "EV-2099", y2099) }, "actiontrail/EV-2099"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, l := timeWorld(time.Hour), &ledgertest.Mem{}
			var log bytes.Buffer
			res, err := timeGuard(t, &log).Handle(t.Context(), paceDeps(c, l), tc.payload(t))
			require.NoError(t, err)
			require.Empty(t, res.Rejected)
			require.Contains(t, res.Groups, "sg-exempt")
			require.NotContains(t, res.Revoked, "sgr-exempt-0", "an exemption until an hour from now is not voided by a payload dated 2099")
			require.Zero(t, c.revoke["sgr-exempt-0"])
			require.Contains(t, log.String(), "trigger time ahead of the wall clock ignored")
			require.Contains(t, log.String(), tc.key, "the log names the event")
			for _, r := range l.Records() {
				require.True(t, r.Time.Equal(paceNow), "%s record dated %v, not at the wall clock", r.Kind, r.Time)
			}
			if tc.name == "TimerSweep" {
				require.Equal(t, []string{"sgr-open-0"}, res.Revoked, "the sweep itself runs")
				require.Equal(t, 1, l.Count(ledger.KindRevocation))
			}
		})
	}
}

// A trigger time within the skew counts; one past it does not, at the
// exemption's very end.
func TestTriggerTimeCountsWithinTheSkewOnly(t *testing.T) {
	ends := 2 * time.Second // the exemption ends 2 s after the wall clock
	for _, tc := range []struct {
		ahead   time.Duration
		revoked bool
	}{
		{0, false},
		{clock.Skew - time.Second, true}, // 4 s ahead: counts, the exemption has ended
		{clock.Skew + time.Second, false},
		{24 * time.Hour, false},
	} {
		c, l := timeWorld(ends), &ledgertest.Mem{}
		var log bytes.Buffer
		res, err := timeGuard(t, &log).Handle(t.Context(), paceDeps(c, l), eventAt(t, "sg-exempt", "EV-skew", paceNow.Add(tc.ahead)))
		require.NoError(t, err)
		require.Equal(t, tc.revoked, len(res.Revoked) == 1, "trigger %v ahead: revoked %v", tc.ahead, res.Revoked)
		require.Equal(t, tc.ahead > clock.Skew, strings.Contains(log.String(), "ahead of the wall clock ignored"), "ahead %v", tc.ahead)
	}
}

// The invocation's trusted clock (what fcwire puts in the context from
// PORTHYGIENE_TIME_URL) is what may run ahead: with it, the exemption ends.
func TestTheTrustedClockMovesTheDecision(t *testing.T) {
	c, l := timeWorld(time.Hour), &ledgertest.Mem{}
	later := paceNow.Add(2 * time.Hour)
	ctx := clock.WithWall(t.Context(), clock.Func(func() time.Time { return later }))
	var log bytes.Buffer
	res, err := timeGuard(t, &log).Handle(ctx, paceDeps(c, l), timerAt(t, later))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"sgr-exempt-0", "sgr-open-0"}, res.Revoked, "the exemption ended on the trusted clock")
	require.NotContains(t, log.String(), "ignored", "the trigger agrees with the trusted clock")
	for _, r := range l.Records() {
		require.True(t, r.Time.Equal(later), "%s record dated %v", r.Kind, r.Time)
	}
}

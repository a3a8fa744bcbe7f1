package decision_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/decision"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/ledger"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func rec(at time.Duration, group, ruleID, link, action string, until time.Time) ledger.Record {
	return ledger.NewDecision(ledger.Meta{Time: t0.Add(at), Function: "approve", GroupID: group, Region: "cn-hangzhou", RuleID: ruleID, EventID: link},
		ledger.Decision{Action: action, Target: group + "/" + ruleID, By: "carol", Via: "dingtalk", Until: until})
}

func TestFromRecordsFirstRecordPerLinkCounts(t *testing.T) {
	// The link was clicked twice, racing past the approve function's replay
	// check: the second record (a later time, even another action) is void.
	recs := []ledger.Record{
		rec(time.Minute, "sg-1", "sgr-1", "link-1", "close", time.Time{}),
		rec(0, "sg-1", "sgr-1", "link-1", "exempt", t0.Add(48*time.Hour)),
	}
	ds := decision.FromRecords(recs)
	require.Len(t, ds, 1)
	require.Equal(t, decision.Keep, ds[0].Action, "the first record of the link, by time, not by the order read")
}

func TestFromRecordsSkipsWhatIsNotADecision(t *testing.T) {
	bad := rec(0, "sg-1", "sgr-1", "link-x", "open-everything", time.Time{})
	other := ledger.NewEvent(ledger.Meta{Time: t0, Function: "guard", GroupID: "sg-1", EventID: "actiontrail/1"}, ledger.Event{Source: "sls", Outcome: "handled"})
	require.Empty(t, decision.FromRecords([]ledger.Record{bad, other}))
}

func TestSetLatestPerRuleWins(t *testing.T) {
	ds := decision.FromRecords([]ledger.Record{
		rec(0, "sg-1", "sgr-1", "l1", "exempt", t0.Add(72*time.Hour)),
		rec(time.Hour, "sg-1", "sgr-1", "l2", "close", time.Time{}),
		rec(0, "sg-1", "sgr-2", "l3", "exempt", t0.Add(-time.Hour)),   // expired
		rec(0, "sg-2", "sgr-1", "l4", "exempt", t0.Add(72*time.Hour)), // same rule id, another group
		rec(0, "sg-1", "", "l5", "restore", t0.Add(72*time.Hour)),     // a ledger record, no rule
	})
	s := decision.NewSet(ds)
	require.Equal(t, 3, s.Len(), "the restore without a rule id is not kept per rule")
	d, ok := s.For("sg-1", "sgr-1")
	require.True(t, ok)
	require.Equal(t, decision.Close, d.Action, "a later close overrides an earlier keep")

	ex := s.Exemptions(t0)
	require.Equal(t, map[exposure.RuleRef]bool{{GroupID: "sg-2", RuleID: "sgr-1"}: true}, keys(ex),
		"only the active keep exempts: not the overridden one, not the expired one")
	require.Equal(t, "carol", ex[exposure.RuleRef{GroupID: "sg-2", RuleID: "sgr-1"}].Owner)

	closing := s.Closing("sg-1")
	require.Len(t, closing, 1)
	require.Equal(t, "sgr-1", closing[0].RuleID)
	require.Empty(t, s.Closing("sg-2"))
	require.Zero(t, decision.Set{}.Len(), "the zero Set holds none")
}

func keys[V any](m map[exposure.RuleRef]V) map[exposure.RuleRef]bool {
	out := map[exposure.RuleRef]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

package apply_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/apply"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
)

// The reaper's steps: an announcement and a cancellation are ledger records
// (keyed by group, rule and day: a second run the same day writes the same
// id) with a notification each; a close is a backup, a revoke by id, then a
// closure record naming the announcement and the backup — counted by the cap.
func TestReaperLifecycleSteps(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 4, 10, 1, 0, 0, 0, time.UTC)
	led := &ledgertest.Mem{}
	w := &writer{}
	st := observe.State{Region: "cn-hangzhou", GroupID: "sg-web"}
	p := revokes("sg-web", 3)
	p.Steps[0].Kind, p.Steps[0].Lifecycle = plan.Announce, &plan.Lifecycle{ClosesAt: now.Add(7 * 24 * time.Hour)}
	p.Steps[1].Kind, p.Steps[1].Lifecycle = plan.Cancel, &plan.Lifecycle{AnnouncementID: "ann-1"}
	p.Steps[2].Kind, p.Steps[2].Lifecycle = plan.Close, &plan.Lifecycle{AnnouncementID: "ann-2"}
	require.Equal(t, 1, p.Changes())

	a := &apply.Applier{Function: "reaper", Ledger: led, Cap: apply.NewCap(5), Now: now}
	out, err := a.Apply(ctx, w, st, p, apply.Cause{Event: ledger.EventContext{Source: "sweep"}})
	require.NoError(t, err)
	require.Zero(t, out.Findings, "lifecycle steps are not exposures")
	require.Equal(t, []string{"sgr-sg-web-2"}, w.revoked)
	require.Equal(t, []string{"sgr-sg-web-2"}, out.Revoked)

	recs := led.Records()
	kinds := map[ledger.Kind]int{}
	for _, r := range recs {
		kinds[r.Kind]++
	}
	require.Equal(t, map[ledger.Kind]int{ledger.KindAnnouncement: 2, ledger.KindBackup: 1, ledger.KindClosure: 1}, kinds)
	var closure, backup ledger.Record
	for _, r := range recs {
		switch r.Kind {
		case ledger.KindClosure:
			closure = r
		case ledger.KindBackup:
			backup = r
		case ledger.KindAnnouncement:
			b, err := r.Announcement()
			require.NoError(t, err)
			if r.RuleID == "sgr-sg-web-0" {
				require.Equal(t, ledger.StageAnnounced, b.Stage)
				require.Equal(t, now.Add(7*24*time.Hour), b.EligibleAt)
			} else {
				require.Equal(t, ledger.StageCancelled, b.Stage)
				require.Equal(t, "ann-1", b.AnnouncementID)
			}
		}
	}
	c, err := closure.Closure()
	require.NoError(t, err)
	require.Equal(t, "ann-2", c.AnnouncementID)
	require.Equal(t, backup.ID, c.BackupID)
	require.Equal(t, []string{closure.ID}, out.Ledger)
	kindsOf := map[notify.Kind]bool{}
	for _, ev := range out.Events {
		kindsOf[ev.Kind] = true
	}
	require.Equal(t, map[notify.Kind]bool{notify.KindReaperAnnounced: true, notify.KindReaperCancelled: true, notify.KindReaperClosed: true}, kindsOf)

	// The same announcement by a second run the same day: the same record id.
	again, _ := a.Apply(ctx, w, st, plan.Plan{Region: p.Region, GroupID: p.GroupID, Steps: p.Steps[:1]}, apply.Cause{})
	require.Len(t, again.Events, 1)
	var ids []string
	for _, r := range led.Records() {
		if r.Kind == ledger.KindAnnouncement && r.RuleID == "sgr-sg-web-0" {
			ids = append(ids, r.ID)
		}
	}
	require.Len(t, ids, 2)
	require.Equal(t, ids[0], ids[1], "keyed: one record to every reader")

	// The cap holds a close back (pace, not outcome): reported, not revoked.
	w2 := &writer{}
	out, err = (&apply.Applier{Function: "reaper", Ledger: led, Cap: apply.NewCap(0), Now: now}).Apply(ctx, w2, st, plan.Plan{Region: p.Region, GroupID: p.GroupID, Steps: p.Steps[2:]}, apply.Cause{})
	require.NoError(t, err)
	require.Empty(t, w2.revoked)
	require.Equal(t, 1, out.Capped)
}

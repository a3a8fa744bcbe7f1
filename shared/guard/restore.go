package guard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/porthygiene/porthygiene/shared/decision"
	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/restore"
)

// restoreWindow is how far back the sweep looks for restore decisions: the
// links live a week, and a decision not carried out within that is stale.
const restoreWindow = 8 * 24 * time.Hour

// BeforeSweep carries out the "restore" decisions clicked in DingTalk for
// rules of this region: the revoked rule is re-authorized exactly, with an
// exemption until the decision's date, so the guard then leaves it.
//
// A decision is done when a restore carried it out (recorded since the
// decision, even if that rule has been revoked again: a decision is not a
// standing order) or when its rule is already in the group (nothing to
// restore: logged, nothing recorded; should the rule go within the window,
// a later sweep restores it). A failure is told to people once per decision
// and kind of failure; one that a retry cannot mend (the record is not a
// revocation, the backup is unusable, ...) does not fail the sweep, so FC
// does not retry the sweep for it. Every sweep within restoreWindow looks at
// the decision again: reads only, unless a restore can be done.
func (g *Guard) BeforeSweep(ctx context.Context, r *engine.Run, region string, cl engine.Cloud) error {
	led := r.Ledger()
	if led == nil {
		return nil
	}
	ds, err := r.Observer().Decisions(ctx, ledger.Filter{Since: r.Now().Add(-restoreWindow)})
	if err != nil {
		return fmt.Errorf("guard: %w", err)
	}
	var errs []error
	for _, d := range ds {
		if d.Region != "" && d.Region != region || d.Action != decision.Restore {
			continue
		}
		until := d.Until
		if !until.After(r.Now()) {
			until = r.Now().Add(30 * 24 * time.Hour)
		}
		reason := d.Reason
		if reason == "" {
			reason = "restored at the owner's request"
		}
		ex := exemption.Exemption{Owner: d.By, Reason: reason, Until: until}
		res, err := restore.Restore(ctx, cl, led, g.pol, restore.Request{
			LedgerID: d.Target, Region: region, Exemption: &ex, By: d.By + " via " + d.Via, Function: g.name, Now: r.Now(), DecidedAt: d.At})
		switch {
		case errors.Is(err, restore.ErrAlreadyRestored), errors.Is(err, restore.ErrWrongRegion):
			continue
		case errors.Is(err, restore.ErrAlreadyPresent):
			g.log.InfoContext(ctx, "restore decision: nothing to restore, the rule is already in the group",
				"decision", d.RecordID, "target", d.Target, "group", res.GroupID, "rule", res.PresentRuleID)
			continue
		case err != nil:
			class, final := restoreFailure(err)
			g.log.ErrorContext(ctx, "restore decision failed", "decision", d.RecordID, "target", d.Target, "final", final, "error", err)
			r.Notify(notify.Event{ID: "guard/restore-failed/" + d.RecordID + "/" + class, Kind: notify.KindError, Region: region,
				GroupID: res.GroupID, Action: "restore NOT done", Detail: err.Error(), LedgerID: d.Target})
			if !final {
				errs = append(errs, err)
			}
			continue
		}
		g.log.InfoContext(ctx, "restored at the owner's request", "decision", d.RecordID, "ledgerId", d.Target, "group", res.GroupID, "rule", res.NewRuleID)
		r.Notify(notify.Event{ID: "guard/restored/" + res.RestoreID, Kind: notify.KindRestored, Region: region,
			GroupID: res.GroupID, RuleID: res.NewRuleID, Source: res.Rule, Action: "restored, exempt until " + ex.UntilString(),
			Detail: res.Exemption, LedgerID: res.RestoreID})
	}
	return errors.Join(errs...)
}

// restoreFailure names a failed restore for its notification's id (people
// hear once of each kind of failure of a decision) and says whether it is
// final: the decision's record or backup is such that no retry can mend it,
// so it must not fail the sweep (FC would retry the sweep for nothing).
func restoreFailure(err error) (class string, final bool) {
	switch {
	case errors.Is(err, restore.ErrNotFound), errors.Is(err, restore.ErrNotRevocation), errors.Is(err, restore.ErrUnusableBackup),
		errors.Is(err, restore.ErrExposure), errors.Is(err, restore.ErrExemptionExpired), errors.Is(err, restore.ErrNoActor):
		return "refused", true
	case errors.Is(err, restore.ErrNothingCreated):
		return "nothing-created", false
	case errors.Is(err, restore.ErrUnconfirmed):
		return "unconfirmed", false
	}
	return "error", false
}

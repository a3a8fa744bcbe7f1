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
// exemption until the decision's date, so the guard then leaves it. A
// decision whose rule was already restored is done.
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
			LedgerID: d.Target, Region: region, Exemption: &ex, By: d.By + " via " + d.Via, Function: g.name, Now: r.Now()})
		switch {
		case errors.Is(err, restore.ErrAlreadyRestored), errors.Is(err, restore.ErrWrongRegion):
			continue
		case err != nil:
			g.log.ErrorContext(ctx, "restore decision failed", "decision", d.RecordID, "target", d.Target, "error", err)
			r.Notify(notify.Event{ID: "guard/restore-failed/" + d.RecordID, Kind: notify.KindError, Region: region,
				Action: "restore NOT done", Detail: err.Error(), LedgerID: d.Target})
			errs = append(errs, err)
			continue
		}
		g.log.InfoContext(ctx, "restored at the owner's request", "decision", d.RecordID, "ledgerId", d.Target, "group", res.GroupID, "rule", res.NewRuleID)
		r.Notify(notify.Event{ID: "guard/restored/" + res.RestoreID, Kind: notify.KindRestored, Region: region,
			GroupID: res.GroupID, RuleID: res.NewRuleID, Source: res.Rule, Action: "restored, exempt until " + ex.UntilString(),
			Detail: res.Exemption, LedgerID: res.RestoreID})
	}
	return errors.Join(errs...)
}

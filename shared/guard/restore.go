package guard

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/restore"
)

// restoreWindow is how far back the sweep looks for restore decisions: the
// links live a week, and a decision not carried out within that is stale.
const restoreWindow = 8 * 24 * time.Hour

// executeRestores carries out the "restore" decisions clicked in DingTalk for
// rules of this region: the revoked rule is re-authorized exactly, with an
// exemption until the decision's date, so the guard then leaves it. A
// decision whose rule was already restored is done; the first record of each
// link counts (replays are refused by the approve function).
func (g *Guard) executeRestores(ctx context.Context, r *run, region string, cloud Cloud) error {
	if r.deps.Ledger == nil {
		return nil
	}
	recs, err := decisionRecords(ctx, r, ledger.Filter{Since: r.now.Add(-restoreWindow)})
	if err != nil {
		return fmt.Errorf("guard: read decisions: %w", err)
	}
	var errs []error
	for _, rec := range recs {
		if rec.Region != "" && rec.Region != region {
			continue
		}
		d, err := rec.Decision()
		if err != nil || d.Action != "restore" {
			continue
		}
		until := d.Until
		if !until.After(r.now) {
			until = r.now.Add(30 * 24 * time.Hour)
		}
		reason := d.Reason
		if reason == "" {
			reason = "restored at the owner's request"
		}
		ex := exemption.Exemption{Owner: d.By, Reason: reason, Until: until}
		res, err := restore.Restore(ctx, cloud, r.deps.Ledger, g.cfg.Policy, restore.Request{
			LedgerID: d.Target, Region: region, Exemption: &ex, By: d.By + " via " + d.Via, Function: g.cfg.Function, Now: r.now})
		switch {
		case errors.Is(err, restore.ErrAlreadyRestored), errors.Is(err, restore.ErrWrongRegion):
			continue
		case err != nil:
			g.log.ErrorContext(ctx, "restore decision failed", "decision", rec.ID, "target", d.Target, "error", err)
			r.events = append(r.events, notify.Event{ID: "guard/restore-failed/" + rec.ID, Kind: notify.KindError, Region: region,
				Action: "restore NOT done", Detail: err.Error(), LedgerID: d.Target})
			errs = append(errs, err)
			continue
		}
		g.log.InfoContext(ctx, "restored at the owner's request", "decision", rec.ID, "ledgerId", d.Target, "group", res.GroupID, "rule", res.NewRuleID)
		r.events = append(r.events, notify.Event{ID: "guard/restored/" + res.RestoreID, Kind: notify.KindRestored, Region: region,
			GroupID: res.GroupID, RuleID: res.NewRuleID, Source: res.Rule, Action: "restored, exempt until " + ex.UntilString(),
			Detail: res.Exemption, LedgerID: res.RestoreID})
	}
	return errors.Join(errs...)
}

// decisionRecords reads the decision records matching f, oldest first, one
// per link: the first record of a link counts (two clicks racing past the
// approve function's replay check both land; the later one is void).
func decisionRecords(ctx context.Context, r *run, f ledger.Filter) ([]ledger.Record, error) {
	f.Kinds = []ledger.Kind{ledger.KindDecision}
	recs, err := r.deps.Ledger.Query(ctx, f)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Time.Before(recs[j].Time) })
	seen := map[string]bool{}
	out := recs[:0]
	for _, rec := range recs {
		if !seen[rec.EventID] {
			seen[rec.EventID] = true
			out = append(out, rec)
		}
	}
	return out, nil
}

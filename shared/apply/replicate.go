package apply

import (
	"context"
	"fmt"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// replicate carries out one of the replicator's steps on the group st:
//   - Authorize: one call for the step's rules (at most
//     plan.MaxAuthorizeBatch), then a replication record of what it added
//     (or that it failed, with the error's class);
//   - RevokeRules: a backup of every rule first (no backup, no revoke), one
//     revoke by SecurityGroupRuleId, then a revocation record per rule
//     revoked and a finding record per rule already gone or not revoked.
//
// A failure becomes an error event at once; the error makes FC retry the
// invocation, which re-reads and re-plans.
func (a *Applier) replicate(ctx context.Context, w Writer, st observe.State, p plan.Plan, s plan.Step, cause Cause, out *Outcome) error {
	ec := cause.Event
	m := a.meta(st, "", ec)
	fail := func(what string, err error) error {
		out.Events = append(out.Events, notify.Event{
			ID:   fmt.Sprintf("%s/%s/%s/%s/%s", a.Function, st.GroupID, s.Kind, notify.KindError, ec.EventID),
			Kind: notify.KindError, Severity: notify.SeverityHigh, Region: st.Region, GroupID: st.GroupID, GroupName: st.Name,
			Direction: string(s.Direction), Action: fmt.Sprintf("replica NOT in step: %s %d %s rule(s) of %s failed (%s); retried", what, len(s.Rules), s.Direction, p.Primary, ErrorClass(err)),
			Detail: err.Error(), Actor: notify.Actor{Type: ec.ActorType, UserName: ec.ActorUserName}, EventTime: ec.EventTime,
		})
		return fmt.Errorf("%s: %s %d %s rules of %s: %w", a.Function, what, len(s.Rules), s.Direction, st.GroupID, err)
	}
	if a.Ledger == nil {
		return fmt.Errorf("%s: %w", a.Function, ErrNoLedger)
	}
	perms := make([]rule.Permission, len(s.Rules))
	for i, r := range s.Rules {
		perms[i] = r.Permission()
	}
	if s.Kind == plan.Authorize {
		for i := range perms {
			perms[i].SecurityGroupRuleId, perms[i].CreateTime = "", ""
		}
		err := a.write(ctx, func(ctx context.Context) error { return w.Authorize(ctx, st.GroupID, s.Direction, perms) })
		action := "authorized"
		if err != nil {
			action = "authorize failed (" + ErrorClass(err) + ")"
		}
		rec := ledger.NewReplication(m, ledger.Replication{Set: p.Set, Primary: p.Primary, Action: action, Rules: perms, Event: ec})
		if lerr := a.Ledger.Append(ctx, rec); lerr != nil {
			a.log().ErrorContext(ctx, "record a replication", "group", st.GroupID, "action", action, "error", lerr)
		}
		if err != nil {
			return fail("authorize", err)
		}
		out.Authorized = append(out.Authorized, s.Rules...)
		a.log().InfoContext(ctx, "replicated", "group", st.GroupID, "direction", s.Direction, "rules", len(s.Rules), "primary", p.Primary)
		return nil
	}
	backups := make([]ledger.Record, len(s.Rules))
	ids := make([]string, len(s.Rules))
	reason := "not on the primary " + p.Primary + " (set " + p.Set + ")"
	for i, r := range s.Rules {
		mr := a.meta(st, r.ID, ec)
		backups[i] = ledger.NewBackup(mr, ledger.Revocation{Rule: perms[i], Reason: reason, Event: ec})
		ids[i] = r.ID
	}
	if err := a.Ledger.Append(ctx, backups...); err != nil {
		return fail("back up (so not revoke)", err)
	}
	var res cloud.RevokeResult
	err := a.write(ctx, func(ctx context.Context) (err error) {
		res, err = w.RevokeByID(ctx, st.GroupID, s.Direction, ids)
		return err
	})
	done, gone := setOf(res.Revoked), setOf(res.Gone)
	recs := make([]ledger.Record, 0, len(s.Rules))
	for i, r := range s.Rules {
		mr := a.meta(st, r.ID, ec)
		switch {
		case done[r.ID]:
			rec := ledger.NewRevocation(mr, ledger.Revocation{Rule: perms[i], Reason: reason, Event: ec, OpenedBy: ledger.Unknown, BackupID: backups[i].ID})
			recs = append(recs, rec)
			out.Ledger = append(out.Ledger, rec.ID)
		case gone[r.ID]:
			recs = append(recs, ledger.NewFinding(mr, ledger.Finding{Rule: perms[i], Reason: reason, Mode: "enforce", Action: "already gone", Event: ec}))
		case err != nil:
			recs = append(recs, ledger.NewFinding(mr, ledger.Finding{Rule: perms[i], Reason: reason, Mode: "enforce",
				Action: "revoke failed (" + ErrorClass(err) + ")", Event: ec}))
		}
	}
	out.Revoked = append(out.Revoked, res.Revoked...)
	out.Gone = append(out.Gone, res.Gone...)
	if lerr := a.Ledger.Append(ctx, recs...); lerr != nil {
		a.log().ErrorContext(ctx, "record the outcome of revokes", "group", st.GroupID, "error", lerr)
	}
	if err != nil {
		return fail("revoke", err)
	}
	return nil
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

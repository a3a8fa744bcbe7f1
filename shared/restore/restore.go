// Package restore re-authorizes a rule that porthygiene revoked, exactly as
// its ledger backup says, and records the restore.
//
// Invariants:
//   - Only a revocation record can be restored, in its own region.
//   - The group is read before acting and after. A rule that ECS would take
//     for the same one (direction, protocol, ports, source ports, peer, local
//     CIDR, policy, priority; the description is not part of it) already in
//     the group is ErrAlreadyPresent: ECS silently ignores an authorize of a
//     duplicate, so there is nothing to restore (a revoke that failed leaves
//     the rule in place). Nothing is authorized and nothing recorded.
//   - A restore record means a rule was created and found: after the
//     authorize, the group must hold a rule of that identity and of the
//     description written that was not there before. An authorize that
//     created nothing (ErrNothingCreated) or whose result cannot be re-read
//     (ErrUnconfirmed) is an error and records nothing, so it never blocks a
//     later restore.
//   - Already restored (ErrAlreadyRestored): an earlier restore record of the
//     same rule id (several backups of one rule, by concurrent invocations,
//     are the same rule) names a new rule that is still in the group. When
//     that rule was revoked again, the revocation can be restored again. For
//     an owner's decision (Request.DecidedAt), a restore recorded since the
//     decision carried it out, whether or not its rule is still there: a
//     decision is carried out once, not held against later changes.
//   - A rule that would expose a sensitive port again is refused unless an
//     exemption comes with it (the guard would otherwise close it at once); the
//     exemption is written into the rule's description as the policy's marker,
//     so the rule carries it wherever it is read.
//   - The ledger record is written after the rule is back; if that write
//     fails the error says so (the rule stays restored).
package restore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// Errors a caller can tell apart with errors.Is.
var (
	ErrNotFound         = errors.New("no such ledger record")
	ErrNotRevocation    = errors.New("not a revocation")
	ErrWrongRegion      = errors.New("ledger record is in another region")
	ErrAlreadyRestored  = errors.New("already restored")
	ErrExposure         = errors.New("refused: the rule would be exposed again")
	ErrExemptionExpired = errors.New("the exemption has already expired")
	ErrNoActor          = errors.New("restore: who restores (Request.By) is required for the ledger")
	ErrUnusableBackup   = errors.New("the backup cannot be re-authorized")
	// ErrAlreadyPresent: the rule is in the group already (Result.PresentRuleID);
	// nothing was authorized or recorded.
	ErrAlreadyPresent = errors.New("the rule is already in the group")
	// ErrNothingCreated: the authorize succeeded, yet re-reading the group
	// finds no rule it created; nothing was recorded.
	ErrNothingCreated = errors.New("the authorize returned but no matching rule is in the group")
	// ErrUnconfirmed: the authorize succeeded but the group could not be
	// re-read to find the new rule; nothing was recorded.
	ErrUnconfirmed = errors.New("the authorize returned but the group could not be re-read to find the new rule")
)

// Cloud is what a restore needs of the region's ECS API.
type Cloud interface {
	Authorize(ctx context.Context, groupID string, dir rule.Direction, perms []rule.Permission) error
	DescribeRules(ctx context.Context, groupID string) (rule.Attribute, error)
}

// Ledger is what a restore needs of the ledger.
type Ledger interface {
	Get(ctx context.Context, id string) (ledger.Record, error)
	Query(ctx context.Context, f ledger.Filter) ([]ledger.Record, error)
	Append(ctx context.Context, recs ...ledger.Record) error
}

// Request says what to restore.
type Request struct {
	LedgerID  string               // the revocation
	Region    string               // the region Cloud talks to
	Exemption *exemption.Exemption // required when the rule is an exposure
	By        string               // who restores (ledger)
	Function  string               // "cli", "guard", ...
	DryRun    bool
	Now       time.Time
	// DecidedAt is the time of the owner's decision the restore carries out
	// (the guard), zero for an operator's restore: a restore recorded at or
	// after it already carried the decision out (ErrAlreadyRestored), even if
	// its rule has been revoked again since.
	DecidedAt time.Time
}

// Result is what was (or would be) done.
type Result struct {
	LedgerID  string `json:"ledgerId"`
	RestoreID string `json:"restoreId,omitempty"`
	GroupID   string `json:"securityGroupId"`
	Region    string `json:"region"`
	OldRuleID string `json:"oldRuleId"`
	NewRuleID string `json:"newRuleId,omitempty"`
	// PresentRuleID is the rule already in the group (ErrAlreadyPresent,
	// ErrAlreadyRestored): nothing was created.
	PresentRuleID string `json:"presentRuleId,omitempty"`
	Rule          string `json:"rule"`
	Exemption     string `json:"exemption,omitempty"`
	DryRun        bool   `json:"dryRun,omitempty"`
}

// Restore re-authorizes the rule backed up in req.LedgerID.
func Restore(ctx context.Context, cloud Cloud, led Ledger, pol *policy.Policy, req Request) (Result, error) {
	if req.By == "" {
		// The ledger record needs it; refuse before changing anything.
		return Result{}, ErrNoActor
	}
	rec, err := led.Get(ctx, req.LedgerID)
	if errors.Is(err, ledger.ErrNotFound) {
		return Result{}, fmt.Errorf("%w %s", ErrNotFound, req.LedgerID)
	}
	if err != nil {
		return Result{}, fmt.Errorf("read ledger: %w", err)
	}
	if rec.Kind != ledger.KindRevocation && rec.Kind != ledger.KindBackup && rec.Kind != ledger.KindClosure {
		return Result{}, fmt.Errorf("ledger record %s is a %s, %w: only revoked or closed rules can be restored", req.LedgerID, rec.Kind, ErrNotRevocation)
	}
	// A backup restores too: when the revoke happened but its revocation
	// record could not be written, the message names the backup. If the
	// revoke did not happen, the rule is still there: ErrAlreadyPresent.
	// A closure (the reaper's) holds the closed rule as its backup.
	var rv ledger.Revocation
	switch rec.Kind {
	case ledger.KindBackup:
		rv, err = rec.Backup()
	case ledger.KindClosure:
		var c ledger.Closure
		c, err = rec.Closure()
		rv = ledger.Revocation{Rule: c.Rule, Reason: c.Reason, BackupID: c.BackupID}
	default:
		rv, err = rec.Revocation()
	}
	if err != nil {
		return Result{}, fmt.Errorf("ledger record %s: %w: %w", req.LedgerID, ErrUnusableBackup, err)
	}
	res := Result{LedgerID: req.LedgerID, GroupID: rec.GroupID, Region: rec.Region, OldRuleID: rec.RuleID, DryRun: req.DryRun}
	if rec.Region != req.Region {
		return res, fmt.Errorf("%w: %s is in %s, not %s", ErrWrongRegion, req.LedgerID, rec.Region, req.Region)
	}
	r, err := rv.Rule.Rule(rec.GroupID, rec.Region)
	if err != nil {
		return res, fmt.Errorf("ledger record %s: %w: %w", req.LedgerID, ErrUnusableBackup, err)
	}
	r.ID = ""
	if ex := req.Exemption; ex != nil {
		if !ex.Active(req.Now) {
			return res, fmt.Errorf("%w: %s", ErrExemptionExpired, ex.UntilString())
		}
		marker := ex.MarkerWithKey(pol.Exemptions.Marker)
		// An older marker (an expired exemption is often why the rule was
		// closed) would be read first and shadow the new one: replace it.
		old := regexp.MustCompile(`\[` + regexp.QuoteMeta(pol.Exemptions.Marker) + `\b[^\]]*\]`)
		r.Description = strings.TrimSpace(strings.Join(strings.Fields(old.ReplaceAllString(r.Description, "")), " ") + " " + marker)
		if len(r.Description) > 512 {
			return res, fmt.Errorf("%w: the description with the exemption marker would exceed 512 characters", ErrUnusableBackup)
		}
		res.Exemption = marker
	}
	res.Rule = fmt.Sprintf("%s %s %s %s from %s priority %d", r.Direction, r.Policy, r.Protocol, r.Ports, r.Peer, r.Priority)

	// Before acting: what is in the group now, and what earlier restores made.
	prev, err := led.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRestore}, GroupID: rec.GroupID, RuleID: rec.RuleID})
	if err != nil {
		return res, fmt.Errorf("read ledger: %w", err)
	}
	before, err := cloud.DescribeRules(ctx, rec.GroupID)
	if err != nil {
		return res, fmt.Errorf("read %s before restoring: %w", rec.GroupID, err)
	}
	had := make(map[string]bool, len(before.Rules))
	for _, cur := range before.Rules {
		had[cur.ID] = true
	}
	for _, p := range prev {
		b, err := p.Restore()
		if err != nil || b.NewRuleID == "" {
			continue // an empty restore (older binaries recorded some) proves nothing
		}
		since := !req.DecidedAt.IsZero() && !p.Time.Before(req.DecidedAt)
		if !had[b.NewRuleID] && !since {
			continue // that rule was revoked again: this revocation may be restored again
		}
		if had[b.NewRuleID] {
			res.PresentRuleID = b.NewRuleID
			return res, fmt.Errorf("rule %s of %s was %w as %s (ledger %s); nothing done", rec.RuleID, rec.GroupID, ErrAlreadyRestored, b.NewRuleID, p.ID)
		}
		return res, fmt.Errorf("rule %s of %s was %w as %s (ledger %s) after the decision, and that rule has been revoked since; nothing done",
			rec.RuleID, rec.GroupID, ErrAlreadyRestored, b.NewRuleID, p.ID)
	}
	for _, cur := range before.Rules {
		if sameIdentity(cur, r) {
			res.PresentRuleID = cur.ID
			hint := ""
			if req.Exemption != nil && cur.Description != r.Description {
				hint = "; the exemption was not added to it"
			}
			return res, fmt.Errorf("rule %s of %s: %w (%s): nothing was restored%s", rec.RuleID, rec.GroupID, ErrAlreadyPresent, cur.ID, hint)
		}
	}

	rep, err := exposure.Evaluate(pol, exposure.Input{Rules: []rule.Rule{r}, Now: req.Now})
	if err != nil {
		return res, err
	}
	if len(rep.Findings) > 0 {
		f := rep.Findings[0]
		return res, fmt.Errorf("%w: restoring %s would expose %v (%s) to the internet, and the guard would close it at once; "+
			"restore it with an exemption (--exempt-until DATE --owner NAME --reason TEXT)", ErrExposure, rec.RuleID, f.Ports, strings.Join(f.Services, ","))
	}
	perm := r.Permission()
	if req.DryRun {
		return res, nil
	}
	if err := cloud.Authorize(ctx, rec.GroupID, r.Direction, []rule.Permission{perm}); err != nil {
		return res, fmt.Errorf("authorize %s: %w", rec.GroupID, err)
	}

	// After: the rule must be there, as written (a rule of this identity
	// found now was not there before: the read before would have stopped us).
	after, err := cloud.DescribeRules(ctx, rec.GroupID)
	if err != nil {
		return res, fmt.Errorf("restore %s of %s: %w: %w; nothing recorded: look at the group and run restore again", rec.RuleID, rec.GroupID, ErrUnconfirmed, err)
	}
	for _, cur := range after.Rules {
		if !sameIdentity(cur, r) {
			continue
		}
		if cur.Description != r.Description {
			// Someone authorized the same rule between our reads: ECS
			// ignored ours as a duplicate, and the rule lacks what we wrote.
			return res, fmt.Errorf("restore %s of %s: %w: %s, the same rule with another description (%q), appeared meanwhile and ECS ignored ours as its duplicate; nothing recorded",
				rec.RuleID, rec.GroupID, ErrNothingCreated, cur.ID, cur.Description)
		}
		res.NewRuleID = cur.ID
		break
	}
	if res.NewRuleID == "" {
		return res, fmt.Errorf("restore %s of %s: %w; nothing was restored and nothing recorded", rec.RuleID, rec.GroupID, ErrNothingCreated)
	}
	body := ledger.Restore{LedgerID: req.LedgerID, Rule: perm, NewRuleID: res.NewRuleID, By: req.By}
	if ex := req.Exemption; ex != nil {
		body.Exemption = &ledger.Exemption{Until: ex.Until, Owner: ex.Owner, Reason: ex.Reason}
	}
	fn := req.Function
	if fn == "" {
		fn = "cli"
	}
	rr := ledger.NewRestore(ledger.Meta{Time: req.Now, Function: fn, GroupID: rec.GroupID, Region: rec.Region, RuleID: rec.RuleID}, body)
	if err := led.Append(ctx, rr); err != nil {
		return res, fmt.Errorf("the rule was restored but the ledger record failed (record the restore of %s by hand): %w", req.LedgerID, err)
	}
	res.RestoreID = rr.ID
	return res, nil
}

// sameIdentity is ECS's duplicate test: two rules that differ only in their
// description (or id, or creation time) are the same rule, and authorizing
// one while the other is in the group adds nothing.
func sameIdentity(a, b rule.Rule) bool {
	return a.Direction == b.Direction && a.Protocol == b.Protocol && a.Ports == b.Ports && a.SourcePorts == b.SourcePorts &&
		a.Peer == b.Peer && a.Local == b.Local && a.Policy == b.Policy && a.Priority == b.Priority
}

// Package restore re-authorizes a rule that porthygiene revoked, exactly as
// its ledger backup says, and records the restore.
//
// Invariants:
//   - Only a revocation record can be restored, in its own region.
//   - A rule id is restored once: several backups of one rule (concurrent
//     invocations) are the same rule, and a second restore is refused.
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
}

// Result is what was (or would be) done.
type Result struct {
	LedgerID  string `json:"ledgerId"`
	RestoreID string `json:"restoreId,omitempty"`
	GroupID   string `json:"securityGroupId"`
	Region    string `json:"region"`
	OldRuleID string `json:"oldRuleId"`
	NewRuleID string `json:"newRuleId,omitempty"`
	Rule      string `json:"rule"`
	Exemption string `json:"exemption,omitempty"`
	DryRun    bool   `json:"dryRun,omitempty"`
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
	if rec.Kind != ledger.KindRevocation {
		return Result{}, fmt.Errorf("ledger record %s is a %s, %w: only revoked rules can be restored", req.LedgerID, rec.Kind, ErrNotRevocation)
	}
	rv, err := rec.Revocation()
	if err != nil {
		return Result{}, fmt.Errorf("ledger record %s: %w", req.LedgerID, err)
	}
	res := Result{LedgerID: req.LedgerID, GroupID: rec.GroupID, Region: rec.Region, OldRuleID: rec.RuleID, DryRun: req.DryRun}
	if rec.Region != req.Region {
		return res, fmt.Errorf("%w: %s is in %s, not %s", ErrWrongRegion, req.LedgerID, rec.Region, req.Region)
	}
	prev, err := led.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRestore}, GroupID: rec.GroupID, RuleID: rec.RuleID})
	if err != nil {
		return res, fmt.Errorf("read ledger: %w", err)
	}
	if len(prev) > 0 {
		return res, fmt.Errorf("rule %s of %s was %w (ledger %s); nothing done", rec.RuleID, rec.GroupID, ErrAlreadyRestored, prev[0].ID)
	}
	r, err := rv.Rule.Rule(rec.GroupID, rec.Region)
	if err != nil {
		return res, fmt.Errorf("ledger record %s holds an unusable backup: %w", req.LedgerID, err)
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
			return res, fmt.Errorf("the description with the exemption marker would exceed 512 characters")
		}
		res.Exemption = marker
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
	res.Rule = fmt.Sprintf("%s %s %s %s from %s priority %d", r.Direction, r.Policy, r.Protocol, r.Ports, r.Peer, r.Priority)
	if req.DryRun {
		return res, nil
	}
	if err := cloud.Authorize(ctx, rec.GroupID, r.Direction, []rule.Permission{perm}); err != nil {
		return res, fmt.Errorf("authorize %s: %w", rec.GroupID, err)
	}
	if attr, err := cloud.DescribeRules(ctx, rec.GroupID); err == nil {
		for _, cur := range attr.Rules {
			if sameRule(cur, r) {
				res.NewRuleID = cur.ID
			}
		}
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

// sameRule: the rule as re-authorized (the API gives it a new id).
func sameRule(a, b rule.Rule) bool {
	return a.Direction == b.Direction && a.Protocol == b.Protocol && a.Ports == b.Ports && a.Peer.Kind == b.Peer.Kind &&
		a.Peer.Prefix == b.Peer.Prefix && a.Peer.ID == b.Peer.ID && a.Policy == b.Policy && a.Priority == b.Priority &&
		a.Description == b.Description
}

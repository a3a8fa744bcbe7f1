package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// restoreResult is what `restore --json` prints.
type restoreResult struct {
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

func runRestore(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("restore", "--id LEDGER_ID [--exempt-until DATE --owner NAME --reason TEXT] [flags]", env.stderr)
	var cf cloudFlags
	cf.register(fs)
	id := fs.String("id", "", "ledger id of the revocation to undo (required)")
	until := fs.String("exempt-until", "", "keep the restored rule open until this date (YYYY-MM-DD, inclusive); required when the rule exposes a sensitive port")
	owner := fs.String("owner", "", "who owns the exemption")
	reason := fs.String("reason", "", "why the rule must stay open")
	policyPath := fs.String("policy", "", "policy file (default: the built-in policy)")
	dryRun := fs.Bool("dry-run", false, "print what would be restored, change nothing")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return usagef("--id is required")
	}
	ledgerID, err := ledger.NormalizeID(*id)
	if err != nil {
		return usagef("--id %q: %v", *id, err)
	}
	pol := policy.Default()
	if *policyPath != "" {
		if pol, err = policy.Load(*policyPath); err != nil {
			return usageError{err}
		}
	}
	var ex *exemption.Exemption
	if *until != "" || *owner != "" || *reason != "" {
		d, err := time.Parse("2006-01-02", *until)
		if err != nil {
			return usagef("--exempt-until %q: want a date YYYY-MM-DD (give --exempt-until, --owner and --reason together)", *until)
		}
		e := exemption.Exemption{Owner: *owner, Reason: *reason, Until: d}
		if err := e.Validate(); err != nil {
			return usagef("exemption: %v (give --exempt-until YYYY-MM-DD, --owner and --reason together)", err)
		}
		ex = &e
	}
	c, err := cf.open(env, true)
	if err != nil {
		return err
	}
	res, err := restore(ctx, c, pol, ledgerID, ex, *dryRun, time.Now().UTC())
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env, res)
	}
	verb := "restored"
	if res.DryRun {
		verb = "would restore"
	}
	fmt.Fprintf(env.stdout, "%s %s in %s (%s): %s\n", verb, res.OldRuleID, res.GroupID, res.Region, res.Rule)
	if res.NewRuleID != "" {
		fmt.Fprintf(env.stdout, "new rule id: %s\n", res.NewRuleID)
	}
	if res.Exemption != "" {
		fmt.Fprintf(env.stdout, "exempt: %s\n", res.Exemption)
	}
	if res.RestoreID != "" {
		fmt.Fprintf(env.stdout, "ledger: %s\n", res.RestoreID)
	}
	return nil
}

// restore re-authorizes a revoked rule exactly as it was backed up. A rule
// that would be an exposure is refused without an exemption (the guard would
// close it again); with one, the exemption marker is added to its description.
func restore(ctx context.Context, c *conn, pol *policy.Policy, id string, ex *exemption.Exemption, dryRun bool, now time.Time) (restoreResult, error) {
	rec, err := c.ledger.Get(ctx, id)
	if err != nil {
		if errors.Is(err, ledger.ErrNotFound) {
			return restoreResult{}, fmt.Errorf("no ledger record %s", id)
		}
		return restoreResult{}, fmt.Errorf("read ledger: %w", err)
	}
	if rec.Kind != ledger.KindRevocation {
		return restoreResult{}, fmt.Errorf("ledger record %s is a %s, not a revocation: only revoked rules can be restored", id, rec.Kind)
	}
	rv, err := rec.Revocation()
	if err != nil {
		return restoreResult{}, fmt.Errorf("ledger record %s: %w", id, err)
	}
	res := restoreResult{LedgerID: id, GroupID: rec.GroupID, Region: rec.Region, OldRuleID: rec.RuleID, DryRun: dryRun}
	if rec.Region != c.region {
		return res, usagef("ledger record %s is in region %s; pass --region %s", id, rec.Region, rec.Region)
	}
	// A rule id is restored once: several backups of one rule (concurrent
	// invocations) are the same rule.
	prev, err := c.ledger.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRestore}, GroupID: rec.GroupID, RuleID: rec.RuleID})
	if err != nil {
		return res, fmt.Errorf("read ledger: %w", err)
	}
	if len(prev) > 0 {
		return res, fmt.Errorf("rule %s of %s was already restored (ledger %s); nothing done", rec.RuleID, rec.GroupID, prev[0].ID)
	}
	r, err := rv.Rule.Rule(rec.GroupID, rec.Region)
	if err != nil {
		return res, fmt.Errorf("ledger record %s holds an unusable backup: %w", id, err)
	}
	r.ID = ""
	if ex != nil {
		if !ex.Active(now) {
			return res, usagef("--exempt-until %s is in the past", ex.UntilString())
		}
		marker := ex.MarkerWithKey(pol.Exemptions.Marker)
		r.Description = strings.TrimSpace(r.Description + " " + marker)
		if len(r.Description) > 512 {
			return res, fmt.Errorf("the description with the exemption marker would exceed 512 characters")
		}
		res.Exemption = marker
	}
	rep, err := exposure.Evaluate(pol, exposure.Input{Rules: []rule.Rule{r}, Now: now})
	if err != nil {
		return res, err
	}
	if len(rep.Findings) > 0 {
		f := rep.Findings[0]
		return res, fmt.Errorf("refused: restoring %s would expose %v (%s) to the internet again, and the guard would close it at once; "+
			"add --exempt-until DATE --owner NAME --reason TEXT to restore it with an exemption", rec.RuleID, f.Ports, strings.Join(f.Services, ","))
	}
	perm := r.Permission()
	res.Rule = describeRule(r)
	if dryRun {
		return res, nil
	}
	if err := c.ecs.Authorize(ctx, rec.GroupID, r.Direction, []rule.Permission{perm}); err != nil {
		return res, fmt.Errorf("authorize %s: %w", rec.GroupID, err)
	}
	if attr, err := c.ecs.DescribeRules(ctx, rec.GroupID); err == nil {
		for _, cur := range attr.Rules {
			if sameRule(cur, r) {
				res.NewRuleID = cur.ID
			}
		}
	}
	body := ledger.Restore{LedgerID: id, Rule: perm, NewRuleID: res.NewRuleID, By: c.user}
	if ex != nil {
		body.Exemption = &ledger.Exemption{Until: ex.Until, Owner: ex.Owner, Reason: ex.Reason}
	}
	rr := ledger.NewRestore(ledger.Meta{Time: now, Function: "cli", GroupID: rec.GroupID, Region: rec.Region, RuleID: rec.RuleID}, body)
	if err := c.ledger.Append(ctx, rr); err != nil {
		return res, fmt.Errorf("the rule was restored but the ledger record failed (restore %s by hand in the ledger): %w", id, err)
	}
	res.RestoreID = rr.ID
	return res, nil
}

func sameRule(a, b rule.Rule) bool {
	return a.Direction == b.Direction && a.Protocol == b.Protocol && a.Ports == b.Ports && a.Peer.Kind == b.Peer.Kind &&
		a.Peer.Prefix == b.Peer.Prefix && a.Peer.ID == b.Peer.ID && a.Policy == b.Policy && a.Priority == b.Priority && a.Description == b.Description
}

func describeRule(r rule.Rule) string {
	return fmt.Sprintf("%s %s %s %s from %s priority %d", r.Direction, r.Policy, r.Protocol, r.Ports, r.Peer, r.Priority)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/restore"
)

// restoreResult is what `restore --json` prints.
type restoreResult = restore.Result

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
	res, err := restoreRule(ctx, c, pol, ledgerID, ex, *dryRun, time.Now().UTC())
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

// restoreRule runs the restore and maps its errors to exit codes.
func restoreRule(ctx context.Context, c *conn, pol *policy.Policy, id string, ex *exemption.Exemption, dryRun bool, now time.Time) (restoreResult, error) {
	res, err := restore.Restore(ctx, c.ecs, c.ledger, pol, restore.Request{LedgerID: id, Region: c.region, Exemption: ex, By: c.user, Function: "cli", DryRun: dryRun, Now: now})
	switch {
	case errors.Is(err, restore.ErrWrongRegion):
		return res, usagef("%v (pass --region %s)", err, res.Region)
	case errors.Is(err, restore.ErrExemptionExpired):
		return res, usagef("--exempt-until: %v", err)
	case errors.Is(err, restore.ErrAlreadyPresent) && res.Exemption != "":
		// Its revoke failed, or someone put it back: to keep it open, the
		// rule itself must carry the exemption.
		return res, fmt.Errorf("%w (to exempt it, add %s to the description of %s)", err, res.Exemption, res.PresentRuleID)
	}
	return res, err
}

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
)

// ledgerEntry is one line of `porthygiene ledger`.
type ledgerEntry struct {
	ID       string          `json:"id"`
	Time     time.Time       `json:"time"`
	Kind     ledger.Kind     `json:"kind"`
	Function string          `json:"function"`
	Region   string          `json:"region"`
	GroupID  string          `json:"securityGroupId"`
	RuleID   string          `json:"ruleId"`
	Summary  string          `json:"summary"`
	Body     json.RawMessage `json:"body"`
}

func runLedger(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("ledger", "[--since DURATION|DATE] [--kind KIND] [--group SG] [--json] [flags]", env.stderr)
	var cf cloudFlags
	cf.register(fs)
	since := fs.String("since", "7d", "how far back: a duration (36h, 7d) or an RFC 3339 time or a date")
	kinds := fs.String("kind", "", "comma-separated kinds (revocation, restore, finding, event, decision, ...); default all but event")
	group := fs.String("group", "", "only this security group")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	now := time.Now().UTC()
	from, err := parseSince(*since, now)
	if err != nil {
		return usagef("--since %q: %v", *since, err)
	}
	f := ledger.Filter{GroupID: *group, Since: from}
	for _, k := range strings.Split(*kinds, ",") {
		if k = strings.TrimSpace(k); k != "" {
			if !slices.Contains(ledger.Kinds, ledger.Kind(k)) {
				return usagef("--kind %q: %v (want one of %v)", k, ledger.ErrUnknownKind, ledger.Kinds)
			}
			f.Kinds = append(f.Kinds, ledger.Kind(k))
		}
	}
	c, err := cf.open(env, true)
	if err != nil {
		return err
	}
	recs, err := c.ledger.Query(ctx, f)
	if err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	var out []ledgerEntry
	for _, r := range recs {
		if len(f.Kinds) == 0 && r.Kind == ledger.KindEvent {
			continue // bookkeeping of processed events; ask with --kind event
		}
		out = append(out, ledgerEntry{ID: r.ID, Time: r.Time, Kind: r.Kind, Function: r.Function, Region: r.Region,
			GroupID: r.GroupID, RuleID: r.RuleID, Summary: summarize(r), Body: r.Body})
	}
	if *asJSON {
		if out == nil {
			out = []ledgerEntry{}
		}
		return printJSON(env, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(env.stdout, "no ledger records")
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tID\tKIND\tGROUP\tRULE\tSUMMARY")
	for _, e := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.ID, e.Kind, e.GroupID, e.RuleID, e.Summary)
	}
	return tw.Flush()
}

func summarize(r ledger.Record) string {
	switch r.Kind {
	case ledger.KindRevocation:
		if b, err := r.Revocation(); err == nil {
			// Who opened the rule, as far as the cloud says: never the
			// principal of the unrelated event that happened to start the run.
			who := cmp.Or(b.OpenedBy, ledger.Unknown)
			return fmt.Sprintf("%s (opened by %s; revoked on %s) — undo: porthygiene restore --id %s", b.Reason, who, cmp.Or(b.Event.EventName, b.Event.Source), r.ID)
		}
	case ledger.KindBackup:
		if b, err := r.Backup(); err == nil {
			return fmt.Sprintf("backup before revoking: %s", b.Reason)
		}
	case ledger.KindRestore:
		if b, err := r.Restore(); err == nil {
			s := fmt.Sprintf("restored %s by %s as %s", b.LedgerID, b.By, b.NewRuleID)
			if b.Exemption != nil {
				s += fmt.Sprintf(", exempt until %s (%s: %s)", b.Exemption.Until.Format("2006-01-02"), b.Exemption.Owner, b.Exemption.Reason)
			}
			return s
		}
	case ledger.KindFinding:
		if b, err := r.Finding(); err == nil {
			return fmt.Sprintf("%s: %s (%s)", b.Action, b.Reason, b.Mode)
		}
	case ledger.KindDecision:
		if b, err := r.Decision(); err == nil {
			return fmt.Sprintf("%s %s by %s via %s", b.Action, b.Target, b.By, b.Via)
		}
	case ledger.KindEvent:
		if b, err := r.Event(); err == nil {
			return fmt.Sprintf("%s %s: %s", b.Source, b.EventName, b.Outcome)
		}
	}
	return ""
}

// parseSince accepts 36h, 7d, 2026-11-01 or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("want a duration (36h, 7d), a date or an RFC 3339 time")
	}
	return now.Add(-d), nil
}

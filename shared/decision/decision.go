// Package decision is the owners' decisions on rules, as the approve function
// records them in the ledger and every function honours them: keep a rule
// open until a date, close it now, or restore a revoked or closed rule.
//
// Reading rules: the first record of each decision link counts (two clicks
// racing past the approve function's replay check both land; the later one
// is void), and per rule the latest decision wins.
package decision

import (
	"cmp"
	"slices"
	"time"

	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/ledger"
)

// Action is what an owner decided; its value is the ledger's wire form
// (ledger.Decision.Action).
type Action string

const (
	// Keep keeps a rule open until Decision.Until (an exemption).
	Keep Action = "exempt"
	// Close closes a rule now, whatever the mode.
	Close Action = "close"
	// Restore puts a revoked or closed rule back (Decision.Target names the
	// ledger record holding its backup) with an exemption until Until.
	Restore Action = "restore"
)

// Valid reports whether a is one of the three actions.
func (a Action) Valid() bool { return a == Keep || a == Close || a == Restore }

// Decision is one recorded decision.
type Decision struct {
	Action   Action
	GroupID  string
	RuleID   string // empty for a decision on a ledger record only (restore)
	Region   string
	Target   string // the ledger id (or "group/rule") decided on
	By, Via  string
	Reason   string
	Until    time.Time // keep, restore: how long the rule stays open
	At       time.Time // when it was recorded
	RecordID string    // the decision's own ledger id
	Link     string    // the link it came through (the record's EventID)
}

// Active reports whether a Keep decision still exempts its rule at now.
func (d Decision) Active(now time.Time) bool { return d.Action == Keep && d.Until.After(now) }

// FromRecords reads decision records (other kinds and undecodable bodies are
// skipped), oldest first, one per link: the first record of a link counts.
func FromRecords(recs []ledger.Record) []Decision {
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(a, b ledger.Record) int { return a.Time.Compare(b.Time) })
	seen := map[string]bool{}
	var out []Decision
	for _, rec := range recs {
		if rec.Kind != ledger.KindDecision {
			continue
		}
		body, err := rec.Decision()
		if err != nil || !Action(body.Action).Valid() {
			continue
		}
		if rec.EventID != "" {
			if seen[rec.EventID] {
				continue
			}
			seen[rec.EventID] = true
		}
		out = append(out, Decision{Action: Action(body.Action), GroupID: rec.GroupID, RuleID: rec.RuleID, Region: rec.Region,
			Target: body.Target, By: body.By, Via: body.Via, Reason: body.Reason, Until: body.Until, At: rec.Time,
			RecordID: rec.ID, Link: rec.EventID})
	}
	return out
}

// Set is the decisions in force for the rules of some groups: per rule, the
// latest. The zero value holds none.
type Set struct {
	byRule map[ref]Decision
}

type ref struct{ group, rule string }

// NewSet keeps, per (group, rule), the latest of ds (ds oldest first, as
// FromRecords returns them). Decisions without a rule id are not kept.
func NewSet(ds []Decision) Set {
	s := Set{byRule: map[ref]Decision{}}
	for _, d := range ds {
		if d.RuleID == "" {
			continue
		}
		s.byRule[ref{d.GroupID, d.RuleID}] = d
	}
	return s
}

// For returns the decision in force for one rule.
func (s Set) For(groupID, ruleID string) (Decision, bool) {
	d, ok := s.byRule[ref{groupID, ruleID}]
	return d, ok
}

// Exemptions returns the active Keep decisions as exemptions, by rule, in
// the form the evaluator takes.
func (s Set) Exemptions(now time.Time) map[exposure.RuleRef]exemption.Exemption {
	out := map[exposure.RuleRef]exemption.Exemption{}
	for r, d := range s.byRule {
		if d.Active(now) {
			out[exposure.RuleRef{GroupID: r.group, RuleID: r.rule}] = exemption.Exemption{Owner: d.By, Reason: d.Reason, Until: d.Until}
		}
	}
	return out
}

// Closing returns the rules of group to close at their owners' request, in
// rule-id order, with the reason to record.
func (s Set) Closing(groupID string) []Decision {
	var out []Decision
	for r, d := range s.byRule {
		if r.group == groupID && d.Action == Close {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Decision) int { return cmp.Compare(a.RuleID, b.RuleID) })
	return out
}

// Len is the number of rules with a decision.
func (s Set) Len() int { return len(s.byRule) }

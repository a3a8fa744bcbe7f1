package guard

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// Planner is the guard's pure planner: a group's observed state, the policy
// and the time in, the plan out. No I/O, no clock.
type Planner struct {
	pol  *policy.Policy
	eval *exposure.Evaluator
}

// NewPlanner compiles the policy; it must be valid.
func NewPlanner(p *policy.Policy) (*Planner, error) {
	ev, err := exposure.New(p)
	if err != nil {
		return nil, err
	}
	return &Planner{pol: p, eval: ev}, nil
}

// NeedsContext reports whether the group's tags and decisions must be read
// before planning. Tags and "keep" decisions only take exposure away: a
// group with no finding without them has none with them, and most events
// touch groups that stay clean, so the guard reads them only when the rules
// alone have a finding.
//
// An exemption on an exposing rule needs them too: every exemption is
// announced once, and the ledger says whether it was.
func (p *Planner) NeedsContext(st *observe.State, now time.Time) bool {
	if st.Complete() {
		return false
	}
	rep := p.eval.Evaluate(st.Input(now))
	return len(rep.Findings) > 0 || len(rep.Exempted) > 0
}

// Plan decides, for every finding of the group, by the guard's mode: revoke
// it (enforce, or an owner's "close now"), report it (notify mode, or a
// finding the evaluator cannot judge), or only log it (dry-run). An owner's
// "close now" also closes a rule the policy alone would leave open.
//
// The plan is complete: the evaluator credits each exposed port to the first
// rule that decides it, so a rule can hide behind another (ALL to the world
// hides SSH to the world). Plan therefore plans again on the group as it
// would be after the revokes, until nothing more is found, and the plan
// closes every exposing rule at once, not one per run.
func (p *Planner) Plan(st observe.State, now time.Time) plan.Plan {
	out := p.plan1(st, now)
	planned := map[string]bool{}
	for _, s := range out.Steps {
		planned[s.Finding.RuleID] = true
	}
	for range len(st.Rules) {
		if out.Changes() == 0 {
			break
		}
		next := st
		next.Rules = plan.Simulate(st.Rules, out)
		added := false
		for _, s := range p.plan1(next, now).Steps {
			if strings.HasPrefix(s.Finding.RuleID, plan.SimulatedPrefix) {
				continue
			}
			if !planned[s.Finding.RuleID] {
				planned[s.Finding.RuleID] = true
				out.Steps = append(out.Steps, s)
				added = true
				continue
			}
			// With the rules in front of it gone, a rule reported for its
			// minor ports (22/30 behind 22/22: "ports 24-30", low) shows what
			// it really opens (ssh): it is revoked, not reported.
			if s.Kind == plan.Revoke {
				for i, old := range out.Steps {
					if old.Finding.RuleID == s.Finding.RuleID && old.Kind == plan.Report {
						out.Steps[i] = s
						added = true
					}
				}
			}
		}
		if !added {
			break
		}
	}
	p.complete(st, now, &out)
	return out
}

// complete makes each exposure's finding name every port its rule exposes,
// also those another exposing rule of the plan decides first (ALL to the
// world behind SSH to the world: the message for ALL lists ssh too). It
// judges each rule with the plan's other exposing rules gone.
func (p *Planner) complete(st observe.State, now time.Time, out *plan.Plan) {
	exposing := map[string]bool{}
	for _, s := range out.Steps {
		if s.Kind == plan.Revoke || s.Kind == plan.Report || s.Kind == plan.DryRun {
			exposing[s.Finding.RuleID] = true
		}
	}
	// An exempt rule exposes too: an ALL rule behind an exempt SSH rule
	// still opens ssh, and its message must say so.
	for _, f := range p.eval.Evaluate(st.Input(now)).Exempted {
		exposing[f.RuleID] = true
	}
	if len(exposing) < 2 {
		return
	}
	for i, s := range out.Steps {
		if !exposing[s.Finding.RuleID] || s.Kind == plan.AnnounceExemption || s.Kind == plan.AnnounceExpiring {
			continue
		}
		alone := st
		alone.Rules = slices.DeleteFunc(slices.Clone(st.Rules), func(r rule.Rule) bool { return exposing[r.ID] && r.ID != s.Finding.RuleID })
		for _, f := range p.eval.Evaluate(alone.Input(now)).Findings {
			if f.RuleID == s.Finding.RuleID && len(f.Exposed) > len(s.Finding.Exposed) {
				if s.Finding.Reason != "" && !strings.Contains(s.Finding.Reason, "open to the internet") {
					f.Reason = s.Finding.Reason // an owner's "close now" keeps its reason
				}
				out.Steps[i].Finding = f
			}
		}
	}
}

// plan1 is one pass of Plan over the group as it is.
func (p *Planner) plan1(st observe.State, now time.Time) plan.Plan {
	out := plan.Plan{Region: st.Region, GroupID: st.GroupID}
	rep := p.eval.Evaluate(st.Input(now))
	out.Steps = append(out.Steps, p.announcements(&st, rep.Exempted, now)...)
	findings := rep.Findings
	closing := map[string]string{}
	for _, d := range st.Decisions.Closing(st.GroupID) {
		closing[d.RuleID] = "closed at the owner's request (" + d.Via + ")"
	}
	if len(findings) == 0 {
		// No finding, nothing to close: a "close now" stands on a finding's
		// occasion, as the notification that carried its button did.
		return out
	}
	for _, ru := range st.Rules {
		reason, ok := closing[ru.ID]
		if !ok || slices.ContainsFunc(findings, func(f exposure.Finding) bool { return f.RuleID == ru.ID }) {
			continue
		}
		findings = append(findings, exposure.Finding{GroupID: st.GroupID, RuleID: ru.ID, Direction: ru.Direction, Protocol: ru.Protocol,
			PortRange: ru.Ports.String(), Source: ru.Peer.String(), Priority: ru.Priority, Reason: reason, Rule: ru})
	}
	for _, f := range findings {
		_, closeNow := closing[f.RuleID]
		// By the policy's scopes (the group's tags) and the finding's
		// severity: the shipped policy enforces only critical and high.
		choice := p.pol.ChooseMode(policy.FunctionGuard, f.Severity, st.Tags)
		mode := choice.Mode
		note := "reported, not changed (" + string(mode) + " mode)"
		switch {
		case choice.BySeverity:
			note = "reported, not changed: the policy enforces only " + severities(p.pol, choice) + " findings here"
		case choice.Scope >= 0 && mode != p.pol.Modes.Guard:
			note = fmt.Sprintf("reported, not changed (%s mode for groups tagged %s)", mode, matchText(p.pol.Scopes[choice.Scope].Match))
		}
		switch {
		case mode == policy.ModeDryRun:
			out.Steps = append(out.Steps, plan.Step{Kind: plan.DryRun, Finding: f})
		case f.Unknown && !closeNow:
			out.Steps = append(out.Steps, plan.Step{Kind: plan.Report, Finding: f, Note: "reported, not changed: a prefix list it names could not be read"})
		case mode == policy.ModeNotify && !closeNow:
			out.Steps = append(out.Steps, plan.Step{Kind: plan.Report, Finding: f, Note: note})
		case !closeNow && mightBeKept(&st, f.Rule, now):
			out.Steps = append(out.Steps, plan.Step{Kind: plan.Report, Finding: f,
				Note: "NOT revoked: the owners' decisions could not be read (" + st.DecisionsErr.Error() + "), and an owner may have chosen to keep this rule; revoked once the ledger answers"})
		default:
			s := plan.Step{Kind: plan.Revoke, Finding: f}
			if p.pol.Replace != nil {
				s.Replacement, s.Note = p.replacementsFor(&st, f.Rule)
			}
			out.Steps = append(out.Steps, s)
		}
	}
	return out
}

// keepWindow is how old a rule must be before an owner could have been
// asked about it (a message with a "keep" button) and answered.
const keepWindow = time.Minute

// mightBeKept reports whether, with the owners' decisions unreadable, r may
// be a rule an owner chose to keep: one older than keepWindow (or of unknown
// age). A rule just opened cannot have been kept, so a fresh exposure is
// revoked whatever the ledger's state; an older one is reported instead,
// never revoked against a decision the guard cannot see.
func mightBeKept(st *observe.State, r rule.Rule, now time.Time) bool {
	if st.DecisionsKnown || st.DecisionsErr == nil {
		return false
	}
	return r.CreateTime.IsZero() || r.CreateTime.Before(now.Add(-keepWindow))
}

// announcements are the exemptions to tell people about: each one the
// ledger has no notice of (its first notice fixes when it ends, at most the
// policy's maximum length from now), and each one ending within
// exemptions.warnDays. Without the ledger read, nothing: a run that cannot
// know what was announced would announce it again every time.
func (p *Planner) announcements(st *observe.State, exempted []exposure.Finding, now time.Time) []plan.Step {
	if !st.DecisionsKnown {
		return nil
	}
	var out []plan.Step
	for _, f := range exempted {
		if f.Exempt == nil {
			continue
		}
		k := exposure.ExemptionKey{GroupID: st.GroupID, RuleID: f.RuleID, Source: f.Exempt.Source, Until: f.Exempt.Asked.UTC()}
		switch {
		case !st.Announced(k, "announced"):
			note := "exempt until " + f.Exempt.UntilString()
			if f.Exempt.Cut() {
				note += fmt.Sprintf(" (asked until %s; cut to the policy's maximum of %d days)", f.Exempt.Asked.UTC().Format("2006-01-02"), p.pol.Exemptions.MaxDays)
			}
			out = append(out, plan.Step{Kind: plan.AnnounceExemption, Finding: f, Note: note})
		case p.pol.ExpiringSoon(now, f.Exempt.Until) && !st.Announced(k, "expiring"):
			out = append(out, plan.Step{Kind: plan.AnnounceExpiring, Finding: f,
				Note: "exemption ends " + f.Exempt.UntilString() + "; the guard then closes the rule unless it is renewed"})
		}
	}
	return out
}

// severities names the enforce list that applied to a choice.
func severities(pol *policy.Policy, c policy.ModeChoice) string {
	list := pol.Enforce.Of(policy.FunctionGuard)
	if c.Scope >= 0 {
		if l := pol.Scopes[c.Scope].Enforce.Of(policy.FunctionGuard); l != nil {
			list = l
		}
	}
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// matchText is a scope's tag match as k=v, sorted.
func matchText(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

// replacementsFor re-authorizes the same ports for each trusted source. A
// trusted prefix list is used only while its entries are known and hold no
// internet-wide addresses by the policy's own thresholds: its entries live
// in ECS, where anyone who may edit the list could widen it to the world,
// and the guard would then re-create the exposure it closed. note says why
// a source was left out.
func (p *Planner) replacementsFor(st *observe.State, ru rule.Rule) (out []rule.Permission, note string) {
	rp := *p.pol.Replace
	if id := rp.TrustedPrefixList; id != "" {
		entries, known := st.PrefixLists[id]
		switch {
		case !known:
			note = "not replaced by trusted prefix list " + id + ": its entries could not be read"
			rp.TrustedPrefixList = ""
		case p.pol.Thresholds.InternetWide(entries...):
			note = "not replaced by trusted prefix list " + id + ": it now holds internet-wide addresses"
			rp.TrustedPrefixList = ""
		}
	}
	return replacementsOf(ru, rp), note
}

// replacementsOf re-authorizes the same ports for each trusted source of rp.
func replacementsOf(ru rule.Rule, rp policy.Replace) []rule.Permission {
	var out []rule.Permission
	for _, p := range rp.TrustedPrefixes() {
		if p.Addr().Is4() != (ru.Peer.Kind == rule.PeerCIDR4) {
			continue
		}
		nr := ru
		nr.ID = ""
		nr.Peer = rule.Peer{Kind: ru.Peer.Kind, Prefix: p}
		nr.Description = strings.TrimSpace("replaces an internet-wide rule " + ru.ID)
		out = append(out, nr.Permission())
	}
	if rp.TrustedPrefixList != "" {
		nr := ru
		nr.ID = ""
		nr.Peer = rule.Peer{Kind: rule.PeerPrefixList, ID: rp.TrustedPrefixList}
		nr.Description = "replaces an internet-wide rule " + ru.ID
		out = append(out, nr.Permission())
	}
	return out
}

package reaper

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/decision"
	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// Verdict is what the reaper thinks of one rule; its value is the report's
// JSON contract.
type Verdict string

const (
	Used      Verdict = "used"
	Unused    Verdict = "unused"
	Unknown   Verdict = "unknown"
	Young     Verdict = "young"
	Exempt    Verdict = "exempt"
	Redundant Verdict = "redundant"
	Announced Verdict = "announced"
	Closed    Verdict = "closed"
)

// Defaults of Settings.
const (
	DefaultMinAge       = 30 * 24 * time.Hour
	DefaultLookbackDays = 30
	DefaultGrace        = 7 * 24 * time.Hour
	DefaultMaxCloses    = 20
)

// Settings are the reaper's knobs; zero fields take the defaults.
type Settings struct {
	// MinAge: a rule younger than this (or than the look-back) is "young",
	// never announced.
	MinAge time.Duration
	// LookbackDays is how many complete UTC days of evidence a verdict needs.
	LookbackDays int
	// Grace is how long an announcement stands before the rule is closed.
	Grace time.Duration
	// MaxCloses caps the closures of one run (a pace: the rest wait for the
	// next run, none is dropped).
	MaxCloses int
}

// WithDefaults fills the zero fields.
func (s Settings) WithDefaults() Settings {
	s.MinAge = cmp.Or(s.MinAge, DefaultMinAge)
	s.LookbackDays = cmp.Or(s.LookbackDays, DefaultLookbackDays)
	s.Grace = cmp.Or(s.Grace, DefaultGrace)
	s.MaxCloses = cmp.Or(s.MaxCloses, DefaultMaxCloses)
	return s
}

// Evidence is what the reaper knows of one group beyond its rules: its
// flow-log coverage and traffic over the look-back [From, To) (whole UTC
// days), and the open announcements of its rules. The engine hands it to
// the planner in observe.State.Evidence.
type Evidence struct {
	From, To time.Time
	// Covered is how many days of the look-back the summaries say every ENI
	// of the group had an active flow log all day and no SKIPDATA window.
	Covered int
	// Gaps say why the other days are not covered, ENI by ENI.
	Gaps []Gap
	// ENIs is how many network interfaces the latest summary found on the
	// group.
	ENIs int
	// IPv6 reports whether IPv6 flow records were seen on the group's ENIs.
	IPv6 bool
	// Use is the accepted inbound traffic attributed to each rule, by id.
	Use map[string]Use
	// Open is the open announcement of each rule, by id.
	Open map[string]Announcement
	// Changed is when an announcement of a rule was cancelled because the
	// rule had changed, by id: its look-back restarts then (the evidence
	// before it is of another rule).
	Changed map[string]time.Time
}

// Days is the look-back in days.
func (e *Evidence) Days() int { return int(e.To.Sub(e.From) / (24 * time.Hour)) }

// Gap is one day (YYYY-MM-DD) an ENI (empty: the whole group) was not
// covered, and why.
type Gap struct {
	Day    string `json:"day"`
	ENI    string `json:"eni,omitempty"`
	Reason string `json:"reason"` // no-flow-log | skipdata | no-summary
}

// Use is a rule's traffic over the look-back.
type Use struct {
	Hits     int64
	LastSeen time.Time
}

// Announcement is an open announcement: the rule as announced, when, and
// when it closes.
type Announcement struct {
	ID       string
	At       time.Time
	ClosesAt time.Time
	Rule     rule.Permission
}

// RuleVerdict is one rule's verdict and the step it leads to.
type RuleVerdict struct {
	Rule     rule.Rule
	Verdict  Verdict
	Reason   string
	LastSeen time.Time
	// Announcement is the rule's open announcement, if any.
	Announcement *Announcement
	// Step is the lifecycle step planned ("" none).
	Step plan.Kind
}

// Planner is the reaper's pure planner. Build it with NewPlanner.
type Planner struct {
	pol *policy.Policy
	s   Settings
}

// NewPlanner builds a planner over a valid policy (nil: the default).
func NewPlanner(pol *policy.Policy, s Settings) (*Planner, error) {
	if pol == nil {
		pol = policy.Default()
	}
	s = s.WithDefaults()
	if s.MinAge < 0 || s.LookbackDays < 1 || s.Grace < 0 || s.MaxCloses < 0 {
		return nil, fmt.Errorf("reaper: settings %+v: want a positive look-back and no negative value", s)
	}
	return &Planner{pol: pol, s: s}, nil
}

// Settings are the planner's settings, defaults filled in.
func (p *Planner) Settings() Settings { return p.s }

// NeedsContext reports whether the group's tags (modes, exemptions) and
// decisions (keep, close) must be read: only when a rule could take a step —
// one has an open announcement, or one is unused on the evidence alone
// (judged without tags and decisions, which can only make it exempt). A
// group without evidence, or whose rules are all used, unknown, young or
// redundant, has nothing to do and costs no ledger read.
func (p *Planner) NeedsContext(st *observe.State, now time.Time) bool {
	ev, _ := st.Evidence.(*Evidence)
	if ev == nil {
		return false
	}
	if len(ev.Open) > 0 {
		return true
	}
	bare := *st
	bare.Tags, bare.Decisions = nil, decision.Set{}
	for i, r := range bare.Rules {
		if r.Direction != rule.Ingress || r.Policy == rule.Drop {
			continue
		}
		if v, _ := p.base(bare, ev, i, now); v == Unused {
			return true
		}
	}
	return false
}

// Plan plans the lifecycle steps of one group.
func (p *Planner) Plan(st observe.State, now time.Time) plan.Plan {
	out := plan.Plan{Region: st.Region, GroupID: st.GroupID}
	mode := p.pol.ModeFor(policy.FunctionReaper, policy.SeverityLow, st.Tags)
	for _, v := range p.Judge(st, now) {
		if v.Step == "" {
			continue
		}
		s := plan.Step{Kind: v.Step, Finding: finding(v), Lifecycle: &plan.Lifecycle{Evidence: v.Reason}}
		if a := v.Announcement; a != nil {
			s.Lifecycle.AnnouncementID, s.Lifecycle.ClosesAt = a.ID, a.ClosesAt
		}
		switch v.Step {
		case plan.Announce:
			s.Lifecycle.ClosesAt = now.Add(p.s.Grace).UTC()
			s.Note = "unused: announced, closes " + s.Lifecycle.ClosesAt.Format(time.RFC3339)
			if mode != policy.ModeEnforce {
				s.Note += " if the reaper is then in enforce mode (" + string(mode) + " mode now)"
			}
		case plan.Cancel:
			s.Note = "announcement cancelled: " + v.Reason
		case plan.Report:
			s.Note = "unused past its close date; not closed: " + string(mode) + " mode"
		case plan.DryRun:
			s.Note = "dry-run: would " + dryRunWhat(v)
		}
		out.Steps = append(out.Steps, s)
	}
	return out
}

func dryRunWhat(v RuleVerdict) string {
	if v.Announcement == nil {
		return "announce it as unused"
	}
	return "close it"
}

// finding is the step's rule, in the form apply and the notifier take.
func finding(v RuleVerdict) exposure.Finding {
	r := v.Rule
	return exposure.Finding{GroupID: r.GroupID, RuleID: r.ID, Direction: r.Direction, Protocol: r.Protocol,
		PortRange: r.Permission().PortRange, Source: r.Peer.String(), Priority: r.Priority, Severity: policy.SeverityLow,
		Reason: string(v.Verdict) + ": " + v.Reason, Rule: r}
}

// Judge gives every ingress accept rule of the group its verdict and step,
// in the group's rule order. Egress and drop rules are not the reaper's.
func (p *Planner) Judge(st observe.State, now time.Time) []RuleVerdict {
	ev, _ := st.Evidence.(*Evidence)
	mode := p.pol.ModeFor(policy.FunctionReaper, policy.SeverityLow, st.Tags)
	var out []RuleVerdict
	for i, r := range st.Rules {
		if r.Direction != rule.Ingress || r.Policy == rule.Drop {
			continue
		}
		v := RuleVerdict{Rule: r}
		v.Verdict, v.Reason = p.base(st, ev, i, now)
		if ev != nil {
			if u, ok := ev.Use[r.ID]; ok {
				v.LastSeen = u.LastSeen
			}
			if a, ok := ev.Open[r.ID]; ok {
				v.Announcement = &a
			}
		}
		p.lifecycle(&v, st, mode, now)
		out = append(out, v)
	}
	return out
}

// base is the verdict from the rule, the decisions and the evidence alone.
func (p *Planner) base(st observe.State, ev *Evidence, i int, now time.Time) (Verdict, string) {
	r := st.Rules[i]
	if why, ok, bad := p.exempt(st, r, now); bad {
		return Unknown, why
	} else if ok {
		return Exempt, why
	}
	lookback := time.Duration(p.s.LookbackDays) * 24 * time.Hour
	switch {
	case r.CreateTime.IsZero():
		return Unknown, "the rule's creation time is not known"
	case now.Sub(r.CreateTime) < max(p.s.MinAge, lookback):
		return Young, fmt.Sprintf("created %s, younger than %d days", r.CreateTime.UTC().Format(time.RFC3339), int(max(p.s.MinAge, lookback)/(24*time.Hour)))
	}
	if ev != nil {
		if at, ok := ev.Changed[r.ID]; ok && now.Sub(at) < max(p.s.MinAge, lookback) {
			return Young, fmt.Sprintf("changed after its announcement (seen %s): its look-back restarts then", at.UTC().Format(time.RFC3339))
		}
	}
	if o, ok := coveredBy(st.Rules, i); ok {
		return Redundant, "every flow it admits is admitted by " + o.ID + " (" + describe(o) + ")"
	}
	switch {
	case ev == nil:
		return Unknown, "no flow-log evidence was read for the group"
	case ev.ENIs == 0:
		return Unknown, "no network interface uses the group: no traffic can tell whether the rule is needed"
	case ev.Covered < ev.Days() || ev.Days() < p.s.LookbackDays:
		return Unknown, fmt.Sprintf("flow logs covered %d of the %d days %s..%s: %s", ev.Covered, p.s.LookbackDays,
			ev.From.Format(time.DateOnly), ev.To.Add(-time.Nanosecond).Format(time.DateOnly), gapText(ev.Gaps))
	case r.Peer.Kind == rule.PeerCIDR6 && !ev.IPv6:
		return Unknown, "an IPv6 rule, and the flow logs hold no IPv6 record (they capture IPv4)"
	}
	if u := ev.Use[r.ID]; u.Hits > 0 {
		return Used, fmt.Sprintf("%d accepted flow record(s) in %d days, last %s", u.Hits, ev.Days(), u.LastSeen.UTC().Format(time.RFC3339))
	}
	return Unused, fmt.Sprintf("no accepted flow in %d days fully covered by flow logs on %d network interface(s)", ev.Days(), ev.ENIs)
}

// lifecycle picks the step: announce a new unused rule, close an announced
// one past its date (enforce) or when its owner asked, cancel an
// announcement the rule no longer earns.
func (p *Planner) lifecycle(v *RuleVerdict, st observe.State, mode policy.Mode, now time.Time) {
	a := v.Announcement
	if a == nil {
		if v.Verdict == Unused {
			v.Step = plan.Announce
			if mode == policy.ModeDryRun {
				v.Step = plan.DryRun
			}
		}
		return
	}
	if !unchanged(a.Rule, v.Rule) {
		v.Verdict, v.Reason, v.Step = Unknown, "the rule changed after its announcement "+a.ID, plan.Cancel
		return
	}
	if v.Verdict != Unused {
		v.Step = plan.Cancel
		return
	}
	v.Verdict = Announced
	d, ok := st.Decisions.For(st.GroupID, v.Rule.ID)
	asked := ok && d.Action == "close" && !d.At.Before(a.At)
	if !asked && now.Before(a.ClosesAt) {
		v.Reason += "; announced " + a.At.UTC().Format(time.RFC3339) + ", closes " + a.ClosesAt.UTC().Format(time.RFC3339)
		return
	}
	if asked {
		v.Reason += "; its owner asked to close it (" + d.By + ")"
	}
	switch {
	case mode == policy.ModeDryRun:
		v.Step = plan.DryRun
	case mode == policy.ModeEnforce || asked:
		v.Step = plan.Close
	default:
		v.Step = plan.Report
	}
}

// exempt: a marker in the rule's description, the group's exemption tag, or
// an owner's keep decision in force. bad: a marker or tag that does not
// parse (never closed on a guess).
func (p *Planner) exempt(st observe.State, r rule.Rule, now time.Time) (why string, ok, bad bool) {
	if d, found := st.Decisions.For(st.GroupID, r.ID); found && d.Active(now) {
		return "kept by " + d.By + " until " + d.Until.UTC().Format(time.DateOnly), true, false
	}
	e, found, err := exemption.Find(p.pol.Exemptions.Marker, r.Description)
	if found && err != nil {
		return "its exemption marker does not parse: " + err.Error(), false, true
	}
	if found && e.Active(now) {
		return "exempt by its description until " + e.UntilString() + " (" + e.Owner + ")", true, false
	}
	if tv, has := st.Tags[p.pol.Exemptions.TagKey]; has {
		e, err := exemption.ParseTagValue(tv)
		if err != nil {
			return "the group's exemption tag does not parse: " + err.Error(), false, true
		}
		if e.Active(now) {
			return "exempt by the group's tag until " + e.UntilString() + " (" + e.Owner + ")", true, false
		}
	}
	return "", false, false
}

// unchanged: the rule is what was announced (same id and fields, as
// parsed: spelling and the description, which admits nothing, aside).
func unchanged(announced rule.Permission, r rule.Rule) bool {
	a, err := announced.Rule(r.GroupID, r.Region)
	if err != nil {
		return false
	}
	return a.ID == r.ID && a.Direction == r.Direction && a.Protocol == r.Protocol && a.Ports == r.Ports &&
		a.SourcePorts == r.SourcePorts && a.Peer == r.Peer && a.Local == r.Local && a.Policy == r.Policy &&
		max(a.Priority, 1) == max(r.Priority, 1) && a.NicType == r.NicType
}

// coveredBy finds another ingress accept rule of the group that admits
// every flow rules[i] admits and is weighed no later (priority).
func coveredBy(rules []rule.Rule, i int) (rule.Rule, bool) {
	r := rules[i]
	for j, o := range rules {
		if j == i || o.Direction != rule.Ingress || o.Policy == rule.Drop || !covers(o, r) {
			continue
		}
		if covers(r, o) && j > i {
			continue // equal rules: the later one is the redundant one
		}
		return o, true
	}
	return rule.Rule{}, false
}

// covers: o admits every packet r admits, whatever the other rules.
func covers(o, r rule.Rule) bool {
	if o.Protocol != rule.All && o.Protocol != r.Protocol {
		return false
	}
	if r.Protocol == rule.TCP || r.Protocol == rule.UDP {
		if o.Protocol != rule.All && !(o.Ports.From <= r.Ports.From && r.Ports.To <= o.Ports.To) {
			return false
		}
	}
	if o.SourcePorts != (rule.PortRange{}) && o.SourcePorts != r.SourcePorts {
		return false
	}
	if o.Local.IsValid() && !(r.Local.IsValid() && prefixCovers(o.Local, r.Local)) {
		return false
	}
	if max(o.Priority, 1) > max(r.Priority, 1) {
		return false
	}
	switch {
	case o.Peer.Kind != r.Peer.Kind:
		return false
	case o.Peer.Kind == rule.PeerCIDR4 || o.Peer.Kind == rule.PeerCIDR6:
		return prefixCovers(o.Peer.Prefix, r.Peer.Prefix)
	default:
		return o.Peer.ID != "" && o.Peer.ID == r.Peer.ID && o.Peer.OwnerID == r.Peer.OwnerID
	}
}

func prefixCovers(o, r netip.Prefix) bool {
	return o.IsValid() && r.IsValid() && o.Bits() <= r.Bits() && o.Contains(r.Addr())
}

func describe(r rule.Rule) string {
	return strings.ToLower(string(r.Protocol)) + " " + r.Permission().PortRange + " from " + r.Peer.String()
}

// gapText lists the first gaps: which ENI, which day, why.
func gapText(gaps []Gap) string {
	if len(gaps) == 0 {
		return "the look-back is not complete yet"
	}
	gaps = slices.Clone(gaps)
	slices.SortFunc(gaps, func(a, b Gap) int { return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.ENI, b.ENI)) })
	var parts []string
	for i, g := range gaps {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(gaps)-5))
			break
		}
		if g.ENI != "" {
			parts = append(parts, g.Day+" "+g.ENI+" "+g.Reason)
		} else {
			parts = append(parts, g.Day+" "+g.Reason)
		}
	}
	return strings.Join(parts, "; ")
}

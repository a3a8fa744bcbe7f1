package replicate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/guard"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// DefaultQuota is the rules one security group may hold (ingress and egress
// together; AuthorizationLimitExceed past it).
const DefaultQuota = 200

// SkipKind says why a primary rule is not copied.
type SkipKind string

const (
	SkipExposure SkipKind = "exposure" // the guard's policy calls it an exposure
	SkipUnmapped SkipKind = "unmapped" // a reference with no mapping in the replica's region
	SkipQuota    SkipKind = "quota"    // the replica's rule quota would be exceeded
)

// Skip is a primary rule not copied, and why.
type Skip struct {
	Kind   SkipKind
	Rule   rule.Rule // as on the primary
	Reason string
}

// Input is what planning one replica looks at.
type Input struct {
	Mode Mode
	// Primary as observed; complete (tags, decisions) when its exemptions
	// and the owners' decisions are to count.
	Primary observe.State
	// Replica as observed (its rules).
	Replica observe.State
	// Refs maps the references of the primary's rules (sg-…, pl-…) to ids in
	// the replica's region; a reference missing here is unmapped.
	Refs map[string]string
	// Unmapped says why a reference could not be mapped (for the report).
	Unmapped map[string]string
	// Quota is the replica's rule quota (0: DefaultQuota).
	Quota int
}

// ReplicaPlan is what reconciling one replica changes.
type ReplicaPlan struct {
	Replica GroupRef
	// Add are the rules to authorize (no ids), Remove the replica's rules
	// to revoke (as observed). A rule whose description changed is in both
	// (the new version in Add, the old one in Remove): ECS takes a rule of
	// an existing identity as a duplicate, so the old one goes first.
	Add    []rule.Rule
	Remove []rule.Rule
	// Updated are the keys of the rules in both lists.
	Updated map[string]bool
	Skipped []Skip
}

// Empty reports whether the replica is in step.
func (p ReplicaPlan) Empty() bool { return len(p.Add) == 0 && len(p.Remove) == 0 }

// Planner is the replicator's pure planner: no I/O, no clock. What an
// exposure is comes from the guard's planner on the same policy: a rule the
// guard would revoke, report or dry-run on the primary is never copied.
type Planner struct {
	pol   *policy.Policy
	guard *guard.Planner
	eval  *exposure.Evaluator
}

// NewPlanner compiles the policy (nil: the default); it must be valid.
func NewPlanner(pol *policy.Policy) (*Planner, error) {
	if pol == nil {
		pol = policy.Default()
	}
	g, err := guard.NewPlanner(pol)
	if err != nil {
		return nil, fmt.Errorf("replicate: %w", err)
	}
	ev, err := exposure.New(pol)
	if err != nil {
		return nil, fmt.Errorf("replicate: %w", err)
	}
	return &Planner{pol: pol, guard: g, eval: ev}, nil
}

// NeedsContext reports whether the primary's tags and decisions must be read
// first: only when its rules alone hold an exposure (an exemption may cover
// it, and an exempt rule is copied with its exemption).
func (p *Planner) NeedsContext(primary *observe.State, now time.Time) bool {
	return p.guard.NeedsContext(primary, now)
}

// Key is a rule's identity for replication: direction, protocol, ports,
// source ports, peer (mapped), the group's own addresses it narrows to,
// policy and priority. The description is not part of it (it is synced).
func Key(r rule.Rule) string {
	return strings.Join([]string{string(r.Direction), string(r.Protocol), r.Ports.String(), sourcePorts(r),
		string(r.Peer.Kind), r.Peer.String(), r.Peer.OwnerAccount, r.Peer.OwnerID, local(r),
		string(r.Policy), strconv.Itoa(r.Priority)}, "|")
}

func sourcePorts(r rule.Rule) string {
	if r.SourcePorts == (rule.PortRange{}) {
		return ""
	}
	return r.SourcePorts.String()
}

func local(r rule.Rule) string {
	if !r.Local.IsValid() {
		return ""
	}
	return r.Local.String()
}

// looseKey is Key without the peer's id: a replica rule of this shape may
// be the hand-made copy of a primary rule whose reference has no mapping.
func looseKey(r rule.Rule) string {
	return strings.Join([]string{string(r.Direction), string(r.Protocol), r.Ports.String(), sourcePorts(r),
		string(r.Peer.Kind), local(r), string(r.Policy), strconv.Itoa(r.Priority)}, "|")
}

// Exposures are the primary's rules the guard's policy calls exposures, by
// rule id, with the reason.
func (p *Planner) Exposures(primary observe.State, now time.Time) map[string]string {
	out := map[string]string{}
	for _, s := range p.guard.Plan(primary, now).Steps {
		switch s.Kind {
		case plan.Revoke, plan.Report, plan.DryRun:
			out[s.Finding.RuleID] = s.Finding.Reason
		}
	}
	return out
}

// Plan is the diff of one replica against its primary: the primary's rules
// (mapped, exposures and unmapped references left out, exemptions written
// into the copy) are the desired state.
func (p *Planner) Plan(in Input, now time.Time) ReplicaPlan {
	out := ReplicaPlan{Replica: GroupRef{Region: in.Replica.Region, GroupID: in.Replica.GroupID}, Updated: map[string]bool{}}
	exposed := p.Exposures(in.Primary, now)
	markers := p.markers(in.Primary, now)
	var desired []rule.Rule
	seen := map[string]bool{}
	protected := map[string]bool{} // loose keys of unmapped primary rules
	for _, r := range in.Primary.Rules {
		if reason, ok := exposed[r.ID]; ok {
			out.Skipped = append(out.Skipped, Skip{Kind: SkipExposure, Rule: r,
				Reason: "not copied: the guard's policy calls it an exposure (" + reason + ")"})
			continue
		}
		d := r
		d.ID, d.GroupID, d.Region, d.CreateTime = "", in.Replica.GroupID, in.Replica.Region, time.Time{}
		if d.Peer.Kind == rule.PeerGroup || d.Peer.Kind == rule.PeerPrefixList {
			to, ok := in.Refs[d.Peer.ID]
			if !ok {
				why := cmp.Or(in.Unmapped[d.Peer.ID], "no mapping in "+in.Replica.Region)
				out.Skipped = append(out.Skipped, Skip{Kind: SkipUnmapped, Rule: r, Reason: "not copied: " + d.Peer.ID + ": " + why})
				protected[looseKey(d)] = true
				continue
			}
			d.Peer.ID = to
		}
		if m, ok := markers[r.ID]; ok && !strings.Contains(d.Description, m) {
			d.Description = strings.TrimSpace(d.Description + " " + m)
		}
		k := Key(d)
		if seen[k] {
			continue // two references mapped to one
		}
		seen[k] = true
		desired = append(desired, d)
	}
	have := map[string][]rule.Rule{}
	for _, r := range in.Replica.Rules {
		have[Key(r)] = append(have[Key(r)], r)
	}
	for _, d := range desired {
		k := Key(d)
		cur := have[k]
		switch {
		case len(cur) == 0:
			out.Add = append(out.Add, d)
		case cur[0].Description != d.Description:
			out.Add = append(out.Add, d)
			out.Remove = append(out.Remove, cur[0])
			out.Updated[k] = true
		}
	}
	if in.Mode != Additive {
		for _, r := range in.Replica.Rules {
			k := Key(r)
			if seen[k] || protected[looseKey(r)] {
				continue
			}
			out.Remove = append(out.Remove, r)
		}
	}
	quota := cmp.Or(in.Quota, DefaultQuota)
	if n := len(in.Replica.Rules) - len(out.Remove) + len(out.Add); n > quota && len(out.Add) > 0 {
		reason := fmt.Sprintf("not copied: the replica would hold %d rules, over its quota of %d; nothing changed", n, quota)
		for _, r := range out.Add {
			out.Skipped = append(out.Skipped, Skip{Kind: SkipQuota, Rule: r, Reason: reason})
		}
		out.Add, out.Remove, out.Updated = nil, nil, map[string]bool{}
	}
	return out
}

// markers are the exemption markers to write into copies of the primary's
// exempt rules, by rule id: an exemption written in a rule's description
// travels with the description; one recorded elsewhere (the group's tag, an
// owner's decision in the ledger) would not, and the guard of the replica
// would revoke what the replicator copied. The marker carries the until as
// asked: the replica's guard caps it, as the primary's does.
func (p *Planner) markers(primary observe.State, now time.Time) map[string]string {
	out := map[string]string{}
	for _, f := range p.eval.Evaluate(primary.Input(now)).Exempted {
		if f.Exempt == nil || f.Exempt.Source == "description" {
			continue
		}
		x := f.Exempt.Exemption
		x.Until = f.Exempt.Asked
		out[f.RuleID] = x.MarkerWithKey(p.pol.Exemptions.Marker)
	}
	return out
}

// Steps turns a replica's plan into the steps shared/apply carries out: the
// old versions of updated rules revoked first (their identity must be free),
// then every addition in batches of plan.MaxAuthorizeBatch per direction,
// then the removals.
func Steps(rp ReplicaPlan) plan.Plan {
	out := plan.Plan{Region: rp.Replica.Region, GroupID: rp.Replica.GroupID}
	var updatedOld, removed []rule.Rule
	for _, r := range rp.Remove {
		if rp.Updated[Key(r)] {
			updatedOld = append(updatedOld, r)
		} else {
			removed = append(removed, r)
		}
	}
	revoke := func(rules []rule.Rule) {
		for _, dir := range []rule.Direction{rule.Ingress, rule.Egress} {
			rs := slices.DeleteFunc(slices.Clone(rules), func(r rule.Rule) bool { return r.Direction != dir })
			if len(rs) > 0 {
				out.Steps = append(out.Steps, plan.Step{Kind: plan.RevokeRules, Direction: dir, Rules: rs})
			}
		}
	}
	revoke(updatedOld)
	for _, dir := range []rule.Direction{rule.Ingress, rule.Egress} {
		rs := slices.DeleteFunc(slices.Clone(rp.Add), func(r rule.Rule) bool { return r.Direction != dir })
		for chunk := range slices.Chunk(rs, plan.MaxAuthorizeBatch) {
			out.Steps = append(out.Steps, plan.Step{Kind: plan.Authorize, Direction: dir, Rules: chunk})
		}
	}
	revoke(removed)
	return out
}

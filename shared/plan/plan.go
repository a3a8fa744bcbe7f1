// Package plan is what a function decided to do with one security group: a
// pure value computed from the observed state, the policy and the time, with
// the reason for each step. Package apply carries it out.
package plan

import (
	"fmt"
	"slices"
	"time"

	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// Kind is what one step does.
type Kind string

const (
	// Revoke removes the rule by its SecurityGroupRuleId (after a backup),
	// then authorizes Replacement, if any.
	Revoke Kind = "revoke"
	// Report tells people about the rule and changes nothing.
	Report Kind = "report"
	// DryRun logs what would be done and tells no one.
	DryRun Kind = "dry-run"
	// AnnounceExemption tells people of an exemption seen for the first
	// time and records it (the record fixes when it ends). It changes no rule.
	AnnounceExemption Kind = "announce-exemption"
	// AnnounceExpiring tells people an exemption ends soon. It changes no rule.
	AnnounceExpiring Kind = "announce-expiring"

	// The replicator's kinds (shared/replicate): they carry Direction and
	// Rules instead of a Finding.

	// Authorize adds Rules (at most MaxAuthorizeBatch) in Direction in one
	// call; the ledger records each rule authorized after the call succeeded.
	Authorize Kind = "authorize"
	// RevokeRules removes Rules (as observed) by SecurityGroupRuleId in
	// Direction, after a backup of each.
	RevokeRules Kind = "revoke-rules"
)

// MaxAuthorizeBatch is the most permissions one AuthorizeSecurityGroup(Egress)
// call takes (Permissions.N, N ≤ 100).
const MaxAuthorizeBatch = 100

// The reaper's lifecycle steps (shared/reaper): each names its announcement
// in Step.Lifecycle.
const (
	// Announce records and tells that an unused rule will be closed at
	// Lifecycle.ClosesAt. It changes no rule.
	Announce Kind = "announce-unused"
	// Cancel ends the announcement Lifecycle.AnnouncementID without
	// closing the rule (Note says why). It changes no rule.
	Cancel Kind = "cancel-announcement"
	// Close removes an announced rule by its SecurityGroupRuleId after a
	// backup, then records a closure naming Lifecycle.AnnouncementID.
	Close Kind = "close-unused"
)

// Lifecycle is what a reaper step carries.
type Lifecycle struct {
	AnnouncementID string    `json:"announcementId,omitempty"`
	ClosesAt       time.Time `json:"closesAt,omitzero"`
	// Evidence says what the verdict rests on ("no accepted flow in 30
	// covered days").
	Evidence string `json:"evidence,omitempty"`
}

// Step is one rule's part of a plan.
type Step struct {
	Kind Kind `json:"kind"`
	// Finding is the rule and why it is in the plan (its Rule field is the
	// rule exactly as observed: revokes go by its ID).
	Finding exposure.Finding `json:"finding"`
	// Note says why a Report step changes nothing ("notify mode", "unknown").
	Note string `json:"note,omitempty"`
	// Replacement is authorized in the rule's direction after a Revoke.
	Replacement []rule.Permission `json:"replacement,omitempty"`
	// Direction and Rules are what an Authorize or RevokeRules step changes.
	Direction rule.Direction `json:"direction,omitempty"`
	Rules     []rule.Rule    `json:"rules,omitempty"`
	// Lifecycle is set on the reaper's steps (Announce, Cancel, Close).
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"`
}

// Plan is the steps for one group, in the order they are to be carried out.
type Plan struct {
	Region  string `json:"region"`
	GroupID string `json:"securityGroupId"`
	Steps   []Step `json:"steps"`
	// Set and Primary say what the replicator's steps copy (its ledger
	// records name them); empty for the other functions.
	Set     string `json:"set,omitempty"`
	Primary string `json:"primary,omitempty"`
}

// Empty reports whether the plan does nothing at all.
func (p Plan) Empty() bool { return len(p.Steps) == 0 }

// Changes counts the steps that change the group (the cap counts these).
func (p Plan) Changes() int {
	n := 0
	for _, s := range p.Steps {
		switch s.Kind {
		case Revoke, Close:
			n++
		case Authorize, RevokeRules:
			n += len(s.Rules)
		}
	}
	return n
}

// SimulatedPrefix starts the ids Simulate gives the rules it adds.
const SimulatedPrefix = "simulated-"

// Simulate returns rules as they would be after the plan's changes: revoked
// rules gone, replacements present (with ids "simulated-N"). Tests use it for the
// idempotence check: planning again on the simulated rules must change
// nothing more.
func Simulate(rules []rule.Rule, p Plan) []rule.Rule {
	gone := map[string]bool{}
	var added []rule.Rule
	for _, s := range p.Steps {
		switch s.Kind {
		case RevokeRules:
			for _, r := range s.Rules {
				gone[r.ID] = true
			}
			continue
		case Authorize:
			for _, r := range s.Rules {
				r.ID = fmt.Sprintf("%s%d", SimulatedPrefix, len(added)+1)
				r.GroupID, r.Region = p.GroupID, p.Region
				added = append(added, r)
			}
			continue
		}
		if s.Kind != Revoke && s.Kind != Close {
			continue
		}
		gone[s.Finding.RuleID] = true
		for _, perm := range s.Replacement {
			perm.SecurityGroupRuleId = fmt.Sprintf("%s%d", SimulatedPrefix, len(added)+1)
			if r, err := perm.Rule(p.GroupID, p.Region); err == nil {
				added = append(added, r)
			}
		}
	}
	out := slices.DeleteFunc(slices.Clone(rules), func(r rule.Rule) bool { return gone[r.ID] })
	return append(out, added...)
}

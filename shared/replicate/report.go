package replicate

import "github.com/porthygiene/porthygiene/shared/rule"

// The JSON of `porthygiene replicate plan --json` is a contract:
//
//	{"sets": [{"name", "mode", "primary": {"region", "securityGroupId"},
//	  "replicas": [{"region", "securityGroupId", "add": [rule], "remove": [rule],
//	                "skipped": [{"rule", "reason"}]}]}]}
//
// where a rule is {direction, protocol, portRange, source, policy, priority,
// description}.

// Report is the plan of every set.
type Report struct {
	Sets []SetReport `json:"sets"`
}

// SetReport is one set's plan.
type SetReport struct {
	Name     string          `json:"name"`
	Mode     Mode            `json:"mode"`
	Primary  GroupRef        `json:"primary"`
	Replicas []ReplicaReport `json:"replicas"`
}

// ReplicaReport is one replica's plan. Error, when set, says why it could
// not be planned (a group that could not be read).
type ReplicaReport struct {
	Region  string       `json:"region"`
	GroupID string       `json:"securityGroupId"`
	Add     []RuleJSON   `json:"add"`
	Remove  []RuleJSON   `json:"remove"`
	Skipped []SkipReport `json:"skipped"`
	Error   string       `json:"error,omitempty"`
}

// InStep reports whether the replica needs no change.
func (r ReplicaReport) InStep() bool { return r.Error == "" && len(r.Add) == 0 && len(r.Remove) == 0 }

// SkipReport is a primary rule not copied.
type SkipReport struct {
	Rule   RuleJSON `json:"rule"`
	Reason string   `json:"reason"`
}

// RuleJSON is a rule in the contract's form.
type RuleJSON struct {
	Direction   rule.Direction `json:"direction"`
	Protocol    rule.Protocol  `json:"protocol"`
	PortRange   string         `json:"portRange"`
	Source      string         `json:"source"`
	Policy      rule.Policy    `json:"policy"`
	Priority    int            `json:"priority"`
	Description string         `json:"description"`
}

// RuleOf is r in the contract's form.
func RuleOf(r rule.Rule) RuleJSON {
	return RuleJSON{Direction: r.Direction, Protocol: r.Protocol, PortRange: r.Ports.String(), Source: r.Peer.String(),
		Policy: r.Policy, Priority: r.Priority, Description: r.Description}
}

// ReportOf is rp in the contract's form.
func ReportOf(rp ReplicaPlan) ReplicaReport {
	out := ReplicaReport{Region: rp.Replica.Region, GroupID: rp.Replica.GroupID,
		Add: []RuleJSON{}, Remove: []RuleJSON{}, Skipped: []SkipReport{}}
	for _, r := range rp.Add {
		out.Add = append(out.Add, RuleOf(r))
	}
	for _, r := range rp.Remove {
		out.Remove = append(out.Remove, RuleOf(r))
	}
	for _, s := range rp.Skipped {
		out.Skipped = append(out.Skipped, SkipReport{Rule: RuleOf(s.Rule), Reason: s.Reason})
	}
	return out
}

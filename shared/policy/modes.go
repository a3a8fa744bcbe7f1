package policy

import "slices"

// Function names one of porthygiene's functions in modes, enforce and scopes.
type Function string

const (
	FunctionGuard      Function = "guard"      // revokes internet-wide rules
	FunctionReaper     Function = "reaper"     // closes rules that carried no traffic
	FunctionReplicator Function = "replicator" // keeps failover groups identical
)

// functions lists every Function, in the order the policy file documents them.
var functions = []Function{FunctionGuard, FunctionReaper, FunctionReplicator}

// Valid reports whether fn is one of the Function constants.
func (fn Function) Valid() bool { return slices.Contains(functions, fn) }

// Modes says what each function does with a finding. In a [Scope], an empty
// Mode means "not overridden".
type Modes struct {
	Guard      Mode `yaml:"guard,omitempty"`
	Reaper     Mode `yaml:"reaper,omitempty"`
	Replicator Mode `yaml:"replicator,omitempty"`
}

// Of returns fn's mode ("" for an unknown function or, in a scope, one not
// overridden).
func (m Modes) Of(fn Function) Mode {
	switch fn {
	case FunctionGuard:
		return m.Guard
	case FunctionReaper:
		return m.Reaper
	case FunctionReplicator:
		return m.Replicator
	}
	return ""
}

// Enforce lists, per function, the severities its enforce mode changes; an
// enforcing function only reports (notify) its findings of other severities.
// In a [Scope], a nil list means "not overridden".
type Enforce struct {
	Guard      []Severity `yaml:"guard,omitempty"`
	Reaper     []Severity `yaml:"reaper,omitempty"`
	Replicator []Severity `yaml:"replicator,omitempty"`
}

// Of returns fn's list (nil for an unknown function or, in a scope, one not
// overridden).
func (e Enforce) Of(fn Function) []Severity {
	switch fn {
	case FunctionGuard:
		return e.Guard
	case FunctionReaper:
		return e.Reaper
	case FunctionReplicator:
		return e.Replicator
	}
	return nil
}

// Scope overrides modes and enforce lists for the security groups whose tags
// hold every key of Match with its value.
type Scope struct {
	Match   map[string]string `yaml:"match"`
	Modes   Modes             `yaml:"modes,omitempty"`
	Enforce Enforce           `yaml:"enforce,omitempty"`
}

// Matches reports whether tags hold every key of s.Match with its value
// (exact, case-sensitive, as ECS compares tags). An empty Match, which
// Validate refuses, matches nothing.
func (s Scope) Matches(tags map[string]string) bool {
	if len(s.Match) == 0 {
		return false
	}
	for k, v := range s.Match {
		if got, ok := tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// ModeChoice is the mode of one finding and why.
type ModeChoice struct {
	Mode Mode
	// Scope is the index in Policy.Scopes of the scope that applied, -1
	// when none matched the group's tags.
	Scope int
	// BySeverity is set when the function's mode was enforce but the
	// finding's severity is not in its enforce list, so Mode is notify.
	BySeverity bool
}

// ModeFor returns what fn does with one finding of severity sev in a security
// group tagged tags: enforce, notify or dry-run. See [Policy.ChooseMode].
func (p *Policy) ModeFor(fn Function, sev Severity, tags map[string]string) Mode {
	return p.ChooseMode(fn, sev, tags).Mode
}

// ChooseMode returns what fn does with one finding of severity sev in a
// security group tagged tags, and why. The first scope whose match holds
// applies: the modes and enforce lists it gives replace the top-level ones
// for fn, what it leaves out comes from the top level (a later matching
// scope is not consulted). Then an enforce mode whose list does not hold sev
// becomes notify; notify and dry-run stay. An unknown function gets notify
// (changing nothing). Pure: no I/O, no clock.
func (p *Policy) ChooseMode(fn Function, sev Severity, tags map[string]string) ModeChoice {
	if !fn.Valid() {
		return ModeChoice{Mode: ModeNotify, Scope: -1}
	}
	c := ModeChoice{Mode: p.Modes.Of(fn), Scope: -1}
	list := p.Enforce.Of(fn)
	for i, s := range p.Scopes {
		if !s.Matches(tags) {
			continue
		}
		c.Scope = i
		if m := s.Modes.Of(fn); m != "" {
			c.Mode = m
		}
		if l := s.Enforce.Of(fn); l != nil {
			list = l
		}
		break
	}
	switch c.Mode {
	case ModeEnforce:
		if !slices.Contains(list, sev) {
			c.Mode, c.BySeverity = ModeNotify, true
		}
	case ModeNotify, ModeDryRun:
	default: // a policy that skipped Validate: change nothing
		c.Mode = ModeNotify
	}
	return c
}

package deploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Grant is one (effect, action, resource) a RAM policy statement grants or
// denies. A statement with conditions or principals is kept whole in Extra,
// so that two policies compare equal only when those match too.
type Grant struct {
	Effect   string
	Action   string
	Resource string
	Extra    string // compact JSON of Condition/Principal/NotAction/NotResource; "" when none
}

func (g Grant) String() string {
	s := g.Action + " on " + g.Resource
	if g.Effect != "Allow" {
		s = g.Effect + " " + s
	}
	if g.Extra != "" {
		s += " with " + g.Extra
	}
	return s
}

// stringList is a policy field that is a string or a list of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = many
	return nil
}

// Grants decodes a RAM policy document into its grants, sorted and without
// duplicates. Action names compare case-insensitively in RAM: they are
// lower-cased.
func Grants(doc string) ([]Grant, error) {
	var p struct {
		Version   string `json:"Version"`
		Statement []struct {
			Effect      string          `json:"Effect"`
			Action      stringList      `json:"Action"`
			Resource    stringList      `json:"Resource"`
			Condition   json.RawMessage `json:"Condition,omitempty"`
			Principal   json.RawMessage `json:"Principal,omitempty"`
			NotAction   json.RawMessage `json:"NotAction,omitempty"`
			NotResource json.RawMessage `json:"NotResource,omitempty"`
		} `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("policy document: %w", err)
	}
	var out []Grant
	for i, st := range p.Statement {
		extra := map[string]json.RawMessage{}
		for k, v := range map[string]json.RawMessage{"Condition": st.Condition, "Principal": st.Principal, "NotAction": st.NotAction, "NotResource": st.NotResource} {
			if len(v) > 0 {
				extra[k] = v
			}
		}
		var ex string
		if len(extra) > 0 {
			b, err := json.Marshal(extra) // sorted keys, compact
			if err != nil {
				return nil, fmt.Errorf("policy statement %d: %w", i+1, err)
			}
			ex = string(b)
		}
		resources := st.Resource
		if len(resources) == 0 {
			resources = []string{""}
		}
		for _, a := range st.Action {
			for _, r := range resources {
				out = append(out, Grant{Effect: st.Effect, Action: strings.ToLower(a), Resource: r, Extra: ex})
			}
		}
	}
	slices.SortFunc(out, compareGrants)
	return slices.Compact(out), nil
}

func compareGrants(a, b Grant) int {
	for _, c := range [][2]string{{a.Action, b.Action}, {a.Resource, b.Resource}, {a.Effect, b.Effect}, {a.Extra, b.Extra}} {
		if n := strings.Compare(c[0], c[1]); n != 0 {
			return n
		}
	}
	return 0
}

// Diff returns the grants of want that got lacks and those got has beyond
// want.
func Diff(want, got []Grant) (missing, extra []Grant) {
	for _, g := range want {
		if !slices.Contains(got, g) {
			missing = append(missing, g)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	return missing, extra
}

// Trusts reports whether a trust policy document lets service assume the
// role (an Allow of sts:AssumeRole with the service among its principals).
func Trusts(doc, service string) (bool, error) {
	var p struct {
		Statement []struct {
			Effect    string     `json:"Effect"`
			Action    stringList `json:"Action"`
			Principal struct {
				Service stringList `json:"Service"`
			} `json:"Principal"`
		} `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return false, fmt.Errorf("trust policy: %w", err)
	}
	for _, st := range p.Statement {
		if st.Effect == "Allow" && slices.ContainsFunc(st.Action, func(a string) bool { return strings.EqualFold(a, "sts:AssumeRole") }) &&
			slices.Contains(st.Principal.Service, service) {
			return true, nil
		}
	}
	return false, nil
}

package guard_test

// Golden plans: testdata/plan/<case>/{state.json,policy.yaml} → plan.golden
// (go test -run TestPlanGolden ./shared/guard/ -update rewrites them), each
// with the idempotence check: simulate the plan's changes on the state, plan
// again, and the second plan changes nothing.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/decision"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/guard"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// stateFile is a group's observed state as a test writes it.
type stateFile struct {
	Region      string              `json:"region"`
	GroupID     string              `json:"securityGroupId"`
	Now         time.Time           `json:"now"`
	Tags        map[string]string   `json:"tags"`
	PrefixLists map[string][]string `json:"prefixLists"`
	Permissions []rule.Permission   `json:"permissions"` // as DescribeSecurityGroupAttribute spells them
	Decisions   []decision.Decision `json:"decisions"`
	Notices     []observe.Notice    `json:"notices"` // exemption notices in the ledger
	// DecisionsError, when set, is why the ledger could not be read.
	DecisionsError string `json:"decisionsError"`
}

func loadCase(t *testing.T, dir string) (observe.State, time.Time, *policy.Policy) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	var sf stateFile
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&sf), "state.json")
	st := observe.State{Region: sf.Region, GroupID: sf.GroupID, Tags: sf.Tags, TagsKnown: true, DecisionsKnown: true,
		PrefixLists: exposure.PrefixLists{}}
	if st.Tags == nil {
		st.Tags = map[string]string{}
	}
	for _, p := range sf.Permissions {
		r, err := p.Rule(sf.GroupID, sf.Region)
		require.NoError(t, err, "permission %s", p.SecurityGroupRuleId)
		st.Rules = append(st.Rules, r)
	}
	for id, cidrs := range sf.PrefixLists {
		for _, c := range cidrs {
			st.PrefixLists[id] = append(st.PrefixLists[id], mustPrefix(t, c))
		}
	}
	for i := range sf.Decisions {
		if sf.Decisions[i].GroupID == "" {
			sf.Decisions[i].GroupID = sf.GroupID
		}
	}
	st.Decisions = decision.NewSet(sf.Decisions)
	st.Notices = sf.Notices
	if sf.DecisionsError != "" {
		st.DecisionsKnown, st.DecisionsErr = false, errors.New(sf.DecisionsError)
	}
	pol := policy.Default()
	if _, err := os.Stat(filepath.Join(dir, "uses-shipped-policy")); err == nil {
		pol, err = policy.Load(filepath.Join("..", "..", "policy.yaml"))
		require.NoError(t, err)
	} else if _, err := os.Stat(filepath.Join(dir, "policy.yaml")); err == nil {
		pol, err = policy.Load(filepath.Join(dir, "policy.yaml"))
		require.NoError(t, err)
	}
	return st, sf.Now, pol
}

// render is the golden form of a plan: one line a step, then its replacements.
func render(p plan.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan %s %s: %d step(s), %d change(s)\n", p.Region, p.GroupID, len(p.Steps), p.Changes())
	for _, s := range p.Steps {
		f := s.Finding
		fmt.Fprintf(&b, "%s %s %s %s %s from %s ports=%v services=%v severity=%s unknown=%v\n", s.Kind, f.RuleID, f.Direction, f.Protocol,
			f.PortRange, f.Source, f.Ports, f.Services, f.Severity, f.Unknown)
		fmt.Fprintf(&b, "  reason: %s\n", f.Reason)
		if s.Note != "" {
			fmt.Fprintf(&b, "  note: %s\n", s.Note)
		}
		for _, r := range s.Replacement {
			fmt.Fprintf(&b, "  then authorize: %s %s %s from %s%s%s %q\n", r.Direction, r.IpProtocol, r.PortRange, r.SourceCidrIp, r.Ipv6SourceCidrIp, r.SourcePrefixListId, r.Description)
		}
	}
	return b.String()
}

func TestPlanGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "plan", "*"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 9, "the golden cases")
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			st, now, pol := loadCase(t, dir)
			pl, err := guard.NewPlanner(pol)
			require.NoError(t, err)
			p := pl.Plan(st, now)
			got := render(p)
			golden := filepath.Join(dir, "plan.golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with -update to create it")
			require.Equal(t, string(want), got)

			// Idempotence: after the plan's changes, nothing more to change.
			again := st
			again.Rules = plan.Simulate(st.Rules, p)
			require.Zero(t, pl.Plan(again, now).Changes(), "a second plan after applying the first must change nothing:\n%s", render(pl.Plan(again, now)))
			// And the plan of the changed state reports no rule the first plan revoked.
			for _, s := range pl.Plan(again, now).Steps {
				for _, s1 := range p.Steps {
					if s1.Kind == plan.Revoke {
						require.NotEqual(t, s1.Finding.RuleID, s.Finding.RuleID)
					}
				}
			}
		})
	}
}

// NeedsContext is the guard's shortcut: a group without findings on its
// rules alone needs no tags or decisions read.
func TestPlannerNeedsContextOnlyForFindings(t *testing.T) {
	pl, err := guard.NewPlanner(policy.Default())
	require.NoError(t, err)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clean := observe.State{GroupID: "sg-1", Rules: []rule.Rule{mustRule(t, "sgr-1", "22/22", "10.0.0.0/8")}}
	require.False(t, pl.NeedsContext(&clean, now))
	open := observe.State{GroupID: "sg-1", Rules: []rule.Rule{mustRule(t, "sgr-1", "22/22", "0.0.0.0/0")}}
	require.True(t, pl.NeedsContext(&open, now))
	open.TagsKnown, open.DecisionsKnown = true, true
	require.False(t, pl.NeedsContext(&open, now), "nothing left to read")
}

func mustRule(t *testing.T, id, ports, cidr string) rule.Rule {
	t.Helper()
	r, err := rule.Permission{SecurityGroupRuleId: id, Direction: "ingress", IpProtocol: "tcp", PortRange: ports, SourceCidrIp: cidr, Policy: "accept", Priority: "1"}.Rule("sg-1", "cn-hangzhou")
	require.NoError(t, err)
	return r
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	require.NoError(t, err)
	return p
}

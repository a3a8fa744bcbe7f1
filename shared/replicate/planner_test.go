package replicate_test

// Golden plans: testdata/<case>/{primary,replica}.json → plan.golden
// (go test -run TestPlanGolden ./shared/replicate/ -update rewrites them),
// each with the idempotence check: carry the plan out on the replica
// (plan.Simulate), plan again, and the second plan changes nothing.

import (
	"encoding/json"
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
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/replicate"
	"github.com/porthygiene/porthygiene/shared/rule"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type groupFile struct {
	Region      string              `json:"region"`
	GroupID     string              `json:"securityGroupId"`
	Tags        map[string]string   `json:"tags"`
	Permissions []rule.Permission   `json:"permissions"`
	PrefixLists map[string][]string `json:"prefixLists"`
	Decisions   []decision.Decision `json:"decisions"` // owners' decisions (primary.json)
	// replica.json only
	Mode     string            `json:"mode"`
	Refs     map[string]string `json:"refs"`
	Unmapped map[string]string `json:"unmapped"`
	Quota    int               `json:"quota"`
}

func loadGroup(t *testing.T, path string) (observe.State, groupFile) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var gf groupFile
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&gf), path)
	st := observe.State{Region: gf.Region, GroupID: gf.GroupID, Tags: gf.Tags, TagsKnown: true, DecisionsKnown: true, PrefixLists: exposure.PrefixLists{}}
	if st.Tags == nil {
		st.Tags = map[string]string{}
	}
	for i := range gf.Decisions {
		if gf.Decisions[i].GroupID == "" {
			gf.Decisions[i].GroupID = gf.GroupID
		}
	}
	st.Decisions = decision.NewSet(gf.Decisions)
	for id, cidrs := range gf.PrefixLists {
		st.PrefixLists[id] = []netip.Prefix{}
		for _, c := range cidrs {
			st.PrefixLists[id] = append(st.PrefixLists[id], netip.MustParsePrefix(c))
		}
	}
	for _, p := range gf.Permissions {
		r, err := p.Rule(gf.GroupID, gf.Region)
		require.NoError(t, err, "%s: permission %s", path, p.SecurityGroupRuleId)
		st.Rules = append(st.Rules, r)
	}
	return st, gf
}

type golden struct {
	Replica replicate.ReplicaReport `json:"replica"`
	Steps   []string                `json:"steps"`
}

func stepLines(p plan.Plan) []string {
	out := []string{}
	for _, s := range p.Steps {
		var ids []string
		for _, r := range s.Rules {
			ids = append(ids, Cmp(r))
		}
		out = append(out, fmt.Sprintf("%s %s ×%d: %s", s.Kind, s.Direction, len(s.Rules), strings.Join(ids, "; ")))
	}
	return out
}

// Cmp names a rule for the golden steps: its id when it has one, else its identity.
func Cmp(r rule.Rule) string {
	if r.ID != "" {
		return r.ID
	}
	return replicate.Key(r)
}

func TestPlanGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/primary.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 12)
	pl, err := replicate.NewPlanner(nil)
	require.NoError(t, err)
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			primary, _ := loadGroup(t, filepath.Join(dir, "primary.json"))
			replica, rf := loadGroup(t, filepath.Join(dir, "replica.json"))
			mode, err := replicate.ParseMode(rf.Mode)
			require.NoError(t, err)
			in := replicate.Input{Mode: mode, Primary: primary, Replica: replica, Refs: rf.Refs, Unmapped: rf.Unmapped, Quota: rf.Quota}
			rp := pl.Plan(in, now)
			steps := replicate.Steps(rp)
			got, err := json.MarshalIndent(golden{Replica: replicate.ReportOf(rp), Steps: stepLines(steps)}, "", "  ")
			require.NoError(t, err)
			got = append(got, '\n')
			gpath := filepath.Join(dir, "plan.golden")
			if *update {
				require.NoError(t, os.WriteFile(gpath, got, 0o644))
			}
			want, err := os.ReadFile(gpath)
			require.NoError(t, err, "run with -update to create it")
			require.Equal(t, string(want), string(got))

			// Idempotence: after the plan, nothing more to change, and the
			// same rules still skipped.
			in.Replica.Rules = plan.Simulate(replica.Rules, steps)
			again := pl.Plan(in, now)
			require.True(t, again.Empty(), "planning again after the plan changes more: add %v remove %v", again.Add, again.Remove)
			require.Len(t, again.Skipped, len(rp.Skipped))
			for _, r := range in.Replica.Rules {
				require.Equal(t, replica.GroupID, r.GroupID)
			}
		})
	}
}

// Up to 100 permissions per authorize: 250 new ingress rules and 1 egress
// rule are four calls.
func TestStepsBatchAuthorizeBy100(t *testing.T) {
	var add []rule.Rule
	for i := range 250 {
		add = append(add, rule.Rule{Direction: rule.Ingress, Protocol: rule.TCP, Ports: rule.PortRange{From: 1000 + i, To: 1000 + i}, Policy: rule.Accept, Priority: 1})
	}
	add = append(add, rule.Rule{Direction: rule.Egress, Protocol: rule.TCP, Ports: rule.PortRange{From: 1, To: 1}, Policy: rule.Accept, Priority: 1})
	p := replicate.Steps(replicate.ReplicaPlan{Add: add})
	var sizes []string
	for _, s := range p.Steps {
		require.Equal(t, plan.Authorize, s.Kind)
		sizes = append(sizes, fmt.Sprintf("%s:%d", s.Direction, len(s.Rules)))
	}
	require.Equal(t, []string{"ingress:100", "ingress:100", "ingress:50", "egress:1"}, sizes)
	require.Equal(t, 251, p.Changes())
}

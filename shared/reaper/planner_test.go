package reaper_test

// Golden plans: testdata/plan/<case>/{state.json,policy.yaml} → plan.golden
// (go test -run TestPlanGolden ./shared/reaper/ -update rewrites them), each
// with the idempotence check: carry the plan out on the state (rules closed,
// announcements opened or ended), plan again at the same instant, and the
// second plan has no lifecycle step.

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/decision"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/reaper"
	"github.com/porthygiene/porthygiene/shared/rule"
)

var update = flag.Bool("update", false, "rewrite the golden files")

type useFile struct {
	Hits     int64     `json:"hits"`
	LastSeen time.Time `json:"lastSeen"`
}

type announcementFile struct {
	ID       string          `json:"id"`
	At       time.Time       `json:"at"`
	ClosesAt time.Time       `json:"closesAt"`
	Rule     rule.Permission `json:"rule"`
}

type evidenceFile struct {
	From    time.Time                   `json:"from"`
	To      time.Time                   `json:"to"`
	Covered int                         `json:"covered"`
	Gaps    []reaper.Gap                `json:"gaps"`
	ENIs    int                         `json:"enis"`
	IPv6    bool                        `json:"ipv6"`
	Use     map[string]useFile          `json:"use"`
	Open    map[string]announcementFile `json:"open"`
}

type stateFile struct {
	Region      string              `json:"region"`
	GroupID     string              `json:"securityGroupId"`
	Now         time.Time           `json:"now"`
	Tags        map[string]string   `json:"tags"`
	Permissions []rule.Permission   `json:"permissions"`
	Decisions   []decision.Decision `json:"decisions"`
	Evidence    *evidenceFile       `json:"evidence"`
}

func loadCase(t *testing.T, dir string) (observe.State, time.Time, *policy.Policy) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	var sf stateFile
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&sf), "state.json")
	st := observe.State{Region: sf.Region, GroupID: sf.GroupID, Tags: sf.Tags, TagsKnown: true, DecisionsKnown: true}
	if st.Tags == nil {
		st.Tags = map[string]string{}
	}
	for _, p := range sf.Permissions {
		r, err := p.Rule(sf.GroupID, sf.Region)
		require.NoError(t, err, "permission %s", p.SecurityGroupRuleId)
		st.Rules = append(st.Rules, r)
	}
	for i := range sf.Decisions {
		if sf.Decisions[i].GroupID == "" {
			sf.Decisions[i].GroupID = sf.GroupID
		}
	}
	st.Decisions = decision.NewSet(sf.Decisions)
	if e := sf.Evidence; e != nil {
		ev := &reaper.Evidence{From: e.From, To: e.To, Covered: e.Covered, Gaps: e.Gaps, ENIs: e.ENIs, IPv6: e.IPv6,
			Use: map[string]reaper.Use{}, Open: map[string]reaper.Announcement{}}
		for id, u := range e.Use {
			ev.Use[id] = reaper.Use{Hits: u.Hits, LastSeen: u.LastSeen}
		}
		for id, a := range e.Open {
			ev.Open[id] = reaper.Announcement{ID: a.ID, At: a.At, ClosesAt: a.ClosesAt, Rule: a.Rule}
		}
		st.Evidence = ev
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

func render(p plan.Plan, vs []reaper.RuleVerdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan %s %s: %d step(s), %d change(s)\n", p.Region, p.GroupID, len(p.Steps), p.Changes())
	for _, s := range p.Steps {
		f := s.Finding
		fmt.Fprintf(&b, "%s %s %s %s %s from %s\n", s.Kind, f.RuleID, f.Direction, f.Protocol, f.PortRange, f.Source)
		fmt.Fprintf(&b, "  reason: %s\n", f.Reason)
		if s.Note != "" {
			fmt.Fprintf(&b, "  note: %s\n", s.Note)
		}
		if l := s.Lifecycle; l != nil && (l.AnnouncementID != "" || !l.ClosesAt.IsZero()) {
			fmt.Fprintf(&b, "  announcement: %q closes %s\n", l.AnnouncementID, l.ClosesAt.Format(time.RFC3339))
		}
	}
	b.WriteString("verdicts:\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "  %s %s: %s (%s)\n", v.Rule.ID, describe(v.Rule), v.Verdict, v.Reason)
	}
	return b.String()
}

func describe(r rule.Rule) string {
	p := r.Permission()
	return strings.ToLower(p.IpProtocol) + " " + p.PortRange + " from " + r.Peer.String()
}

// carryOut is what apply leaves behind: closed rules gone, announcements
// opened (id "announced-by-test") or ended.
func carryOut(st observe.State, p plan.Plan, now time.Time) observe.State {
	st.Rules = plan.Simulate(st.Rules, p)
	ev, _ := st.Evidence.(*reaper.Evidence)
	if ev == nil {
		return st
	}
	cp := *ev
	cp.Open = map[string]reaper.Announcement{}
	for k, v := range ev.Open {
		cp.Open[k] = v
	}
	for _, s := range p.Steps {
		switch s.Kind {
		case plan.Announce:
			cp.Open[s.Finding.RuleID] = reaper.Announcement{ID: "announced-by-test", At: now, ClosesAt: s.Lifecycle.ClosesAt, Rule: s.Finding.Rule.Permission()}
		case plan.Cancel, plan.Close:
			delete(cp.Open, s.Finding.RuleID)
			if strings.Contains(s.Note, "the rule changed") {
				cp.Changed = map[string]time.Time{s.Finding.RuleID: now}
			}
		}
	}
	st.Evidence = &cp
	return st
}

func TestPlanGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "plan", "*"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(dirs), 12, "the golden cases")
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			st, now, pol := loadCase(t, dir)
			pl, err := reaper.NewPlanner(pol, reaper.Settings{})
			require.NoError(t, err)
			p := pl.Plan(st, now)
			// Without its tags and decisions the engine plans nothing: a group
			// that does not need them must have nothing to do.
			bare := st
			bare.Tags, bare.TagsKnown, bare.Decisions, bare.DecisionsKnown = nil, false, decision.Set{}, false
			needs := pl.NeedsContext(&bare, now)
			if !needs {
				require.Empty(t, p.Steps, "NeedsContext said no, but the plan has steps")
			}
			got := render(p, pl.Judge(st, now)) + fmt.Sprintf("needs context: %v\n", needs)
			golden := filepath.Join(dir, "plan.golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with -update to create it")
			require.Equal(t, string(want), got)

			again := pl.Plan(carryOut(st, p, now), now)
			for _, s := range again.Steps {
				require.NotContains(t, []plan.Kind{plan.Announce, plan.Cancel, plan.Close}, s.Kind,
					"idempotence: planning again after the plan was carried out must start no lifecycle step: %s %s", s.Kind, s.Finding.RuleID)
			}
		})
	}
}

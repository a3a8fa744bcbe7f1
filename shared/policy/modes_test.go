package policy

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestModeFor(t *testing.T) {
	p, err := Load(filepath.Join("testdata", "good-scopes.yaml"))
	require.NoError(t, err)
	require.Len(t, p.Scopes, 4)
	require.Equal(t, Enforce{}, p.Scopes[0].Enforce, "a scope's enforce left out stays nil (not overridden)")

	type tags = map[string]string
	tests := []struct {
		name  string
		fn    Function
		sev   Severity
		tags  tags
		want  Mode
		scope int
		bySev bool
	}{
		{"untagged critical enforced", FunctionGuard, SeverityCritical, nil, ModeEnforce, -1, false},
		{"untagged high enforced", FunctionGuard, SeverityHigh, tags{}, ModeEnforce, -1, false},
		{"untagged medium only reported", FunctionGuard, SeverityMedium, nil, ModeNotify, -1, true},
		{"untagged low only reported", FunctionGuard, SeverityLow, nil, ModeNotify, -1, true},
		{"scope matching nothing", FunctionGuard, SeverityCritical, tags{"env": "staging"}, ModeEnforce, -1, false},
		{"tag keys are case-sensitive", FunctionGuard, SeverityCritical, tags{"Env": "dev"}, ModeEnforce, -1, false},
		{"tag values are exact", FunctionGuard, SeverityCritical, tags{"env": "dev "}, ModeEnforce, -1, false},
		{"dev is notify", FunctionGuard, SeverityCritical, tags{"env": "dev"}, ModeNotify, 0, false},
		{"overlap: first scope wins", FunctionGuard, SeverityCritical, tags{"env": "dev", "team": "payments"}, ModeNotify, 0, false},
		{"scope silent on reaper: top level", FunctionReaper, SeverityCritical, tags{"env": "dev"}, ModeDryRun, 0, false},
		{"first scope wins even when silent on the function", FunctionReaper, SeverityLow, tags{"env": "dev", "team": "payments"}, ModeDryRun, 0, false},
		{"edge enforces every severity", FunctionGuard, SeverityLow, tags{"env": "prod", "exposure": "edge"}, ModeEnforce, 1, false},
		{"edge keeps the top-level mode", FunctionGuard, SeverityMedium, tags{"env": "prod", "exposure": "edge", "team": "payments"}, ModeEnforce, 1, false},
		{"prod without edge: severity filter", FunctionGuard, SeverityLow, tags{"env": "prod"}, ModeNotify, 3, true},
		{"prod critical", FunctionGuard, SeverityCritical, tags{"env": "prod", "exposure": "internal"}, ModeEnforce, 3, false},
		{"dry-run stays dry-run", FunctionGuard, SeverityCritical, tags{"team": "payments"}, ModeDryRun, 2, false},
		{"dry-run stays dry-run below the list", FunctionGuard, SeverityLow, tags{"team": "payments"}, ModeDryRun, 2, false},
		{"scope turns reaper to enforce", FunctionReaper, SeverityLow, tags{"team": "payments"}, ModeEnforce, 2, false},
		{"severity typo is never enforced", FunctionGuard, "hgh", nil, ModeNotify, -1, true},
		{"severity none is never enforced", FunctionGuard, SeverityNone, nil, ModeNotify, -1, true},
		{"empty severity is never enforced", FunctionGuard, "", nil, ModeNotify, -1, true},
		{"replicator default notify", FunctionReplicator, SeverityCritical, nil, ModeNotify, -1, false},
		{"unknown function changes nothing", "gaurd", SeverityCritical, nil, ModeNotify, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := p.ChooseMode(tt.fn, tt.sev, tt.tags)
			require.Equal(t, ModeChoice{Mode: tt.want, Scope: tt.scope, BySeverity: tt.bySev}, c)
			require.Equal(t, tt.want, p.ModeFor(tt.fn, tt.sev, tt.tags))
		})
	}
}

// TestModeForWithoutEnforceOrScopes: modes.guard alone means what it meant
// before enforce and scopes existed, except for the default enforce.guard
// list, [critical, high].
func TestModeForWithoutEnforceOrScopes(t *testing.T) {
	for _, m := range []Mode{ModeEnforce, ModeNotify, ModeDryRun} {
		p, err := Parse([]byte("modes: {guard: "+string(m)+", reaper: "+string(m)+"}\n"), "policy.yaml")
		require.NoError(t, err)
		for _, sev := range []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow} {
			tags := map[string]string{"env": "prod"}
			// The reaper's default list holds every severity: exactly the old meaning.
			require.Equal(t, m, p.ModeFor(FunctionReaper, sev, tags), "reaper %s %s", m, sev)
			want := m
			if m == ModeEnforce && sev.Rank() < SeverityHigh.Rank() {
				want = ModeNotify
			}
			require.Equal(t, want, p.ModeFor(FunctionGuard, sev, tags), "guard %s %s", m, sev)
		}
	}
	// enforce.guard widened back to every severity restores the old guard.
	p, err := Parse([]byte("modes: {guard: enforce}\nenforce: {guard: [low, medium, high, critical]}\n"), "policy.yaml")
	require.NoError(t, err)
	require.Equal(t, ModeEnforce, p.ModeFor(FunctionGuard, SeverityLow, nil))
	require.Equal(t, []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow}, p.Enforce.Reaper, "enforce.reaper kept")
}

// TestModeForUnvalidated: a hand-built policy with a bad mode or no enforce
// list changes nothing.
func TestModeForUnvalidated(t *testing.T) {
	p := &Policy{Modes: Modes{Guard: "yolo", Reaper: ModeEnforce}}
	require.Equal(t, ModeNotify, p.ModeFor(FunctionGuard, SeverityCritical, nil))
	require.Equal(t, ModeNotify, p.ModeFor(FunctionReaper, SeverityCritical, nil), "no enforce list: nothing enforced")
	require.False(t, Scope{}.Matches(map[string]string{"env": "dev"}), "an empty match matches nothing")
}

// TestDefaultCatalogSeverities: default.yaml says every catalogued service is
// critical or high, which is what enforce.guard lets the guard revoke.
func TestDefaultCatalogSeverities(t *testing.T) {
	p := Default()
	for n, s := range p.Services {
		require.Contains(t, p.Enforce.Guard, s.Severity, "service %s", n)
	}
	require.NotContains(t, p.Enforce.Guard, p.OtherPorts)
}

func TestFunctionValid(t *testing.T) {
	for _, fn := range []Function{FunctionGuard, FunctionReaper, FunctionReplicator} {
		require.True(t, fn.Valid(), fn)
		require.NotEmpty(t, Default().Modes.Of(fn), fn)
		require.NotEmpty(t, Default().Enforce.Of(fn), fn)
	}
	for _, fn := range []Function{"", "Guard", "replicatr"} {
		require.False(t, fn.Valid(), fn)
		require.Empty(t, Default().Modes.Of(fn))
		require.Nil(t, Default().Enforce.Of(fn))
	}
}

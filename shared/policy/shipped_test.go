package policy

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestShippedPolicy: the policy.yaml shipped with the functions revokes the
// catalogued sensitive services and only reports any other port. The golden
// file lists the guard's mode for each.
func TestShippedPolicy(t *testing.T) {
	p, err := Load(filepath.Join("..", "..", "policy.yaml"))
	require.NoError(t, err)
	require.Equal(t, ModeEnforce, p.Modes.Guard)
	require.Equal(t, ModeEnforce, p.Modes.Replicator)

	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "# guard's mode per finding under /policy.yaml, untagged group (go test -update rewrites)\n")
	for _, n := range names {
		s := p.Services[n]
		m := p.ModeFor(FunctionGuard, s.Severity, nil)
		require.Equal(t, ModeEnforce, m, "catalogued service %s (%s) must be revoked", n, s.Severity)
		fmt.Fprintf(&b, "%-14s %-8s %s\n", n, s.Severity, m)
	}
	m := p.ModeFor(FunctionGuard, p.OtherPorts, nil)
	require.Equal(t, ModeNotify, m, "other ports (otherPorts %s) are reported, not revoked", p.OtherPorts)
	fmt.Fprintf(&b, "%-14s %-8s %s\n", "otherPorts", p.OtherPorts, m)

	golden := filepath.Join("testdata", "shipped-guard-modes.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), b.String())
}

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

// make demo is the README's first command: every claim it prints must hold,
// with the function binaries as built from this tree. (A behaviour change,
// e.g. the guard's pace, that breaks the story fails here, not on a
// newcomer's machine.)
func TestDemoHoldsEveryClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the whole demo")
	}
	var args []string
	for _, fn := range []string{"guard", "approve", "reaper", "replicator"} {
		dir, err := lctest.Build(fn)
		require.NoError(t, err)
		args = append(args, "--code-dir", fn+"="+dir)
	}
	root := lctest.RepoRoot()
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.NoError(t, os.Chdir(root))
	t.Cleanup(func() { _ = os.Chdir(wd) })
	code, out, errOut := runCLI(t, append([]string{"demo", "--config", filepath.Join(root, "s.yaml")}, args...)...)
	require.Equal(t, 0, code, "demo failed:\n%s\n%s", out, errOut)
	require.Contains(t, out, "all claims held.")
}

package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
)

func TestLocalRefusesNonLoopbackAddr(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8600", ":8600", "[::]:8600", "192.168.1.5:8600", "devbox:8600"} {
		t.Run(addr, func(t *testing.T) {
			// The config does not exist: had the check not run first, the
			// error would be about --config.
			code, stdout, stderr := runCLI(t, "local", "--addr", addr, "--config", td("nope.yaml"))
			require.Equal(t, 2, code, "stderr: %s", stderr)
			require.Empty(t, stdout)
			require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %s", stderr)
			require.True(t, strings.HasPrefix(stderr, "porthygiene local: --addr: "), stderr)
			require.Contains(t, stderr, addr)
			require.Contains(t, stderr, "--listen-any")
			require.NotContains(t, stderr, "--config")
		})
	}
	code, _, stderr := runCLI(t, "local", "--addr", "8600")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "--addr: listen address \"8600\"")
	require.NotContains(t, stderr, "--listen-any", "a malformed address is not a loopback question")
}

func TestCheckLocalAddr(t *testing.T) {
	var stderr bytes.Buffer
	env := &cliEnv{stderr: &stderr}

	require.NoError(t, checkLocalAddr(env, "127.0.0.1:8600", false))
	require.NoError(t, checkLocalAddr(env, "127.0.0.1:8600", true))
	require.Empty(t, stderr.String(), "no warning for loopback")

	err := checkLocalAddr(env, "0.0.0.0:8600", false)
	var ue usageError
	require.True(t, errors.As(err, &ue), "usage error (exit 2): %v", err)
	require.ErrorIs(t, err, localcloud.ErrNotLoopback)
	require.Empty(t, stderr.String())

	require.NoError(t, checkLocalAddr(env, "0.0.0.0:8600", true))
	require.True(t, strings.HasPrefix(stderr.String(), "warning: --listen-any: "), stderr.String())
	require.Contains(t, stderr.String(), "0.0.0.0:8600")
}

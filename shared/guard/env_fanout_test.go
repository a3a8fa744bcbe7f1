package guard_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/guard"
)

func TestParseEnvFanOut(t *testing.T) {
	base := map[string]string{"PORTHYGIENE_ROLE_NAME": "r", "LEDGER_PROJECT": "p", "LEDGER_LOGSTORE": "l",
		"FC_FUNCTION_NAME": "porthygiene-guard", "FC_ACCOUNT_ID": "1234567890123456", "FCAPI_ENDPOINT": "http://127.0.0.1:1"}
	parse := func(kv ...string) (guard.Env, error) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return guard.ParseEnv(func(k string) string { return env[k] }, "cn-hangzhou", "")
	}
	e, err := parse()
	require.NoError(t, err)
	require.Zero(t, e.SweepSlice, "empty: sized from the timeout")
	require.Equal(t, guard.DefaultSweepConcurrency, e.SweepConcurrency)
	require.Equal(t, "porthygiene-guard", e.FunctionName)
	require.Equal(t, "1234567890123456", e.AccountID)
	require.Equal(t, "http://127.0.0.1:1", e.FCEndpoint)

	e, err = parse("PORTHYGIENE_SWEEP_SLICE", "250", "PORTHYGIENE_SWEEP_CONCURRENCY", "8")
	require.NoError(t, err)
	require.Equal(t, 250, e.SweepSlice)
	require.Equal(t, 8, e.SweepConcurrency)

	e, err = parse("PORTHYGIENE_SWEEP_SLICE", "off")
	require.NoError(t, err)
	require.Negative(t, e.SweepSlice)

	for _, kv := range [][2]string{
		{"PORTHYGIENE_SWEEP_SLICE", "0"}, {"PORTHYGIENE_SWEEP_SLICE", "-3"}, {"PORTHYGIENE_SWEEP_SLICE", "5000"},
		{"PORTHYGIENE_SWEEP_SLICE", "many"}, {"PORTHYGIENE_SWEEP_CONCURRENCY", "0"}, {"PORTHYGIENE_SWEEP_CONCURRENCY", "x"},
	} {
		_, err := parse(kv[0], kv[1])
		require.ErrorContains(t, err, kv[0], "%s=%q", kv[0], kv[1])
	}
}

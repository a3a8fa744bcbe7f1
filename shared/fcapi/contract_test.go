package fcapi_test

import (
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/fcapi"
)

var integration = flag.Bool("integration", false,
	"also run the FC contract suite against a real account (needs ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, PORTHYGIENE_IT_REGION and PORTHYGIENE_IT_ACCOUNT_ID; optional PORTHYGIENE_IT_FC_FUNCTION is invoked asynchronously once)")

// contractTarget is an FC API to run the contract against.
type contractTarget struct {
	base *fcapi.Client // no credentials
	good fcapi.Credentials
	// function may be invoked asynchronously with a harmless payload; ""
	// skips the cases that need one.
	function string
}

// contractPayload is what the suite sends to the function it invokes.
const contractPayload = `{"porthygiene-contract":"ping"}`

// runContract checks what the guard's fan-out relies on: the signature is
// accepted (an unknown function is then "not found", not "forbidden"),
// refused credentials are ErrForbidden and not retried, and an asynchronous
// invocation is accepted with a request id.
func runContract(t *testing.T, tg contractTarget) {
	with := func(t *testing.T, c fcapi.Credentials) *fcapi.Client {
		cl, err := tg.base.WithCredentials(c)
		require.NoError(t, err)
		return cl
	}
	t.Run("signed requests are accepted: an unknown function is not found", func(t *testing.T) {
		_, err := with(t, tg.good).InvokeAsync(t.Context(), "porthygiene-contract-no-such-function", []byte(contractPayload))
		require.ErrorIs(t, err, fcapi.ErrNotFound)
		var apiErr *fcapi.APIError
		require.True(t, errors.As(err, &apiErr))
		require.Equal(t, 404, apiErr.HTTPStatus)
		require.NotEmpty(t, apiErr.RequestID)
	})
	t.Run("a wrong secret is refused once", func(t *testing.T) {
		bad := tg.good
		bad.AccessKeySecret = "porthygiene-contract-wrong-secret"
		_, err := with(t, bad).InvokeAsync(t.Context(), "porthygiene-contract-no-such-function", []byte(contractPayload))
		require.ErrorIs(t, err, fcapi.ErrForbidden)
		var apiErr *fcapi.APIError
		require.True(t, errors.As(err, &apiErr))
		require.Equal(t, 1, apiErr.Attempts, "not retried")
		require.NotContains(t, err.Error(), bad.AccessKeySecret)
		require.NotContains(t, err.Error(), tg.good.AccessKeySecret)
		if tg.good.SecurityToken != "" {
			require.NotContains(t, err.Error(), tg.good.SecurityToken)
		}
	})
	t.Run("an unknown AccessKey is refused", func(t *testing.T) {
		_, err := with(t, fcapi.Credentials{AccessKeyID: "LTAIporthygieneunknown", AccessKeySecret: "x-x-x-x-x-x"}).
			InvokeAsync(t.Context(), "porthygiene-contract-no-such-function", []byte(contractPayload))
		require.ErrorIs(t, err, fcapi.ErrForbidden)
	})
	if tg.function == "" {
		t.Log("no function to invoke: skipping the async and qualifier cases")
		return
	}
	t.Run("an asynchronous invocation is accepted", func(t *testing.T) {
		id, err := with(t, tg.good).InvokeAsync(t.Context(), tg.function, []byte(contractPayload))
		require.NoError(t, err)
		require.NotEmpty(t, strings.TrimSpace(id), "the x-fc-request-id of the queued invocation")
	})
	t.Run("an unknown qualifier is not found", func(t *testing.T) {
		_, err := with(t, tg.good).WithQualifier("porthygiene-contract-no-such-alias").InvokeAsync(t.Context(), tg.function, []byte(contractPayload))
		require.ErrorIs(t, err, fcapi.ErrNotFound)
	})
}

func TestContractEmulator(t *testing.T) {
	e, base := startEmulator(t, nil)
	runContract(t, contractTarget{base: base, good: creds(e.role), function: "porthygiene-guard"})
	require.Equal(t, []string{"porthygiene-guard " + contractPayload}, e.q.events, "exactly the one accepted invocation ran")
}

// TestContractIntegration runs the same suite against a real account. Never
// in CI (`make contract` runs it). It invokes nothing but
// PORTHYGIENE_IT_FC_FUNCTION, once, asynchronously, with {"porthygiene-contract":"ping"}:
// name a function for which that is harmless (porthygiene-guard refuses it
// as an unknown payload and changes nothing; FC may retry the failed
// invocation up to its maxAsyncRetryAttempts).
func TestContractIntegration(t *testing.T) {
	if !*integration {
		t.Skip("real-account contract run disabled: pass -integration with ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, PORTHYGIENE_IT_REGION, PORTHYGIENE_IT_ACCOUNT_ID (optional: PORTHYGIENE_IT_FC_FUNCTION, ALIBABA_CLOUD_SECURITY_TOKEN)")
	}
	ak, sk := os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	region, account := os.Getenv("PORTHYGIENE_IT_REGION"), os.Getenv("PORTHYGIENE_IT_ACCOUNT_ID")
	if ak == "" || sk == "" || region == "" || account == "" {
		t.Skip("-integration needs ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, PORTHYGIENE_IT_REGION and PORTHYGIENE_IT_ACCOUNT_ID")
	}
	base, err := fcapi.New(fcapi.Config{Region: region, AccountID: account, MaxAttempts: 3, MaxBackoff: time.Second})
	require.NoError(t, err)
	runContract(t, contractTarget{base: base, function: os.Getenv("PORTHYGIENE_IT_FC_FUNCTION"),
		good: fcapi.Credentials{AccessKeyID: ak, AccessKeySecret: sk, SecurityToken: os.Getenv("ALIBABA_CLOUD_SECURITY_TOKEN")}})
}

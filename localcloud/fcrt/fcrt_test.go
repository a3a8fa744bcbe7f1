package fcrt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
)

// echoDir holds the echofn binary "main", built once by TestMain.
var echoDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "fcrt-echofn-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "find go:", err)
		return 1
	}
	build := exec.Command(goBin, "build", "-o", filepath.Join(dir, "main"), "./testdata/echofn")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build echofn:", err)
		return 1
	}
	echoDir = dir
	return m.Run()
}

// reply mirrors testdata/echofn's reply.
type reply struct {
	Payload       json.RawMessage `json:"payload"`
	RequestID     string          `json:"requestId"`
	AccessKeyID   string          `json:"accessKeyId"`
	HasSecret     bool            `json:"hasSecret"`
	SecurityToken string          `json:"securityToken"`
	RetryCount    int             `json:"retryCount"`
	DeadlineInMS  int64           `json:"deadlineInMs"`
	Function      struct {
		Name, Handler, Memory string
		Timeout               int
	} `json:"function"`
	Region        string            `json:"region"`
	AccountID     string            `json:"accountId"`
	InitRequestID string            `json:"initRequestId"`
	PID           int               `json:"pid"`
	Env           map[string]string `json:"env"`
}

type harness struct {
	rt    *fcrt.Runtime
	auth  *auth.Store
	stats *stats.Stats
	clock *vclock.Clock
}

// newHarness starts a runtime with function "echo" (echofn), after edit
// has adjusted its spec and the runtime's config.
func newHarness(t *testing.T, edit func(*fcrt.Config, *fcrt.FunctionSpec)) *harness {
	t.Helper()
	h := &harness{auth: auth.NewStore(), stats: &stats.Stats{}, clock: vclock.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))}
	cfg := fcrt.Config{Clock: h.clock, Auth: h.auth, Stats: h.stats, RetryBackoff: 10 * time.Millisecond}
	spec := fcrt.FunctionSpec{
		Name: "echo", Region: "cn-shanghai", Handler: "main", CodeDir: echoDir,
		Role: "porthygiene-fn", Timeout: 5 * time.Second, MemoryMB: 256,
		Env: map[string]string{"ECS_ENDPOINT": "http://127.0.0.1:8600"},
	}
	if edit != nil {
		edit(&cfg, &spec)
	}
	h.rt = fcrt.New(cfg)
	t.Cleanup(func() { require.NoError(t, h.rt.Close()) })
	require.NoError(t, h.rt.Register(spec))
	return h
}

func (h *harness) invoke(t *testing.T, payload string) (fcrt.Result, reply) {
	t.Helper()
	res, err := h.rt.Invoke(t.Context(), "echo", []byte(payload))
	require.NoError(t, err)
	var r reply
	if res.Status == fcrt.StatusOK {
		require.NoError(t, json.Unmarshal(res.Payload, &r), "body %s", res.Payload)
	}
	return res, r
}

func TestInvokeRoundTrip(t *testing.T) {
	h := newHarness(t, nil)
	res, r := h.invoke(t, `{"msg":"hello"}`)

	require.Equal(t, fcrt.StatusOK, res.Status, "error %s", res.ErrorMessage)
	require.JSONEq(t, `{"msg":"hello"}`, string(r.Payload))
	require.Equal(t, res.RequestID, r.RequestID)
	require.Equal(t, "echo", r.Function.Name)
	require.Equal(t, "main", r.Function.Handler)
	require.Equal(t, "256", r.Function.Memory)
	require.Equal(t, 5, r.Function.Timeout)
	require.Equal(t, "cn-shanghai", r.Region)
	require.Equal(t, auth.AccountID, r.AccountID)
	require.Equal(t, 0, r.RetryCount)
	require.InDelta(t, 5000, r.DeadlineInMS, 500, "the deadline is now+timeout on the wall clock")

	require.Equal(t, "echo", r.Env["FC_FUNCTION_NAME"])
	require.Equal(t, "cn-shanghai", r.Env["FC_REGION"])
	require.Equal(t, "256", r.Env["FC_FUNCTION_MEMORY_SIZE"])
	require.Equal(t, "main", r.Env["FC_FUNCTION_HANDLER"])
	require.Equal(t, auth.AccountID, r.Env["FC_ACCOUNT_ID"])
	require.Equal(t, echoDir, r.Env["FC_FUNC_CODE_PATH"])
	require.True(t, strings.HasPrefix(r.Env["FC_RUNTIME_API"], "127.0.0.1:"), "FC_RUNTIME_API=%q", r.Env["FC_RUNTIME_API"])
	require.NotEmpty(t, r.Env["FC_INSTANCE_ID"])
	require.Equal(t, "http://127.0.0.1:8600", r.Env["ECS_ENDPOINT"])
	for k := range r.Env {
		require.False(t, strings.HasPrefix(k, "ALIBABA_CLOUD_"), "credentials must not be in the environment: %s", k)
	}

	recs := h.rt.Invocations()
	require.Len(t, recs, 1)
	require.Equal(t, res.RequestID, recs[0].ID)
	require.Equal(t, fcrt.StatusOK, recs[0].Status)
	require.Equal(t, h.clock.Now(), recs[0].VirtualTime)
	require.False(t, recs[0].End.Before(recs[0].Start))
	require.Equal(t, 1, h.stats.Snapshot().Invocations["echo"])
}

func TestCredentialsPerInvocation(t *testing.T) {
	h := newHarness(t, nil)
	_, r1 := h.invoke(t, `{}`)
	_, r2 := h.invoke(t, `{}`)

	require.True(t, strings.HasPrefix(r1.AccessKeyID, "STS."), "ak %q", r1.AccessKeyID)
	require.True(t, r1.HasSecret)
	require.NotEmpty(t, r1.SecurityToken)
	cred, err := h.auth.Verify(r1.AccessKeyID, r1.SecurityToken, h.clock.Now())
	require.NoError(t, err)
	require.Equal(t, "assumed-role", cred.Identity.Type)
	require.Equal(t, "porthygiene-fn:echo", cred.Identity.UserName)
	require.Equal(t, r1.AccessKeyID, r2.AccessKeyID, "a warm instance reuses unexpired credentials")

	// Two days later on the virtual clock the old keys are expired; the
	// instance gets fresh ones.
	h.clock.Advance(48 * time.Hour)
	_, r3 := h.invoke(t, `{}`)
	require.NotEqual(t, r1.AccessKeyID, r3.AccessKeyID)
	_, err = h.auth.Verify(r3.AccessKeyID, r3.SecurityToken, h.clock.Now())
	require.NoError(t, err)
}

func TestNoRoleNoCredentials(t *testing.T) {
	h := newHarness(t, func(_ *fcrt.Config, s *fcrt.FunctionSpec) { s.Role = "" })
	_, r := h.invoke(t, `{}`)
	require.Empty(t, r.AccessKeyID)
	require.Empty(t, r.SecurityToken)
}

func TestInitializer(t *testing.T) {
	t.Run("RunsFirstOnEachNewInstance", func(t *testing.T) {
		h := newHarness(t, func(_ *fcrt.Config, s *fcrt.FunctionSpec) {
			s.Initializer = true
			s.Timeout = 300 * time.Millisecond
		})
		_, r1 := h.invoke(t, `{}`)
		_, r2 := h.invoke(t, `{}`)
		require.True(t, strings.HasPrefix(r1.InitRequestID, "init-"), "init id %q", r1.InitRequestID)
		require.Equal(t, r1.PID, r2.PID)
		require.Equal(t, r1.InitRequestID, r2.InitRequestID, "a warm instance is not initialized again")

		recs := h.rt.Invocations()
		require.Len(t, recs, 3)
		require.True(t, recs[0].Initializer)
		require.Equal(t, r1.InitRequestID, recs[0].ID)
		require.Equal(t, fcrt.StatusOK, recs[0].Status)
		require.False(t, recs[1].Initializer)
		require.Equal(t, 2, h.stats.Snapshot().Invocations["echo"], "initializer runs are not counted as invocations")

		// A timeout kills the instance; the next one is initialized anew.
		res, _ := h.invoke(t, `{"op":"sleep","sleep":"10s"}`)
		require.Equal(t, fcrt.StatusTimeout, res.Status)
		_, r3 := h.invoke(t, `{}`)
		require.NotEqual(t, r1.PID, r3.PID)
		require.True(t, strings.HasPrefix(r3.InitRequestID, "init-"))
		require.NotEqual(t, r1.InitRequestID, r3.InitRequestID)
	})

	t.Run("OffByDefault", func(t *testing.T) {
		h := newHarness(t, nil)
		_, r := h.invoke(t, `{}`)
		require.Empty(t, r.InitRequestID, "no x-fc-function-type: 1 without Initializer")
	})

	t.Run("FailureFailsTheAttempt", func(t *testing.T) {
		h := newHarness(t, func(_ *fcrt.Config, s *fcrt.FunctionSpec) {
			s.Initializer = true
			s.Env["ECHO_INIT_FAIL"] = "1"
		})
		res, _ := h.invoke(t, `{}`)
		require.Equal(t, fcrt.StatusError, res.Status)
		require.Contains(t, res.ErrorMessage, "initializer failed")
		recs := h.rt.Invocations()
		require.Len(t, recs, 2)
		require.True(t, recs[0].Initializer)
		require.Equal(t, fcrt.StatusError, recs[0].Status)
		require.Equal(t, 1, h.stats.Snapshot().Failures["echo"])
	})
}

func TestHandlerError(t *testing.T) {
	h := newHarness(t, nil)
	res, _ := h.invoke(t, `{"op":"fail","msg":"requested"}`)

	require.Equal(t, fcrt.StatusError, res.Status)
	require.Equal(t, "boom: requested", res.ErrorMessage)
	require.Equal(t, "errorString", res.ErrorType)
	require.JSONEq(t, `{"errorMessage":"boom: requested","errorType":"errorString"}`, string(res.Payload))
	snap := h.stats.Snapshot()
	require.Equal(t, 1, snap.Invocations["echo"])
	require.Equal(t, 1, snap.Failures["echo"])
	require.Equal(t, fcrt.StatusError, h.rt.Invocations()[0].Status)
	require.Equal(t, "boom: requested", h.rt.Invocations()[0].Error)
}

func TestPanicKeepsProcess(t *testing.T) {
	h := newHarness(t, nil)
	_, before := h.invoke(t, `{}`)
	res, _ := h.invoke(t, `{"op":"panic","msg":"now"}`)
	require.Equal(t, fcrt.StatusError, res.Status)
	require.Equal(t, "kaboom: now", res.ErrorMessage)
	require.Contains(t, string(res.Payload), `"stackTrace"`)

	_, after := h.invoke(t, `{}`)
	require.Equal(t, before.PID, after.PID, "a panic does not end the process")
}

func TestTimeoutKillsInstance(t *testing.T) {
	h := newHarness(t, func(_ *fcrt.Config, s *fcrt.FunctionSpec) { s.Timeout = 300 * time.Millisecond })
	_, before := h.invoke(t, `{}`)
	require.Equal(t, 1, before.Function.Timeout, "x-fc-function-timeout is rounded up to whole seconds")

	start := time.Now()
	res, _ := h.invoke(t, `{"op":"sleep","sleep":"30s"}`)
	require.Equal(t, fcrt.StatusTimeout, res.Status)
	require.Less(t, time.Since(start), 3*time.Second)
	require.Contains(t, res.ErrorMessage, "timed out")

	res, after := h.invoke(t, `{}`)
	require.Equal(t, fcrt.StatusOK, res.Status)
	require.NotEqual(t, before.PID, after.PID, "the timed-out instance was replaced")
	recs := h.rt.Invocations()
	require.Equal(t, fcrt.StatusTimeout, recs[1].Status)
	require.Equal(t, 1, h.stats.Snapshot().Failures["echo"])
}

func TestKillNextCutsOneInvocationShort(t *testing.T) {
	h := newHarness(t, func(_ *fcrt.Config, s *fcrt.FunctionSpec) { s.Timeout = time.Minute })
	_, before := h.invoke(t, `{}`)
	h.rt.KillNext("echo", 100*time.Millisecond)
	res, _ := h.invoke(t, `{}`)
	require.Equal(t, fcrt.StatusOK, res.Status, "an invocation faster than the cut-off passes the kill on")
	start := time.Now()
	res, _ = h.invoke(t, `{"op":"sleep","sleep":"30s"}`)
	require.Equal(t, fcrt.StatusTimeout, res.Status, "killed as at its timeout")
	require.Less(t, time.Since(start), 3*time.Second, "at the cut-off, not the configured minute")
	res, after := h.invoke(t, `{"op":"sleep","sleep":"200ms"}`)
	require.Equal(t, fcrt.StatusOK, res.Status, "only one invocation is cut")
	require.NotEqual(t, before.PID, after.PID, "the killed instance was replaced")
}

func TestProcessExitIsReplaced(t *testing.T) {
	h := newHarness(t, nil)
	res, _ := h.invoke(t, `{"op":"exit"}`)
	require.Equal(t, fcrt.StatusError, res.Status)
	require.Contains(t, res.ErrorMessage, "process exited")
	res, _ = h.invoke(t, `{}`)
	require.Equal(t, fcrt.StatusOK, res.Status)
}

func TestAsyncRetries(t *testing.T) {
	attempts := func(h *harness, id string) []fcrt.InvocationRecord {
		var out []fcrt.InvocationRecord
		for _, r := range h.rt.Invocations() {
			if r.ID == id {
				out = append(out, r)
			}
		}
		return out
	}
	statuses := func(recs []fcrt.InvocationRecord) (counts []int, st []fcrt.Status) {
		for _, r := range recs {
			counts = append(counts, r.RetryCount)
			st = append(st, r.Status)
		}
		return counts, st
	}
	E, OK, TO := fcrt.StatusError, fcrt.StatusOK, fcrt.StatusTimeout

	tests := []struct {
		name     string
		retries  int
		timeout  time.Duration
		payload  string
		counts   []int
		statuses []fcrt.Status
	}{
		// Default of three retries: four attempts, x-fc-retry-count 0..3.
		{"ExhaustsDefaultRetries", 0, 0, `{"op":"fail"}`, []int{0, 1, 2, 3}, []fcrt.Status{E, E, E, E}},
		// Retries stop at the first success.
		{"StopsOnSuccess", 0, 0, `{"op":"failUntil","n":2}`, []int{0, 1, 2}, []fcrt.Status{E, E, OK}},
		{"NegativeMeansNoRetry", -1, 0, `{"op":"fail"}`, []int{0}, []fcrt.Status{E}},
		{"TimeoutIsRetried", 1, 200 * time.Millisecond, `{"op":"sleep","sleep":"30s"}`, []int{0, 1}, []fcrt.Status{TO, TO}},
		{"PanicIsRetried", 1, 0, `{"op":"panic"}`, []int{0, 1}, []fcrt.Status{E, E}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(_ *fcrt.Config, s *fcrt.FunctionSpec) {
				s.MaxAsyncRetryAttempts = tc.retries
				if tc.timeout > 0 {
					s.Timeout = tc.timeout
				}
			})
			id := h.rt.InvokeAsync("echo", []byte(tc.payload), fcrt.InvokeOptions{Trigger: "timer"})
			require.NoError(t, h.rt.Wait(t.Context()))

			recs := attempts(h, id)
			counts, st := statuses(recs)
			require.Equal(t, tc.counts, counts)
			require.Equal(t, tc.statuses, st)
			for i, r := range recs {
				require.True(t, r.Async)
				require.Equal(t, "timer", r.Trigger)
				if i > 0 {
					require.True(t, r.Start.After(recs[i-1].End), "attempt %d starts after the previous ends", i)
				}
			}
			require.Equal(t, len(tc.counts), h.stats.Snapshot().Invocations["echo"])
		})
	}
}

func TestAsyncEventAgeStopsRetries(t *testing.T) {
	// The first retry would come 10ms after the event was queued, past its
	// 5ms maximum age: the event is dropped after one attempt.
	h := newHarness(t, func(_ *fcrt.Config, s *fcrt.FunctionSpec) { s.MaxAsyncEventAge = 5 * time.Millisecond })
	h.rt.InvokeAsync("echo", []byte(`{"op":"fail"}`))
	require.NoError(t, h.rt.Wait(t.Context()))
	require.Len(t, h.rt.Invocations(), 1)
}

func TestAsyncRetryCountReachesHandler(t *testing.T) {
	// failUntil n=3 succeeds only when the handler sees x-fc-retry-count 3.
	h := newHarness(t, nil)
	id := h.rt.InvokeAsync("echo", []byte(`{"op":"failUntil","n":3}`))
	require.NoError(t, h.rt.Wait(t.Context()))
	recs := h.rt.Invocations()
	last := recs[len(recs)-1]
	require.Equal(t, id, last.ID)
	require.Equal(t, fcrt.StatusOK, last.Status)
	var r reply
	require.NoError(t, json.Unmarshal([]byte(last.Response), &r))
	require.Equal(t, 3, r.RetryCount)
	require.Equal(t, id, r.RequestID, "attempts share the request id")
}

func TestAsyncUnknownFunction(t *testing.T) {
	h := newHarness(t, nil)
	id := h.rt.InvokeAsync("nope", nil)
	require.NoError(t, h.rt.Wait(t.Context()))
	recs := h.rt.Invocations()
	require.Len(t, recs, 1)
	require.Equal(t, id, recs[0].ID)
	require.Equal(t, fcrt.StatusError, recs[0].Status)
	require.Contains(t, recs[0].Error, "unknown function")
}

func TestConcurrentInvokesUseTwoInstances(t *testing.T) {
	h := newHarness(t, nil)
	var wg sync.WaitGroup
	pids := make([]int, 2)
	for i := range pids {
		wg.Go(func() {
			_, r := h.invoke(t, `{"op":"sleep","sleep":"400ms"}`)
			pids[i] = r.PID
		})
	}
	wg.Wait()
	require.NotZero(t, pids[0])
	require.NotEqual(t, pids[0], pids[1], "concurrency 1 per instance")
	recs := h.rt.Invocations()
	require.Len(t, recs, 2)
	require.True(t, recs[0].Start.Before(recs[1].End) && recs[1].Start.Before(recs[0].End), "the two ran in parallel")

	// Both instances stay warm: two more parallel calls reuse them.
	again := make([]int, 2)
	for i := range again {
		wg.Go(func() {
			_, r := h.invoke(t, `{"op":"sleep","sleep":"100ms"}`)
			again[i] = r.PID
		})
	}
	wg.Wait()
	require.ElementsMatch(t, pids, again)
}

func TestMaxInstancesQueues(t *testing.T) {
	h := newHarness(t, func(c *fcrt.Config, _ *fcrt.FunctionSpec) { c.MaxInstances = 1 })
	var wg sync.WaitGroup
	pids := make([]int, 3)
	start := time.Now()
	for i := range pids {
		wg.Go(func() {
			_, r := h.invoke(t, `{"op":"sleep","sleep":"150ms"}`)
			pids[i] = r.PID
		})
	}
	wg.Wait()
	require.Equal(t, pids[0], pids[1])
	require.Equal(t, pids[0], pids[2])
	require.GreaterOrEqual(t, time.Since(start), 450*time.Millisecond, "one instance runs one event at a time")
}

func TestWaitCoversAsyncWork(t *testing.T) {
	h := newHarness(t, nil)
	for range 6 {
		h.rt.InvokeAsync("echo", []byte(`{"op":"sleep","sleep":"50ms"}`))
	}
	h.rt.InvokeAsync("echo", []byte(`{"op":"failUntil","n":2}`))
	require.NoError(t, h.rt.Wait(t.Context()))
	recs := h.rt.Invocations()
	require.Len(t, recs, 6+3)
	for _, r := range recs {
		require.NotEqual(t, fcrt.StatusRunning, r.Status)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	h.rt.InvokeAsync("echo", []byte(`{"op":"sleep","sleep":"300ms"}`))
	require.ErrorIs(t, h.rt.Wait(ctx), context.DeadlineExceeded)
	require.NoError(t, h.rt.Wait(t.Context()))
}

func TestInvokeContextCanceled(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := h.rt.Invoke(ctx, "echo", []byte(`{"op":"sleep","sleep":"500ms"}`))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The function runs to completion all the same, and is recorded.
	require.NoError(t, h.rt.Wait(t.Context()))
	recs := h.rt.Invocations()
	require.Len(t, recs, 1)
	require.Equal(t, fcrt.StatusOK, recs[0].Status)
}

func TestLogsCaptured(t *testing.T) {
	logDir := t.TempDir()
	h := newHarness(t, func(c *fcrt.Config, _ *fcrt.FunctionSpec) { c.LogDir = logDir })
	res, _ := h.invoke(t, `{"op":"log","msg":"marker-42"}`)
	require.Equal(t, fcrt.StatusOK, res.Status)

	// The SDK's end-of-invocation line is printed after the response is
	// posted, so wait for it rather than sleep.
	require.Eventually(t, func() bool {
		return strings.Contains(h.rt.Logs("echo"), "FC Invoke End RequestId: "+res.RequestID)
	}, 2*time.Second, 5*time.Millisecond)
	logs := h.rt.Logs("echo")
	require.Contains(t, logs, "stdout: marker-42")
	require.Contains(t, logs, "stderr: marker-42")

	file, err := os.ReadFile(filepath.Join(logDir, "echo.log"))
	require.NoError(t, err)
	require.Contains(t, string(file), "stdout: marker-42")
	require.Empty(t, h.rt.Logs("unknown"))
}

func TestRegisterRejects(t *testing.T) {
	rt := fcrt.New(fcrt.Config{Auth: auth.NewStore()})
	t.Cleanup(func() { require.NoError(t, rt.Close()) })
	ok := fcrt.FunctionSpec{Name: "echo", Handler: "main", CodeDir: echoDir}
	require.NoError(t, rt.Register(ok))

	tests := []struct {
		name string
		edit func(*fcrt.FunctionSpec)
		want string
	}{
		{"Duplicate", func(*fcrt.FunctionSpec) {}, "already registered"},
		{"NoName", func(s *fcrt.FunctionSpec) { s.Name = "" }, "empty name"},
		{"MissingBinary", func(s *fcrt.FunctionSpec) { s.Name, s.Handler = "x", "absent" }, "no such file"},
		{"ReservedEnv", func(s *fcrt.FunctionSpec) { s.Name, s.Env = "x", map[string]string{"FC_REGION": "x"} }, "reserved"},
		{"BadEnvKey", func(s *fcrt.FunctionSpec) { s.Name, s.Env = "x", map[string]string{"1A": "x"} }, "invalid key"},
		{"TooManyRetries", func(s *fcrt.FunctionSpec) { s.Name, s.MaxAsyncRetryAttempts = "x", 9 }, "above 8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			require.ErrorContains(t, rt.Register(s), tc.want)
		})
	}

	noAuth := fcrt.New(fcrt.Config{})
	t.Cleanup(func() { require.NoError(t, noAuth.Close()) })
	require.ErrorContains(t, noAuth.Register(fcrt.FunctionSpec{Name: "f", Handler: "main", CodeDir: echoDir, Role: "r"}), "needs Config.Auth")
}

func TestClosed(t *testing.T) {
	h := newHarness(t, nil)
	_, r := h.invoke(t, `{}`)
	require.NoError(t, h.rt.Close())
	_, err := h.rt.Invoke(t.Context(), "echo", nil)
	require.ErrorIs(t, err, fcrt.ErrClosed)
	require.ErrorIs(t, syscall.Kill(r.PID, 0), syscall.ESRCH, "Close killed the instance")
	_, err = h.rt.Invoke(t.Context(), "nope", nil)
	require.ErrorIs(t, err, fcrt.ErrClosed)
}

func TestUnknownFunction(t *testing.T) {
	h := newHarness(t, nil)
	_, err := h.rt.Invoke(t.Context(), "nope", nil)
	require.ErrorIs(t, err, fcrt.ErrUnknownFunction)
}

// BenchmarkInvokeWarm measures one synchronous event round trip to a warm
// instance: /next hand-over, the SDK's decode and handler, /response.
func BenchmarkInvokeWarm(b *testing.B) {
	rt := fcrt.New(fcrt.Config{Auth: auth.NewStore(), Stats: &stats.Stats{}})
	b.Cleanup(func() { _ = rt.Close() })
	require.NoError(b, rt.Register(fcrt.FunctionSpec{Name: "echo", Handler: "main", CodeDir: echoDir, Role: "r"}))
	payload := []byte(`{"msg":"warm"}`)
	res, err := rt.Invoke(b.Context(), "echo", payload)
	require.NoError(b, err)
	require.Equal(b, fcrt.StatusOK, res.Status)
	b.ReportAllocs()
	for b.Loop() {
		res, err := rt.Invoke(b.Context(), "echo", payload)
		if err != nil || res.Status != fcrt.StatusOK {
			b.Fatalf("invoke: %v %s", err, res.ErrorMessage)
		}
	}
}

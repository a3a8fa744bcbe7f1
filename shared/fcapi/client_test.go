package fcapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	lcfc "github.com/porthygiene/porthygiene/localcloud/fcapi"
	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/shared/fcapi"
)

// queue is a stand-in for the FC runtime: it keeps the queued events.
type queue struct {
	mu     sync.Mutex
	events []string
}

func (q *queue) Invoke(context.Context, string, []byte, ...fcrt.InvokeOptions) (fcrt.Result, error) {
	return fcrt.Result{}, errors.New("not used")
}

func (q *queue) InvokeAsync(fn string, payload []byte, _ ...fcrt.InvokeOptions) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.events = append(q.events, fn+" "+string(payload))
	return fmt.Sprintf("req-%d", len(q.events))
}

type emulator struct {
	url   string
	q     *queue
	stats *stats.Stats
	role  auth.Credential
}

// startEmulator serves localcloud's FC API, whose signature check is written
// independently of this package's signer.
func startEmulator(t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) (*emulator, *fcapi.Client) {
	t.Helper()
	store := auth.NewStore()
	e := &emulator{q: &queue{}, stats: &stats.Stats{}}
	e.role = store.IssueSTS("porthygiene-fc-role", "porthygiene-guard", time.Now(), time.Hour)
	srv := httptest.NewServer(lcfc.New(lcfc.Config{Auth: store, Runtime: e.q, Stats: e.stats,
		Exists: func(n string) bool { return n == "porthygiene-guard" }}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	var rt http.RoundTripper = http.DefaultTransport
	if wrap != nil {
		rt = wrap(rt)
	}
	c, err := fcapi.New(fcapi.Config{Endpoint: srv.URL, Transport: rt, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
	require.NoError(t, err)
	return e, c
}

func creds(c auth.Credential) fcapi.Credentials {
	return fcapi.Credentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
}

func TestInvokeAsyncAgainstLocalcloud(t *testing.T) {
	e, base := startEmulator(t, nil)
	c, err := base.WithCredentials(creds(e.role))
	require.NoError(t, err)
	id, err := c.WithQualifier("LATEST").InvokeAsync(t.Context(), "porthygiene-guard", []byte(`{"mode":"sweep"}`))
	require.NoError(t, err)
	require.Equal(t, "req-1", id)
	require.Equal(t, []string{`porthygiene-guard {"mode":"sweep"}`}, e.q.events)
	calls := e.stats.Snapshot().Calls
	require.Len(t, calls, 1)
	require.Equal(t, "porthygiene-fc-role", calls[0].Caller)
	require.Zero(t, calls[0].Errors)
}

func TestInvokeAsyncErrorsAreClassifiedAndRedacted(t *testing.T) {
	e, base := startEmulator(t, nil)
	bad := creds(e.role)
	bad.AccessKeySecret = "wrong-secret-value"
	c, err := base.WithCredentials(bad)
	require.NoError(t, err)
	_, err = c.InvokeAsync(t.Context(), "porthygiene-guard", []byte(`{}`))
	require.ErrorIs(t, err, fcapi.ErrForbidden)
	var apiErr *fcapi.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "SignatureDoesNotMatch", apiErr.Code)
	require.Equal(t, 1, apiErr.Attempts, "a refused signature is not retried")
	require.NotContains(t, err.Error(), "wrong-secret-value")
	require.NotContains(t, err.Error(), e.role.SecurityToken)

	good, _ := base.WithCredentials(creds(e.role))
	_, err = good.InvokeAsync(t.Context(), "no-such-function", []byte(`{}`))
	require.ErrorIs(t, err, fcapi.ErrNotFound)

	_, err = good.InvokeAsync(t.Context(), "porthygiene-guard", bytes.Repeat([]byte("x"), fcapi.MaxAsyncPayload+1))
	require.ErrorIs(t, err, fcapi.ErrTooLarge)
	_, err = good.InvokeAsync(t.Context(), "bad/name", nil)
	require.ErrorIs(t, err, fcapi.ErrInvalid)
	_, err = base.InvokeAsync(t.Context(), "porthygiene-guard", nil)
	require.ErrorIs(t, err, fcapi.ErrInvalid, "no credentials")
	require.Empty(t, e.q.events)
}

// tamper changes a signed request on its way: the emulator must refuse it.
type tamper struct {
	base http.RoundTripper
	fn   func(*http.Request)
}

func (t tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	t.fn(r)
	return t.base.RoundTrip(r)
}

func TestTamperedRequestsAreRefused(t *testing.T) {
	tests := map[string]func(*http.Request){
		"Method": func(r *http.Request) { r.Method = http.MethodPut },
		"Path": func(r *http.Request) {
			r.URL.Path = strings.Replace(r.URL.Path, "porthygiene-guard", "porthygiene-approve", 1)
		},
		"Query":  func(r *http.Request) { r.URL.RawQuery = "qualifier=LATEST" },
		"Header": func(r *http.Request) { r.Header.Set("x-acs-version", "2021-04-06") },
		"Body": func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"mode":"evil"}`))
			r.ContentLength = int64(len(`{"mode":"evil"}`))
		},
		"Token": func(r *http.Request) { r.Header.Set("x-acs-security-token", "CAISforged") },
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			e, base := startEmulator(t, func(rt http.RoundTripper) http.RoundTripper { return tamper{rt, fn} })
			c, _ := base.WithCredentials(creds(e.role))
			_, err := c.InvokeAsync(t.Context(), "porthygiene-guard", []byte(`{"mode":"sweep"}`))
			require.Error(t, err)
			var apiErr *fcapi.APIError
			require.ErrorAs(t, err, &apiErr)
			require.True(t, apiErr.HTTPStatus >= 400 && apiErr.HTTPStatus < 500 || apiErr.HTTPStatus == 501, "status %d", apiErr.HTTPStatus)
			require.Empty(t, e.q.events, "a tampered request must invoke nothing")
		})
	}
}

// flaky answers with the given statuses, then 202.
func flaky(t *testing.T, statuses ...int) (*fcapi.Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			w.Header().Set("x-fc-request-id", fmt.Sprintf("err-%d", i))
			w.WriteHeader(statuses[i])
			json.NewEncoder(w).Encode(map[string]string{"Code": http.StatusText(statuses[i]), "Message": "secret-s3cr3t leaked?"})
			return
		}
		w.Header().Set("x-fc-request-id", "ok")
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	c, err := fcapi.New(fcapi.Config{Endpoint: srv.URL, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Credentials: fcapi.Credentials{AccessKeyID: "ak", AccessKeySecret: "secret-s3cr3t", SecurityToken: "tok"}})
	require.NoError(t, err)
	return c, &n
}

func TestInvokeAsyncRetriesThrottlingAndServerErrors(t *testing.T) {
	c, n := flaky(t, 429, 503, 500)
	id, err := c.InvokeAsync(t.Context(), "f", []byte(`{}`))
	require.NoError(t, err)
	require.Equal(t, "ok", id)
	require.EqualValues(t, 4, n.Load())
}

func TestInvokeAsyncDoesNotRetryClientErrors(t *testing.T) {
	c, n := flaky(t, 400)
	_, err := c.InvokeAsync(t.Context(), "f", []byte(`{}`))
	require.ErrorIs(t, err, fcapi.ErrInvalid)
	require.EqualValues(t, 1, n.Load())
	require.NotContains(t, err.Error(), "secret-s3cr3t", "the service's message is redacted")
}

func TestInvokeAsyncRetriesStopBeforeTheDeadline(t *testing.T) {
	statuses := make([]int, 10000)
	for i := range statuses {
		statuses[i] = 503
	}
	c, _ := flaky(t, statuses...)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.InvokeAsync(ctx, "f", []byte(`{}`))
	require.ErrorIs(t, err, fcapi.ErrServer)
	require.Less(t, time.Since(start), 300*time.Millisecond, "gives up before the deadline: %v", err)

	// Without a deadline, a bounded number of attempts.
	c2, n := flaky(t, statuses...)
	_, err = c2.InvokeAsync(context.Background(), "f", nil)
	require.ErrorIs(t, err, fcapi.ErrServer)
	require.EqualValues(t, fcapi.DefaultMaxAttemptsNoDeadline, n.Load())
}

func TestCredentialsRedactThemselves(t *testing.T) {
	c := fcapi.Credentials{AccessKeyID: "STS.id", AccessKeySecret: "the-secret", SecurityToken: "the-token"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "creds", c)
	js, _ := json.Marshal(c)
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c), string(js), logged.String()} {
		require.NotContains(t, s, "the-secret")
		require.NotContains(t, s, "the-token")
		require.Contains(t, s, "STS.id")
	}
}

func TestConfigValidation(t *testing.T) {
	_, err := fcapi.New(fcapi.Config{})
	require.ErrorIs(t, err, fcapi.ErrInvalid)
	c, err := fcapi.New(fcapi.Config{Region: "cn-hangzhou", AccountID: "1234567890123456"})
	require.NoError(t, err)
	require.Equal(t, "https://1234567890123456.cn-hangzhou.fc.aliyuncs.com", c.Endpoint())
	_, err = fcapi.New(fcapi.Config{Endpoint: "http://127.0.0.1:1/path"})
	require.ErrorIs(t, err, fcapi.ErrInvalid)
}

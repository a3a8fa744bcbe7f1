package fcwire_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/shared/clock"
	"github.com/porthygiene/porthygiene/shared/fcwire"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// answering serves body with status at GET, counting the requests.
func answering(t *testing.T, status int, body string) (url string, hits *int) {
	t.Helper()
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if r.Method != http.MethodGet {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/_localcloud/clock", &n
}

func TestTimeSourceUnsetIsTheSystemClock(t *testing.T) {
	ts, err := fcwire.NewTimeSource(env(nil))
	require.NoError(t, err)
	require.Nil(t, ts)
	ctx, err := ts.Wall(t.Context())
	require.NoError(t, err)
	own := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	require.Equal(t, own, clock.Wall(ctx, func() time.Time { return own }), "no clock put in the context")
}

func TestTimeSourceRefusesABadURL(t *testing.T) {
	for _, raw := range []string{"localhost:8600/_localcloud/clock", "ftp://127.0.0.1/clock", "http://", "http://[::1", "/_localcloud/clock"} {
		_, err := fcwire.NewTimeSource(env(map[string]string{fcwire.EnvTimeURL: raw}))
		require.Error(t, err, raw)
		require.Contains(t, err.Error(), fcwire.EnvTimeURL)
	}
}

func TestTimeSourceReadsOncePerInvocation(t *testing.T) {
	ahead := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Millisecond)
	url, hits := answering(t, 200, `{"now":"`+ahead.Format(time.RFC3339Nano)+`"}`)
	ts, err := fcwire.NewTimeSource(env(map[string]string{fcwire.EnvTimeURL: url}))
	require.NoError(t, err)
	ctx, err := ts.Wall(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, *hits)
	require.Equal(t, ahead, clock.Wall(ctx, time.Now), "a source ahead of the system clock is the wall clock")
	require.Equal(t, ahead, clock.Wall(ctx, nil))
	require.Equal(t, 1, *hits, "read once, when the invocation starts")

	// A source behind the system clock (localcloud's virtual clock before any
	// advance) never moves the clock back.
	behind := time.Now().Add(-time.Hour).UTC()
	url, _ = answering(t, 200, `{"now":"`+behind.Format(time.RFC3339)+`"}`)
	ts, err = fcwire.NewTimeSource(env(map[string]string{fcwire.EnvTimeURL: url}))
	require.NoError(t, err)
	before := time.Now()
	ctx, err = ts.Wall(t.Context())
	require.NoError(t, err)
	require.False(t, clock.Wall(ctx, nil).Before(before), "the system clock leads")
}

func TestTimeSourceFailuresAreLoud(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/_localcloud/clock"
	dead.Close()
	cases := []struct {
		name, says string
		url        func(t *testing.T) string
	}{
		{"Unreachable", "connect", func(*testing.T) string { return deadURL }},
		{"ServerError", "HTTP 500", func(t *testing.T) string { u, _ := answering(t, 500, `{"now":"2026-01-01T00:00:00Z"}`); return u }},
		{"NotJSON", "answer is not", func(t *testing.T) string { u, _ := answering(t, 200, `tomorrow`); return u }},
		{"NotATime", "answer is not", func(t *testing.T) string { u, _ := answering(t, 200, `{"now":"2099"}`); return u }},
		{"NoNow", `no "now"`, func(t *testing.T) string { u, _ := answering(t, 200, `{"time":"2026-01-01T00:00:00Z"}`); return u }},
		{"TooLong", "longer than", func(t *testing.T) string {
			u, _ := answering(t, 200, `{"now":"2026-01-01T00:00:00Z","pad":"`+strings.Repeat("x", 5000)+`"}`)
			return u
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := fcwire.NewTimeSource(env(map[string]string{fcwire.EnvTimeURL: tc.url(t)}))
			require.NoError(t, err)
			ctx, err := ts.Wall(t.Context())
			require.ErrorIs(t, err, fcwire.ErrTimeSource)
			require.Contains(t, err.Error(), tc.says)
			own := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
			require.Equal(t, own, clock.Wall(ctx, func() time.Time { return own }), "no clock is put in the context on failure")
		})
	}
}

// The contract with localcloud: its control API's clock is a time source
// fcwire reads, and it follows the virtual clock as a test advances it.
func TestTimeSourceReadsLocalcloudsVirtualClock(t *testing.T) {
	c, err := localcloud.Start(localcloud.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ts, err := fcwire.NewTimeSource(env(map[string]string{fcwire.EnvTimeURL: c.ClockURL()}))
	require.NoError(t, err)
	now, err := c.Advance(t.Context(), 40*24*time.Hour)
	require.NoError(t, err)
	got, err := ts.Read(t.Context())
	require.NoError(t, err)
	require.True(t, now.Equal(got), "read %v, virtual clock %v", got, now)
	ctx, err := ts.Wall(t.Context())
	require.NoError(t, err)
	require.True(t, now.Equal(clock.Wall(ctx, nil)))
}

// An invocation whose time source cannot be read fails, before any client
// is handed out; one whose source answers carries its clock.
func TestInvocationFailsWithoutTrustedTime(t *testing.T) {
	vars := map[string]string{
		"FC_REGION": "cn-hangzhou", "PORTHYGIENE_ROLE_NAME": "porthygiene-fc-role",
		"LEDGER_PROJECT": "porthygiene-ledger", "LEDGER_LOGSTORE": "ledger",
	}
	fctx := &fccontext.FcContext{RequestID: "req-1", Credentials: fccontext.Credentials{AccessKeyId: "STS.id", AccessKeySecret: "s", SecurityToken: "t"}}
	ctx := fccontext.NewContext(t.Context(), fctx)
	log := slog.New(slog.DiscardHandler)

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	vars[fcwire.EnvTimeURL] = down.URL
	w, err := fcwire.New("guard", env(vars), log)
	require.NoError(t, err)
	_, deps, err := w.Invocation(ctx)
	require.ErrorIs(t, err, fcwire.ErrTimeSource)
	require.Contains(t, err.Error(), "HTTP 503")
	require.Nil(t, deps.Ledger, "no clients without trusted time")

	ahead := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	url, _ := answering(t, 200, fmt.Sprintf(`{"now":%q}`, ahead.Format(time.RFC3339)))
	vars[fcwire.EnvTimeURL] = url
	w, err = fcwire.New("guard", env(vars), log)
	require.NoError(t, err)
	ictx, deps, err := w.Invocation(ctx)
	require.NoError(t, err)
	require.NotNil(t, deps.Ledger)
	require.Equal(t, ahead, clock.Wall(ictx, time.Now))

	vars[fcwire.EnvTimeURL] = "not a url"
	_, err = fcwire.New("guard", env(vars), log)
	require.Error(t, err, "a broken time source is a configuration error")
	require.False(t, errors.Is(err, fcwire.ErrTimeSource))
}

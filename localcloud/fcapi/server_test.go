package fcapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// The worked example of Alibaba Cloud's "Request syntax and signature method
// V3" (help/en/sdk/product-overview/v3-request-structure-and-signature), as the
// server receives it.
func TestVerifierMatchesTheDocumentedExample(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost,
		"/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai", nil)
	r.Host = "ecs.cn-shanghai.aliyuncs.com"
	r.Header.Set("x-acs-action", "RunInstances")
	r.Header.Set("x-acs-version", "2014-05-26")
	r.Header.Set("x-acs-date", "2023-10-26T10:22:32Z")
	r.Header.Set("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d")
	r.Header.Set("x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0")

	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	require.NoError(t, err)
	require.Equal(t, "YourAccessKeyId", a.AccessKeyID)
	require.NoError(t, CheckSignedHeaders(r, a.SignedHeaders))
	got := Sign(CanonicalRequest(r, a.SignedHeaders, r.Header.Get("x-acs-content-sha256")), "YourAccessKeySecret")
	require.Equal(t, a.Signature, got)
	require.NotEqual(t, a.Signature, Sign(CanonicalRequest(r, a.SignedHeaders, r.Header.Get("x-acs-content-sha256")), "another secret"))
}

func TestParseAuthorizationRefusesMalformedHeaders(t *testing.T) {
	for _, h := range []string{
		"",
		"ACS3-HMAC-SHA1 Credential=a,SignedHeaders=host,Signature=00",
		"ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host",
		"ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=host,Signature=00",
		"ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=00,Extra=1",
		"acs a:b",
	} {
		_, err := ParseAuthorization(h)
		require.Error(t, err, "%q", h)
	}
}

// fakeRuntime records what it was asked to run.
type fakeRuntime struct {
	mu    sync.Mutex
	async []string // payloads
	sync  []string
	opts  []fcrt.InvokeOptions
}

func (f *fakeRuntime) Invoke(_ context.Context, fn string, payload []byte, opts ...fcrt.InvokeOptions) (fcrt.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sync = append(f.sync, string(payload))
	f.opts = append(f.opts, opts...)
	if string(payload) == "fail" {
		return fcrt.Result{RequestID: "req-sync", Status: fcrt.StatusError, Payload: []byte(`{"errorMessage":"boom"}`)}, nil
	}
	return fcrt.Result{RequestID: "req-sync", Status: fcrt.StatusOK, Payload: []byte(`{"echo":` + string(payload) + `}`)}, nil
}

func (f *fakeRuntime) InvokeAsync(fn string, payload []byte, opts ...fcrt.InvokeOptions) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.async = append(f.async, string(payload))
	f.opts = append(f.opts, opts...)
	return "req-async-1"
}

type fixture struct {
	srv   *httptest.Server
	rt    *fakeRuntime
	stats *stats.Stats
	flts  *faults.Set
	user  auth.Credential
	role  auth.Credential
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := auth.NewStore()
	f := &fixture{rt: &fakeRuntime{}, stats: &stats.Stats{}, flts: &faults.Set{}}
	f.user = store.AddUser("alice")
	f.role = store.IssueSTS("porthygiene-fc-role", "porthygiene-guard", time.Now(), time.Hour)
	s := New(Config{Auth: store, Runtime: f.rt, Stats: f.stats, Faults: f.flts,
		Exists: func(n string) bool { return n == "porthygiene-guard" }})
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

// request builds a request signed the way the documentation says, with this
// package's own canonicalisation (the documented example above pins it).
func (f *fixture) request(t *testing.T, cred auth.Credential, method, path, typ string, body []byte, tamper func(*http.Request)) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	sum := sha256.Sum256(body)
	r.Header.Set("x-acs-action", "InvokeFunction")
	r.Header.Set("x-acs-version", APIVersion)
	r.Header.Set("x-acs-date", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	r.Header.Set("x-acs-signature-nonce", newRequestID())
	r.Header.Set("x-acs-content-sha256", hex.EncodeToString(sum[:]))
	r.Header.Set("Content-Type", "application/octet-stream")
	if typ != "" {
		r.Header.Set("x-fc-invocation-type", typ)
	}
	if cred.SecurityToken != "" {
		r.Header.Set("x-acs-security-token", cred.SecurityToken)
	}
	r.Host = r.URL.Host
	signed := []string{"content-type", "host", "x-acs-action", "x-acs-content-sha256", "x-acs-date"}
	if cred.SecurityToken != "" {
		signed = append(signed, "x-acs-security-token")
	}
	signed = append(signed, "x-acs-signature-nonce", "x-acs-version")
	sig := Sign(CanonicalRequest(r, signed, hex.EncodeToString(sum[:])), cred.AccessKeySecret)
	r.Header.Set("Authorization", Algorithm+" Credential="+cred.AccessKeyID+",SignedHeaders="+strings.Join(signed, ";")+",Signature="+sig)
	if tamper != nil {
		tamper(r)
	}
	return r
}

type answer struct {
	status int
	id     string
	code   string
	body   string
	header http.Header
}

func do(t *testing.T, r *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	var e struct{ Code string }
	json.Unmarshal(buf.Bytes(), &e)
	return answer{status: resp.StatusCode, id: resp.Header.Get("x-fc-request-id"), code: e.Code, body: buf.String(), header: resp.Header}
}

const invokePath = "/2023-03-30/functions/porthygiene-guard/invocations"

func TestInvokeAsyncQueuesTheEvent(t *testing.T) {
	f := newFixture(t)
	a := do(t, f.request(t, f.role, http.MethodPost, invokePath+"?qualifier=LATEST", "Async", []byte(`{"mode":"sweep"}`), nil))
	require.Equal(t, http.StatusAccepted, a.status, a.body)
	require.Equal(t, "req-async-1", a.id)
	require.Equal(t, []string{`{"mode":"sweep"}`}, f.rt.async)
	require.Equal(t, TriggerLabel, f.rt.opts[0].Trigger)

	snap := f.stats.Snapshot()
	require.Len(t, snap.Calls, 1)
	require.Equal(t, stats.Call{Service: "fc", Action: "InvokeFunction", Caller: "porthygiene-fc-role", Count: 1}, snap.Calls[0])
}

func TestInvokeSyncReturnsTheResponse(t *testing.T) {
	f := newFixture(t)
	a := do(t, f.request(t, f.user, http.MethodPost, invokePath, "Sync", []byte(`1`), nil))
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, `{"echo":1}`, a.body)
	require.Empty(t, a.header.Get("x-fc-error-type"))

	a = do(t, f.request(t, f.user, http.MethodPost, invokePath, "", []byte(`fail`), nil))
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, "HandledInvocationError", a.header.Get("x-fc-error-type"))
}

func TestRequestsThatMustBeRefused(t *testing.T) {
	f := newFixture(t)
	body := []byte(`{"mode":"sweep"}`)
	wrong := f.user
	wrong.AccessKeySecret = "not-the-secret"
	tests := []struct {
		name   string
		cred   auth.Credential
		path   string
		tamper func(*http.Request)
		status int
		code   string
	}{
		{"WrongSecret", wrong, invokePath, nil, 403, "SignatureDoesNotMatch"},
		{"AlteredMethod", f.user, invokePath, func(r *http.Request) { r.Method = http.MethodPut }, 501, "NotImplemented"},
		// The path names another (existing) function than the one signed for.
		{"AlteredPath", f.user, "/2023-03-30/functions/other/invocations", func(r *http.Request) { r.URL.Path = invokePath }, 403, "SignatureDoesNotMatch"},
		{"AlteredQuery", f.user, invokePath, func(r *http.Request) { r.URL.RawQuery = "qualifier=LATEST" }, 403, "SignatureDoesNotMatch"},
		{"AlteredSignedHeader", f.user, invokePath, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, 403, "SignatureDoesNotMatch"},
		{"AlteredDate", f.user, invokePath, func(r *http.Request) {
			r.Header.Set("x-acs-date", time.Now().Add(time.Minute).UTC().Format("2006-01-02T15:04:05Z"))
		}, 403, "SignatureDoesNotMatch"},
		{"UnsignedAcsHeader", f.user, invokePath, func(r *http.Request) { r.Header.Set("x-acs-extra", "1") }, 400, "IncompleteSignature"},
		{"AlteredBody", f.user, invokePath, func(r *http.Request) {
			r.Body = http.NoBody
			r.ContentLength = 0
		}, 400, "ContentSHA256Mismatch"},
		{"AlteredBodyAndHash", f.user, invokePath, func(r *http.Request) {
			r.Body = http.NoBody
			r.ContentLength = 0
			sum := sha256.Sum256(nil)
			r.Header.Set("x-acs-content-sha256", hex.EncodeToString(sum[:]))
		}, 403, "SignatureDoesNotMatch"},
		{"StaleDate", f.user, invokePath, func(r *http.Request) {
			r.Header.Set("x-acs-date", time.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05Z"))
		}, 403, "InvalidTimeStamp.Expired"},
		{"NoAuthorization", f.user, invokePath, func(r *http.Request) { r.Header.Del("Authorization") }, 401, "MissingAuthorization"},
		{"UnknownKey", auth.Credential{AccessKeyID: "LTAInobody", AccessKeySecret: "x"}, invokePath, nil, 403, "InvalidAccessKeyId.NotFound"},
		{"STSWithoutToken", f.role, invokePath, func(r *http.Request) { r.Header.Del("x-acs-security-token") }, 400, "IncompleteSignature"},
		{"UnknownFunction", f.user, "/2023-03-30/functions/nope/invocations", nil, 404, "FunctionNotFound"},
		{"OtherQualifier", f.user, invokePath + "?qualifier=prod", nil, 404, "VersionNotFound"},
		{"UnemulatedAPI", f.user, "/2023-03-30/functions/porthygiene-guard", nil, 501, "NotImplemented"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, f.request(t, tt.cred, http.MethodPost, tt.path, "Async", body, tt.tamper))
			require.Equal(t, tt.status, a.status, a.body)
			require.Equal(t, tt.code, a.code, a.body)
			require.NotContains(t, a.body, f.role.SecurityToken)
		})
	}
	require.Empty(t, f.rt.async, "a refused request must invoke nothing")
}

func TestNonceIsSingleUse(t *testing.T) {
	f := newFixture(t)
	r := f.request(t, f.user, http.MethodPost, invokePath, "Async", []byte(`{}`), nil)
	replay := r.Clone(t.Context())
	require.Equal(t, http.StatusAccepted, do(t, r).status)
	replay.Body = io.NopCloser(bytes.NewReader([]byte(`{}`)))
	a := do(t, replay)
	require.Equal(t, 403, a.status)
	require.Equal(t, "SignatureNonceUsed", a.code)
}

func TestAsyncPayloadLimitAndFaults(t *testing.T) {
	f := newFixture(t)
	big := bytes.Repeat([]byte("x"), MaxAsyncPayload+1)
	a := do(t, f.request(t, f.user, http.MethodPost, invokePath, "Async", big, nil))
	require.Equal(t, 413, a.status)
	require.Equal(t, "EntityTooLarge", a.code)

	f.flts.Replace(faults.Config{Actions: []faults.Action{{Service: "fc", ThrottleRatio: 1}}})
	a = do(t, f.request(t, f.user, http.MethodPost, invokePath, "Async", []byte(`{}`), nil))
	require.Equal(t, 429, a.status)
	require.Equal(t, "TooManyRequests", a.code)
	require.Empty(t, f.rt.async)
}

// x-fc-async-delay defers an asynchronous invocation by whole seconds,
// 0 to 3600, as FC does: nothing runs until the delay has passed (the server
// hands the run to Delay, on the virtual clock), the request id answered now
// is the invocation's, and any other value is refused.
func TestAsyncDelay(t *testing.T) {
	f := newFixture(t)
	// Without a Delay hook (not wired), a delay is refused, never run at once.
	a := do(t, f.request(t, f.user, http.MethodPost, invokePath, "Async", []byte(`{}`), func(r *http.Request) { r.Header.Set("x-fc-async-delay", "60") }))
	require.Equal(t, http.StatusBadRequest, a.status, a.body)
	require.Empty(t, f.rt.async)

	var delays []time.Duration
	var runs []func()
	store := auth.NewStore()
	f.user = store.AddUser("alice")
	s := New(Config{Auth: store, Runtime: f.rt, Delay: func(d time.Duration, fn func()) { delays = append(delays, d); runs = append(runs, fn) }})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	f.srv = srv
	delayed := func(v string) *http.Request {
		return f.request(t, f.user, http.MethodPost, invokePath, "Async", []byte(`{"mode":"sweep"}`), func(r *http.Request) { r.Header.Set("x-fc-async-delay", v) })
	}
	a = do(t, delayed("60"))
	require.Equal(t, http.StatusAccepted, a.status, a.body)
	require.NotEmpty(t, a.id)
	require.Empty(t, f.rt.async, "nothing runs before the delay")
	require.Equal(t, []time.Duration{time.Minute}, delays)
	runs[0]()
	require.Equal(t, []string{`{"mode":"sweep"}`}, f.rt.async)
	require.Equal(t, a.id, f.rt.opts[0].RequestID, "the answered id is the invocation's")

	a = do(t, delayed("0"))
	require.Equal(t, http.StatusAccepted, a.status, "0 runs at once")
	require.Len(t, f.rt.async, 2)
	for _, bad := range []string{"3601", "-1", "1.5", "soon"} {
		a := do(t, delayed(bad))
		require.Equal(t, http.StatusBadRequest, a.status, bad)
		require.Equal(t, "InvalidArgument", a.code, bad)
	}
	require.Len(t, f.rt.async, 2, "a refused request runs nothing")
	require.Len(t, delays, 1)
}

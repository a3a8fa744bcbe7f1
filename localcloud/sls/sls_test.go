package sls_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/gogo/protobuf/proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/sls"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
)

const endpoint = "http://cn-hangzhou.log.aliyuncs.com"

var integration = flag.Bool("integration", false,
	"also run the SLS contract suite against a real project (needs ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET and PORTHYGIENE_IT_SLS_ENDPOINT/PROJECT; creates and deletes logstores)")

var start = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

type fixture struct {
	srv    *sls.Server
	clock  *vclock.Clock
	auth   *auth.Store
	stats  *stats.Stats
	faults *faults.Set
	url    string
	addr   string
	user   auth.Credential
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{clock: vclock.New(start), auth: auth.NewStore(), stats: &stats.Stats{}, faults: &faults.Set{}}
	f.user = f.auth.AddUser("operator")
	f.srv = sls.New(sls.Config{Clock: f.clock, Auth: f.auth, Stats: f.stats, Faults: f.faults})
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close)
	f.url = ts.URL
	f.addr = ts.Listener.Addr().String()
	return f
}

// client is the unmodified SDK client, dialing the emulator whatever the host.
func (f *fixture) client(t testing.TB, cred auth.Credential) sdk.ClientInterface {
	t.Helper()
	return f.clientTimeout(t, cred, 2*time.Second)
}

func (f *fixture) clientTimeout(t testing.TB, cred auth.Credential, retry time.Duration) sdk.ClientInterface {
	t.Helper()
	d := &net.Dialer{Timeout: 2 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, f.addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := sdk.CreateNormalInterface(endpoint, cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken)
	c.SetHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: tr})
	c.SetRetryTimeout(retry)
	return c
}

func TestContractEmulator(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("contract-proj"))
	runContract(t, &target{
		c: f.client(t, f.user), project: "contract-proj", prefix: "porthygiene-it-" + randSuffix(),
		base: start,
		tick: func() { f.clock.Advance(time.Minute) },
		badSecret: func(t *testing.T) sdk.ClientInterface {
			wrong := f.user
			wrong.AccessKeySecret = "not-the-secret"
			return f.client(t, wrong)
		},
		unknownKey: func(t *testing.T) sdk.ClientInterface {
			return f.client(t, auth.Credential{AccessKeyID: "LTAInobody", AccessKeySecret: "x"})
		},
		emu: f,
	})
}

// TestContractIntegration runs the same suite against a real project. Never in
// CI: it needs -integration and credentials, and it creates logstores named
// porthygiene-it-<random>-<purpose> in the project (each deleted when its case
// ends) and writes a few dozen logs. It takes a few minutes, mostly waiting
// for the query logstore's index to take effect.
func TestContractIntegration(t *testing.T) {
	if !*integration {
		t.Skip("real-project contract run disabled: pass -integration with ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, PORTHYGIENE_IT_SLS_ENDPOINT, PORTHYGIENE_IT_SLS_PROJECT (optional: ALIBABA_CLOUD_SECURITY_TOKEN)")
	}
	ak, sk := os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
	ep, project := os.Getenv("PORTHYGIENE_IT_SLS_ENDPOINT"), os.Getenv("PORTHYGIENE_IT_SLS_PROJECT")
	if ak == "" || sk == "" || ep == "" || project == "" {
		t.Skip("-integration needs ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, PORTHYGIENE_IT_SLS_ENDPOINT and PORTHYGIENE_IT_SLS_PROJECT")
	}
	token := os.Getenv("ALIBABA_CLOUD_SECURITY_TOKEN")
	mk := func(ak, sk, token string) sdk.ClientInterface {
		c := sdk.CreateNormalInterface(ep, ak, sk, token)
		c.SetHTTPClient(&http.Client{Timeout: time.Minute})
		c.SetRetryTimeout(30 * time.Second)
		return c
	}
	runContract(t, &target{
		c: mk(ak, sk, token), project: project, prefix: "porthygiene-it-" + randSuffix(),
		// logs a few minutes old: well inside the TTL, never in the future
		base:   time.Now().Add(-5 * time.Minute).Truncate(time.Second),
		tick:   func() { time.Sleep(2 * time.Second) },
		settle: 3 * time.Minute,
		badSecret: func(*testing.T) sdk.ClientInterface {
			return mk(ak, sk+"x", token)
		},
		unknownKey: func(*testing.T) sdk.ClientInterface {
			return mk("LTAIporthygieneunknown", "x", "")
		},
	})
}

func requireSLSError(t *testing.T, err error, status int, code string) *sdk.Error {
	t.Helper()
	require.Error(t, err)
	var e *sdk.Error
	require.True(t, errors.As(err, &e), "want *sls.Error, got %T: %v", err, err)
	require.Equal(t, code, e.Code, "message: %s", e.Message)
	require.EqualValues(t, status, e.HTTPCode)
	return e
}

func group(topic string, logs ...map[string]string) *sdk.LogGroup {
	return groupAt(start, topic, logs...)
}

// groupAt is a log group whose logs are at base unless they set "__time__".
func groupAt(base time.Time, topic string, logs ...map[string]string) *sdk.LogGroup {
	lg := &sdk.LogGroup{Topic: proto.String(topic), Source: proto.String("10.1.2.3")}
	for _, l := range logs {
		sl := &sdk.Log{Time: proto.Uint32(uint32(base.Unix()))}
		for _, k := range sortedKeys(l) {
			if k == "__time__" {
				n, _ := strconv.Atoi(l[k])
				sl.Time = proto.Uint32(uint32(n))
				continue
			}
			sl.Contents = append(sl.Contents, &sdk.LogContent{Key: proto.String(k), Value: proto.String(l[k])})
		}
		lg.Logs = append(lg.Logs, sl)
	}
	return lg
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contents(lg *sdk.LogGroup) []map[string]string {
	var out []map[string]string
	for _, l := range lg.Logs {
		m := map[string]string{}
		for _, c := range l.Contents {
			m[c.GetKey()] = c.GetValue()
		}
		out = append(out, m)
	}
	return out
}

// TestProjects is emulator-only: the contract cannot create projects in a real
// account (the logstore behaviours are in runContract).
func TestProjects(t *testing.T) {
	f := newFixture(t)
	c := f.client(t, f.user)

	_, err := c.CreateProject("audit-proj", "ledger")
	require.NoError(t, err)
	_, err = c.CreateProject("audit-proj", "again")
	requireSLSError(t, err, 400, "ProjectAlreadyExist")
	p, err := c.GetProject("audit-proj")
	require.NoError(t, err)
	require.Equal(t, "ledger", p.Description)
	require.Equal(t, "cn-hangzhou", p.Region)
	names, err := c.ListProject()
	require.NoError(t, err)
	require.Equal(t, []string{"audit-proj"}, names)
	require.Equal(t, 2, f.stats.Snapshot().Count("sls", "CreateProject", "operator"))
}

func b64(decimal string) string { return base64.StdEncoding.EncodeToString([]byte(decimal)) }

func TestHashKeyRouting(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("flow-proj"))
	require.NoError(t, f.srv.CreateLogstore("flow-proj", "flows", 2))
	c := f.client(t, f.user)
	for _, tc := range []struct {
		key   string
		shard int
	}{
		{"00000000000000000000000000000000", 0},
		{"7fffffffffffffffffffffffffffffff", 0},
		{"80000000000000000000000000000000", 1},
		{"ffffffffffffffffffffffffffffffff", 1},
	} {
		key := tc.key
		before, err := f.srv.EndCursor("flow-proj", "flows", tc.shard)
		require.NoError(t, err)
		require.NoError(t, c.PostLogStoreLogs("flow-proj", "flows", group("t", map[string]string{"k": key}), &key))
		after, err := f.srv.EndCursor("flow-proj", "flows", tc.shard)
		require.NoError(t, err)
		require.NotEqual(t, before, after, "key %s should land on shard %d", key, tc.shard)
	}
}

// TestSignatures: STS keys, emulator-only (wrong and unknown keys are in runContract).
func TestSignatures(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("sig-proj"))
	require.NoError(t, f.srv.CreateLogstore("sig-proj", "store", 1))
	lg := group("t", map[string]string{"a": "b"})

	sts := f.auth.IssueSTS("porthygiene-fc", "guard-1", f.clock.Now(), time.Hour)
	stsClient := f.client(t, sts)
	require.NoError(t, stsClient.PutLogs("sig-proj", "store", lg))
	_, err := stsClient.GetCursor("sig-proj", "store", 0, "begin")
	require.NoError(t, err)
	// the token is signed too: a different token is rejected
	other := sts
	other.SecurityToken = "CAISforged"
	err = f.client(t, other).PutLogs("sig-proj", "store", lg)
	requireSLSError(t, err, 401, "Unauthorized")
	f.clock.Advance(2 * time.Hour)
	err = stsClient.PutLogs("sig-proj", "store", lg)
	requireSLSError(t, err, 401, "Unauthorized")

	snap := f.stats.Snapshot()
	require.Equal(t, 1, snap.Count("sls", "PutLogs", "porthygiene-fc"), "role name is the caller of assumed-role keys")
	require.Equal(t, 1, snap.Count("sls", "GetCursor", "porthygiene-fc"))
}

func TestFaults(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("fault-proj"))
	require.NoError(t, f.srv.CreateLogstore("fault-proj", "store", 1))
	lg := group("t", map[string]string{"a": "b"})

	t.Run("Throttle", func(t *testing.T) {
		f.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "sls", Action: "PutLogs", ThrottleRatio: 1}}})
		defer f.faults.Replace(faults.Config{})
		before := f.stats.Snapshot().Count("sls", "PutLogs", "")
		err := f.client(t, f.user).PutLogs("fault-proj", "store", lg)
		requireSLSError(t, err, 403, "WriteQuotaExceed")
		_, err = f.client(t, f.user).GetCursor("fault-proj", "store", 0, "end")
		require.NoError(t, err, "only PutLogs is throttled")
		require.Equal(t, before+1, f.stats.Snapshot().Count("sls", "PutLogs", ""), "a 403 is not retried")
	})
	t.Run("ServerError", func(t *testing.T) {
		f.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "sls", ServerErrorRatio: 1}}})
		defer f.faults.Replace(faults.Config{})
		before := f.stats.Snapshot().Count("sls", "PutLogs", "")
		err := f.clientTimeout(t, f.user, 1500*time.Millisecond).PutLogs("fault-proj", "store", lg)
		// once RetryTimeout is spent the SDK wraps the last 500 in a ClientError
		var e *sdk.Error
		require.ErrorAs(t, err, &e)
		require.Contains(t, e.Message, `"httpCode": 500`)
		require.Contains(t, e.Message, `"errorCode": "InternalServerError"`)
		require.Greater(t, f.stats.Snapshot().Count("sls", "PutLogs", ""), before+1, "the SDK retries a 500")
	})
	t.Run("Latency", func(t *testing.T) {
		f.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "sls", Action: "GetCursor", Latency: 150 * time.Millisecond}}})
		defer f.faults.Replace(faults.Config{})
		t0 := time.Now()
		_, err := f.client(t, f.user).GetCursor("fault-proj", "store", 0, "end")
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(t0), 150*time.Millisecond)
	})
}

func TestProxyAbsoluteForm(t *testing.T) {
	f := newFixture(t)
	proxy, err := url.Parse(f.url)
	require.NoError(t, err)
	tr := &http.Transport{Proxy: http.ProxyURL(proxy)}
	t.Cleanup(tr.CloseIdleConnections)
	c := sdk.CreateNormalInterface("http://cn-shanghai-intranet.log.aliyuncs.com", f.user.AccessKeyID, f.user.AccessKeySecret, "")
	c.SetHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: tr})
	c.SetRetryTimeout(2 * time.Second)

	_, err = c.CreateProject("proxy-proj", "")
	require.NoError(t, err)
	p, err := c.GetProject("proxy-proj")
	require.NoError(t, err)
	require.Equal(t, "cn-shanghai", p.Region)
	require.NoError(t, c.CreateLogStore("proxy-proj", "store", 1, 1, false, 0))
	require.NoError(t, c.PutLogs("proxy-proj", "store", group("t", map[string]string{"via": "proxy"})))
	gl, _, err := c.PullLogs("proxy-proj", "store", 0, "MA==", "", 10)
	require.NoError(t, err)
	require.Equal(t, []map[string]string{{"via": "proxy"}}, contents(gl.LogGroups[0]))
}

func TestGoAPIAndOnAppend(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("trail-proj"))
	require.NoError(t, f.srv.CreateProject("trail-proj"), "idempotent")
	require.NoError(t, f.srv.CreateLogstore("trail-proj", "actiontrail_main", 2))
	require.NoError(t, f.srv.CreateLogstore("trail-proj", "actiontrail_main", 5), "idempotent")
	shards, err := f.srv.Shards("trail-proj", "actiontrail_main")
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, shards)

	var mu sync.Mutex
	var seen []string
	f.srv.OnAppend(func(project, logstore string, shard int) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%s/%s/%d", project, logstore, shard))
	})
	in := sls.LogGroupInput{Topic: "actiontrail_audit_event", Logs: []sls.Log{{Contents: [][2]string{{"event", `{"eventName":"AuthorizeSecurityGroup"}`}}}}}
	s0, err := f.srv.Append("trail-proj", "actiontrail_main", in)
	require.NoError(t, err)
	s1, err := f.srv.Append("trail-proj", "actiontrail_main", in)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, []int{s0, s1}, "round robin")
	require.NoError(t, f.client(t, f.user).PutLogs("trail-proj", "actiontrail_main", group("t", map[string]string{"a": "b"})))
	mu.Lock()
	require.Equal(t, []string{"trail-proj/actiontrail_main/0", "trail-proj/actiontrail_main/1", "trail-proj/actiontrail_main/0"}, seen)
	mu.Unlock()

	rows, err := f.srv.Query("trail-proj", "actiontrail_main", start, start.Add(time.Second), "event.eventName:AuthorizeSecurityGroup | select count(*) as n")
	require.NoError(t, err)
	require.Equal(t, []map[string]string{{"n": "2"}}, rows)

	_, err = f.srv.Append("trail-proj", "missing", in)
	require.ErrorIs(t, err, sls.ErrLogStoreNotExist)
	_, err = f.srv.Append("nope-proj", "missing", in)
	require.ErrorIs(t, err, sls.ErrProjectNotExist)
	_, err = f.srv.Query("trail-proj", "actiontrail_main", start, start.Add(time.Second), "a:b*c")
	require.ErrorIs(t, err, sls.ErrParameterInvalid)
}

func TestTTLExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.client(t, f.user)
	_, err := c.CreateProject("ttl-proj", "")
	require.NoError(t, err)
	require.NoError(t, c.CreateLogStore("ttl-proj", "flows", 1, 1, false, 0))
	require.NoError(t, c.PutLogs("ttl-proj", "flows", group("flow_log", map[string]string{"n": "old"})))
	f.clock.Advance(25 * time.Hour)
	require.NoError(t, c.PutLogs("ttl-proj", "flows", group("flow_log", map[string]string{"n": "new"})))

	begin, err := c.GetCursor("ttl-proj", "flows", 0, "begin")
	require.NoError(t, err)
	require.Equal(t, b64("1"), begin, "the expired group is gone")
	_, _, err = c.PullLogs("ttl-proj", "flows", 0, "MA==", "", 10)
	requireSLSError(t, err, 400, "InvalidCursor")
	rows, err := f.srv.Query("ttl-proj", "flows", start, start.Add(time.Minute), "*")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, "new", rows[0]["n"])
}

func TestConcurrentAppendAndRead(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("conc-proj"))
	require.NoError(t, f.srv.CreateLogstore("conc-proj", "flows", 2))
	require.NoError(t, f.srv.CreateIndex("conc-proj", "flows", nil))
	var appended sync.WaitGroup
	var mu sync.Mutex
	hooks := map[int]int{}
	f.srv.OnAppend(func(_, _ string, shard int) {
		mu.Lock()
		hooks[shard]++
		mu.Unlock()
	})
	for w := range 3 {
		c := f.client(t, f.user)
		appended.Go(func() {
			for i := range 10 {
				if w == 0 {
					_, err := f.srv.Append("conc-proj", "flows", sls.LogGroupInput{Logs: []sls.Log{{Contents: [][2]string{{"w", "go"}}}}})
					assert.NoError(t, err)
					continue
				}
				assert.NoError(t, c.PutLogs("conc-proj", "flows", group("t", map[string]string{"w": strconv.Itoa(w), "i": strconv.Itoa(i)})))
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	reader := f.client(t, f.user)
	readers.Go(func() {
		c := reader
		for {
			select {
			case <-done:
				return
			default:
			}
			_, err := c.GetLogsV3("conc-proj", "flows", &sdk.GetLogRequest{From: start.Unix(), To: start.Unix() + 1, Query: "* | select w, count(*) as c group by w"})
			if !assert.NoError(t, err) {
				return
			}
			_, _, err = c.PullLogs("conc-proj", "flows", 1, "MA==", "", 5)
			if !assert.NoError(t, err) {
				return
			}
		}
	})
	appended.Wait()
	close(done)
	readers.Wait()
	rows, err := f.srv.Query("conc-proj", "flows", start, start.Add(time.Second), "* | select count(*) as c")
	require.NoError(t, err)
	require.Equal(t, []map[string]string{{"c": "30"}}, rows)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 30, hooks[0]+hooks[1])
}

// rawRequest signs a request with the SDK's own v1 signer, then lets mutate
// change it before it is sent.
func (f *fixture) rawRequest(t *testing.T, method, uri string, body []byte, headers map[string]string, mutate func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	h := map[string]string{
		"x-log-apiversion":  "0.6.0",
		"x-log-bodyrawsize": strconv.Itoa(len(body)),
		"Date":              time.Now().UTC().Format(http.TimeFormat),
	}
	if body != nil {
		h["Content-Type"] = "application/json"
	}
	for k, v := range headers {
		h[k] = v
	}
	require.NoError(t, sdk.NewSignerV1(f.user.AccessKeyID, f.user.AccessKeySecret).Sign(method, uri, h, body))
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+uri, bytes.NewReader(body))
	require.NoError(t, err)
	req.Host = "raw-proj.cn-hangzhou.log.aliyuncs.com"
	for k, v := range h {
		req.Header.Set(k, v)
	}
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

func TestRawRequests(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("raw-proj"))
	require.NoError(t, f.srv.CreateLogstore("raw-proj", "store", 1))
	require.NoError(t, f.srv.CreateIndex("raw-proj", "store", nil))
	body := []byte(`{"from":0,"to":1,"query":"*"}`)
	cases := []struct {
		name    string
		method  string
		uri     string
		body    []byte
		headers map[string]string
		mutate  func(*http.Request)
		status  int
		code    string
	}{
		{name: "Signed", method: "POST", uri: "/logstores/store/logs", body: body, status: 200},
		{name: "DecodedQueryValues", method: "GET", uri: "/logstores/store/shards/0?type=logs&cursor=MA%3D%3D&count=10", status: 200},
		{name: "TamperedBody", method: "POST", uri: "/logstores/store/logs", body: body, status: 400, code: "InvalidContentMD5",
			mutate: func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(`{"from":0,"to":9,"query":"*"}`)) }},
		{name: "TamperedQuery", method: "GET", uri: "/logstores/store/shards/0?type=cursor&from=begin", status: 401, code: "SignatureNotMatch",
			mutate: func(r *http.Request) { r.URL.RawQuery = "type=cursor&from=end" }},
		{name: "UnsignedHeader", method: "GET", uri: "/logstores/store/shards/0?type=cursor&from=begin", status: 401, code: "SignatureNotMatch",
			mutate: func(r *http.Request) { r.Header.Set("x-log-extra", "1") }},
		{name: "MissingBodyRawSize", method: "GET", uri: "/logstores", status: 400, code: "MissingBodyRawSize",
			mutate: func(r *http.Request) { r.Header.Del("x-log-bodyrawsize") }},
		{name: "SignatureV4", method: "GET", uri: "/logstores", status: 401, code: "Unauthorized",
			mutate: func(r *http.Request) { r.Header.Set("Authorization", "SLS4-HMAC-SHA256 Credential=x") }},
		{name: "StaleDate", method: "GET", uri: "/logstores", status: 400, code: "RequestTimeExpired",
			headers: map[string]string{"Date": time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)}},
		{name: "Histogram", method: "GET", uri: "/logstores/store?type=histogram&from=0&to=1", status: 400, code: "NotSupported"},
		{name: "UnknownLogstore", method: "GET", uri: "/logstores/nope/shards", status: 404, code: "LogStoreNotExist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := f.rawRequest(t, tc.method, tc.uri, tc.body, tc.headers, tc.mutate)
			require.Equal(t, tc.status, resp.StatusCode, string(out))
			require.NotEmpty(t, resp.Header.Get("x-log-requestid"))
			if tc.code != "" {
				var e struct{ ErrorCode, ErrorMessage string }
				require.NoError(t, json.Unmarshal(out, &e))
				require.Equal(t, tc.code, e.ErrorCode, e.ErrorMessage)
				require.NotEmpty(t, e.ErrorMessage)
			}
		})
	}
}

func TestCursorAtExtremes(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("cur-proj"))
	require.NoError(t, f.srv.CreateLogstore("cur-proj", "store", 1))
	_, err := f.srv.Append("cur-proj", "store", sls.LogGroupInput{Logs: []sls.Log{{Contents: [][2]string{{"a", "b"}}}}})
	require.NoError(t, err)
	for _, tc := range []struct {
		at   time.Time
		want string
	}{{time.Time{}, "MA=="}, {start, "MA=="}, {start.Add(time.Nanosecond), "MQ=="}, {time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), "MQ=="}} {
		got, err := f.srv.CursorAt("cur-proj", "store", 0, tc.at)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "CursorAt(%v)", tc.at)
	}
	_, err = f.srv.CursorAt("cur-proj", "store", 1, start)
	require.Error(t, err)
}

package sls_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	lg := &sdk.LogGroup{Topic: proto.String(topic), Source: proto.String("10.1.2.3")}
	for _, l := range logs {
		sl := &sdk.Log{Time: proto.Uint32(uint32(start.Unix()))}
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

func TestProjectsAndLogstores(t *testing.T) {
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

	require.NoError(t, c.CreateLogStore("audit-proj", "ledger", 7, 2, false, 0))
	err = c.CreateLogStore("audit-proj", "ledger", 7, 2, false, 0)
	requireSLSError(t, err, 400, "LogStoreAlreadyExist")
	err = c.CreateLogStore("nope-proj", "ledger", 7, 2, false, 0)
	requireSLSError(t, err, 404, "ProjectNotExist")

	ls, err := c.GetLogStore("audit-proj", "ledger")
	require.NoError(t, err)
	require.Equal(t, 7, ls.TTL)
	require.Equal(t, 2, ls.ShardCount)
	stores, err := c.ListLogStore("audit-proj")
	require.NoError(t, err)
	require.Equal(t, []string{"ledger"}, stores)

	shards, err := c.ListShards("audit-proj", "ledger")
	require.NoError(t, err)
	require.Len(t, shards, 2)
	require.Equal(t, 0, shards[0].ShardID)
	require.Equal(t, "readwrite", shards[0].Status)
	require.Equal(t, "00000000000000000000000000000000", shards[0].InclusiveBeginKey)
	require.Equal(t, "80000000000000000000000000000000", shards[0].ExclusiveBeginKey)
	require.Equal(t, "80000000000000000000000000000000", shards[1].InclusiveBeginKey)
	require.Equal(t, "ffffffffffffffffffffffffffffffff", shards[1].ExclusiveBeginKey)

	require.NoError(t, c.CreateIndex("audit-proj", "ledger", sdk.Index{Line: &sdk.IndexLine{Token: []string{","}}}))
	idx, err := c.GetIndex("audit-proj", "ledger")
	require.NoError(t, err)
	require.Equal(t, []string{","}, idx.Line.Token)

	require.NoError(t, c.DeleteLogStore("audit-proj", "ledger"))
	_, err = c.GetLogStore("audit-proj", "ledger")
	e := requireSLSError(t, err, 404, "LogStoreNotExist")
	require.NotEmpty(t, e.RequestID, "x-log-requestid")
	_, err = c.ListShards("other-proj", "ledger")
	requireSLSError(t, err, 404, "ProjectNotExist")

	snap := f.stats.Snapshot()
	require.Equal(t, 2, snap.Count("sls", "CreateProject", "operator"))
	require.Equal(t, 3, snap.Count("sls", "CreateLogStore", "operator"))
	require.Equal(t, 2, snap.Count("sls", "ListShards", "operator"))
}

func TestPutLogsCompression(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("flow-proj"))
	require.NoError(t, f.srv.CreateLogstore("flow-proj", "flows", 1))
	c := f.client(t, f.user)

	random := make([]byte, 300) // incompressible: the lz4 response needs a literal-only block
	_, _ = rand.Read(random)
	cases := []struct {
		name  string
		kind  int
		value string
	}{
		{"lz4", sdk.Compress_LZ4, "accept accept accept accept accept accept"},
		{"zstd", sdk.Compress_ZSTD, "reject"},
		{"none", sdk.Compress_None, "-"},
		{"lz4Incompressible", sdk.Compress_LZ4, hex.EncodeToString(random)},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lg := group("flow_log", map[string]string{"action": tc.value, "n": strconv.Itoa(i)})
			require.NoError(t, c.PutLogsWithCompressType("flow-proj", "flows", lg, tc.kind))
			begin := fmt.Sprint(i)
			for _, pullKind := range []int{sdk.Compress_LZ4, sdk.Compress_ZSTD} {
				gl, meta, err := c.PullLogsWithQuery(&sdk.PullLogRequest{
					Project: "flow-proj", Logstore: "flows", ShardID: 0,
					Cursor: b64(begin), LogGroupMaxCount: 1, CompressType: pullKind,
				})
				require.NoError(t, err)
				require.Equal(t, 1, meta.Count)
				require.Len(t, gl.LogGroups, 1)
				got := gl.LogGroups[0]
				require.Equal(t, "flow_log", got.GetTopic())
				require.Equal(t, "10.1.2.3", got.GetSource())
				require.Equal(t, uint32(start.Unix()), got.Logs[0].GetTime())
				require.Equal(t, []map[string]string{{"action": tc.value, "n": strconv.Itoa(i)}}, contents(got))
				require.Equal(t, b64(begin), got.GetCursor(), "per-group cursor from x-log-read-last-cursor")
			}
		})
	}
	require.Equal(t, len(cases), f.stats.Snapshot().Count("sls", "PutLogs", "operator"))
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

func TestCursorsAndPullLogs(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("trail-proj"))
	require.NoError(t, f.srv.CreateLogstore("trail-proj", "actiontrail_main", 1))
	c := f.client(t, f.user)

	// five groups, one a minute
	for i := range 5 {
		require.NoError(t, c.PutLogs("trail-proj", "actiontrail_main", group("actiontrail_audit_event", map[string]string{"i": strconv.Itoa(i)})))
		f.clock.Advance(time.Minute)
	}
	begin, err := c.GetCursor("trail-proj", "actiontrail_main", 0, "begin")
	require.NoError(t, err)
	require.Equal(t, "MA==", begin)
	end, err := c.GetCursor("trail-proj", "actiontrail_main", 0, "end")
	require.NoError(t, err)
	require.Equal(t, b64("5"), end)
	at, err := c.GetCursor("trail-proj", "actiontrail_main", 0, strconv.FormatInt(start.Add(2*time.Minute).Unix(), 10))
	require.NoError(t, err)
	require.Equal(t, b64("2"), at)
	late, err := c.GetCursor("trail-proj", "actiontrail_main", 0, strconv.FormatInt(start.Add(time.Hour).Unix(), 10))
	require.NoError(t, err)
	require.Equal(t, end, late)
	ct, err := c.GetCursorTime("trail-proj", "actiontrail_main", 0, b64("3"))
	require.NoError(t, err)
	require.Equal(t, start.Add(3*time.Minute).Unix(), ct.Unix())

	goAt, err := f.srv.CursorAt("trail-proj", "actiontrail_main", 0, start.Add(90*time.Second))
	require.NoError(t, err)
	require.Equal(t, b64("2"), goAt)
	goEnd, err := f.srv.EndCursor("trail-proj", "actiontrail_main", 0)
	require.NoError(t, err)
	require.Equal(t, end, goEnd)

	ids := func(gl *sdk.LogGroupList) []string {
		var out []string
		for _, g := range gl.LogGroups {
			out = append(out, contents(g)[0]["i"])
		}
		return out
	}
	cases := []struct {
		name         string
		cursor, endC string
		count        int
		wantIDs      []string
		wantNext     string
	}{
		{"CountBound", begin, "", 2, []string{"0", "1"}, b64("2")},
		{"ToEnd", b64("3"), "", 1000, []string{"3", "4"}, end},
		{"EndCursor", b64("1"), b64("3"), 1000, []string{"1", "2"}, b64("3")},
		{"EndCursorAndCount", b64("1"), b64("4"), 1, []string{"1"}, b64("2")},
		{"EmptyAtEnd", end, "", 10, nil, end},
		{"EmptyRange", b64("2"), b64("2"), 10, nil, b64("2")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gl, next, err := c.PullLogs("trail-proj", "actiontrail_main", 0, tc.cursor, tc.endC, tc.count)
			require.NoError(t, err)
			require.Equal(t, tc.wantIDs, ids(gl))
			require.Equal(t, tc.wantNext, next)
		})
	}

	// the trigger loop: read [begin, end) until next == end
	var all []string
	for cur := begin; cur != end; {
		gl, next, err := c.PullLogs("trail-proj", "actiontrail_main", 0, cur, end, 2)
		require.NoError(t, err)
		all = append(all, ids(gl)...)
		cur = next
	}
	require.Equal(t, []string{"0", "1", "2", "3", "4"}, all)

	_, _, err = c.PullLogs("trail-proj", "actiontrail_main", 0, b64("9"), "", 10)
	requireSLSError(t, err, 400, "InvalidCursor")
	_, _, err = c.PullLogs("trail-proj", "actiontrail_main", 0, "not-a-cursor", "", 10)
	requireSLSError(t, err, 400, "InvalidCursor")
	_, _, err = c.PullLogs("trail-proj", "actiontrail_main", 0, begin, "", 1001)
	requireSLSError(t, err, 400, "ParameterInvalid")
	_, _, err = c.PullLogs("trail-proj", "actiontrail_main", 3, begin, "", 10)
	requireSLSError(t, err, 400, "ShardNotExist")
	_, err = c.GetCursor("trail-proj", "actiontrail_main", 0, "yesterday")
	requireSLSError(t, err, 400, "ParameterInvalid")
}

func TestSignatures(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("sig-proj"))
	require.NoError(t, f.srv.CreateLogstore("sig-proj", "store", 1))
	lg := group("t", map[string]string{"a": "b"})

	wrong := f.user
	wrong.AccessKeySecret = "not-the-secret"
	err := f.client(t, wrong).PutLogs("sig-proj", "store", lg)
	e := requireSLSError(t, err, 401, "SignatureNotMatch")
	require.NotEmpty(t, e.RequestID)
	_, err = f.client(t, wrong).GetCursor("sig-proj", "store", 0, "begin")
	requireSLSError(t, err, 401, "SignatureNotMatch")

	unknown := auth.Credential{AccessKeyID: "LTAInobody", AccessKeySecret: "x"}
	err = f.client(t, unknown).PutLogs("sig-proj", "store", lg)
	requireSLSError(t, err, 401, "Unauthorized")

	sts := f.auth.IssueSTS("porthygiene-fc", "guard-1", f.clock.Now(), time.Hour)
	stsClient := f.client(t, sts)
	require.NoError(t, stsClient.PutLogs("sig-proj", "store", lg))
	_, err = stsClient.GetCursor("sig-proj", "store", 0, "begin")
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

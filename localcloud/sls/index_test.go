package sls_test

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/sls"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
)

// Index semantics of real SLS (aliyun-facts §9): GetLogs needs an index, an
// index covers only what is written after it exists, and fresh logs become
// searchable a few seconds after PutLogs; PullLogs reads everything at once.

func putRecord(t *testing.T, c sdk.ClientInterface, project, ls, id string) {
	t.Helper()
	require.NoError(t, c.PutLogs(project, ls, group("t", map[string]string{"id": id})))
}

// search returns the ids GetLogs finds for query over the fixture's time range.
func search(t *testing.T, c sdk.ClientInterface, project, ls, query string) []string {
	t.Helper()
	res, err := c.GetLogsV3(project, ls, &sdk.GetLogRequest{From: start.Unix(), To: start.Unix() + 60, Query: query})
	require.NoError(t, err)
	return ids(res.Logs)
}

// pulled returns the ids of every log of every shard, read with PullLogs from
// the beginning.
func pulled(t *testing.T, c sdk.ClientInterface, project, ls string, shards int) []string {
	t.Helper()
	out := []string{}
	for sh := range shards {
		gl, _, err := c.PullLogs(project, ls, sh, "MA==", "", 1000)
		require.NoError(t, err)
		for _, g := range gl.LogGroups {
			for _, m := range contents(g) {
				out = append(out, m["id"])
			}
		}
	}
	return out
}

func TestGetLogsWithoutIndexIsRefused(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("raw-proj"))
	c := f.client(t, f.user)
	require.NoError(t, c.CreateLogStore("raw-proj", "store", 7, 1, false, 0))
	putRecord(t, c, "raw-proj", "store", "r1")

	for _, q := range []string{"*", "id:r1", "* | select count(*) as n"} {
		_, err := c.GetLogsV3("raw-proj", "store", &sdk.GetLogRequest{From: start.Unix(), To: start.Unix() + 60, Query: q})
		e := requireSLSError(t, err, 400, "IndexConfigNotExist")
		require.Contains(t, e.Message, "logstore without index config", "query %q", q)
		require.NotEmpty(t, e.RequestID)
	}
	// The wire body is the one the SDK parses: {"errorCode","errorMessage"}.
	resp, out := f.rawRequest(t, "POST", "/logstores/store/logs", []byte(`{"from":0,"to":1,"query":"*"}`), nil, nil)
	require.Equal(t, 400, resp.StatusCode)
	var body map[string]string
	require.NoError(t, json.Unmarshal(out, &body))
	require.Equal(t, "IndexConfigNotExist", body["errorCode"])
	require.Contains(t, body["errorMessage"], "logstore without index config")
	require.Len(t, body, 2)

	// The other index calls on a missing index, as the SDK calls them.
	_, err := c.GetIndex("raw-proj", "store")
	requireSLSError(t, err, 400, "IndexConfigNotExist")
	require.ErrorContains(t, c.UpdateIndex("raw-proj", "store", *sdk.CreateDefaultIndex()), "IndexConfigNotExist")
	require.ErrorContains(t, c.DeleteIndex("raw-proj", "store"), "IndexConfigNotExist")
	refused := 0
	for _, call := range f.stats.Snapshot().Calls {
		if call.Service == "sls" && call.Action == "GetLogs" {
			refused += call.ErrorCodes["IndexConfigNotExist"]
		}
	}
	require.Equal(t, 4, refused, "counted in stats by code")

	// PullLogs needs no index; neither does the Go API's Query.
	require.Equal(t, []string{"r1"}, pulled(t, c, "raw-proj", "store", 1))
	rows, err := f.srv.Query("raw-proj", "store", start, start.Add(time.Minute), "id:r1")
	require.NoError(t, err)
	require.Len(t, rows, 1)
	has, err := f.srv.HasIndex("raw-proj", "store")
	require.NoError(t, err)
	require.False(t, has)
}

func TestIndexCoversOnlyLaterLogs(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("idx-proj"))
	c := f.client(t, f.user)
	const p, ls = "idx-proj", "store"
	require.NoError(t, c.CreateLogStore(p, ls, 7, 2, false, 0))
	putRecord(t, c, p, ls, "before-1")
	putRecord(t, c, p, ls, "before-2") // round robin: one per shard

	idx := sdk.Index{Keys: map[string]sdk.IndexKey{"id": {Token: []string{","}, Type: "text", DocValue: true}}}
	require.NoError(t, c.CreateIndex(p, ls, idx))
	got, err := c.GetIndex(p, ls)
	require.NoError(t, err)
	require.Contains(t, got.Keys, "id")
	require.Empty(t, search(t, c, p, ls, "*"), "logs written before the index are not searchable")

	putRecord(t, c, p, ls, "after-1")
	putRecord(t, c, p, ls, "after-2")
	require.ElementsMatch(t, []string{"after-1", "after-2"}, search(t, c, p, ls, "*"))
	require.Empty(t, search(t, c, p, ls, "id:before-1"))
	res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: start.Unix(), To: start.Unix() + 60, Query: "* | select count(*) as n"})
	require.NoError(t, err)
	require.Equal(t, []map[string]string{{"n": "2"}}, res.Logs, "analysis sees the same")
	require.ElementsMatch(t, []string{"before-1", "before-2", "after-1", "after-2"}, pulled(t, c, p, ls, 2), "PullLogs sees everything")

	// A second CreateIndex is refused; UpdateIndex changes the configuration,
	// not what is covered.
	requireSLSError(t, c.CreateIndex(p, ls, idx), 400, "IndexAlreadyExist")
	require.NoError(t, c.UpdateIndex(p, ls, *sdk.CreateDefaultIndex()))
	got, err = c.GetIndex(p, ls)
	require.NoError(t, err)
	require.NotNil(t, got.Line, "GetIndex returns the updated configuration")
	require.ElementsMatch(t, []string{"after-1", "after-2"}, search(t, c, p, ls, "*"))

	// Deleting the index refuses queries again; a new index starts afresh.
	require.NoError(t, c.DeleteIndex(p, ls))
	_, err = c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: start.Unix(), To: start.Unix() + 60, Query: "*"})
	requireSLSError(t, err, 400, "IndexConfigNotExist")
	putRecord(t, c, p, ls, "unindexed")
	require.NoError(t, f.srv.CreateIndex(p, ls, nil), "the Go API creates the default index")
	require.NoError(t, f.srv.CreateIndex(p, ls, nil), "and is idempotent")
	putRecord(t, c, p, ls, "reindexed")
	require.Equal(t, []string{"reindexed"}, search(t, c, p, ls, "*"))
	got, err = c.GetIndex(p, ls)
	require.NoError(t, err)
	require.NotNil(t, got.Line, "default index: full text")
}

func TestIndexBodyValidated(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.srv.CreateProject("idx-proj"))
	c := f.client(t, f.user)
	require.NoError(t, c.CreateLogStore("idx-proj", "store", 7, 1, false, 0))
	requireSLSError(t, c.CreateIndexString("idx-proj", "store", `{}`), 400, "ParameterInvalid")
	requireSLSError(t, c.CreateIndexString("idx-proj", "store", `{"keys":{}}`), 400, "ParameterInvalid")
	requireSLSError(t, c.CreateIndexString("idx-proj", "store", `[1]`), 400, "PostBodyInvalid")
	requireSLSError(t, c.CreateIndex("idx-proj", "nope", *sdk.CreateDefaultIndex()), 404, "LogStoreNotExist")
	_, err := c.GetIndex("idx-proj", "store")
	requireSLSError(t, err, 400, "IndexConfigNotExist")
	require.Error(t, f.srv.CreateIndex("idx-proj", "store", []byte(`{"line":null}`)))
}

// indexDelayFixture is a server with an index delay and a wall clock the test
// steps, on its own listener.
func indexDelayFixture(t *testing.T, delay time.Duration) (*fixture, *vclock.Clock) {
	t.Helper()
	wall := vclock.New(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	f := &fixture{clock: vclock.New(start), auth: auth.NewStore(), stats: &stats.Stats{}}
	f.user = f.auth.AddUser("operator")
	f.srv = sls.New(sls.Config{Clock: f.clock, Wall: wall, Auth: f.auth, Stats: f.stats, IndexDelay: delay})
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close)
	f.url, f.addr = ts.URL, ts.Listener.Addr().String()
	require.NoError(t, f.srv.CreateProject("delay-proj"))
	require.NoError(t, f.srv.CreateLogstore("delay-proj", "store", 1))
	require.NoError(t, f.srv.CreateIndex("delay-proj", "store", nil))
	return f, wall
}

func TestIndexDelaySteppedWallClock(t *testing.T) {
	f, wall := indexDelayFixture(t, 3*time.Second)
	require.Equal(t, 3*time.Second, f.srv.IndexDelay())
	c := f.client(t, f.user)
	const p, ls = "delay-proj", "store"

	putRecord(t, c, p, ls, "r1")
	require.Empty(t, search(t, c, p, ls, "*"), "not searchable right after PutLogs")
	require.Equal(t, []string{"r1"}, pulled(t, c, p, ls, 1), "PullLogs reads it at once")
	wall.Advance(3*time.Second - time.Millisecond)
	require.Empty(t, search(t, c, p, ls, "id:r1"), "still invisible 1 ms inside the delay")
	res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: start.Unix(), To: start.Unix() + 60, Query: "* | select count(*) as n"})
	require.NoError(t, err)
	require.Equal(t, []map[string]string{{"n": "0"}}, res.Logs, "analysis does not see it either")
	wall.Advance(time.Millisecond)
	require.Equal(t, []string{"r1"}, search(t, c, p, ls, "id:r1"), "searchable once the delay has passed")

	// Time passing on the virtual clock counts too (an advanced demo or test).
	putRecord(t, c, p, ls, "r2")
	require.Equal(t, []string{"r1"}, search(t, c, p, ls, "*"))
	f.clock.Advance(3 * time.Second)
	require.Equal(t, []string{"r1", "r2"}, search(t, c, p, ls, "*"))

	// The delay is a knob: 0 makes new logs searchable at once.
	putRecord(t, c, p, ls, "r3")
	require.NotContains(t, search(t, c, p, ls, "*"), "r3")
	f.srv.SetIndexDelay(0)
	require.Contains(t, search(t, c, p, ls, "*"), "r3")
	f.srv.SetIndexDelay(-time.Second)
	require.Zero(t, f.srv.IndexDelay(), "a negative delay is 0")
}

// TestIndexDelayWallClock is the same on the real wall clock: a record is
// invisible to GetLogs for about 3 s and visible to PullLogs at once.
func TestIndexDelayWallClock(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.srv.SetIndexDelay(3 * time.Second)
	require.NoError(t, f.srv.CreateProject("delay-proj"))
	require.NoError(t, f.srv.CreateLogstore("delay-proj", "store", 1))
	require.NoError(t, f.srv.CreateIndex("delay-proj", "store", nil))
	c := f.client(t, f.user)
	const p, ls = "delay-proj", "store"

	written := time.Now()
	putRecord(t, c, p, ls, "r1")
	require.Equal(t, []string{"r1"}, pulled(t, c, p, ls, 1), "PullLogs reads it at once")
	var seen time.Duration
	for {
		got := search(t, c, p, ls, "id:r1")
		elapsed := time.Since(written)
		if len(got) == 1 {
			seen = elapsed
			break
		}
		require.Less(t, elapsed, 6*time.Second, "never became searchable")
		time.Sleep(100 * time.Millisecond)
	}
	require.GreaterOrEqual(t, seen, 3*time.Second-50*time.Millisecond, "searchable after %v, before the 3 s delay", seen)
	t.Logf("searchable %v after PutLogs", seen)
}

func TestIndexDelayAppliesToGoAPIAppends(t *testing.T) {
	f, wall := indexDelayFixture(t, 3*time.Second)
	c := f.client(t, f.user)
	for i := range 3 {
		_, err := f.srv.Append("delay-proj", "store", sls.LogGroupInput{Logs: []sls.Log{{Contents: [][2]string{{"id", "a" + strconv.Itoa(i)}}}}})
		require.NoError(t, err)
	}
	require.Empty(t, search(t, c, "delay-proj", "store", "*"))
	rows, err := f.srv.Query("delay-proj", "store", start, start.Add(time.Minute), "*")
	require.NoError(t, err)
	require.Len(t, rows, 3, "the Go API's Query is the back door: no delay")
	wall.Advance(3 * time.Second)
	require.Len(t, search(t, c, "delay-proj", "store", "*"), 3)
}

package slsapi_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/sls"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/shared/slsapi"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

const project = "porthygiene-test"

type emu struct {
	srv    *sls.Server
	addr   string
	store  *auth.Store
	stats  *stats.Stats
	faults *faults.Set
	op     auth.Credential // the operator, whose client is client
	client *slsapi.Client
}

// newEmulator starts localcloud's SLS emulator on loopback and returns a
// client for a RAM user, with the project created through the client.
func newEmulator(t *testing.T) *emu {
	t.Helper()
	e := &emu{store: auth.NewStore(), stats: &stats.Stats{}, faults: &faults.Set{}}
	e.srv = sls.New(sls.Config{Auth: e.store, Stats: e.stats, Faults: e.faults})
	ts := httptest.NewServer(e.srv)
	t.Cleanup(ts.Close)
	e.addr = ts.Listener.Addr().String()
	e.op = e.store.AddUser("operator")
	e.client = e.clientFor(e.op)
	require.NoError(t, e.client.EnsureProject(t.Context(), project, "slsapi tests"))
	return e
}

func (e *emu) clientFor(c auth.Credential) *slsapi.Client {
	return slsapi.New(slsapi.Config{
		Endpoint: "http://cn-hangzhou.log.aliyuncs.com",
		Credentials: func() slsapi.Credentials {
			return slsapi.Credentials{AccessKeyID: c.AccessKeyID, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
		},
		HTTPClient:   dialTo(e.addr),
		RetryTimeout: time.Second,
	})
}

func TestEmulatorPutQueryPull(t *testing.T) {
	e := newEmulator(t)
	ctx := t.Context()
	c := e.client
	require.NoError(t, c.EnsureLogstore(ctx, project, "audit", 7, 2))
	require.NoError(t, c.EnsureLogstore(ctx, project, "audit", 7, 2), "idempotent")
	require.NoError(t, c.EnsureIndex(ctx, project, "audit", "n", "kind"))
	require.NoError(t, c.EnsureIndex(ctx, project, "audit", "n", "kind"), "replaces an existing index")
	shards, err := c.Shards(ctx, project, "audit")
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, shards)

	base := time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)
	const n = 250
	for batch := 0; batch < n/50; batch++ {
		var logs []slsapi.Log
		for i := batch * 50; i < (batch+1)*50; i++ {
			kind := "even"
			if i%2 == 1 {
				kind = "odd"
			}
			logs = append(logs, slsapi.Log{Time: base.Add(time.Duration(i) * time.Second).Add(123 * time.Millisecond),
				Contents: map[string]string{"n": strconv.Itoa(i), "kind": kind}})
		}
		require.NoError(t, c.PutLogs(ctx, project, "audit", "t1", logs))
	}

	t.Run("QueryPagesSearch", func(t *testing.T) {
		rows, err := c.Query(ctx, project, "audit", base, base.Add(time.Hour), "kind: odd")
		require.NoError(t, err)
		require.Len(t, rows, n/2, "more than one page of 100")
		for _, r := range rows {
			require.Equal(t, "odd", r["kind"])
			require.Equal(t, "t1", r["__topic__"])
		}
	})
	t.Run("QueryWindowIsHalfOpenInSeconds", func(t *testing.T) {
		rows, err := c.Query(ctx, project, "audit", base.Add(10*time.Second), base.Add(20*time.Second), "*")
		require.NoError(t, err)
		require.Len(t, rows, 10)
		rows, err = c.Query(ctx, project, "audit", base.Add(10*time.Second), base.Add(20*time.Second+time.Millisecond), "*")
		require.NoError(t, err)
		require.Len(t, rows, 11, "a fractional end includes its second")
	})
	t.Run("QuerySQL", func(t *testing.T) {
		rows, err := c.Query(ctx, project, "audit", base, base.Add(time.Hour), "* | select kind, count(*) as c group by kind order by kind")
		require.NoError(t, err)
		require.Equal(t, []map[string]string{{"kind": "even", "c": "125"}, {"kind": "odd", "c": "125"}}, rows)
	})
	t.Run("QueryPageReverse", func(t *testing.T) {
		rows, err := c.QueryPage(ctx, project, "audit", base, base.Add(time.Hour), "*", slsapi.Page{Lines: 3, Reverse: true})
		require.NoError(t, err)
		require.Len(t, rows, 3)
		require.Equal(t, strconv.Itoa(n-1), rows[0]["n"])
	})
	t.Run("PullRangeEveryShard", func(t *testing.T) {
		seen := map[string]time.Time{}
		for _, sh := range shards {
			begin, err := c.Cursor(ctx, project, "audit", sh, slsapi.CursorBegin)
			require.NoError(t, err)
			end, err := c.Cursor(ctx, project, "audit", sh, slsapi.CursorEnd)
			require.NoError(t, err)
			require.NoError(t, c.PullRange(ctx, project, "audit", sh, begin, end, func(l slsapi.Log) error {
				require.Equal(t, "t1", l.Contents["__topic__"])
				seen[l.Contents["n"]] = l.Time
				return nil
			}))
			// An empty range reads nothing.
			require.NoError(t, c.PullRange(ctx, project, "audit", sh, end, end, func(slsapi.Log) error { return fmt.Errorf("unexpected") }))
		}
		require.Len(t, seen, n)
		require.Equal(t, base.Add(7*time.Second+123*time.Millisecond), seen["7"], "nanosecond time survives")
	})
	t.Run("PullRangeStopsOnCallbackError", func(t *testing.T) {
		begin, err := c.Cursor(ctx, project, "audit", 0, slsapi.CursorBegin)
		require.NoError(t, err)
		end, err := c.Cursor(ctx, project, "audit", 0, slsapi.CursorEnd)
		require.NoError(t, err)
		stop := fmt.Errorf("stop")
		calls := 0
		err = c.PullRange(ctx, project, "audit", 0, begin, end, func(slsapi.Log) error { calls++; return stop })
		require.ErrorIs(t, err, stop)
		require.Equal(t, 1, calls)
	})
}

// TestEmulatorActionTrailLogstore reads an ActionTrail record the way the SLS
// trigger path does: PullRange over the shard range, then the "event" field.
func TestEmulatorActionTrailLogstore(t *testing.T) {
	e := newEmulator(t)
	ctx := t.Context()
	c := e.clientFor(e.store.IssueSTS("porthygiene-fc-role", "guard", time.Now(), time.Hour))
	require.NoError(t, e.client.EnsureLogstore(ctx, project, "actiontrail_porthygiene", 30, 1))
	var contents map[string]string
	b, err := os.ReadFile("../trigger/testdata/actiontrail-logstore-log.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &contents))
	delete(contents, "__time__")
	delete(contents, "__topic__")
	delete(contents, "__source__")

	begin, err := c.Cursor(ctx, project, "actiontrail_porthygiene", 0, slsapi.CursorEnd)
	require.NoError(t, err)
	require.NoError(t, e.client.PutLogs(ctx, project, "actiontrail_porthygiene", "actiontrail_audit_event",
		[]slsapi.Log{{Time: time.Date(2026, 1, 5, 3, 12, 44, 0, time.UTC), Contents: contents}}))
	end, err := c.Cursor(ctx, project, "actiontrail_porthygiene", 0, slsapi.CursorEnd)
	require.NoError(t, err)

	var recs []trigger.ActionTrailRecord
	require.NoError(t, c.PullRange(ctx, project, "actiontrail_porthygiene", 0, begin, end, func(l slsapi.Log) error {
		r, err := trigger.ParseLogstoreEvent(l.Contents)
		recs = append(recs, r)
		return err
	}))
	require.Len(t, recs, 1)
	require.Equal(t, "AuthorizeSecurityGroup", recs[0].EventName)
	require.Equal(t, "actiontrail/3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E01", trigger.ActionTrailDedupKey(recs[0].EventID))
	require.Equal(t, 1, e.stats.Snapshot().Count("sls", "PullLogs", "porthygiene-fc-role"), "one PullLogs per range")
}

func TestEmulatorErrors(t *testing.T) {
	e := newEmulator(t)
	ctx := t.Context()
	log := []slsapi.Log{{Time: time.Now(), Contents: map[string]string{"a": "b"}}}

	err := e.client.PutLogs(ctx, project, "missing", "", log)
	require.ErrorIs(t, err, slsapi.ErrNotFound)
	require.ErrorContains(t, err, "LogStoreNotExist")
	_, err = e.client.Query(ctx, "no-such-project", "x", time.Unix(0, 0), time.Now(), "*")
	require.ErrorIs(t, err, slsapi.ErrNotFound)

	require.NoError(t, e.client.EnsureLogstore(ctx, project, "audit", 7, 1))
	_, err = e.client.Query(ctx, project, "audit", time.Unix(0, 0), time.Now(), "*")
	require.ErrorIs(t, err, slsapi.ErrNotFound, "a logstore without an index cannot be queried")
	require.ErrorContains(t, err, "IndexConfigNotExist")
	require.NoError(t, e.client.EnsureIndex(ctx, project, "audit", "a"))
	good := e.store.AddUser("mallory")
	wrong := good
	wrong.AccessKeySecret = "not-the-secret-but-long-enough"
	err = e.clientFor(wrong).PutLogs(ctx, project, "audit", "", log)
	require.ErrorIs(t, err, slsapi.ErrUnauthorized)
	require.NotContains(t, err.Error(), wrong.AccessKeySecret)
	require.NotContains(t, err.Error(), good.AccessKeySecret)

	expired := e.store.IssueSTS("porthygiene-fc-role", "guard", time.Now().Add(-2*time.Hour), time.Hour)
	err = e.clientFor(expired).PutLogs(ctx, project, "audit", "", log)
	require.ErrorIs(t, err, slsapi.ErrUnauthorized)
	require.NotContains(t, err.Error(), expired.SecurityToken)

	e.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "sls", Action: "PutLogs", ThrottleRatio: 1}}})
	require.ErrorIs(t, e.client.PutLogs(ctx, project, "audit", "", log), slsapi.ErrThrottled)

	e.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "sls", Action: "GetLogs", ServerErrorRatio: 1}}})
	start := time.Now()
	_, err = e.client.Query(ctx, project, "audit", time.Unix(0, 0), time.Now(), "*")
	require.ErrorIs(t, err, slsapi.ErrServer)
	require.Less(t, time.Since(start), 4*time.Second, "retries stay within RetryTimeout")

	e.faults.Replace(faults.Config{})
	_, err = e.client.Query(ctx, project, "audit", time.Unix(0, 0), time.Now(), "kind: (")
	require.ErrorIs(t, err, slsapi.ErrInvalid)
}

// Tail by cursor: every write at once, each shard read in parallel; a warm
// client lists the shards once (ShardsTTL), and a read on from the positions
// it returned is one PullLogs per shard, nothing else.
func TestTailCountsItsCalls(t *testing.T) {
	e := newEmulator(t)
	ctx := t.Context()
	c := e.clientFor(e.store.IssueSTS("porthygiene-fc-role", "guard", time.Now(), time.Hour))
	require.NoError(t, e.client.EnsureLogstore(ctx, project, "ledger", 7, 2))
	now := time.Now().UTC()
	put := func(n int) {
		var logs []slsapi.Log
		for i := range n {
			logs = append(logs, slsapi.Log{Time: now, Contents: map[string]string{"n": fmt.Sprint(i)}})
		}
		require.NoError(t, e.client.PutLogs(ctx, project, "ledger", "t", logs))
	}
	put(3)
	calls := func(action string) int { return e.stats.Snapshot().Count("sls", action, "porthygiene-fc-role") }

	logs, pos, err := c.Tail(ctx, project, "ledger", now.Add(-time.Minute), nil)
	require.NoError(t, err)
	require.Len(t, logs, 3)
	require.Len(t, pos, 2, "a position per shard")
	require.Equal(t, 1, calls("ListShards"))
	require.Equal(t, 2, calls("GetCursor"), "one cursor by time per shard")
	require.Equal(t, 2, calls("PullLogs"), "one PullLogs per shard: fewer groups than asked for is the end")

	put(2)
	logs, pos, err = c.Tail(ctx, project, "ledger", now.Add(-time.Minute), pos)
	require.NoError(t, err)
	require.Len(t, logs, 2, "only what arrived since")
	require.Equal(t, 1, calls("ListShards"), "the shard list is reused")
	require.Equal(t, 2, calls("GetCursor"), "a read on from known positions needs no cursor")
	require.Equal(t, 4, calls("PullLogs"))

	logs, _, err = c.Tail(ctx, project, "ledger", now.Add(-time.Minute), pos)
	require.NoError(t, err)
	require.Empty(t, logs, "nothing new")
}

package sls_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/stretchr/testify/require"
)

// target is the SLS under test: the emulator, or a real project (see
// TestContractIntegration). Every case drives it with the unmodified SDK client.
type target struct {
	c       sdk.ClientInterface
	project string
	// prefix names the logstores a run creates (<prefix>-<purpose>); each is
	// deleted when its case ends.
	prefix string
	// base is the log time (__time__) of the records the suite writes.
	base time.Time
	// tick runs between log groups whose receive times must differ by at least
	// a second (GetCursor by time has second resolution).
	tick func()
	// settle bounds the waits for a new logstore, a new index or fresh logs to
	// take effect; 0 means they must take effect at once (the emulator).
	settle time.Duration
	// badSecret returns a client with the operator's AccessKeyId and a wrong
	// secret; unknownKey one with an AccessKeyId nobody has.
	badSecret  func(t *testing.T) sdk.ClientInterface
	unknownKey func(t *testing.T) sdk.ClientInterface
	// emu is the emulator under test; nil against a real project. The checks
	// that need it compare emulator-exact values: cursor encodings, receive
	// times on the virtual clock, error codes the real service may word
	// differently, and stats.
	emu *fixture
}

func randSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// eventually retries try every 2 s until it succeeds or settle has passed.
func (tg *target) eventually(t *testing.T, what string, try func() error) {
	t.Helper()
	deadline := time.Now().Add(tg.settle)
	for {
		err := try()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			require.NoError(t, err, "%s (waited %v)", what, tg.settle)
		}
		time.Sleep(2 * time.Second)
	}
}

// count is the emulator's count of the operator's calls of action (0 against
// a real project).
func (tg *target) count(action string) int {
	if tg.emu == nil {
		return 0
	}
	return tg.emu.stats.Snapshot().Count("sls", action, "operator")
}

// dropLogstore deletes a logstore the run created, tolerating one already gone.
func (tg *target) dropLogstore(t *testing.T, name string) {
	err := tg.c.DeleteLogStore(tg.project, name)
	var e *sdk.Error
	if err != nil && !(errors.As(err, &e) && e.Code == "LogStoreNotExist") {
		t.Logf("cleanup: deleting logstore %s/%s: %v (delete it by hand)", tg.project, name, err)
	}
}

// newLogstore creates <prefix>-<purpose> (7 days, shards shards) and waits
// until it serves every shard.
func (tg *target) newLogstore(t *testing.T, purpose string, shards int) string {
	t.Helper()
	name := tg.prefix + "-" + purpose
	require.NoError(t, tg.c.CreateLogStore(tg.project, name, 7, shards, false, 0))
	t.Cleanup(func() { tg.dropLogstore(t, name) })
	tg.eventually(t, "logstore "+name+" serves its shards", func() error {
		for shard := range shards {
			if _, err := tg.c.GetCursor(tg.project, name, shard, "end"); err != nil {
				return err
			}
		}
		return nil
	})
	return name
}

// requireRejected: against the emulator, the exact status and code; against
// a real project, any 4xx SLS error (the real service may word it differently).
func (tg *target) requireRejected(t *testing.T, err error, status int, code string) *sdk.Error {
	t.Helper()
	if tg.emu != nil {
		return requireSLSError(t, err, status, code)
	}
	require.Error(t, err)
	var e *sdk.Error
	require.ErrorAs(t, err, &e, "want *sls.Error, got %T: %v", err, err)
	require.True(t, e.HTTPCode >= 400 && e.HTTPCode < 500, "want a 4xx (emulator: %d %s), got %d %s: %s", status, code, e.HTTPCode, e.Code, e.Message)
	return e
}

// waitIndexed returns once the index of ls takes effect: real SLS indexes only
// logs written after that, so it writes a probe (an hour before base, outside
// every queried range) and searches for it, again and again.
func (tg *target) waitIndexed(t *testing.T, ls string) {
	t.Helper()
	at := tg.base.Add(-time.Hour)
	n := 0
	tg.eventually(t, "the index of "+ls+" takes effect", func() error {
		n++
		id := fmt.Sprintf("probe-%d", n)
		if err := tg.c.PutLogs(tg.project, ls, groupAt(at, "probe", map[string]string{"id": id})); err != nil {
			return err
		}
		if tg.settle > 0 {
			time.Sleep(5 * time.Second) // real SLS: "queryable within ~3 s"
		}
		res, err := tg.c.GetLogsV3(tg.project, ls, &sdk.GetLogRequest{From: at.Unix(), To: at.Unix() + 1, Query: "id:" + id})
		if err != nil {
			return err
		}
		if len(res.Logs) != 1 {
			return fmt.Errorf("probe %s: %d rows", id, len(res.Logs))
		}
		return nil
	})
}

func groupIDs(gl *sdk.LogGroupList) []string {
	var out []string
	for _, g := range gl.LogGroups {
		out = append(out, contents(g)[0]["i"])
	}
	return out
}

// runContract drives one SLS implementation through the behaviours porthygiene
// relies on, with the unmodified SDK client only.
func runContract(t *testing.T, tg *target) {
	c, p := tg.c, tg.project

	t.Run("Logstores", func(t *testing.T) {
		createBefore, listShardsBefore := tg.count("CreateLogStore"), tg.count("ListShards")
		name := tg.prefix + "-ledger"
		missing := tg.prefix + "-nope" // a project nobody has
		require.NoError(t, c.CreateLogStore(p, name, 7, 2, false, 0))
		t.Cleanup(func() { tg.dropLogstore(t, name) })
		err := c.CreateLogStore(p, name, 7, 2, false, 0)
		requireSLSError(t, err, 400, "LogStoreAlreadyExist")
		err = c.CreateLogStore(missing, name, 7, 2, false, 0)
		requireSLSError(t, err, 404, "ProjectNotExist")

		ls, err := c.GetLogStore(p, name)
		require.NoError(t, err)
		require.Equal(t, 7, ls.TTL)
		require.Equal(t, 2, ls.ShardCount)
		stores, err := c.ListLogStore(p)
		require.NoError(t, err)
		require.Contains(t, stores, name)
		if tg.emu != nil {
			require.Equal(t, []string{name}, stores)
		}

		var shards []*sdk.Shard
		tg.eventually(t, "shards of "+name, func() error {
			shards, err = c.ListShards(p, name)
			return err
		})
		require.Len(t, shards, 2)
		require.Equal(t, 0, shards[0].ShardID)
		require.Equal(t, "readwrite", shards[0].Status)
		require.Equal(t, "00000000000000000000000000000000", shards[0].InclusiveBeginKey)
		require.Equal(t, "80000000000000000000000000000000", shards[0].ExclusiveBeginKey)
		require.Equal(t, "80000000000000000000000000000000", shards[1].InclusiveBeginKey)
		require.Equal(t, "ffffffffffffffffffffffffffffffff", shards[1].ExclusiveBeginKey)

		require.NoError(t, c.CreateIndex(p, name, sdk.Index{Line: &sdk.IndexLine{Token: []string{","}}}))
		idx, err := c.GetIndex(p, name)
		require.NoError(t, err)
		require.Equal(t, []string{","}, idx.Line.Token)

		require.NoError(t, c.DeleteLogStore(p, name))
		_, err = c.GetLogStore(p, name)
		e := requireSLSError(t, err, 404, "LogStoreNotExist")
		require.NotEmpty(t, e.RequestID, "x-log-requestid")
		_, err = c.ListShards(missing, name)
		requireSLSError(t, err, 404, "ProjectNotExist")

		if tg.emu != nil {
			require.Equal(t, createBefore+3, tg.count("CreateLogStore"))
			require.Equal(t, listShardsBefore+2, tg.count("ListShards"))
		}
	})

	t.Run("PutLogsCompression", func(t *testing.T) {
		ls := tg.newLogstore(t, "flows", 1)
		putsBefore := tg.count("PutLogs")
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
				begin, err := c.GetCursor(p, ls, 0, "end")
				require.NoError(t, err)
				if tg.emu != nil {
					require.Equal(t, b64(fmt.Sprint(i)), begin)
				}
				lg := groupAt(tg.base, "flow_log", map[string]string{"action": tc.value, "n": strconv.Itoa(i)})
				require.NoError(t, c.PutLogsWithCompressType(p, ls, lg, tc.kind))
				for _, pullKind := range []int{sdk.Compress_LZ4, sdk.Compress_ZSTD} {
					gl, meta, err := c.PullLogsWithQuery(&sdk.PullLogRequest{
						Project: p, Logstore: ls, ShardID: 0,
						Cursor: begin, LogGroupMaxCount: 1, CompressType: pullKind,
					})
					require.NoError(t, err)
					require.Equal(t, 1, meta.Count)
					require.Len(t, gl.LogGroups, 1)
					got := gl.LogGroups[0]
					require.Equal(t, "flow_log", got.GetTopic())
					require.Equal(t, "10.1.2.3", got.GetSource())
					require.Equal(t, uint32(tg.base.Unix()), got.Logs[0].GetTime())
					require.Equal(t, []map[string]string{{"action": tc.value, "n": strconv.Itoa(i)}}, contents(got))
					// x-log-read-last-cursor is optional on the wire: the real service may omit it
					if cur := got.GetCursor(); cur != "" || tg.emu != nil {
						require.Equal(t, begin, cur, "per-group cursor from x-log-read-last-cursor")
					}
				}
			})
		}
		if tg.emu != nil {
			require.Equal(t, putsBefore+len(cases), tg.count("PutLogs"))
		}
	})

	t.Run("CursorsAndPullLogs", func(t *testing.T) {
		ls := tg.newLogstore(t, "trail", 1)
		var t0 time.Time // emulator: receive time of group 0
		if tg.emu != nil {
			t0 = tg.emu.clock.Now()
		}
		// five groups, their receive times apart (a minute on the virtual clock)
		for i := range 5 {
			require.NoError(t, c.PutLogs(p, ls, groupAt(tg.base, "actiontrail_audit_event", map[string]string{"i": strconv.Itoa(i)})))
			tg.tick()
		}
		begin, err := c.GetCursor(p, ls, 0, "begin")
		require.NoError(t, err)
		end, err := c.GetCursor(p, ls, 0, "end")
		require.NoError(t, err)
		require.NotEqual(t, begin, end)

		// cur[i] is the cursor of group i, cur[5] the end
		cur := []string{begin}
		for i := range 5 {
			gl, next, err := c.PullLogs(p, ls, 0, cur[i], "", 1)
			require.NoError(t, err)
			require.Equal(t, []string{strconv.Itoa(i)}, groupIDs(gl))
			cur = append(cur, next)
		}
		require.Equal(t, end, cur[5])

		// receive times, and GetCursor(from=<time>) finds the first group received then or later
		var times []time.Time
		for i := range 5 {
			ct, err := c.GetCursorTime(p, ls, 0, cur[i])
			require.NoError(t, err)
			if i > 0 {
				require.True(t, ct.After(times[i-1]), "group %d received at %v, after %v", i, ct, times[i-1])
			}
			times = append(times, ct)
		}
		at, err := c.GetCursor(p, ls, 0, strconv.FormatInt(times[2].Unix(), 10))
		require.NoError(t, err)
		require.Equal(t, cur[2], at)
		after, err := c.GetCursor(p, ls, 0, strconv.FormatInt(times[4].Unix()+1, 10))
		require.NoError(t, err)
		require.Equal(t, end, after)

		if e := tg.emu; e != nil {
			require.Equal(t, "MA==", begin)
			require.Equal(t, b64("5"), end)
			for i, cu := range cur {
				require.Equal(t, b64(strconv.Itoa(i)), cu)
			}
			require.Equal(t, t0.Unix(), times[0].Unix())
			at, err := c.GetCursor(p, ls, 0, strconv.FormatInt(t0.Add(2*time.Minute).Unix(), 10))
			require.NoError(t, err)
			require.Equal(t, b64("2"), at)
			late, err := c.GetCursor(p, ls, 0, strconv.FormatInt(t0.Add(time.Hour).Unix(), 10))
			require.NoError(t, err)
			require.Equal(t, end, late)
			ct, err := c.GetCursorTime(p, ls, 0, b64("3"))
			require.NoError(t, err)
			require.Equal(t, t0.Add(3*time.Minute).Unix(), ct.Unix())

			goAt, err := e.srv.CursorAt(p, ls, 0, t0.Add(90*time.Second))
			require.NoError(t, err)
			require.Equal(t, b64("2"), goAt)
			goEnd, err := e.srv.EndCursor(p, ls, 0)
			require.NoError(t, err)
			require.Equal(t, end, goEnd)
		}

		cases := []struct {
			name         string
			cursor, endC string
			count        int
			wantIDs      []string
			wantNext     string
		}{
			{"CountBound", begin, "", 2, []string{"0", "1"}, cur[2]},
			{"ToEnd", cur[3], "", 1000, []string{"3", "4"}, end},
			{"EndCursor", cur[1], cur[3], 1000, []string{"1", "2"}, cur[3]},
			{"EndCursorAndCount", cur[1], cur[4], 1, []string{"1"}, cur[2]},
			{"EmptyAtEnd", end, "", 10, nil, end},
			{"EmptyRange", cur[2], cur[2], 10, nil, cur[2]},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				gl, next, err := c.PullLogs(p, ls, 0, tc.cursor, tc.endC, tc.count)
				require.NoError(t, err)
				require.Equal(t, tc.wantIDs, groupIDs(gl))
				require.Equal(t, tc.wantNext, next)
			})
		}

		// the trigger loop: read [begin, end) until next == end
		var all []string
		for cu := begin; cu != end; {
			gl, next, err := c.PullLogs(p, ls, 0, cu, end, 2)
			require.NoError(t, err)
			all = append(all, groupIDs(gl)...)
			cu = next
		}
		require.Equal(t, []string{"0", "1", "2", "3", "4"}, all)

		_, _, err = c.PullLogs(p, ls, 0, "not-a-cursor", "", 10)
		tg.requireRejected(t, err, 400, "InvalidCursor")
		_, _, err = c.PullLogs(p, ls, 0, begin, "", 1001)
		tg.requireRejected(t, err, 400, "ParameterInvalid")
		_, _, err = c.PullLogs(p, ls, 3, begin, "", 10)
		tg.requireRejected(t, err, 400, "ShardNotExist")
		_, err = c.GetCursor(p, ls, 0, "yesterday")
		tg.requireRejected(t, err, 400, "ParameterInvalid")
		if tg.emu != nil {
			// a well-formed cursor past the end (real cursors encode other numbers)
			_, _, err = c.PullLogs(p, ls, 0, b64("9"), "", 10)
			requireSLSError(t, err, 400, "InvalidCursor")
		}
	})

	t.Run("Signatures", func(t *testing.T) {
		ls := tg.newLogstore(t, "sig", 1)
		lg := groupAt(tg.base, "t", map[string]string{"a": "b"})
		t.Run("WrongSecret", func(t *testing.T) {
			err := tg.badSecret(t).PutLogs(p, ls, lg)
			e := requireSLSError(t, err, 401, "SignatureNotMatch")
			require.NotEmpty(t, e.RequestID)
			_, err = tg.badSecret(t).GetCursor(p, ls, 0, "begin")
			requireSLSError(t, err, 401, "SignatureNotMatch")
			require.NoError(t, c.PutLogs(p, ls, lg), "the right secret is accepted")
		})
		t.Run("UnknownKey", func(t *testing.T) {
			err := tg.unknownKey(t).PutLogs(p, ls, lg)
			e := tg.requireRejected(t, err, 401, "Unauthorized")
			require.EqualValues(t, 401, e.HTTPCode)
		})
	})

	t.Run("IndexRequiredAndCoversOnlyLaterLogs", func(t *testing.T) {
		ls := tg.newLogstore(t, "index", 1)
		require.NoError(t, c.PutLogs(p, ls, groupAt(tg.base, "t", map[string]string{"id": "old"})))
		from, to := tg.base.Unix(), tg.base.Unix()+60
		_, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from, To: to, Query: "*"})
		e := tg.requireRejected(t, err, 400, "IndexConfigNotExist")
		require.Equal(t, "IndexConfigNotExist", e.Code, "documented for GetLogs: %s", e.Message)
		_, err = c.GetIndex(p, ls)
		require.Equal(t, "IndexConfigNotExist", tg.requireRejected(t, err, 400, "IndexConfigNotExist").Code)

		require.NoError(t, c.CreateIndex(p, ls, contractIndex()))
		tg.waitIndexed(t, ls)
		require.NoError(t, c.PutLogs(p, ls, groupAt(tg.base, "t", map[string]string{"id": "new"})))
		tg.eventually(t, "the log written after the index is searchable", func() error {
			res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from, To: to, Query: "*"})
			if err != nil {
				return err
			}
			if got := ids(res.Logs); len(got) != 1 || got[0] != "new" {
				return fmt.Errorf("rows %v, want only [new] (the log written before the index is not indexed)", got)
			}
			return nil
		})
		cur, err := c.GetCursor(p, ls, 0, "begin")
		require.NoError(t, err)
		gl, _, err := c.PullLogs(p, ls, 0, cur, "", 100)
		require.NoError(t, err)
		var pulledIDs []string
		for _, g := range gl.LogGroups {
			for _, m := range contents(g) {
				if m["id"] == "old" || m["id"] == "new" {
					pulledIDs = append(pulledIDs, m["id"])
				}
			}
		}
		require.Equal(t, []string{"old", "new"}, pulledIDs, "PullLogs reads what the index does not cover")
	})

	// porthygiene setup adds fields to an existing index by sending back what
	// GetIndex answered, minus its lastModifyTime, with more keys
	// (shared/slsapi EnsureIndex): the service must take that body, keep the
	// rest, and answer the new keys.
	t.Run("IndexUpdatedFromItsOwnConfiguration", func(t *testing.T) {
		ls := tg.newLogstore(t, "reindex", 1)
		require.NoError(t, c.CreateIndex(p, ls, sdk.Index{
			Line: &sdk.IndexLine{Token: []string{" ", ","}},
			Keys: map[string]sdk.IndexKey{"kind": {Type: "text", Token: []string{" "}}, "n": {Type: "long"}},
		}))
		var body string
		tg.eventually(t, "the index of "+ls+" is readable", func() error {
			var err error
			body, err = c.GetIndexString(p, ls)
			return err
		})
		var cfg map[string]json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(body), &cfg))
		delete(cfg, "lastModifyTime")
		var keys map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(cfg["keys"], &keys))
		keys["eventId"] = json.RawMessage(`{"type":"text","token":[","," "],"caseSensitive":true,"doc_value":true,"chn":false}`)
		b, err := json.Marshal(keys)
		require.NoError(t, err)
		cfg["keys"] = b
		update, err := json.Marshal(cfg)
		require.NoError(t, err)
		require.NoError(t, c.UpdateIndexString(p, ls, string(update)))
		tg.eventually(t, "the updated index of "+ls+" is answered", func() error {
			idx, err := c.GetIndex(p, ls)
			if err != nil {
				return err
			}
			if idx.Keys["eventId"].Type != "text" || idx.Keys["n"].Type != "long" || idx.Keys["kind"].Type != "text" || idx.Line == nil {
				return fmt.Errorf("index after the update: keys %v, line %v", idx.Keys, idx.Line)
			}
			return nil
		})
	})

	t.Run("GetLogs", func(t *testing.T) {
		ls := tg.newLogstore(t, "query", 2)
		require.NoError(t, c.CreateIndex(p, ls, contractIndex()))
		tg.waitIndexed(t, ls)
		putFlowData(t, c, p, ls, tg.base)
		from, to := tg.base.Unix(), tg.base.Unix()+60
		tg.eventually(t, "the flow records are searchable", func() error {
			res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from - 200, To: to, Query: "*"})
			if err != nil {
				return err
			}
			if len(res.Logs) != 9 || !res.IsComplete() {
				return fmt.Errorf("search: %d of 9 rows (progress %s)", len(res.Logs), res.Meta.Progress)
			}
			res, err = c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from - 200, To: to, Query: "* | select count(*) as c"})
			if err != nil {
				return err
			}
			if len(res.Logs) != 1 || res.Logs[0]["c"] != "9" {
				return fmt.Errorf("analysis: %v, want c=9", res.Logs)
			}
			return nil
		})
		records := flowRecordsAt(tg.base)

		t.Run("Search", func(t *testing.T) {
			for _, tc := range contractSearchCases {
				t.Run(tc.name, func(t *testing.T) {
					res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from, To: to, Query: tc.query})
					require.NoError(t, err)
					require.True(t, res.IsComplete())
					require.False(t, res.Meta.HasSQL)
					require.Equal(t, tc.want, ids(res.Logs))
					require.EqualValues(t, len(tc.want), res.Meta.Count)
				})
			}
		})
		t.Run("RowShape", func(t *testing.T) {
			res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from, To: to, Query: "id:r5"})
			require.NoError(t, err)
			want := map[string]string{"__topic__": "flow_log", "__source__": "10.1.2.3"}
			for k, v := range records[4] {
				want[k] = v
			}
			require.Len(t, res.Logs, 1)
			for k, v := range want {
				require.Equal(t, v, res.Logs[0][k], "field %s", k)
			}
			if tg.emu != nil { // real rows carry more __tag__ fields
				require.Equal(t, []map[string]string{want}, res.Logs)
			}
		})
		t.Run("TimeRangeHalfOpen", func(t *testing.T) {
			res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from + 2, To: from + 4, Query: "*"})
			require.NoError(t, err)
			require.Equal(t, []string{"r2", "r3"}, ids(res.Logs))
			res, err = c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from - 200, To: from + 2, Query: "*"})
			require.NoError(t, err)
			require.Equal(t, []string{"r0", "r1"}, ids(res.Logs))
		})
		t.Run("LineOffsetReverse", func(t *testing.T) {
			res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from, To: to, Query: "*", Lines: 2, Offset: 1})
			require.NoError(t, err)
			require.Equal(t, []string{"r2", "r3"}, ids(res.Logs))
			res, err = c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from, To: to, Query: "*", Lines: 2, Reverse: true})
			require.NoError(t, err)
			require.Equal(t, []string{"r8", "r7"}, ids(res.Logs))
			_, err = c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from, To: to, Query: "*", Lines: 101})
			tg.requireRejected(t, err, 400, "InvalidLine")
		})
		t.Run("TopicParameter", func(t *testing.T) {
			res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from, To: to, Topic: "other", Query: "*"})
			require.NoError(t, err)
			require.Empty(t, res.Logs)
		})
		t.Run("ToCompletedV2", func(t *testing.T) {
			res, err := c.GetLogsToCompletedV2(p, ls, &sdk.GetLogRequest{From: from, To: to, Query: "action:REJECT"})
			require.NoError(t, err)
			require.True(t, res.IsComplete())
			require.EqualValues(t, 2, res.Count)
			require.Equal(t, []string{"r2", "r3"}, ids(res.Logs))
		})
		t.Run("SQL", func(t *testing.T) {
			for _, tc := range contractSQLCases(tg.base) {
				t.Run(tc.name, func(t *testing.T) {
					res, err := c.GetLogsV3(p, ls, &sdk.GetLogRequest{From: from, To: to, Query: tc.query})
					require.NoError(t, err)
					require.True(t, res.Meta.HasSQL)
					require.Equal(t, tc.want, res.Logs)
					require.EqualValues(t, len(tc.want), res.Meta.Count)
					if tc.keys != nil {
						require.Equal(t, tc.keys, res.Meta.Keys)
					}
				})
			}
		})
	})
}

package slsapi_test

import (
	"encoding/json"
	"testing"

	sdk "github.com/aliyun/aliyun-log-go-sdk"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/shared/slsapi"
)

// rawIndex reads the stored index configuration with the unmodified SDK.
func rawIndex(t *testing.T, e *emu, op auth.Credential, logstore string) map[string]any {
	t.Helper()
	cl := sdk.CreateNormalInterface("http://cn-hangzhou.log.aliyuncs.com", op.AccessKeyID, op.AccessKeySecret, "")
	cl.SetHTTPClient(dialTo(e.addr))
	body, err := cl.GetIndexString(project, logstore)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	return out
}

func indexWrites(e *emu) int {
	s := e.stats.Snapshot()
	return s.Count("sls", "CreateIndex", "") + s.Count("sls", "UpdateIndex", "")
}

func TestEnsureIndexCreatesAMissingIndex(t *testing.T) {
	e := newEmulator(t)
	ctx := t.Context()
	require.NoError(t, e.client.EnsureLogstore(ctx, project, "ledger", 7, 1))

	st, err := e.client.Index(ctx, project, "ledger")
	require.NoError(t, err, "no index is a state, not an error")
	require.False(t, st.Exists)
	require.Equal(t, slsapi.IndexChange{Create: true}, st.Plan("id", "kind"))
	require.Equal(t, "create", st.Plan("id", "kind").String())

	require.NoError(t, e.client.EnsureIndex(ctx, project, "ledger", "id", "kind"))
	st, err = e.client.Index(ctx, project, "ledger")
	require.NoError(t, err)
	require.True(t, st.Exists)
	require.False(t, st.FullText, "only the field indexes asked for")
	require.Equal(t, map[string]string{"id": "text", "kind": "text"}, st.Fields)
	require.True(t, st.Plan("kind", "id").None())
	require.Equal(t, 1, indexWrites(e))

	require.NoError(t, e.client.EnsureIndex(ctx, project, "ledger", "id", "kind"))
	require.Equal(t, 1, indexWrites(e), "a complete index is not written again")
	require.Equal(t, 0, e.stats.Snapshot().Count("sls", "UpdateIndex", ""))
}

// An operator's index lacks fields and types one wrongly: only those change.
func TestEnsureIndexUpdatesAnIncompleteIndexAndKeepsTheRest(t *testing.T) {
	e := newEmulator(t)
	ctx := t.Context()
	require.NoError(t, e.client.EnsureLogstore(ctx, project, "ledger", 7, 1))
	require.NoError(t, e.srv.CreateIndex(project, "ledger", []byte(`{
		"line": {"token": [" ", ","], "caseSensitive": false, "chn": false},
		"keys": {
			"id":      {"type": "text", "token": [" "], "caseSensitive": false, "chn": false, "alias": "recordId"},
			"groupId": {"type": "long", "doc_value": true},
			"mine":    {"type": "double"}
		},
		"max_text_len": 4096,
		"lastModifyTime": 1767225600
	}`)))

	st, err := e.client.Index(ctx, project, "ledger")
	require.NoError(t, err)
	require.True(t, st.FullText)
	ch := st.Plan("id", "kind", "groupId", "kind")
	require.Equal(t, slsapi.IndexChange{Add: []string{"kind"}, Retype: []string{"groupId (long)"}}, ch)
	require.Equal(t, "add kind; make text: groupId (long)", ch.String())

	before := indexWrites(e)
	require.NoError(t, e.client.EnsureIndex(ctx, project, "ledger", "id", "kind", "groupId"))
	require.Equal(t, before+1, indexWrites(e))
	require.Equal(t, 1, e.stats.Snapshot().Count("sls", "UpdateIndex", ""), "updated, not recreated")

	raw := rawIndex(t, e, e.op, "ledger")
	keys := raw["keys"].(map[string]any)
	require.Equal(t, "text", keys["kind"].(map[string]any)["type"])
	require.Equal(t, true, keys["kind"].(map[string]any)["caseSensitive"])
	require.Equal(t, "text", keys["groupId"].(map[string]any)["type"], "re-typed")
	require.Equal(t, "recordId", keys["id"].(map[string]any)["alias"], "a key already indexed as text is left exactly as it was")
	require.Equal(t, "double", keys["mine"].(map[string]any)["type"], "the operator's own fields stay")
	require.InDelta(t, 4096, raw["max_text_len"], 0, "settings stay")
	require.NotNil(t, raw["line"], "the full-text index stays")
	require.NotContains(t, raw, "lastModifyTime", "read-only metadata is not sent back")

	require.NoError(t, e.client.EnsureIndex(ctx, project, "ledger", "id", "kind", "groupId"))
	require.Equal(t, before+1, indexWrites(e), "idempotent")
}

func TestIndexAndExistenceOfMissingThings(t *testing.T) {
	e := newEmulator(t)
	ctx := t.Context()
	_, err := e.client.Index(ctx, project, "nope")
	require.ErrorIs(t, err, slsapi.ErrNotFound, "a missing logstore is not an empty index")
	require.ErrorIs(t, e.client.EnsureIndex(ctx, project, "nope", "id"), slsapi.ErrNotFound)

	ok, err := e.client.ProjectExists(ctx, project)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = e.client.ProjectExists(ctx, "no-such-project")
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, e.client.EnsureLogstore(ctx, project, "there", 7, 1))
	for _, tc := range []struct {
		project, logstore string
		want              bool
	}{{project, "there", true}, {project, "nope", false}, {"no-such-project", "there", false}} {
		ok, err := e.client.LogstoreExists(ctx, tc.project, tc.logstore)
		require.NoError(t, err, "%s/%s", tc.project, tc.logstore)
		require.Equal(t, tc.want, ok, "%s/%s", tc.project, tc.logstore)
	}

	wrong := e.store.AddUser("mallory")
	wrong.AccessKeySecret = "not-the-secret-but-long-enough"
	_, err = e.clientFor(wrong).ProjectExists(ctx, project)
	require.ErrorIs(t, err, slsapi.ErrUnauthorized, "refused credentials are an error, not a missing project")
	_, err = e.clientFor(wrong).Index(ctx, project, "there")
	require.ErrorIs(t, err, slsapi.ErrUnauthorized)
}

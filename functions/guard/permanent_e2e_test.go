package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
)

// Errors no retry can fix are answered, not failed: an SLS trigger payload
// naming a shard the ActionTrail logstore does not have, or a sweep of a
// region this function does not cover. FC would otherwise retry each for
// minutes; the result says why, and nothing changes.
func TestGuardAnswersPermanentErrorsWithoutRetries(t *testing.T) {
	e := start(t, localcloud.Options{})
	badShard, err := json.Marshal(map[string]any{
		"parameter": map[string]any{},
		"source": map[string]any{"endpoint": "http://" + e.cloud.Region() + "-intranet.log.aliyuncs.com",
			"projectName": "porthygiene-actiontrail", "logstoreName": "actiontrail_porthygiene", "shardId": 97,
			"beginCursor": "MTc2NzU4Mjc2NDAwMDAwMDAwMQ==", "endCursor": "MTc2NzU4Mjc2NDAwMDAwMDAwNQ=="},
		"jobName": "job", "taskId": "task", "cursorTime": e.cloud.Clock.Now().Unix()})
	require.NoError(t, err)
	e.invoke(badShard)
	otherRegion := []byte(`{"triggerTime":"` + e.cloud.Clock.Now().UTC().Format("2006-01-02T15:04:05Z") +
		`","triggerName":"sweep-slice","payload":"{\"mode\":\"sweep\",\"region\":\"ap-nowhere-1\",\"groups\":[\"sg-web\"]}"}`)
	e.invoke(otherRegion)

	res := e.apiResults()
	require.Len(t, res, 2, "each answered once: no retries")
	for _, r := range res {
		require.Equal(t, "ok", r["status"], "%v", r)
		require.NotEmpty(t, r["failed"], "the result says why: %v", r)
	}
}

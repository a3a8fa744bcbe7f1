package replicate_test

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/replicate"
)

func replicatorBlock(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../s.yaml")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)\n  replicator:\n(.*?)(\n  [a-z]+:\n|$)`).FindSubmatch(raw)
	require.NotNil(t, m, "the replicator resource in s.yaml")
	return string(m[1])
}

// s.yaml's EventBridge pattern of the replicator names exactly the events it
// handles: rule changes, ingress and egress.
func TestSYamlPatternNamesTheHandledEvents(t *testing.T) {
	m := regexp.MustCompile(`(?m)eventRuleFilterPattern: '(.*)'`).FindAllStringSubmatch(replicatorBlock(t), -1)
	require.Len(t, m, 1)
	var pat struct {
		Data struct {
			EventName []string `json:"eventName"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(m[0][1]), &pat))
	require.ElementsMatch(t, replicate.HandledEvents, pat.Data.EventName)
}

// fc3's redeploy returns from its trigger loop at an unchanged EventBridge
// trigger (see the guard's test): the replicator's EventBridge trigger is
// its last, after the 10-minute reconcile.
func TestSYamlEventBridgeTriggerIsLast(t *testing.T) {
	block := replicatorBlock(t)
	names := regexp.MustCompile(`- triggerName: (\S+)\n\s+triggerType: (\S+)`).FindAllStringSubmatch(block, -1)
	require.Len(t, names, 2)
	require.Equal(t, []string{"reconcile", "timer"}, names[0][1:])
	require.Equal(t, "eventbridge", names[1][2])
	require.Contains(t, block, `cronExpression: '0 */10 * * * *'`)
	require.Contains(t, block, "role: ${vars.replicatorRole}", "its own role: the guard must see its writes")
}

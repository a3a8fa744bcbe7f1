package guard_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/guard"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// s.yaml's EventBridge pattern is the guard's list of handled events: an
// event the guard handles but the pattern leaves out reaches it only by the
// slower SLS path; one the pattern sends but the guard ignores is wasted.
func TestSYamlPatternNamesTheHandledEvents(t *testing.T) {
	raw, err := os.ReadFile("../../s.yaml")
	require.NoError(t, err)
	guardBlock := regexp.MustCompile(`(?s)\n  guard:\n(.*?)\n  [a-z]+:\n`).FindSubmatch(raw)
	require.NotNil(t, guardBlock, "the guard resource in s.yaml")
	m := regexp.MustCompile(`(?m)eventRuleFilterPattern: '(.*)'`).FindAllSubmatch(guardBlock[1], -1)
	require.Len(t, m, 1, "one EventBridge trigger of the guard")
	var pat struct {
		Data struct {
			EventName []string `json:"eventName"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(m[0][1], &pat))
	require.ElementsMatch(t, guard.HandledEvents, pat.Data.EventName)
	require.Contains(t, pat.Data.EventName, "RevokeSecurityGroup", "revoking a drop can expose the accept it hid")
}

// fc3's redeploy returns from its trigger loop at an unchanged EventBridge
// trigger, skipping the triggers listed after it: the guard's EventBridge
// trigger is its last.
func TestSYamlEventBridgeTriggerIsLast(t *testing.T) {
	raw, err := os.ReadFile("../../s.yaml")
	require.NoError(t, err)
	guardBlock := regexp.MustCompile(`(?s)\n  guard:\n(.*?)\n  [a-z]+:\n`).FindSubmatch(raw)
	require.NotNil(t, guardBlock, "the guard resource in s.yaml")
	names := regexp.MustCompile(`- triggerName: (\S+)\n\s+triggerType: (\S+)`).FindAllSubmatch(guardBlock[1], -1)
	require.GreaterOrEqual(t, len(names), 3)
	last := names[len(names)-1]
	require.Equal(t, "eventbridge", string(last[2]), "the last trigger is the EventBridge one (%s)", last[1])
	for _, n := range names[:len(names)-1] {
		require.NotEqual(t, "eventbridge", string(n[2]))
	}
}

// Every handled event has a sample in events/ that the guard acts on (a
// person's successful call, not our role's or a failed one), so that README's
// first deploy can `s invoke --event-file` each of them.
func TestEveryHandledEventHasASample(t *testing.T) {
	files, err := filepath.Glob("../../events/eventbridge-*.json")
	require.NoError(t, err)
	sampled := map[string][]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		ev, err := trigger.Decode(raw)
		require.NoError(t, err, f)
		ce, ok := ev.(trigger.CloudEvent)
		require.True(t, ok, "%s is a CloudEvent", f)
		rec, err := ce.ActionTrail()
		require.NoError(t, err, f)
		if rec.Failed() || rec.UserIdentity.Type == "assumed-role" {
			continue
		}
		sampled[rec.EventName] = append(sampled[rec.EventName], filepath.Base(f))
	}
	for _, name := range guard.HandledEvents {
		require.NotEmpty(t, sampled[name], "no sample in events/ of a person's %s", name)
	}
}

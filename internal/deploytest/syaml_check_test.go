package deploytest

// The checks of checkRendered on a fixture, without node: each breakage is
// reported, and the fixture itself passes.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func fixtureRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, fn := range []string{"guard", "approve"} {
		if err := os.MkdirAll(filepath.Join(root, "functions", fn), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// set replaces the value at a dotted path ("resources.guard.props.runtime",
// list indexes as numbers); a nil value deletes the key.
func set(t *testing.T, doc any, dotted string, v any) {
	t.Helper()
	parts := strings.Split(dotted, ".")
	cur := doc
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if v == nil {
					delete(c, p)
				} else {
					c[p] = v
				}
				return
			}
			cur = c[p]
		case []any:
			n, err := strconv.Atoi(p)
			if err != nil || n >= len(c) {
				t.Fatalf("set %s: bad index %s", dotted, p)
			}
			if last {
				c[n] = v
				return
			}
			cur = c[n]
		default:
			t.Fatalf("set %s: no container at %s", dotted, p)
		}
	}
}

func TestCheckRenderedFixture(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "rendered.json"))
	if err != nil {
		t.Fatal(err)
	}
	root := fixtureRoot(t)
	if probs := checkRendered(data, root); len(probs) > 0 {
		t.Fatalf("the fixture should pass:\n%s", strings.Join(probs, "\n"))
	}
	const g = "resources.guard.props."
	const eb, lg, tm = g + "triggers.0.triggerConfig.", g + "triggers.1.", g + "triggers.2.triggerConfig."
	const ap = "resources.approve.props."
	cases := []struct {
		path string
		v    any
		want string
	}{
		{g + "runtime", "go2", "runtime \"go2\", want go1"},
		{g + "handler", "bootstrap", "handler \"bootstrap\""},
		{g + "code", "./build/guard", "want ./dist/guard"},
		{g + "code", map[string]any{"src": "./dist/guard"}, "code must be the directory"},
		{ap + "code", "./dist/guard", "code \"./dist/guard\", want ./dist/approve"},
		{ap + "functionName", "porthygiene-guard", "is also"},
		{g + "role", "Porthygiene-FC-Role", "upper-case"},
		{g + "environmentVariables.PORTHYGIENE_ROLE_NAME", "other-role", "PORTHYGIENE_ROLE_NAME=other-role"},
		{g + "environmentVariables.FC_REGION", "x", "FC_ prefix is reserved"},
		{g + "environmentVariables.BIG", strings.Repeat("x", 5000), "over FC's 4096"},
		{g + "environmentVariables.N", 3, "want a string"},
		{g + "description", "${vars.typo}", "unrendered reference"},
		{g + "description", "account 1234567890123456", "hard-coded account id"},
		{tm + "cronExpression", "0 * * * *", "has 5 fields"},
		{tm + "cronExpression", "0 0 25 * * *", "cronExpression \"0 0 25 * * *\""},
		{tm + "cronExpression", "", "cronExpression is empty"},
		{tm + "enable", nil, "enable is missing"},
		{tm + "payload", "{mode:sweep}", "payload \"{mode:sweep}\" is not JSON"},
		{eb + "eventRuleFilterPattern", "{\"source\":[\"acs.ecs\"]", "not a JSON object"},
		{eb + "eventRuleFilterPattern", "", "eventRuleFilterPattern is empty"},
		{eb + "eventRuleFilterPattern", "{\"type\":[\"x\"]}", "has no \"source\""},
		{eb + "eventSourceConfig", nil, "eventSourceType is missing"},
		{lg + "sourceArn", nil, "sourceArn \"\""},
		{lg + "sourceArn", "acs:log:cn-shanghai:${config('AccountID')}:project/p-1", "differs from the function's region"},
		{lg + "triggerConfig.sourceConfig", nil, "sourceConfig.logstore is missing"},
		{lg + "triggerConfig.jobConfig.triggerInterval", 1, "triggerInterval 1: want an integer"},
		{lg + "triggerConfig.jobConfig.triggerInterval", "5", "triggerInterval \"5\": want an integer (not a string"},
		{lg + "triggerConfig.jobConfig.triggerInterval", nil, "triggerInterval : want an integer"},
		{lg + "triggerConfig.jobConfig.maxRetryTime", "3", "maxRetryTime \"3\": want an integer (not a string"},
		{lg + "triggerConfig.jobConfig.maxRetryTime", 101, "maxRetryTime 101"},
		{lg + "triggerConfig.logConfig", map[string]any{"project": "porthygiene-actiontrail", "logstore": "actiontrail_porthygiene"}, "names the source logstore"},
		{lg + "triggerConfig.logConfig", nil, "logConfig.project and logConfig.logstore are required"},
		{lg + "triggerConfig.functionParameter", "x", "functionParameter must be an object"},
		{g + "triggers.2.triggerName", "actiontrail-events", "used twice"},
		{g + "triggers.2.triggerType", "oss", "not checked by internal/deploytest"},
		{ap + "triggers.0.triggerConfig.methods", []any{}, "methods is empty"},
		{ap + "triggers.0.triggerConfig.methods", []any{"get"}, "method \"get\""},
		{ap + "triggers.0.triggerConfig.authType", "none", "authType \"none\""},
	}
	for _, tc := range cases {
		t.Run(tc.path+"="+strings.ReplaceAll(strings.ReplaceAll(strconv.Quote(strings.TrimSpace(mustJSON(tc.v))), "/", "_"), " ", "_"), func(t *testing.T) {
			var doc any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			set(t, doc, tc.path, tc.v)
			probs := checkRendered([]byte(mustJSON(doc)), root)
			for _, p := range probs {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("no problem mentions %q; got:\n%s", tc.want, strings.Join(probs, "\n"))
		})
	}
}

func TestCheckRenderedMissingFunctionDir(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "rendered.json"))
	if err != nil {
		t.Fatal(err)
	}
	probs := checkRendered(data, t.TempDir())
	if len(probs) != 2 || !strings.Contains(strings.Join(probs, "\n"), "functions/approve does not exist") {
		t.Fatalf("want one problem per function without functions/<name>, got:\n%s", strings.Join(probs, "\n"))
	}
}

func TestStripToJSON(t *testing.T) {
	out := "[2026-11-25 18:19:16][WARN][s_cli] It is not recommended to run the command as root user.\n{\n  \"a\": {\"b\": 1}\n}\n"
	got, err := stripToJSON([]byte(out))
	if err != nil || !json.Valid(got) || !strings.HasPrefix(string(got), "{") {
		t.Fatalf("stripToJSON = %q, %v", got, err)
	}
	if _, err := stripToJSON([]byte("Error Message: no s.yaml\n")); err == nil {
		t.Fatal("output without JSON accepted")
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

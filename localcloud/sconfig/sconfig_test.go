package sconfig

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/eventbus"
	"github.com/porthygiene/porthygiene/localcloud/timers"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func ptr[T any](v T) *T { return &v }

func TestLoadFullProject(t *testing.T) {
	p, err := Load("testdata/s.yaml", env(map[string]string{
		"STAGE":        "test",
		"ECS_ENDPOINT": "http://127.0.0.1:8600",
	}))
	require.NoError(t, err)

	dir, err := filepath.Abs("testdata")
	require.NoError(t, err)
	sharedEnv := map[string]string{
		"PORTHYGIENE_ROLE_NAME": "porthygiene-fc-role",
		"LEDGER_PROJECT":        "porthygiene-test", // ${vars.ledger.project} → ${env('STAGE', 'dev')}
		"LEDGER_LOGSTORE":       "ledger",
		"SLS_ENDPOINT":          "https://cn-hangzhou.log.aliyuncs.com",
		"DINGTALK_ROBOTS":       "[]", // default of ${env('DINGTALK_ROBOTS', '[]')}
		"ECS_ENDPOINT":          "http://127.0.0.1:8600",
	}
	role := "acs:ram::1234567890123456:role/porthygiene-fc-role"

	require.Equal(t, "porthygiene", p.Name)
	require.Equal(t, "cn-hangzhou", p.Vars["region"])
	require.Equal(t, 300, p.Vars["timeout"])
	require.Equal(t, role, p.Vars["role"])
	require.Equal(t, map[string]any{"project": "porthygiene-test", "logstore": "ledger"}, p.Vars["ledger"])

	require.Len(t, p.Functions, 4, "the oss resource is not a function")

	reconciler := Function{
		Resource: "reconciler", Name: "pg-reconciler", Region: "cn-hangzhou", Runtime: "go1",
		Handler: "main", CodeDir: filepath.Join(dir, "dist/reconciler"), Role: role, RoleName: "porthygiene-fc-role",
		Timeout: 300 * time.Second, MemoryMB: 256, Env: sharedEnv,
		AsyncRetryAttempts: ptr(0), AsyncMaxEventAge: 600 * time.Second,
		HasInitializer: true, InitializerTimeout: 10 * time.Second,
		PreDeploy: []Action{{
			Run:  "GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -o dist/reconciler/main ./functions/reconciler",
			Path: filepath.Dir(dir), // ${path('..')}
		}},
		Triggers: []Trigger{
			{Name: "every5m", Type: TriggerTimer, Timer: &TimerConfig{
				CronExpression: "0 */5 * * * *", Payload: `{"mode":"reconcile"}`, Enable: true}},
			{Name: "monthly", Type: TriggerTimer, Timer: &TimerConfig{
				CronExpression: "CRON_TZ=Asia/Shanghai 0 0 4 1 * *", Enable: false}},
		},
	}
	require.Equal(t, reconciler, p.Functions[0])

	driftEnv := map[string]string{"PORTHYGIENE_REGIONS": "cn-hangzhou,cn-shanghai"}
	for k, v := range sharedEnv {
		driftEnv[k] = v
	}
	drift := p.Functions[1]
	require.JSONEq(t, `{"source":["acs.ecs"],"type":["ecs:ActionTrail:ApiCall","ecs:ActionTrail:ConsoleOperation"],"data":{"eventName":["AuthorizeSecurityGroup","AuthorizeSecurityGroupEgress","RevokeSecurityGroup","RevokeSecurityGroupEgress","ModifySecurityGroupRule","ModifySecurityGroupEgressRule"]}}`,
		string(drift.Triggers[0].EventBridge.Pattern))
	drift.Triggers[0].EventBridge.Pattern = nil
	require.Equal(t, Function{
		Resource: "drift", Name: "pg-drift-watch", Region: "cn-hangzhou", Runtime: "go1", Handler: "main",
		CodeDir: filepath.Join(dir, "dist/drift"),
		Role:    role, RoleName: "porthygiene-fc-role", // a bare role name, expanded and lowercased as fc3 does
		Timeout: 3 * time.Second, MemoryMB: 512, Env: driftEnv,
		Triggers: []Trigger{{Name: "ecs-sg-changes", Type: TriggerEventBridge, EventBridge: &EventBridgeConfig{
			Enable: true, Async: false, SourceType: "Default"}}},
	}, drift)

	require.Equal(t, Function{
		Resource: "flowlog", Name: "pg-flowlog-scan", Region: "cn-hangzhou", Runtime: "go1", Handler: "main",
		CodeDir: filepath.Join(dir, "dist/flowlog"), Role: role, RoleName: "porthygiene-fc-role",
		Timeout: 120 * time.Second, MemoryMB: 512, Env: sharedEnv,
		Triggers: []Trigger{{Name: "flowlog-sls", Type: TriggerLog, Log: &LogConfig{
			SourceArn:         "acs:log:cn-hangzhou:1234567890123456:project/vpc-flowlog-proj",
			Project:           "vpc-flowlog-proj",
			Logstore:          "vpc-flowlog",
			Interval:          60 * time.Second,
			MaxRetry:          3,
			FunctionParameter: map[string]any{"mode": "flowlog", "window": 5},
			Enable:            true,
			LogProject:        "vpc-flowlog-proj",
			LogLogstore:       "fc-trigger-log",
		}}},
	}, p.Functions[2])

	require.Equal(t, Function{
		Resource: "api", Name: "pg-api", Region: "cn-hangzhou", Runtime: "custom.debian10",
		CodeDir: "/opt/porthygiene/api", Timeout: 3 * time.Second, MemoryMB: 512,
		Env: map[string]string{"PORT": "9000", "EMPTY": ""},
		Triggers: []Trigger{{Name: "http", Type: TriggerHTTP, HTTP: &HTTPConfig{
			Methods: []string{"GET", "POST"}, AuthType: "anonymous"}}},
	}, p.Functions[3])
}

// TestFullProjectFeedsTheOtherPackages checks that what sconfig hands over is
// accepted by the timer and event-bus packages.
func TestFullProjectFeedsTheOtherPackages(t *testing.T) {
	p, err := Load("testdata/s.yaml", env(map[string]string{"ECS_ENDPOINT": "x"}))
	require.NoError(t, err)
	for _, f := range p.Functions {
		for _, tr := range f.Triggers {
			switch tr.Type {
			case TriggerTimer:
				_, err := timers.Parse(tr.Timer.CronExpression)
				require.NoError(t, err, tr.Name)
			case TriggerEventBridge:
				_, err := eventbus.CompilePattern(tr.EventBridge.Pattern)
				require.NoError(t, err, tr.Name)
			}
		}
	}
}

func TestAccountIDOption(t *testing.T) {
	p, err := Load("testdata/s.yaml", env(map[string]string{"ECS_ENDPOINT": "x"}), WithAccountID("999"))
	require.NoError(t, err)
	require.Equal(t, "acs:ram::999:role/porthygiene-fc-role", p.Functions[0].Role)
	require.Equal(t, "acs:ram::999:role/porthygiene-fc-role", p.Functions[1].Role, "bare role names use the account too")
	require.Equal(t, "acs:log:cn-hangzhou:999:project/vpc-flowlog-proj", p.Functions[2].Triggers[0].Log.SourceArn)
}

func TestInterpolation(t *testing.T) {
	const src = `
edition: 3.0.0
name: ${vars.prefix}-app
vars:
  prefix: pg
  base: &base
    A: a
  merged:
    <<: *base
    B: b-${vars.merged.A}
  list: [x, y]
  quoted: ${env('Q', "it's, {ok}")}
  bare: ${env(BARE, fallback)}
  spaced: ${ vars.prefix }
  whole: ${vars.base}
  number: ${vars.n}
  n: 7
  second: ${vars.list.1}
  cfg: ${config(AccountID)}
  up: ${path('..')}
  other: ${resources.fn.props.timeout}
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: ${vars.prefix}-fn
      runtime: go1
      handler: main
      code: code
      timeout: ${vars.number}
`
	p, err := Parse([]byte(src), "/srv/app/conf", env(map[string]string{"BARE": ""}))
	require.NoError(t, err)
	require.Equal(t, "pg-app", p.Name)
	require.Equal(t, map[string]any{"A": "a", "B": "b-a"}, p.Vars["merged"])
	require.Equal(t, "it's, {ok}", p.Vars["quoted"])
	require.Equal(t, "fallback", p.Vars["bare"], "an empty variable takes the default")
	require.Equal(t, "pg", p.Vars["spaced"])
	require.Equal(t, map[string]any{"A": "a"}, p.Vars["whole"], "a whole-value reference keeps the type")
	require.Equal(t, 7, p.Vars["number"])
	require.Equal(t, "y", p.Vars["second"])
	require.Equal(t, "1234567890123456", p.Vars["cfg"])
	require.Equal(t, "/srv/app", p.Vars["up"])
	require.Equal(t, 7, p.Vars["other"])
	require.Equal(t, "pg-fn", p.Functions[0].Name)
	require.Equal(t, 7*time.Second, p.Functions[0].Timeout)
	require.Equal(t, "/srv/app/conf/code", p.Functions[0].CodeDir)
}

func TestEnvironmentValuesAreNotReinterpolated(t *testing.T) {
	const src = `
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: fn
      runtime: go1
      handler: main
      code: code
      environmentVariables:
        X: ${env('X')}
`
	p, err := Parse([]byte(src), ".", env(map[string]string{"X": "${vars.nope}"}))
	require.NoError(t, err)
	require.Equal(t, "${vars.nope}", p.Functions[0].Env["X"])
}

// TestErrors runs one case per file in testdata/errors. The first line of each
// file says the exact error it must produce: "# want: FILE:<line>: <field>: <message>".
func TestErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			first, _, _ := strings.Cut(string(data), "\n")
			_, err = Load(file, nil)
			require.Error(t, err)
			want, ok := strings.CutPrefix(first, "# want: ")
			require.True(t, ok, "%s: first line must be a # want: comment", file)
			require.Equal(t, strings.ReplaceAll(want, "FILE", file), err.Error())
			var se *Error
			require.True(t, errors.As(err, &se), "error is an *sconfig.Error")
			require.Equal(t, file, se.File)
		})
	}
}

func TestParseErrorUsesFileNameOption(t *testing.T) {
	_, err := Parse([]byte("resources: {}\nvars:\n  a: ${vars.b}\n"), ".", nil, WithFileName("deploy/s.yaml"))
	require.EqualError(t, err, "deploy/s.yaml:3: unknown variable ${vars.b}")
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "s.yaml"), nil)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestPatternAsYAMLMapping(t *testing.T) {
	const src = `
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: fn
      runtime: go1
      handler: main
      code: code
      triggers:
        - triggerName: ecs
          triggerType: eventbridge
          triggerConfig:
            eventRuleFilterPattern:
              source: [acs.ecs]
`
	p, err := Parse([]byte(src), ".", nil)
	require.NoError(t, err)
	eb := p.Functions[0].Triggers[0].EventBridge
	require.JSONEq(t, `{"source":["acs.ecs"]}`, string(eb.Pattern))
	require.True(t, eb.Enable, "triggerEnable defaults to true")
	var v any
	require.NoError(t, json.Unmarshal(eb.Pattern, &v))
}

// The FC 3.0 API types a log trigger's jobConfig.maxRetryTime and
// triggerInterval as integers: a string is refused wherever it comes from
// (quoted, or an ${env()} value, which renders as a string), a number is
// accepted (literal or a ${vars} number).
func TestJobConfigIntegersOnly(t *testing.T) {
	const tmpl = `
vars:
  interval: 30
resources:
  fn:
    component: fc3
    props:
      region: cn-hangzhou
      functionName: fn
      runtime: go1
      handler: main
      code: code
      triggers:
        - triggerName: sls
          triggerType: log
          sourceArn: acs:log:cn-hangzhou:123:project/p
          triggerConfig:
            sourceConfig:
              logstore: s
            jobConfig:
              maxRetryTime: RETRY
              triggerInterval: INTERVAL
            logConfig:
              project: p
              logstore: l
            enable: true
`
	parse := func(retry, interval string) (*Project, error) {
		src := strings.NewReplacer("RETRY", retry, "INTERVAL", interval).Replace(tmpl)
		return Parse([]byte(src), ".", env(map[string]string{"INTERVAL": "30"}))
	}
	p, err := parse("5", "${vars.interval}")
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, p.Functions[0].Triggers[0].Log.Interval)
	require.Equal(t, 5, p.Functions[0].Triggers[0].Log.MaxRetry)

	for _, tc := range []struct{ retry, interval, field string }{
		{`"5"`, "30", "jobConfig.maxRetryTime"},
		{"5", `'30'`, "jobConfig.triggerInterval"},
		{"5", `${env('INTERVAL')}`, "jobConfig.triggerInterval"},
	} {
		_, err := parse(tc.retry, tc.interval)
		require.ErrorIs(t, err, ErrNotInteger, "%s/%s", tc.retry, tc.interval)
		var se *Error
		require.ErrorAs(t, err, &se)
		require.Equal(t, "resources.fn.props.triggers[sls].triggerConfig."+tc.field, se.Field)
		require.ErrorContains(t, err, "the FC 3.0 API types "+tc.field+" as an integer")
	}
	_, err = parse("5", "1.5")
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNotInteger, "a number that is not an integer is a different error")
}

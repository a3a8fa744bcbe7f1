package deploytest

// s.yaml checked offline: rendered by the Serverless Devs CLI exactly as
// `s deploy` renders it, validated against the fc3 component's schema (what
// `s verify` would do if it could download the component), then checked for
// what the schema leaves out (its trigger configs are an anyOf that includes
// an empty object, so any trigger config passes it).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// schemaRel is the fc3 schema's path relative to the repository root: a
// sibling of the checkout, never committed.
const schemaRel = "../shared/fc3-schema.json"

// accountIDRef is the one reference `s preview` leaves unrendered without
// credentials; `s deploy` fills it in.
const accountIDRef = "${config('AccountID')}"

// tools are what the s.yaml check needs; skip (or fail in CI) without them.
type tools struct {
	root, sBin, validator, schema string
}

func needTools(t *testing.T) tools {
	t.Helper()
	root := repoRoot()
	tl := tools{
		root:      root,
		sBin:      filepath.Join(root, "node_modules", ".bin", "s"),
		validator: filepath.Join(root, "scripts", "validate-syaml.mjs"),
		schema:    filepath.Clean(filepath.Join(root, schemaRel)),
	}
	if !fileExists(tl.schema) {
		skipOrFail(t, "fc3 schema %s is absent: it lives beside the checkout (shared/), is not part of the repo, and CI always has it", tl.schema)
	}
	if _, err := exec.LookPath("node"); err != nil {
		skipOrFail(t, "node is not on PATH: the s.yaml check runs the Serverless Devs CLI and ajv (run `make deps`)")
	}
	if !fileExists(tl.sBin) || !fileExists(filepath.Join(root, "node_modules", "ajv", "package.json")) {
		skipOrFail(t, "node_modules is missing %s or ajv: run `make deps` (npm ci) first", tl.sBin)
	}
	return tl
}

// render runs `s preview -o json` on the repo's s.yaml with HOME in an empty
// directory, no credentials and only the given environment variables, and
// returns the JSON it printed (without the warning lines before it).
func render(t *testing.T, tl tools, env map[string]string) []byte {
	t.Helper()
	out, err := renderFile(t, tl, "s.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// renderFile is render for any template of the repository (-t file); the
// error carries the CLI's output.
func renderFile(t *testing.T, tl tools, file string, env map[string]string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tl.sBin, "preview", "-o", "json", "-t", file)
	cmd.Dir = tl.root
	// Nothing of the developer's environment (PORTHYGIENE_*, credentials, a
	// Serverless Devs access) may leak in: PATH to find node, an empty HOME.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("s preview -o json -t %s failed (%w):\nstdout:\n%s\nstderr:\n%s", file, err, stdout.String(), stderr.String())
	}
	out, err := stripToJSON(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("s preview -o json -t %s: %w\nstdout:\n%s\nstderr:\n%s", file, err, stdout.String(), stderr.String())
	}
	return out, nil
}

var jsonStart = regexp.MustCompile(`(?m)^\{`)

// stripToJSON drops what comes before the first line that starts with "{"
// (as root, the CLI prints a warning line there) and checks that the rest is
// one JSON object.
func stripToJSON(out []byte) ([]byte, error) {
	loc := jsonStart.FindIndex(out)
	if loc == nil {
		return nil, errors.New("no JSON object in the output")
	}
	dec := json.NewDecoder(bytes.NewReader(out[loc[0]:]))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("output is not JSON: %w", err)
	}
	return raw, nil
}

// validate runs scripts/validate-syaml.mjs; it returns the output and whether
// every resource was valid. Any other failure (usage, unreadable schema) fails
// the test.
func validate(t *testing.T, tl tools, rendered []byte) (string, bool) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "rendered.json")
	if err := os.WriteFile(file, rendered, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", tl.validator, "--schema", tl.schema, file)
	cmd.Dir = tl.root
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), true
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return string(out), false
	default:
		t.Fatalf("validate-syaml.mjs: %v\n%s", err, out)
		return "", false
	}
}

func TestSYAMLRendersAndMatchesFC3Schema(t *testing.T) {
	tl := needTools(t)
	rendered := render(t, tl, nil)
	out, ok := validate(t, tl, rendered)
	if !ok {
		t.Fatalf("s.yaml does not match the fc3 schema (%s):\n%s", tl.schema, out)
	}
	t.Logf("fc3 schema:\n%s", out)
	for _, p := range checkRendered(rendered, tl.root) {
		t.Error(p)
	}
}

// What differs between accounts comes from the environment: every variable
// the README lists reaches the props, and the result is still valid.
func TestSYAMLTakesAccountSettingsFromEnvironment(t *testing.T) {
	tl := needTools(t)
	env := map[string]string{
		"PORTHYGIENE_REGION": "cn-shanghai",
		"PORTHYGIENE_ROLE":   "acme-porthygiene-role",
		// The replicator's own role: its writes must not hide behind the
		// role whose events the guard ignores.
		"PORTHYGIENE_REPLICATOR_ROLE": "acme-replicator-role",
		"LEDGER_PROJECT":              "acme-ledger",
		"LEDGER_LOGSTORE":             "acme-ledger-store",
		"ACTIONTRAIL_PROJECT":         "acme-trail",
		"ACTIONTRAIL_LOGSTORE":        "actiontrail_acme",
	}
	rendered := render(t, tl, env)
	if out, ok := validate(t, tl, rendered); !ok {
		t.Fatalf("s.yaml rendered with %v does not match the fc3 schema:\n%s", env, out)
	}
	for _, p := range checkRendered(rendered, tl.root) {
		t.Error(p)
	}
	doc, err := parseRendered(rendered)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.fc3() {
		p := r.props
		if p.Region != env["PORTHYGIENE_REGION"] {
			t.Errorf("%s: region %q, want %q from PORTHYGIENE_REGION", r.name, p.Region, env["PORTHYGIENE_REGION"])
		}
		roleVar := "PORTHYGIENE_ROLE"
		if r.name == "replicator" {
			roleVar = "PORTHYGIENE_REPLICATOR_ROLE"
		}
		if p.Role != env[roleVar] {
			t.Errorf("%s: role %q, want %q from %s", r.name, p.Role, env[roleVar], roleVar)
		}
		for _, k := range []string{"LEDGER_PROJECT", "LEDGER_LOGSTORE"} {
			if v, ok := p.Env[k]; ok && v != env[k] {
				t.Errorf("%s: environment %s=%v, want %q", r.name, k, v, env[k])
			}
		}
		for _, tr := range p.Triggers {
			if tr.TriggerType != "log" {
				continue
			}
			want := "acs:log:cn-shanghai:" + accountIDRef + ":project/acme-trail"
			if tr.SourceArn != want {
				t.Errorf("%s trigger %s: sourceArn %q, want %q", r.name, tr.TriggerName, tr.SourceArn, want)
			}
			var lc logTriggerConfig
			if json.Unmarshal(tr.TriggerConfig, &lc) == nil && lc.SourceConfig.Logstore != "actiontrail_acme" {
				t.Errorf("%s trigger %s: logstore %q, want actiontrail_acme from ACTIONTRAIL_LOGSTORE", r.name, tr.TriggerName, lc.SourceConfig.Logstore)
			}
		}
	}
}

// The validator is not vacuous: broken props are reported with the resource
// and the path, and make it exit 1.
func TestSYAMLValidatorReportsErrors(t *testing.T) {
	tl := needTools(t)
	rendered := render(t, tl, nil)
	var doc map[string]any
	if err := json.Unmarshal(rendered, &doc); err != nil {
		t.Fatal(err)
	}
	resources, _ := doc["resources"].(map[string]any)
	names := make([]string, 0, len(resources))
	for n := range resources {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no resources rendered")
	}
	name := names[0]
	props := resources[name].(map[string]any)["props"].(map[string]any)
	props["runtime"] = "go2"
	props["memorySize"] = 100
	props["region"] = "${vars.region}" // what an unrendered s.yaml would give
	broken, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	out, ok := validate(t, tl, broken)
	if ok {
		t.Fatalf("the validator accepted runtime go2, memorySize 100 and an unrendered region:\n%s", out)
	}
	for _, want := range []string{name + ": props/runtime:", name + ": props/memorySize:", name + ": props/region:"} {
		if !strings.Contains(out, want) {
			t.Errorf("validator output lacks %q:\n%s", want, out)
		}
	}
}

// ---- the rendered document ----

type renderedDoc struct {
	resources []resource
}

type resource struct {
	name, component string
	actions         map[string][]map[string]any
	raw             json.RawMessage
	props           props
	propsErr        error
}

type props struct {
	Region       string          `json:"region"`
	FunctionName string          `json:"functionName"`
	Runtime      string          `json:"runtime"`
	Handler      string          `json:"handler"`
	Code         json.RawMessage `json:"code"`
	Role         string          `json:"role"`
	Env          map[string]any  `json:"environmentVariables"`
	Triggers     []trigger       `json:"triggers"`
}

type trigger struct {
	TriggerName   string          `json:"triggerName"`
	TriggerType   string          `json:"triggerType"`
	SourceArn     string          `json:"sourceArn"`
	TriggerConfig json.RawMessage `json:"triggerConfig"`
}

type timerConfig struct {
	CronExpression string `json:"cronExpression"`
	Enable         *bool  `json:"enable"`
	Payload        string `json:"payload"`
}

type eventBridgeConfig struct {
	TriggerEnable          *bool  `json:"triggerEnable"`
	EventRuleFilterPattern string `json:"eventRuleFilterPattern"`
	EventSourceConfig      struct {
		EventSourceType string `json:"eventSourceType"`
	} `json:"eventSourceConfig"`
}

type logTriggerConfig struct {
	Enable       *bool `json:"enable"`
	SourceConfig struct {
		Logstore string `json:"logstore"`
	} `json:"sourceConfig"`
	JobConfig struct {
		MaxRetryTime    json.RawMessage `json:"maxRetryTime"`
		TriggerInterval json.RawMessage `json:"triggerInterval"`
	} `json:"jobConfig"`
	LogConfig struct {
		Project  string `json:"project"`
		Logstore string `json:"logstore"`
	} `json:"logConfig"`
	FunctionParameter json.RawMessage `json:"functionParameter"`
}

type httpConfig struct {
	AuthType string   `json:"authType"`
	Methods  []string `json:"methods"`
}

func parseRendered(data []byte) (renderedDoc, error) {
	var top struct {
		Resources map[string]struct {
			Component string                      `json:"component"`
			Actions   map[string][]map[string]any `json:"actions"`
			Props     json.RawMessage             `json:"props"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return renderedDoc{}, fmt.Errorf("rendered s.yaml: %w", err)
	}
	var doc renderedDoc
	for name, r := range top.Resources {
		res := resource{name: name, component: r.Component, actions: r.Actions, raw: r.Props}
		res.propsErr = json.Unmarshal(r.Props, &res.props)
		doc.resources = append(doc.resources, res)
	}
	sort.Slice(doc.resources, func(i, j int) bool { return doc.resources[i].name < doc.resources[j].name })
	return doc, nil
}

func (d renderedDoc) fc3() []resource {
	var out []resource
	for _, r := range d.resources {
		if r.component == "fc3" {
			out = append(out, r)
		}
	}
	return out
}

// ---- checks the schema does not make ----

var (
	envKeyRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	logArnRe    = regexp.MustCompile(`^acs:log:([a-z0-9-]+):([0-9]+|` + regexp.QuoteMeta(accountIDRef) + `):project/([a-z0-9][a-z0-9_-]{1,61}[a-z0-9])$`)
	accountIDRe = regexp.MustCompile(`\b[0-9]{16}\b`)
	cronParser  = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	httpMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
)

// envLimit is FC's limit on a function's environment variables (keys and
// values together).
const envLimit = 4096

// checkRendered returns every problem of the rendered s.yaml that the fc3
// schema does not catch. root is the repo (functions/<resource> must exist).
func checkRendered(data []byte, root string) []string {
	doc, err := parseRendered(data)
	if err != nil {
		return []string{err.Error()}
	}
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	fns := doc.fc3()
	if len(fns) == 0 {
		add("no fc3 resource in s.yaml")
	}
	names := map[string]string{}
	for _, r := range fns {
		if r.propsErr != nil {
			add("%s: props: %v", r.name, r.propsErr)
			continue
		}
		p := r.props
		at := func(format string, args ...any) { add(r.name+": "+format, args...) }
		if p.FunctionName == "" {
			at("functionName is empty")
		} else if other, dup := names[p.FunctionName]; dup {
			at("functionName %q is also %s's", p.FunctionName, other)
		}
		names[p.FunctionName] = r.name
		if p.Runtime != "go1" {
			at("runtime %q, want go1", p.Runtime)
		}
		if p.Handler != "main" {
			at("handler %q, want main (the binary `make build` writes)", p.Handler)
		}
		var code string
		if err := json.Unmarshal(p.Code, &code); err != nil {
			at("code must be the directory ./dist/%s, got %s", r.name, p.Code)
		} else if path.Clean(code) != "dist/"+r.name || path.IsAbs(code) {
			at("code %q, want ./dist/%s (where `make build` puts functions/%s)", code, r.name, r.name)
		}
		if st, err := os.Stat(filepath.Join(root, "functions", r.name)); err != nil || !st.IsDir() {
			at("functions/%s does not exist: `make build` builds dist/<fn> from functions/<fn>", r.name)
		}
		checkRole(at, p)
		checkEnv(at, p.Env)
		checkUnrendered(at, r.raw)
		checkTriggers(at, p)
	}
	return probs
}

func checkRole(at func(string, ...any), p props) {
	name := p.Role
	if i := strings.LastIndex(name, ":role/"); i >= 0 {
		name = name[i+len(":role/"):]
	}
	switch {
	case name == "":
		at("role is empty: the functions need their RAM role (deploy/ram, scripts/create-ram-role.sh)")
	case name != strings.ToLower(name):
		// fc3 lowercases role names; ActionTrail names the role as RAM knows it.
		at("role %q has upper-case letters: fc3 lowercases role names, so the guard would not recognise its own changes", p.Role)
	}
	if v, ok := p.Env["PORTHYGIENE_ROLE_NAME"]; ok && v != name {
		at("PORTHYGIENE_ROLE_NAME=%v but the role is %q: the guard ignores its own changes by that name", v, name)
	}
}

func checkEnv(at func(string, ...any), env map[string]any) {
	size := 0
	for k, v := range env {
		s, ok := v.(string)
		if !ok {
			at("environment variable %s is %T, want a string", k, v)
		}
		if !envKeyRe.MatchString(k) {
			at("environment variable name %q: letters, digits and _ only", k)
		}
		if strings.HasPrefix(k, "FC_") {
			at("environment variable %s: the FC_ prefix is reserved", k)
		}
		size += len(k) + len(s)
	}
	if size > envLimit {
		at("environment variables take %d bytes, over FC's %d: put large values in a file of the code package", size, envLimit)
	}
}

// checkUnrendered finds ${...} that `s preview` left (a typo in vars or env),
// other than the account id, and anything that looks like a hard-coded
// account id.
func checkUnrendered(at func(string, ...any), raw json.RawMessage) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return
	}
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(where+"/"+k, e)
			}
		case []any:
			for i, e := range x {
				walk(where+"/"+strconv.Itoa(i), e)
			}
		case string:
			if strings.Contains(strings.ReplaceAll(x, accountIDRef, ""), "${") {
				at("props%s = %q still holds an unrendered reference", where, x)
			}
			if accountIDRe.MatchString(x) {
				at("props%s = %q looks like a hard-coded account id: use %s", where, x, accountIDRef)
			}
		}
	}
	walk("", v)
}

func checkTriggers(at func(string, ...any), p props) {
	seen := map[string]bool{}
	for i, tr := range p.Triggers {
		name := tr.TriggerName
		if name == "" {
			name = fmt.Sprintf("#%d", i)
			at("trigger %s has no triggerName", name)
		}
		if seen[name] {
			at("trigger name %q is used twice", name)
		}
		seen[name] = true
		tat := func(format string, args ...any) { at("trigger "+name+" ("+tr.TriggerType+"): "+format, args...) }
		if len(tr.TriggerConfig) == 0 || string(tr.TriggerConfig) == "null" {
			tat("triggerConfig is missing")
			continue
		}
		switch tr.TriggerType {
		case "timer":
			checkTimer(tat, tr)
		case "eventbridge":
			checkEventBridge(tat, tr)
		case "log":
			checkLogTrigger(tat, tr, p.Region)
		case "http":
			checkHTTP(tat, tr)
		default:
			tat("trigger type not checked by internal/deploytest: add its checks there")
		}
	}
}

func checkTimer(at func(string, ...any), tr trigger) {
	var c timerConfig
	if err := json.Unmarshal(tr.TriggerConfig, &c); err != nil {
		at("triggerConfig: %v", err)
		return
	}
	if c.Enable == nil {
		at("enable is missing")
	}
	expr := strings.TrimSpace(c.CronExpression)
	spec := expr
	if strings.HasPrefix(spec, "CRON_TZ=") {
		_, spec, _ = strings.Cut(spec, " ")
	}
	switch {
	case expr == "":
		at("cronExpression is empty")
	case strings.HasPrefix(spec, "@every "):
		if _, err := cronParser.Parse(expr); err != nil {
			at("cronExpression %q: %v", expr, err)
		}
	case len(strings.Fields(spec)) != 6:
		at("cronExpression %q has %d fields: FC timers take 6, seconds first (\"0 0 * * * *\" is hourly), in UTC", expr, len(strings.Fields(spec)))
	default:
		if _, err := cronParser.Parse(expr); err != nil {
			at("cronExpression %q: %v", expr, err)
		}
	}
	if c.Payload != "" && !json.Valid([]byte(c.Payload)) {
		at("payload %q is not JSON (the functions decode it)", c.Payload)
	}
}

func checkEventBridge(at func(string, ...any), tr trigger) {
	var c eventBridgeConfig
	if err := json.Unmarshal(tr.TriggerConfig, &c); err != nil {
		at("triggerConfig: %v", err)
		return
	}
	if c.TriggerEnable == nil {
		at("triggerEnable is missing")
	}
	if c.EventSourceConfig.EventSourceType == "" {
		at("eventSourceConfig.eventSourceType is missing (Default for ActionTrail events)")
	}
	var pat map[string]any
	switch {
	case c.EventRuleFilterPattern == "":
		at("eventRuleFilterPattern is empty: the function would get every event of the bus")
	case json.Unmarshal([]byte(c.EventRuleFilterPattern), &pat) != nil:
		at("eventRuleFilterPattern is not a JSON object: %q", c.EventRuleFilterPattern)
	case pat["source"] == nil:
		at("eventRuleFilterPattern has no \"source\": %q", c.EventRuleFilterPattern)
	}
}

// intField reads a number that fc3 types as a string ("3") but also takes as a number.
// apiInt reads a field the FC 3.0 API types as an integer: a JSON number
// only. fc3 sends triggerConfig to the API unchanged (its schema says string
// for jobConfig, and does not check trigger configs anyway), and the API
// refuses "5".
func apiInt(raw json.RawMessage) (int, bool) {
	var n int
	return n, len(raw) > 0 && json.Unmarshal(raw, &n) == nil
}

func checkLogTrigger(at func(string, ...any), tr trigger, region string) {
	var project string
	if m := logArnRe.FindStringSubmatch(tr.SourceArn); m == nil {
		at("sourceArn %q, want acs:log:<region>:%s:project/<project>", tr.SourceArn, accountIDRef)
	} else {
		project = m[3]
		if m[1] != region {
			at("sourceArn region %s differs from the function's region %s", m[1], region)
		}
	}
	var c logTriggerConfig
	if err := json.Unmarshal(tr.TriggerConfig, &c); err != nil {
		at("triggerConfig: %v", err)
		return
	}
	if c.Enable == nil {
		at("enable is missing")
	}
	if c.SourceConfig.Logstore == "" {
		at("sourceConfig.logstore is missing")
	}
	if n, ok := apiInt(c.JobConfig.TriggerInterval); !ok || n < 3 || n > 600 {
		at("jobConfig.triggerInterval %s: want an integer (not a string: the FC 3.0 API types it integer), 3..600 seconds", c.JobConfig.TriggerInterval)
	}
	if n, ok := apiInt(c.JobConfig.MaxRetryTime); !ok || n < 0 || n > 100 {
		at("jobConfig.maxRetryTime %s: want an integer (not a string: the FC 3.0 API types it integer), 0..100", c.JobConfig.MaxRetryTime)
	}
	switch {
	case c.LogConfig.Project == "" || c.LogConfig.Logstore == "":
		at("logConfig.project and logConfig.logstore are required (where the trigger logs its runs)")
	case c.LogConfig.Project == project && c.LogConfig.Logstore == c.SourceConfig.Logstore:
		at("logConfig names the source logstore: the trigger's own logs must go elsewhere")
	}
	if len(c.FunctionParameter) > 0 {
		var m map[string]any
		if json.Unmarshal(c.FunctionParameter, &m) != nil {
			at("functionParameter must be an object")
		}
	}
}

func checkHTTP(at func(string, ...any), tr trigger) {
	var c httpConfig
	if err := json.Unmarshal(tr.TriggerConfig, &c); err != nil {
		at("triggerConfig: %v", err)
		return
	}
	if len(c.Methods) == 0 {
		at("methods is empty")
	}
	seen := map[string]bool{}
	for _, m := range c.Methods {
		if !slices.Contains(httpMethods, m) {
			at("method %q: want one of %v", m, httpMethods)
		}
		if seen[m] {
			at("method %s listed twice", m)
		}
		seen[m] = true
	}
	if c.AuthType != "" && !slices.Contains([]string{"anonymous", "function", "jwt"}, c.AuthType) {
		at("authType %q: want anonymous, function or jwt", c.AuthType)
	}
}

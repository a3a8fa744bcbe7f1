package sconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/porthygiene/porthygiene/localcloud/eventbus"
	"github.com/porthygiene/porthygiene/localcloud/timers"
)

// parser renders and decodes one s.yaml.
type parser struct {
	file      string
	dir       string // absolute
	accountID string
	getenv    func(string) string
	root      *yaml.Node // the top-level mapping
	state     map[*yaml.Node]int
}

// yamlLine extracts the line from go.yaml.in/yaml/v3's "yaml: line N: msg" errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// ref is a field of the document: its node (aliases followed; nil when the
// field is absent), its path for errors, and the line to report.
type ref struct {
	n    *yaml.Node
	path string
	line int
}

func (p *parser) errAt(line int, field string, err error) error {
	return &Error{File: p.file, Line: line, Field: field, Err: err}
}

func (p *parser) errf(r ref, format string, args ...any) error {
	return p.errAt(r.line, r.path, fmt.Errorf(format, args...))
}

func (r ref) missing() bool {
	return r.n == nil || (r.n.Kind == yaml.ScalarNode && r.n.ShortTag() == "!!null")
}

func (r ref) child(key string) ref {
	k, v := mapGetKV(r.n, key)
	c := ref{n: deref(v), path: key, line: r.line}
	if r.path != "" {
		c.path = r.path + "." + key
	}
	if k != nil {
		c.line = k.Line
	}
	return c
}

func (p *parser) parse(data []byte) (*Project, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		return nil, p.errAt(line, "", fmt.Errorf("invalid YAML: %s", msg))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, p.errAt(0, "", errors.New("empty file"))
	}
	p.root = deref(doc.Content[0])
	if p.root.Kind != yaml.MappingNode {
		return nil, p.errAt(p.root.Line, "", errors.New("top level must be a mapping"))
	}
	p.state = map[*yaml.Node]int{}
	top := ref{n: p.root, line: 1}

	if s := top.child("services"); s.n != nil {
		return nil, p.errf(s, "Serverless Devs 2.x layout is not supported: fc3 (edition 3.0.0) uses resources")
	}
	if ed := top.child("edition"); !ed.missing() {
		v, err := p.str(ed)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(v, "3.") {
			return nil, p.errf(ed, "edition %q is not supported; want 3.0.0", v)
		}
	}

	proj := &Project{Vars: map[string]any{}}
	name := top.child("name")
	if !name.missing() {
		if err := p.resolve(name.n); err != nil {
			return nil, err
		}
		s, err := p.str(name)
		if err != nil {
			return nil, err
		}
		proj.Name = s
	}
	if vars := top.child("vars"); !vars.missing() {
		if vars.n.Kind != yaml.MappingNode {
			return nil, p.errf(vars, "must be a mapping")
		}
		if err := p.resolve(vars.n); err != nil {
			return nil, err
		}
		if err := vars.n.Decode(&proj.Vars); err != nil {
			return nil, p.errf(vars, "%v", err)
		}
	}

	res := top.child("resources")
	if res.missing() || res.n.Kind != yaml.MappingNode {
		return nil, p.errf(res, "is required and must be a mapping")
	}
	type key struct{ region, name string }
	seen := map[key]string{}
	for _, kv := range mapPairs(res.n) {
		r := ref{n: deref(kv.v), path: "resources." + kv.k.Value, line: kv.k.Line}
		if r.missing() || r.n.Kind != yaml.MappingNode {
			return nil, p.errf(r, "must be a mapping")
		}
		comp := r.child("component")
		if err := p.resolveRef(comp); err != nil {
			return nil, err
		}
		c, err := p.reqStr(comp)
		if err != nil {
			return nil, err
		}
		if !isFC3(c) {
			continue
		}
		for _, part := range []string{"props", "actions"} {
			if err := p.resolveRef(r.child(part)); err != nil {
				return nil, err
			}
		}
		fn, err := p.function(kv.k.Value, r)
		if err != nil {
			return nil, err
		}
		k := key{fn.Region, fn.Name}
		if other, dup := seen[k]; dup {
			return nil, p.errf(r.child("props").child("functionName"), "function %q in %s is also defined by resources.%s", fn.Name, fn.Region, other)
		}
		seen[k] = kv.k.Value
		proj.Functions = append(proj.Functions, fn)
	}
	return proj, nil
}

func (p *parser) resolveRef(r ref) error {
	if r.n == nil {
		return nil
	}
	return p.resolve(r.n)
}

// isFC3 reports whether a component names fc3 ("fc3", "fc3@0.1.2", "devsapp/fc3").
func isFC3(c string) bool {
	name, _, _ := strings.Cut(c, "@")
	return name == "fc3" || strings.HasSuffix(name, "/fc3")
}

var unsupportedRuntimes = []string{"custom-container", "micro-sandbox"}

func (p *parser) function(resName string, res ref) (Function, error) {
	f := Function{Resource: resName}
	props := res.child("props")
	if props.missing() || props.n.Kind != yaml.MappingNode {
		return f, p.errf(props, "is required and must be a mapping")
	}
	var err error
	if f.Name, err = p.reqStr(props.child("functionName")); err != nil {
		return f, err
	}
	if f.Region, err = p.reqStr(props.child("region")); err != nil {
		return f, err
	}
	rt := props.child("runtime")
	if f.Runtime, err = p.reqStr(rt); err != nil {
		return f, err
	}
	if slices.Contains(unsupportedRuntimes, f.Runtime) {
		return f, p.errf(rt, "runtime %q is not supported by localcloud, which runs code packages", f.Runtime)
	}

	code := props.child("code")
	if !code.missing() && code.n.Kind == yaml.MappingNode {
		code = code.child("src")
	}
	src, err := p.reqStr(code)
	if err != nil {
		return f, err
	}
	f.CodeDir = p.abs(src)

	h := props.child("handler")
	if strings.HasPrefix(f.Runtime, "custom") {
		f.Handler, err = p.optStr(h)
	} else {
		f.Handler, err = p.reqStr(h)
	}
	if err != nil {
		return f, err
	}

	role := props.child("role")
	r, err := p.optStr(role)
	if err != nil {
		return f, err
	}
	if f.Role, f.RoleName, err = p.expandRole(r); err != nil {
		return f, p.errf(role, "%v", err)
	}

	secs, err := p.intIn(props.child("timeout"), 3, 1, 86400)
	if err != nil {
		return f, err
	}
	f.Timeout = time.Duration(secs) * time.Second
	mem := props.child("memorySize")
	if f.MemoryMB, err = p.intIn(mem, 512, 128, 32768); err != nil {
		return f, err
	}
	if f.MemoryMB%64 != 0 {
		return f, p.errf(mem, "%d is not a multiple of 64", f.MemoryMB)
	}

	if f.Env, err = p.env(props.child("environmentVariables")); err != nil {
		return f, err
	}

	if async := props.child("asyncInvokeConfig"); !async.missing() {
		if err := p.isMapping(async); err != nil {
			return f, err
		}
		if a := async.child("maxAsyncRetryAttempts"); !a.missing() {
			n, err := p.intIn(a, 0, 0, 8)
			if err != nil {
				return f, err
			}
			f.AsyncRetryAttempts = &n
		}
		if a := async.child("maxAsyncEventAgeInSeconds"); !a.missing() {
			n, err := p.intIn(a, 0, 1, 2592000)
			if err != nil {
				return f, err
			}
			f.AsyncMaxEventAge = time.Duration(n) * time.Second
		}
	}

	if init := props.child("instanceLifecycleConfig").child("initializer"); !init.missing() {
		if err := p.isMapping(init); err != nil {
			return f, err
		}
		handler, err := p.optStr(init.child("handler"))
		if err != nil {
			return f, err
		}
		cmd := init.child("command")
		f.HasInitializer = handler != "" || (!cmd.missing() && cmd.n.Kind == yaml.SequenceNode && len(cmd.n.Content) > 0)
		t, err := p.intIn(init.child("timeout"), 0, 1, 86400)
		if err != nil {
			return f, err
		}
		f.InitializerTimeout = time.Duration(t) * time.Second
	}

	if f.PreDeploy, err = p.preDeploy(res.child("actions").child("pre-deploy")); err != nil {
		return f, err
	}

	trs := props.child("triggers")
	if trs.missing() {
		return f, nil
	}
	if trs.n.Kind != yaml.SequenceNode {
		return f, p.errf(trs, "must be a list")
	}
	names := map[string]bool{}
	for i, item := range trs.n.Content {
		t := ref{n: deref(item), path: fmt.Sprintf("%s[%d]", trs.path, i), line: item.Line}
		tr, err := p.trigger(t, trs.path)
		if err != nil {
			return f, err
		}
		if names[tr.Name] {
			return f, p.errf(t.child("triggerName"), "duplicate trigger name %q", tr.Name)
		}
		names[tr.Name] = true
		f.Triggers = append(f.Triggers, tr)
	}
	return f, nil
}

// expandRole turns a bare role name into the ARN fc3 deploys
// (acs:ram::<account>:role/<lowercased name>) and returns the ARN and role name.
func (p *parser) expandRole(role string) (arn, name string, err error) {
	if role == "" {
		return "", "", nil
	}
	if strings.HasPrefix(role, "acs:ram:") {
		_, name, ok := strings.Cut(role, ":role/")
		if !ok || name == "" {
			return "", "", fmt.Errorf("role ARN %q has no role name (want acs:ram::<account>:role/<name>)", role)
		}
		return role, name, nil
	}
	if strings.ContainsAny(role, ":/") {
		return "", "", fmt.Errorf("role %q is neither a role name nor an acs:ram ARN", role)
	}
	name = strings.ToLower(role)
	return "acs:ram::" + p.accountID + ":role/" + name, name, nil
}

func (p *parser) env(r ref) (map[string]string, error) {
	env := map[string]string{}
	if r.missing() {
		return env, nil
	}
	if err := p.isMapping(r); err != nil {
		return nil, err
	}
	for _, kv := range mapPairs(r.n) {
		v := deref(kv.v)
		c := ref{n: v, path: r.path + "." + kv.k.Value, line: kv.k.Line}
		if v.Kind != yaml.ScalarNode {
			return nil, p.errf(c, "must be a string")
		}
		if v.ShortTag() == "!!null" {
			env[kv.k.Value] = ""
			continue
		}
		env[kv.k.Value] = v.Value
	}
	return env, nil
}

func (p *parser) preDeploy(r ref) ([]Action, error) {
	if r.missing() {
		return nil, nil
	}
	if r.n.Kind != yaml.SequenceNode {
		return nil, p.errf(r, "must be a list")
	}
	var out []Action
	for i, item := range r.n.Content {
		a := ref{n: deref(item), path: fmt.Sprintf("%s[%d]", r.path, i), line: item.Line}
		if err := p.isMapping(a); err != nil {
			return nil, err
		}
		run, err := p.optStr(a.child("run"))
		if err != nil {
			return nil, err
		}
		if run == "" {
			if !a.child("component").missing() || !a.child("plugin").missing() {
				continue // component and plugin actions do not build code
			}
			return nil, p.errf(a, "needs run, component or plugin")
		}
		dir, err := p.optStr(a.child("path"))
		if err != nil {
			return nil, err
		}
		out = append(out, Action{Run: run, Path: p.abs(dir)})
	}
	return out, nil
}

func (p *parser) abs(path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(p.dir, path)
}

var httpMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

func (p *parser) trigger(t ref, listPath string) (Trigger, error) {
	var tr Trigger
	if err := p.isMapping(t); err != nil {
		return tr, err
	}
	var err error
	if tr.Name, err = p.reqStr(t.child("triggerName")); err != nil {
		return tr, err
	}
	t.path = listPath + "[" + tr.Name + "]"
	typ := t.child("triggerType")
	if tr.Type, err = p.reqStr(typ); err != nil {
		return tr, err
	}
	cfg := t.child("triggerConfig")
	if cfg.missing() || cfg.n.Kind != yaml.MappingNode {
		return tr, p.errf(cfg, "is required and must be a mapping")
	}
	switch tr.Type {
	case TriggerTimer:
		tc := &TimerConfig{}
		cron := cfg.child("cronExpression")
		if tc.CronExpression, err = p.reqStr(cron); err != nil {
			return tr, err
		}
		if _, err := timers.Parse(tc.CronExpression); err != nil {
			return tr, p.errf(cron, "%v", err)
		}
		if tc.Payload, err = p.optStr(cfg.child("payload")); err != nil {
			return tr, err
		}
		if tc.Enable, err = p.reqBool(cfg.child("enable")); err != nil {
			return tr, err
		}
		tr.Timer = tc
	case TriggerEventBridge:
		ec := &EventBridgeConfig{}
		if ec.Pattern, err = p.pattern(cfg.child("eventRuleFilterPattern")); err != nil {
			return tr, err
		}
		if ec.Enable, err = p.optBool(cfg.child("triggerEnable"), true); err != nil {
			return tr, err
		}
		if ec.Async, err = p.optBool(cfg.child("asyncInvocationType"), false); err != nil {
			return tr, err
		}
		if ec.SourceType, err = p.optStr(cfg.child("eventSourceConfig").child("eventSourceType")); err != nil {
			return tr, err
		}
		if ec.SourceType == "" {
			ec.SourceType = "Default"
		}
		tr.EventBridge = ec
	case TriggerLog:
		lc, err := p.logTrigger(t, cfg)
		if err != nil {
			return tr, err
		}
		tr.Log = lc
	case TriggerHTTP:
		hc := &HTTPConfig{}
		m := cfg.child("methods")
		if m.missing() || m.n.Kind != yaml.SequenceNode || len(m.n.Content) == 0 {
			return tr, p.errf(m, "is required and must be a non-empty list")
		}
		for i, item := range m.n.Content {
			s, err := p.str(ref{n: deref(item), path: fmt.Sprintf("%s[%d]", m.path, i), line: item.Line})
			if err != nil {
				return tr, err
			}
			if !slices.Contains(httpMethods, s) {
				return tr, p.errf(m, "unknown method %q (want one of %s)", s, strings.Join(httpMethods, ", "))
			}
			hc.Methods = append(hc.Methods, s)
		}
		at := cfg.child("authType")
		if hc.AuthType, err = p.reqStr(at); err != nil {
			return tr, err
		}
		if !slices.Contains([]string{"anonymous", "function", "jwt"}, hc.AuthType) {
			return tr, p.errf(at, "unknown authType %q (want anonymous, function or jwt)", hc.AuthType)
		}
		tr.HTTP = hc
	case "oss", "mns_topic", "cdn_events", "tablestore":
		return tr, p.errf(typ, "trigger type %q is not supported by localcloud (timer, eventbridge, log, http)", tr.Type)
	default:
		return tr, p.errf(typ, "unknown trigger type %q (want timer, eventbridge, log or http)", tr.Type)
	}
	return tr, nil
}

// pattern reads eventRuleFilterPattern: a JSON string (fc3's form) or, for
// convenience, a YAML mapping. It must compile as an EventBridge pattern.
func (p *parser) pattern(r ref) (json.RawMessage, error) {
	if r.missing() {
		return nil, p.errf(r, "is required")
	}
	var raw []byte
	if r.n.Kind == yaml.MappingNode {
		var v any
		if err := r.n.Decode(&v); err != nil {
			return nil, p.errf(r, "%v", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, p.errf(r, "%v", err)
		}
		raw = b
	} else {
		s, err := p.str(r)
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, p.errf(r, "invalid JSON: %v", err)
		}
		raw = []byte(s)
	}
	c, err := eventbus.CompilePattern(raw)
	if err != nil {
		return nil, p.errf(r, "%v", err)
	}
	return json.RawMessage(c.String()), nil
}

func (p *parser) logTrigger(t, cfg ref) (*LogConfig, error) {
	lc := &LogConfig{}
	arn := t.child("sourceArn")
	var err error
	if lc.SourceArn, err = p.reqStr(arn); err != nil {
		return nil, err
	}
	parts := strings.Split(lc.SourceArn, ":")
	if len(parts) != 5 || parts[0] != "acs" || parts[1] != "log" || !strings.HasPrefix(parts[4], "project/") || parts[4] == "project/" {
		return nil, p.errf(arn, "%q is not an SLS project ARN (acs:log:<region>:<account>:project/<project>)", lc.SourceArn)
	}
	lc.Project = strings.TrimPrefix(parts[4], "project/")
	if lc.Logstore, err = p.reqStr(cfg.child("sourceConfig").child("logstore")); err != nil {
		return nil, err
	}
	job := cfg.child("jobConfig")
	secs, err := p.apiIntIn(job.child("triggerInterval"), "jobConfig.triggerInterval", 60, 3, 600)
	if err != nil {
		return nil, err
	}
	lc.Interval = time.Duration(secs) * time.Second
	if lc.MaxRetry, err = p.apiIntIn(job.child("maxRetryTime"), "jobConfig.maxRetryTime", 3, 0, 100); err != nil {
		return nil, err
	}
	logCfg := cfg.child("logConfig")
	if lc.LogProject, err = p.optStr(logCfg.child("project")); err != nil {
		return nil, err
	}
	if lc.LogLogstore, err = p.optStr(logCfg.child("logstore")); err != nil {
		return nil, err
	}
	if fp := cfg.child("functionParameter"); !fp.missing() {
		if err := p.isMapping(fp); err != nil {
			return nil, err
		}
		if err := fp.n.Decode(&lc.FunctionParameter); err != nil {
			return nil, p.errf(fp, "%v", err)
		}
	}
	if lc.Enable, err = p.reqBool(cfg.child("enable")); err != nil {
		return nil, err
	}
	return lc, nil
}

// Scalar accessors. Each error names the field and its line.

func (p *parser) isMapping(r ref) error {
	if r.n == nil || r.n.Kind != yaml.MappingNode {
		return p.errf(r, "must be a mapping")
	}
	return nil
}

// str returns a present scalar's text.
func (p *parser) str(r ref) (string, error) {
	if r.n == nil {
		return "", p.errf(r, "is required")
	}
	if r.n.Kind != yaml.ScalarNode {
		return "", p.errf(r, "must be a string")
	}
	if r.n.ShortTag() == "!!null" {
		return "", nil
	}
	return r.n.Value, nil
}

func (p *parser) reqStr(r ref) (string, error) {
	if r.missing() {
		return "", p.errf(r, "is required")
	}
	s, err := p.str(r)
	if err == nil && strings.TrimSpace(s) == "" {
		err = p.errf(r, "must not be empty")
	}
	return s, err
}

func (p *parser) optStr(r ref) (string, error) {
	if r.missing() {
		return "", nil
	}
	return p.str(r)
}

// intIn reads an integer (3 or "3") in [lo, hi]; def when absent.
func (p *parser) intIn(r ref, def, lo, hi int) (int, error) {
	if r.missing() {
		return def, nil
	}
	if r.n.Kind != yaml.ScalarNode {
		return 0, p.errf(r, "must be an integer")
	}
	s := strings.TrimSpace(r.n.Value)
	n, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1e15 {
			return 0, p.errf(r, "%q is not an integer", r.n.Value)
		}
		n = int(f)
	}
	if n < lo || n > hi {
		return 0, p.errf(r, "%d is out of range %d–%d", n, lo, hi)
	}
	return n, nil
}

// apiIntIn reads a field that fc3 passes to the FC 3.0 API unchanged and the
// API types as an integer: a YAML number in [lo, hi], def when absent. A
// string, even "3", is refused as the API would refuse it (ErrNotInteger).
func (p *parser) apiIntIn(r ref, name string, def, lo, hi int) (int, error) {
	if !r.missing() && r.n.Kind == yaml.ScalarNode && r.n.ShortTag() == "!!str" {
		return 0, p.errAt(r.line, r.path, fmt.Errorf("%w, not the string %q: the FC 3.0 API types %s as an integer (write it unquoted)", ErrNotInteger, r.n.Value, name))
	}
	return p.intIn(r, def, lo, hi)
}

// optBool reads a boolean (true or "true"); def when absent.
func (p *parser) optBool(r ref, def bool) (bool, error) {
	if r.missing() {
		return def, nil
	}
	if r.n.Kind == yaml.ScalarNode {
		switch strings.ToLower(strings.TrimSpace(r.n.Value)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, p.errf(r, "must be true or false")
}

func (p *parser) reqBool(r ref) (bool, error) {
	if r.missing() {
		return false, p.errf(r, "is required (true or false)")
	}
	return p.optBool(r, false)
}

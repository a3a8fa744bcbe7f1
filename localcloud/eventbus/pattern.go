package eventbus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"sort"
	"strings"
)

// Pattern is a compiled EventBridge event pattern. It is immutable and safe
// for concurrent use.
type Pattern struct {
	src  json.RawMessage
	root *object
}

type object struct{ fields []field }

// field is one key of a pattern object: either a nested object or alternatives.
type field struct {
	key    string
	nested *object
	alts   []matcher
}

// matcher tests one present, non-array event value.
type matcher interface{ match(v any) bool }

// CompilePattern parses and checks an EventBridge event pattern. Errors name
// the offending path (e.g. data.eventName[2]) and operator.
func CompilePattern(p json.RawMessage) (*Pattern, error) {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("compile event pattern: invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("compile event pattern: invalid JSON: trailing data")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("compile event pattern: must be a JSON object")
	}
	root, err := compileObject(m, "")
	if err != nil {
		return nil, fmt.Errorf("compile event pattern: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, p); err != nil {
		return nil, fmt.Errorf("compile event pattern: %w", err)
	}
	return &Pattern{src: buf.Bytes(), root: root}, nil
}

// MustCompilePattern is CompilePattern for patterns known to be valid.
func MustCompilePattern(p string) *Pattern {
	c, err := CompilePattern(json.RawMessage(p))
	if err != nil {
		panic(err)
	}
	return c
}

// String returns the pattern's JSON, compacted.
func (p *Pattern) String() string { return string(p.src) }

// Match reports whether the event matches. Numbers may be json.Number (as
// decoded with UseNumber, which keeps EventBridge's compare-by-text rule) or
// any Go numeric type.
func (p *Pattern) Match(event map[string]any) bool { return p.root.match(event) }

// MatchJSON decodes a JSON event object and matches it.
func (p *Pattern) MatchJSON(event []byte) (bool, error) {
	m, err := decodeEvent(event)
	if err != nil {
		return false, err
	}
	return p.Match(m), nil
}

func decodeEvent(event []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	return m, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func compileObject(m map[string]any, path string) (*object, error) {
	if len(m) == 0 {
		if path == "" {
			return nil, errors.New("pattern is empty")
		}
		return nil, fmt.Errorf("%s: empty object matches nothing useful", path)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := &object{}
	for _, k := range keys {
		p := join(path, k)
		switch v := m[k].(type) {
		case map[string]any:
			n, err := compileObject(v, p)
			if err != nil {
				return nil, err
			}
			o.fields = append(o.fields, field{key: k, nested: n})
		case []any:
			if len(v) == 0 {
				return nil, fmt.Errorf("%s: empty array matches nothing", p)
			}
			f := field{key: k}
			for i, a := range v {
				mt, err := compileAlt(a, fmt.Sprintf("%s[%d]", p, i))
				if err != nil {
					return nil, err
				}
				f.alts = append(f.alts, mt)
			}
			o.fields = append(o.fields, f)
		default:
			return nil, fmt.Errorf("%s: value must be an array of alternatives or an object, got %s", p, jsonKind(v))
		}
	}
	return o, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func compileAlt(a any, path string) (matcher, error) {
	switch v := a.(type) {
	case nil, string, json.Number, bool:
		return exact{v}, nil
	case map[string]any:
		if len(v) != 1 {
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("%s: an operator object needs exactly one operator, got %q", path, keys)
		}
		for op, arg := range v {
			return compileOp(op, arg, path)
		}
	}
	return nil, fmt.Errorf("%s: alternative must be a value or an operator object, got %s", path, jsonKind(a))
}

func compileOp(op string, arg any, path string) (matcher, error) {
	str := func() (string, error) {
		s, ok := arg.(string)
		if !ok {
			return "", fmt.Errorf("%s: operator %q needs a string, got %s", path, op, jsonKind(arg))
		}
		return s, nil
	}
	switch op {
	case "prefix":
		s, err := str()
		return stringOp{s, strings.HasPrefix}, err
	case "suffix":
		s, err := str()
		return stringOp{s, strings.HasSuffix}, err
	case "contains":
		s, err := str()
		return stringOp{s, strings.Contains}, err
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return nil, fmt.Errorf("%s: operator \"exists\" needs true or false, got %s", path, jsonKind(arg))
		}
		return exists(b), nil
	case "cidr":
		s, err := str()
		if err != nil {
			return nil, err
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil || !pfx.Addr().Is4() {
			return nil, fmt.Errorf("%s: operator \"cidr\" needs an IPv4 CIDR block, got %q", path, s)
		}
		return cidr{pfx.Masked()}, nil
	case "numeric":
		return compileNumeric(arg, path)
	case "anything-but":
		return compileAnythingBut(arg, path)
	}
	return nil, fmt.Errorf("%s: unknown operator %q", path, op)
}

func compileAnythingBut(arg any, path string) (matcher, error) {
	switch v := arg.(type) {
	case string, json.Number:
		return anythingBut{[]exact{{v}}}, nil
	case []any:
		if len(v) == 0 {
			return nil, fmt.Errorf("%s: operator \"anything-but\" needs a non-empty list", path)
		}
		var set []exact
		for _, e := range v {
			switch e.(type) {
			case string, json.Number:
				set = append(set, exact{e})
			default:
				return nil, fmt.Errorf("%s: operator \"anything-but\" list holds strings or numbers, got %s", path, jsonKind(e))
			}
		}
		return anythingBut{set}, nil
	case map[string]any:
		if len(v) == 1 {
			if p, ok := v["prefix"]; ok {
				s, ok := p.(string)
				if !ok {
					return nil, fmt.Errorf("%s: operator \"anything-but.prefix\" needs a string, got %s", path, jsonKind(p))
				}
				return anythingButPrefix(s), nil
			}
		}
		for k := range v {
			if k != "prefix" {
				return nil, fmt.Errorf("%s: unknown operator \"anything-but.%s\"", path, k)
			}
		}
		return nil, fmt.Errorf("%s: operator \"anything-but\" object takes only \"prefix\"", path)
	}
	return nil, fmt.Errorf("%s: operator \"anything-but\" needs a string, number, list or {\"prefix\":…}, got %s", path, jsonKind(arg))
}

func compileNumeric(arg any, path string) (matcher, error) {
	list, ok := arg.([]any)
	if !ok || (len(list) != 2 && len(list) != 4) {
		return nil, fmt.Errorf("%s: operator \"numeric\" needs [op, n] or [op, n, op, n]", path)
	}
	var n numeric
	for i := 0; i < len(list); i += 2 {
		op, ok := list[i].(string)
		if !ok {
			return nil, fmt.Errorf("%s: operator \"numeric\": comparison %v is not a string", path, list[i])
		}
		switch op {
		case "<", "<=", ">", ">=", "=":
		default:
			return nil, fmt.Errorf("%s: operator \"numeric\": unknown comparison %q", path, op)
		}
		num, ok := list[i+1].(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s: operator \"numeric\": %q needs a number, got %s", path, op, jsonKind(list[i+1]))
		}
		f, err := num.Float64()
		if err != nil {
			return nil, fmt.Errorf("%s: operator \"numeric\": %w", path, err)
		}
		n = append(n, cmp{op, f})
	}
	return n, nil
}

// match applies every field (AND).
func (o *object) match(m map[string]any) bool {
	for _, f := range o.fields {
		if !f.match(m) {
			return false
		}
	}
	return true
}

func (f field) match(m map[string]any) bool {
	v, present := m[f.key]
	if f.nested != nil {
		switch vv := v.(type) {
		case nil:
			return f.nested.match(map[string]any{})
		case map[string]any:
			return f.nested.match(vv)
		case []any:
			for _, e := range vv {
				if em, ok := e.(map[string]any); ok && f.nested.match(em) {
					return true
				}
			}
		}
		return false
	}
	for _, a := range f.alts {
		if e, ok := a.(exists); ok {
			if bool(e) == present {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		if arr, ok := v.([]any); ok {
			for _, el := range arr {
				if a.match(el) {
					return true
				}
			}
			continue
		}
		if a.match(v) {
			return true
		}
	}
	return false
}

// exact matches a string, number (by JSON text), boolean or null.
type exact struct{ want any }

func (e exact) match(v any) bool {
	switch w := e.want.(type) {
	case nil:
		return v == nil
	case string:
		s, ok := v.(string)
		return ok && s == w
	case bool:
		b, ok := v.(bool)
		return ok && b == w
	case json.Number:
		if n, ok := v.(json.Number); ok {
			return n == w
		}
		f, ok := toFloat(v)
		wf, err := w.Float64()
		return ok && err == nil && f == wf
	}
	return false
}

type stringOp struct {
	arg string
	fn  func(s, arg string) bool
}

func (o stringOp) match(v any) bool {
	s, ok := v.(string)
	return ok && o.fn(s, o.arg)
}

type exists bool

func (exists) match(any) bool { return false } // handled in field.match

type anythingBut struct{ set []exact }

func (a anythingBut) match(v any) bool {
	if v == nil {
		return false
	}
	switch v.(type) {
	case map[string]any, bool:
		return false
	}
	for _, e := range a.set {
		if e.match(v) {
			return false
		}
	}
	return true
}

type anythingButPrefix string

func (p anythingButPrefix) match(v any) bool {
	s, ok := v.(string)
	return ok && !strings.HasPrefix(s, string(p))
}

type cidr struct{ pfx netip.Prefix }

func (c cidr) match(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4() && c.pfx.Contains(a)
}

type cmp struct {
	op string
	n  float64
}

type numeric []cmp

func (n numeric) match(v any) bool {
	f, ok := toFloat(v)
	if !ok {
		return false
	}
	for _, c := range n {
		var hold bool
		switch c.op {
		case "<":
			hold = f < c.n
		case "<=":
			hold = f <= c.n
		case ">":
			hold = f > c.n
		case ">=":
			hold = f >= c.n
		case "=":
			hold = f == c.n
		}
		if !hold {
			return false
		}
	}
	return true
}

// toFloat converts a JSON or Go number; strings are not numbers.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	}
	return 0, false
}

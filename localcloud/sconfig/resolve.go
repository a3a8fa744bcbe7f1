package sconfig

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resolution states of a node.
const (
	unresolved = iota
	resolving
	resolved
)

// resolve renders every ${…} under n, in place. References are resolved on
// demand, so order in the file does not matter; a node met again while it is
// being resolved is a cycle.
func (p *parser) resolve(n *yaml.Node) error {
	switch p.state[n] {
	case resolved:
		return nil
	case resolving:
		return p.errAt(n.Line, "", errors.New("cyclic reference"))
	}
	p.state[n] = resolving
	var err error
	switch n.Kind {
	case yaml.AliasNode:
		err = p.resolve(n.Alias)
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err = p.resolve(c); err != nil {
				break
			}
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if err = p.resolve(n.Content[i]); err != nil {
				break
			}
		}
	case yaml.ScalarNode:
		err = p.interpolate(n)
	}
	if err != nil {
		return err
	}
	p.state[n] = resolved
	return nil
}

// interpolate renders the ${…} expressions of a string scalar.
func (p *parser) interpolate(n *yaml.Node) error {
	if n.ShortTag() != "!!str" || !strings.Contains(n.Value, "${") {
		return nil
	}
	parts, err := splitTemplate(n.Value)
	if err != nil {
		return p.errAt(n.Line, "", err)
	}
	if len(parts) == 1 && parts[0].expr {
		v, err := p.eval(n, parts[0].text)
		if err != nil {
			return err
		}
		if v.node != nil {
			line, col := n.Line, n.Column
			*n = *v.node
			n.Line, n.Column, n.Anchor = line, col, ""
			return nil
		}
		setString(n, v.str)
		return nil
	}
	var b strings.Builder
	for _, part := range parts {
		if !part.expr {
			b.WriteString(part.text)
			continue
		}
		v, err := p.eval(n, part.text)
		if err != nil {
			return err
		}
		s := v.str
		if v.node != nil {
			if v.node.Kind != yaml.ScalarNode {
				return p.errAt(n.Line, "", fmt.Errorf("${%s} is not a scalar and cannot be part of a string", part.text))
			}
			if v.node.ShortTag() != "!!null" {
				s = v.node.Value
			}
		}
		b.WriteString(s)
	}
	setString(n, b.String())
	return nil
}

func setString(n *yaml.Node, s string) {
	n.Value, n.Tag, n.Style = s, "!!str", 0
}

// segment is literal text or the inside of one ${…}.
type segment struct {
	text string
	expr bool
}

// splitTemplate splits s into literal text and ${…} expressions. A '}' inside
// a quoted argument does not end the expression.
func splitTemplate(s string) ([]segment, error) {
	var out []segment
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			if s != "" {
				out = append(out, segment{text: s})
			}
			return out, nil
		}
		if i > 0 {
			out = append(out, segment{text: s[:i]})
		}
		end, quote := -1, byte(0)
		for j := i + 2; j < len(s) && end < 0; j++ {
			switch c := s[j]; {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '\'' || c == '"':
				quote = c
			case c == '}':
				end = j
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("unterminated %q", s[i:])
		}
		out = append(out, segment{text: strings.TrimSpace(s[i+2 : end]), expr: true})
		s = s[end+1:]
	}
}

// value is an expression's result: a node (vars, resources) or a string.
type value struct {
	node *yaml.Node
	str  string
}

// eval evaluates one expression found in scalar n.
func (p *parser) eval(n *yaml.Node, expr string) (value, error) {
	fail := func(format string, args ...any) (value, error) {
		return value{}, p.errAt(n.Line, "", fmt.Errorf(format, args...))
	}
	if open := strings.IndexByte(expr, '('); open > 0 && strings.HasSuffix(expr, ")") {
		name := strings.TrimSpace(expr[:open])
		args, err := splitArgs(expr[open+1 : len(expr)-1])
		if err != nil {
			return fail("${%s}: %v", expr, err)
		}
		switch name {
		case "env":
			if len(args) != 1 && len(args) != 2 {
				return fail("${%s}: env takes a name and an optional default", expr)
			}
			if v := p.getenv(args[0]); v != "" {
				return value{str: v}, nil
			}
			if len(args) == 2 {
				return value{str: args[1]}, nil
			}
			return fail("${%s}: environment variable %s is not set and has no default", expr, args[0])
		case "config":
			if len(args) != 1 {
				return fail("${%s}: config takes one key", expr)
			}
			if strings.EqualFold(args[0], "AccountID") {
				return value{str: p.accountID}, nil
			}
			return fail("${%s}: unknown config key %q (localcloud knows AccountID)", expr, args[0])
		case "path":
			if len(args) != 1 {
				return fail("${%s}: path takes one path", expr)
			}
			if filepath.IsAbs(args[0]) {
				return value{str: filepath.Clean(args[0])}, nil
			}
			return value{str: filepath.Join(p.dir, args[0])}, nil
		}
		return fail("unknown function in ${%s}", expr)
	}
	segs := strings.Split(expr, ".")
	for _, s := range segs {
		if s == "" {
			return fail("malformed reference ${%s}", expr)
		}
	}
	var what string
	switch segs[0] {
	case "vars":
		what = "variable"
	case "resources":
		what = "reference"
	default:
		return fail("unsupported expression ${%s}", expr)
	}
	cur := mapGet(p.root, segs[0])
	for _, seg := range segs[1:] {
		if cur == nil {
			break
		}
		cur = deref(cur)
		if cur.Kind == yaml.ScalarNode {
			if err := p.resolve(cur); err != nil {
				return value{}, err
			}
			cur = deref(cur)
		}
		switch cur.Kind {
		case yaml.MappingNode:
			cur = mapGet(cur, seg)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(cur.Content) {
				cur = nil
			} else {
				cur = cur.Content[i]
			}
		default:
			cur = nil
		}
	}
	if cur == nil || len(segs) == 1 {
		return fail("unknown %s ${%s}", what, expr)
	}
	cur = deref(cur)
	if p.state[cur] == resolving {
		return fail("cyclic reference ${%s}", expr)
	}
	if err := p.resolve(cur); err != nil {
		return value{}, err
	}
	return value{node: deref(cur)}, nil
}

// splitArgs splits function arguments on commas outside quotes and unquotes
// them: env('A', 'b') and env(A) both work.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	quote := byte(0)
	quoted := false
	flush := func() error {
		a := cur.String()
		if !quoted {
			a = strings.TrimSpace(a)
			if a == "" {
				return errors.New("empty argument")
			}
		}
		args = append(args, a)
		cur.Reset()
		quoted = false
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
				continue
			}
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			if strings.TrimSpace(cur.String()) != "" {
				return nil, errors.New("quote inside an argument")
			}
			cur.Reset()
			quote, quoted = c, true
		case c == ',':
			if err := flush(); err != nil {
				return nil, err
			}
		case quoted && c != ' ' && c != '\t':
			return nil, errors.New("text after a quoted argument")
		default:
			if !quoted {
				cur.WriteByte(c)
			}
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return args, nil
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapGet returns the value of key in mapping m (following aliases), looking in
// merged mappings (<<) when the key is not set directly.
func mapGet(m *yaml.Node, key string) *yaml.Node {
	_, v := mapGetKV(m, key)
	return v
}

// mapGetKV is mapGet that also returns the key node.
func mapGetKV(m *yaml.Node, key string) (k, v *yaml.Node) {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.ShortTag() == "!!merge" {
			merges = append(merges, m.Content[i+1])
			continue
		}
		if k.Value == key {
			return k, m.Content[i+1]
		}
	}
	for _, mv := range merges {
		mv = deref(mv)
		if mv.Kind == yaml.SequenceNode {
			for _, e := range mv.Content {
				if k, v := mapGetKV(e, key); v != nil {
					return k, v
				}
			}
			continue
		}
		if k, v := mapGetKV(mv, key); v != nil {
			return k, v
		}
	}
	return nil, nil
}

// pair is one key/value of a mapping.
type pair struct{ k, v *yaml.Node }

// mapPairs lists a mapping's entries with merge keys applied: explicit keys
// first in file order, then merged keys not set explicitly (earlier merges win).
func mapPairs(m *yaml.Node) []pair {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out []pair
	seen := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.ShortTag() == "!!merge" {
			mv := deref(m.Content[i+1])
			if mv.Kind == yaml.SequenceNode {
				merges = append(merges, mv.Content...)
			} else {
				merges = append(merges, mv)
			}
			continue
		}
		if !seen[k.Value] {
			seen[k.Value] = true
			out = append(out, pair{k, m.Content[i+1]})
		}
	}
	for _, mv := range merges {
		for _, kv := range mapPairs(mv) {
			if !seen[kv.k.Value] {
				seen[kv.k.Value] = true
				out = append(out, kv)
			}
		}
	}
	return out
}

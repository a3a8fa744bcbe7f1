package sls

import (
	"strconv"
	"strings"
)

// The search part of a query (before the first "|"): see QUERY.md.

type searchNode interface{ isSearch() }

type (
	searchAll struct{}
	searchAnd struct{ l, r searchNode }
	searchOr  struct{ l, r searchNode }
	searchNot struct{ x searchNode }
	// searchTerm is key:value (or a full-text value when key is "").
	searchTerm struct {
		key    string
		value  string
		prefix bool // value ended with an unquoted *
		exists bool // key:*
	}
	// searchCmp is key > n, key >= n, key < n, key <= n or key = n.
	searchCmp struct {
		key string
		op  string
		num float64
	}
)

func (searchAll) isSearch()  {}
func (searchAnd) isSearch()  {}
func (searchOr) isSearch()   {}
func (searchNot) isSearch()  {}
func (searchTerm) isSearch() {}
func (searchCmp) isSearch()  {}

type stokKind int

const (
	sEOF stokKind = iota
	sWord
	sQuoted
	sLParen
	sRParen
	sColon
	sOp
)

type stok struct {
	kind stokKind
	text string
	pos  int
}

func searchErr(pos int, format string, args ...any) *Error {
	e := errf(400, "ParameterInvalid", format, args...)
	e.Message = "search: " + e.Message + " (at offset " + strconv.Itoa(pos) + "; localcloud supports the subset in localcloud/sls/QUERY.md)"
	return e
}

func lexSearch(src string) ([]stok, error) {
	var out []stok
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, stok{sLParen, "(", i})
			i++
		case c == ')':
			out = append(out, stok{sRParen, ")", i})
			i++
		case c == ':':
			out = append(out, stok{sColon, ":", i})
			i++
		case c == '>' || c == '<' || c == '=':
			op := string(c)
			if c != '=' && i+1 < len(src) && src[i+1] == '=' {
				op += "="
			}
			out = append(out, stok{sOp, op, i})
			i += len(op)
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, searchErr(i, "unterminated quoted string")
			}
			out = append(out, stok{sQuoted, b.String(), i})
			i = j + 1
		default:
			j := i
			for j < len(src) && !strings.ContainsRune(" \t\r\n():\"<>=", rune(src[j])) {
				j++
			}
			out = append(out, stok{sWord, src[i:j], i})
			i = j
		}
	}
	return append(out, stok{sEOF, "", len(src)}), nil
}

type searchParser struct {
	toks []stok
	i    int
}

func parseSearch(src string) (searchNode, error) {
	if strings.TrimSpace(src) == "" {
		return searchAll{}, nil
	}
	toks, err := lexSearch(src)
	if err != nil {
		return nil, err
	}
	p := &searchParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != sEOF {
		return nil, searchErr(t.pos, "unexpected %q", t.text)
	}
	return n, nil
}

func (p *searchParser) peek() stok { return p.toks[p.i] }
func (p *searchParser) next() stok { t := p.toks[p.i]; p.i++; return t }

func (p *searchParser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == sWord && strings.EqualFold(t.text, word)
}

func (p *searchParser) or() (searchNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = searchOr{l, r}
	}
	return l, nil
}

func (p *searchParser) and() (searchNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		switch {
		case p.isKeyword("and"):
			p.next()
		case p.isKeyword("or"):
			return l, nil
		case t.kind == sWord || t.kind == sQuoted || t.kind == sLParen:
			// implicit and (also "a not b")
		default:
			return l, nil
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = searchAnd{l, r}
	}
}

func (p *searchParser) unary() (searchNode, error) {
	t := p.peek()
	switch {
	case p.isKeyword("not"):
		p.next()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return searchNot{x}, nil
	case t.kind == sLParen:
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if r := p.next(); r.kind != sRParen {
			return nil, searchErr(r.pos, "expected ) but found %q", r.text)
		}
		return x, nil
	case t.kind == sWord || t.kind == sQuoted:
		return p.term()
	}
	if t.kind == sEOF {
		return nil, searchErr(t.pos, "unexpected end of search")
	}
	return nil, searchErr(t.pos, "unexpected %q", t.text)
}

func (p *searchParser) term() (searchNode, error) {
	t := p.next()
	if t.kind == sWord && (strings.EqualFold(t.text, "and") || strings.EqualFold(t.text, "or")) {
		return nil, searchErr(t.pos, "operator %q needs an operand on its left", t.text)
	}
	switch p.peek().kind {
	case sColon:
		p.next()
		key, err := searchKey(t)
		if err != nil {
			return nil, err
		}
		v := p.next()
		switch v.kind {
		case sQuoted:
			return searchTerm{key: key, value: v.text}, nil
		case sWord:
			if v.text == "*" {
				return searchTerm{key: key, exists: true}, nil
			}
			val, prefix, err := searchWord(v)
			if err != nil {
				return nil, err
			}
			return searchTerm{key: key, value: val, prefix: prefix}, nil
		}
		return nil, searchErr(v.pos, "expected a value after %s:", key)
	case sOp:
		op := p.next()
		key, err := searchKey(t)
		if err != nil {
			return nil, err
		}
		v := p.next()
		n, err := strconv.ParseFloat(v.text, 64)
		if v.kind != sWord || err != nil {
			return nil, searchErr(v.pos, "%s %s needs a number, not %q (use key:value for text)", key, op.text, v.text)
		}
		return searchCmp{key: key, op: op.text, num: n}, nil
	}
	if t.kind == sQuoted {
		return searchTerm{value: t.text}, nil
	}
	if t.text == "*" {
		return searchAll{}, nil
	}
	val, prefix, err := searchWord(t)
	if err != nil {
		return nil, err
	}
	return searchTerm{value: val, prefix: prefix}, nil
}

// searchKey validates a key: an unquoted key holds letters, digits, _ and .
func searchKey(t stok) (string, error) {
	if t.kind == sQuoted {
		return t.text, nil
	}
	for _, c := range t.text {
		if c == '-' {
			return "", searchErr(t.pos, "key %s contains '-': quote it as \"%s\"", t.text, t.text)
		}
		if !(c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", searchErr(t.pos, "key %s contains %q: quote it", t.text, c)
		}
	}
	return t.text, nil
}

// searchWord splits a trailing * (prefix match) and rejects other wildcards.
func searchWord(t stok) (string, bool, error) {
	v := t.text
	prefix := strings.HasSuffix(v, "*")
	if prefix {
		v = v[:len(v)-1]
	}
	if strings.ContainsAny(v, "*?") {
		return "", false, searchErr(t.pos, "wildcard in %q is not supported (only a trailing *)", t.text)
	}
	if prefix && v == "" {
		return "", false, searchErr(t.pos, "a lone * is only valid as the whole search or as key:*")
	}
	return v, prefix, nil
}

package sls

import (
	"strconv"
	"strings"
)

// The SQL part of a query (after the first "|"): see QUERY.md.

type sqlExpr interface {
	// String is the canonical form, used to match select items to GROUP BY.
	String() string
}

type (
	colRef  struct{ name string }
	strLit  struct{ s string }
	numLit  struct{ s string }
	nullLit struct{}
	funcExp struct {
		name     string // lower case
		args     []sqlExpr
		star     bool // count(*)
		distinct bool
	}
	binExp struct {
		op   string
		l, r sqlExpr
	} // comparison, and, or
	notExp struct{ x sqlExpr }
	inExp  struct {
		x    sqlExpr
		list []sqlExpr
		not  bool
	}
	likeExp struct {
		x       sqlExpr
		pattern string
		not     bool
	}
	isNullExp struct {
		x   sqlExpr
		not bool
	}
	castExp struct {
		x   sqlExpr
		typ string // bigint, double, varchar
		try bool
	}
)

func (c colRef) String() string { return strconv.Quote(c.name) }
func (s strLit) String() string { return "'" + strings.ReplaceAll(s.s, "'", "''") + "'" }
func (n numLit) String() string { return n.s }
func (nullLit) String() string  { return "null" }
func (f funcExp) String() string {
	var b strings.Builder
	b.WriteString(f.name + "(")
	if f.distinct {
		b.WriteString("distinct ")
	}
	if f.star {
		b.WriteString("*")
	}
	for i, a := range f.args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	return b.String() + ")"
}
func (e binExp) String() string { return "(" + e.l.String() + " " + e.op + " " + e.r.String() + ")" }
func (e notExp) String() string { return "(not " + e.x.String() + ")" }
func (e inExp) String() string {
	parts := make([]string, len(e.list))
	for i, x := range e.list {
		parts[i] = x.String()
	}
	op := " in ("
	if e.not {
		op = " not in ("
	}
	return "(" + e.x.String() + op + strings.Join(parts, ", ") + "))"
}
func (e likeExp) String() string {
	op := " like "
	if e.not {
		op = " not like "
	}
	return "(" + e.x.String() + op + strLit{e.pattern}.String() + ")"
}
func (e isNullExp) String() string {
	if e.not {
		return "(" + e.x.String() + " is not null)"
	}
	return "(" + e.x.String() + " is null)"
}
func (e castExp) String() string {
	fn := "cast("
	if e.try {
		fn = "try_cast("
	}
	return fn + e.x.String() + " as " + e.typ + ")"
}

type selectItem struct {
	x     sqlExpr
	star  bool
	alias string
}

type orderItem struct {
	x    sqlExpr
	desc bool
}

type sqlStmt struct {
	items    []selectItem
	where    sqlExpr
	groupBy  []sqlExpr
	having   sqlExpr
	orderBy  []orderItem
	limit    int
	offset   int
	hasLimit bool
}

type qtokKind int

const (
	qEOF qtokKind = iota
	qIdent
	qQuoted // "identifier"
	qString // 'literal'
	qNumber
	qSym
)

type qtok struct {
	kind qtokKind
	text string
	pos  int
}

// sqlErr builds the ParameterInvalid error naming the construct at pos.
func sqlErr(pos int, format string, args ...any) *Error {
	e := errf(400, "ParameterInvalid", format, args...)
	at := ""
	if pos >= 0 {
		at = "at offset " + strconv.Itoa(pos) + "; "
	}
	e.Message = "sql: " + e.Message + " (" + at + "localcloud supports the subset in localcloud/sls/QUERY.md)"
	return e
}

func lexSQL(src string) ([]qtok, error) {
	var out []qtok
	i := 0
	isIdent := func(c byte, first bool) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isIdent(c, true):
			j := i
			for j < len(src) && isIdent(src[j], false) {
				j++
			}
			out = append(out, qtok{qIdent, src[i:j], i})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' || src[j] == 'e' || src[j] == 'E' ||
				(src[j] == '-' || src[j] == '+') && (src[j-1] == 'e' || src[j-1] == 'E')) {
				j++
			}
			if _, err := strconv.ParseFloat(src[i:j], 64); err != nil {
				return nil, sqlErr(i, "bad number %q", src[i:j])
			}
			out = append(out, qtok{qNumber, src[i:j], i})
			i = j
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(src) {
					return nil, sqlErr(i, "unterminated %c", c)
				}
				if src[j] == c {
					if j+1 < len(src) && src[j+1] == c { // doubled quote
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(src[j])
				j++
			}
			kind := qString
			if c == '"' {
				kind = qQuoted
			}
			out = append(out, qtok{kind, b.String(), i})
			i = j + 1
		default:
			sym := string(c)
			if i+1 < len(src) {
				switch two := src[i : i+2]; two {
				case "<=", ">=", "<>", "!=", "||":
					sym = two
				}
			}
			if !strings.Contains("(),*=<>!+-/%.;|", sym[:1]) {
				return nil, sqlErr(i, "unexpected character %q", sym)
			}
			out = append(out, qtok{qSym, sym, i})
			i += len(sym)
		}
	}
	return append(out, qtok{qEOF, "", len(src)}), nil
}

var sqlKeywords = map[string]bool{
	"select": true, "from": true, "where": true, "group": true, "by": true, "having": true,
	"order": true, "asc": true, "desc": true, "limit": true, "offset": true, "as": true,
	"and": true, "or": true, "not": true, "in": true, "like": true, "is": true, "null": true,
	"distinct": true, "cast": true, "try_cast": true, "join": true, "union": true, "on": true,
	"with": true, "between": true, "case": true, "when": true, "over": true, "true": true, "false": true,
}

type sqlParser struct {
	toks []qtok
	i    int
}

func parseSQL(src string) (*sqlStmt, error) {
	toks, err := lexSQL(src)
	if err != nil {
		return nil, err
	}
	p := &sqlParser{toks: toks}
	return p.stmt()
}

func (p *sqlParser) peek() qtok { return p.toks[p.i] }
func (p *sqlParser) next() qtok { t := p.toks[p.i]; p.i++; return t }

func (p *sqlParser) isKw(kw string) bool {
	t := p.peek()
	return t.kind == qIdent && strings.EqualFold(t.text, kw)
}

func (p *sqlParser) acceptKw(kw string) bool {
	if p.isKw(kw) {
		p.i++
		return true
	}
	return false
}

func (p *sqlParser) expectKw(kw string) error {
	if !p.acceptKw(kw) {
		t := p.peek()
		return sqlErr(t.pos, "expected %s but found %s", strings.ToUpper(kw), describe(t))
	}
	return nil
}

func (p *sqlParser) isSym(s string) bool {
	t := p.peek()
	return t.kind == qSym && t.text == s
}

func (p *sqlParser) expectSym(s string) error {
	if !p.isSym(s) {
		t := p.peek()
		return sqlErr(t.pos, "expected %q but found %s", s, describe(t))
	}
	p.i++
	return nil
}

func describe(t qtok) string {
	if t.kind == qEOF {
		return "end of query"
	}
	return strconv.Quote(t.text)
}

func (p *sqlParser) stmt() (*sqlStmt, error) {
	st := &sqlStmt{}
	if err := p.expectKw("select"); err != nil {
		return nil, err
	}
	if p.isKw("distinct") {
		return nil, sqlErr(p.peek().pos, "SELECT DISTINCT is not supported (use GROUP BY)")
	}
	for {
		if p.isSym("*") {
			p.next()
			st.items = append(st.items, selectItem{star: true})
		} else {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			it := selectItem{x: x}
			if p.acceptKw("as") {
				t := p.next()
				if t.kind != qIdent && t.kind != qQuoted || t.kind == qIdent && sqlKeywords[strings.ToLower(t.text)] {
					return nil, sqlErr(t.pos, "expected an alias after AS but found %s", describe(t))
				}
				it.alias = t.text
			} else if t := p.peek(); t.kind == qQuoted || t.kind == qIdent && !sqlKeywords[strings.ToLower(t.text)] {
				p.next()
				it.alias = t.text
			}
			st.items = append(st.items, it)
		}
		if !p.isSym(",") {
			break
		}
		p.next()
	}
	if p.acceptKw("from") {
		t := p.next()
		if t.kind != qIdent || !strings.EqualFold(t.text, "log") {
			return nil, sqlErr(t.pos, "only FROM log is supported, not %s", describe(t))
		}
	}
	if p.acceptKw("where") {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		st.where = x
	}
	if p.acceptKw("group") {
		if err := p.expectKw("by"); err != nil {
			return nil, err
		}
		for {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			st.groupBy = append(st.groupBy, x)
			if !p.isSym(",") {
				break
			}
			p.next()
		}
	}
	if p.acceptKw("having") {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		st.having = x
	}
	if p.acceptKw("order") {
		if err := p.expectKw("by"); err != nil {
			return nil, err
		}
		for {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			it := orderItem{x: x}
			if p.acceptKw("desc") {
				it.desc = true
			} else {
				p.acceptKw("asc")
			}
			st.orderBy = append(st.orderBy, it)
			if !p.isSym(",") {
				break
			}
			p.next()
		}
	}
	if p.acceptKw("limit") {
		a, err := p.count()
		if err != nil {
			return nil, err
		}
		st.hasLimit, st.limit = true, a
		if p.isSym(",") { // LIMIT offset, n
			p.next()
			b, err := p.count()
			if err != nil {
				return nil, err
			}
			st.offset, st.limit = a, b
		} else if p.acceptKw("offset") {
			b, err := p.count()
			if err != nil {
				return nil, err
			}
			st.offset = b
		}
	}
	if p.isSym(";") {
		p.next()
	}
	if t := p.peek(); t.kind != qEOF {
		return nil, sqlErr(t.pos, "unsupported or unexpected %s", describe(t))
	}
	return st, nil
}

func (p *sqlParser) count() (int, error) {
	t := p.next()
	n, err := strconv.Atoi(t.text)
	if t.kind != qNumber || err != nil || n < 0 {
		return 0, sqlErr(t.pos, "expected a non-negative integer but found %s", describe(t))
	}
	return n, nil
}

func (p *sqlParser) expr() (sqlExpr, error) { return p.or() }

func (p *sqlParser) or() (sqlExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.acceptKw("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = binExp{"or", l, r}
	}
	return l, nil
}

func (p *sqlParser) and() (sqlExpr, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.acceptKw("and") {
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = binExp{"and", l, r}
	}
	return l, nil
}

func (p *sqlParser) not() (sqlExpr, error) {
	if p.acceptKw("not") {
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return notExp{x}, nil
	}
	return p.predicate()
}

func (p *sqlParser) predicate() (sqlExpr, error) {
	l, err := p.primary()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind == qSym {
		switch t.text {
		case "=", "!=", "<>", "<", "<=", ">", ">=":
			p.next()
			r, err := p.primary()
			if err != nil {
				return nil, err
			}
			op := t.text
			if op == "<>" {
				op = "!="
			}
			return binExp{op, l, r}, nil
		case "+", "-", "*", "/", "%", "||":
			return nil, sqlErr(t.pos, "operator %q is not supported (no arithmetic; quote keys containing '-', e.g. \"eni-id\")", t.text)
		case ".":
			return nil, sqlErr(t.pos, "dotted name: quote JSON keys as one identifier, e.g. \"event.eventName\"")
		}
	}
	negated := false
	if p.isKw("not") {
		if n := p.toks[p.i+1]; n.kind == qIdent && (strings.EqualFold(n.text, "in") || strings.EqualFold(n.text, "like")) {
			p.next()
			negated = true
		}
	}
	switch {
	case p.acceptKw("in"):
		if err := p.expectSym("("); err != nil {
			return nil, err
		}
		if p.isKw("select") {
			return nil, sqlErr(p.peek().pos, "subqueries are not supported")
		}
		var list []sqlExpr
		for {
			x, err := p.primary()
			if err != nil {
				return nil, err
			}
			list = append(list, x)
			if !p.isSym(",") {
				break
			}
			p.next()
		}
		if err := p.expectSym(")"); err != nil {
			return nil, err
		}
		return inExp{l, list, negated}, nil
	case p.acceptKw("like"):
		pt := p.next()
		if pt.kind != qString {
			return nil, sqlErr(pt.pos, "LIKE needs a 'string' pattern, not %s", describe(pt))
		}
		return likeExp{l, pt.text, negated}, nil
	case p.acceptKw("is"):
		not := p.acceptKw("not")
		if err := p.expectKw("null"); err != nil {
			return nil, err
		}
		return isNullExp{l, not}, nil
	case p.isKw("between"):
		return nil, sqlErr(p.peek().pos, "BETWEEN is not supported (use >= and <)")
	}
	return l, nil
}

var aggregateFuncs = map[string]bool{"count": true, "sum": true, "min": true, "max": true, "avg": true}

func (p *sqlParser) primary() (sqlExpr, error) {
	t := p.next()
	switch t.kind {
	case qNumber:
		return numLit{t.text}, nil
	case qString:
		return strLit{t.text}, nil
	case qQuoted:
		return colRef{t.text}, nil
	case qSym:
		switch t.text {
		case "(":
			if p.isKw("select") {
				return nil, sqlErr(t.pos, "subqueries are not supported")
			}
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			return x, p.expectSym(")")
		case "-":
			if n := p.peek(); n.kind == qNumber {
				p.next()
				return numLit{"-" + n.text}, nil
			}
		}
		return nil, sqlErr(t.pos, "unexpected %s", describe(t))
	case qIdent:
		lower := strings.ToLower(t.text)
		switch lower {
		case "null":
			return nullLit{}, nil
		case "cast", "try_cast":
			return p.cast(t, lower == "try_cast")
		}
		if p.isSym("(") {
			return p.call(t, lower)
		}
		if sqlKeywords[lower] {
			return nil, sqlErr(t.pos, "unexpected keyword %s", strings.ToUpper(t.text))
		}
		if p.isSym(".") {
			return nil, sqlErr(p.peek().pos, "dotted name %s.…: quote JSON keys as one identifier, e.g. \"event.eventName\"", t.text)
		}
		return colRef{t.text}, nil
	}
	return nil, sqlErr(t.pos, "unexpected %s", describe(t))
}

func (p *sqlParser) cast(t qtok, try bool) (sqlExpr, error) {
	if err := p.expectSym("("); err != nil {
		return nil, err
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.expectKw("as"); err != nil {
		return nil, err
	}
	tt := p.next()
	typ := strings.ToLower(tt.text)
	switch typ {
	case "bigint", "integer", "int":
		typ = "bigint"
	case "double", "real":
		typ = "double"
	case "varchar":
	default:
		return nil, sqlErr(tt.pos, "cast to %s is not supported (bigint, double or varchar)", describe(tt))
	}
	return castExp{x, typ, try}, p.expectSym(")")
}

func (p *sqlParser) call(t qtok, name string) (sqlExpr, error) {
	if !aggregateFuncs[name] {
		return nil, sqlErr(t.pos, "function %s is not supported (count, sum, min, max, avg, cast, try_cast)", t.text)
	}
	p.next() // (
	f := funcExp{name: name}
	if p.isSym("*") {
		if name != "count" {
			return nil, sqlErr(p.peek().pos, "%s(*) is not valid", name)
		}
		p.next()
		f.star = true
		return f, p.expectSym(")")
	}
	if p.acceptKw("distinct") {
		if name != "count" {
			return nil, sqlErr(t.pos, "%s(distinct …) is not supported (only count(distinct x))", name)
		}
		f.distinct = true
	}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	f.args = []sqlExpr{x}
	if p.isSym(",") {
		return nil, sqlErr(p.peek().pos, "%s takes one argument", name)
	}
	return f, p.expectSym(")")
}

package sls

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// defaultSQLLimit is the row count SLS returns for SQL without LIMIT.
const defaultSQLLimit = 100

type aggKind int

const (
	aggCount aggKind = iota
	aggCountDistinct
	aggSum
	aggAvg
	aggMin
	aggMax
)

type aggSpec struct {
	kind aggKind
	arg  evalFn // nil for count(*)
}

// acc accumulates one aggregate of one group.
type acc struct {
	n        int64
	isum     int64
	fsum     float64
	floaty   bool // a non-integer was summed
	distinct map[string]struct{}
	// min/max: the best number, and the best string over all values
	haveNum, haveStr, nonNum bool
	num                      float64
	numStr, str              string
}

func (a *acc) add(spec *aggSpec, e *env) {
	if spec.arg == nil {
		a.n++
		return
	}
	v := spec.arg(e)
	if !v.ok {
		return
	}
	switch spec.kind {
	case aggCount:
		a.n++
	case aggCountDistinct:
		if a.distinct == nil {
			a.distinct = map[string]struct{}{}
		}
		a.distinct[v.s] = struct{}{}
	case aggSum, aggAvg:
		f, ok := parseNum(v.s)
		if !ok {
			return // non-numbers are NULL for a numeric index
		}
		a.n++
		a.fsum += f
		if !a.floaty {
			if i, err := strconv.ParseInt(v.s, 10, 64); err == nil {
				a.isum += i
			} else {
				a.floaty = true
			}
		}
	case aggMin, aggMax:
		better := func(c int) bool { return spec.kind == aggMin && c < 0 || spec.kind == aggMax && c > 0 }
		if f, ok := parseNum(v.s); ok {
			if !a.haveNum || better(cmpFloat(f, a.num)) {
				a.haveNum, a.num, a.numStr = true, f, v.s
			}
		} else {
			a.nonNum = true
		}
		if !a.haveStr || better(strings.Compare(v.s, a.str)) {
			a.haveStr, a.str = true, v.s
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (a *acc) result(kind aggKind) val {
	switch kind {
	case aggCount:
		return val{strconv.FormatInt(a.n, 10), true}
	case aggCountDistinct:
		return val{strconv.Itoa(len(a.distinct)), true}
	case aggSum:
		if a.n == 0 {
			return nullVal
		}
		if !a.floaty {
			return val{strconv.FormatInt(a.isum, 10), true}
		}
		return val{strconv.FormatFloat(a.fsum, 'f', -1, 64), true}
	case aggAvg:
		if a.n == 0 {
			return nullVal
		}
		return val{strconv.FormatFloat(a.fsum/float64(a.n), 'f', -1, 64), true}
	default: // min, max
		switch {
		case a.nonNum && a.haveStr:
			return val{a.str, true}
		case a.haveNum:
			return val{a.numStr, true}
		}
		return nullVal
	}
}

type aggGroup struct {
	keys []val
	accs []acc
	res  []val
}

type orderFn struct {
	fn   evalFn
	desc bool
}

// plan is a compiled SQL statement.
type plan struct {
	agg      bool
	where    evalFn
	groupFns []evalFn
	aggs     []aggSpec
	star     bool
	names    []string
	outs     []evalFn
	having   evalFn
	orders   []orderFn
	limit    int
	offset   int
}

// sqlCompiler compiles SQL expressions over the current log ("row" mode) or
// over the current group of an aggregate query ("group" mode).
type sqlCompiler struct {
	*compiler
	st         *sqlStmt
	aliases    map[string]int
	groupCanon map[string]int
	aggCanon   map[string]int
	p          *plan
}

// mode says where an expression is compiled: over the current log or the
// current group (aggregate queries), and whether select aliases resolve
// (HAVING and ORDER BY; not WHERE, GROUP BY keys or the select items).
type mode struct {
	group   bool
	aliases bool
}

var rowMode = mode{}

func (c *compiler) plan(st *sqlStmt) (*plan, error) {
	sc := &sqlCompiler{compiler: c, st: st, aliases: map[string]int{}, groupCanon: map[string]int{}, aggCanon: map[string]int{}, p: &plan{}}
	p := sc.p
	p.limit, p.offset = defaultSQLLimit, st.offset
	if st.hasLimit {
		p.limit = st.limit
	}
	for i, it := range st.items {
		if it.star {
			if len(st.items) > 1 {
				return nil, sqlErr(-1, "SELECT * must be the only select item")
			}
			p.star = true
			continue
		}
		if it.alias != "" {
			sc.aliases[it.alias] = i
		}
		if hasAggregate(it.x) {
			p.agg = true
		}
	}
	if len(st.groupBy) > 0 || st.having != nil && hasAggregate(st.having) {
		p.agg = true
	}
	for _, o := range st.orderBy {
		if hasAggregate(o.x) {
			p.agg = true
		}
	}
	if p.star && p.agg {
		return nil, sqlErr(-1, "SELECT * cannot be combined with aggregates or GROUP BY")
	}
	if st.having != nil && !p.agg {
		return nil, sqlErr(-1, "HAVING needs GROUP BY or aggregates")
	}
	if st.where != nil {
		f, err := sc.expr(st.where, rowMode)
		if err != nil {
			return nil, err
		}
		p.where = f
	}
	for _, g := range st.groupBy {
		x, err := sc.resolveGroupBy(g)
		if err != nil {
			return nil, err
		}
		f, err := sc.expr(x, rowMode)
		if err != nil {
			return nil, err
		}
		sc.groupCanon[x.String()] = len(p.groupFns)
		p.groupFns = append(p.groupFns, f)
	}
	itemMode := mode{group: p.agg}
	orderMode := mode{group: p.agg, aliases: true}
	for i, it := range st.items {
		if it.star {
			continue
		}
		name := it.alias
		if name == "" {
			if col, ok := it.x.(colRef); ok {
				name = col.name
			} else {
				name = "_col" + strconv.Itoa(i)
			}
		}
		f, err := sc.expr(it.x, itemMode)
		if err != nil {
			return nil, err
		}
		p.names = append(p.names, name)
		p.outs = append(p.outs, f)
	}
	if st.having != nil {
		f, err := sc.expr(st.having, mode{group: true, aliases: true})
		if err != nil {
			return nil, err
		}
		p.having = f
	}
	for _, o := range st.orderBy {
		if n, ok := o.x.(numLit); ok {
			k, err := strconv.Atoi(n.s)
			if err != nil || k < 1 || k > len(p.outs) {
				return nil, sqlErr(-1, "ORDER BY position %s is not in the select list", n.s)
			}
			p.orders = append(p.orders, orderFn{p.outs[k-1], o.desc})
			continue
		}
		f, err := sc.expr(o.x, orderMode)
		if err != nil {
			return nil, err
		}
		p.orders = append(p.orders, orderFn{f, o.desc})
	}
	return p, nil
}

// resolveGroupBy maps GROUP BY <position> and GROUP BY <alias> to the select item.
func (sc *sqlCompiler) resolveGroupBy(g sqlExpr) (sqlExpr, error) {
	if n, ok := g.(numLit); ok {
		k, err := strconv.Atoi(n.s)
		if err != nil || k < 1 || k > len(sc.st.items) || sc.st.items[k-1].star {
			return nil, sqlErr(-1, "GROUP BY position %s is not in the select list", n.s)
		}
		g = sc.st.items[k-1].x
	} else if col, ok := g.(colRef); ok {
		if i, ok := sc.aliases[col.name]; ok && !hasAggregate(sc.st.items[i].x) {
			g = sc.st.items[i].x
		}
	}
	if hasAggregate(g) {
		return nil, sqlErr(-1, "GROUP BY cannot hold an aggregate (%s)", g)
	}
	return g, nil
}

func hasAggregate(x sqlExpr) bool {
	switch x := x.(type) {
	case funcExp:
		return true
	case binExp:
		return hasAggregate(x.l) || hasAggregate(x.r)
	case notExp:
		return hasAggregate(x.x)
	case inExp:
		if hasAggregate(x.x) {
			return true
		}
		for _, y := range x.list {
			if hasAggregate(y) {
				return true
			}
		}
	case likeExp:
		return hasAggregate(x.x)
	case isNullExp:
		return hasAggregate(x.x)
	case castExp:
		return hasAggregate(x.x)
	}
	return false
}

func constFn(v val) evalFn { return func(*env) val { return v } }

func (sc *sqlCompiler) expr(x sqlExpr, m mode) (evalFn, error) {
	if m.group {
		if k, ok := sc.groupCanon[x.String()]; ok {
			return func(e *env) val { return e.grp.keys[k] }, nil
		}
	}
	switch x := x.(type) {
	case strLit:
		return constFn(val{x.s, true}), nil
	case numLit:
		return constFn(val{x.s, true}), nil
	case nullLit:
		return constFn(nullVal), nil
	case colRef:
		if m.aliases {
			if i, ok := sc.aliases[x.name]; ok {
				if it := sc.st.items[i].x; it.String() != x.String() {
					return sc.expr(it, m)
				}
			}
		}
		if m.group {
			return nil, sqlErr(-1, "column %s must appear in GROUP BY or be used in an aggregate function", x)
		}
		return sc.column(x.name), nil
	case funcExp:
		if !m.group {
			return nil, sqlErr(-1, "aggregate %s is not allowed in WHERE, GROUP BY or a query without aggregation", x)
		}
		if k, ok := sc.aggCanon[x.String()]; ok {
			return func(e *env) val { return e.grp.res[k] }, nil
		}
		spec := aggSpec{}
		switch {
		case x.name == "count" && x.distinct:
			spec.kind = aggCountDistinct
		case x.name == "count":
			spec.kind = aggCount
		case x.name == "sum":
			spec.kind = aggSum
		case x.name == "avg":
			spec.kind = aggAvg
		case x.name == "min":
			spec.kind = aggMin
		case x.name == "max":
			spec.kind = aggMax
		}
		if !x.star {
			if hasAggregate(x.args[0]) {
				return nil, sqlErr(-1, "nested aggregate in %s", x)
			}
			_, isLit := x.args[0].(numLit)
			_, isStr := x.args[0].(strLit)
			if !(spec.kind == aggCount && (isLit || isStr)) { // count(1) counts rows
				f, err := sc.expr(x.args[0], rowMode)
				if err != nil {
					return nil, err
				}
				spec.arg = f
			}
		}
		k := len(sc.p.aggs)
		sc.p.aggs = append(sc.p.aggs, spec)
		sc.aggCanon[x.String()] = k
		return func(e *env) val { return e.grp.res[k] }, nil
	case binExp:
		l, err := sc.expr(x.l, m)
		if err != nil {
			return nil, err
		}
		r, err := sc.expr(x.r, m)
		if err != nil {
			return nil, err
		}
		return binaryOp(x.op, l, r, isNumLit(x.l) || isNumLit(x.r)), nil
	case notExp:
		f, err := sc.expr(x.x, m)
		if err != nil {
			return nil, err
		}
		return func(e *env) val {
			switch truth(f(e)) {
			case 1:
				return falseVal
			case 0:
				return trueVal
			}
			return nullVal
		}, nil
	case inExp:
		f, err := sc.expr(x.x, m)
		if err != nil {
			return nil, err
		}
		list := make([]evalFn, len(x.list))
		numeric := make([]bool, len(x.list))
		for i, y := range x.list {
			if list[i], err = sc.expr(y, m); err != nil {
				return nil, err
			}
			numeric[i] = isNumLit(y)
		}
		not := x.not
		return func(e *env) val {
			v := f(e)
			if !v.ok {
				return nullVal
			}
			sawNull := false
			for i, g := range list {
				w := g(e)
				c, ok := 0, w.ok
				if ok {
					c, ok = cmpVals(v.s, w.s, numeric[i])
				}
				if !ok {
					sawNull = true
					continue
				}
				if c == 0 {
					return boolVal(!not)
				}
			}
			if sawNull {
				return nullVal
			}
			return boolVal(not)
		}, nil
	case likeExp:
		f, err := sc.expr(x.x, m)
		if err != nil {
			return nil, err
		}
		pat, not := x.pattern, x.not
		return func(e *env) val {
			v := f(e)
			if !v.ok {
				return nullVal
			}
			return boolVal(likeMatch(v.s, pat) != not)
		}, nil
	case isNullExp:
		f, err := sc.expr(x.x, m)
		if err != nil {
			return nil, err
		}
		not := x.not
		return func(e *env) val { return boolVal(f(e).ok == not) }, nil
	case castExp:
		f, err := sc.expr(x.x, m)
		if err != nil {
			return nil, err
		}
		return castFn(f, x.typ), nil
	}
	return nil, sqlErr(-1, "unsupported expression %s", x)
}

func truth(v val) int8 {
	switch {
	case !v.ok:
		return 2
	case v.s == "true":
		return 1
	}
	return 0
}

func isNumLit(x sqlExpr) bool {
	_, ok := x.(numLit)
	return ok
}

// cmpVals compares for comparisons and IN; numeric says an operand is a number
// literal, so a value that is not a number is NULL (as for a numeric index).
func cmpVals(a, b string, numeric bool) (int, bool) {
	if numeric {
		fa, ok1 := parseNum(a)
		fb, ok2 := parseNum(b)
		if !ok1 || !ok2 {
			return 0, false
		}
		return cmpFloat(fa, fb), true
	}
	return compareVals(a, b), true
}

func binaryOp(op string, l, r evalFn, numeric bool) evalFn {
	switch op {
	case "and":
		return func(e *env) val {
			a := truth(l(e))
			if a == 0 {
				return falseVal
			}
			b := truth(r(e))
			switch {
			case b == 0:
				return falseVal
			case a == 1 && b == 1:
				return trueVal
			}
			return nullVal
		}
	case "or":
		return func(e *env) val {
			a := truth(l(e))
			if a == 1 {
				return trueVal
			}
			b := truth(r(e))
			switch {
			case b == 1:
				return trueVal
			case a == 0 && b == 0:
				return falseVal
			}
			return nullVal
		}
	}
	test := map[string]func(int) bool{
		"=":  func(c int) bool { return c == 0 },
		"!=": func(c int) bool { return c != 0 },
		"<":  func(c int) bool { return c < 0 },
		"<=": func(c int) bool { return c <= 0 },
		">":  func(c int) bool { return c > 0 },
		">=": func(c int) bool { return c >= 0 },
	}[op]
	return func(e *env) val {
		a, b := l(e), r(e)
		if !a.ok || !b.ok {
			return nullVal
		}
		c, ok := cmpVals(a.s, b.s, numeric)
		if !ok {
			return nullVal
		}
		return boolVal(test(c))
	}
}

func castFn(f evalFn, typ string) evalFn {
	return func(e *env) val {
		v := f(e)
		if !v.ok {
			return v
		}
		switch typ {
		case "bigint":
			if i, err := strconv.ParseInt(v.s, 10, 64); err == nil {
				return val{strconv.FormatInt(i, 10), true}
			}
			if x, ok := parseNum(v.s); ok {
				return val{strconv.FormatInt(int64(math.Round(x)), 10), true}
			}
			return nullVal
		case "double":
			if x, ok := parseNum(v.s); ok {
				return val{strconv.FormatFloat(x, 'f', -1, 64), true}
			}
			return nullVal
		}
		return v
	}
}

// likeMatch matches SQL LIKE: % any run, _ any one character (case-sensitive).
func likeMatch(s, pat string) bool {
	if !strings.ContainsAny(pat, "_") {
		switch {
		case !strings.Contains(pat, "%"):
			return s == pat
		case strings.Count(pat, "%") == 1 && strings.HasSuffix(pat, "%"):
			return strings.HasPrefix(s, pat[:len(pat)-1])
		}
	}
	sr, pr := []rune(s), []rune(pat)
	// iterative wildcard matching with backtracking to the last %
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(sr) {
		switch {
		case pi < len(pr) && (pr[pi] == '_' || pr[pi] == sr[si]) && pr[pi] != '%':
			si++
			pi++
		case pi < len(pr) && pr[pi] == '%':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pr) && pr[pi] == '%' {
		pi++
	}
	return pi == len(pr)
}

// ---- execution --------------------------------------------------------------------

type outRow struct {
	vals []val
	keys []val
	ref  logRef
}

func (p *plan) run(ls *logstore, req queryRequest, pred func(*env) bool, res *queryResult) {
	match := func(e *env) bool {
		return pred(e) && (p.where == nil || truth(p.where(e)) == 1)
	}
	var rows []outRow
	if p.agg {
		groups := map[string]*aggGroup{}
		var order []*aggGroup
		keyVals := make([]val, len(p.groupFns))
		var buf []byte
		res.processed = ls.scan(req, func(e *env) bool {
			if !match(e) {
				return true
			}
			for k, f := range p.groupFns {
				keyVals[k] = f(e)
			}
			buf = groupKey(buf[:0], keyVals)
			g := groups[string(buf)]
			if g == nil {
				g = &aggGroup{keys: append([]val(nil), keyVals...), accs: make([]acc, len(p.aggs))}
				groups[string(buf)] = g
				order = append(order, g)
			}
			for k := range p.aggs {
				g.accs[k].add(&p.aggs[k], e)
			}
			return true
		})
		if len(p.groupFns) == 0 && len(order) == 0 {
			order = append(order, &aggGroup{accs: make([]acc, len(p.aggs))})
		}
		e := &env{}
		for _, g := range order {
			g.res = make([]val, len(p.aggs))
			for k := range p.aggs {
				g.res[k] = g.accs[k].result(p.aggs[k].kind)
			}
			e.grp = g
			if p.having != nil && truth(p.having(e)) != 1 {
				continue
			}
			rows = append(rows, p.project(e))
		}
	} else {
		stopAt := -1
		if len(p.orders) == 0 {
			stopAt = p.offset + p.limit
		}
		res.processed = ls.scan(req, func(e *env) bool {
			if !match(e) {
				return true
			}
			r := p.project(e)
			r.ref = logRef{e.g, e.i}
			rows = append(rows, r)
			return stopAt < 0 || len(rows) < stopAt
		})
	}
	if len(p.orders) > 0 {
		sort.SliceStable(rows, func(a, b int) bool {
			for k, o := range p.orders {
				x, y := rows[a].keys[k], rows[b].keys[k]
				if !x.ok || !y.ok { // NULLS LAST
					if x.ok != y.ok {
						return x.ok
					}
					continue
				}
				c := compareVals(x.s, y.s)
				if c == 0 {
					continue
				}
				return c < 0 != o.desc
			}
			return false
		})
	}
	rows = rows[min(p.offset, len(rows)):]
	rows = rows[:min(p.limit, len(rows))]
	res.keys = p.names
	if p.star {
		keys := map[string]bool{}
		for _, r := range rows {
			m := ls.rowMap(r.ref.g, r.ref.i)
			for k := range m {
				keys[k] = true
			}
			res.rows = append(res.rows, m)
		}
		res.keys = sortedNames(keys)
		return
	}
	for _, r := range rows {
		m := make(map[string]string, len(p.names))
		for k, name := range p.names {
			if r.vals[k].ok {
				m[name] = r.vals[k].s
			} else {
				m[name] = "null"
			}
		}
		res.rows = append(res.rows, m)
	}
}

func (p *plan) project(e *env) outRow {
	r := outRow{}
	if len(p.outs) > 0 {
		r.vals = make([]val, len(p.outs))
		for k, f := range p.outs {
			r.vals[k] = f(e)
		}
	}
	if len(p.orders) > 0 {
		r.keys = make([]val, len(p.orders))
		for k, o := range p.orders {
			r.keys[k] = o.fn(e)
		}
	}
	return r
}

package sls

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// queryRequest is one GetLogs (or Query) call.
type queryRequest struct {
	from, to int64 // unix seconds, [from, to)
	topic    string
	query    string
	line     int // search-only page size; -1: no limit
	offset   int
	reverse  bool
	// index restricts the query to what the logstore's index lets GetLogs
	// see; nil (the Go API's Query) sees every stored log, like PullLogs.
	index *indexView
}

// indexView is what GetLogs may see at one instant: the groups the index
// covers (received after it was created), each once the index delay has
// passed since it was received, on the wall clock or on the virtual clock,
// whichever comes first (the virtual clock moving on models time passing).
type indexView struct {
	delay            time.Duration
	wallCut, virtCut int64 // unix ns: a group received at or before either is searchable
}

func (s *Server) indexView() *indexView {
	d := s.IndexDelay()
	return &indexView{delay: d, wallCut: unixNano(s.wallNow().Add(-d)), virtCut: unixNano(s.now().Add(-d))}
}

// searchable reports whether group g, sequence seq of shard sh, is visible.
func (v *indexView) searchable(sh *shard, seq int64, g *group) bool {
	if seq < sh.indexFrom {
		return false
	}
	return v.delay <= 0 || g.wall <= v.wallCut || g.recv <= v.virtCut
}

func errNoIndexForQuery(ls *logstore) *Error {
	return errf(400, "IndexConfigNotExist",
		"logstore without index config: logstore %s has no index, so it cannot be queried (CreateIndex first; an index covers only logs written after it)", ls.name)
}

type queryResult struct {
	rows       []map[string]string
	keys       []string
	hasSQL     bool
	processed  int
	whereQuery string
	aggQuery   string
}

// val is one SQL value: a string, or NULL when !ok.
type val struct {
	s  string
	ok bool
}

var (
	nullVal  = val{}
	trueVal  = val{"true", true}
	falseVal = val{"false", true}
)

func boolVal(b bool) val {
	if b {
		return trueVal
	}
	return falseVal
}

// env is the evaluation context: the current log (g, i), or the current
// group of an aggregate query.
type env struct {
	g   *group
	i   int
	grp *aggGroup

	// one-entry cache of the parsed JSON field of the current log
	jg  *group
	ji  int
	jid uint32
	jv  any
	jok bool
}

type evalFn func(e *env) val

// splitQuery splits "<search> | <sql>" at the first | outside double quotes.
func splitQuery(q string) (search, sql string, hasSQL bool) {
	inQuote := false
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case '|':
			if !inQuote {
				return strings.TrimSpace(q[:i]), strings.TrimSpace(q[i+1:]), true
			}
		}
	}
	return strings.TrimSpace(q), "", false
}

// run executes a query; it holds ls.mu for reading while it scans.
func (ls *logstore) run(req queryRequest) (*queryResult, error) {
	searchSrc, sqlSrc, hasSQL := splitQuery(req.query)
	sn, err := parseSearch(searchSrc)
	if err != nil {
		return nil, err
	}
	var st *sqlStmt
	if hasSQL {
		if st, err = parseSQL(sqlSrc); err != nil {
			return nil, err
		}
	}
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	if req.index != nil && !ls.hasIndex() {
		return nil, errNoIndexForQuery(ls)
	}
	c := &compiler{ls: ls}
	pred := c.search(sn)
	res := &queryResult{hasSQL: hasSQL, whereQuery: searchSrc, aggQuery: sqlSrc, rows: []map[string]string{}}
	if !hasSQL {
		ls.runSearch(req, pred, res)
		return res, nil
	}
	plan, err := c.plan(st)
	if err != nil {
		return nil, err
	}
	plan.run(ls, req, pred, res)
	return res, nil
}

// scan calls fn for every log in [from, to) (and of the topic, when set), shard
// by shard in append order.
func (ls *logstore) scan(req queryRequest, fn func(e *env) bool) int {
	n := 0
	e := &env{}
	for _, sh := range ls.shards {
		for k, g := range sh.groups {
			if int64(g.maxT) < req.from || int64(g.minT) >= req.to || req.topic != "" && g.topic != req.topic {
				continue
			}
			if req.index != nil && !req.index.searchable(sh, sh.base+int64(k), g) {
				continue
			}
			e.g = g
			for i, t := range g.times {
				if int64(t) < req.from || int64(t) >= req.to {
					continue
				}
				n++
				e.i = i
				if !fn(e) {
					return n
				}
			}
		}
	}
	return n
}

type logRef struct {
	g *group
	i int
}

func (ls *logstore) runSearch(req queryRequest, pred func(*env) bool, res *queryResult) {
	var hits []logRef
	res.processed = ls.scan(req, func(e *env) bool {
		if pred(e) {
			hits = append(hits, logRef{e.g, e.i})
		}
		return true
	})
	sort.SliceStable(hits, func(a, b int) bool {
		ta, tb := hits[a].g.times[hits[a].i], hits[b].g.times[hits[b].i]
		if req.reverse {
			return ta > tb
		}
		return ta < tb
	})
	hits = hits[min(req.offset, len(hits)):]
	if req.line >= 0 && len(hits) > req.line {
		hits = hits[:req.line]
	}
	keys := map[string]bool{}
	for _, h := range hits {
		row := ls.rowMap(h.g, h.i)
		for k := range row {
			keys[k] = true
		}
		res.rows = append(res.rows, row)
	}
	res.keys = sortedNames(keys)
}

// rowMap is the GetLogs form of one log: __time__, __topic__, __source__,
// __tag__:<key> for each tag, and the contents (the last of repeated keys wins).
func (ls *logstore) rowMap(g *group, i int) map[string]string {
	kv := g.kv[g.offs[i]:g.offs[i+1]]
	row := make(map[string]string, len(kv)/2+3+len(g.tags)/2)
	row["__time__"] = strconv.FormatUint(uint64(g.times[i]), 10)
	row["__topic__"] = g.topic
	row["__source__"] = g.source
	for j := 0; j < len(g.tags); j += 2 {
		row["__tag__:"+ls.strs[g.tags[j]]] = ls.strs[g.tags[j+1]]
	}
	for j := 0; j < len(kv); j += 2 {
		row[ls.strs[kv[j]]] = ls.strs[kv[j+1]]
	}
	return row
}

// ---- columns -------------------------------------------------------------------

type compiler struct {
	ls *logstore
}

// column compiles a field reference: __time__, __topic__, __source__,
// __tag__:<key>, a content key, or a dotted path into a JSON-valued content
// ("event.userIdentity.type" reads the JSON in field "event").
func (c *compiler) column(name string) evalFn {
	ls := c.ls
	switch name {
	case "__time__":
		return func(e *env) val { return val{strconv.FormatUint(uint64(e.g.times[e.i]), 10), true} }
	case "__topic__":
		return func(e *env) val { return val{e.g.topic, true} }
	case "__source__":
		return func(e *env) val { return val{e.g.source, true} }
	}
	if tag, ok := strings.CutPrefix(name, "__tag__:"); ok {
		id, found := ls.lookupID(tag)
		return func(e *env) val {
			if found {
				for j := 0; j < len(e.g.tags); j += 2 {
					if e.g.tags[j] == id {
						return val{ls.strs[e.g.tags[j+1]], true}
					}
				}
			}
			if tag == "__receive_time__" {
				return val{strconv.FormatInt(e.g.recv/1e9, 10), true}
			}
			return nullVal
		}
	}
	id, direct := ls.lookupID(name)
	type jsonField struct {
		id   uint32
		path string
	}
	var jsonFields []jsonField
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == '.' {
			if fid, ok := ls.lookupID(name[:i]); ok {
				jsonFields = append(jsonFields, jsonField{fid, name[i+1:]})
			}
		}
	}
	hint := 0
	if len(jsonFields) == 0 {
		if !direct {
			return func(*env) val { return nullVal }
		}
		return func(e *env) val {
			if v, ok := findKV(e.g.kv[e.g.offs[e.i]:e.g.offs[e.i+1]], id, &hint); ok {
				return val{ls.strs[v], true}
			}
			return nullVal
		}
	}
	return func(e *env) val {
		kv := e.g.kv[e.g.offs[e.i]:e.g.offs[e.i+1]]
		if direct {
			if v, ok := findKV(kv, id, &hint); ok {
				return val{ls.strs[v], true}
			}
		}
		for _, f := range jsonFields {
			doc, ok := e.json(ls, kv, f.id)
			if !ok {
				continue
			}
			if v, ok := jsonPath(doc, f.path); ok {
				return v
			}
		}
		return nullVal
	}
}

// findKV returns the value id of key id in kv, trying the position of the
// previous hit first (logs of one logstore tend to share their key order).
func findKV(kv []uint32, id uint32, hint *int) (uint32, bool) {
	if h := *hint; h+1 < len(kv) && kv[h] == id {
		return kv[h+1], true
	}
	for j := 0; j < len(kv); j += 2 {
		if kv[j] == id {
			*hint = j
			return kv[j+1], true
		}
	}
	return 0, false
}

// json returns the parsed JSON of field id of the current log, cached.
func (e *env) json(ls *logstore, kv []uint32, id uint32) (any, bool) {
	if e.jg == e.g && e.ji == e.i && e.jid == id && e.jg != nil {
		return e.jv, e.jok
	}
	e.jg, e.ji, e.jid, e.jv, e.jok = e.g, e.i, id, nil, false
	for j := 0; j < len(kv); j += 2 {
		if kv[j] == id {
			d := json.NewDecoder(strings.NewReader(ls.strs[kv[j+1]]))
			d.UseNumber()
			var v any
			if d.Decode(&v) == nil {
				e.jv, e.jok = v, true
			}
			break
		}
	}
	return e.jv, e.jok
}

// jsonPath walks a dotted path; at each object the longest matching key wins,
// so flattened keys such as "Permissions.1.IpProtocol" resolve too.
func jsonPath(doc any, path string) (val, bool) {
	obj, ok := doc.(map[string]any)
	if !ok {
		return nullVal, false
	}
	if v, ok := obj[path]; ok {
		return jsonLeaf(v)
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' {
			continue
		}
		if v, ok := obj[path[:i]]; ok {
			if r, ok := jsonPath(v, path[i+1:]); ok {
				return r, true
			}
		}
	}
	return nullVal, false
}

func jsonLeaf(v any) (val, bool) {
	switch x := v.(type) {
	case nil:
		return nullVal, true
	case string:
		return val{x, true}, true
	case json.Number:
		return val{x.String(), true}, true
	case bool:
		return boolVal(x), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nullVal, false
	}
	return val{string(b), true}, true
}

// ---- search ---------------------------------------------------------------------

func (c *compiler) search(n searchNode) func(*env) bool {
	switch n := n.(type) {
	case searchAll:
		return func(*env) bool { return true }
	case searchAnd:
		l, r := c.search(n.l), c.search(n.r)
		return func(e *env) bool { return l(e) && r(e) }
	case searchOr:
		l, r := c.search(n.l), c.search(n.r)
		return func(e *env) bool { return l(e) || r(e) }
	case searchNot:
		x := c.search(n.x)
		return func(e *env) bool { return !x(e) }
	case searchCmp:
		get := c.column(n.key)
		return func(e *env) bool {
			v := get(e)
			f, ok := parseNum(v.s)
			if !v.ok || !ok {
				return false
			}
			switch n.op {
			case ">":
				return f > n.num
			case ">=":
				return f >= n.num
			case "<":
				return f < n.num
			case "<=":
				return f <= n.num
			}
			return f == n.num
		}
	case searchTerm:
		match := func(s string) bool { return strings.EqualFold(s, n.value) }
		if n.prefix {
			match = func(s string) bool { return hasPrefixFold(s, n.value) }
		}
		if n.key == "" { // full text: any content value
			ls := c.ls
			return func(e *env) bool {
				kv := e.g.kv[e.g.offs[e.i]:e.g.offs[e.i+1]]
				for j := 1; j < len(kv); j += 2 {
					if match(ls.strs[kv[j]]) {
						return true
					}
				}
				return false
			}
		}
		get := c.column(n.key)
		if n.exists {
			return func(e *env) bool { return get(e).ok }
		}
		return func(e *env) bool {
			v := get(e)
			return v.ok && match(v.s)
		}
	}
	panic("sls: unknown search node")
}

// parseNum parses a decimal number (not "inf", "nan" or hex).
func parseNum(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	c := s[0]
	if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
		return 0, false
	}
	if len(s) > 1 && (s[1] == 'x' || s[1] == 'X') {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// compareVals orders two non-null values: numerically when both parse as
// numbers, else as strings.
func compareVals(a, b string) int {
	if fa, ok := parseNum(a); ok {
		if fb, ok := parseNum(b); ok {
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(a, b)
}

// groupKey appends an unambiguous encoding of vals to buf.
func groupKey(buf []byte, vals []val) []byte {
	for _, v := range vals {
		if !v.ok {
			buf = append(buf, 0)
			continue
		}
		buf = append(buf, 1)
		buf = binary.AppendUvarint(buf, uint64(len(v.s)))
		buf = append(buf, v.s...)
	}
	return buf
}

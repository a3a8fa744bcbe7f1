package ecs

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Paging tokens are opaque to clients: base64url of "<kind>:<key>", where key
// is the sort key of the first item of the next page. A page therefore stays
// correct when earlier items are deleted between calls.

func encodeToken(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key))
}

func decodeToken(tok, kind string) (string, *apiError) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	k, key, ok := strings.Cut(string(raw), ":")
	if err != nil || !ok || k != kind {
		return "", errf(400, "InvalidParameter.NextToken", "The specified NextToken %q is not valid.", tok)
	}
	return key, nil
}

func decodeSeqToken(tok, kind string) (uint64, *apiError) {
	key, e := decodeToken(tok, kind)
	if e != nil {
		return 0, e
	}
	n, err := strconv.ParseUint(key, 10, 64)
	if err != nil {
		return 0, errf(400, "InvalidParameter.NextToken", "The specified NextToken %q is not valid.", tok)
	}
	return n, nil
}

// intParam reads an optional integer in [lo, hi].
func intParam(c *call, name string, def, lo, hi int) (int, *apiError) {
	v := c.get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errf(400, "InvalidParameter", "The specified parameter %q (%q) is not valid: expected an integer from %d to %d.", name, v, lo, hi)
	}
	return n, nil
}

// pager is the NextToken/MaxResults or legacy PageNumber/PageSize state of a listing.
type pager struct {
	tokenMode  bool
	max        int
	pageNumber int
	pageSize   int
	tokenKey   string
	hasToken   bool
}

// tokenPager reads MaxResults (maxLo–maxHi, default maxDef) and NextToken of kind.
func tokenPager(c *call, kind string, maxDef, maxLo, maxHi int) (pager, *apiError) {
	p := pager{tokenMode: true}
	var e *apiError
	if p.max, e = intParam(c, "MaxResults", maxDef, maxLo, maxHi); e != nil {
		return p, e
	}
	if t := c.get("NextToken"); t != "" {
		if p.tokenKey, e = decodeToken(t, kind); e != nil {
			return p, e
		}
		p.hasToken = true
	}
	return p, nil
}

func readPager(c *call, kind string, maxDef, maxLo, maxHi, sizeHi int) (pager, *apiError) {
	var p pager
	if c.has("NextToken") || c.has("MaxResults") {
		return tokenPager(c, kind, maxDef, maxLo, maxHi)
	}
	var e *apiError
	if p.pageNumber, e = intParam(c, "PageNumber", 1, 1, 1<<30); e != nil {
		return p, e
	}
	if p.pageSize, e = intParam(c, "PageSize", 10, 1, sizeHi); e != nil {
		return p, e
	}
	return p, nil
}

// page cuts items (sorted by key) and returns the next token ("" at the end).
func page[T any](p pager, items []T, key func(T) string, less func(a, b string) bool, kind string) ([]T, string) {
	if !p.tokenMode {
		from := (p.pageNumber - 1) * p.pageSize
		if from >= len(items) {
			return nil, ""
		}
		return items[from:min(len(items), from+p.pageSize)], ""
	}
	from := 0
	if p.hasToken {
		for from < len(items) && less(key(items[from]), p.tokenKey) {
			from++
		}
	}
	to := min(len(items), from+p.max)
	next := ""
	if to < len(items) {
		next = encodeToken(kind, key(items[to]))
	}
	return items[from:to], next
}

func lessSeq(a, b string) bool {
	x, _ := strconv.ParseUint(a, 10, 64)
	y, _ := strconv.ParseUint(b, 10, 64)
	return x < y
}

func lessStr(a, b string) bool { return a < b }

// listParam reads a list sent as a JSON array string or a comma-separated list.
func listParam(c *call, name string, maxN int) ([]string, *apiError) {
	v := strings.TrimSpace(c.get(name))
	if v == "" {
		return nil, nil
	}
	var out []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return nil, errf(400, "InvalidParameter", "The specified parameter %q is not a valid JSON array of strings: %v.", name, err)
		}
	} else {
		for _, s := range strings.Split(v, ",") {
			if s = strings.Trim(strings.TrimSpace(s), `"`); s != "" {
				out = append(out, s)
			}
		}
	}
	if len(out) > maxN {
		return nil, errf(400, "InvalidParameter", "The specified parameter %q holds %d values; at most %d are allowed.", name, len(out), maxN)
	}
	return out, nil
}

// repeated reads Name.1, Name.2, ... in index order.
func repeated(c *call, name string, maxN int) ([]string, *apiError) {
	byN := map[int]string{}
	prefix := name + "."
	for k, vs := range c.r.Form {
		if !strings.HasPrefix(k, prefix) || len(vs) == 0 {
			continue
		}
		n, err := strconv.Atoi(k[len(prefix):])
		if err != nil {
			continue
		}
		if n < 1 || n > maxN {
			return nil, errf(400, "InvalidParameter", "The parameter %q is not valid: %s accepts 1 to %d values.", k, name, maxN)
		}
		byN[n] = vs[0]
	}
	var out []string
	for _, n := range sortedKeys(byN) {
		out = append(out, byN[n])
	}
	return out, nil
}

type tagFilter struct {
	key, value string
	hasValue   bool
}

// tagParams reads Tag.N.Key / Tag.N.Value (N = 1..20).
func tagParams(c *call) ([]tagFilter, *apiError) {
	byN := map[int]*tagFilter{}
	for k, vs := range c.r.Form {
		rest, ok := strings.CutPrefix(k, "Tag.")
		if !ok || len(vs) == 0 {
			continue
		}
		ns, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || (field != "Key" && field != "Value") {
			continue
		}
		if n < 1 || n > maxTagsPerResource {
			return nil, errf(400, "InvalidParameter", "The parameter %q is not valid: Tag accepts 1 to %d entries.", k, maxTagsPerResource)
		}
		t := byN[n]
		if t == nil {
			t = &tagFilter{}
			byN[n] = t
		}
		if field == "Key" {
			t.key = vs[0]
		} else {
			t.value, t.hasValue = vs[0], true
		}
	}
	var out []tagFilter
	for _, n := range sortedKeys(byN) {
		t := byN[n]
		if t.key == "" {
			return nil, errf(400, "InvalidTagKey.Malformed", "The specified Tag.%d.Key is empty.", n)
		}
		out = append(out, *t)
	}
	return out, nil
}

func matchTags(ts tags, fs []tagFilter) bool {
	for _, f := range fs {
		v, ok := ts.get(f.key)
		if !ok || (f.hasValue && v != f.value) {
			return false
		}
	}
	return true
}

func validateTag(k, v string) *apiError {
	lk := strings.ToLower(k)
	if k == "" || utf8.RuneCountInString(k) > 128 || strings.HasPrefix(lk, "aliyun") || strings.HasPrefix(lk, "acs:") ||
		strings.Contains(lk, "http://") || strings.Contains(lk, "https://") {
		return errf(400, "InvalidTagKey.Malformed", "The specified tag key %q is not valid: 1 to 128 characters, not starting with aliyun or acs:, no http:// or https://.", k)
	}
	lv := strings.ToLower(v)
	if utf8.RuneCountInString(v) > 128 || strings.Contains(lv, "http://") || strings.Contains(lv, "https://") {
		return errf(400, "InvalidTagValue.Malformed", "The specified tag value %q is not valid: up to 128 characters, no http:// or https://.", v)
	}
	return nil
}

// apiTag is the shared Tag shape; both key pairs are filled because the SDK
// struct has both and real APIs differ in which they fill.
type apiTag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
	Key      string `json:"Key"`
	Value    string `json:"Value"`
}

type apiTags struct {
	Tag []apiTag `json:"Tag"`
}

func renderTags(ts tags) apiTags {
	out := apiTags{Tag: make([]apiTag, 0, len(ts))}
	for _, t := range ts {
		out.Tag = append(out.Tag, apiTag{t.key, t.value, t.key, t.value})
	}
	return out
}

package ecs

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

const listTagPageSize = 50

// resourceTags returns the tags of one resource, or nil when it does not exist.
func resourceTags(reg *region, typ, id string) *tags {
	switch typ {
	case "securitygroup":
		if g := reg.groups[id]; g != nil {
			return &g.tags
		}
	case "instance":
		if in := reg.instances[id]; in != nil {
			return &in.tags
		}
	case "eni":
		if n := reg.enis[id]; n != nil {
			return &n.tags
		}
	}
	return nil
}

var trailResourceType = map[string]string{
	"securitygroup": "ACS::ECS::SecurityGroup",
	"instance":      "ACS::ECS::Instance",
	"eni":           "ACS::ECS::NetworkInterface",
}

func resourceType(c *call) (string, *apiError) {
	t := c.get("ResourceType")
	switch t {
	case "":
		return "", errMissing("ResourceType")
	case "securitygroup", "instance", "eni":
		return t, nil
	}
	return "", errf(400, "InvalidResourceType.NotSupported",
		"The specified ResourceType %q is not supported by localcloud: securitygroup, instance or eni (lowercase).", t)
}

// taggedResources resolves ResourceType and ResourceId.N; every id must exist.
func (s *Server) taggedResources(c *call, reg *region) (string, []string, []*tags, *apiError) {
	typ, e := resourceType(c)
	if e != nil {
		return "", nil, nil, e
	}
	ids, e := repeated(c, "ResourceId", 50)
	if e != nil {
		return "", nil, nil, e
	}
	if len(ids) == 0 {
		return "", nil, nil, errMissing("ResourceId.1")
	}
	var out []*tags
	for _, id := range ids {
		var ts *tags
		if reg != nil {
			ts = resourceTags(reg, typ, id)
		}
		if ts == nil {
			return "", nil, nil, errf(404, "InvalidResourceId.NotFound", "The specified %s %q does not exist.", typ, id)
		}
		out = append(out, ts)
	}
	return typ, ids, out, nil
}

func (s *Server) tagResources(c *call) (any, *writeResult, *apiError) {
	tfs, e := tagParams(c)
	if e != nil {
		return nil, nil, e
	}
	if len(tfs) == 0 {
		return nil, nil, errMissing("Tag.1.Key")
	}
	for _, t := range tfs {
		if e := validateTag(t.key, t.value); e != nil {
			return nil, nil, e
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	typ, ids, all, e := s.taggedResources(c, s.regions[c.region])
	if e != nil {
		return nil, nil, e
	}
	for i, ts := range all {
		n := len(*ts)
		for _, t := range tfs {
			if _, ok := ts.get(t.key); !ok {
				n++
			}
		}
		if n > maxTagsPerResource {
			return nil, nil, errf(400, "InvalidTagCount", "The resource %s would have %d tags; at most %d are allowed.", ids[i], n, maxTagsPerResource)
		}
	}
	for _, ts := range all {
		for _, t := range tfs {
			ts.set(t.key, t.value)
		}
	}
	return requestIDOnly{c.requestID}, &writeResult{resources: map[string][]string{trailResourceType[typ]: ids}}, nil
}

func (s *Server) untagResources(c *call) (any, *writeResult, *apiError) {
	keys, e := repeated(c, "TagKey", 20)
	if e != nil {
		return nil, nil, e
	}
	removeAll := strings.EqualFold(c.get("All"), "true")
	s.mu.Lock()
	defer s.mu.Unlock()
	typ, ids, all, e := s.taggedResources(c, s.regions[c.region])
	if e != nil {
		return nil, nil, e
	}
	for _, ts := range all {
		switch {
		case len(keys) > 0:
			for _, k := range keys {
				ts.del(k)
			}
		case removeAll:
			*ts = nil
		}
	}
	return requestIDOnly{c.requestID}, &writeResult{resources: map[string][]string{trailResourceType[typ]: ids}}, nil
}

type tagFilterN struct {
	key    string
	values []string
}

func tagFilterParams(c *call) ([]tagFilterN, *apiError) {
	byN := map[int]*tagFilterN{}
	for k, vs := range c.r.Form {
		rest, ok := strings.CutPrefix(k, "TagFilter.")
		if !ok || len(vs) == 0 {
			continue
		}
		ns, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(ns)
		if err != nil || n < 1 || n > 5 {
			return nil, errf(400, "InvalidParameter", "The parameter %q is not valid: TagFilter accepts 1 to 5 entries.", k)
		}
		f := byN[n]
		if f == nil {
			f = &tagFilterN{}
			byN[n] = f
		}
		switch {
		case field == "TagKey":
			f.key = vs[0]
		case strings.HasPrefix(field, "TagValues."):
			f.values = append(f.values, vs[0])
		}
	}
	var out []tagFilterN
	for _, n := range sortedKeys(byN) {
		if byN[n].key == "" {
			return nil, errMissing("TagFilter." + strconv.Itoa(n) + ".TagKey")
		}
		out = append(out, *byN[n])
	}
	return out, nil
}

// glob matches a TagFilter value pattern where '*' stands for any run of characters.
func glob(pattern, v string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == v
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(v, parts[0]) {
		return false
	}
	v = v[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(v, p)
		}
		j := strings.Index(v, p)
		if j < 0 {
			return false
		}
		v = v[j+len(p):]
	}
	return true
}

type apiTagResource struct {
	ResourceID   string `json:"ResourceId"`
	ResourceType string `json:"ResourceType"`
	TagKey       string `json:"TagKey"`
	TagValue     string `json:"TagValue"`
}

// listTagResources returns one row per (resource, tag), sorted by resource id
// then key, 50 rows per page. A resource is listed when it matches every
// Tag.N (exact) and TagFilter.N (key, and any of the value patterns); with
// filters, only the rows of the filtered keys are returned.
func (s *Server) listTagResources(c *call) (any, *writeResult, *apiError) {
	typ, e := resourceType(c)
	if e != nil {
		return nil, nil, e
	}
	ids, e := repeated(c, "ResourceId", 50)
	if e != nil {
		return nil, nil, e
	}
	tfs, e := tagParams(c)
	if e != nil {
		return nil, nil, e
	}
	fns, e := tagFilterParams(c)
	if e != nil {
		return nil, nil, e
	}
	var from string
	if t := c.get("NextToken"); t != "" {
		if from, e = decodeToken(t, "tag"); e != nil {
			return nil, nil, e
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	type res struct {
		id string
		ts tags
	}
	var rs []res
	if reg := s.regions[c.region]; reg != nil {
		switch typ {
		case "securitygroup":
			for id, g := range reg.groups {
				rs = append(rs, res{id, g.tags})
			}
		case "instance":
			for id, in := range reg.instances {
				rs = append(rs, res{id, in.tags})
			}
		case "eni":
			for id, n := range reg.enis {
				rs = append(rs, res{id, n.tags})
			}
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].id < rs[j].id })
	filterKeys := map[string]bool{}
	for _, f := range tfs {
		filterKeys[f.key] = true
	}
	for _, f := range fns {
		filterKeys[f.key] = true
	}
	var rows []apiTagResource
	for _, r := range rs {
		if len(ids) > 0 && !slices.Contains(ids, r.id) || !matchTags(r.ts, tfs) {
			continue
		}
		ok := true
		for _, f := range fns {
			v, has := r.ts.get(f.key)
			if !has || (len(f.values) > 0 && !slices.ContainsFunc(f.values, func(p string) bool { return glob(p, v) })) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		keys := make([]tag, len(r.ts))
		copy(keys, r.ts)
		sort.Slice(keys, func(i, j int) bool { return keys[i].key < keys[j].key })
		for _, t := range keys {
			if len(filterKeys) == 0 || filterKeys[t.key] {
				rows = append(rows, apiTagResource{r.id, typ, t.key, t.value})
			}
		}
	}
	key := func(r apiTagResource) string { return r.ResourceID + "\x00" + r.TagKey }
	start := sort.Search(len(rows), func(i int) bool { return key(rows[i]) >= from })
	end := min(len(rows), start+listTagPageSize)
	next := ""
	if end < len(rows) {
		next = encodeToken("tag", key(rows[end]))
	}
	page := append([]apiTagResource{}, rows[start:end]...)
	type trs struct {
		TagResource []apiTagResource `json:"TagResource"`
	}
	return struct {
		RequestID    string `json:"RequestId"`
		NextToken    string `json:"NextToken"`
		TagResources trs    `json:"TagResources"`
	}{c.requestID, next, trs{page}}, nil, nil
}

package sls

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"
)

// ---- projects ----------------------------------------------------------------

type projectJSON struct {
	ProjectName    string `json:"projectName"`
	Description    string `json:"description"`
	Status         string `json:"status"`
	Owner          string `json:"owner"`
	Region         string `json:"region"`
	CreateTime     string `json:"createTime"`
	LastModifyTime string `json:"lastModifyTime"`
}

func toProjectJSON(p *project) projectJSON {
	ts := strconv.FormatInt(p.created.Unix(), 10)
	return projectJSON{ProjectName: p.name, Description: p.description, Status: "Normal", Region: p.region, CreateTime: ts, LastModifyTime: ts}
}

func (s *Server) createProjectHTTP(c *call) error {
	var req struct {
		ProjectName string `json:"projectName"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return errf(400, "PostBodyInvalid", "invalid CreateProject body: %v", err)
	}
	if req.ProjectName != c.project {
		return errf(400, "ParameterInvalid", "projectName %q does not match the Host project %q", req.ProjectName, c.project)
	}
	region := c.region
	if region == "" {
		region = "cn-hangzhou"
	}
	if _, err := s.createProject(req.ProjectName, req.Description, region, false); err != nil {
		return err
	}
	return ok(c)
}

func (s *Server) getProject(c *call) error {
	s.mu.RLock()
	p := s.projects[c.project]
	pj := toProjectJSON(p)
	s.mu.RUnlock()
	writeJSON(c.w, 200, pj)
	return nil
}

func (s *Server) deleteProject(c *call) error {
	s.mu.Lock()
	delete(s.projects, c.project)
	s.mu.Unlock()
	return ok(c)
}

func (s *Server) listProject(c *call) error {
	s.mu.RLock()
	out := []projectJSON{}
	for _, name := range sortedNames(s.projects) {
		out = append(out, toProjectJSON(s.projects[name]))
	}
	s.mu.RUnlock()
	writeJSON(c.w, 200, map[string]any{"projects": out, "count": len(out), "total": len(out)})
	return nil
}

func ok(c *call) error {
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

// ---- logstores -----------------------------------------------------------------

type logstoreJSON struct {
	Name           string `json:"logstoreName"`
	TTL            int    `json:"ttl"`
	ShardCount     int    `json:"shardCount"`
	WebTracking    bool   `json:"enable_tracking"`
	AutoSplit      bool   `json:"autoSplit"`
	MaxSplitShard  int    `json:"maxSplitShard"`
	AppendMeta     bool   `json:"appendMeta"`
	TelemetryType  string `json:"telemetryType"`
	CreateTime     uint32 `json:"createTime"`
	LastModifyTime uint32 `json:"lastModifyTime"`
}

func (s *Server) createLogstoreHTTP(c *call) error {
	var req logstoreJSON
	if err := json.Unmarshal(c.body, &req); err != nil {
		return errf(400, "PostBodyInvalid", "invalid CreateLogStore body: %v", err)
	}
	if req.TTL < 1 {
		return errf(400, "ParameterInvalid", "ttl %d must be at least 1 day", req.TTL)
	}
	if _, err := s.createLogstore(c.project, req.Name, req.ShardCount, req.TTL, false); err != nil {
		return err
	}
	return ok(c)
}

func (s *Server) getLogstore(c *call) error {
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	ttl := ls.ttlDays
	if ttl == 0 {
		ttl = 3650
	}
	ls.mu.RLock()
	n := len(ls.shards)
	ls.mu.RUnlock()
	ct := uint32(ls.created.Unix())
	writeJSON(c.w, 200, logstoreJSON{Name: ls.name, TTL: ttl, ShardCount: n, CreateTime: ct, LastModifyTime: ct})
	return nil
}

func (s *Server) deleteLogstore(c *call) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projects[c.project]
	if p == nil {
		return errProjectNotExist(c.project)
	}
	if _, ok := p.logstores[c.logstore]; !ok {
		return errLogStoreNotExist(c.logstore)
	}
	delete(p.logstores, c.logstore)
	return ok(c)
}

func (s *Server) listLogstores(c *call) error {
	offset, _ := strconv.Atoi(c.query.Get("offset"))
	size, _ := strconv.Atoi(c.query.Get("size"))
	if size <= 0 {
		size = 500
	}
	s.mu.RLock()
	p := s.projects[c.project]
	var names []string
	if p != nil {
		names = sortedNames(p.logstores)
	}
	s.mu.RUnlock()
	total := len(names)
	names = names[min(offset, total):min(offset+size, total)]
	writeJSON(c.w, 200, map[string]any{"count": len(names), "total": total, "logstores": append([]string{}, names...)})
	return nil
}

func (s *Server) listShards(c *call) error {
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	type shardJSON struct {
		ShardID           int    `json:"shardID"`
		Status            string `json:"status"`
		InclusiveBeginKey string `json:"inclusiveBeginKey"`
		ExclusiveEndKey   string `json:"exclusiveEndKey"`
		CreateTime        int64  `json:"createTime"`
	}
	ls.mu.RLock()
	out := make([]shardJSON, len(ls.shards))
	for i, sh := range ls.shards {
		b, e := shardRange(i, len(ls.shards))
		out[i] = shardJSON{ShardID: sh.id, Status: "readwrite", InclusiveBeginKey: b, ExclusiveEndKey: e, CreateTime: ls.created.Unix()}
	}
	ls.mu.RUnlock()
	writeJSON(c.w, 200, out)
	return nil
}

// ---- index ---------------------------------------------------------------------
//
// The index configuration is stored as sent (GetIndex returns it) and its
// field list is not interpreted: every field is searchable as text and as a
// number. What the index decides is whether GetLogs runs at all (400
// IndexConfigNotExist without one) and which logs it sees: only those received
// after the index was created (see QUERY.md).

// checkIndexBody validates a CreateIndex/UpdateIndex body: a JSON object with
// a full-text index (line), field indexes (keys) or both.
func checkIndexBody(body []byte) error {
	var idx struct {
		Keys map[string]json.RawMessage `json:"keys"`
		Line json.RawMessage            `json:"line"`
	}
	if err := json.Unmarshal(body, &idx); err != nil {
		return errf(400, "PostBodyInvalid", "index configuration is not a JSON object: %v", err)
	}
	if len(idx.Keys) == 0 && (len(idx.Line) == 0 || string(idx.Line) == "null") {
		return errf(400, "ParameterInvalid", "index configuration needs line (full-text index), keys (field indexes) or both")
	}
	return nil
}

func errIndexNotExist(ls *logstore) *Error {
	return errf(400, "IndexConfigNotExist", "index config doesn't exist: logstore %s has no index", ls.name)
}

// createIndex installs the index of ls; from now on every shard's new groups
// are indexed. ls.mu held for writing.
func (ls *logstore) createIndex(body []byte) {
	ls.index = bytes.Clone(body)
	for _, sh := range ls.shards {
		sh.indexFrom = sh.end()
	}
}

func (s *Server) putIndex(c *call) error {
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	if err := checkIndexBody(c.body); err != nil {
		return err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	switch {
	case c.r.Method == http.MethodPost && ls.hasIndex():
		return errf(400, "IndexAlreadyExist", "index of logstore %s already exists", ls.name)
	case c.r.Method == http.MethodPost:
		ls.createIndex(c.body)
	case !ls.hasIndex():
		return errIndexNotExist(ls)
	default:
		// An update changes the configuration, not which logs are indexed.
		ls.index = bytes.Clone(c.body)
	}
	return ok(c)
}

func (s *Server) getIndex(c *call) error {
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	ls.mu.RLock()
	idx := ls.index
	ls.mu.RUnlock()
	if idx == nil {
		return errIndexNotExist(ls)
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(200)
	c.w.Write(idx)
	return nil
}

// deleteIndex drops the index: GetLogs fails again, and an index created
// later covers only what is written after it.
func (s *Server) deleteIndex(c *call) error {
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if !ls.hasIndex() {
		return errIndexNotExist(ls)
	}
	ls.index = nil
	return ok(c)
}

// ---- data plane ------------------------------------------------------------------

func (s *Server) putLogs(c *call) error {
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	if ct := c.r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		return errf(415, "InvalidContentType", "Content-Type %s is unsupported (localcloud takes application/x-protobuf)", ct)
	}
	raw, err := decodeBody(c.body, c.r.Header.Get("x-log-compresstype"), c.r.Header.Get("x-log-bodyrawsize"))
	if err != nil {
		return err
	}
	var lg sdk.LogGroup
	if err := lg.Unmarshal(raw); err != nil {
		return errf(400, "PostBodyInvalid", "body is not a protobuf LogGroup: %v", err)
	}
	if len(lg.Logs) == 0 {
		return errf(400, "PostBodyInvalid", "log group has no logs")
	}
	hashKey := ""
	if strings.HasSuffix(c.r.URL.Path, "/shards/route") {
		hashKey = c.query.Get("key")
		if hashKey == "" {
			return errf(400, "ParameterInvalid", "key is required for /shards/route")
		}
	}
	now, wall := s.now(), s.wallNow()
	ls.mu.Lock()
	shard := ls.appendGroup(ls.buildProtoGroup(&lg, now), hashKey, wall)
	ls.mu.Unlock()
	s.fireAppend(c.project, c.logstore, shard)
	return ok(c)
}

func (s *Server) getCursor(c *call) error {
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	sh, err := ls.shard(c.shard)
	if err != nil {
		return err
	}
	var seq int64
	switch from := c.query.Get("from"); from {
	case "begin":
		seq = sh.base
	case "end":
		seq = sh.end()
	default:
		sec, err := strconv.ParseInt(from, 10, 64)
		if err != nil || sec < 0 {
			return errf(400, "ParameterInvalid", "from must be begin, end or a unix time in seconds, not %q", from)
		}
		seq = sh.seqAt(time.Unix(sec, 0))
	}
	writeJSON(c.w, 200, map[string]string{"cursor": encodeCursor(seq)})
	return nil
}

func (s *Server) getCursorTime(c *call) error {
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	sh, err := ls.shard(c.shard)
	if err != nil {
		return err
	}
	seq, err := decodeCursor(c.query.Get("cursor"))
	if err != nil {
		return errf(400, "InvalidCursor", "cursor %q is invalid", c.query.Get("cursor"))
	}
	if err := sh.checkSeq(seq, "cursor"); err != nil {
		return err
	}
	if seq == sh.end() {
		if len(sh.groups) == 0 {
			return errf(400, "InvalidCursor", "shard %d has no data", sh.id)
		}
		seq--
	}
	writeJSON(c.w, 200, map[string]int64{"cursor_time": time.Unix(0, sh.groups[seq-sh.base].recv).Unix()})
	return nil
}

func (s *Server) pullLogs(c *call) error {
	if c.query.Get("query") != "" {
		return errf(400, "NotSupported", "localcloud sls does not emulate PullLogs with a query (SPL)")
	}
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	count, err := strconv.Atoi(c.query.Get("count"))
	if err != nil || count < 1 || count > 1000 {
		return errf(400, "ParameterInvalid", "count must be in [1, 1000], not %q", c.query.Get("count"))
	}
	from, err := decodeCursor(c.query.Get("cursor"))
	if err != nil {
		return errf(400, "InvalidCursor", "cursor %q is invalid", c.query.Get("cursor"))
	}
	ls.mu.RLock()
	sh, err := ls.shard(c.shard)
	if err != nil {
		ls.mu.RUnlock()
		return err
	}
	if err := sh.checkSeq(from, "cursor"); err != nil {
		ls.mu.RUnlock()
		return err
	}
	to := min(sh.end(), from+int64(count))
	if ec := c.query.Get("end_cursor"); ec != "" {
		end, err := decodeCursor(ec)
		if err != nil {
			ls.mu.RUnlock()
			return errf(400, "InvalidCursor", "end_cursor %q is invalid", ec)
		}
		if err := sh.checkSeq(end, "end_cursor"); err != nil {
			ls.mu.RUnlock()
			return err
		}
		if end < from {
			ls.mu.RUnlock()
			return errf(400, "InvalidCursor", "end_cursor %s is before cursor %s", ec, c.query.Get("cursor"))
		}
		to = min(to, end)
	}
	var list sdk.LogGroupList
	for seq := from; seq < to; seq++ {
		list.LogGroups = append(list.LogGroups, ls.toProto(sh.groups[seq-sh.base]))
	}
	ls.mu.RUnlock()

	n := len(list.LogGroups)
	h := c.w.Header()
	h.Set("x-log-cursor", encodeCursor(to))
	h.Set("x-log-count", strconv.Itoa(n))
	h.Set("Content-Type", "application/x-protobuf")
	if n == 0 {
		h.Set("x-log-bodyrawsize", "0")
		h.Set("x-log-compresstype", "lz4")
		return ok(c)
	}
	h.Set("x-log-read-last-cursor", strconv.FormatInt(to-1, 10))
	raw, err := list.Marshal()
	if err != nil {
		return err
	}
	kind := "lz4"
	if strings.Contains(c.r.Header.Get("Accept-Encoding"), "zstd") {
		kind = "zstd"
	}
	out := compressBody(raw, kind)
	h.Set("x-log-bodyrawsize", strconv.Itoa(len(raw)))
	h.Set("x-log-compresstype", kind)
	h.Set("Content-Length", strconv.Itoa(len(out)))
	c.w.WriteHeader(200)
	c.w.Write(out)
	return nil
}

// getLogsRequest is the JSON body of POST /logstores/{ls}/logs (sdk.GetLogRequest).
type getLogsRequest struct {
	From     int64  `json:"from"`
	To       int64  `json:"to"`
	Topic    string `json:"topic"`
	Line     *int64 `json:"line"`
	Offset   int64  `json:"offset"`
	Reverse  bool   `json:"reverse"`
	Query    string `json:"query"`
	PowerSQL bool   `json:"powerSql"`
}

func (s *Server) getLogs(c *call) error {
	ls, err := s.logstore(c.project, c.logstore)
	if err != nil {
		return err
	}
	ls.mu.RLock()
	indexed := ls.hasIndex()
	ls.mu.RUnlock()
	if !indexed {
		return errNoIndexForQuery(ls)
	}
	var req getLogsRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		return errf(400, "PostBodyInvalid", "invalid GetLogs body: %v", err)
	}
	if req.From > req.To {
		return errf(400, "InvalidTimeRange", "from %d is after to %d", req.From, req.To)
	}
	line := int64(100)
	if req.Line != nil && *req.Line != 0 {
		line = *req.Line
	}
	if line < 0 || line > 100 {
		return errf(400, "InvalidLine", "line %d must be in [0, 100]", line)
	}
	if req.Offset < 0 {
		return errf(400, "InvalidOffset", "offset %d must not be negative", req.Offset)
	}
	start := time.Now()
	res, err := ls.run(queryRequest{from: req.From, to: req.To, topic: req.Topic, query: req.Query, line: int(line), offset: int(req.Offset), reverse: req.Reverse,
		index: s.indexView()})
	if err != nil {
		return err
	}
	meta := map[string]any{
		"progress":           "Complete",
		"count":              len(res.rows),
		"hasSQL":             res.hasSQL,
		"processedRows":      res.processed,
		"elapsedMillisecond": time.Since(start).Milliseconds(),
		"keys":               res.keys,
		"whereQuery":         res.whereQuery,
		"aggQuery":           res.aggQuery,
		"powerSql":           false,
		"isAccurate":         true,
	}
	writeJSON(c.w, 200, map[string]any{"meta": meta, "data": res.rows})
	return nil
}

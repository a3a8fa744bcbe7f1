package sls

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"
)

// Log is one log of a LogGroupInput.
type Log struct {
	// Time is the log time (the __time__ field). The zero value means the
	// receive time.
	Time time.Time
	// Contents are the key/value pairs in order; keys may repeat.
	Contents [][2]string
}

// LogGroupInput is one log group handed to Append, as a producer would PutLogs it.
type LogGroupInput struct {
	Topic  string
	Source string
	// Tags become the group's LogTags (queried as "__tag__:<key>").
	Tags [][2]string
	// HashKey routes the group to the shard whose key range holds it (as
	// PutLogs to /shards/route?key=…); empty means round robin.
	HashKey string
	Logs    []Log
}

var (
	projectNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	logstoreNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$`)
)

// maxShards bounds the shard count of one logstore.
const maxShards = 256

type project struct {
	name        string
	description string
	region      string
	created     time.Time
	logstores   map[string]*logstore
}

// logstore holds the data of one logstore. Every field below mu is guarded by it.
type logstore struct {
	project string
	name    string
	ttlDays int // 0 or >= 3650: never expires
	created time.Time

	mu     sync.RWMutex
	shards []*shard
	// strs/ids intern every key and value string of the logstore: logs store
	// uint32 ids, which keeps a million flow-log records compact.
	strs  []string
	ids   map[string]uint32
	rr    int
	index []byte // the stored index configuration, nil when none
}

// hasIndex reports whether the logstore has an index; ls.mu held.
func (ls *logstore) hasIndex() bool { return ls.index != nil }

// shard is an append-only sequence of groups; groups[i] has sequence base+i.
// Groups older than the TTL are dropped from the front (base moves on).
type shard struct {
	id     int
	base   int64
	groups []*group
	// indexFrom is the sequence of the first group the logstore's index
	// covers: the shard's end when the index was created. Groups before it
	// were written without an index and are never searchable (PullLogs still
	// reads them). Meaningless while the logstore has no index.
	indexFrom int64
}

// group is one stored LogGroup. Log i has time times[i] and the interned
// key/value pairs kv[offs[i]:offs[i+1]] (even index key, odd index value).
type group struct {
	recv   int64 // receive time, unix nanoseconds (virtual clock)
	wall   int64 // receive time, unix nanoseconds (wall clock, Config.Wall): the index delay runs from it
	topic  string
	source string
	tags   []uint32 // interned key/value pairs
	times  []uint32
	nanos  []uint32 // nil when no log has a nanosecond part
	offs   []uint32
	kv     []uint32
	minT   uint32
	maxT   uint32
}

func (g *group) len() int { return len(g.times) }

func newLogstore(projectName, name string, shards, ttlDays int, now time.Time) *logstore {
	ls := &logstore{project: projectName, name: name, ttlDays: ttlDays, created: now, ids: map[string]uint32{}}
	for i := range shards {
		ls.shards = append(ls.shards, &shard{id: i})
	}
	return ls
}

// intern returns the id of str; ls.mu must be held for writing.
func (ls *logstore) intern(str string) uint32 {
	if id, ok := ls.ids[str]; ok {
		return id
	}
	id := uint32(len(ls.strs))
	ls.strs = append(ls.strs, str)
	ls.ids[str] = id
	return id
}

// lookupID returns the id of str if it was ever interned; ls.mu must be held.
func (ls *logstore) lookupID(str string) (uint32, bool) {
	id, ok := ls.ids[str]
	return id, ok
}

// shardFor picks the shard for a hash key (or round robin); ls.mu held for writing.
func (ls *logstore) shardFor(hashKey string) int {
	n := len(ls.shards)
	if hashKey == "" {
		i := ls.rr % n
		ls.rr++
		return i
	}
	hi, _ := bits.Mul64(hashKeyPrefix(hashKey), uint64(n))
	return int(hi)
}

// hashKeyPrefix returns the first 64 bits of a 128-bit hash key. SLS takes
// the key as 32 hex digits (an MD5); any other string is hashed with MD5 first.
func hashKeyPrefix(key string) uint64 {
	if len(key) == 32 {
		if b, err := hex.DecodeString(key); err == nil {
			return beUint64(b)
		}
	}
	sum := md5.Sum([]byte(key))
	return beUint64(sum[:])
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}

// shardRange returns shard i's [begin, end) MD5 key range as SLS prints it.
func shardRange(i, n int) (begin, end string) {
	key := func(i int) string {
		if i >= n {
			return "ffffffffffffffffffffffffffffffff"
		}
		q, _ := bits.Div64(uint64(i), 0, uint64(n))
		return fmt.Sprintf("%016x0000000000000000", q)
	}
	return key(i), key(i + 1)
}

// cutoff returns the receive time (unix ns) before which groups have expired,
// and false when the logstore never expires.
func (ls *logstore) cutoff(now time.Time) (int64, bool) {
	if ls.ttlDays <= 0 || ls.ttlDays >= 3650 {
		return 0, false
	}
	return now.Add(-time.Duration(ls.ttlDays) * 24 * time.Hour).UnixNano(), true
}

// expire drops the groups older than the TTL at now.
func (ls *logstore) expire(now time.Time) {
	cut, ok := ls.cutoff(now)
	if !ok {
		return
	}
	ls.mu.RLock()
	need := false
	for _, sh := range ls.shards {
		if len(sh.groups) > 0 && sh.groups[0].recv < cut {
			need = true
			break
		}
	}
	ls.mu.RUnlock()
	if !need {
		return
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, sh := range ls.shards {
		k := sort.Search(len(sh.groups), func(i int) bool { return sh.groups[i].recv >= cut })
		if k == 0 {
			continue
		}
		clear(sh.groups[:k])
		sh.groups = sh.groups[k:]
		sh.base += int64(k)
	}
}

// buildGroup interns one input group; ls.mu held for writing.
func (ls *logstore) buildGroup(in *LogGroupInput, now time.Time) *group {
	g := &group{recv: now.UnixNano(), topic: in.Topic, source: in.Source}
	for _, t := range in.Tags {
		g.tags = append(g.tags, ls.intern(t[0]), ls.intern(t[1]))
	}
	n := 0
	for _, l := range in.Logs {
		n += len(l.Contents)
	}
	g.times = make([]uint32, 0, len(in.Logs))
	g.offs = make([]uint32, 1, len(in.Logs)+1)
	g.kv = make([]uint32, 0, 2*n)
	for i, l := range in.Logs {
		t := l.Time
		if t.IsZero() {
			t = now
		}
		g.addTime(i, uint32(t.Unix()), uint32(t.Nanosecond()))
		for _, c := range l.Contents {
			g.kv = append(g.kv, ls.intern(c[0]), ls.intern(c[1]))
		}
		g.offs = append(g.offs, uint32(len(g.kv)))
	}
	return g
}

// buildProtoGroup interns one decoded PutLogs group; ls.mu held for writing.
func (ls *logstore) buildProtoGroup(lg *sdk.LogGroup, now time.Time) *group {
	g := &group{recv: now.UnixNano(), topic: lg.GetTopic(), source: lg.GetSource()}
	for _, t := range lg.LogTags {
		g.tags = append(g.tags, ls.intern(t.GetKey()), ls.intern(t.GetValue()))
	}
	n := 0
	for _, l := range lg.Logs {
		n += len(l.Contents)
	}
	g.times = make([]uint32, 0, len(lg.Logs))
	g.offs = make([]uint32, 1, len(lg.Logs)+1)
	g.kv = make([]uint32, 0, 2*n)
	for i, l := range lg.Logs {
		g.addTime(i, l.GetTime(), l.GetTimeNs())
		for _, c := range l.Contents {
			g.kv = append(g.kv, ls.intern(c.GetKey()), ls.intern(c.GetValue()))
		}
		g.offs = append(g.offs, uint32(len(g.kv)))
	}
	return g
}

func (g *group) addTime(i int, sec, ns uint32) {
	g.times = append(g.times, sec)
	if ns != 0 && g.nanos == nil {
		g.nanos = make([]uint32, i, cap(g.times))
	}
	if g.nanos != nil {
		g.nanos = append(g.nanos, ns)
	}
	if i == 0 || sec < g.minT {
		g.minT = sec
	}
	if i == 0 || sec > g.maxT {
		g.maxT = sec
	}
}

// appendGroup stores g, received at wall (wall clock), in a shard and returns
// the shard id; ls.mu held for writing.
func (ls *logstore) appendGroup(g *group, hashKey string, wall time.Time) int {
	g.wall = unixNano(wall)
	i := ls.shardFor(hashKey)
	sh := ls.shards[i]
	sh.groups = append(sh.groups, g)
	return sh.id
}

// toProto rebuilds the wire form of g; ls.mu held for reading.
func (ls *logstore) toProto(g *group) *sdk.LogGroup {
	lg := &sdk.LogGroup{}
	if g.topic != "" {
		lg.Topic = ptr(g.topic)
	}
	if g.source != "" {
		lg.Source = ptr(g.source)
	}
	for i := 0; i < len(g.tags); i += 2 {
		lg.LogTags = append(lg.LogTags, &sdk.LogTag{Key: ptr(ls.strs[g.tags[i]]), Value: ptr(ls.strs[g.tags[i+1]])})
	}
	lg.Logs = make([]*sdk.Log, g.len())
	for i := range g.len() {
		l := &sdk.Log{Time: ptr(g.times[i])}
		if g.nanos != nil && g.nanos[i] != 0 {
			l.TimeNs = ptr(g.nanos[i])
		}
		kv := g.kv[g.offs[i]:g.offs[i+1]]
		l.Contents = make([]*sdk.LogContent, len(kv)/2)
		for j := range l.Contents {
			l.Contents[j] = &sdk.LogContent{Key: ptr(ls.strs[kv[2*j]]), Value: ptr(ls.strs[kv[2*j+1]])}
		}
		lg.Logs[i] = l
	}
	return lg
}

func ptr[T any](v T) *T { return &v }

// unixNano is t.UnixNano clamped to int64 (zero and far times included).
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Cursors are base64 of the decimal per-shard group sequence, as the SDK expects.
func encodeCursor(seq int64) string {
	return base64.StdEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// end returns the sequence after the last group.
func (sh *shard) end() int64 { return sh.base + int64(len(sh.groups)) }

// seqAt returns the sequence of the first group received at or after t.
func (sh *shard) seqAt(t time.Time) int64 {
	ns := unixNano(t)
	k := sort.Search(len(sh.groups), func(i int) bool { return sh.groups[i].recv >= ns })
	return sh.base + int64(k)
}

// checkSeq validates a decoded cursor against the shard.
func (sh *shard) checkSeq(seq int64, what string) error {
	if seq < sh.base || seq > sh.end() {
		return errf(400, "InvalidCursor", "%s %s is out of range [%s, %s] of shard %d", what, encodeCursor(seq), encodeCursor(sh.base), encodeCursor(sh.end()), sh.id)
	}
	return nil
}

// ---- the Go API -------------------------------------------------------------

// CreateProject creates a project. It is idempotent: an existing project is
// left as it is. (The HTTP API answers ProjectAlreadyExist instead.)
func (s *Server) CreateProject(name string) error {
	_, err := s.createProject(name, "", "cn-hangzhou", true)
	return err
}

func (s *Server) createProject(name, description, region string, idempotent bool) (*project, error) {
	if !projectNameRE.MatchString(name) {
		return nil, errf(400, "ParameterInvalid", "invalid project name %q: 3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.projects[name]; ok {
		if idempotent {
			return p, nil
		}
		return nil, errf(400, "ProjectAlreadyExist", "Project %s already exist", name)
	}
	p := &project{name: name, description: description, region: region, created: s.now(), logstores: map[string]*logstore{}}
	s.projects[name] = p
	return p, nil
}

// CreateLogstore creates a logstore with the given number of shards and no
// expiry. It is idempotent: an existing logstore is left as it is.
func (s *Server) CreateLogstore(project, logstore string, shards int) error {
	_, err := s.createLogstore(project, logstore, shards, 0, true)
	return err
}

func (s *Server) createLogstore(projectName, name string, shards, ttlDays int, idempotent bool) (*logstore, error) {
	if !logstoreNameRE.MatchString(name) {
		return nil, errf(400, "ParameterInvalid", "invalid logstore name %q: 3-63 lowercase letters, digits, hyphens and underscores", name)
	}
	if shards < 1 || shards > maxShards {
		return nil, errf(400, "ParameterInvalid", "shardCount %d is out of range [1, %d]", shards, maxShards)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.projects[projectName]
	if !ok {
		return nil, errProjectNotExist(projectName)
	}
	if ls, ok := p.logstores[name]; ok {
		if idempotent {
			return ls, nil
		}
		return nil, errf(400, "LogStoreAlreadyExist", "logstore %s already exist", name)
	}
	ls := newLogstore(projectName, name, shards, ttlDays, s.now())
	p.logstores[name] = ls
	return ls, nil
}

func errProjectNotExist(name string) *Error {
	return errf(404, "ProjectNotExist", "The Project does not exist : %s", name)
}

func errLogStoreNotExist(name string) *Error {
	return errf(404, "LogStoreNotExist", "logstore %s does not exist", name)
}

// logstore finds a logstore and drops its expired groups.
func (s *Server) logstore(projectName, name string) (*logstore, error) {
	s.mu.RLock()
	p, ok := s.projects[projectName]
	var ls *logstore
	if ok {
		ls = p.logstores[name]
	}
	s.mu.RUnlock()
	if !ok {
		return nil, errProjectNotExist(projectName)
	}
	if ls == nil {
		return nil, errLogStoreNotExist(name)
	}
	ls.expire(s.now())
	return ls, nil
}

// Append stores one group as if it had been PutLogs'd (receive time = the
// virtual clock) and returns the shard it went to. OnAppend hooks run before
// Append returns.
func (s *Server) Append(project, logstore string, g LogGroupInput) (int, error) {
	if len(g.Logs) == 0 {
		return 0, errf(400, "PostBodyInvalid", "log group has no logs")
	}
	ls, err := s.logstore(project, logstore)
	if err != nil {
		return 0, err
	}
	now, wall := s.now(), s.wallNow()
	ls.mu.Lock()
	shard := ls.appendGroup(ls.buildGroup(&g, now), g.HashKey, wall)
	ls.mu.Unlock()
	s.fireAppend(project, logstore, shard)
	return shard, nil
}

// CreateIndex gives a logstore an index, as CreateIndex over HTTP does (what an
// operator's setup, ActionTrail or VPC flow logs do in a real account): from
// then on GetLogs may query the logstore and sees the logs received after
// this call, not older ones. index is the configuration as the SDK sends it;
// nil means SLS's default full-text index. It is idempotent: an existing index
// is left as it is, and so is what it covers. (The HTTP API answers
// IndexAlreadyExist instead.)
func (s *Server) CreateIndex(project, logstore string, index []byte) error {
	if index == nil {
		b, err := json.Marshal(sdk.CreateDefaultIndex())
		if err != nil {
			return err
		}
		index = b
	}
	if err := checkIndexBody(index); err != nil {
		return err
	}
	ls, err := s.logstore(project, logstore)
	if err != nil {
		return err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if !ls.hasIndex() {
		ls.createIndex(index)
	}
	return nil
}

// HasIndex reports whether a logstore has an index.
func (s *Server) HasIndex(project, logstore string) (bool, error) {
	ls, err := s.logstore(project, logstore)
	if err != nil {
		return false, err
	}
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	return ls.hasIndex(), nil
}

// Shards returns the shard ids of a logstore.
func (s *Server) Shards(project, logstore string) ([]int, error) {
	ls, err := s.logstore(project, logstore)
	if err != nil {
		return nil, err
	}
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	ids := make([]int, len(ls.shards))
	for i, sh := range ls.shards {
		ids[i] = sh.id
	}
	return ids, nil
}

func (ls *logstore) shard(id int) (*shard, error) {
	if id < 0 || id >= len(ls.shards) {
		return nil, errf(400, "ShardNotExist", "shard %d does not exist in logstore %s", id, ls.name)
	}
	return ls.shards[id], nil
}

// EndCursor returns the cursor after the last group of a shard.
func (s *Server) EndCursor(project, logstore string, shard int) (string, error) {
	ls, err := s.logstore(project, logstore)
	if err != nil {
		return "", err
	}
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	sh, err := ls.shard(shard)
	if err != nil {
		return "", err
	}
	return encodeCursor(sh.end()), nil
}

// CursorAt returns the cursor of the first group of a shard received at or
// after t (the end cursor when there is none; the begin cursor for zero t).
func (s *Server) CursorAt(project, logstore string, shard int, t time.Time) (string, error) {
	ls, err := s.logstore(project, logstore)
	if err != nil {
		return "", err
	}
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	sh, err := ls.shard(shard)
	if err != nil {
		return "", err
	}
	return encodeCursor(sh.seqAt(t)), nil
}

// OnAppend registers fn, called after every append (PutLogs or Append) with
// the shard that received the group. fn runs synchronously in the appending
// goroutine, after the group is readable and with no lock held; it must not
// block for long.
func (s *Server) OnAppend(fn func(project, logstore string, shard int)) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.hooks = append(s.hooks, fn)
}

func (s *Server) fireAppend(project, logstore string, shard int) {
	s.hookMu.RLock()
	hooks := slices.Clone(s.hooks)
	s.hookMu.RUnlock()
	for _, fn := range hooks {
		fn(project, logstore, shard)
	}
}

// Query runs query ("<search> [| <SQL>]", see QUERY.md) over the logs whose
// time is in [from, to), with the engine behind GetLogs. It is the emulator's
// inspection back door: like PullLogs it sees every stored log, whether or not
// the logstore has an index and whatever the index delay. Search-only queries
// return every matching log (GetLogs pages them by line/offset); SQL keeps its
// default LIMIT of 100 rows.
func (s *Server) Query(project, logstore string, from, to time.Time, query string) ([]map[string]string, error) {
	ls, err := s.logstore(project, logstore)
	if err != nil {
		return nil, err
	}
	res, err := ls.run(queryRequest{from: from.Unix(), to: to.Unix(), query: query, line: -1})
	if err != nil {
		return nil, err
	}
	return res.rows, nil
}

// sortedNames returns the keys of m in order.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

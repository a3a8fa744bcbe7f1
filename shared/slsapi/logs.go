package slsapi

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"

	"github.com/porthygiene/porthygiene/shared/logstore"
)

// Log is one log entry. SLS values are strings.
type Log = logstore.Log

// MaxLogsPerPut is the most logs one PutLogs call takes (the SLS limit per
// log group).
const MaxLogsPerPut = 4096

// PutLogs writes logs as one log group with the given topic, in one request.
// Keys are written in sorted order; an empty slice writes nothing. Every log
// needs a time in [1970, 2106) and non-empty keys.
func (c *Client) PutLogs(ctx context.Context, project, logstore, topic string, logs []Log) error {
	cl := call{op: "PutLogs", project: project, logstore: logstore}
	if len(logs) == 0 {
		return nil
	}
	if len(logs) > MaxLogsPerPut {
		return &Error{Op: cl.op, Project: project, Logstore: logstore, Message: fmt.Sprintf("%d logs in one call, at most %d", len(logs), MaxLogsPerPut), Err: ErrInvalid}
	}
	lg := &sdk.LogGroup{Topic: &topic, Logs: make([]*sdk.Log, 0, len(logs))}
	for i, l := range logs {
		sec := l.Time.Unix()
		if l.Time.IsZero() || sec < 0 || sec > math.MaxUint32 {
			return &Error{Op: cl.op, Project: project, Logstore: logstore, Message: fmt.Sprintf("log %d: time %v out of range", i, l.Time), Err: ErrInvalid}
		}
		keys := make([]string, 0, len(l.Contents))
		for k := range l.Contents {
			if k == "" {
				return &Error{Op: cl.op, Project: project, Logstore: logstore, Message: fmt.Sprintf("log %d: empty key", i), Err: ErrInvalid}
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		contents := make([]*sdk.LogContent, len(keys))
		for j, k := range keys {
			contents[j] = &sdk.LogContent{Key: ptr(k), Value: ptr(l.Contents[k])}
		}
		lg.Logs = append(lg.Logs, &sdk.Log{Time: ptr(uint32(sec)), TimeNs: ptr(uint32(l.Time.Nanosecond())), Contents: contents})
	}
	return c.do(ctx, cl, func(sc sdk.ClientInterface) error { return sc.PutLogs(project, logstore, lg) })
}

func ptr[T any](v T) *T { return &v }

// PullBatch is the number of log groups one PullLogs request asks for.
const PullBatch = 1000

// PullRange reads the shard range [begin, end) (cursors, as an SLS trigger
// event names them) with PullLogs, PullBatch groups per request, and calls fn
// for each log in order. Each log's Contents also carry the group's
// "__topic__", "__source__" and "__tag__:<key>" values when set, as GetLogs
// returns them. fn runs in the caller's goroutine; its error stops the read
// and is returned as is.
func (c *Client) PullRange(ctx context.Context, project, logstore string, shard int, begin, end string, fn func(Log) error) error {
	cl := call{op: "PullLogs", project: project, logstore: logstore}
	cursor := begin
	for cursor != end {
		var gl *sdk.LogGroupList
		var next string
		err := c.do(ctx, cl, func(sc sdk.ClientInterface) error {
			var err error
			gl, next, err = sc.PullLogs(project, logstore, shard, cursor, end, PullBatch)
			return err
		})
		if err != nil {
			return err
		}
		if gl != nil {
			for _, g := range gl.LogGroups {
				for _, l := range g.Logs {
					if err := fn(fromProto(g, l)); err != nil {
						return err
					}
				}
			}
		}
		if next == cursor || next == "" {
			if gl == nil || len(gl.LogGroups) == 0 {
				// The shard has nothing more before end (or the server does
				// not advance): stop rather than spin.
				break
			}
			return &Error{Op: cl.op, Project: project, Logstore: logstore, Message: errNoProgress.Error(), Err: ErrServer}
		}
		cursor = next
	}
	return nil
}

func fromProto(g *sdk.LogGroup, l *sdk.Log) Log {
	out := Log{Contents: make(map[string]string, len(l.Contents)+2)}
	var sec, ns int64
	if l.Time != nil {
		sec = int64(*l.Time)
	}
	if l.TimeNs != nil {
		ns = int64(*l.TimeNs)
	}
	out.Time = time.Unix(sec, ns).UTC()
	if g.Topic != nil && *g.Topic != "" {
		out.Contents["__topic__"] = *g.Topic
	}
	if g.Source != nil && *g.Source != "" {
		out.Contents["__source__"] = *g.Source
	}
	for _, t := range g.LogTags {
		out.Contents["__tag__:"+t.GetKey()] = t.GetValue()
	}
	for _, kv := range l.Contents {
		out.Contents[kv.GetKey()] = kv.GetValue()
	}
	return out
}

// CursorFrom says where GetCursor starts: CursorBegin or CursorEnd.
type CursorFrom string

const (
	CursorBegin CursorFrom = "begin"
	CursorEnd   CursorFrom = "end"
)

// Cursor returns a shard cursor.
func (c *Client) Cursor(ctx context.Context, project, logstore string, shard int, from CursorFrom) (string, error) {
	var cur string
	err := c.do(ctx, call{op: "GetCursor", project: project, logstore: logstore}, func(sc sdk.ClientInterface) error {
		var err error
		cur, err = sc.GetCursor(project, logstore, shard, string(from))
		return err
	})
	return cur, err
}

// Shards returns the ids of the logstore's shards, sorted.
func (c *Client) Shards(ctx context.Context, project, logstore string) ([]int, error) {
	var ids []int
	err := c.do(ctx, call{op: "ListShards", project: project, logstore: logstore}, func(sc sdk.ClientInterface) error {
		shards, err := sc.ListShards(project, logstore)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for _, s := range shards {
			ids = append(ids, s.ShardID)
		}
		return nil
	})
	sort.Ints(ids)
	return ids, err
}

// CursorAt is the GetCursor position of the first log group received at or
// after t (whole seconds, rounded down); a t after the last group gives the
// end cursor.
func CursorAt(t time.Time) CursorFrom {
	return CursorFrom(strconv.FormatInt(max(t.Unix(), 0), 10))
}

// ShardsTTL is how long Tail reuses a logstore's shard list: a warm
// instance lists the shards once, not on every read (a shard split shows
// within ShardsTTL).
const ShardsTTL = 5 * time.Minute

// cachedShards is Shards, remembered for ShardsTTL.
func (c *Client) cachedShards(ctx context.Context, project, store string) ([]int, error) {
	key := project + "/" + store
	c.shards.mu.Lock()
	sl, ok := c.shards.lists[key]
	c.shards.mu.Unlock()
	if ok && time.Since(sl.at) < ShardsTTL {
		return sl.ids, nil
	}
	ids, err := c.Shards(ctx, project, store)
	if err != nil {
		return nil, err
	}
	c.shards.mu.Lock()
	if c.shards.lists == nil {
		c.shards.lists = map[string]shardList{}
	}
	c.shards.lists[key] = shardList{ids: ids, at: time.Now()}
	c.shards.mu.Unlock()
	return ids, nil
}

// Tail implements logstore.Store: on each shard (the list ListShards gave
// within ShardsTTL), all at once, from after's cursor for it or else from
// the first group received at or after since (GetCursor by time), to the
// shard's end with PullLogs (no end cursor: a PullLogs that returns fewer
// groups than it asked for has reached the end). PullLogs reads what
// PutLogs stored at once; GetLogs only after the index has caught up. A
// warm read from known positions is one round trip (one PullLogs per shard,
// in parallel); a first read two.
func (c *Client) Tail(ctx context.Context, project, store string, since time.Time, after logstore.Cursors) ([]Log, logstore.Cursors, error) {
	shards, err := c.cachedShards(ctx, project, store)
	if err != nil {
		return nil, nil, err
	}
	type result struct {
		logs []Log
		next string
		err  error
	}
	res := make([]result, len(shards))
	var wg sync.WaitGroup
	for i, sh := range shards {
		wg.Go(func() {
			r := &res[i]
			begin, ok := after[sh]
			if !ok {
				if begin, r.err = c.Cursor(ctx, project, store, sh, CursorAt(since)); r.err != nil {
					return
				}
			}
			r.next, r.err = c.pullToEnd(ctx, project, store, sh, begin, func(l Log) error {
				r.logs = append(r.logs, l)
				return nil
			})
		})
	}
	wg.Wait()
	var out []Log
	pos := make(logstore.Cursors, len(shards))
	for i, sh := range shards {
		if res[i].err != nil {
			c.forgetShards(project, store) // a split or merged shard: list them again next time
			return nil, nil, res[i].err
		}
		out = append(out, res[i].logs...)
		pos[sh] = res[i].next
	}
	return out, pos, nil
}

func (c *Client) forgetShards(project, store string) {
	c.shards.mu.Lock()
	delete(c.shards.lists, project+"/"+store)
	c.shards.mu.Unlock()
}

// pullToEnd reads a shard from begin to its end with PullLogs, PullBatch
// groups per request, and returns the cursor after the last group read.
func (c *Client) pullToEnd(ctx context.Context, project, logstore string, shard int, begin string, fn func(Log) error) (string, error) {
	cl := call{op: "PullLogs", project: project, logstore: logstore}
	cursor := begin
	for {
		var gl *sdk.LogGroupList
		var next string
		err := c.do(ctx, cl, func(sc sdk.ClientInterface) error {
			var err error
			gl, next, err = sc.PullLogs(project, logstore, shard, cursor, "", PullBatch)
			return err
		})
		if err != nil {
			return "", err
		}
		n := 0
		if gl != nil {
			n = len(gl.LogGroups)
			for _, g := range gl.LogGroups {
				for _, l := range g.Logs {
					if err := fn(fromProto(g, l)); err != nil {
						return "", err
					}
				}
			}
		}
		if next == "" {
			next = cursor
		}
		if n < PullBatch || next == cursor {
			return next, nil
		}
		cursor = next
	}
}

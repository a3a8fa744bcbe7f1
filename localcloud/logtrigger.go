package localcloud

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/sconfig"
	"github.com/porthygiene/porthygiene/localcloud/timers"
)

// logTrigger is an SLS trigger: every Interval of virtual time, each shard that
// received data since the last successful invocation is handed to the function
// as a cursor range. A failed range is retried up to MaxRetry times, then
// delivered again at the next interval (at-least-once, as SLS does).
type logTrigger struct {
	fn, name          string
	project, logstore string
	cfg               *sconfig.LogConfig
	jobName           string
	cursors           map[int]string // next begin cursor per shard
}

func (c *Cloud) wireLogTrigger(fn sconfig.Function, t sconfig.Trigger) error {
	lc := t.Log
	// ActionTrail creates its actiontrail_<trail> logstore with an index; a
	// trigger reads by cursor and needs none.
	if err := c.ensureLogstore(lc.Project, lc.Logstore, strings.HasPrefix(lc.Logstore, "actiontrail_")); err != nil {
		return err
	}
	if lc.LogProject != "" && lc.LogLogstore != "" {
		if err := c.ensureLogstore(lc.LogProject, lc.LogLogstore, false); err != nil {
			return err
		}
	}
	if c.trailProject == "" && (c.opts.Trail != "" && lc.Logstore == "actiontrail_"+c.opts.Trail ||
		c.opts.Trail == "" && strings.HasPrefix(lc.Logstore, "actiontrail_")) {
		c.trailProject, c.trailLogstore = lc.Project, lc.Logstore
	}
	lt := &logTrigger{fn: fn.Name, name: t.Name, project: lc.Project, logstore: lc.Logstore, cfg: lc,
		jobName: randomHex(16), cursors: map[int]string{}}
	// The default start is the latest data: begin at each shard's current end.
	shards, err := c.SLS.Shards(lc.Project, lc.Logstore)
	if err != nil {
		return err
	}
	for _, sh := range shards {
		cur, err := c.SLS.EndCursor(lc.Project, lc.Logstore, sh)
		if err != nil {
			return err
		}
		lt.cursors[sh] = cur
	}
	c.mu.Lock()
	c.logTrig = append(c.logTrig, lt)
	c.mu.Unlock()
	sched, err := timers.Parse(fmt.Sprintf("@every %ds", int(lc.Interval/time.Second)))
	if err != nil {
		return err
	}
	c.Timers.Add(fn.Name+"/"+t.Name, sched, "", func(timers.TimerEvent) { c.fireLogTrigger(lt) })
	return nil
}

// slsEvent is the payload FC sends for an SLS trigger.
type slsEvent struct {
	Parameter  map[string]any `json:"parameter"`
	Source     slsSource      `json:"source"`
	JobName    string         `json:"jobName"`
	TaskID     string         `json:"taskId"`
	CursorTime int64          `json:"cursorTime"`
}

type slsSource struct {
	Endpoint     string `json:"endpoint"`
	ProjectName  string `json:"projectName"`
	LogstoreName string `json:"logstoreName"`
	ShardID      int    `json:"shardId"`
	BeginCursor  string `json:"beginCursor"`
	EndCursor    string `json:"endCursor"`
}

func (c *Cloud) fireLogTrigger(lt *logTrigger) {
	if !c.triggerEnabled(lt.fn, lt.name) {
		return
	}
	for sh, begin := range lt.cursors {
		end, err := c.SLS.EndCursor(lt.project, lt.logstore, sh)
		if err != nil || end == begin {
			continue
		}
		params := lt.cfg.FunctionParameter
		if params == nil {
			params = map[string]any{}
		}
		ev := slsEvent{
			Parameter: params,
			Source: slsSource{Endpoint: "http://" + c.region + ".log.aliyuncs.com", ProjectName: lt.project,
				LogstoreName: lt.logstore, ShardID: sh, BeginCursor: begin, EndCursor: end},
			JobName: lt.jobName, TaskID: randomHex(16), CursorTime: c.Clock.Now().Unix(),
		}
		payload, _ := json.Marshal(ev)
		ok := false
		for attempt := 0; attempt <= lt.cfg.MaxRetry && !ok; attempt++ {
			res, err := c.Runtime.Invoke(context.Background(), lt.fn, payload, fcrt.InvokeOptions{Trigger: lt.name})
			ok = err == nil && !res.Failed()
			if !ok && err != nil {
				fmt.Fprintf(os.Stderr, "localcloud: log trigger %s/%s: %v\n", lt.fn, lt.name, err)
			}
		}
		if ok {
			lt.cursors[sh] = end
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Package engine is the one loop every function runs on: a trigger payload
// picks groups (ActionTrail events through EventBridge or the SLS trigger, or
// a timer sweep with its fan-out), each group is observed (shared/observe),
// planned by the function's pure Planner (shared/plan), and the plan is
// carried out (shared/apply); the run's notifications are flushed at the end.
//
// A function supplies a Function: which ActionTrail events concern it, its
// planner, and an optional step before each sweep. Everything else is here,
// once: trigger dispatch, skipping failed calls and our own role, dedup of
// events across both delivery paths, sweeps with fan-out and pacing, the
// change cap and the flush.
//
// Invariants:
//   - Events only pick which groups to look at; the engine always re-reads,
//     so late, duplicated and reordered events are harmless.
//   - Events caused by our own role, failed calls and events the function
//     does not handle are ignored, and the result says why.
//   - A malformed or unknown payload changes nothing and returns no error
//     (FC would only retry it); an error means "retry": every step is safe
//     to repeat.
//   - Every invocation flushes the notifier's outbox.
//   - Decisions use now = max(wall clock, the trigger's time), where a
//     trigger time more than clock.Skew past the wall clock is ignored
//     (clock.Decide); the wall clock is the invocation's (clock.Wall).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porthygiene/porthygiene/shared/apicall"
	"github.com/porthygiene/porthygiene/shared/apply"
	"github.com/porthygiene/porthygiene/shared/clock"
	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/logstore"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/rule"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// Cloud is what the engine needs of one region's ECS API.
type Cloud interface {
	observe.Reader
	apply.Writer
	ListGroups(ctx context.Context, opts cloud.ListOptions) ([]cloud.Group, error)
}

// Ledger is what the engine needs of the ledger.
type Ledger interface {
	Append(ctx context.Context, recs ...ledger.Record) error
	SeenEvent(ctx context.Context, key string) (bool, error)
	Query(ctx context.Context, f ledger.Filter) ([]ledger.Record, error)
	Get(ctx context.Context, id string) (ledger.Record, error)
}

// Notifier carries events to people.
type Notifier interface {
	Notify(ctx context.Context, now time.Time, events []notify.Event) (notify.Report, error)
}

// LogReader reads a range of an SLS shard (the SLS trigger's cursor range).
type LogReader interface {
	PullRange(ctx context.Context, src trigger.SLSSource, fn func(contents map[string]string) error) error
}

// Invoker starts asynchronous invocations of a function (the sweep's fan-out).
type Invoker interface {
	InvokeAsync(ctx context.Context, functionName string, payload []byte) (requestID string, err error)
}

// DelayedInvoker starts an asynchronous invocation that FC runs after delay
// (x-fc-async-delay): the paced continuation of changes the cap held back.
type DelayedInvoker interface {
	InvokeAsyncAfter(ctx context.Context, functionName string, payload []byte, delay time.Duration) (requestID string, err error)
}

// Deps are the per-invocation clients: the ECS API of a region (built with
// the invocation's STS credentials), the ledger, the notifier and the reader
// of the ActionTrail logstore.
type Deps struct {
	Cloud    func(region string) (Cloud, error)
	Ledger   Ledger
	Notifier Notifier
	Logs     LogReader
	// Paced, if set, returns the region's ECS API paced at qps calls per
	// second by a limiter of its own (burst 1): a sweep slice's share of the
	// region's budget (see fanout.go). nil: slices use Cloud's pace.
	Paced func(region string, qps float64) (Cloud, error)
	// Invoker starts asynchronous invocations of this function: the sweep's
	// fan-out. nil: every sweep runs inline.
	Invoker Invoker
	// Extra is a function's own per-invocation clients (the reaper's log
	// store and flow-log reader), handed back by Run.Extra.
	Extra any
}

// Planner decides what to do with one observed group. It is pure: no I/O,
// no clock.
type Planner interface {
	// NeedsContext reports whether the group's tags and decisions must be
	// read (observe.Observer.Complete) before Plan.
	NeedsContext(st *observe.State, now time.Time) bool
	Plan(st observe.State, now time.Time) plan.Plan
}

// Function is what a function brings to the engine.
type Function interface {
	Planner
	// Handles reports whether an ActionTrail event of this name can change
	// what the function would plan.
	Handles(eventName string) bool
	// BeforeSweep runs once per region at the start of a full sweep, before
	// any group is read (the guard carries out owners' restore decisions).
	BeforeSweep(ctx context.Context, r *Run, region string, cl Cloud) error
}

// EvidenceReader is an optional step of a Function: after a group's rules
// are observed, before NeedsContext and Plan, it reads what the function's
// planner needs beyond the group's state into st.Evidence (the reaper's
// flow-log summaries). A failure skips the group's plan and fails
// the run (FC retries it): a planner never decides on evidence it lacks.
type EvidenceReader interface {
	ReadEvidence(ctx context.Context, r *Run, st *observe.State) error
}

// Config configures an Engine.
type Config struct {
	// Name names the function in ledger records and event ids ("guard").
	Name string
	// RoleName is our functions' RAM role: events it caused are ignored.
	RoleName string
	// Regions swept by the timer; default the function's region.
	Regions []string
	// MaxChanges caps the rule changes of one run.
	MaxChanges int
	// MaxChangesPerMinute caps the rule changes of the function per minute
	// across all its instances (the revocations the ledger holds for the
	// last minute); 0: no pace. What it holds back is continued by a delayed
	// invocation (PaceDelay later), not left for the next sweep.
	MaxChangesPerMinute int
	Logger              *slog.Logger
	// Wall is the wall clock; default time.Now. A clock in the invocation's
	// context (clock.WithWall) comes first. Decisions use
	// clock.Decide(wall, event time, clock.Skew).
	Wall func() time.Time
	// UndoCommand formats the command that undoes a revocation.
	UndoCommand func(ledgerID string) string
	// Buttons returns the decision links offered with a notification (the
	// approve function's signed URLs); nil offers none.
	Buttons func(ev notify.Event, now time.Time) []notify.Button
	// SweepWorkers is how many groups the sweep reads at once (default
	// DefaultSweepWorkers). The ECS client's rate limit, not this number,
	// bounds the call rate: enough workers keep the limit busy while each
	// call waits on the network.
	SweepWorkers int
	// FanOut splits a large timer sweep into asynchronous invocations of this
	// function, one per slice of a region's groups (fanout.go). The zero
	// value sweeps inline.
	FanOut FanOut
	// AlsoResolve names prefix lists read with every group (observe).
	AlsoResolve []string
}

// DefaultSweepWorkers is the default Config.SweepWorkers: at a typical
// 20-50 ms per ECS call, 8 workers can use up to 160-400 calls per second.
const DefaultSweepWorkers = 8

// Engine runs one function. Build it once per process with New; it is safe
// for concurrent use.
type Engine struct {
	cfg Config
	fn  Function
	log *slog.Logger

	// flushAt is the latest minute (unix seconds) this instance scheduled a
	// flush for: warm invocations skip the ledger marker for it.
	flushAt atomic.Int64

	// pace is what this instance last read of the pace's minute: a warm
	// run of the same minute reads on from there (one round trip) instead
	// of from the minute's start.
	pace paceCache
}

// paceCache is the claims of one minute read so far, and where the read
// stopped.
type paceCache struct {
	mu     sync.Mutex
	src    Tailer // the ledger the positions are of
	minute time.Time
	pos    logstore.Cursors
	rules  map[string]bool
}

// get returns a copy of the cache for minute, if it holds that minute.
func (c *paceCache) get(src Tailer, minute time.Time) (logstore.Cursors, map[string]bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pos == nil || c.src != src || !c.minute.Equal(minute) {
		return nil, nil, false
	}
	return maps.Clone(c.pos), maps.Clone(c.rules), true
}

// put remembers what a read of minute saw up to pos.
func (c *paceCache) put(src Tailer, minute time.Time, pos logstore.Cursors, rules map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.src == src && c.minute.After(minute) {
		return // a later minute is already cached
	}
	c.src, c.minute, c.pos, c.rules = src, minute, maps.Clone(pos), maps.Clone(rules)
}

// New builds an engine for fn.
func New(cfg Config, fn Function) (*Engine, error) {
	if fn == nil {
		return nil, errors.New("engine: no function")
	}
	if cfg.Name == "" {
		return nil, errors.New("engine: no function name")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Wall == nil {
		cfg.Wall = time.Now
	}
	if cfg.SweepWorkers <= 0 {
		cfg.SweepWorkers = DefaultSweepWorkers
	}
	if cfg.UndoCommand == nil {
		cfg.UndoCommand = func(id string) string {
			return "porthygiene restore --id " + id + " --exempt-until YYYY-MM-DD --owner NAME --reason TEXT"
		}
	}
	return &Engine{cfg: cfg, fn: fn, log: cfg.Logger}, nil
}

// Result is what one invocation did; it is the function's response.
type Result struct {
	Source   string   `json:"source"`             // eventbridge | sls | sweep
	Events   int      `json:"events"`             // ActionTrail events seen
	Ignored  []string `json:"ignored,omitempty"`  // "eventId: reason"
	Groups   []string `json:"groups,omitempty"`   // groups evaluated
	Findings int      `json:"findings"`           // exposures found (not exempt)
	Revoked  []string `json:"revoked,omitempty"`  // rule ids revoked
	Gone     []string `json:"gone,omitempty"`     // rule ids already gone
	Notified []string `json:"notified,omitempty"` // rule ids reported only
	Capped   int      `json:"capped,omitempty"`   // revokes not done because of the cap
	Ledger   []string `json:"ledger,omitempty"`   // ledger ids of revocations
	Rejected string   `json:"rejected,omitempty"` // why the payload was refused
	Failed   string   `json:"failed,omitempty"`   // a failure no retry can fix (answered, not retried)
	Partial  bool     `json:"partial,omitempty"`  // the sweep stopped at the deadline
	Slices   []Slice  `json:"slices,omitempty"`   // sweep slices this invocation started (fan-out)
	// Replicated counts the rules the replicator authorized on replicas.
	Replicated int `json:"replicated,omitempty"`
}

// Run is one invocation's state. Groups are reconciled concurrently in a
// sweep: mu guards res and events only, never a network call.
type Run struct {
	e     *Engine
	deps  Deps
	now   time.Time
	obs   *observe.Observer
	apply *apply.Applier

	mu     sync.Mutex
	res    *Result
	events []notify.Event
	capped map[string][]string // region → groups with changes the cap held back

	values sync.Map // a function's per-run state (Value)
}

// Value returns the run's value under key, made by mk the first time it is
// asked for: a function's per-run cache, such as the reaper's evidence of a
// region. Groups are reconciled concurrently, so mk may run twice; one
// result is kept. Make it cheap (a holder with a sync.Once).
func (r *Run) Value(key any, mk func() any) any {
	if v, ok := r.values.Load(key); ok {
		return v
	}
	v, _ := r.values.LoadOrStore(key, mk())
	return v
}

// Now is the run's decision time.
func (r *Run) Now() time.Time { return r.now }

// Ledger is the run's ledger (nil when none is configured).
func (r *Run) Ledger() Ledger { return r.deps.Ledger }

// Extra is the invocation's Deps.Extra.
func (r *Run) Extra() any { return r.deps.Extra }

// Observer is the run's reader of groups and decisions.
func (r *Run) Observer() *observe.Observer { return r.obs }

// Notify queues events for the run's flush.
func (r *Run) Notify(evs ...notify.Event) {
	r.mu.Lock()
	r.events = append(r.events, evs...)
	r.mu.Unlock()
}

func (e *Engine) newRun(deps Deps, now time.Time, cachePrefixLists bool) *Run {
	r := &Run{e: e, deps: deps, now: now, res: &Result{}}
	var led observe.Records
	var app apply.Ledger
	if deps.Ledger != nil {
		led, app = deps.Ledger, deps.Ledger
	}
	r.obs = observe.New(observe.Options{Ledger: led, Logger: e.log, Now: now, CachePrefixLists: cachePrefixLists, AlsoResolve: e.cfg.AlsoResolve})
	capper := apply.NewCap(e.cfg.MaxChanges)
	if e.cfg.MaxChangesPerMinute > 0 && deps.Ledger != nil {
		p := &minutePace{e: e, r: r}
		capper = apply.NewPacedCap(e.cfg.MaxChanges, p.left).Confirmed(p.confirm)
	}
	r.apply = &apply.Applier{Function: e.cfg.Name, Ledger: app, Cap: capper, Logger: e.log,
		Now: now, UndoCommand: e.cfg.UndoCommand}
	if e.cfg.Buttons != nil {
		r.apply.Buttons = func(ev notify.Event) []notify.Button { return e.cfg.Buttons(ev, now) }
	}
	return r
}

// Handle processes one trigger payload. A malformed or unknown payload is
// logged and refused without any change (and without an error, so that FC
// does not retry it). An error means "try again": FC's async retry re-runs
// the invocation, which is safe because every step re-reads the state.
func (e *Engine) Handle(ctx context.Context, deps Deps, payload []byte) (Result, error) {
	ev, err := trigger.Decode(payload)
	if err != nil {
		e.log.ErrorContext(ctx, "refused payload", "error", err)
		return Result{Rejected: err.Error()}, nil
	}
	wall := clock.Wall(ctx, e.cfg.Wall) // the invocation's trusted clock, else Config.Wall
	now, ahead := clock.Decide(wall, ev.Time(), clock.Skew)
	if ahead {
		e.log.WarnContext(ctx, "trigger time ahead of the wall clock ignored", "event", ev.DedupKey(),
			"kind", ev.Kind(), "triggerTime", ev.Time(), "wall", wall, "skew", clock.Skew)
	}
	switch t := ev.(type) {
	case trigger.CloudEvent:
		rec, err := t.ActionTrail()
		if err != nil {
			e.log.ErrorContext(ctx, "refused event", "id", t.ID, "error", err)
			return Result{Source: "eventbridge", Rejected: err.Error()}, nil
		}
		r := e.newRun(deps, now, false)
		r.res.Source = "eventbridge"
		err = e.handleRecord(ctx, r, rec, "eventbridge")
		return e.finish(ctx, r, err)
	case trigger.SLSEvent:
		r := e.newRun(deps, now, false)
		r.res.Source = "sls"
		if deps.Logs == nil {
			return *r.res, errors.New("engine: no SLS reader configured")
		}
		var recs []trigger.ActionTrailRecord
		err := deps.Logs.PullRange(ctx, t.Source, func(c map[string]string) error {
			rec, err := trigger.ParseLogstoreEvent(c)
			if err != nil {
				e.log.ErrorContext(ctx, "refused logstore event", "error", err)
				r.res.Ignored = append(r.res.Ignored, "logstore: "+err.Error())
				return nil
			}
			recs = append(recs, rec)
			return nil
		})
		if err != nil {
			return e.finish(ctx, r, fmt.Errorf("engine: read %s/%s shard %d: %w", t.Source.ProjectName, t.Source.LogstoreName, t.Source.ShardID, err))
		}
		var errs []error
		for _, rec := range recs {
			if err := e.handleRecord(ctx, r, rec, "sls"); err != nil {
				errs = append(errs, err)
			}
		}
		return e.finish(ctx, r, errors.Join(errs...))
	case trigger.TimerEvent:
		var p sweepPayload
		err := t.DecodePayload(&p)
		if err == nil {
			err = p.validate()
		}
		if err != nil {
			e.log.ErrorContext(ctx, "refused timer payload", "trigger", t.TriggerName, "error", err)
			return Result{Source: "sweep", Rejected: err.Error()}, nil
		}
		r := e.newRun(deps, now, true)
		r.res.Source = "sweep"
		err = e.sweepTimer(ctx, r, p)
		return e.finish(ctx, r, err)
	default:
		err := fmt.Errorf("%w: the %s function does not handle %s payloads", trigger.ErrUnknownPayload, e.cfg.Name, ev.Kind())
		e.log.ErrorContext(ctx, "refused payload", "error", err)
		return Result{Rejected: err.Error()}, nil
	}
}

// finish sends the notifications of the run; a failure to notify is logged
// (the notifier keeps what it could not send in its outbox). Every
// invocation also sends what earlier ones left in the outbox (the robot was
// down, or the budget deferred it): after the rule changes, so it costs the
// exposure nothing.
//
// An event invocation that looked at no group and has nothing to tell (every
// event was ours, failed or not handled) does not flush: our own revokes
// arrive as events too, one invocation each, right after the burst that
// caused them, and flushing there only multiplies concurrent flushes of the
// same outbox.
func (e *Engine) finish(ctx context.Context, r *Run, err error) (Result, error) {
	if len(r.capped) > 0 {
		e.continuePaced(ctx, r)
	}
	idle := r.res.Source != "sweep" && len(r.res.Groups) == 0 && len(r.events) == 0
	if r.deps.Notifier != nil && !idle {
		rep, nerr := r.deps.Notifier.Notify(ctx, r.now, r.events)
		if nerr != nil {
			e.log.ErrorContext(ctx, "notify", "error", nerr, "sent", rep.Sent, "deferred", rep.Deferred)
			err = errors.Join(err, nerr)
		}
		if !rep.NextDue.IsZero() {
			e.scheduleFlush(ctx, r, rep.NextDue)
		}
	}
	sort.Strings(r.res.Groups)
	r.res.Groups = slices.Compact(r.res.Groups)
	if apicall.Permanent(err) {
		// An unknown shard or cursor, a group or list that does not exist,
		// a refused request: FC's retries for minutes would change nothing.
		e.log.ErrorContext(ctx, "failed; not retried, as no retry can succeed", "error", err)
		r.res.Failed = err.Error()
		return *r.res, nil
	}
	return *r.res, err
}

func (e *Engine) ignore(ctx context.Context, r *Run, rec trigger.ActionTrailRecord, reason string) {
	e.log.InfoContext(ctx, "event ignored", "eventId", rec.EventID, "eventName", rec.EventName, "reason", reason)
	r.res.Ignored = append(r.res.Ignored, rec.EventID+": "+reason)
}

// handleRecord: the event only picks which groups to look at.
func (e *Engine) handleRecord(ctx context.Context, r *Run, rec trigger.ActionTrailRecord, source string) error {
	r.res.Events++
	switch {
	case rec.Failed():
		e.ignore(ctx, r, rec, "the call failed ("+rec.ErrorCode+")")
		return nil
	case rec.CalledByRole(e.cfg.RoleName):
		e.ignore(ctx, r, rec, "caused by our own role")
		return nil
	case len(e.cfg.Regions) > 0 && rec.AcsRegion != "" && !slices.Contains(e.cfg.Regions, rec.AcsRegion):
		e.ignore(ctx, r, rec, "region "+rec.AcsRegion+" is not one this function covers ("+strings.Join(e.cfg.Regions, ", ")+")")
		return nil
	case !e.fn.Handles(rec.EventName):
		e.ignore(ctx, r, rec, "event "+rec.EventName+" is not handled by the "+e.cfg.Name+" function")
		return nil
	}
	params, err := rec.Params()
	if err != nil {
		e.ignore(ctx, r, rec, "unreadable requestParameters: "+err.Error())
		return nil
	}
	region := rec.AcsRegion
	if region == "" {
		region = params["RegionId"]
	}
	groups := rec.Resources("ACS::ECS::SecurityGroup")
	if id := params["SecurityGroupId"]; id != "" {
		groups = append(groups, id)
	}
	// A prefix list changes no group, but every group with a rule on it:
	// widening a list an accept names (or narrowing one a drop names)
	// exposes ports without touching a security group.
	if lists := prefixListsOf(rec, params); len(lists) > 0 && region != "" {
		more, err := e.groupsOfPrefixLists(ctx, r, region, lists)
		if err != nil {
			return err
		}
		groups = append(groups, more...)
	}
	slices.Sort(groups)
	groups = slices.Compact(groups)
	if len(groups) == 0 || region == "" {
		e.ignore(ctx, r, rec, "no security group or region in the event")
		return nil
	}
	targets := make([]target, len(groups))
	for i, gid := range groups {
		targets[i] = target{Target: observe.Target{Region: region, GroupID: gid}}
	}
	key := e.dedupKey(rec.EventID)
	if r.deps.Ledger != nil {
		// EventBridge is the fast path and its events are rarely duplicates:
		// read the groups' rules while the dedup lookup runs. (The SLS path
		// mostly sees events EventBridge already handled: there the lookup
		// goes first and spares the reads.)
		if source == "eventbridge" {
			// The pace's minute, too: a change this event made may need it.
			r.apply.Cap.Prefetch(ctx)
			defer e.readAhead(ctx, r, targets)()
		}
		seen, err := r.deps.Ledger.SeenEvent(ctx, key)
		switch {
		case err != nil:
			// Level-based: handling twice is harmless, skipping is not.
			e.log.WarnContext(ctx, "dedup lookup failed; handling the event", "eventId", rec.EventID, "error", err)
		case seen:
			e.ignore(ctx, r, rec, "already handled")
			return nil
		}
	}
	cause := apply.Cause{
		Event: ledger.EventContext{
			Source: source, EventID: rec.EventID, EventName: rec.EventName, EventTime: rec.EventTime,
			RequestID: rec.RequestID, SourceIP: rec.SourceIPAddress, ActorType: rec.UserIdentity.Type,
			ActorUserName: rec.UserIdentity.UserName, ActorAccessKeyID: rec.UserIdentity.AccessKeyID,
		},
		Opened: func(ru rule.Rule) bool { return openedBy(rec.EventName, params, ru) },
	}
	var errs []error
	var opened []ledger.Record
	for _, t := range targets {
		st, err := e.reconcile(ctx, r, t, cause)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st != nil {
			opened = append(opened, e.openedButGone(st, rec.EventName, params, cause.Event, r.now)...)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if r.deps.Ledger != nil {
		done := ledger.NewEvent(ledger.Meta{Time: r.now, Function: e.cfg.Name, Region: region, GroupID: groups[0], EventID: key},
			ledger.Event{Source: source, EventName: rec.EventName, EventTime: rec.EventTime, Outcome: "handled"})
		if err := r.deps.Ledger.Append(ctx, append(opened, done)...); err != nil {
			e.log.WarnContext(ctx, "record handled event", "eventId", rec.EventID, "error", err)
		}
	}
	return nil
}

// dedupKey is this function's dedup key of an ActionTrail event. Every
// function handles every event once: one function's "handled" record must
// never mark the event handled for another (the replicator, done first, would
// hide an exposure from the guard). The guard keeps the unscoped key it has
// always written; every other function's key is scoped by its name.
func (e *Engine) dedupKey(eventID string) string {
	key := trigger.ActionTrailDedupKey(eventID)
	if e.cfg.Name == "guard" {
		return key
	}
	return e.cfg.Name + "/" + key
}

// PrefixListResolver is what a Cloud offers to map a prefix list to the
// groups whose rules reference it (ecsapi: DescribePrefixListAssociations).
type PrefixListResolver interface {
	PrefixListGroups(ctx context.Context, id string) ([]string, error)
}

func prefixListsOf(rec trigger.ActionTrailRecord, params map[string]string) []string {
	lists := rec.Resources("ACS::ECS::PrefixList")
	if id := params["PrefixListId"]; id != "" {
		lists = append(lists, id)
	}
	slices.Sort(lists)
	return slices.Compact(lists)
}

func (e *Engine) groupsOfPrefixLists(ctx context.Context, r *Run, region string, lists []string) ([]string, error) {
	cl, err := r.deps.Cloud(region)
	if err != nil {
		return nil, err
	}
	pr, ok := cl.(PrefixListResolver)
	if !ok {
		return nil, fmt.Errorf("%s: prefix lists %v changed, and this cloud cannot say which groups use them: %w", e.cfg.Name, lists, apicall.ErrInvalid)
	}
	var out []string
	for _, id := range lists {
		gs, err := pr.PrefixListGroups(ctx, id)
		if errors.Is(err, cloud.ErrNotFound) {
			continue // deleted since: no group can use it
		}
		if err != nil {
			return nil, fmt.Errorf("%s: groups of prefix list %s: %w", e.cfg.Name, id, err)
		}
		out = append(out, gs...)
	}
	return out, nil
}

// maxReadAhead bounds the groups of one event read ahead of the dedup lookup.
const maxReadAhead = 4

// readAhead starts reading the rules of (the first few of) targets, which
// reconcile then waits for instead of reading. stop abandons the reads and
// waits for them to end.
func (e *Engine) readAhead(ctx context.Context, r *Run, targets []target) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var aheads []*observe.Ahead
	for i := range targets[:min(len(targets), maxReadAhead)] {
		t := &targets[i]
		cl, err := r.deps.Cloud(t.Region)
		if err != nil {
			continue // reconcile reports it
		}
		t.cloud = cl
		// With the tags and decisions: an exposure is planned on all three,
		// and reading them after the rules would cost a round trip more.
		t.Ahead = r.obs.ReadAheadComplete(ctx, cl, t.GroupID)
		aheads = append(aheads, t.Ahead)
	}
	return func() {
		cancel()
		for _, a := range aheads {
			a.Wait()
		}
	}
}

// target is one group to reconcile; cloud, when not nil, is the region's
// client (else Deps.Cloud builds one).
type target struct {
	observe.Target
	cloud Cloud
}

// reconcile observes one group, plans and applies the plan. It returns the
// group as observed (nil when it is gone).
func (e *Engine) reconcile(ctx context.Context, r *Run, t target, cause apply.Cause) (*observe.State, error) {
	if gr, ok := e.fn.(GroupReconciler); ok {
		return nil, gr.ReconcileGroup(ctx, r, t.Target, cause)
	}
	cl := t.cloud
	if cl == nil {
		var err error
		if cl, err = r.deps.Cloud(t.Region); err != nil {
			return nil, err
		}
	}
	st, err := r.obs.Rules(ctx, cl, t.Target)
	if errors.Is(err, cloud.ErrNotFound) {
		e.log.InfoContext(ctx, "group gone", "group", t.GroupID)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.cfg.Name, err)
	}
	r.mu.Lock()
	r.res.Groups = append(r.res.Groups, t.GroupID)
	r.mu.Unlock()
	// The evidence first: it tells the function whether the group needs its
	// tags and decisions at all (the reaper's: only a group with a candidate
	// or an open announcement does).
	if er, ok := e.fn.(EvidenceReader); ok {
		if err := er.ReadEvidence(ctx, r, &st); err != nil {
			return &st, fmt.Errorf("%s: evidence of %s: %w", e.cfg.Name, st.GroupID, err)
		}
	}
	if !st.Complete() {
		if !e.fn.NeedsContext(&st, r.now) {
			return &st, nil
		}
		// A finding: the minute's budget is read beside the tags and
		// decisions, not after them.
		r.apply.Cap.Prefetch(ctx)
		if err := r.obs.Complete(ctx, cl, &st); err != nil {
			return &st, fmt.Errorf("%s: %w", e.cfg.Name, err)
		}
	}
	p := e.fn.Plan(st, r.now)
	if p.Empty() {
		return &st, nil
	}
	out, err := r.apply.Apply(ctx, cl, st, p, cause)
	r.merge(st, out)
	return &st, err
}

// merge adds what applying a plan to st did to the run's result.
func (r *Run) merge(st observe.State, out apply.Outcome) {
	r.mu.Lock()
	r.res.Findings += out.Findings
	r.res.Revoked = append(r.res.Revoked, out.Revoked...)
	r.res.Gone = append(r.res.Gone, out.Gone...)
	r.res.Notified = append(r.res.Notified, out.Notified...)
	r.res.Capped += out.Capped
	if out.Capped > 0 {
		if r.capped == nil {
			r.capped = map[string][]string{}
		}
		r.capped[st.Region] = append(r.capped[st.Region], st.GroupID)
	}
	r.res.Ledger = append(r.res.Ledger, out.Ledger...)
	r.res.Replicated += len(out.Authorized)
	r.events = append(r.events, out.Events...)
	r.mu.Unlock()
}

// scheduleFlush starts one delayed invocation that only flushes the outbox
// when its earliest event is due again (the notifier's retry backoff: 1, 2,
// 4, 8, 10 minutes; the budget's minute), so that what a run could not send
// goes out soon after the robot answers again, not at the next event or
// hourly sweep. Runs that pick the same minute start one between them (a
// ledger marker per target minute, the event dedup's), and a flush that
// still leaves messages schedules the next.
func (e *Engine) scheduleFlush(ctx context.Context, r *Run, due time.Time) {
	di, ok := r.deps.Invoker.(DelayedInvoker)
	if !ok || e.cfg.FanOut.Function == "" || r.deps.Ledger == nil {
		return
	}
	at := due.UTC().Truncate(time.Minute).Add(time.Minute)
	if at.Sub(r.now) > time.Hour {
		at = r.now.UTC().Truncate(time.Minute).Add(time.Hour) // FC's longest delay; the sweep is hourly anyway
	}
	if e.flushAt.Load() >= at.Unix() {
		return // this instance scheduled one for that minute (or later) already
	}
	key := "flush/" + e.cfg.Name + "/" + at.Format(time.RFC3339)
	if seen, err := r.deps.Ledger.SeenEvent(ctx, key); err != nil || seen {
		return
	}
	mark := ledger.NewEvent(ledger.Meta{Time: r.now, Function: e.cfg.Name, EventID: key}, ledger.Event{Source: "flush", Outcome: "scheduled"})
	if err := r.deps.Ledger.Append(ctx, mark); err != nil {
		e.log.WarnContext(ctx, "outbox flush not scheduled; the next run flushes", "error", err)
		return
	}
	payload, err := trigger.EncodeTimer(FlushTrigger, r.now, sweepPayload{Mode: "flush"})
	if err == nil {
		_, err = di.InvokeAsyncAfter(ctx, e.cfg.FanOut.Function, payload, at.Sub(r.now)+time.Second)
	}
	if err != nil {
		e.log.WarnContext(ctx, "outbox flush not scheduled; the next run flushes", "error", err)
		return
	}
	e.flushAt.Store(at.Unix())
}

// FlushTrigger is the trigger name of a flush's payload.
const FlushTrigger = "flush"

// paceDelay is how long the changes the pace held back wait: until the next
// calendar minute's budget, and up to half a minute more, so that the
// continuations of a burst claim that minute one after another rather than
// at once (runs that claim at the same instant may all yield: minutePace).
func paceDelay(now time.Time) time.Duration {
	next := now.Truncate(time.Minute).Add(time.Minute)
	return next.Sub(now).Round(time.Second) + time.Duration(rand.IntN(30))*time.Second
}

// PacedTrigger is the trigger name of a paced continuation's payload.
const PacedTrigger = "paced"

// Tailer is optionally implemented by a Ledger (*ledger.Ledger and
// ledgertest.Mem do): Query by cursor, which sees every Append at once where
// a search lags by SLS's index delay (see ledger.Ledger.Tail).
type Tailer interface {
	Tail(ctx context.Context, f ledger.Filter, after logstore.Cursors) ([]ledger.Record, logstore.Cursors, error)
}

// minutePace is the pace of one run: MaxChangesPerMinute changes of the
// function per calendar minute across all its instances, counted as the
// distinct rules backed up in the minute (every change is backed up before
// it is made: the backups are the changes claimed; a rule two runs claim,
// e.g. for one event delivered twice, is one change). left reads them once;
// after the run has written its own backups, confirm reads on, by cursor,
// what other runs claimed since, and keeps only what the minute still
// allows: of two runs racing, the one whose backups landed last sees the
// other's, so the changes that stand never exceed the pace (runs that race
// may both yield; the rest waits for the paced continuation). Read by cursor
// (Tailer) where the ledger can: a search is blind to the last seconds of
// writes, in which a burst spends the budget many times over. Without a
// Tailer, confirm keeps what was granted. A ledger that cannot be read
// leaves the run's own cap.
type minutePace struct {
	e *Engine
	r *Run

	mu     sync.Mutex
	pos    logstore.Cursors // after left's read
	before map[string]bool  // rules the function claimed this minute, at left
	kept   int              // this run's changes that stood
	ids    map[string]bool  // this run's claims
	mine   map[string]bool  // the rules of this run's claims
}

func (p *minutePace) filter() ledger.Filter {
	return ledger.Filter{Kinds: []ledger.Kind{ledger.KindBackup},
		Since: p.r.now.Truncate(time.Minute), Until: p.r.now.Add(time.Second)}
}

func claimKey(r ledger.Record) string { return r.Region + "/" + r.GroupID + "/" + r.RuleID }

// rules adds to set the rules of this function's claims among recs that
// are not this run's own records.
func (p *minutePace) rules(set map[string]bool, recs []ledger.Record) map[string]bool {
	for _, rec := range recs {
		if rec.Function == p.e.cfg.Name && !p.ids[rec.ID] {
			set[claimKey(rec)] = true
		}
	}
	return set
}

func (p *minutePace) left(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var recs []ledger.Record
	var pos logstore.Cursors
	var err error
	minute := p.r.now.Truncate(time.Minute)
	before := map[string]bool{}
	if t, ok := p.r.deps.Ledger.(Tailer); ok {
		from, seen, warm := p.e.pace.get(t, minute)
		if warm {
			before = seen // this instance read the minute up to from already
		}
		recs, pos, err = t.Tail(ctx, p.filter(), from)
	} else {
		recs, err = p.r.deps.Ledger.Query(ctx, p.filter())
	}
	if err != nil {
		p.e.log.WarnContext(ctx, "read this minute's changes for the pace; using the run's cap", "error", err)
		return p.e.cfg.MaxChanges
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pos, p.before = pos, p.rules(before, recs)
	if t, ok := p.r.deps.Ledger.(Tailer); ok && pos != nil {
		p.e.pace.put(t, minute, pos, p.before)
	}
	return p.e.cfg.MaxChangesPerMinute - len(p.before)
}

func (p *minutePace) confirm(ctx context.Context, claims []ledger.Record, k int) int {
	t, ok := p.r.deps.Ledger.(Tailer)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids, p.mine = map[string]bool{}, map[string]bool{}
	}
	for _, c := range claims {
		p.ids[c.ID], p.mine[claimKey(c)] = true, true
	}
	if !ok || p.pos == nil {
		p.kept += k
		return k
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	recs, pos, err := t.Tail(ctx, p.filter(), p.pos)
	if err != nil {
		// Our claims are written and other runs count them; whether theirs
		// came first is unknown: yield.
		p.e.log.WarnContext(ctx, "re-read this minute's changes for the pace; holding the changes back", "changes", k, "error", err)
		return 0
	}
	others := 0
	for key := range p.rules(maps.Clone(p.before), recs) {
		if !p.mine[key] {
			others++ // a rule this run also claims is one change, counted in kept
		}
	}
	seen := p.rules(maps.Clone(p.before), recs)
	for key := range p.mine {
		seen[key] = true // the next run of this instance counts this run's claims as others'
	}
	p.e.pace.put(t, p.r.now.Truncate(time.Minute), pos, seen)
	stand := max(0, min(k, p.e.cfg.MaxChangesPerMinute-others-p.kept))
	if stand < k {
		p.e.log.InfoContext(ctx, "pace: other instances claimed this minute first; holding changes back", "claimed", k, "kept", stand)
	}
	p.kept += stand
	return stand
}

// continuePaced hands the groups whose changes the cap held back to one
// delayed invocation per region (PaceDelay later: the next minute's budget),
// and tells people the guard is rate-limiting itself. Without a delayed
// invoker the next sweep continues.
func (e *Engine) continuePaced(ctx context.Context, r *Run) {
	waiting := r.res.Capped
	then := "the next sweep continues"
	di, ok := r.deps.Invoker.(DelayedInvoker)
	if ok && e.cfg.FanOut.Function != "" {
		then = "the rest follow within minutes, at the pace"
		for _, region := range slices.Sorted(maps.Keys(r.capped)) {
			groups := slices.Compact(slices.Sorted(slices.Values(r.capped[region])))
			for _, part := range slices.Collect(slices.Chunk(groups, MaxSliceGroups)) {
				payload, err := trigger.EncodeTimer(PacedTrigger, r.now, sweepPayload{Mode: "sweep", Region: region, Groups: part})
				if err == nil {
					_, err = di.InvokeAsyncAfter(ctx, e.cfg.FanOut.Function, payload, paceDelay(r.now))
				}
				if err != nil {
					e.log.ErrorContext(ctx, "paced continuation not started; the next sweep continues", "region", region, "groups", len(part), "error", err)
					then = "a continuation could not be started (" + apply.ErrorClass(err) + "); the next sweep continues"
				}
			}
		}
	}
	r.events = append(r.events, notify.Event{
		ID:       fmt.Sprintf("%s/paced/%s", e.cfg.Name, r.now.UTC().Truncate(time.Minute).Format(time.RFC3339)),
		Kind:     notify.KindError,
		Severity: notify.SeverityHigh,
		Action: fmt.Sprintf("the %s is rate-limiting itself: %d more change(s) waiting (at most %d a minute); %s",
			e.cfg.Name, waiting, e.cfg.MaxChangesPerMinute, then),
	})
}

// deadlineNear reports whether the invocation has under 2 s left.
func deadlineNear(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < 2*time.Second
}

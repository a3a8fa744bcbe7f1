package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/shared/apicall"
	"github.com/porthygiene/porthygiene/shared/apply"
	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// The timer sweep and its fan-out.
//
// The timer sends {"mode":"sweep"}. Each region is swept in one loop
// (sweepTimer): a full sweep first runs the function's BeforeSweep, then
// lists the region's groups (DescribeSecurityGroups only: the listing
// carries the tags) and either reconciles them in this invocation (inline)
// or, with FanOut configured and more groups than one slice holds, cuts them
// into n slices of at most sliceSize groups and invokes this function
// asynchronously once per slice with the timer-shaped payload (trigger name
// SliceTrigger)
//
//	{"mode":"sweep","region":R,"groups":[ids...],"qps":Q},  Q = B / max(C, n)
//
// where B is the region's ECS budget (PORTHYGIENE_ECS_QPS) and C the
// concurrency the slices are sized for (PORTHYGIENE_SWEEP_CONCURRENCY). A
// slice sweeps only its groups, through a client paced at Q by a limiter of
// its own (Deps.Paced).
//
// Invariant: the ECS calls per second of a region's slices together never
// exceed B, however many of them Function Compute runs at once: each of the
// n slices is paced at Q ≤ B/n, so even all n at once stay within B. (With
// n ≤ C each slice gets B/C and the slices were sized to fit the function's
// timeout at that pace; with n > C the share shrinks to B/n and a slice may
// need more than one invocation, see continuations.) The planner itself makes
// no ECS call in a region once it has invoked that region's slices.
//
// Continuations: a slice that nears its deadline with groups left hands them
// (and the groups that failed) to one new asynchronous invocation at the same
// Q, and ends without an error, so a slice's work is never done by two
// invocations at once and the sum above still holds. A slice that made no
// progress does not continue: it fails and FC's retry takes over.
//
// Idempotent: a slice re-reads every group it is given (level-based), so a
// retried or duplicated slice changes nothing that is already clean.
//
// Failure: if an invocation cannot be started (after fcapi's retries), the
// planner stops fanning out and sweeps the region's remaining slices itself,
// at their combined share, and logs the error.

// FanOut configures the sweep's fan-out (Config.FanOut).
type FanOut struct {
	// Function is this function's name (FC_FUNCTION_NAME); empty: no fan-out.
	Function string
	// Slice is the number of groups per slice: 0 sizes slices from the
	// invocation's time and QPS share (sliceSize), a negative value never
	// fans out. At most MaxSliceGroups.
	Slice int
	// Concurrency is how many slices at once the budget is divided over
	// (default DefaultSweepConcurrency).
	Concurrency int
	// QPS is a region's ECS budget for the sweep, B (default DefaultECSQPS).
	QPS float64
}

// Fan-out defaults and limits.
const (
	// DefaultECSQPS is the default ECS budget of one instance (PORTHYGIENE_ECS_QPS).
	DefaultECSQPS           = 20
	DefaultSweepConcurrency = 4
	// SliceTrigger is the trigger name of the slice invocations' payloads.
	SliceTrigger = "sweep-slice"
	// MaxSliceGroups bounds a slice so that its payload (about 26 bytes per
	// group id) stays far below FC's 128 KB asynchronous payload limit.
	MaxSliceGroups = 2000
	// MinSliceGroups is the smallest automatic slice.
	MinSliceGroups = 10

	// sliceTimeShare is the part of the function's time a slice is sized to
	// use at its QPS share: the rest is margin for revokes, ledger writes,
	// notifications and slow calls.
	sliceTimeShare = 0.5
	// callsPerGroup is the ECS calls one group costs in a sweep: one
	// DescribeSecurityGroupAttribute page, plus listing, prefix lists and
	// revokes.
	callsPerGroup = 1.25
	// defaultSliceTime is the function time assumed without a deadline.
	defaultSliceTime = 60 * time.Second
)

// Slice is one asynchronous sweep invocation this invocation started.
type Slice struct {
	Region       string  `json:"region"`
	Groups       int     `json:"groups"`
	QPS          float64 `json:"qps"`
	RequestID    string  `json:"requestId"`
	Continuation bool    `json:"continuation,omitempty"` // hands on a slice's unfinished groups
}

// sweepPayload is the timer payload of a sweep: {"mode":"sweep"} from the
// timer, with region, groups and qps for a slice.
type sweepPayload struct {
	Mode   string   `json:"mode"`
	Region string   `json:"region,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// QPS is this invocation's share of the region's ECS budget.
	QPS float64 `json:"qps,omitempty"`
}

func (p sweepPayload) validate() error {
	switch {
	case p.Mode != "sweep" && p.Mode != "flush":
		return fmt.Errorf("timer payload mode %q: want \"sweep\" or \"flush\"", p.Mode)
	case p.Mode == "flush" && (p.Region != "" || len(p.Groups) > 0):
		return errors.New("timer payload: a flush names no region or groups")
	case p.QPS < 0 || math.IsNaN(p.QPS) || math.IsInf(p.QPS, 0):
		return fmt.Errorf("timer payload qps %v: want a positive number of calls per second", p.QPS)
	case len(p.Groups) > MaxSliceGroups:
		return fmt.Errorf("timer payload: %d groups, at most %d", len(p.Groups), MaxSliceGroups)
	case slices.Contains(p.Groups, ""):
		return errors.New("timer payload: empty group id")
	}
	return nil
}

// sweepTimer is the one sweep loop: a slice (groups given), a fanned-out
// plan, or an inline sweep, region by region.
func (e *Engine) sweepTimer(ctx context.Context, r *Run, p sweepPayload) error {
	if p.Mode == "flush" {
		return nil // the run's end flushes the outbox
	}
	regions := e.cfg.Regions
	if sw, ok := e.fn.(Sweeper); ok && p.Region == "" && len(p.Groups) == 0 {
		return sw.Sweep(ctx, r, regions)
	}
	if p.Region != "" {
		if len(e.cfg.Regions) > 0 && !slices.Contains(e.cfg.Regions, p.Region) {
			return fmt.Errorf("%s: sweep of region %s, which this function does not cover (%v): %w", e.cfg.Name, p.Region, e.cfg.Regions, apicall.ErrInvalid)
		}
		regions = []string{p.Region}
	}
	budget := e.budget()
	if p.QPS > 0 {
		if p.QPS > budget {
			e.log.WarnContext(ctx, "sweep qps above the region's budget: using the budget", "qps", p.QPS, "budget", budget)
		}
		budget = min(p.QPS, budget)
		if paced := r.deps.Paced; paced != nil {
			r.deps.Cloud = func(region string) (Cloud, error) { return paced(region, budget) }
		}
	}
	slice := len(p.Groups) > 0
	fanOut := !slice && e.canFanOut(r)
	size := 0
	if fanOut {
		size = e.sliceSize(ctx, budget)
	}
	var errs []error
	for i, region := range regions {
		cl, err := r.deps.Cloud(region)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var opts cloud.ListOptions
		if slice {
			opts.GroupIDs = p.Groups
		} else if err := e.fn.BeforeSweep(ctx, r, region, cl); err != nil {
			// Before the groups are read: the sweep then sees what it did
			// (the guard's restored rules, with their exemptions).
			errs = append(errs, err)
		}
		groups, err := cl.ListGroups(ctx, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: list groups in %s: %w", e.cfg.Name, region, err))
			continue
		}
		var stopped bool
		switch {
		case slice:
			stopped = e.sweepSlice(ctx, r, cl, region, groups, p.Groups, regions[i+1:], budget, &errs)
		case fanOut && len(groups) > size:
			stopped = e.fanOut(ctx, r, region, groups, size, budget, &errs)
		default:
			stopped = e.sweepInline(ctx, r, cl, region, groups, &errs)
		}
		if stopped {
			break
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) canFanOut(r *Run) bool {
	return e.cfg.FanOut.Function != "" && e.cfg.FanOut.Slice >= 0 && r.deps.Invoker != nil
}

// budget is B, a region's ECS calls per second for the sweep.
func (e *Engine) budget() float64 {
	if q := e.cfg.FanOut.QPS; q > 0 {
		return q
	}
	return DefaultECSQPS
}

func (e *Engine) concurrency() int {
	if c := e.cfg.FanOut.Concurrency; c > 0 {
		return c
	}
	return DefaultSweepConcurrency
}

// sliceSize is FanOut.Slice, or the groups one invocation sweeps in
// sliceTimeShare of its time at its share budget/Concurrency.
func (e *Engine) sliceSize(ctx context.Context, budget float64) int {
	if n := e.cfg.FanOut.Slice; n > 0 {
		return min(n, MaxSliceGroups)
	}
	t := defaultSliceTime
	if dl, ok := ctx.Deadline(); ok {
		t = time.Until(dl)
	}
	n := int(sliceTimeShare * t.Seconds() * budget / float64(e.concurrency()) / callsPerGroup)
	return min(max(n, MinSliceGroups), MaxSliceGroups)
}

// shareOf is B/max(C, n), rounded down to a thousandth so that the shares
// never add up to more than B.
func (e *Engine) shareOf(budget float64, n int) float64 {
	q := budget / float64(max(e.concurrency(), n))
	return max(math.Floor(q*1000)/1000, 0.001)
}

// sweepInline sweeps groups in this invocation, adding its errors to errs;
// stopped reports that the deadline came near before every group was handed
// out (the result is then partial).
func (e *Engine) sweepInline(ctx context.Context, r *Run, cl Cloud, region string, groups []cloud.Group, errs *[]error) (stopped bool) {
	rest, _, err := e.sweepGroups(ctx, r, cl, region, groups)
	if err != nil {
		*errs = append(*errs, err)
	}
	if len(rest) == 0 {
		return false
	}
	r.markPartial()
	*errs = append(*errs, fmt.Errorf("%s: sweep of %s stopped before the deadline at group %s", e.cfg.Name, region, rest[0].ID))
	return true
}

func (r *Run) markPartial() {
	r.mu.Lock()
	r.res.Partial = true
	r.mu.Unlock()
}

// sweepGroups reconciles groups with Config.SweepWorkers workers. rest are
// the groups not handed out because the deadline came near; failed are the
// groups whose reconcile failed, and err joins their errors.
func (e *Engine) sweepGroups(ctx context.Context, r *Run, cl Cloud, region string, groups []cloud.Group) (rest, failed []cloud.Group, err error) {
	work := make(chan cloud.Group)
	var (
		wg     sync.WaitGroup
		errMu  sync.Mutex
		errs   []error
		worker = func() {
			defer wg.Done()
			for grp := range work {
				tags := grp.Tags
				if tags == nil {
					tags = map[string]string{}
				}
				t := target{Target: observe.Target{Region: region, GroupID: grp.ID, Tags: tags}, cloud: cl}
				if _, err := e.reconcile(ctx, r, t, apply.Cause{Event: ledger.EventContext{Source: "sweep"}}); err != nil {
					errMu.Lock()
					errs = append(errs, err)
					failed = append(failed, grp)
					errMu.Unlock()
				}
			}
		}
	)
	for range min(e.cfg.SweepWorkers, len(groups)) {
		wg.Add(1)
		go worker()
	}
	for i, grp := range groups {
		if deadlineNear(ctx) {
			rest = groups[i:]
			break
		}
		work <- grp
	}
	close(work)
	wg.Wait()
	return rest, failed, errors.Join(errs...)
}

// fanOut invokes one slice per size groups of the region. If a slice cannot
// be invoked, the remaining slices are swept here, at their combined share.
func (e *Engine) fanOut(ctx context.Context, r *Run, region string, groups []cloud.Group, size int, budget float64, errs *[]error) (stopped bool) {
	parts := slices.Collect(slices.Chunk(groups, size))
	share := e.shareOf(budget, len(parts))
	for i, part := range parts {
		err := e.invokeSlice(ctx, r, region, ids(part), share, false)
		if err == nil {
			continue
		}
		left := slices.Concat(parts[i:]...)
		e.log.ErrorContext(ctx, "sweep fan-out failed: sweeping the remaining slices in this invocation",
			"region", region, "slices", len(parts)-i, "groups", len(left), "error", err)
		cl, cerr := e.pacedCloud(r, region, min(share*float64(len(parts)-i), budget))
		if cerr != nil {
			*errs = append(*errs, err, cerr)
			return false
		}
		return e.sweepInline(ctx, r, cl, region, left, errs)
	}
	return false
}

// pacedCloud is the region's ECS API at qps (Deps.Paced), else Deps.Cloud.
func (e *Engine) pacedCloud(r *Run, region string, qps float64) (Cloud, error) {
	if r.deps.Paced != nil {
		return r.deps.Paced(region, qps)
	}
	return r.deps.Cloud(region)
}

// invokeSlice starts one asynchronous sweep of the given groups at qps.
func (e *Engine) invokeSlice(ctx context.Context, r *Run, region string, groupIDs []string, qps float64, continuation bool) error {
	payload, err := trigger.EncodeTimer(SliceTrigger, r.now, sweepPayload{Mode: "sweep", Region: region, Groups: groupIDs, QPS: qps})
	if err != nil {
		return fmt.Errorf("%s: sweep slice: %w", e.cfg.Name, err)
	}
	id, err := r.deps.Invoker.InvokeAsync(ctx, e.cfg.FanOut.Function, payload)
	if err != nil {
		return fmt.Errorf("%s: invoke a sweep slice of %d groups in %s: %w", e.cfg.Name, len(groupIDs), region, err)
	}
	e.log.InfoContext(ctx, "sweep slice invoked", "region", region, "groups", len(groupIDs), "qps", qps,
		"requestId", id, "continuation", continuation)
	r.mu.Lock()
	r.res.Slices = append(r.res.Slices, Slice{Region: region, Groups: len(groupIDs), QPS: qps, RequestID: id, Continuation: continuation})
	r.mu.Unlock()
	return nil
}

// sweepSlice sweeps a slice's groups of one region. Near the deadline, what
// is left (and what failed) goes on in a continuation, and so do the regions
// of the payload after this one.
func (e *Engine) sweepSlice(ctx context.Context, r *Run, cl Cloud, region string, groups []cloud.Group, groupIDs, later []string, qps float64, errs *[]error) (stopped bool) {
	rest, failed, err := e.sweepGroups(ctx, r, cl, region, groups)
	if len(rest) == 0 {
		if err != nil {
			*errs = append(*errs, err)
		}
		return false
	}
	left := ids(slices.Concat(rest, failed))
	if e.canFanOut(r) && len(left) < len(groups) {
		ierr := e.invokeSlice(ctx, r, region, left, qps, true)
		if ierr == nil {
			if err != nil {
				e.log.WarnContext(ctx, "sweep slice: failed groups go on in the continuation", "region", region, "error", err)
			}
			for _, next := range later {
				if ierr := e.invokeSlice(ctx, r, next, groupIDs, qps, true); ierr != nil {
					*errs = append(*errs, ierr)
				}
			}
			return true
		}
		*errs = append(*errs, ierr)
	}
	r.markPartial()
	*errs = append(*errs, err, fmt.Errorf("%s: sweep of %s stopped before the deadline at group %s", e.cfg.Name, region, rest[0].ID))
	return true
}

func ids(groups []cloud.Group) []string {
	out := make([]string, len(groups))
	for i, grp := range groups {
		out[i] = grp.ID
	}
	return out
}

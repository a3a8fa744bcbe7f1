package guard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/fcapi"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// The sweep's fan-out.
//
// The timer sends {"mode":"sweep"}. With FanOut configured, that invocation
// is the planner: for each region it lists the groups (DescribeSecurityGroups
// only). A region with at most one slice of groups is swept inline, as
// without fan-out. A larger region is cut into n slices of at most
// sliceSize groups, and the planner invokes this function asynchronously once
// per slice with the timer-shaped payload (trigger name SliceTrigger)
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
// retried or duplicated slice changes nothing that is already clean. (A
// duplicate delivery that runs beside its original paces both at Q: the
// adapter's backoff on throttling covers that rare excess.)
//
// Failure: if an invocation cannot be started (after fcapi's retries), the
// planner stops fanning out and sweeps the region's remaining slices itself,
// at their combined share, and logs the error.

// Invoker starts an asynchronous invocation of a function (fcapi.Client).
type Invoker interface {
	InvokeAsync(ctx context.Context, functionName string, payload []byte) (requestID string, err error)
}

var _ Invoker = (*fcapi.Client)(nil)

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
	case p.Mode != "sweep":
		return fmt.Errorf("timer payload mode %q: want \"sweep\"", p.Mode)
	case p.QPS < 0 || math.IsNaN(p.QPS) || math.IsInf(p.QPS, 0):
		return fmt.Errorf("timer payload qps %v: want a positive number of calls per second", p.QPS)
	case len(p.Groups) > MaxSliceGroups:
		return fmt.Errorf("timer payload: %d groups, at most %d", len(p.Groups), MaxSliceGroups)
	case slices.Contains(p.Groups, ""):
		return errors.New("timer payload: empty group id")
	}
	return nil
}

// sweepTimer runs a timer sweep: a slice (groups given), a plan (fan-out
// configured) or the inline sweep.
func (g *Guard) sweepTimer(ctx context.Context, r *run, p sweepPayload) error {
	regions := g.cfg.Regions
	if p.Region != "" {
		regions = []string{p.Region}
	}
	budget := g.budget()
	if p.QPS > 0 {
		if p.QPS > budget {
			g.log.WarnContext(ctx, "sweep qps above the region's budget: using the budget", "qps", p.QPS, "budget", budget)
		}
		budget = min(p.QPS, budget)
		if paced := r.deps.Paced; paced != nil {
			r.deps.Cloud = func(region string) (Cloud, error) { return paced(region, budget) }
		}
	}
	switch {
	case len(p.Groups) > 0:
		return g.sweepSlice(ctx, r, regions, p.Groups, budget)
	case g.canFanOut(r):
		return g.plan(ctx, r, regions, budget)
	}
	return g.sweep(ctx, r, regions, nil)
}

func (g *Guard) canFanOut(r *run) bool {
	return g.cfg.FanOut.Function != "" && g.cfg.FanOut.Slice >= 0 && r.deps.Invoker != nil
}

// budget is B, a region's ECS calls per second for the sweep.
func (g *Guard) budget() float64 {
	if q := g.cfg.FanOut.QPS; q > 0 {
		return q
	}
	return DefaultECSQPS
}

func (g *Guard) concurrency() int {
	if c := g.cfg.FanOut.Concurrency; c > 0 {
		return c
	}
	return DefaultSweepConcurrency
}

// sliceSize is FanOut.Slice, or the groups one invocation sweeps in
// sliceTimeShare of its time at its share budget/Concurrency.
func (g *Guard) sliceSize(ctx context.Context, budget float64) int {
	if n := g.cfg.FanOut.Slice; n > 0 {
		return min(n, MaxSliceGroups)
	}
	t := defaultSliceTime
	if dl, ok := ctx.Deadline(); ok {
		t = time.Until(dl)
	}
	n := int(sliceTimeShare * t.Seconds() * budget / float64(g.concurrency()) / callsPerGroup)
	return min(max(n, MinSliceGroups), MaxSliceGroups)
}

// shareOf is B/max(C, n), rounded down to a thousandth so that the shares
// never add up to more than B.
func (g *Guard) shareOf(budget float64, n int) float64 {
	q := budget / float64(max(g.concurrency(), n))
	return max(math.Floor(q*1000)/1000, 0.001)
}

// plan is the planner: per region, carry out the owners' restore decisions,
// list the groups, then sweep them inline (one slice or less) or invoke one
// slice per sliceSize groups.
func (g *Guard) plan(ctx context.Context, r *run, regions []string, budget float64) error {
	r.prefixLists = map[string][]netip.Prefix{}
	size := g.sliceSize(ctx, budget)
	var errs []error
	for _, region := range regions {
		cloud, err := r.deps.Cloud(region)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// Owners' "restore" decisions first, as the inline sweep does: the
		// slices then see the restored rules with their exemptions.
		if err := g.executeRestores(ctx, r, region, cloud); err != nil {
			errs = append(errs, err)
		}
		groups, err := cloud.ListGroups(ctx, ecsapi.ListOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("guard: list groups in %s: %w", region, err))
			continue
		}
		var stopped bool
		if len(groups) <= size {
			stopped = g.sweepInline(ctx, r, cloud, region, groups, &errs)
		} else {
			stopped = g.fanOut(ctx, r, region, groups, size, budget, &errs)
		}
		if stopped {
			return errors.Join(errs...)
		}
	}
	return errors.Join(errs...)
}

// fanOut invokes one slice per size groups of the region. If a slice cannot
// be invoked, the remaining slices are swept here, at their combined share.
func (g *Guard) fanOut(ctx context.Context, r *run, region string, groups []ecsapi.Group, size int, budget float64, errs *[]error) (stopped bool) {
	parts := slices.Collect(slices.Chunk(groups, size))
	share := g.shareOf(budget, len(parts))
	for i, part := range parts {
		err := g.invokeSlice(ctx, r, region, ids(part), share, false)
		if err == nil {
			continue
		}
		left := slices.Concat(parts[i:]...)
		g.log.ErrorContext(ctx, "sweep fan-out failed: sweeping the remaining slices in this invocation",
			"region", region, "slices", len(parts)-i, "groups", len(left), "error", err)
		cloud, cerr := g.pacedCloud(r, region, min(share*float64(len(parts)-i), budget))
		if cerr != nil {
			*errs = append(*errs, err, cerr)
			return false
		}
		return g.sweepInline(ctx, r, cloud, region, left, errs)
	}
	return false
}

// pacedCloud is the region's ECS API at qps (Deps.Paced), else Deps.Cloud.
func (g *Guard) pacedCloud(r *run, region string, qps float64) (Cloud, error) {
	if r.deps.Paced != nil {
		return r.deps.Paced(region, qps)
	}
	return r.deps.Cloud(region)
}

// invokeSlice starts one asynchronous sweep of the given groups at qps.
func (g *Guard) invokeSlice(ctx context.Context, r *run, region string, groupIDs []string, qps float64, continuation bool) error {
	payload, err := trigger.EncodeTimer(SliceTrigger, r.now, sweepPayload{Mode: "sweep", Region: region, Groups: groupIDs, QPS: qps})
	if err != nil {
		return fmt.Errorf("guard: sweep slice: %w", err)
	}
	id, err := r.deps.Invoker.InvokeAsync(ctx, g.cfg.FanOut.Function, payload)
	if err != nil {
		return fmt.Errorf("guard: invoke a sweep slice of %d groups in %s: %w", len(groupIDs), region, err)
	}
	g.log.InfoContext(ctx, "sweep slice invoked", "region", region, "groups", len(groupIDs), "qps", qps,
		"requestId", id, "continuation", continuation)
	r.mu.Lock()
	r.res.Slices = append(r.res.Slices, Slice{Region: region, Groups: len(groupIDs), QPS: qps, RequestID: id, Continuation: continuation})
	r.mu.Unlock()
	return nil
}

// sweepSlice sweeps the given groups of each region. Near the deadline, what
// is left (and what failed) goes on in a continuation.
func (g *Guard) sweepSlice(ctx context.Context, r *run, regions, groupIDs []string, qps float64) error {
	r.prefixLists = map[string][]netip.Prefix{}
	var errs []error
	for i, region := range regions {
		cloud, err := r.deps.Cloud(region)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		groups, err := cloud.ListGroups(ctx, ecsapi.ListOptions{GroupIDs: groupIDs})
		if err != nil {
			errs = append(errs, fmt.Errorf("guard: list groups in %s: %w", region, err))
			continue
		}
		rest, failed, err := g.sweepGroups(ctx, r, cloud, region, groups)
		if len(rest) == 0 {
			if err != nil {
				errs = append(errs, err)
			}
			continue
		}
		left := ids(slices.Concat(rest, failed))
		if g.canFanOut(r) && len(left) < len(groups) {
			ierr := g.invokeSlice(ctx, r, region, left, qps, true)
			if ierr == nil {
				if err != nil {
					g.log.WarnContext(ctx, "sweep slice: failed groups go on in the continuation", "region", region, "error", err)
				}
				// The other regions of the payload go on in continuations too.
				for _, next := range regions[i+1:] {
					if ierr := g.invokeSlice(ctx, r, next, groupIDs, qps, true); ierr != nil {
						errs = append(errs, ierr)
					}
				}
				return errors.Join(errs...)
			}
			errs = append(errs, ierr)
		}
		r.mu.Lock()
		r.res.Partial = true
		r.mu.Unlock()
		errs = append(errs, err, fmt.Errorf("guard: sweep of %s stopped before the deadline at group %s", region, rest[0].ID))
		return errors.Join(errs...)
	}
	return errors.Join(errs...)
}

func ids(groups []ecsapi.Group) []string {
	out := make([]string, len(groups))
	for i, grp := range groups {
		out[i] = grp.ID
	}
	return out
}

package engine

import (
	"context"

	"github.com/porthygiene/porthygiene/shared/apply"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
)

// Functions whose unit is not one group (the replicator: a primary and its
// replicas, across regions) implement these optional interfaces; the engine
// still does the rest (dispatch, our own role and failed calls skipped,
// dedup, the event records, the flush).

// GroupReconciler, when a Function implements it, replaces observe → plan →
// apply of one group an event picked: the function reconciles what the
// group belongs to, through the Run (Cloud of any region, Apply, Notify).
type GroupReconciler interface {
	ReconcileGroup(ctx context.Context, r *Run, t observe.Target, cause apply.Cause) error
}

// Sweeper, when a Function implements it, replaces the timer's sweep of
// every group of the regions (a slice or a paced continuation still sweeps
// its groups the usual way).
type Sweeper interface {
	Sweep(ctx context.Context, r *Run, regions []string) error
}

// Cloud is the ECS API of region, with the invocation's credentials.
func (r *Run) Cloud(region string) (Cloud, error) { return r.deps.Cloud(region) }

// Apply carries out p on the group st describes (shared/apply, under the
// run's cap) and adds the outcome to the run's result and notifications.
func (r *Run) Apply(ctx context.Context, cl Cloud, st observe.State, p plan.Plan, cause apply.Cause) (apply.Outcome, error) {
	out, err := r.apply.Apply(ctx, cl, st, p, cause)
	r.merge(st, out)
	return out, err
}

// Looked records that the run read group id (Result.Groups).
func (r *Run) Looked(id string) {
	r.mu.Lock()
	r.res.Groups = append(r.res.Groups, id)
	r.mu.Unlock()
}

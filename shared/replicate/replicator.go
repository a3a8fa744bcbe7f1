package replicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porthygiene/porthygiene/shared/apply"
	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// HandledEvents are the ActionTrail events that change a group's rules: on a
// primary they are replicated, on a replica they are drift. s.yaml's
// EventBridge pattern of the replicator names exactly these (a test checks).
var HandledEvents = []string{
	"AuthorizeSecurityGroup",
	"AuthorizeSecurityGroupEgress",
	"RevokeSecurityGroup",
	"RevokeSecurityGroupEgress",
	"ModifySecurityGroupRule",
	"ModifySecurityGroupEgressRule",
}

// MaxChangesPerRun caps the rule changes of one run: a full group's quota
// several times over (caps limit pace, never outcome: the next run goes on).
const MaxChangesPerRun = 5 * DefaultQuota

// Change is one successful call on a group, as ActionTrail recorded it.
type Change struct {
	Actor     string
	EventName string
	EventID   string
	Time      time.Time
}

// Trail says who changed a group: the ActionTrail records of calls on it
// (fcwire: the trail's SLS logstore). Our own roles' calls are left out.
type Trail interface {
	Changes(ctx context.Context, region, groupID string, since, until time.Time) ([]Change, error)
}

// PrefixListLister is what a Cloud offers to map prefix lists by name
// (ecsapi: DescribePrefixLists).
type PrefixListLister interface {
	PrefixListNames(ctx context.Context) (map[string]string, error) // id → name
}

// Config configures a Replicator: the engine's configuration (Name defaults
// to "replicator"), and where the replicas' changes are read from.
type Config struct {
	engine.Config
	// Trail, when set, names who changed a replica the timer heals.
	Trail Trail
	// DriftWindow is how far back the trail is searched (default 24 h).
	DriftWindow time.Duration
}

// Replicator keeps replication sets in step: the engine with the
// replicator's set discovery, planner and notifications.
type Replicator struct {
	planner *Planner
	pol     *policy.Policy
	eng     *engine.Engine
	cfg     Config
	log     *slog.Logger
	// last is the world the last run of this instance discovered: a warm
	// event run starts reading the replicas it names while it discovers the
	// world afresh, and plans on the fresh one only (a stale guess costs a
	// read, never a wrong write).
	last atomic.Pointer[World]
}

// New builds a replicator. The policy (nil: the default) must be valid, and
// so must the sets it declares.
func New(pol *policy.Policy, cfg Config) (*Replicator, error) {
	if pol == nil {
		pol = policy.Default()
	}
	if _, err := FromPolicy(pol.Replication); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = string(policy.FunctionReplicator)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DriftWindow <= 0 {
		cfg.DriftWindow = 24 * time.Hour
	}
	cfg.MaxChanges, cfg.MaxChangesPerMinute = MaxChangesPerRun, 0
	pl, err := NewPlanner(pol)
	if err != nil {
		return nil, err
	}
	r := &Replicator{planner: pl, pol: pol, cfg: cfg, log: cfg.Logger}
	if r.eng, err = engine.New(cfg.Config, r); err != nil {
		return nil, fmt.Errorf("replicator: %w", err)
	}
	return r, nil
}

// Handle processes one trigger payload (engine.Engine.Handle).
func (r *Replicator) Handle(ctx context.Context, deps engine.Deps, payload []byte) (engine.Result, error) {
	return r.eng.Handle(ctx, deps, payload)
}

// Handles reports whether an ActionTrail event changes a group's rules.
func (r *Replicator) Handles(eventName string) bool { return slices.Contains(HandledEvents, eventName) }

// NeedsContext and Plan complete engine.Function; the replicator reconciles
// sets (ReconcileGroup, Sweep), never one group alone.
func (r *Replicator) NeedsContext(*observe.State, time.Time) bool { return false }

// Plan: see NeedsContext.
func (r *Replicator) Plan(st observe.State, _ time.Time) plan.Plan {
	return plan.Plan{Region: st.Region, GroupID: st.GroupID}
}

// BeforeSweep does nothing.
func (r *Replicator) BeforeSweep(context.Context, *engine.Run, string, engine.Cloud) error {
	return nil
}

// World is what set discovery read: the replicas of every covered region
// (one listing each, of the groups tagged TagReplicaOf, with their names,
// VPCs and tags), the sets they and the policy declare, and the groups the
// mapping looked up since (by id, or by VPC for a lookup by name), read on
// demand: a run reads as many groups as its sets need, not the account's.
type World struct {
	// Groups are the groups known so far, by region.
	Groups map[string][]cloud.Group
	Sets   []Set
	look   *lookups // nil: Groups is all there is (tests)
}

type lookups struct {
	ctx     context.Context
	cloudOf func(string) (engine.Cloud, error)
	mu      sync.Mutex
	byID    map[GroupRef]*cloud.Group // nil: looked up, not there
	byVPC   map[string][]cloud.Group  // "region/vpc" → its groups
}

// known returns g's entry if the world already has it.
func (w World) known(g GroupRef) (cloud.Group, bool) {
	for _, x := range w.Groups[g.Region] {
		if x.ID == g.GroupID {
			return x, true
		}
	}
	return cloud.Group{}, false
}

// Group returns g's listing entry, looking it up when the world does not
// have it yet; a group that cannot be read is unknown.
func (w World) Group(g GroupRef) (cloud.Group, bool) {
	if x, ok := w.known(g); ok || w.look == nil {
		return x, ok
	}
	l := w.look
	l.mu.Lock()
	defer l.mu.Unlock()
	if x, done := l.byID[g]; done {
		return derefGroup(x)
	}
	var found *cloud.Group
	if cl, err := l.cloudOf(g.Region); err == nil {
		if gs, err := cl.ListGroups(l.ctx, cloud.ListOptions{GroupIDs: []string{g.GroupID}}); err == nil && len(gs) == 1 {
			found = &gs[0]
		}
	}
	l.byID[g] = found
	return derefGroup(found)
}

func derefGroup(g *cloud.Group) (cloud.Group, bool) {
	if g == nil {
		return cloud.Group{}, false
	}
	return *g, true
}

// InVPC returns the groups of vpc in region (listed once per run).
func (w World) InVPC(region, vpc string) ([]cloud.Group, error) {
	if w.look == nil {
		var out []cloud.Group
		for _, g := range w.Groups[region] {
			if g.VpcID == vpc {
				out = append(out, g)
			}
		}
		return out, nil
	}
	l := w.look
	l.mu.Lock()
	defer l.mu.Unlock()
	key := region + "/" + vpc
	if gs, ok := l.byVPC[key]; ok {
		return gs, nil
	}
	cl, err := l.cloudOf(region)
	if err != nil {
		return nil, err
	}
	gs, err := cl.ListGroups(l.ctx, cloud.ListOptions{VpcID: vpc})
	if err != nil {
		return nil, err
	}
	l.byVPC[key] = gs
	return gs, nil
}

// Regions are the regions discovery lists: the covered ones and every
// region the policy's sets name.
func (r *Replicator) Regions() []string {
	regions := slices.Clone(r.cfg.Regions)
	if r.pol.Replication != nil {
		for _, s := range r.pol.Replication.Sets {
			for _, g := range append([]string{s.Primary}, groupsOf(s.Replicas)...) {
				if ref, err := ParseGroupRef(g); err == nil {
					regions = append(regions, ref.Region)
				}
			}
		}
	}
	slices.Sort(regions)
	return slices.Compact(regions)
}

func groupsOf(rs []policy.ReplicationReplica) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Group
	}
	return out
}

// Discover lists the replicas of regions (concurrently) and loads the sets.
// An invalid declaration is an error (no set is reconciled on a
// configuration that does not hold together).
func Discover(ctx context.Context, cloudOf func(region string) (engine.Cloud, error), pol *policy.Replication, regions []string) (World, error) {
	w := World{Groups: map[string][]cloud.Group{},
		look: &lookups{ctx: ctx, cloudOf: cloudOf, byID: map[GroupRef]*cloud.Group{}, byVPC: map[string][]cloud.Group{}}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, region := range regions {
		wg.Go(func() {
			cl, err := cloudOf(region)
			var gs []cloud.Group
			if err == nil {
				// The tag's key alone (no value): every replica, whatever
				// primary it names.
				gs, err = cl.ListGroups(ctx, cloud.ListOptions{Tags: map[string]string{TagReplicaOf: ""}})
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("replicator: list groups in %s: %w", region, err))
				return
			}
			w.Groups[region] = gs
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return w, err
	}
	var tagged []Tagged
	for _, region := range regions {
		for _, g := range w.Groups[region] {
			if _, ok := g.Tags[TagReplicaOf]; ok {
				tagged = append(tagged, Tagged{GroupRef: GroupRef{Region: region, GroupID: g.ID}, Tags: g.Tags})
			}
		}
	}
	sets, err := Load(pol, tagged)
	if err != nil {
		return w, fmt.Errorf("replicator: %w: %w", err, ErrConfig)
	}
	w.Sets = sets
	return w, nil
}

// ErrConfig marks an invalid replication configuration found at run time
// (a tag written by hand): no retry can fix it (it wraps cloud.ErrInvalid,
// so the engine answers it as a permanent failure).
var ErrConfig = fmt.Errorf("invalid replication configuration: %w", cloud.ErrInvalid)

// ReconcileGroup reconciles the set of the group an event picked: a change
// on the primary is copied, a change on a replica is drift and undone.
func (r *Replicator) ReconcileGroup(ctx context.Context, run *engine.Run, t observe.Target, cause apply.Cause) error {
	g := GroupRef{Region: t.Region, GroupID: t.GroupID}
	var pre prefetch
	if last := r.last.Load(); last != nil {
		if set, ok := SetOf(last.Sets, g); ok {
			var stop func()
			pre, stop = prefetchReplicas(ctx, run.Cloud, set)
			defer stop()
		}
	}
	w, err := Discover(ctx, run.Cloud, r.pol.Replication, r.Regions())
	if err != nil {
		return err
	}
	r.last.Store(&w)
	set, ok := SetOf(w.Sets, g)
	if !ok {
		r.log.InfoContext(ctx, "group in no replication set", "group", g.String(), "event", cause.Event.EventID)
		return nil
	}
	if g != set.Primary {
		t.Ahead = nil // read ahead for the replica: planReplica reads replicas itself
	}
	return r.reconcileSet(ctx, run, w, set, cause, g, t.Ahead, pre)
}

// prefetch holds replica reads started before the set was discovered afresh.
type prefetch map[GroupRef]*pendingRead

type pendingRead struct {
	done chan struct{}
	attr rule.Attribute
	err  error
}

// prefetchReplicas starts reading the rules of set's replicas; stop abandons
// the reads not used and waits for them to end.
func prefetchReplicas(ctx context.Context, cloudOf func(string) (engine.Cloud, error), set Set) (prefetch, func()) {
	ctx, cancel := context.WithCancel(ctx)
	pre := prefetch{}
	for _, rep := range set.Replicas {
		p := &pendingRead{done: make(chan struct{})}
		pre[rep.GroupRef] = p
		go func() {
			defer close(p.done)
			cl, err := cloudOf(rep.Region)
			if err == nil {
				p.attr, err = cl.DescribeRules(ctx, rep.GroupID)
			}
			p.err = err
		}()
	}
	return pre, func() {
		cancel()
		for _, p := range pre {
			<-p.done
		}
	}
}

// Sweep reconciles every set (the timer): drift that raised no event here
// (a replica in another region, whose events reach that region's bus) is
// healed, and people are told who changed the replica.
func (r *Replicator) Sweep(ctx context.Context, run *engine.Run, _ []string) error {
	w, err := Discover(ctx, run.Cloud, r.pol.Replication, r.Regions())
	if err != nil {
		return err
	}
	r.last.Store(&w)
	var errs []error
	for _, s := range w.Sets {
		// Dated, so that the notifications of each sweep are their own.
		cause := apply.Cause{Event: ledger.EventContext{Source: "sweep", EventID: "sweep/" + run.Now().UTC().Format(time.RFC3339)}}
		errs = append(errs, r.reconcileSet(ctx, run, w, s, cause, GroupRef{}, nil, nil))
	}
	return errors.Join(errs...)
}

// PlanSet observes a set and plans every replica: what `replicate plan`
// shows and what a reconcile would do. A replica that cannot be read has
// its error in its report.
func (r *Replicator) PlanSet(ctx context.Context, cloudOf func(string) (engine.Cloud, error), obs *observe.Observer, w World, set Set, now time.Time) (SetReport, []ReplicaPlan, []observe.State, error) {
	return r.planSet(ctx, cloudOf, obs, w, set, now, nil, nil)
}

// planSet is PlanSet; ahead, when not nil, is the primary's rules already
// being read (the engine reads an event's group while it checks the dedup).
func (r *Replicator) planSet(ctx context.Context, cloudOf func(string) (engine.Cloud, error), obs *observe.Observer, w World, set Set, now time.Time, ahead *observe.Ahead, pre prefetch) (SetReport, []ReplicaPlan, []observe.State, error) {
	rep := SetReport{Name: set.Name, Mode: set.Mode, Primary: set.Primary, Replicas: []ReplicaReport{}}
	pcl, err := cloudOf(set.Primary.Region)
	if err != nil {
		return rep, nil, nil, err
	}
	target := observe.Target{Region: set.Primary.Region, GroupID: set.Primary.GroupID, Ahead: ahead}
	if g, ok := w.known(set.Primary); ok {
		target.Tags = g.Tags // the listing's (a primary that is also tagged): no tag read
	}
	pst, err := obs.Rules(ctx, pcl, target)
	if err != nil {
		// Never plan without the primary: a mirror would remove everything.
		return rep, nil, nil, fmt.Errorf("replicator: set %s: primary %s: %w", set.Name, set.Primary, err)
	}
	if r.planner.NeedsContext(&pst, now) {
		if err := obs.Complete(ctx, pcl, &pst); err != nil {
			return rep, nil, nil, fmt.Errorf("replicator: set %s: primary %s: %w", set.Name, set.Primary, err)
		}
	}
	plans := make([]ReplicaPlan, len(set.Replicas))
	states := make([]observe.State, len(set.Replicas))
	reports := make([]ReplicaReport, len(set.Replicas))
	var wg sync.WaitGroup
	for i, replica := range set.Replicas {
		wg.Go(func() {
			rp, st, err := r.planReplica(ctx, cloudOf, w, set, pst, replica, now, pre[replica.GroupRef])
			plans[i], states[i] = rp, st
			if err != nil {
				reports[i] = ReplicaReport{Region: replica.Region, GroupID: replica.GroupID, Add: []RuleJSON{}, Remove: []RuleJSON{}, Skipped: []SkipReport{}, Error: err.Error()}
				return
			}
			reports[i] = ReportOf(rp)
		})
	}
	wg.Wait()
	rep.Replicas = reports
	return rep, plans, states, nil
}

func (r *Replicator) planReplica(ctx context.Context, cloudOf func(string) (engine.Cloud, error), w World, set Set, pst observe.State, replica Replica, now time.Time, pre *pendingRead) (ReplicaPlan, observe.State, error) {
	rp := ReplicaPlan{Replica: replica.GroupRef}
	var attr rule.Attribute
	var err error
	if pre != nil {
		<-pre.done
		attr, err = pre.attr, pre.err
	}
	if pre == nil || err != nil {
		var rcl engine.Cloud
		if rcl, err = cloudOf(replica.Region); err != nil {
			return rp, observe.State{}, err
		}
		attr, err = rcl.DescribeRules(ctx, replica.GroupID)
	}
	if err != nil {
		return rp, observe.State{}, fmt.Errorf("replica %s: %w", replica, err)
	}
	st := observe.State{Region: replica.Region, GroupID: replica.GroupID, Name: attr.Name, Rules: attr.Rules}
	if g, ok := w.Group(replica.GroupRef); ok {
		st.Tags, st.TagsKnown = g.Tags, true
	}
	refs, unmapped := r.resolve(ctx, cloudOf, w, set, replica, pst.Rules)
	rp = r.planner.Plan(Input{Mode: set.Mode, Primary: pst, Replica: st, Refs: refs, Unmapped: unmapped}, now)
	return rp, st, nil
}

// resolve maps the references of the primary's rules into the replica's
// region: the explicit map first; the primary itself is the replica; in the
// same region a prefix list is itself, and so is a group of the same VPC;
// else (by the replica's lookup) the peer's own replica in the replica's VPC
// (tagged TagReplicaOf), then a group (prefix list) of the same name.
func (r *Replicator) resolve(ctx context.Context, cloudOf func(string) (engine.Cloud, error), w World, set Set, replica Replica, rules []rule.Rule) (map[string]string, map[string]string) {
	refs, unmapped := map[string]string{}, map[string]string{}
	rg, _ := w.Group(replica.GroupRef)
	for _, ru := range rules {
		id := ru.Peer.ID
		if (ru.Peer.Kind != rule.PeerGroup && ru.Peer.Kind != rule.PeerPrefixList) || refs[id] != "" || unmapped[id] != "" {
			continue
		}
		if to, ok := replica.Map[id]; ok {
			refs[id] = to
			continue
		}
		if ru.Peer.Kind == rule.PeerGroup {
			to, why := r.resolveGroup(w, set, replica, rg, id)
			if to != "" {
				refs[id] = to
			} else {
				unmapped[id] = why
			}
			continue
		}
		if replica.Region == set.Primary.Region {
			refs[id] = id
			continue
		}
		if replica.Lookup == LookupTag || replica.Lookup == LookupNone {
			unmapped[id] = "a prefix list is regional; no mapping for it in " + replica.Region + " (lookup " + string(replica.Lookup) + ")"
			continue
		}
		to, why := r.prefixListByName(ctx, cloudOf, set.Primary.Region, replica.Region, id)
		if to != "" {
			refs[id] = to
		} else {
			unmapped[id] = why
		}
	}
	return refs, unmapped
}

func (r *Replicator) resolveGroup(w World, set Set, replica Replica, rg cloud.Group, id string) (string, string) {
	if id == set.Primary.GroupID {
		return replica.GroupID, ""
	}
	if replica.Region == set.Primary.Region {
		// The same region: a peer of the replica's VPC is itself.
		if peer, known := w.Group(GroupRef{Region: set.Primary.Region, GroupID: id}); known && peer.VpcID == rg.VpcID {
			return id, ""
		}
	}
	var tried []string
	if replica.Lookup == LookupAuto || replica.Lookup == LookupTag {
		want := set.Primary.Region + "/" + id
		var hits []string
		for _, g := range w.Groups[replica.Region] {
			if g.Tags[TagReplicaOf] == want && g.VpcID == rg.VpcID {
				hits = append(hits, g.ID)
			}
		}
		if len(hits) == 1 {
			return hits[0], ""
		}
		tried = append(tried, fmt.Sprintf("%d replicas of it in %s", len(hits), rg.VpcID))
	}
	if replica.Lookup == LookupAuto || replica.Lookup == LookupName {
		peer, known := w.Group(GroupRef{Region: set.Primary.Region, GroupID: id})
		switch {
		case !known:
			tried = append(tried, "its name could not be read")
		case peer.Name == "":
			tried = append(tried, "it has no name")
		default:
			groups, err := w.InVPC(replica.Region, rg.VpcID)
			if err != nil {
				tried = append(tried, "the groups of "+rg.VpcID+" could not be read: "+err.Error())
				break
			}
			var hits []string
			for _, g := range groups {
				if g.Name == peer.Name && g.ID != id {
					hits = append(hits, g.ID)
				}
			}
			if len(hits) == 1 {
				return hits[0], ""
			}
			tried = append(tried, fmt.Sprintf("%d groups named %q in %s", len(hits), peer.Name, rg.VpcID))
		}
	}
	if len(tried) == 0 {
		return "", "no mapping (lookup " + string(replica.Lookup) + ")"
	}
	return "", "no single match: " + strings.Join(tried, ", ")
}

func (r *Replicator) prefixListByName(ctx context.Context, cloudOf func(string) (engine.Cloud, error), from, to, id string) (string, string) {
	names := func(region string) (map[string]string, error) {
		cl, err := cloudOf(region)
		if err != nil {
			return nil, err
		}
		l, ok := cl.(PrefixListLister)
		if !ok {
			return nil, errors.New("this cloud cannot list prefix lists")
		}
		return l.PrefixListNames(ctx)
	}
	src, err := names(from)
	if err != nil {
		return "", "its name could not be read: " + err.Error()
	}
	name, ok := src[id]
	if !ok {
		return "", "no such prefix list in " + from
	}
	dst, err := names(to)
	if err != nil {
		return "", "the prefix lists of " + to + " could not be read: " + err.Error()
	}
	var hits []string
	for pid, n := range dst {
		if n == name {
			hits = append(hits, pid)
		}
	}
	if len(hits) != 1 {
		return "", fmt.Sprintf("%d prefix lists named %q in %s", len(hits), name, to)
	}
	return hits[0], ""
}

// reconcileSet plans every replica of set and carries the plans out by the
// replicator's mode; picked is the group the event named (zero for the
// timer).
func (r *Replicator) reconcileSet(ctx context.Context, run *engine.Run, w World, set Set, cause apply.Cause, picked GroupRef, ahead *observe.Ahead, pre prefetch) error {
	now := run.Now()
	_, plans, states, err := r.planSet(ctx, run.Cloud, run.Observer(), w, set, now, ahead, pre)
	if err != nil {
		run.Notify(notify.Event{ID: fmt.Sprintf("%s/%s/primary-unreadable/%s", r.cfg.Name, set.Name, cause.Event.EventID),
			Kind: notify.KindError, Severity: notify.SeverityHigh, Region: set.Primary.Region, GroupID: set.Primary.GroupID,
			Action: "replicas of set " + set.Name + " NOT reconciled: the primary could not be read (" + apply.ErrorClass(err) + ")", Detail: err.Error()})
		return err
	}
	run.Looked(set.Primary.GroupID)
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, rp := range plans {
		st := states[i]
		if st.GroupID == "" {
			err := fmt.Errorf("replicator: set %s: replica %s could not be read", set.Name, set.Replicas[i])
			errs = append(errs, err)
			continue
		}
		run.Looked(st.GroupID)
		r.tellSkipped(ctx, run, set, rp)
		if rp.Empty() {
			continue
		}
		wg.Go(func() {
			if err := r.carryOut(ctx, run, set, st, rp, cause, picked); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *Replicator) carryOut(ctx context.Context, run *engine.Run, set Set, st observe.State, rp ReplicaPlan, cause apply.Cause, picked GroupRef) error {
	mode := r.pol.ChooseMode(policy.FunctionReplicator, policy.SeverityHigh, st.Tags).Mode
	summary := fmt.Sprintf("%d rule(s) added, %d removed", len(rp.Add), len(rp.Remove))
	if mode == policy.ModeDryRun {
		r.log.InfoContext(ctx, "dry-run: would replicate", "set", set.Name, "replica", rp.Replica.String(), "add", len(rp.Add), "remove", len(rp.Remove),
			"plan", ReportOf(rp))
		return nil
	}
	drift := picked == rp.Replica || picked == (GroupRef{})
	ev := notify.Event{Kind: notify.KindReplicated, Severity: notify.SeverityLow, Region: st.Region, GroupID: st.GroupID, GroupName: st.Name,
		EventTime: cause.Event.EventTime, Detail: "set " + set.Name + " (" + string(set.Mode) + "), primary " + set.Primary.String()}
	if mode == policy.ModeNotify {
		ev.ID = fmt.Sprintf("%s/%s/%s/not-in-step/%s", r.cfg.Name, set.Name, rp.Replica, eventKey(cause))
		ev.Action = "replica not in step with " + set.Primary.String() + ": would have " + summary + " (notify mode)"
		run.Notify(ev)
		return nil
	}
	cl, err := run.Cloud(st.Region)
	if err != nil {
		return err
	}
	steps := Steps(rp)
	steps.Set, steps.Primary = set.Name, set.Primary.String()
	out, err := run.Apply(ctx, cl, st, steps, cause)
	if err != nil || out.Capped > 0 {
		return err // apply told people of the failure; the cap's rest waits for the next run
	}
	if !drift {
		// A change on the primary copied: the ledger records it (replication
		// records), people need not be told.
		return nil
	}
	// A replica changed by someone other than the replicator: name who.
	ev.ID = fmt.Sprintf("%s/%s/%s/drift-healed/%s", r.cfg.Name, set.Name, rp.Replica, eventKey(cause))
	ev.Severity = notify.SeverityMedium
	who := r.whoChanged(ctx, st, cause, run.Now())
	ev.Actor = notify.Actor{UserName: who}
	ev.Action = "drift healed: the replica had been changed by " + who + " and no longer matched " + set.Primary.String() + "; " + summary
	run.Notify(ev)
	return nil
}

// whoChanged names who changed a replica: the event's principal when the
// event is the change, else the trail's latest calls on the group within
// DriftWindow, else "unknown" (never a guess).
func (r *Replicator) whoChanged(ctx context.Context, st observe.State, cause apply.Cause, now time.Time) string {
	if cause.Event.Source != "sweep" && cause.Event.ActorUserName != "" {
		return cause.Event.ActorUserName + " (" + cause.Event.EventName + ", event " + cause.Event.EventID + ")"
	}
	if r.cfg.Trail == nil {
		return "unknown (no trail configured)"
	}
	changes, err := r.cfg.Trail.Changes(ctx, st.Region, st.GroupID, now.Add(-r.cfg.DriftWindow), now.Add(time.Second))
	if err != nil {
		r.log.WarnContext(ctx, "read who changed the replica", "group", st.GroupID, "error", err)
		return "unknown (the trail could not be read: " + apply.ErrorClass(err) + ")"
	}
	if len(changes) == 0 {
		return "unknown (no call on it in the trail's last " + r.cfg.DriftWindow.String() + ")"
	}
	var who []string
	for _, c := range changes[:min(len(changes), 3)] {
		who = append(who, fmt.Sprintf("%s (%s at %s)", c.Actor, c.EventName, c.Time.UTC().Format(time.RFC3339)))
	}
	return strings.Join(who, ", ")
}

// tellSkipped reports each primary rule a replica does not get because a
// human must act (a reference with no mapping, the quota), once per rule and
// reason (the event id is stable: the notifier sends an id once). An
// exposure left out is logged, not told: the guard already tells people of
// it, and closes it on the primary (`replicate plan` lists it).
func (r *Replicator) tellSkipped(ctx context.Context, run *engine.Run, set Set, rp ReplicaPlan) {
	for _, s := range rp.Skipped {
		if s.Kind == SkipExposure {
			r.log.InfoContext(ctx, "exposure not copied", "set", set.Name, "replica", rp.Replica.String(), "rule", s.Rule.ID, "reason", s.Reason)
			continue
		}
		run.Notify(notify.Event{
			ID:   fmt.Sprintf("%s/%s/%s/%s/skipped-%s", r.cfg.Name, set.Name, rp.Replica, s.Rule.ID, s.Kind),
			Kind: notify.KindReplicated, Severity: notify.SeverityMedium, Region: rp.Replica.Region, GroupID: rp.Replica.GroupID, RuleID: s.Rule.ID,
			Direction: string(s.Rule.Direction), Protocol: string(s.Rule.Protocol), Source: s.Rule.Peer.String(),
			Action: "rule " + s.Rule.ID + " of " + set.Primary.String() + " " + s.Reason,
			Detail: "set " + set.Name + " (" + string(set.Mode) + ")",
		})
	}
}

func eventKey(c apply.Cause) string {
	if c.Event.EventID != "" {
		return c.Event.EventID
	}
	return c.Event.Source
}

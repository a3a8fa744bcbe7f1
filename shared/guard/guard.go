package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/shared/clock"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// Cloud is what the guard needs of one region's ECS API.
type Cloud interface {
	DescribeRules(ctx context.Context, groupID string) (rule.Attribute, error)
	GroupTags(ctx context.Context, groupID string) (map[string]string, error)
	PrefixListEntries(ctx context.Context, id string) ([]netip.Prefix, error)
	RevokeByID(ctx context.Context, groupID string, dir rule.Direction, ruleIDs []string) (ecsapi.RevokeResult, error)
	Authorize(ctx context.Context, groupID string, dir rule.Direction, perms []rule.Permission) error
	ListGroups(ctx context.Context, opts ecsapi.ListOptions) ([]ecsapi.Group, error)
}

var _ Cloud = (*ecsapi.Client)(nil)

// Ledger is what the guard needs of the ledger.
type Ledger interface {
	Append(ctx context.Context, recs ...ledger.Record) error
	SeenEvent(ctx context.Context, key string) (bool, error)
	Query(ctx context.Context, f ledger.Filter) ([]ledger.Record, error)
	Get(ctx context.Context, id string) (ledger.Record, error)
}

var _ Ledger = (*ledger.Ledger)(nil)

// Notifier carries events to people.
type Notifier interface {
	Notify(ctx context.Context, now time.Time, events []notify.Event) (notify.Report, error)
}

var _ Notifier = (*notify.Notifier)(nil)

// LogReader reads a range of an SLS shard (the SLS trigger's cursor range).
type LogReader interface {
	PullRange(ctx context.Context, src trigger.SLSSource, fn func(contents map[string]string) error) error
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
}

// Guard finds and fixes internet-exposed sensitive ports. Build it once per
// process with New; it is safe for concurrent use.
type Guard struct {
	cfg  Config
	eval *exposure.Evaluator
	log  *slog.Logger
}

// Config is the guard's configuration.
type Config struct {
	Policy *policy.Policy
	// RoleName is our functions' RAM role: events it caused are ignored.
	RoleName string
	// Regions swept by the timer; default the function's region.
	Regions []string
	// Function names the function in ledger records ("guard").
	Function string
	// Logger for structured logs; default slog.Default().
	Logger *slog.Logger
	// Wall is the wall clock; default time.Now. Decisions use
	// clock.Anchor(Wall(), event time).
	Wall func() time.Time
	// UndoCommand formats the command that undoes a revocation.
	UndoCommand func(ledgerID string) string
	// Buttons returns the decision links offered with a notification (the
	// approve function's signed URLs); nil offers none.
	Buttons func(ev notify.Event, now time.Time) []notify.Button
	// SweepWorkers is how many groups the sweep reads at once (default
	// DefaultSweepWorkers). The ECS client's rate limit (ecsapi.Config.QPS),
	// not this number, bounds the call rate: enough workers keep the limit
	// busy while each call waits on the network.
	SweepWorkers int
	// FanOut splits a large timer sweep into asynchronous invocations of this
	// function, one per slice of a region's groups (fanout.go). The zero
	// value sweeps inline.
	FanOut FanOut
}

// DefaultSweepWorkers is the default Config.SweepWorkers: at a typical
// 20-50 ms per ECS call, 8 workers can use up to 160-400 calls per second.
const DefaultSweepWorkers = 8

// handled are the ActionTrail events that can open a port (or expose one).
var handled = map[string]bool{
	"AuthorizeSecurityGroup":        true,
	"AuthorizeSecurityGroupEgress":  true,
	"ModifySecurityGroupRule":       true,
	"ModifySecurityGroupEgressRule": true,
	"JoinSecurityGroup":             true,
	"CreateSecurityGroup":           true,
}

// New builds a guard; the policy must be valid.
func New(cfg Config) (*Guard, error) {
	if cfg.Policy == nil {
		cfg.Policy = policy.Default()
	}
	ev, err := exposure.New(cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	if cfg.Function == "" {
		cfg.Function = "guard"
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
	return &Guard{cfg: cfg, eval: ev, log: cfg.Logger}, nil
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
	Partial  bool     `json:"partial,omitempty"`  // the sweep stopped at the deadline
	Slices   []Slice  `json:"slices,omitempty"`   // sweep slices this invocation started (fan-out)
}

// run is one invocation's state. The sweep reconciles groups concurrently:
// mu guards res, changes and events, and is held while acting (deciding
// against the cap, backing up, revoking), so acting stays sequential.
type run struct {
	deps Deps
	now  time.Time

	mu      sync.Mutex
	res     *Result
	changes int // revokes so far (the cap)
	events  []notify.Event

	// prefixLists caches prefix-list entries for the rest of the run; nil
	// (no caching) outside the sweep, where every event re-reads them.
	plMu        sync.Mutex
	prefixLists map[string][]netip.Prefix
}

// Handle processes one trigger payload. A malformed or unknown payload is
// logged and refused without any change (and without an error, so that FC
// does not retry it). An error means "try again": FC's async retry re-runs
// the invocation, which is safe because every step re-reads the state.
func (g *Guard) Handle(ctx context.Context, deps Deps, payload []byte) (Result, error) {
	ev, err := trigger.Decode(payload)
	if err != nil {
		g.log.ErrorContext(ctx, "refused payload", "error", err)
		return Result{Rejected: err.Error()}, nil
	}
	r := &run{deps: deps, now: clock.Anchor(g.cfg.Wall(), ev.Time()), res: &Result{}}
	switch e := ev.(type) {
	case trigger.CloudEvent:
		r.res.Source = "eventbridge"
		rec, err := e.ActionTrail()
		if err != nil {
			g.log.ErrorContext(ctx, "refused event", "id", e.ID, "error", err)
			return Result{Source: "eventbridge", Rejected: err.Error()}, nil
		}
		err = g.handleRecord(ctx, r, rec, "eventbridge")
		return g.finish(ctx, r, err)
	case trigger.SLSEvent:
		r.res.Source = "sls"
		if deps.Logs == nil {
			return *r.res, errors.New("guard: no SLS reader configured")
		}
		var recs []trigger.ActionTrailRecord
		err := deps.Logs.PullRange(ctx, e.Source, func(c map[string]string) error {
			rec, err := trigger.ParseLogstoreEvent(c)
			if err != nil {
				g.log.ErrorContext(ctx, "refused logstore event", "error", err)
				r.res.Ignored = append(r.res.Ignored, "logstore: "+err.Error())
				return nil
			}
			recs = append(recs, rec)
			return nil
		})
		if err != nil {
			return *r.res, fmt.Errorf("guard: read %s/%s shard %d: %w", e.Source.ProjectName, e.Source.LogstoreName, e.Source.ShardID, err)
		}
		var errs []error
		for _, rec := range recs {
			if err := g.handleRecord(ctx, r, rec, "sls"); err != nil {
				errs = append(errs, err)
			}
		}
		return g.finish(ctx, r, errors.Join(errs...))
	case trigger.TimerEvent:
		r.res.Source = "sweep"
		var p sweepPayload
		err := e.DecodePayload(&p)
		if err == nil {
			err = p.validate()
		}
		if err != nil {
			g.log.ErrorContext(ctx, "refused timer payload", "trigger", e.TriggerName, "error", err)
			return Result{Source: "sweep", Rejected: err.Error()}, nil
		}
		err = g.sweepTimer(ctx, r, p)
		return g.finish(ctx, r, err)
	default:
		err := fmt.Errorf("%w: the guard does not handle %s payloads", trigger.ErrUnknownPayload, ev.Kind())
		g.log.ErrorContext(ctx, "refused payload", "error", err)
		return Result{Rejected: err.Error()}, nil
	}
}

// finish sends the notifications of the run; a failure to notify is logged
// (the notifier keeps what it could not send in its outbox).
// Every invocation also sends what earlier ones left in the outbox (the robot
// was down, or the budget deferred it): after the rule changes, so it costs
// the exposure nothing.
func (g *Guard) finish(ctx context.Context, r *run, err error) (Result, error) {
	if r.deps.Notifier != nil {
		rep, nerr := r.deps.Notifier.Notify(ctx, r.now, r.events)
		if nerr != nil {
			g.log.ErrorContext(ctx, "notify", "error", nerr, "sent", rep.Sent, "deferred", rep.Deferred)
			err = errors.Join(err, nerr)
		}
	}
	sort.Strings(r.res.Groups)
	r.res.Groups = slices.Compact(r.res.Groups)
	return *r.res, err
}

func (g *Guard) ignore(ctx context.Context, r *run, rec trigger.ActionTrailRecord, reason string) {
	g.log.InfoContext(ctx, "event ignored", "eventId", rec.EventID, "eventName", rec.EventName, "reason", reason)
	r.res.Ignored = append(r.res.Ignored, rec.EventID+": "+reason)
}

// handleRecord: the event only picks which groups to look at.
func (g *Guard) handleRecord(ctx context.Context, r *run, rec trigger.ActionTrailRecord, source string) error {
	r.res.Events++
	switch {
	case rec.Failed():
		g.ignore(ctx, r, rec, "the call failed ("+rec.ErrorCode+")")
		return nil
	case rec.CalledByRole(g.cfg.RoleName):
		g.ignore(ctx, r, rec, "caused by our own role")
		return nil
	case !handled[rec.EventName]:
		g.ignore(ctx, r, rec, "event "+rec.EventName+" cannot expose a port")
		return nil
	}
	params, err := rec.Params()
	if err != nil {
		g.ignore(ctx, r, rec, "unreadable requestParameters: "+err.Error())
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
	slices.Sort(groups)
	groups = slices.Compact(groups)
	if len(groups) == 0 || region == "" {
		g.ignore(ctx, r, rec, "no security group or region in the event")
		return nil
	}
	targets := make([]target, len(groups))
	for i, gid := range groups {
		targets[i] = target{region: region, id: gid}
	}
	key := trigger.ActionTrailDedupKey(rec.EventID)
	if r.deps.Ledger != nil {
		// EventBridge is the fast path and its events are rarely duplicates:
		// read the groups' rules while the dedup lookup runs. (The SLS path
		// mostly sees events EventBridge already handled: there the lookup
		// goes first and spares the reads.)
		if source == "eventbridge" {
			defer g.readAhead(ctx, r, targets)()
		}
		seen, err := r.deps.Ledger.SeenEvent(ctx, key)
		switch {
		case err != nil:
			// Level-based: handling twice is harmless, skipping is not.
			g.log.WarnContext(ctx, "dedup lookup failed; handling the event", "eventId", rec.EventID, "error", err)
		case seen:
			g.ignore(ctx, r, rec, "already handled")
			return nil
		}
	}
	ec := ledger.EventContext{
		Source: source, EventID: rec.EventID, EventName: rec.EventName, EventTime: rec.EventTime,
		RequestID: rec.RequestID, SourceIP: rec.SourceIPAddress, ActorType: rec.UserIdentity.Type,
		ActorUserName: rec.UserIdentity.UserName, ActorAccessKeyID: rec.UserIdentity.AccessKeyID,
	}
	var errs []error
	for _, t := range targets {
		if err := g.reconcile(ctx, r, t, ec); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if r.deps.Ledger != nil {
		done := ledger.NewEvent(ledger.Meta{Time: r.now, Function: g.cfg.Function, Region: region, GroupID: groups[0], EventID: key},
			ledger.Event{Source: source, EventName: rec.EventName, EventTime: rec.EventTime, Outcome: "handled"})
		if err := r.deps.Ledger.Append(ctx, done); err != nil {
			g.log.WarnContext(ctx, "record handled event", "eventId", rec.EventID, "error", err)
		}
	}
	return nil
}

// maxReadAhead bounds the groups of one event read ahead of the dedup lookup.
const maxReadAhead = 4

// readAhead starts reading the rules of (the first few of) targets, each
// into its target's rules, which reconcile then waits for instead of
// reading. stop abandons the reads and waits for them to end.
func (g *Guard) readAhead(ctx context.Context, r *run, targets []target) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range targets[:min(len(targets), maxReadAhead)] {
		t := &targets[i]
		cloud, err := r.deps.Cloud(t.region)
		if err != nil {
			continue // reconcile reports it
		}
		t.cloud = cloud
		t.rules = &rulesRead{done: make(chan struct{})}
		wg.Add(1)
		go func(rr *rulesRead, id string) {
			defer wg.Done()
			defer close(rr.done)
			rr.attr, rr.err = cloud.DescribeRules(ctx, id)
		}(t.rules, t.id)
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// rulesRead is a DescribeRules started ahead; done closes when it ends.
type rulesRead struct {
	done chan struct{}
	attr rule.Attribute
	err  error
}

// sweep evaluates every group of the regions (or the given groups). The
// listing carries each group's tags, so the sweep reads only the rules (one
// DescribeSecurityGroupAttribute per page) of each group; Config.SweepWorkers
// groups at a time, paced by the ECS client's rate limit.
func (g *Guard) sweep(ctx context.Context, r *run, regions, only []string) error {
	r.prefixLists = map[string][]netip.Prefix{}
	var errs []error
	for _, region := range regions {
		cloud, err := r.deps.Cloud(region)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if only == nil {
			// Owners' "restore" decisions first: the sweep then sees the
			// restored rules with their exemptions.
			if err := g.executeRestores(ctx, r, region, cloud); err != nil {
				errs = append(errs, err)
			}
		}
		groups, err := cloud.ListGroups(ctx, ecsapi.ListOptions{GroupIDs: only})
		if err != nil {
			errs = append(errs, fmt.Errorf("guard: list groups in %s: %w", region, err))
			continue
		}
		if stopped := g.sweepInline(ctx, r, cloud, region, groups, &errs); stopped {
			return errors.Join(errs...)
		}
	}
	return errors.Join(errs...)
}

// sweepInline sweeps groups in this invocation, adding its errors to errs;
// stopped reports that the deadline came near before every group was handed
// out (the result is then partial).
func (g *Guard) sweepInline(ctx context.Context, r *run, cloud Cloud, region string, groups []ecsapi.Group, errs *[]error) (stopped bool) {
	rest, _, err := g.sweepGroups(ctx, r, cloud, region, groups)
	if err != nil {
		*errs = append(*errs, err)
	}
	if len(rest) == 0 {
		return false
	}
	r.mu.Lock()
	r.res.Partial = true
	r.mu.Unlock()
	*errs = append(*errs, fmt.Errorf("guard: sweep of %s stopped before the deadline at group %s", region, rest[0].ID))
	return true
}

// sweepGroups reconciles groups with Config.SweepWorkers workers. rest are
// the groups not handed out because the deadline came near; failed are the
// groups whose reconcile failed, and err joins their errors.
func (g *Guard) sweepGroups(ctx context.Context, r *run, cloud Cloud, region string, groups []ecsapi.Group) (rest, failed []ecsapi.Group, err error) {
	work := make(chan ecsapi.Group)
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
				if err := g.reconcile(ctx, r, target{region: region, id: grp.ID, tags: tags, cloud: cloud}, ledger.EventContext{Source: "sweep"}); err != nil {
					errMu.Lock()
					errs = append(errs, err)
					failed = append(failed, grp)
					errMu.Unlock()
				}
			}
		}
	)
	for range min(g.cfg.SweepWorkers, len(groups)) {
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

func deadlineNear(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < 2*time.Second
}

// target is one group to reconcile. tags, when not nil, are the group's tags
// as this invocation just listed them (the sweep's DescribeSecurityGroups
// carries them); nil means "read them if they matter".
// cloud, when not nil, is the region's client (else Deps.Cloud builds one);
// rules, when not nil, is the group's rules read ahead for this event.
type target struct {
	region, id string
	tags       map[string]string
	cloud      Cloud
	rules      *rulesRead
}

// reconcile re-reads one group, evaluates it and acts by policy.
func (g *Guard) reconcile(ctx context.Context, r *run, t target, ec ledger.EventContext) error {
	region, gid, cloud := t.region, t.id, t.cloud
	if cloud == nil {
		var err error
		if cloud, err = r.deps.Cloud(region); err != nil {
			return err
		}
	}
	var attr rule.Attribute
	var err error
	if t.rules != nil {
		<-t.rules.done
		attr, err = t.rules.attr, t.rules.err
	} else {
		attr, err = cloud.DescribeRules(ctx, gid)
	}
	if errors.Is(err, ecsapi.ErrNotFound) {
		g.log.InfoContext(ctx, "group gone", "group", gid)
		return nil
	}
	if err != nil {
		return fmt.Errorf("guard: read rules of %s: %w", gid, err)
	}
	r.mu.Lock()
	r.res.Groups = append(r.res.Groups, gid)
	r.mu.Unlock()
	in := exposure.Input{Rules: attr.Rules, PrefixLists: g.prefixLists(ctx, r, cloud, attr.Rules), Now: r.now}
	// The owners' decisions (DingTalk buttons) are read only for groups with
	// findings: "keep" exempts, "close" closes even what policy only reports.
	var (
		exempt   map[exposure.RuleRef]exemption.Exemption
		closeNow map[string]string
		decided  bool
	)
	tags := t.tags
	if tags == nil {
		// Tags only take exposure away (exemptions) and route reports: a
		// group with no finding without its tags has none with them, and
		// most events touch groups that stay clean. Read them only then,
		// together with the decisions (one round trip, not two).
		if len(g.eval.Evaluate(in).Findings) == 0 {
			return nil
		}
		read := make(chan struct{})
		go func() {
			defer close(read)
			exempt, closeNow = g.decisions(ctx, r, gid)
		}()
		tags, err = cloud.GroupTags(ctx, gid)
		<-read
		if err != nil {
			return fmt.Errorf("guard: read tags of %s: %w", gid, err)
		}
		decided = true
	}
	in.Tags = map[string]map[string]string{gid: tags}
	rep := g.eval.Evaluate(in)
	if len(rep.Findings) == 0 {
		return nil
	}
	if !decided {
		exempt, closeNow = g.decisions(ctx, r, gid)
	}
	if len(exempt) > 0 {
		in.Exemptions = exempt
		rep = g.eval.Evaluate(in)
	}
	for _, ru := range attr.Rules {
		reason, ok := closeNow[ru.ID]
		if !ok || slices.ContainsFunc(rep.Findings, func(f exposure.Finding) bool { return f.RuleID == ru.ID }) {
			continue
		}
		rep.Findings = append(rep.Findings, exposure.Finding{GroupID: gid, RuleID: ru.ID, Direction: ru.Direction, Protocol: ru.Protocol,
			PortRange: ru.Ports.String(), Source: ru.Peer.String(), Priority: ru.Priority, Reason: reason, Rule: ru})
	}
	if len(rep.Findings) == 0 {
		return nil
	}
	owner := ownerFromTags(tags)
	mode := g.cfg.Policy.Modes.Guard

	// Acting is sequential within a run: the cap is shared.
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Findings += len(rep.Findings)
	// One decision per rule (a rule can appear once per finding).
	var revoke []exposure.Finding
	for _, f := range rep.Findings {
		switch {
		case mode == policy.ModeDryRun:
			g.log.InfoContext(ctx, "dry-run: would revoke", "group", gid, "rule", f.RuleID, "ports", f.Ports, "source", f.Source, "reason", f.Reason)
		case (mode == policy.ModeNotify || f.Unknown) && closeNow[f.RuleID] == "":
			r.res.Notified = append(r.res.Notified, f.RuleID)
			r.events = append(r.events, g.event(f, region, attr.Name, ec, owner, notify.KindExposureFound, "reported, not changed ("+string(mode)+" mode)", ""))
		case r.changes >= g.cfg.Policy.MaxChangesPerRun:
			r.res.Capped++
			r.res.Notified = append(r.res.Notified, f.RuleID)
			r.events = append(r.events, g.event(f, region, attr.Name, ec, owner, notify.KindExposureFound,
				fmt.Sprintf("not revoked: this run reached the cap of %d changes; the next run continues", g.cfg.Policy.MaxChangesPerRun), ""))
		default:
			r.changes++
			revoke = append(revoke, f)
		}
	}
	if len(revoke) == 0 {
		return nil
	}
	return g.revoke(ctx, r, cloud, region, attr.Name, gid, revoke, ec, owner)
}

// prefixLists resolves the prefix lists the rules refer to. An unresolved
// list is left out: the evaluator then reports its rules as unknown, never
// safe. The sweep caches the lists for the rest of its run (many groups
// share a few lists); events always re-read them.
func (g *Guard) prefixLists(ctx context.Context, r *run, cloud Cloud, rules []rule.Rule) exposure.PrefixLists {
	pls := exposure.PrefixLists{}
	for _, ru := range rules {
		if ru.Peer.Kind != rule.PeerPrefixList {
			continue
		}
		if _, done := pls[ru.Peer.ID]; done {
			continue
		}
		r.plMu.Lock()
		entries, cached := r.prefixLists[ru.Peer.ID]
		r.plMu.Unlock()
		if cached {
			pls[ru.Peer.ID] = entries
			continue
		}
		entries, err := cloud.PrefixListEntries(ctx, ru.Peer.ID)
		if err != nil {
			g.log.WarnContext(ctx, "prefix list unresolved", "prefixList", ru.Peer.ID, "error", err)
			continue
		}
		pls[ru.Peer.ID] = entries
		r.plMu.Lock()
		if r.prefixLists != nil {
			r.prefixLists[ru.Peer.ID] = entries
		}
		r.plMu.Unlock()
	}
	return pls
}

// decisions reads the owners' recorded decisions for a group (DingTalk
// buttons, through the approve function): the first record of each link
// counts (replays are refused there), and per rule the latest decision wins.
// Active "keep" decisions become exemptions; "close" decisions name rules to
// close now. A ledger that cannot be read yields no decision: the policy alone
// then decides, which never keeps an exposure open by mistake.
func (g *Guard) decisions(ctx context.Context, r *run, gid string) (map[exposure.RuleRef]exemption.Exemption, map[string]string) {
	if r.deps.Ledger == nil {
		return nil, nil
	}
	recs, err := decisionRecords(ctx, r, ledger.Filter{GroupID: gid, Since: r.now.Add(-366 * 24 * time.Hour)})
	if err != nil {
		g.log.WarnContext(ctx, "read decisions", "group", gid, "error", err)
		return nil, nil
	}
	latest := map[string]ledger.Decision{}
	for _, rec := range recs {
		if rec.RuleID == "" {
			continue
		}
		if d, err := rec.Decision(); err == nil {
			latest[rec.RuleID] = d
		}
	}
	exempt := map[exposure.RuleRef]exemption.Exemption{}
	closeNow := map[string]string{}
	for ruleID, d := range latest {
		switch d.Action {
		case "exempt":
			if d.Until.After(r.now) {
				exempt[exposure.RuleRef{GroupID: gid, RuleID: ruleID}] = exemption.Exemption{Owner: d.By, Reason: d.Reason, Until: d.Until}
			}
		case "close":
			closeNow[ruleID] = "closed at the owner's request (" + d.Via + ")"
		}
	}
	return exempt, closeNow
}

// revoke backs up, then revokes exactly the offending rules by id. The
// caller holds r.mu.
func (g *Guard) revoke(ctx context.Context, r *run, cloud Cloud, region, name, gid string, fs []exposure.Finding, ec ledger.EventContext, owner notify.Owner) error {
	recs := make([]ledger.Record, 0, len(fs))
	byDir := map[rule.Direction][]string{}
	replacements := map[string][]rule.Permission{}
	for _, f := range fs {
		var repl []rule.Permission
		if g.cfg.Policy.Replace != nil {
			repl = replacementsFor(f.Rule, *g.cfg.Policy.Replace)
			replacements[f.RuleID] = repl
		}
		recs = append(recs, ledger.NewRevocation(
			ledger.Meta{Time: r.now, Function: g.cfg.Function, GroupID: gid, Region: region, RuleID: f.RuleID, EventID: ec.EventID},
			ledger.Revocation{Rule: f.Rule.Permission(), Reason: f.Reason, Replacement: repl, Event: ec}))
		byDir[f.Direction] = append(byDir[f.Direction], f.RuleID)
	}
	if r.deps.Ledger == nil {
		return errors.New("guard: no ledger: refusing to revoke without a backup")
	}
	if err := r.deps.Ledger.Append(ctx, recs...); err != nil {
		// No backup, no revoke: tell people loudly and let FC retry.
		for _, f := range fs {
			r.res.Notified = append(r.res.Notified, f.RuleID)
			ev := g.event(f, region, name, ec, owner, notify.KindError, "NOT revoked: the ledger backup could not be written", "")
			ev.Detail = err.Error()
			r.events = append(r.events, ev)
		}
		return fmt.Errorf("guard: write backup of %d rules of %s: %w", len(fs), gid, err)
	}
	var errs []error
	done := map[string]bool{}
	for dir, ids := range byDir {
		res, err := cloud.RevokeByID(ctx, gid, dir, ids)
		for _, id := range res.Revoked {
			done[id] = true
		}
		r.res.Revoked = append(r.res.Revoked, res.Revoked...)
		r.res.Gone = append(r.res.Gone, res.Gone...)
		if err != nil {
			errs = append(errs, fmt.Errorf("guard: revoke %v in %s: %w", ids, gid, err))
		}
	}
	for i, f := range fs {
		id := recs[i].ID
		if !done[f.RuleID] {
			continue
		}
		r.res.Ledger = append(r.res.Ledger, id)
		action := "revoked"
		if repl := replacements[f.RuleID]; len(repl) > 0 {
			if err := cloud.Authorize(ctx, gid, f.Direction, repl); err != nil {
				errs = append(errs, fmt.Errorf("guard: authorize replacement of %s: %w", f.RuleID, err))
				action = "revoked (replacement for trusted sources FAILED)"
			} else {
				action = "revoked and replaced by trusted sources"
			}
		}
		g.log.InfoContext(ctx, "revoked", "group", gid, "rule", f.RuleID, "ports", f.Ports, "source", f.Source,
			"actor", ec.ActorUserName, "ledgerId", id, "undo", g.cfg.UndoCommand(id))
		r.events = append(r.events, g.event(f, region, name, ec, owner, notify.KindExposureRevoked, action, id))
	}
	return errors.Join(errs...)
}

// replacementsFor re-authorizes the same ports for each trusted source.
func replacementsFor(ru rule.Rule, rp policy.Replace) []rule.Permission {
	var out []rule.Permission
	for _, p := range rp.TrustedPrefixes() {
		if p.Addr().Is4() != (ru.Peer.Kind == rule.PeerCIDR4) {
			continue
		}
		nr := ru
		nr.ID = ""
		nr.Peer = rule.Peer{Kind: ru.Peer.Kind, Prefix: p}
		nr.Description = strings.TrimSpace("replaces an internet-wide rule " + ru.ID)
		out = append(out, nr.Permission())
	}
	if rp.TrustedPrefixList != "" {
		nr := ru
		nr.ID = ""
		nr.Peer = rule.Peer{Kind: rule.PeerPrefixList, ID: rp.TrustedPrefixList}
		nr.Description = "replaces an internet-wide rule " + ru.ID
		out = append(out, nr.Permission())
	}
	return out
}

// ownerFromTags reads the routing tags of a group: "porthygiene-robot",
// "porthygiene-at" (comma-separated mobiles or user ids) and "team".
func ownerFromTags(tags map[string]string) notify.Owner {
	o := notify.Owner{Team: tags["team"], Robot: tags["porthygiene-robot"]}
	for _, at := range strings.Split(tags["porthygiene-at"], ",") {
		at = strings.TrimSpace(at)
		switch {
		case at == "":
		case isDigits(at):
			o.AtMobiles = append(o.AtMobiles, at)
		default:
			o.AtUserIDs = append(o.AtUserIDs, at)
		}
	}
	return o
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func (g *Guard) event(f exposure.Finding, region, groupName string, ec ledger.EventContext, owner notify.Owner, kind notify.Kind, action, ledgerID string) notify.Event {
	ports := make([]notify.PortRange, 0, len(f.Ports))
	for _, p := range f.Ports {
		ports = append(ports, notify.PortRange{From: p, To: p})
	}
	ev := notify.Event{
		// One occurrence: this rule, this kind of outcome, this event (or sweep).
		ID:        fmt.Sprintf("guard/%s/%s/%s/%s", f.GroupID, f.RuleID, kind, firstNonEmpty(ledgerID, ec.EventID, "sweep")),
		Kind:      kind,
		Severity:  notify.Severity(f.Severity),
		Region:    region,
		GroupID:   f.GroupID,
		GroupName: groupName,
		RuleID:    f.RuleID,
		Direction: string(f.Direction),
		Protocol:  string(f.Protocol),
		Ports:     ports,
		Services:  f.Services,
		Source:    f.Source,
		Actor:     notify.Actor{Type: ec.ActorType, UserName: ec.ActorUserName, AccessKeyID: ec.ActorAccessKeyID, SourceIP: ec.SourceIP},
		EventTime: ec.EventTime,
		Action:    action,
		Detail:    f.Reason,
		Owner:     owner,
		LedgerID:  ledgerID,
	}
	if ledgerID != "" {
		ev.UndoCommand = g.cfg.UndoCommand(ledgerID)
	}
	if g.cfg.Buttons != nil {
		ev.Buttons = g.cfg.Buttons(ev, g.cfg.Wall())
	}
	return ev
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

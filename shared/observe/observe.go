// Package observe is the one reader of a security group's state for a run:
// its rules (paged by the adapter), name and tags, the prefix lists the rules
// name (resolved once per run when the run caches them), and the owners'
// decisions from the ledger. The guard, the CLI's audit and explain, and the
// functions that come after the guard read groups through it, so that they
// cannot disagree about what a group is.
package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/shared/decision"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/logstore"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// Reader is what observing needs of one region's ECS API.
type Reader interface {
	DescribeRules(ctx context.Context, groupID string) (rule.Attribute, error)
	GroupTags(ctx context.Context, groupID string) (map[string]string, error)
	PrefixListEntries(ctx context.Context, id string) ([]netip.Prefix, error)
}

// Records is what observing needs of the ledger.
type Records interface {
	Query(ctx context.Context, f ledger.Filter) ([]ledger.Record, error)
}

// DecisionWindow is how far back a group's decisions are read: a "keep"
// lasts at most a year (approve.MaxKeepDays).
const DecisionWindow = 366 * 24 * time.Hour

// State is one group as observed.
type State struct {
	Region  string
	GroupID string
	Name    string
	// Rules in the order the API returns them.
	Rules []rule.Rule
	// Tags of the group; nil until read (TagsKnown).
	Tags      map[string]string
	TagsKnown bool
	// PrefixLists resolves the lists the rules name; a list that could not
	// be read is missing (the evaluator then judges its rules "unknown").
	PrefixLists exposure.PrefixLists
	// Unresolved says why each missing prefix list could not be read.
	Unresolved map[string]error
	// Decisions in force for the group's rules, and the exemption notices
	// the ledger holds for them (DecisionsKnown: both read).
	Decisions      decision.Set
	Notices        []Notice
	DecisionsKnown bool
	// DecisionsErr is why the decisions could not be read, if they could not.
	DecisionsErr error
	// Evidence is what a function reads beyond the group's state for its
	// planner (engine.EvidenceReader; the reaper's flow-log summaries and
	// announcements); nil for the guard.
	Evidence any
}

// Complete reports whether everything a planner may need was read.
func (s *State) Complete() bool { return s.TagsKnown && s.DecisionsKnown }

// Notice is an exemption notice of one of the group's rules.
type Notice struct {
	RuleID string
	ledger.ExemptionNotice
}

// ExemptionCaps are the ends the notices fixed, for the evaluator.
func (s *State) ExemptionCaps() map[exposure.ExemptionKey]time.Time {
	caps := map[exposure.ExemptionKey]time.Time{}
	for _, n := range s.Notices {
		if n.Stage == "announced" {
			k := exposure.ExemptionKey{GroupID: s.GroupID, RuleID: n.RuleID, Source: n.Source, Until: n.Asked.UTC()}
			if cur, ok := caps[k]; !ok || n.Until.Before(cur) {
				caps[k] = n.Until
			}
		}
	}
	return caps
}

// Announced reports whether a notice of stage exists for the exemption k.
func (s *State) Announced(k exposure.ExemptionKey, stage string) bool {
	for _, n := range s.Notices {
		if n.Stage == stage && n.RuleID == k.RuleID && n.Source == k.Source && n.Asked.Equal(k.Until) {
			return true
		}
	}
	return false
}

// Input is what the evaluator sees of the group at now: its rules and prefix
// lists, its tags and the owners' active "keep" decisions, as far as they
// were read. Every reader of exposure (the guard's planner, audit) builds it
// here, so that they cannot disagree.
func (s *State) Input(now time.Time) exposure.Input {
	in := exposure.Input{Rules: s.Rules, PrefixLists: s.PrefixLists, Now: now}
	if s.TagsKnown {
		in.Tags = map[string]map[string]string{s.GroupID: s.Tags}
	}
	if s.DecisionsKnown {
		in.Exemptions = s.Decisions.Exemptions(now)
		in.ExemptionCaps = s.ExemptionCaps()
	}
	return in
}

// Target names one group to observe. Tags, when not nil, are the group's
// tags as a listing of this run returned them; Ahead, when not nil, is a
// read of its rules already under way (ReadAhead).
type Target struct {
	Region, GroupID string
	Tags            map[string]string
	Ahead           *Ahead
}

// Observer reads groups for one run. Build one per run with New.
type Observer struct {
	ledger Records
	log    *slog.Logger
	now    time.Time

	// pl caches prefix lists for the rest of the run; nil: every group
	// reads them again (events: a list may have just changed).
	plMu sync.Mutex
	pl   map[string][]netip.Prefix

	also []string // Options.AlsoResolve

	// preloaded, when set, holds every group's decisions and notices
	// (PreloadDecisions).
	preloaded *preload
}

type preload struct {
	decisions decision.Set
	notices   map[string][]Notice // by group
}

// Options configure an Observer.
type Options struct {
	// Ledger holds the owners' decisions; nil reads none.
	Ledger Records
	Logger *slog.Logger
	// Now is the run's decision time (which decisions are in force).
	Now time.Time
	// CachePrefixLists keeps each prefix list read for the rest of the run
	// (a sweep: many groups share a few lists).
	CachePrefixLists bool
	// AlsoResolve names prefix lists to resolve with every group's own (the
	// guard's trusted list, which it checks before re-authorizing for it).
	AlsoResolve []string
}

// New returns an observer for one run.
func New(o Options) *Observer {
	ob := &Observer{ledger: o.Ledger, log: o.Logger, now: o.Now, also: o.AlsoResolve}
	if ob.log == nil {
		ob.log = slog.Default()
	}
	if o.CachePrefixLists {
		ob.pl = map[string][]netip.Prefix{}
	}
	return ob
}

// Rules reads the group's rules and resolves their prefix lists. A group that
// no longer exists is an error wrapping cloud.ErrNotFound.
func (o *Observer) Rules(ctx context.Context, cl Reader, t Target) (State, error) {
	var attr rule.Attribute
	var err error
	if t.Ahead != nil {
		attr, err = t.Ahead.wait()
	} else {
		attr, err = cl.DescribeRules(ctx, t.GroupID)
	}
	if err != nil {
		return State{}, fmt.Errorf("read rules of %s: %w", t.GroupID, err)
	}
	st := State{Region: t.Region, GroupID: t.GroupID, Name: attr.Name, Rules: attr.Rules}
	st.PrefixLists, st.Unresolved = o.prefixLists(ctx, cl, attr.Rules)
	if t.Tags != nil {
		st.Tags, st.TagsKnown = t.Tags, true
	}
	if a := t.Ahead; a != nil && a.complete {
		if !st.TagsKnown && a.tagsErr == nil {
			st.Tags, st.TagsKnown = a.tags, true
			if st.Tags == nil {
				st.Tags = map[string]string{}
			}
		}
		if a.decErr == nil {
			st.Decisions, st.Notices, st.DecisionsKnown = a.decisions, a.notices, true
		}
	}
	return st, nil
}

// Complete reads what Rules left out: the tags (unless a listing gave them)
// and the decisions, at once (one round trip, not two). A ledger that cannot
// be read leaves DecisionsKnown false with DecisionsErr set: the caller
// decides what that means (the guard then acts on policy alone, which never
// keeps an exposure open by mistake). A failed tag read is an error.
func (o *Observer) Complete(ctx context.Context, cl Reader, st *State) error {
	var wg sync.WaitGroup
	if !st.DecisionsKnown {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st.Decisions, st.Notices, st.DecisionsErr = o.groupDecisions(ctx, st.GroupID)
			st.DecisionsKnown = st.DecisionsErr == nil
		}()
	}
	var err error
	if !st.TagsKnown {
		var tags map[string]string
		tags, err = cl.GroupTags(ctx, st.GroupID)
		if err == nil {
			if tags == nil {
				tags = map[string]string{}
			}
			st.Tags, st.TagsKnown = tags, true
		}
	}
	wg.Wait()
	switch {
	case errors.Is(st.DecisionsErr, logstore.ErrNoIndex):
		o.log.ErrorContext(ctx, "the ledger logstore has no index: owners' decisions cannot be read; run porthygiene setup",
			"group", st.GroupID, "error", st.DecisionsErr)
	case st.DecisionsErr != nil:
		o.log.WarnContext(ctx, "read decisions", "group", st.GroupID, "error", st.DecisionsErr)
	}
	if err != nil {
		return fmt.Errorf("read tags of %s: %w", st.GroupID, err)
	}
	return nil
}

// Observe reads everything: Rules, then Complete.
func (o *Observer) Observe(ctx context.Context, cl Reader, t Target) (State, error) {
	st, err := o.Rules(ctx, cl, t)
	if err != nil {
		return st, err
	}
	return st, o.Complete(ctx, cl, &st)
}

// ErrNoLedger: decisions were asked for without a ledger.
var ErrNoLedger = errors.New("no ledger configured: owners' decisions cannot be read")

// PreloadDecisions reads the decisions and notices of every group at once,
// for a run that observes many groups (an audit): Complete then reads none.
// On error the run goes on without them (none are read later either): the
// caller says so once.
func (o *Observer) PreloadDecisions(ctx context.Context) error {
	recs, err := o.records(ctx, ledger.Filter{Since: o.now.Add(-DecisionWindow)})
	if err != nil {
		o.preloaded = &preload{}
		return err
	}
	p := &preload{decisions: decision.NewSet(decision.FromRecords(recs)), notices: map[string][]Notice{}}
	for _, n := range notices(recs) {
		p.notices[n.group] = append(p.notices[n.group], n.Notice)
	}
	o.preloaded = p
	return nil
}

func (o *Observer) groupDecisions(ctx context.Context, gid string) (decision.Set, []Notice, error) {
	if o.preloaded != nil {
		return o.preloaded.decisions, o.preloaded.notices[gid], nil
	}
	if o.ledger == nil {
		return decision.Set{}, nil, ErrNoLedger
	}
	recs, err := o.records(ctx, ledger.Filter{GroupID: gid, Since: o.now.Add(-DecisionWindow)})
	if err != nil {
		return decision.Set{}, nil, err
	}
	var ns []Notice
	for _, n := range notices(recs) {
		ns = append(ns, n.Notice)
	}
	return decision.NewSet(decision.FromRecords(recs)), ns, nil
}

// records reads the decision and exemption records f selects (one query).
func (o *Observer) records(ctx context.Context, f ledger.Filter) ([]ledger.Record, error) {
	if o.ledger == nil {
		return nil, ErrNoLedger
	}
	f.Kinds = []ledger.Kind{ledger.KindDecision, ledger.KindExemption}
	recs, err := o.ledger.Query(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	return recs, nil
}

type groupNotice struct {
	group string
	Notice
}

func notices(recs []ledger.Record) []groupNotice {
	var out []groupNotice
	for _, r := range recs {
		if r.Kind != ledger.KindExemption {
			continue
		}
		if b, err := r.ExemptionNotice(); err == nil {
			out = append(out, groupNotice{r.GroupID, Notice{RuleID: r.RuleID, ExemptionNotice: b}})
		}
	}
	return out
}

// Decisions reads the decision records f selects (f.Kinds is set here),
// oldest first, one per link (decision.FromRecords).
func (o *Observer) Decisions(ctx context.Context, f ledger.Filter) ([]decision.Decision, error) {
	if o.ledger == nil {
		return nil, ErrNoLedger
	}
	f.Kinds = []ledger.Kind{ledger.KindDecision}
	recs, err := o.ledger.Query(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	return decision.FromRecords(recs), nil
}

// prefixLists resolves the prefix lists the rules name. An unresolved list is
// left out (and logged): its rules are then "unknown", never safe.
func (o *Observer) prefixLists(ctx context.Context, cl Reader, rules []rule.Rule) (exposure.PrefixLists, map[string]error) {
	pls := exposure.PrefixLists{}
	var unresolved map[string]error
	ids := slices.Clone(o.also)
	for _, ru := range rules {
		if ru.Peer.Kind == rule.PeerPrefixList {
			ids = append(ids, ru.Peer.ID)
		}
	}
	for _, id := range ids {
		if _, done := pls[id]; done || unresolved[id] != nil {
			continue
		}
		o.plMu.Lock()
		entries, cached := o.pl[id]
		o.plMu.Unlock()
		if cached {
			pls[id] = entries
			continue
		}
		entries, err := cl.PrefixListEntries(ctx, id)
		if err != nil {
			o.log.WarnContext(ctx, "prefix list unresolved", "prefixList", id, "error", err)
			if unresolved == nil {
				unresolved = map[string]error{}
			}
			unresolved[id] = err
			continue
		}
		pls[id] = entries
		o.plMu.Lock()
		if o.pl != nil {
			o.pl[id] = entries
		}
		o.plMu.Unlock()
	}
	return pls, unresolved
}

// Ahead is a read of a group's rules started before the run needs it (the
// guard reads while its dedup lookup runs).
type Ahead struct {
	done chan struct{}
	attr rule.Attribute
	err  error

	// With ReadAheadComplete, also the tags and the decisions, read beside
	// the rules; a failed read is left for Complete to try again.
	complete  bool
	tags      map[string]string
	tagsErr   error
	decisions decision.Set
	notices   []Notice
	decErr    error
}

// ReadAheadComplete is ReadAhead that also reads, at the same time, what
// Complete would read after the rules: the group's tags and its owners'
// decisions. An event that may open a port (the guard's fast path) then
// spends one round trip before its plan, not two; a harmless event pays a
// tag and a decision read it did not need.
func (o *Observer) ReadAheadComplete(ctx context.Context, cl Reader, groupID string) *Ahead {
	a := &Ahead{done: make(chan struct{}), complete: true}
	go func() {
		defer close(a.done)
		var wg sync.WaitGroup
		wg.Go(func() { a.decisions, a.notices, a.decErr = o.groupDecisions(ctx, groupID) })
		wg.Go(func() { a.tags, a.tagsErr = cl.GroupTags(ctx, groupID) })
		a.attr, a.err = cl.DescribeRules(ctx, groupID)
		wg.Wait()
	}()
	return a
}

// ReadAhead starts reading the group's rules; stop the read by cancelling ctx.
func ReadAhead(ctx context.Context, cl Reader, groupID string) *Ahead {
	a := &Ahead{done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.attr, a.err = cl.DescribeRules(ctx, groupID)
	}()
	return a
}

// Wait waits for the read to end.
func (a *Ahead) Wait() { <-a.done }

func (a *Ahead) wait() (rule.Attribute, error) {
	<-a.done
	return a.attr, a.err
}

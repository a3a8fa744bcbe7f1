package observe_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/rule"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// reader is a small fake of observe.Reader that counts its calls.
type reader struct {
	mu      sync.Mutex
	rules   map[string][]rule.Permission
	lists   map[string][]netip.Prefix
	listErr map[string]error
	tagErr  error
	calls   map[string]int
}

func (r *reader) count(op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[op]++
}

func (r *reader) DescribeRules(_ context.Context, gid string) (rule.Attribute, error) {
	r.count("rules")
	perms, ok := r.rules[gid]
	if !ok {
		return rule.Attribute{}, fmt.Errorf("describe %s: %w", gid, cloud.ErrNotFound)
	}
	a := rule.Attribute{GroupID: gid, Name: "name-" + gid}
	for _, p := range perms {
		ru, err := p.Rule(gid, "cn-hangzhou")
		if err != nil {
			return a, err
		}
		a.Rules = append(a.Rules, ru)
	}
	return a, nil
}

func (r *reader) GroupTags(context.Context, string) (map[string]string, error) {
	r.count("tags")
	return map[string]string{"team": "ops"}, r.tagErr
}

func (r *reader) PrefixListEntries(_ context.Context, id string) ([]netip.Prefix, error) {
	r.count("list " + id)
	if err := r.listErr[id]; err != nil {
		return nil, err
	}
	return r.lists[id], nil
}

// records is a small fake of observe.Records.
type records struct {
	recs    []ledger.Record
	err     error
	queries int
}

func (l *records) Query(_ context.Context, f ledger.Filter) ([]ledger.Record, error) {
	l.queries++
	if l.err != nil {
		return nil, l.err
	}
	var out []ledger.Record
	for _, r := range l.recs {
		if f.Match(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

func world() *reader {
	ssh := func(id, pl string) rule.Permission {
		return rule.Permission{SecurityGroupRuleId: id, Direction: "ingress", IpProtocol: "tcp", PortRange: "22/22", SourcePrefixListId: pl}
	}
	return &reader{
		rules: map[string][]rule.Permission{
			"sg-1": {ssh("sgr-1", "pl-office"), ssh("sgr-2", "pl-broken")},
			"sg-2": {ssh("sgr-3", "pl-office")},
		},
		lists:   map[string][]netip.Prefix{"pl-office": {netip.MustParsePrefix("10.1.0.0/16")}},
		listErr: map[string]error{"pl-broken": fmt.Errorf("describe pl-broken: %w", cloud.ErrThrottled)},
	}
}

func keep(gid, ruleID string, until time.Time) ledger.Record {
	return ledger.NewDecision(ledger.Meta{Time: now.Add(-time.Hour), Function: "approve", GroupID: gid, Region: "cn-hangzhou", RuleID: ruleID, EventID: "link-" + ruleID},
		ledger.Decision{Action: "exempt", Target: gid + "/" + ruleID, By: "carol", Until: until, Via: "dingtalk"})
}

// A group deleted since the event named it is ErrNotFound, not a failure
// to retry and not an empty (clean) group.
func TestGoneGroupIsNotFound(t *testing.T) {
	o := observe.New(observe.Options{Now: now})
	_, err := o.Observe(t.Context(), world(), observe.Target{Region: "cn-hangzhou", GroupID: "sg-gone"})
	require.ErrorIs(t, err, cloud.ErrNotFound)
}

// A prefix list that cannot be read is unresolved, never resolved to empty
// (which would make its rules look harmless), and the evaluator's input
// lacks it, so its rules are judged unknown.
func TestUnreadablePrefixListStaysUnresolved(t *testing.T) {
	o := observe.New(observe.Options{Now: now})
	st, err := o.Rules(t.Context(), world(), observe.Target{Region: "cn-hangzhou", GroupID: "sg-1"})
	require.NoError(t, err)
	require.Contains(t, st.PrefixLists, "pl-office")
	require.NotContains(t, st.PrefixLists, "pl-broken")
	require.ErrorIs(t, st.Unresolved["pl-broken"], cloud.ErrThrottled)
	_, inInput := st.Input(now).PrefixLists["pl-broken"]
	require.False(t, inInput)
	require.Equal(t, "name-sg-1", st.Name)
}

// A sweep reads each prefix list once; events read them again (a list may
// have just been widened); an unreadable list is retried by the next group.
func TestPrefixListsCachedOnlyWhenAsked(t *testing.T) {
	for _, cache := range []bool{true, false} {
		r := world()
		o := observe.New(observe.Options{Now: now, CachePrefixLists: cache})
		for _, g := range []string{"sg-1", "sg-2", "sg-1"} {
			_, err := o.Rules(t.Context(), r, observe.Target{Region: "cn-hangzhou", GroupID: g})
			require.NoError(t, err)
		}
		want := 3
		if cache {
			want = 1
		}
		require.Equal(t, want, r.calls["list pl-office"], "cache=%v", cache)
		require.Equal(t, 2, r.calls["list pl-broken"], "a failure is never cached (cache=%v)", cache)
	}
}

// Tags a listing gave are not read again; decisions come from the ledger and
// only active keeps exempt.
func TestCompleteReadsWhatIsMissing(t *testing.T) {
	r := world()
	led := &records{recs: []ledger.Record{keep("sg-1", "sgr-1", now.Add(24*time.Hour)), keep("sg-1", "sgr-2", now.Add(-time.Minute))}}
	o := observe.New(observe.Options{Now: now, Ledger: led})
	st, err := o.Observe(t.Context(), r, observe.Target{Region: "cn-hangzhou", GroupID: "sg-1", Tags: map[string]string{"env": "prod"}})
	require.NoError(t, err)
	require.Zero(t, r.calls["tags"], "the listing's tags are used")
	require.Equal(t, map[string]string{"env": "prod"}, st.Tags)
	require.True(t, st.Complete())
	ex := st.Input(now).Exemptions
	require.Len(t, ex, 1, "the expired keep exempts nothing")

	st, err = o.Observe(t.Context(), r, observe.Target{Region: "cn-hangzhou", GroupID: "sg-2"})
	require.NoError(t, err)
	require.Equal(t, 1, r.calls["tags"])
	require.Equal(t, "ops", st.Tags["team"])
}

// A ledger that cannot be read leaves the decisions unknown (and says why):
// the caller then acts on policy alone, which never keeps an exposure open
// by mistake. A failed tag read is an error: tags route and exempt.
func TestCompleteWhenReadsFail(t *testing.T) {
	r := world()
	o := observe.New(observe.Options{Now: now, Ledger: &records{err: errors.New("sls down")}})
	st, err := o.Observe(t.Context(), r, observe.Target{Region: "cn-hangzhou", GroupID: "sg-1", Tags: map[string]string{}})
	require.NoError(t, err)
	require.False(t, st.DecisionsKnown)
	require.ErrorContains(t, st.DecisionsErr, "sls down")
	require.Empty(t, st.Input(now).Exemptions)

	_, err = observe.New(observe.Options{Now: now}).Observe(t.Context(), r, observe.Target{Region: "cn-hangzhou", GroupID: "sg-1", Tags: map[string]string{}})
	require.NoError(t, err, "no ledger is not an error")

	r.tagErr = fmt.Errorf("tags: %w", cloud.ErrForbidden)
	_, err = o.Observe(t.Context(), r, observe.Target{Region: "cn-hangzhou", GroupID: "sg-1"})
	require.ErrorIs(t, err, cloud.ErrForbidden)
}

// An audit reads every decision once, not once per group.
func TestPreloadDecisionsReadsOnce(t *testing.T) {
	led := &records{recs: []ledger.Record{keep("sg-2", "sgr-3", now.Add(24*time.Hour))}}
	o := observe.New(observe.Options{Now: now, Ledger: led})
	require.NoError(t, o.PreloadDecisions(t.Context()))
	r := world()
	for _, g := range []string{"sg-1", "sg-2"} {
		st, err := o.Observe(t.Context(), r, observe.Target{Region: "cn-hangzhou", GroupID: g, Tags: map[string]string{}})
		require.NoError(t, err)
		require.True(t, st.DecisionsKnown)
	}
	require.Equal(t, 1, led.queries)

	failing := &records{err: errors.New("sls down")}
	o = observe.New(observe.Options{Now: now, Ledger: failing})
	require.Error(t, o.PreloadDecisions(t.Context()))
	_, err := o.Observe(t.Context(), r, observe.Target{Region: "cn-hangzhou", GroupID: "sg-1", Tags: map[string]string{}})
	require.NoError(t, err)
	require.Equal(t, 1, failing.queries, "after a failed preload no group asks again")
}

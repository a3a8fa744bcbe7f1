package guard_test

// The sweep's fan-out with an in-memory cloud and a recording invoker: the
// planner cuts a region into slices whose QPS shares add up to at most the
// budget, a slice sweeps only its groups at its share, a failed fan-out falls
// back to sweeping here, and a slice that nears its deadline goes on in a
// continuation.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/guard"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// sliceCloud is a paceCloud that honours ListOptions.GroupIDs and can make
// each rule read slow.
type sliceCloud struct {
	*paceCloud
	delay time.Duration
}

func (c sliceCloud) ListGroups(ctx context.Context, opts ecsapi.ListOptions) ([]ecsapi.Group, error) {
	all, err := c.paceCloud.ListGroups(ctx, opts)
	if opts.GroupIDs == nil {
		return all, err
	}
	var out []ecsapi.Group
	for _, g := range all {
		if slices.Contains(opts.GroupIDs, g.ID) {
			out = append(out, g)
		}
	}
	return out, err
}

func (c sliceCloud) DescribeRules(ctx context.Context, gid string) (rule.Attribute, error) {
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	return c.paceCloud.DescribeRules(ctx, gid)
}

// invoker records the payloads it was asked to start.
type invoker struct {
	mu       sync.Mutex
	fn       []string
	payloads []slicePayload
	fail     error
}

type slicePayload struct {
	Trigger string
	Mode    string   `json:"mode"`
	Region  string   `json:"region"`
	Groups  []string `json:"groups"`
	QPS     float64  `json:"qps"`
}

func (i *invoker) InvokeAsync(_ context.Context, fn string, payload []byte) (string, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.fail != nil {
		return "", i.fail
	}
	ev, err := trigger.DecodeTimer(payload)
	if err != nil {
		return "", err
	}
	var p slicePayload
	if err := ev.DecodePayload(&p); err != nil {
		return "", err
	}
	p.Trigger = ev.TriggerName
	i.fn = append(i.fn, fn)
	i.payloads = append(i.payloads, p)
	return fmt.Sprintf("req-%d", len(i.payloads)), nil
}

// world adds n groups, every third one exposed, and returns the exposed ones.
func world(c *paceCloud, n int) (exposed []string) {
	for i := range n {
		gid := fmt.Sprintf("sg-%04d", i)
		if i%3 == 0 {
			c.add(gid, map[string]string{}, sshWorld, sshVPC)
			exposed = append(exposed, gid)
		} else {
			c.add(gid, map[string]string{}, httpsAny)
		}
	}
	return exposed
}

// pacedDeps records the shares slices asked for.
type pacedDeps struct {
	mu     sync.Mutex
	shares []float64
}

func (p *pacedDeps) deps(c guard.Cloud, l *ledgertest.Mem, inv guard.Invoker) guard.Deps {
	d := guard.Deps{Cloud: func(string) (guard.Cloud, error) { return c, nil }, Ledger: l, Notifier: &countingNotifier{}, Invoker: inv}
	d.Paced = func(_ string, qps float64) (guard.Cloud, error) {
		p.mu.Lock()
		p.shares = append(p.shares, qps)
		p.mu.Unlock()
		return c, nil
	}
	return d
}

func newFanOutGuard(t *testing.T, fo guard.FanOut) *guard.Guard {
	t.Helper()
	pol := policy.Default()
	pol.Modes.Guard = policy.ModeEnforce
	pol.MaxChangesPerRun = 1000
	g, err := guard.New(pol, guard.Config{RoleName: "porthygiene-fc-role", Regions: []string{"cn-hangzhou"},
		Logger: slog.New(slog.DiscardHandler), Wall: func() time.Time { return paceNow }, FanOut: fo})
	require.NoError(t, err)
	return g
}

func slicePayloadJSON(t *testing.T, p any) []byte {
	t.Helper()
	b, err := trigger.EncodeTimer(guard.SliceTrigger, paceNow, p)
	require.NoError(t, err)
	return b
}

func TestPlannerFansOutWithinTheBudget(t *testing.T) {
	tests := []struct {
		name              string
		groups, slice, cc int
		budget            float64
		wantSlices        int
		wantQPS           float64
	}{
		// Fewer slices than the concurrency: each gets B/C.
		{"FewSlices", 35, 10, 4, 20, 4, 5},
		// More slices than the concurrency: each gets B/n, so even all at
		// once stay within B.
		{"ManySlices", 95, 10, 4, 20, 10, 2},
		{"ThirdsRoundDown", 30, 10, 1, 10, 3, 3.333},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, l, inv, pd := sliceCloud{paceCloud: newPaceCloud()}, &ledgertest.Mem{}, &invoker{}, &pacedDeps{}
			world(c.paceCloud, tt.groups)
			g := newFanOutGuard(t, guard.FanOut{Function: "porthygiene-guard", Slice: tt.slice, Concurrency: tt.cc, QPS: tt.budget})
			res, err := g.Handle(t.Context(), pd.deps(c, l, inv), sweepPayload(t))
			require.NoError(t, err)

			require.Len(t, res.Slices, tt.wantSlices)
			require.Len(t, inv.payloads, tt.wantSlices)
			var all []string
			var sum float64
			for i, p := range inv.payloads {
				require.Equal(t, "porthygiene-guard", inv.fn[i])
				require.Equal(t, guard.SliceTrigger, p.Trigger)
				require.Equal(t, "sweep", p.Mode)
				require.Equal(t, "cn-hangzhou", p.Region)
				require.LessOrEqual(t, len(p.Groups), tt.slice)
				require.InDelta(t, tt.wantQPS, p.QPS, 1e-9)
				require.Equal(t, fmt.Sprintf("req-%d", i+1), res.Slices[i].RequestID)
				all = append(all, p.Groups...)
				sum += p.QPS
			}
			require.LessOrEqual(t, sum, tt.budget, "the slices' shares add up to at most the budget")
			slices.Sort(all)
			require.Len(t, slices.Compact(all), tt.groups, "every group is in exactly one slice")
			require.Zero(t, c.count("describe"), "the planner only lists")
			require.Empty(t, res.Revoked)
		})
	}
}

func TestPlannerSweepsASmallRegionInline(t *testing.T) {
	c, l, inv, pd := sliceCloud{paceCloud: newPaceCloud()}, &ledgertest.Mem{}, &invoker{}, &pacedDeps{}
	exposed := world(c.paceCloud, 9)
	g := newFanOutGuard(t, guard.FanOut{Function: "porthygiene-guard", Slice: 10})
	res, err := g.Handle(t.Context(), pd.deps(c, l, inv), sweepPayload(t))
	require.NoError(t, err)
	require.Empty(t, inv.payloads)
	require.Len(t, res.Revoked, len(exposed))

	// Without an invoker, or with fan-out off, large regions are swept inline too.
	c2 := sliceCloud{paceCloud: newPaceCloud()}
	exposed = world(c2.paceCloud, 40)
	for _, fo := range []guard.FanOut{{Function: "porthygiene-guard", Slice: -1}, {Slice: 10}} {
		g := newFanOutGuard(t, fo)
		_, err := g.Handle(t.Context(), pd.deps(c2, &ledgertest.Mem{}, inv), sweepPayload(t))
		require.NoError(t, err)
	}
	require.Empty(t, inv.payloads)
	for _, gid := range exposed {
		require.Equal(t, 1, c2.revoke[fmt.Sprintf("sgr-%s-0", gid[3:])], gid)
	}
}

func TestSliceSweepsOnlyItsGroupsAtItsShare(t *testing.T) {
	c, l, inv, pd := sliceCloud{paceCloud: newPaceCloud()}, &ledgertest.Mem{}, &invoker{}, &pacedDeps{}
	world(c.paceCloud, 30)
	g := newFanOutGuard(t, guard.FanOut{Function: "porthygiene-guard", Slice: 10, QPS: 20})
	mine := []string{"sg-0000", "sg-0001", "sg-0003"}
	res, err := g.Handle(t.Context(), pd.deps(c, l, inv), slicePayloadJSON(t, map[string]any{"mode": "sweep", "region": "cn-hangzhou", "groups": mine, "qps": 5}))
	require.NoError(t, err)
	require.Equal(t, mine, res.Groups)
	require.ElementsMatch(t, []string{"sgr-0000-0", "sgr-0003-0"}, res.Revoked)
	require.Equal(t, []float64{5}, pd.shares)
	require.Empty(t, inv.payloads, "a slice that finishes starts nothing")

	// Idempotent: the same slice again (a retry, a duplicate) changes nothing.
	res, err = g.Handle(t.Context(), pd.deps(c, l, inv), slicePayloadJSON(t, map[string]any{"mode": "sweep", "region": "cn-hangzhou", "groups": mine, "qps": 5}))
	require.NoError(t, err)
	require.Empty(t, res.Revoked)

	// A share above the budget is cut to the budget.
	_, err = g.Handle(t.Context(), pd.deps(c, l, inv), slicePayloadJSON(t, map[string]any{"mode": "sweep", "groups": mine, "qps": 500}))
	require.NoError(t, err)
	require.Equal(t, []float64{5, 5, 20}, pd.shares)
}

func TestSlicePayloadsThatAreRefused(t *testing.T) {
	c, l, inv, pd := sliceCloud{paceCloud: newPaceCloud()}, &ledgertest.Mem{}, &invoker{}, &pacedDeps{}
	world(c.paceCloud, 3)
	g := newFanOutGuard(t, guard.FanOut{Function: "porthygiene-guard", Slice: 10})
	for _, p := range []map[string]any{
		{"mode": "sweep", "groups": []string{"sg-0000"}, "qps": -1},
		{"mode": "sweep", "groups": []string{""}},
		{"mode": "sweep", "groups": []string{"sg-0000"}, "budget": 3},
		{"mode": "sweep-all"},
	} {
		res, err := g.Handle(t.Context(), pd.deps(c, l, inv), slicePayloadJSON(t, p))
		require.NoError(t, err, "a refused payload is not retried")
		require.NotEmpty(t, res.Rejected, "%v", p)
		require.Empty(t, res.Groups)
	}
	require.Zero(t, c.count("describe"))
}

func TestFailedFanOutSweepsTheRestHere(t *testing.T) {
	c, l, pd := sliceCloud{paceCloud: newPaceCloud()}, &ledgertest.Mem{}, &pacedDeps{}
	exposed := world(c.paceCloud, 40)
	inv := &invoker{fail: errors.New("fc InvokeFunction: forbidden")}
	g := newFanOutGuard(t, guard.FanOut{Function: "porthygiene-guard", Slice: 10, Concurrency: 4, QPS: 20})
	res, err := g.Handle(t.Context(), pd.deps(c, l, inv), sweepPayload(t))
	require.NoError(t, err)
	require.Empty(t, res.Slices)
	require.Len(t, res.Revoked, len(exposed))
	require.Equal(t, []float64{20}, pd.shares, "the four slices' shares together: the whole budget")
}

func TestSliceNearItsDeadlineGoesOnInAContinuation(t *testing.T) {
	c, l, inv, pd := sliceCloud{paceCloud: newPaceCloud(), delay: 400 * time.Millisecond}, &ledgertest.Mem{}, &invoker{}, &pacedDeps{}
	world(c.paceCloud, 30)
	g := newFanOutGuard(t, guard.FanOut{Function: "porthygiene-guard", Slice: 100, QPS: 20})
	var mine []string
	for i := range 30 {
		mine = append(mine, fmt.Sprintf("sg-%04d", i))
	}
	payload := slicePayloadJSON(t, map[string]any{"mode": "sweep", "region": "cn-hangzhou", "groups": mine, "qps": 5})
	// The guard stops handing out groups 2 s before the deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
	defer cancel()
	res, err := g.Handle(ctx, pd.deps(c, l, inv), payload)
	require.NoError(t, err, "the rest is handed on, not retried")
	require.False(t, res.Partial)
	require.Len(t, inv.payloads, 1)
	cont := inv.payloads[0]
	require.True(t, res.Slices[0].Continuation)
	require.Equal(t, 5.0, cont.QPS, "a continuation keeps its share")
	require.NotEmpty(t, res.Groups)
	require.Len(t, cont.Groups, 30-len(res.Groups), "exactly the groups not swept go on")
	for _, gid := range res.Groups {
		require.NotContains(t, cont.Groups, gid)
	}

	// No progress at all: no continuation, an error for FC's retry.
	ctx2, cancel2 := context.WithTimeout(t.Context(), time.Second)
	defer cancel2()
	res, err = g.Handle(ctx2, pd.deps(c, l, inv), payload)
	require.Error(t, err)
	require.True(t, res.Partial)
	require.Len(t, inv.payloads, 1)
}

func TestSliceResultIsJSON(t *testing.T) {
	b, err := json.Marshal(guard.Result{Slices: []guard.Slice{{Region: "cn-hangzhou", Groups: 10, QPS: 5, RequestID: "r"}}})
	require.NoError(t, err)
	require.JSONEq(t, `{"source":"","events":0,"findings":0,"slices":[{"region":"cn-hangzhou","groups":10,"qps":5,"requestId":"r"}]}`, string(b))
}

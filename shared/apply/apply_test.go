package apply_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/apply"
	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// writer is a small fake of apply.Writer: it records revokes and can fail.
type writer struct {
	mu      sync.Mutex
	revoked []string
	fail    error
}

func (w *writer) RevokeByID(_ context.Context, _ string, _ rule.Direction, ids []string) (cloud.RevokeResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail != nil {
		return cloud.RevokeResult{}, w.fail
	}
	w.revoked = append(w.revoked, ids...)
	return cloud.RevokeResult{Revoked: ids}, nil
}

func (w *writer) Authorize(context.Context, string, rule.Direction, []rule.Permission) error {
	return nil
}

type failingLedger struct{}

func (failingLedger) Append(context.Context, ...ledger.Record) error { return errors.New("sls down") }

func revokes(gid string, n int) plan.Plan {
	p := plan.Plan{Region: "cn-hangzhou", GroupID: gid}
	for i := range n {
		id := fmt.Sprintf("sgr-%s-%d", gid, i)
		r, err := rule.Permission{SecurityGroupRuleId: id, Direction: "ingress", IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0"}.Rule(gid, "cn-hangzhou")
		if err != nil {
			panic(err)
		}
		p.Steps = append(p.Steps, plan.Step{Kind: plan.Revoke, Finding: exposure.Finding{GroupID: gid, RuleID: id, Direction: rule.Ingress, Rule: r}})
	}
	return p
}

// The cap is shared by the run's groups, applied concurrently: exactly cap
// revokes happen, the rest are held back as capped, none is lost.
func TestCapIsSharedAcrossConcurrentGroups(t *testing.T) {
	led := &ledgertest.Mem{}
	a := &apply.Applier{Function: "guard", Ledger: led, Cap: apply.NewCap(20), Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	w := &writer{}
	var mu sync.Mutex
	var total apply.Outcome
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gid := fmt.Sprintf("sg-%d", g)
			out, err := a.Apply(t.Context(), w, observe.State{Region: "cn-hangzhou", GroupID: gid}, revokes(gid, 5), apply.Cause{Event: ledger.EventContext{Source: "sweep"}})
			require.NoError(t, err)
			mu.Lock()
			total.Revoked = append(total.Revoked, out.Revoked...)
			total.Capped += out.Capped
			total.Events = append(total.Events, out.Events...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	require.Len(t, total.Revoked, 20)
	require.Equal(t, 30, total.Capped)
	require.Len(t, w.revoked, 20)
	require.Len(t, total.Events, 20, "the 20 revoked are told; the 30 held back are told once by the run (engine), and when revoked")
}

// No backup, no revoke: a ledger that cannot be written stops the revoke and
// every rule is reported as an error.
func TestNoBackupNoRevoke(t *testing.T) {
	a := &apply.Applier{Function: "guard", Ledger: failingLedger{}, Cap: apply.NewCap(20), Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	w := &writer{}
	out, err := a.Apply(t.Context(), w, observe.State{Region: "cn-hangzhou", GroupID: "sg-1"}, revokes("sg-1", 3), apply.Cause{Event: ledger.EventContext{}})
	require.Error(t, err)
	require.Empty(t, w.revoked)
	require.Empty(t, out.Revoked)
	require.Len(t, out.Events, 3)
	for _, ev := range out.Events {
		require.Equal(t, notify.KindError, ev.Kind)
	}
	a.Ledger = nil
	_, err = a.Apply(t.Context(), w, observe.State{GroupID: "sg-1"}, revokes("sg-1", 1), apply.Cause{Event: ledger.EventContext{}})
	require.ErrorIs(t, err, apply.ErrNoLedger)
	require.Empty(t, w.revoked)
}

// A revoke that fails leaves the rule open: every rule of the batch is told
// at once as an error (not as revoked), with the cause, and the error is
// returned so that FC retries the invocation.
func TestFailedRevokeIsToldAtOnce(t *testing.T) {
	led := &ledgertest.Mem{}
	a := &apply.Applier{Function: "guard", Ledger: led, Cap: apply.NewCap(20), Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	w := &writer{fail: fmt.Errorf("RevokeSecurityGroup: %w", cloud.ErrServer)}
	out, err := a.Apply(t.Context(), w, observe.State{Region: "cn-hangzhou", GroupID: "sg-1"}, revokes("sg-1", 2), apply.Cause{Event: ledger.EventContext{EventID: "ev-1"}})
	require.ErrorIs(t, err, cloud.ErrServer)
	require.Empty(t, out.Revoked)
	require.Empty(t, out.Ledger, "no revocation is claimed")
	require.Len(t, out.Events, 2)
	for _, ev := range out.Events {
		require.Equal(t, notify.KindError, ev.Kind)
		require.Contains(t, ev.Action, "NOT revoked")
		require.Contains(t, ev.Detail, "server error")
	}
}

// A nil cap allows no change: everything is held back as capped, nothing lost.
func TestNilCapAllowsNone(t *testing.T) {
	a := &apply.Applier{Function: "guard", Ledger: &ledgertest.Mem{}, Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	w := &writer{}
	out, err := a.Apply(t.Context(), w, observe.State{GroupID: "sg-1"}, revokes("sg-1", 3), apply.Cause{Event: ledger.EventContext{}})
	require.NoError(t, err)
	require.Empty(t, w.revoked)
	require.Equal(t, 3, out.Capped)
	require.Len(t, out.Notified, 3, "held back, not lost")
}

package apply_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/apply"
	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/plan"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// calls is a fake apply.Writer recording the replicator's calls in order.
type calls struct {
	log       []string
	failAuth  error
	goneIDs   map[string]bool
	authorize [][]rule.Permission
}

func (c *calls) RevokeByID(_ context.Context, gid string, dir rule.Direction, ids []string) (cloud.RevokeResult, error) {
	c.log = append(c.log, fmt.Sprintf("revoke %s %s %v", gid, dir, ids))
	var res cloud.RevokeResult
	for _, id := range ids {
		if c.goneIDs[id] {
			res.Gone = append(res.Gone, id)
		} else {
			res.Revoked = append(res.Revoked, id)
		}
	}
	return res, nil
}

func (c *calls) Authorize(_ context.Context, gid string, dir rule.Direction, perms []rule.Permission) error {
	c.log = append(c.log, fmt.Sprintf("authorize %s %s ×%d", gid, dir, len(perms)))
	c.authorize = append(c.authorize, perms)
	return c.failAuth
}

func rl(id string, port int) rule.Rule {
	return rule.Rule{ID: id, GroupID: "sg-r", Region: "cn-shanghai", Direction: rule.Ingress, Protocol: rule.TCP,
		Ports: rule.PortRange{From: port, To: port}, Peer: rule.Peer{Kind: rule.PeerCIDR4, Prefix: netip.MustParsePrefix("10.0.0.0/8")}, Policy: rule.Accept, Priority: 1}
}

func replicaPlan() plan.Plan {
	return plan.Plan{Region: "cn-shanghai", GroupID: "sg-r", Set: "web", Primary: "cn-hangzhou/sg-p", Steps: []plan.Step{
		{Kind: plan.Authorize, Direction: rule.Ingress, Rules: []rule.Rule{rl("", 8080), rl("", 8081)}},
		{Kind: plan.RevokeRules, Direction: rule.Ingress, Rules: []rule.Rule{rl("sgr-old", 9000), rl("sgr-gone", 9001)}},
	}}
}

// Authorize steps add their rules in one call and are recorded after it;
// revokes are backed up first and recorded by outcome (revoked, already gone).
func TestApplyReplicatorSteps(t *testing.T) {
	led := &ledgertest.Mem{}
	a := &apply.Applier{Function: "replicator", Ledger: led, Cap: apply.NewCap(100), Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	w := &calls{goneIDs: map[string]bool{"sgr-gone": true}}
	out, err := a.Apply(t.Context(), w, observe.State{Region: "cn-shanghai", GroupID: "sg-r"}, replicaPlan(), apply.Cause{Event: ledger.EventContext{Source: "sweep"}})
	require.NoError(t, err)
	require.Equal(t, []string{"authorize sg-r ingress ×2", "revoke sg-r ingress [sgr-old sgr-gone]"}, w.log)
	require.Empty(t, w.authorize[0][0].SecurityGroupRuleId, "a copy carries no rule id")
	require.Len(t, out.Authorized, 2)
	require.Equal(t, []string{"sgr-old"}, out.Revoked)
	require.Equal(t, []string{"sgr-gone"}, out.Gone)
	require.Zero(t, out.Findings, "copies are not exposures")
	kinds := map[ledger.Kind]int{}
	for _, r := range led.Records() {
		kinds[r.Kind]++
		if r.Kind == ledger.KindReplication {
			b, err := r.Replication()
			require.NoError(t, err)
			require.Equal(t, "authorized", b.Action)
			require.Equal(t, "cn-hangzhou/sg-p", b.Primary)
		}
	}
	require.Equal(t, map[ledger.Kind]int{ledger.KindReplication: 1, ledger.KindBackup: 2, ledger.KindRevocation: 1, ledger.KindFinding: 1}, kinds)
}

// A failed authorize is recorded as failed, told at once, and returned.
func TestApplyReplicatorAuthorizeFails(t *testing.T) {
	led := &ledgertest.Mem{}
	a := &apply.Applier{Function: "replicator", Ledger: led, Cap: apply.NewCap(100), Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	w := &calls{failAuth: fmt.Errorf("call: %w", cloud.ErrQuota)}
	out, err := a.Apply(t.Context(), w, observe.State{Region: "cn-shanghai", GroupID: "sg-r"}, replicaPlan(), apply.Cause{Event: ledger.EventContext{Source: "sweep", EventID: "e1"}})
	require.ErrorIs(t, err, cloud.ErrQuota)
	require.Empty(t, out.Authorized)
	require.Len(t, out.Events, 1)
	require.Equal(t, notify.KindError, out.Events[0].Kind)
	require.Contains(t, out.Events[0].Action, "quota")
	var actions []string
	for _, r := range led.Records() {
		if b, err := r.Replication(); err == nil {
			actions = append(actions, b.Action)
		}
	}
	require.Equal(t, []string{"authorize failed (quota)"}, actions)
	require.Equal(t, []string{"authorize sg-r ingress ×2"}, w.log, "no removal after a failed authorize")
}

// The cap limits how many rules one run changes: the rest are capped (the
// next run continues), in plan order.
func TestApplyReplicatorCap(t *testing.T) {
	a := &apply.Applier{Function: "replicator", Ledger: &ledgertest.Mem{}, Cap: apply.NewCap(3), Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	w := &calls{}
	out, err := a.Apply(t.Context(), w, observe.State{Region: "cn-shanghai", GroupID: "sg-r"}, replicaPlan(), apply.Cause{})
	require.NoError(t, err)
	require.Equal(t, []string{"authorize sg-r ingress ×2", "revoke sg-r ingress [sgr-old]"}, w.log)
	require.Equal(t, 1, out.Capped)
}

// No ledger, no revoke (and no authorize: nothing would record it).
func TestApplyReplicatorWithoutLedger(t *testing.T) {
	a := &apply.Applier{Function: "replicator", Cap: apply.NewCap(100)}
	w := &calls{}
	_, err := a.Apply(t.Context(), w, observe.State{GroupID: "sg-r"}, replicaPlan(), apply.Cause{})
	require.True(t, errors.Is(err, apply.ErrNoLedger))
	require.Empty(t, w.log)
}

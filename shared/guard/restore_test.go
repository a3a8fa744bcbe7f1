package guard_test

// The guard's restore step (BeforeSweep) on the owners' restore decisions:
// the guard in process, its sweeps against localcloud's ECS emulator through
// the real ECS adapter over loopback HTTP, the ledger in memory.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/guard"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/restore"
	"github.com/porthygiene/porthygiene/shared/rule"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

const restoreGroup = "sg-bp1decided000000000"

// recordingNotifier keeps what the guard would tell people.
type recordingNotifier struct {
	mu     sync.Mutex
	events []notify.Event
}

func (n *recordingNotifier) Notify(_ context.Context, _ time.Time, evs []notify.Event) (notify.Report, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, evs...)
	return notify.Report{Sent: len(evs)}, nil
}

func (n *recordingNotifier) take(kind notify.Kind) []notify.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out, rest []notify.Event
	for _, e := range n.events {
		if e.Kind == kind {
			out = append(out, e)
		} else {
			rest = append(rest, e)
		}
	}
	n.events = rest
	return out
}

// lockedBuffer is a log sink safe for the sweep's concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// decided is one region with restoreGroup, the guard and its ledger.
type decided struct {
	t      *testing.T
	now    time.Time
	faults *faults.Set
	cl     *ecsapi.Client // the guard's
	human  *ecsapi.Client
	led    *ledgertest.Mem
	notes  *recordingNotifier
	logs   *lockedBuffer
	g      *guard.Guard
	// cloud, if set, wraps the guard's client (someone acting meanwhile).
	cloud func(*ecsapi.Client) guard.Cloud
}

func newDecided(t *testing.T, seeded ...lcecs.Permission) *decided {
	t.Helper()
	d := &decided{t: t, now: paceNow, faults: &faults.Set{}, led: &ledgertest.Mem{}, notes: &recordingNotifier{}, logs: &lockedBuffer{}}
	st := auth.NewStore()
	srv := lcecs.New(lcecs.Config{Clock: vclock.New(paceNow), Auth: st, Faults: d.faults, DefaultRegion: "cn-hangzhou"})
	require.NoError(t, srv.Load(lcecs.World{Regions: []lcecs.Region{{
		RegionID:       "cn-hangzhou",
		Vpcs:           []lcecs.Vpc{{VpcID: "vpc-bp1decided00000000", CidrBlock: "10.0.0.0/16"}},
		SecurityGroups: []lcecs.SecurityGroup{{SecurityGroupID: restoreGroup, SecurityGroupName: "db", VpcID: "vpc-bp1decided00000000", Permissions: seeded}},
	}}}))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	client := func(who string) *ecsapi.Client {
		a := st.AddUser(who)
		cl, err := ecsapi.New(ecsapi.Config{Region: "cn-hangzhou", Endpoint: hs.URL,
			Credentials: ecsapi.Credentials{AccessKeyID: a.AccessKeyID, AccessKeySecret: a.AccessKeySecret},
			CallTimeout: 5 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 2})
		require.NoError(t, err)
		return cl
	}
	d.cl, d.human = client("porthygiene"), client("bob")
	pol := policy.Default()
	pol.Modes.Guard = policy.ModeEnforce
	g, err := guard.New(pol, guard.Config{RoleName: "porthygiene-fc-role", Regions: []string{"cn-hangzhou"},
		Logger: slog.New(slog.NewTextHandler(d.logs, nil)), Wall: func() time.Time { return d.now }})
	require.NoError(t, err)
	d.g = g
	return d
}

// sweep runs one hourly sweep and returns its error.
func (d *decided) sweep() error {
	d.t.Helper()
	d.now = d.now.Add(time.Hour)
	p, err := trigger.EncodeTimer("sweep", d.now, map[string]string{"mode": "sweep"})
	require.NoError(d.t, err)
	var cl guard.Cloud = d.cl
	if d.cloud != nil {
		cl = d.cloud(d.cl)
	}
	_, err = d.g.Handle(d.t.Context(), guard.Deps{Cloud: func(string) (guard.Cloud, error) { return cl, nil }, Ledger: d.led, Notifier: d.notes}, p)
	return err
}

// backup records the revocation of a private MySQL rule (the sweep leaves
// it alone) and returns its ledger id.
func (d *decided) backup() string {
	d.t.Helper()
	rec := ledger.NewRevocation(ledger.Meta{Time: d.now.Add(-2 * time.Hour), Function: "guard", GroupID: restoreGroup, Region: "cn-hangzhou", RuleID: "sgr-bp1olddb0000000000"},
		ledger.Revocation{Rule: rule.Permission{SecurityGroupRuleId: "sgr-bp1olddb0000000000", Direction: "ingress", IpProtocol: "tcp", PortRange: "3306/3306",
			SourceCidrIp: "10.0.0.0/8", Policy: "accept", Priority: "5", NicType: "intranet", Description: "db"}, Reason: "test"})
	require.NoError(d.t, d.led.Append(d.t.Context(), rec))
	return rec.ID
}

// decide records the owner's restore decision on target, as approve does.
func (d *decided) decide(target string) {
	d.t.Helper()
	rec := ledger.NewDecision(ledger.Meta{Time: d.now.Add(-10 * time.Minute), Function: "approve", GroupID: restoreGroup, Region: "cn-hangzhou",
		RuleID: "sgr-bp1olddb0000000000", EventID: "approve/nonce-" + target},
		ledger.Decision{Action: "restore", Target: target, By: "alice", Until: d.now.Add(7 * 24 * time.Hour), Via: "dingtalk"})
	require.NoError(d.t, d.led.Append(d.t.Context(), rec))
}

func (d *decided) dbRules() []rule.Rule {
	d.t.Helper()
	attr, err := d.human.DescribeRules(d.t.Context(), restoreGroup)
	require.NoError(d.t, err)
	var out []rule.Rule
	for _, r := range attr.Rules {
		if r.Ports.From == 3306 {
			out = append(out, r)
		}
	}
	return out
}

func (d *decided) revoke(id string) {
	d.t.Helper()
	_, err := d.human.RevokeByID(d.t.Context(), restoreGroup, rule.Ingress, []string{id})
	require.NoError(d.t, err)
}

// meddler is the guard's client with someone revoking every MySQL rule right
// after its authorize returns.
type meddler struct {
	*ecsapi.Client
	d *decided
}

func (m meddler) Authorize(ctx context.Context, gid string, dir rule.Direction, perms []rule.Permission) error {
	err := m.Client.Authorize(ctx, gid, dir, perms)
	for _, r := range m.d.dbRules() {
		m.d.revoke(r.ID)
	}
	return err
}

func TestGuardRestoreDecisions(t *testing.T) {
	still := lcecs.Permission{SecurityGroupRuleID: "sgr-bp1olddb0000000000", Direction: "ingress", IpProtocol: "TCP", PortRange: "3306/3306",
		SourceCidrIp: "10.0.0.0/8", Policy: "Accept", Priority: 5, Description: "db"}
	cases := []struct {
		name   string
		seeded []lcecs.Permission
		run    func(t *testing.T, d *decided)
	}{
		{
			// The revoke had failed: the rule is still there. The decision
			// is done: nothing authorized, recorded or told, the sweep does
			// not fail, and it stays so. Once the rule is gone, a later
			// sweep restores it, as the owner asked.
			name:   "RuleStillInTheGroupIsDone",
			seeded: []lcecs.Permission{still},
			run: func(t *testing.T, d *decided) {
				d.decide(d.backup())
				for range 2 {
					require.NoError(t, d.sweep())
					require.Len(t, d.dbRules(), 1)
					require.Equal(t, "db", d.dbRules()[0].Description, "untouched")
					require.Zero(t, d.led.Count(ledger.KindRestore), "nothing recorded")
					require.Empty(t, d.notes.take(notify.KindError))
					require.Empty(t, d.notes.take(notify.KindRestored))
				}
				require.Contains(t, d.logs.String(), "nothing to restore, the rule is already in the group")
				require.Contains(t, d.logs.String(), "sgr-bp1olddb0000000000")

				d.revoke("sgr-bp1olddb0000000000")
				require.NoError(t, d.sweep())
				got := d.dbRules()
				require.Len(t, got, 1)
				require.NotEqual(t, "sgr-bp1olddb0000000000", got[0].ID)
				require.Contains(t, got[0].Description, "[porthygiene-exempt owner=alice")
				require.Equal(t, 1, d.led.Count(ledger.KindRestore))
				told := d.notes.take(notify.KindRestored)
				require.Len(t, told, 1)
				require.Equal(t, got[0].ID, told[0].RuleID)
			},
		},
		{
			// A decision is carried out once: the restored rule revoked
			// again by someone stays revoked.
			name: "CarriedOutOnce",
			run: func(t *testing.T, d *decided) {
				d.decide(d.backup())
				require.NoError(t, d.sweep())
				got := d.dbRules()
				require.Len(t, got, 1)
				require.Len(t, d.notes.take(notify.KindRestored), 1)
				d.revoke(got[0].ID)
				require.NoError(t, d.sweep())
				require.Empty(t, d.dbRules(), "not restored again")
				require.Equal(t, 1, d.led.Count(ledger.KindRestore))
				require.Empty(t, d.notes.take(notify.KindRestored))
				require.Empty(t, d.notes.take(notify.KindError))
			},
		},
		{
			// The authorize returned but the rule is not there: people are
			// told, the sweep fails (a retry may do it), nothing is recorded,
			// and the next sweep restores.
			name: "NothingCreatedIsToldAndRetried",
			run: func(t *testing.T, d *decided) {
				d.decide(d.backup())
				d.cloud = func(c *ecsapi.Client) guard.Cloud { return meddler{Client: c, d: d} }
				err := d.sweep()
				require.True(t, errors.Is(err, restore.ErrNothingCreated), "%v", err)
				told := d.notes.take(notify.KindError)
				require.Len(t, told, 1)
				require.Equal(t, "restore NOT done", told[0].Action)
				require.Equal(t, restoreGroup, told[0].GroupID, "routed to the group's owners")
				require.Contains(t, told[0].Detail, "no matching rule is in the group")
				require.Zero(t, d.led.Count(ledger.KindRestore), "nothing recorded")

				d.cloud = nil
				require.NoError(t, d.sweep())
				require.Len(t, d.dbRules(), 1)
				require.Equal(t, 1, d.led.Count(ledger.KindRestore))
				require.Len(t, d.notes.take(notify.KindRestored), 1)
			},
		},
		{
			// ECS fails the authorize: told, the sweep fails, and the next
			// sweep, once ECS is back, restores.
			name: "FailedAuthorizeIsRetried",
			run: func(t *testing.T, d *decided) {
				d.decide(d.backup())
				d.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "ecs", Action: "AuthorizeSecurityGroup", ServerErrorRatio: 1}}})
				err := d.sweep()
				require.True(t, errors.Is(err, ecsapi.ErrServer), "%v", err)
				require.Len(t, d.notes.take(notify.KindError), 1)
				d.faults.Replace(faults.Config{})
				require.NoError(t, d.sweep())
				require.Len(t, d.dbRules(), 1)
				require.Len(t, d.notes.take(notify.KindRestored), 1)
			},
		},
		{
			// A decision on a record that is not a revocation can never be
			// carried out: told, under the same id at every sweep (so people
			// hear once), and the sweep does not fail for it.
			name: "RefusedForGoodDoesNotFailTheSweep",
			run: func(t *testing.T, d *decided) {
				ev := ledger.NewEvent(ledger.Meta{Time: d.now.Add(-time.Hour), Function: "guard", EventID: "actiontrail/x"}, ledger.Event{Source: "sls"})
				require.NoError(t, d.led.Append(t.Context(), ev))
				d.decide(ev.ID)
				var ids []string
				for range 2 {
					require.NoError(t, d.sweep())
					told := d.notes.take(notify.KindError)
					require.Len(t, told, 1)
					require.Contains(t, told[0].Detail, "only revoked or closed rules can be restored")
					ids = append(ids, told[0].ID)
				}
				require.Equal(t, ids[0], ids[1], "one notification id: the notifier shows it once")
				require.True(t, strings.HasPrefix(ids[0], "guard/restore-failed/"), ids[0])
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newDecided(t, tc.seeded...))
		})
	}
}

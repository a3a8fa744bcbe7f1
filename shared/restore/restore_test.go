package restore_test

// The restore, through the real ECS adapter and the unmodified SDK, against
// localcloud's ECS emulator over loopback HTTP. Outcomes are asserted on the
// emulator's state (read back over the SDK) and on the ledger.

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	lcecs "github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/restore"
	"github.com/porthygiene/porthygiene/shared/rule"
)

const (
	region = "cn-hangzhou"
	group  = "sg-bp1restore000000000"
	vpc    = "vpc-bp1restore00000000"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// env is one emulated region with the group, the ledger, the client the
// restore uses and a human's client for the changes made around it.
type env struct {
	faults *faults.Set
	cl     *ecsapi.Client // the restore's
	human  *ecsapi.Client // someone else, at the same time
	led    *ledgertest.Mem
}

func newEnv(t *testing.T, seeded ...lcecs.Permission) *env {
	t.Helper()
	st := auth.NewStore()
	e := &env{faults: &faults.Set{}, led: &ledgertest.Mem{}}
	srv := lcecs.New(lcecs.Config{Clock: vclock.New(now), Auth: st, Faults: e.faults, DefaultRegion: region})
	require.NoError(t, srv.Load(lcecs.World{Regions: []lcecs.Region{{
		RegionID:       region,
		Vpcs:           []lcecs.Vpc{{VpcID: vpc, CidrBlock: "10.0.0.0/16"}},
		SecurityGroups: []lcecs.SecurityGroup{{SecurityGroupID: group, SecurityGroupName: "restore", VpcID: vpc, Permissions: seeded}},
	}}}))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	client := func(who string) *ecsapi.Client {
		a := st.AddUser(who)
		cl, err := ecsapi.New(ecsapi.Config{Region: region, Endpoint: hs.URL,
			Credentials: ecsapi.Credentials{AccessKeyID: a.AccessKeyID, AccessKeySecret: a.AccessKeySecret},
			CallTimeout: 5 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 2})
		require.NoError(t, err)
		return cl
	}
	e.cl, e.human = client("porthygiene"), client("bob")
	return e
}

// rules are the group's rules as the human reads them.
func (e *env) rules(t *testing.T) []rule.Rule {
	t.Helper()
	attr, err := e.human.DescribeRules(t.Context(), group)
	require.NoError(t, err)
	return attr.Rules
}

func (e *env) rule(t *testing.T, id string) (rule.Rule, bool) {
	t.Helper()
	for _, r := range e.rules(t) {
		if r.ID == id {
			return r, true
		}
	}
	return rule.Rule{}, false
}

func (e *env) revoke(t *testing.T, id string) {
	t.Helper()
	_, err := e.human.RevokeByID(t.Context(), group, rule.Ingress, []string{id})
	require.NoError(t, err)
}

// seededRule is a rule in the group before the restore (a revoke that failed
// left it there), with the seeded id.
func seededRule(id, port, cidr string, prio lcecs.Priority, desc string) lcecs.Permission {
	return lcecs.Permission{SecurityGroupRuleID: id, Direction: "ingress", IpProtocol: "TCP", PortRange: port + "/" + port,
		SourceCidrIp: cidr, Policy: "Accept", Priority: prio, Description: desc}
}

// perm is the backup of rule sgr-old<port>, priority 5.
func perm(port, cidr, desc string) rule.Permission {
	return rule.Permission{SecurityGroupRuleId: "sgr-old" + port, Direction: "ingress", IpProtocol: "tcp", PortRange: port + "/" + port,
		SourceCidrIp: cidr, Policy: "accept", Priority: "5", NicType: "intranet", Description: desc}
}

// backup records the revocation of perm(port, cidr, desc) and returns its id.
func (e *env) backup(t *testing.T, port, cidr, desc string) string {
	t.Helper()
	return e.backupIn(t, group, port, cidr, desc)
}

func (e *env) backupIn(t *testing.T, gid, port, cidr, desc string) string {
	t.Helper()
	rec := ledger.NewRevocation(ledger.Meta{Time: now.Add(-time.Hour), Function: "guard", GroupID: gid, Region: region, RuleID: "sgr-old" + port},
		ledger.Revocation{Rule: perm(port, cidr, desc), Reason: "test"})
	require.NoError(t, e.led.Append(t.Context(), rec))
	return rec.ID
}

func (e *env) restore(t *testing.T, req restore.Request) (restore.Result, error) {
	t.Helper()
	if req.Region == "" {
		req.Region = region
	}
	if req.By == "" {
		req.By = "alice"
	}
	if req.Now.IsZero() {
		req.Now = now
	}
	return restore.Restore(t.Context(), e.cl, e.led, policy.Default(), req)
}

// meddler is the restore's real client with someone else acting right
// before or right after its authorize (a race the restore must survive
// honestly): every call still goes to the emulator.
type meddler struct {
	*ecsapi.Client
	before, after func()
}

func (m meddler) Authorize(ctx context.Context, gid string, dir rule.Direction, perms []rule.Permission) error {
	if m.before != nil {
		m.before()
	}
	err := m.Client.Authorize(ctx, gid, dir, perms)
	if m.after != nil {
		m.after()
	}
	return err
}

func TestRestore(t *testing.T) {
	ex := &exemption.Exemption{Owner: "alice", Reason: "vendor", Until: now.Add(48 * time.Hour)}
	cases := []struct {
		name   string
		seeded []lcecs.Permission
		// run does the restore (and whatever comes before it) and returns
		// its outcome; check then looks at the group and the ledger.
		run     func(t *testing.T, e *env) (restore.Result, error)
		wantErr error
		check   func(t *testing.T, e *env, res restore.Result)
	}{
		{
			// The revoke happened but its revocation record could not be
			// written: the message names the backup, and it restores.
			name: "FromABackupRecord",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				rec := ledger.NewBackup(ledger.Meta{Time: now.Add(-time.Hour), Function: "guard", GroupID: group, Region: region, RuleID: "sgr-old8080"},
					ledger.Revocation{Rule: perm("8080", "10.0.0.0/8", "app"), Reason: "test"})
				require.NoError(t, e.led.Append(t.Context(), rec))
				return e.restore(t, restore.Request{LedgerID: rec.ID})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				require.NotEmpty(t, res.NewRuleID)
				require.Len(t, e.rules(t), 1)
				require.Equal(t, 1, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// The guard would close an exposure again at once: refused.
			name: "ExposureWithoutExemptionRefused",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "22", "0.0.0.0/0", "debug")})
			},
			wantErr: restore.ErrExposure,
			check: func(t *testing.T, e *env, _ restore.Result) {
				require.Empty(t, e.rules(t), "nothing authorized")
				require.Zero(t, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// Exactly as backed up, plus the exemption marker; recorded
			// with the id the group gave it.
			name: "ExposureWithExemptionRestoredExactly",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "22", "0.0.0.0/0", "debug"), Exemption: ex})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				got := e.rules(t)
				require.Len(t, got, 1)
				require.Equal(t, got[0].ID, res.NewRuleID)
				require.Equal(t, 5, got[0].Priority)
				require.Equal(t, "0.0.0.0/0", got[0].Peer.String())
				require.True(t, strings.HasPrefix(got[0].Description, "debug [porthygiene-exempt owner=alice"), got[0].Description)
				recs, err := e.led.Query(t.Context(), ledger.Filter{Kinds: []ledger.Kind{ledger.KindRestore}})
				require.NoError(t, err)
				require.Len(t, recs, 1)
				require.Equal(t, res.RestoreID, recs[0].ID)
				b, err := recs[0].Restore()
				require.NoError(t, err)
				require.Equal(t, res.NewRuleID, b.NewRuleID, "the record names the rule that was created")
			},
		},
		{
			// The rule was closed because its exemption expired: the new
			// marker replaces the old one instead of being shadowed by it.
			name: "ReplacesAnExpiredMarker",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "22", "0.0.0.0/0", `bastion [porthygiene-exempt owner=ops until=2026-01-01 reason="old"]`)
				return e.restore(t, restore.Request{LedgerID: id, Exemption: ex})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				r, ok := e.rule(t, res.NewRuleID)
				require.True(t, ok)
				require.True(t, strings.HasPrefix(r.Description, "bastion [porthygiene-exempt owner=alice"), r.Description)
				require.NotContains(t, r.Description, "owner=ops")
			},
		},
		{
			// A private source is no exposure: no exemption needed.
			name: "PrivateRuleNeedsNoExemption",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "3306", "10.0.0.0/8", "")})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				_, ok := e.rule(t, res.NewRuleID)
				require.True(t, ok)
				require.Equal(t, 1, e.led.Count(ledger.KindRestore))
			},
		},
		{
			name: "DryRunChangesNothing",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "3306", "10.0.0.0/8", ""), DryRun: true})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				require.Empty(t, e.rules(t))
				require.Zero(t, e.led.Count(ledger.KindRestore))
				require.True(t, res.DryRun)
			},
		},
		{
			// The red team's case: the revoke failed, the rule is still in
			// the group (its description aside). ECS would ignore the
			// authorize: nothing to restore, nothing authorized or recorded.
			name:   "RuleStillInTheGroupIsNothingToRestore",
			seeded: []lcecs.Permission{seededRule("sgr-bp1stillthere00000", "22", "0.0.0.0/0", 5, "debug")},
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "22", "0.0.0.0/0", "debug"), Exemption: ex})
			},
			wantErr: restore.ErrAlreadyPresent,
			check: func(t *testing.T, e *env, res restore.Result) {
				require.Equal(t, "sgr-bp1stillthere00000", res.PresentRuleID)
				require.Empty(t, res.NewRuleID)
				got := e.rules(t)
				require.Len(t, got, 1)
				require.Equal(t, "debug", got[0].Description, "the rule is untouched")
				require.Zero(t, e.led.Count(ledger.KindRestore), "nothing recorded")
			},
		},
		{
			// Once the rule is gone, the same revocation restores.
			name:   "AfterTheRuleIsGoneTheRestoreWorks",
			seeded: []lcecs.Permission{seededRule("sgr-bp1stillthere00000", "3306", "10.0.0.0/8", 5, "")},
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				_, err := e.restore(t, restore.Request{LedgerID: id})
				require.True(t, errors.Is(err, restore.ErrAlreadyPresent), "%v", err)
				e.revoke(t, "sgr-bp1stillthere00000")
				return e.restore(t, restore.Request{LedgerID: id})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				require.NotEqual(t, "sgr-bp1stillthere00000", res.NewRuleID)
				_, ok := e.rule(t, res.NewRuleID)
				require.True(t, ok)
				require.Equal(t, 1, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// Rules that differ from the backup in one part of ECS's
			// identity are other rules: none is "present", the restore
			// creates the rule.
			name: "NearMissesAreNotTheRule",
			seeded: []lcecs.Permission{
				seededRule("sgr-bp1otherprio000000", "3306", "10.0.0.0/8", 6, ""),
				seededRule("sgr-bp1otherpeer000000", "3306", "10.1.0.0/16", 5, ""),
				seededRule("sgr-bp1otherport000000", "3307", "10.0.0.0/8", 5, ""),
				func() lcecs.Permission {
					p := seededRule("sgr-bp1othersport00000", "3306", "10.0.0.0/8", 5, "")
					p.SourcePortRange = "1000/2000"
					return p
				}(),
				func() lcecs.Permission {
					p := seededRule("sgr-bp1otherlocal00000", "3306", "10.0.0.0/8", 5, "")
					p.DestCidrIp = "10.0.1.0/24"
					return p
				}(),
				func() lcecs.Permission {
					p := seededRule("sgr-bp1otherpolicy0000", "3306", "10.0.0.0/8", 5, "")
					p.Policy = "Drop"
					return p
				}(),
			},
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "3306", "10.0.0.0/8", "")})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				require.Len(t, e.rules(t), 7)
				r, ok := e.rule(t, res.NewRuleID)
				require.True(t, ok)
				require.Equal(t, 5, r.Priority)
			},
		},
		{
			// One rule id is restored once while its restored rule stands.
			name: "SecondRestoreRefused",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				first, err := e.restore(t, restore.Request{LedgerID: id})
				require.NoError(t, err)
				res, err := e.restore(t, restore.Request{LedgerID: id})
				require.Equal(t, first.NewRuleID, res.PresentRuleID)
				return res, err
			},
			wantErr: restore.ErrAlreadyRestored,
			check: func(t *testing.T, e *env, _ restore.Result) {
				require.Len(t, e.rules(t), 1)
				require.Equal(t, 1, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// Another backup of the same rule id (concurrent invocations)
			// is the same rule: refused as well.
			name: "AnotherBackupOfTheSameRuleRefused",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				_, err := e.restore(t, restore.Request{LedgerID: e.backup(t, "3306", "10.0.0.0/8", "")})
				require.NoError(t, err)
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "3306", "10.0.0.0/8", "")})
			},
			wantErr: restore.ErrAlreadyRestored,
		},
		{
			// The restored rule was revoked again: the revocation is the
			// backup of that rule still, and restores again.
			name: "RestoredRuleRevokedAgainRestoresAgain",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				first, err := e.restore(t, restore.Request{LedgerID: id})
				require.NoError(t, err)
				e.revoke(t, first.NewRuleID)
				res, err := e.restore(t, restore.Request{LedgerID: id, Now: now.Add(time.Minute)})
				require.NotEqual(t, first.NewRuleID, res.NewRuleID)
				return res, err
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				got := e.rules(t)
				require.Len(t, got, 1)
				require.Equal(t, res.NewRuleID, got[0].ID)
				require.Equal(t, 2, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// An owner's decision is carried out once: revoked again after
			// it was, it is not restored again for the same decision.
			name: "DecisionCarriedOutOnce",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				decided := now.Add(-time.Minute)
				first, err := e.restore(t, restore.Request{LedgerID: id, DecidedAt: decided})
				require.NoError(t, err)
				e.revoke(t, first.NewRuleID)
				return e.restore(t, restore.Request{LedgerID: id, DecidedAt: decided, Now: now.Add(time.Hour)})
			},
			wantErr: restore.ErrAlreadyRestored,
			check: func(t *testing.T, e *env, _ restore.Result) {
				require.Empty(t, e.rules(t), "not authorized again")
				require.Equal(t, 1, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// A decision made after an earlier restore whose rule was
			// revoked since is a new request, and is carried out.
			name: "DecisionAfterAnEarlierRestoreIsCarriedOut",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				first, err := e.restore(t, restore.Request{LedgerID: id, Now: now.Add(-30 * time.Minute)})
				require.NoError(t, err)
				e.revoke(t, first.NewRuleID)
				return e.restore(t, restore.Request{LedgerID: id, DecidedAt: now.Add(-time.Minute)})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				_, ok := e.rule(t, res.NewRuleID)
				require.True(t, ok)
				require.Equal(t, 2, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// A restore record naming no rule (older binaries wrote them
			// for authorizes that created nothing) proves nothing.
			name: "AnEmptyRestoreRecordDoesNotBlock",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				empty := ledger.NewRestore(ledger.Meta{Time: now.Add(-time.Minute), Function: "cli", GroupID: group, Region: region, RuleID: "sgr-old3306"},
					ledger.Restore{LedgerID: id, Rule: perm("3306", "10.0.0.0/8", ""), By: "mallory"})
				require.NoError(t, e.led.Append(t.Context(), empty))
				// Even for a decision older than that record.
				return e.restore(t, restore.Request{LedgerID: id, DecidedAt: now.Add(-time.Hour)})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				_, ok := e.rule(t, res.NewRuleID)
				require.True(t, ok)
			},
		},
		{
			// A failed authorize records nothing and blocks nothing.
			name: "FailedAuthorizeRecordsNothing",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				e.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "ecs", Action: "AuthorizeSecurityGroup", ServerErrorRatio: 1}}})
				_, err := e.restore(t, restore.Request{LedgerID: id})
				require.True(t, errors.Is(err, ecsapi.ErrServer), "%v", err)
				require.Zero(t, e.led.Count(ledger.KindRestore))
				e.faults.Replace(faults.Config{})
				return e.restore(t, restore.Request{LedgerID: id})
			},
			check: func(t *testing.T, e *env, res restore.Result) {
				_, ok := e.rule(t, res.NewRuleID)
				require.True(t, ok)
				require.Equal(t, 1, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// Someone revokes the rule between the authorize and the
			// re-read: the authorize returned, yet no rule is there.
			name: "AuthorizeThatLeavesNoRuleIsAnError",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				m := meddler{Client: e.cl, after: func() {
					for _, r := range e.rules(t) {
						e.revoke(t, r.ID)
					}
				}}
				return restore.Restore(t.Context(), m, e.led, policy.Default(), restore.Request{LedgerID: id, Region: region, By: "alice", Now: now})
			},
			wantErr: restore.ErrNothingCreated,
			check: func(t *testing.T, e *env, res restore.Result) {
				require.Empty(t, res.NewRuleID)
				require.Zero(t, e.led.Count(ledger.KindRestore), "nothing recorded")
			},
		},
		{
			// Someone authorizes the same rule (another description) just
			// before ours: ECS ignores ours as its duplicate, and the rule
			// in the group is not what we wrote (no exemption marker).
			name: "ConcurrentDuplicateIsNotOurs",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "22", "0.0.0.0/0", "debug")
				m := meddler{Client: e.cl, before: func() {
					p := perm("22", "0.0.0.0/0", "bob's")
					p.SecurityGroupRuleId = ""
					require.NoError(t, e.human.Authorize(t.Context(), group, rule.Ingress, []rule.Permission{p}))
				}}
				return restore.Restore(t.Context(), m, e.led, policy.Default(), restore.Request{LedgerID: id, Region: region, Exemption: ex, By: "alice", Now: now})
			},
			wantErr: restore.ErrNothingCreated,
			check: func(t *testing.T, e *env, _ restore.Result) {
				got := e.rules(t)
				require.Len(t, got, 1)
				require.Equal(t, "bob's", got[0].Description)
				require.Zero(t, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// The authorize worked but the group cannot be re-read: not
			// confirmed, not recorded. The next restore then finds the rule
			// in the group and says so.
			name: "UnconfirmedRestoreRecordsNothing",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				m := meddler{Client: e.cl, after: func() {
					e.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "ecs", Action: "DescribeSecurityGroupAttribute", ServerErrorRatio: 1}}})
				}}
				_, err := restore.Restore(t.Context(), m, e.led, policy.Default(), restore.Request{LedgerID: id, Region: region, By: "alice", Now: now})
				require.True(t, errors.Is(err, restore.ErrUnconfirmed), "%v", err)
				require.True(t, errors.Is(err, ecsapi.ErrServer), "the cause is kept: %v", err)
				require.Zero(t, e.led.Count(ledger.KindRestore))
				e.faults.Replace(faults.Config{})
				return e.restore(t, restore.Request{LedgerID: id})
			},
			wantErr: restore.ErrAlreadyPresent,
			check: func(t *testing.T, e *env, res restore.Result) {
				_, ok := e.rule(t, res.PresentRuleID)
				require.True(t, ok)
			},
		},
		{
			// The group was deleted: the read before acting fails, nothing
			// is authorized.
			name: "GroupGone",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: e.backupIn(t, "sg-bp1gone000000000000", "3306", "10.0.0.0/8", "")})
			},
			wantErr: ecsapi.ErrNotFound,
			check: func(t *testing.T, e *env, _ restore.Result) {
				require.Zero(t, e.led.Count(ledger.KindRestore))
			},
		},
		{
			// The ledger record needs the actor: refused before any change.
			name: "NoActorRefusedBeforeAnyChange",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				id := e.backup(t, "3306", "10.0.0.0/8", "")
				return restore.Restore(t.Context(), e.cl, e.led, policy.Default(), restore.Request{LedgerID: id, Region: region, Now: now})
			},
			wantErr: restore.ErrNoActor,
			check: func(t *testing.T, e *env, _ restore.Result) {
				require.Empty(t, e.rules(t))
			},
		},
		{
			name: "WrongRegion",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "3306", "10.0.0.0/8", ""), Region: "cn-beijing"})
			},
			wantErr: restore.ErrWrongRegion,
		},
		{
			name: "ExpiredExemption",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				old := &exemption.Exemption{Owner: "a", Reason: "b", Until: now.Add(-48 * time.Hour)}
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "22", "0.0.0.0/0", ""), Exemption: old})
			},
			wantErr: restore.ErrExemptionExpired,
		},
		{
			name: "DescriptionTooLongWithTheMarker",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: e.backup(t, "22", "0.0.0.0/0", strings.Repeat("x", 500)), Exemption: ex})
			},
			wantErr: restore.ErrUnusableBackup,
			check: func(t *testing.T, e *env, _ restore.Result) {
				require.Empty(t, e.rules(t))
			},
		},
		{
			name: "NotARevocation",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				rec := ledger.NewEvent(ledger.Meta{Time: now, Function: "guard", EventID: "actiontrail/x"}, ledger.Event{Source: "sls"})
				require.NoError(t, e.led.Append(t.Context(), rec))
				return e.restore(t, restore.Request{LedgerID: rec.ID})
			},
			wantErr: restore.ErrNotRevocation,
		},
		{
			name: "NotFound",
			run: func(t *testing.T, e *env) (restore.Result, error) {
				return e.restore(t, restore.Request{LedgerID: ledger.NewID(now)})
			},
			wantErr: restore.ErrNotFound,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.seeded...)
			res, err := tc.run(t, e)
			if tc.wantErr != nil {
				require.True(t, errors.Is(err, tc.wantErr), "err = %v, want %v", err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			if err == nil && !res.DryRun {
				require.NotEmpty(t, res.NewRuleID)
				require.NotEmpty(t, res.RestoreID)
			}
			if tc.check != nil {
				tc.check(t, e, res)
			}
		})
	}
}

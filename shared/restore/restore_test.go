package restore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/restore"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// fakeCloud is a group's rules in memory; Authorize gives each rule an id.
type fakeCloud struct {
	rules map[string][]rule.Rule
	err   error
}

func (f *fakeCloud) Authorize(_ context.Context, gid string, dir rule.Direction, perms []rule.Permission) error {
	if f.err != nil {
		return f.err
	}
	for _, p := range perms {
		r, err := p.Rule(gid, "cn-hangzhou")
		if err != nil {
			return err
		}
		r.ID = "sgr-new"
		f.rules[gid] = append(f.rules[gid], r)
	}
	return nil
}

func (f *fakeCloud) DescribeRules(_ context.Context, gid string) (rule.Attribute, error) {
	return rule.Attribute{GroupID: gid, Rules: f.rules[gid]}, nil
}

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func backup(t *testing.T, l *ledgertest.Mem, port, cidr, desc string) string {
	t.Helper()
	rec := ledger.NewRevocation(ledger.Meta{Time: now.Add(-time.Hour), Function: "guard", GroupID: "sg-1", Region: "cn-hangzhou", RuleID: "sgr-old" + port},
		ledger.Revocation{Rule: rule.Permission{SecurityGroupRuleId: "sgr-old" + port, Direction: "ingress", IpProtocol: "tcp", PortRange: port + "/" + port,
			SourceCidrIp: cidr, Policy: "accept", Priority: "5", NicType: "intranet", Description: desc}, Reason: "test"})
	require.NoError(t, l.Append(t.Context(), rec))
	return rec.ID
}

func TestRestore(t *testing.T) {
	pol := policy.Default()
	ex := &exemption.Exemption{Owner: "alice", Reason: "vendor", Until: now.Add(48 * time.Hour)}
	cases := []struct {
		name string
		// setup returns the ledger id to restore
		setup   func(t *testing.T, l *ledgertest.Mem) string
		req     func(id string) restore.Request
		wantErr error
		check   func(t *testing.T, l *ledgertest.Mem, c *fakeCloud, res restore.Result)
	}{
		{
			// The guard would close an exposure again at once: refused.
			name:  "ExposureWithoutExemptionRefused",
			setup: func(t *testing.T, l *ledgertest.Mem) string { return backup(t, l, "22", "0.0.0.0/0", "debug") },
			req: func(id string) restore.Request {
				return restore.Request{LedgerID: id, Region: "cn-hangzhou", By: "alice", Now: now}
			},
			wantErr: restore.ErrExposure,
			check: func(t *testing.T, l *ledgertest.Mem, c *fakeCloud, _ restore.Result) {
				require.Empty(t, c.rules["sg-1"], "nothing authorized")
				require.Zero(t, l.Count(ledger.KindRestore))
			},
		},
		{
			// Exactly as backed up, plus the exemption marker; recorded.
			name:  "ExposureWithExemptionRestoredExactly",
			setup: func(t *testing.T, l *ledgertest.Mem) string { return backup(t, l, "22", "0.0.0.0/0", "debug") },
			req: func(id string) restore.Request {
				return restore.Request{LedgerID: id, Region: "cn-hangzhou", Exemption: ex, By: "alice", Now: now}
			},
			check: func(t *testing.T, l *ledgertest.Mem, c *fakeCloud, res restore.Result) {
				require.Len(t, c.rules["sg-1"], 1)
				r := c.rules["sg-1"][0]
				require.Equal(t, 5, r.Priority)
				require.Equal(t, "0.0.0.0/0", r.Peer.String())
				require.True(t, strings.HasPrefix(r.Description, "debug [porthygiene-exempt owner=alice"), r.Description)
				require.Equal(t, "sgr-new", res.NewRuleID)
				require.Equal(t, 1, l.Count(ledger.KindRestore))
			},
		},
		{
			// The rule was closed because its exemption expired: the new
			// marker replaces the old one instead of being shadowed by it.
			name: "ReplacesAnExpiredMarker",
			setup: func(t *testing.T, l *ledgertest.Mem) string {
				return backup(t, l, "22", "0.0.0.0/0", `bastion [porthygiene-exempt owner=ops until=2026-01-01 reason="old"]`)
			},
			req: func(id string) restore.Request {
				return restore.Request{LedgerID: id, Region: "cn-hangzhou", Exemption: ex, By: "alice", Now: now}
			},
			check: func(t *testing.T, l *ledgertest.Mem, c *fakeCloud, res restore.Result) {
				require.Len(t, c.rules["sg-1"], 1)
				d := c.rules["sg-1"][0].Description
				require.True(t, strings.HasPrefix(d, "bastion [porthygiene-exempt owner=alice"), d)
				require.NotContains(t, d, "owner=ops")
			},
		},
		{
			// A private source is no exposure: no exemption needed.
			name:  "PrivateRuleNeedsNoExemption",
			setup: func(t *testing.T, l *ledgertest.Mem) string { return backup(t, l, "3306", "10.0.0.0/8", "") },
			req: func(id string) restore.Request {
				return restore.Request{LedgerID: id, Region: "cn-hangzhou", By: "alice", Now: now}
			},
			check: func(t *testing.T, l *ledgertest.Mem, c *fakeCloud, _ restore.Result) {
				require.Len(t, c.rules["sg-1"], 1)
			},
		},
		{
			name:  "DryRunChangesNothing",
			setup: func(t *testing.T, l *ledgertest.Mem) string { return backup(t, l, "3306", "10.0.0.0/8", "") },
			req: func(id string) restore.Request {
				return restore.Request{LedgerID: id, Region: "cn-hangzhou", By: "alice", DryRun: true, Now: now}
			},
			check: func(t *testing.T, l *ledgertest.Mem, c *fakeCloud, res restore.Result) {
				require.Empty(t, c.rules["sg-1"])
				require.Zero(t, l.Count(ledger.KindRestore))
				require.True(t, res.DryRun)
			},
		},
		{
			// One rule id is restored once.
			name: "SecondRestoreRefused",
			setup: func(t *testing.T, l *ledgertest.Mem) string {
				id := backup(t, l, "3306", "10.0.0.0/8", "")
				_, err := restore.Restore(t.Context(), &fakeCloud{rules: map[string][]rule.Rule{}}, l, policy.Default(), restore.Request{LedgerID: id, Region: "cn-hangzhou", By: "alice", Now: now})
				require.NoError(t, err)
				return id
			},
			req: func(id string) restore.Request {
				return restore.Request{LedgerID: id, Region: "cn-hangzhou", By: "alice", Now: now}
			},
			wantErr: restore.ErrAlreadyRestored,
		},
		{
			// The ledger record needs the actor: refused before any change.
			name:    "NoActorRefusedBeforeAnyChange",
			setup:   func(t *testing.T, l *ledgertest.Mem) string { return backup(t, l, "3306", "10.0.0.0/8", "") },
			req:     func(id string) restore.Request { return restore.Request{LedgerID: id, Region: "cn-hangzhou", Now: now} },
			wantErr: restore.ErrNoActor,
			check: func(t *testing.T, l *ledgertest.Mem, c *fakeCloud, _ restore.Result) {
				require.Empty(t, c.rules["sg-1"])
			},
		},
		{
			name:  "WrongRegion",
			setup: func(t *testing.T, l *ledgertest.Mem) string { return backup(t, l, "3306", "10.0.0.0/8", "") },
			req: func(id string) restore.Request {
				return restore.Request{LedgerID: id, Region: "cn-beijing", By: "alice", Now: now}
			},
			wantErr: restore.ErrWrongRegion,
		},
		{
			name:  "ExpiredExemption",
			setup: func(t *testing.T, l *ledgertest.Mem) string { return backup(t, l, "22", "0.0.0.0/0", "") },
			req: func(id string) restore.Request {
				old := &exemption.Exemption{Owner: "a", Reason: "b", Until: now.Add(-48 * time.Hour)}
				return restore.Request{LedgerID: id, Region: "cn-hangzhou", Exemption: old, By: "alice", Now: now}
			},
			wantErr: restore.ErrExemptionExpired,
		},
		{
			name: "NotARevocation",
			setup: func(t *testing.T, l *ledgertest.Mem) string {
				rec := ledger.NewEvent(ledger.Meta{Time: now, Function: "guard", EventID: "actiontrail/x"}, ledger.Event{Source: "sls"})
				require.NoError(t, l.Append(t.Context(), rec))
				return rec.ID
			},
			req: func(id string) restore.Request {
				return restore.Request{LedgerID: id, Region: "cn-hangzhou", By: "alice", Now: now}
			},
			wantErr: restore.ErrNotRevocation,
		},
		{
			name:  "NotFound",
			setup: func(t *testing.T, l *ledgertest.Mem) string { return ledger.NewID(now) },
			req: func(id string) restore.Request {
				return restore.Request{LedgerID: id, Region: "cn-hangzhou", By: "alice", Now: now}
			},
			wantErr: restore.ErrNotFound,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := &ledgertest.Mem{}
			c := &fakeCloud{rules: map[string][]rule.Rule{}}
			id := tc.setup(t, l)
			res, err := restore.Restore(t.Context(), c, l, pol, tc.req(id))
			if tc.wantErr != nil {
				require.True(t, errors.Is(err, tc.wantErr), "err = %v, want %v", err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			if tc.check != nil {
				tc.check(t, l, c, res)
			}
		})
	}
}

package guard_test

// Tests of the guard's performance changes with an in-memory cloud: the
// sweep's concurrent workers keep the per-run cap exact, the sweep uses the
// listing's tags, and an event reads a group's tags only when the group has
// something to report.

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/guard"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// paceCloud is an in-memory region: groups with rules and tags. It counts
// reads by kind, because how many calls the guard makes is what is tested.
type paceCloud struct {
	mu     sync.Mutex
	rules  map[string][]rule.Permission
	tags   map[string]map[string]string
	reads  map[string]int
	revoke map[string]int // rule id → times revoked
}

func newPaceCloud() *paceCloud {
	return &paceCloud{rules: map[string][]rule.Permission{}, tags: map[string]map[string]string{},
		reads: map[string]int{}, revoke: map[string]int{}}
}

func (c *paceCloud) add(gid string, tags map[string]string, perms ...rule.Permission) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range perms {
		perms[i].SecurityGroupRuleId = fmt.Sprintf("sgr-%s-%d", strings.TrimPrefix(gid, "sg-"), i)
		perms[i].Direction = "ingress"
	}
	c.rules[gid] = perms
	c.tags[gid] = tags
}

func (c *paceCloud) count(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[kind]
}

func (c *paceCloud) DescribeRules(_ context.Context, gid string) (rule.Attribute, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads["describe"]++
	perms, ok := c.rules[gid]
	if !ok {
		return rule.Attribute{}, ecsapi.ErrNotFound
	}
	attr := rule.Attribute{GroupID: gid, Region: "cn-hangzhou", Name: gid}
	for _, p := range perms {
		r, err := p.Rule(gid, "cn-hangzhou")
		if err != nil {
			return rule.Attribute{}, err
		}
		attr.Rules = append(attr.Rules, r)
	}
	return attr, nil
}

func (c *paceCloud) GroupTags(_ context.Context, gid string) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads["tags"]++
	return c.tags[gid], nil
}

func (c *paceCloud) PrefixListEntries(context.Context, string) ([]netip.Prefix, error) {
	return nil, ecsapi.ErrNotFound
}

func (c *paceCloud) RevokeByID(_ context.Context, gid string, _ rule.Direction, ids []string) (ecsapi.RevokeResult, error) {
	time.Sleep(time.Millisecond) // let the other workers run meanwhile
	c.mu.Lock()
	defer c.mu.Unlock()
	var res ecsapi.RevokeResult
	for _, id := range ids {
		c.revoke[id]++
		i := slices.IndexFunc(c.rules[gid], func(p rule.Permission) bool { return p.SecurityGroupRuleId == id })
		if i < 0 {
			res.Gone = append(res.Gone, id)
			continue
		}
		c.rules[gid] = slices.Delete(c.rules[gid], i, i+1)
		res.Revoked = append(res.Revoked, id)
	}
	return res, nil
}

func (c *paceCloud) Authorize(context.Context, string, rule.Direction, []rule.Permission) error {
	return nil
}

func (c *paceCloud) ListGroups(context.Context, ecsapi.ListOptions) ([]ecsapi.Group, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads["list"]++
	var out []ecsapi.Group
	for gid, tags := range c.tags {
		t := map[string]string{}
		for k, v := range tags {
			t[k] = v
		}
		out = append(out, ecsapi.Group{ID: gid, Region: "cn-hangzhou", Tags: t})
	}
	slices.SortFunc(out, func(a, b ecsapi.Group) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

var (
	sshWorld = rule.Permission{IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0", Policy: "accept", Priority: "1"}
	httpsAny = rule.Permission{IpProtocol: "TCP", PortRange: "443/443", SourceCidrIp: "0.0.0.0/0", Policy: "accept", Priority: "1"}
	sshVPC   = rule.Permission{IpProtocol: "TCP", PortRange: "22/22", SourceCidrIp: "10.0.0.0/16", Policy: "accept", Priority: "1"}
)

var paceNow = time.Date(2026, 1, 5, 3, 13, 0, 0, time.UTC)

func newPaceGuard(t *testing.T, workers int) *guard.Guard {
	t.Helper()
	pol := policy.Default()
	pol.Modes.Guard = policy.ModeEnforce
	g, err := guard.New(pol, guard.Config{RoleName: "porthygiene-fc-role", Regions: []string{"cn-hangzhou"},
		Logger: slog.New(slog.DiscardHandler), Wall: func() time.Time { return paceNow }, SweepWorkers: workers})
	require.NoError(t, err)
	return g
}

func paceDeps(c *paceCloud, l *ledgertest.Mem) guard.Deps {
	return guard.Deps{Cloud: func(string) (guard.Cloud, error) { return c, nil }, Ledger: l, Notifier: &countingNotifier{}}
}

func sweepPayload(t *testing.T) []byte {
	t.Helper()
	p, err := trigger.EncodeTimer("sweep", paceNow, map[string]string{"mode": "sweep"})
	require.NoError(t, err)
	return p
}

func TestSweepWorkersKeepTheCapExact(t *testing.T) {
	c, l := newPaceCloud(), &ledgertest.Mem{}
	const groups = 60
	for i := range groups {
		c.add(fmt.Sprintf("sg-cap%03d", i), map[string]string{}, sshWorld, httpsAny)
	}
	g := newPaceGuard(t, 8)
	res, err := g.Handle(t.Context(), paceDeps(c, l), sweepPayload(t))
	require.NoError(t, err)

	limit := policy.Default().MaxChangesPerRun
	require.Len(t, res.Groups, groups)
	require.Len(t, res.Revoked, limit, "exactly the cap is revoked, however many workers")
	require.Equal(t, groups-limit, res.Capped)
	require.Equal(t, limit, l.Count(ledger.KindRevocation), "one backup per revoke")
	for id, n := range c.revoke {
		require.Equal(t, 1, n, "rule %s revoked %d times", id, n)
	}
	require.Zero(t, c.count("tags"), "the sweep uses the listing's tags")
}

func TestSweepUsesTheListingsTags(t *testing.T) {
	c, l := newPaceCloud(), &ledgertest.Mem{}
	c.add("sg-exempt", map[string]string{"porthygiene-exempt": "owner=ops;reason=bastion;until=2026-02-01"}, sshWorld)
	c.add("sg-open", map[string]string{"team": "web"}, sshWorld)
	res, err := newPaceGuard(t, 4).Handle(t.Context(), paceDeps(c, l), sweepPayload(t))
	require.NoError(t, err)
	require.Equal(t, []string{"sgr-open-0"}, res.Revoked, "the exempt group's rule stays")
	require.Zero(t, c.count("tags"))
	require.Equal(t, 2, c.count("describe"))
}

// authorizeEvent is the sample ActionTrail event, naming group gid.
func authorizeEvent(t *testing.T, gid, eventID string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "eventbridge-authorize-ssh-world.json"))
	require.NoError(t, err)
	s := strings.ReplaceAll(string(b), "sg-bp1fg655nh68xyz9i6uv", gid)
	return []byte(strings.ReplaceAll(s, "3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E01", eventID))
}

// The EventBridge fast path reads a group's tags (and its owners'
// decisions) beside its rules, not after them: one round trip before the
// plan instead of two, at the price of a tag read for a group that turns
// out clean. What the tags decide is unchanged.
func TestEventBridgeEventReadsTagsBesideTheRules(t *testing.T) {
	c, l := newPaceCloud(), &ledgertest.Mem{}
	c.add("sg-clean", map[string]string{"team": "web"}, sshVPC, httpsAny)
	c.add("sg-exempt", map[string]string{"porthygiene-exempt": "owner=ops;reason=bastion;until=2026-02-01"}, sshWorld)
	c.add("sg-open", map[string]string{"team": "web", "porthygiene-at": "13800000000"}, sshWorld, httpsAny)
	g := newPaceGuard(t, 0)
	deps := paceDeps(c, l)

	// A clean group: no finding; its tags were read ahead all the same.
	res, err := g.Handle(t.Context(), deps, authorizeEvent(t, "sg-clean", "EV-CLEAN"))
	require.NoError(t, err)
	require.Zero(t, res.Findings)
	require.Equal(t, 1, c.count("tags"))

	// A finding that a tag exempts: the tags are read, and the rule stays.
	res, err = g.Handle(t.Context(), deps, authorizeEvent(t, "sg-exempt", "EV-EXEMPT"))
	require.NoError(t, err)
	require.Zero(t, res.Findings)
	require.Empty(t, res.Revoked)
	require.Equal(t, 2, c.count("tags"))

	// A real finding: revoked, with the owner routing from the tags.
	notes := &countingNotifier{}
	deps.Notifier = notes
	res, err = g.Handle(t.Context(), deps, authorizeEvent(t, "sg-open", "EV-OPEN"))
	require.NoError(t, err)
	require.Equal(t, []string{"sgr-open-0"}, res.Revoked)
	require.Equal(t, 3, c.count("tags"), "one read per event, none twice")
	require.Equal(t, 1, notes.events)
}

func TestDuplicateEventBridgeEventIsIgnoredDespiteTheReadAhead(t *testing.T) {
	c, l := newPaceCloud(), &ledgertest.Mem{}
	c.add("sg-open", map[string]string{"team": "web"}, sshWorld)
	g := newPaceGuard(t, 0)
	deps := paceDeps(c, l)
	res, err := g.Handle(t.Context(), deps, authorizeEvent(t, "sg-open", "EV-DUP"))
	require.NoError(t, err)
	require.Equal(t, []string{"sgr-open-0"}, res.Revoked)

	// The group is exposed again, by a change this event does not describe:
	// the duplicate delivery is ignored (the rules read ahead are dropped),
	// and the change's own event or the sweep handles it.
	c.add("sg-open", map[string]string{"team": "web"}, sshWorld)
	res, err = g.Handle(t.Context(), deps, authorizeEvent(t, "sg-open", "EV-DUP"))
	require.NoError(t, err)
	require.Empty(t, res.Revoked)
	require.Len(t, res.Ignored, 1)
	require.Contains(t, res.Ignored[0], "already handled")
}

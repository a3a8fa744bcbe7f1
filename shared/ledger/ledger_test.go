package ledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/sls"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/rule"
)

type env struct {
	ledger *ledger.Ledger
	srv    *sls.Server
	stats  *stats.Stats
}

// newEnv starts localcloud's SLS emulator and returns a ledger on it, written
// with the real SDK using STS credentials of the functions' role.
func newEnv(t *testing.T) env {
	t.Helper()
	lc := ledgertest.OnLocalcloud(t)
	require.NoError(t, lc.Ledger.Setup(t.Context(), 30, 2), "setup is idempotent")
	return env{ledger: lc.Ledger, srv: lc.Server, stats: lc.Stats}
}

// store is what a Ledger and ledgertest.Mem both are: the query tests run on
// both, so the fake that other packages' tests use selects what the ledger
// selects.
type store interface {
	Append(ctx context.Context, recs ...ledger.Record) error
	Get(ctx context.Context, id string) (ledger.Record, error)
	Query(ctx context.Context, f ledger.Filter) ([]ledger.Record, error)
	SeenEvent(ctx context.Context, eventID string) (bool, error)
}

// eachStore runs test on the ledger on localcloud and on ledgertest.Mem.
func eachStore(t *testing.T, test func(t *testing.T, s store)) {
	t.Run("Localcloud", func(t *testing.T) { test(t, newEnv(t).ledger) })
	t.Run("Mem", func(t *testing.T) { test(t, &ledgertest.Mem{}) })
}

var t0 = time.Date(2026, 1, 5, 3, 12, 44, 123e6, time.UTC)

func perm(port string) rule.Permission {
	return rule.Permission{Direction: "ingress", IpProtocol: "tcp", PortRange: port, SourceCidrIp: "0.0.0.0/0", Policy: "accept", Priority: "1", NicType: "intranet"}
}

func meta(at time.Time, group, ruleID, eventID string) ledger.Meta {
	return ledger.Meta{Time: at, Function: "guard", GroupID: group, Region: "cn-hangzhou", RuleID: ruleID, EventID: eventID}
}

// oneOfEach returns a valid record of every kind.
func oneOfEach(at time.Time) []ledger.Record {
	m := meta(at, "sg-bp1fg655nh68xyz9i6uv", "sgr-bp1ssh0000000000001", "actiontrail/3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E01")
	p := perm("22/22")
	p.SecurityGroupRuleId = "sgr-bp1ssh0000000000001"
	ev := ledger.EventContext{Source: "eventbridge", EventID: "3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E01", EventName: "AuthorizeSecurityGroup",
		EventTime: at.Truncate(time.Second), RequestID: "8C1B5E2A-3D4F-4A6B-8C9D-0E1F2A3B4C01", SourceIP: "198.51.100.23",
		ActorType: "ram-user", ActorUserName: "alice", ActorAccessKeyID: "LTAI5tFAKEalice0000001"}
	prior := ledger.NewID(at.Add(-time.Hour))
	return []ledger.Record{
		ledger.NewFinding(m, ledger.Finding{Rule: p, Reason: "tcp/22 open to 0.0.0.0/0", Mode: "enforce", Action: "revoke", Event: ev}),
		ledger.NewRevocation(m, ledger.Revocation{Rule: p, Reason: "tcp/22 open to 0.0.0.0/0", Event: ev, OpenedBy: "alice", BackupID: prior}),
		ledger.NewBackup(m, ledger.Revocation{Rule: p, Reason: "tcp/22 open to 0.0.0.0/0", Event: ev}),
		ledger.NewRestore(m, ledger.Restore{LedgerID: prior, Rule: p, Exemption: &ledger.Exemption{Until: at.Add(720 * time.Hour), Owner: "alice", Reason: "migration"}, By: "ops"}),
		ledger.NewEvent(m, ledger.Event{Source: "eventbridge", EventName: "AuthorizeSecurityGroup", EventTime: at.Truncate(time.Second), Outcome: "handled"}),
		ledger.NewAnnouncement(m, ledger.Announcement{Rule: p, Reason: "unused", EligibleAt: at.Add(168 * time.Hour)}),
		ledger.NewClosure(m, ledger.Closure{AnnouncementID: prior, Rule: p, Reason: "unused"}),
		ledger.NewDecision(m, ledger.Decision{Action: "exempt", Target: prior, By: "alice", Until: at.Add(720 * time.Hour), Via: "dingtalk"}),
		ledger.NewExemptionNotice(m, ledger.ExemptionNotice{Source: "tag", Owner: "alice", Asked: at.Add(720 * time.Hour), Until: at.Add(720 * time.Hour), WrittenBy: ledger.Unknown, Stage: "announced"}),
		ledger.NewNotification(m, ledger.Notification{Robot: "ops", Title: "revoked", Refs: []string{prior}, Status: "sent", Attempts: 1}),
		ledger.NewOutbox(m, ledger.Outbox{Robot: "ops", Title: "digest", Markdown: "### revoked", Refs: []string{prior}}),
		ledger.NewReplication(m, ledger.Replication{Set: "web", Primary: "cn-hangzhou/sg-web", Action: "authorized", Rules: []rule.Permission{{Direction: "ingress", IpProtocol: "tcp", PortRange: "8080/8080", SourceCidrIp: "10.0.0.0/8"}}}),
	}
}

func TestRoundTripEveryKind(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	recs := oneOfEach(t0)
	require.Len(t, recs, len(ledger.Kinds))
	require.NoError(t, e.ledger.Append(ctx, recs...))
	require.Equal(t, 1, e.stats.Snapshot().Count("sls", "PutLogs", ""), "one PutLogs per Append")

	for _, want := range recs {
		t.Run(string(want.Kind), func(t *testing.T) {
			got, err := e.ledger.Get(ctx, want.ID)
			require.NoError(t, err)
			requireSameRecord(t, want, got)
			got, err = e.ledger.Get(ctx, strings.ToLower(want.ID))
			require.NoError(t, err, "ids are case-insensitive")
			require.Equal(t, want.ID, got.ID)
		})
	}
	all, err := e.ledger.Query(ctx, ledger.Filter{})
	require.NoError(t, err)
	require.Len(t, all, len(recs))

	rev, err := e.ledger.Get(ctx, recs[1].ID)
	require.NoError(t, err)
	b, err := rev.Revocation()
	require.NoError(t, err)
	require.Equal(t, "22/22", b.Rule.PortRange)
	require.Equal(t, "alice", b.Event.ActorUserName)
	_, err = rev.Restore()
	require.Error(t, err, "wrong accessor")
}

func requireSameRecord(t *testing.T, want, got ledger.Record) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.Kind, got.Kind)
	require.Equal(t, want.V, got.V)
	require.Equal(t, want.Meta, got.Meta)
	require.JSONEq(t, string(want.Body), string(got.Body))
}

func TestGetNotFound(t *testing.T) { eachStore(t, testGetNotFound) }

func testGetNotFound(t *testing.T, s store) {
	_, err := s.Get(t.Context(), ledger.NewID(t0))
	require.ErrorIs(t, err, ledger.ErrNotFound)
	_, err = s.Get(t.Context(), "L123")
	require.ErrorIs(t, err, ledger.ErrMalformed)
}

func TestQueryFilters(t *testing.T) { eachStore(t, testQueryFilters) }

func testQueryFilters(t *testing.T, s store) {
	ctx := t.Context()
	var recs []ledger.Record
	// 3 groups × 2 rules × (revocation + restore) at one-minute steps, plus
	// event records; more than one page of results in total.
	at := t0
	for g := range 3 {
		group := "sg-" + string(rune('a'+g))
		for r := range 2 {
			ruleID := group + "-r" + string(rune('0'+r))
			p := perm("22/22")
			p.SecurityGroupRuleId = ruleID
			rev := ledger.NewRevocation(meta(at, group, ruleID, ""), ledger.Revocation{Rule: p, Reason: "open"})
			at = at.Add(time.Minute)
			res := ledger.NewRestore(meta(at, group, ruleID, ""), ledger.Restore{LedgerID: rev.ID, Rule: p, By: "ops"})
			at = at.Add(time.Minute)
			recs = append(recs, rev, res)
		}
	}
	for i := range 110 {
		id := "actiontrail/E-" + string(rune('A'+i/26)) + string(rune('A'+i%26))
		recs = append(recs, ledger.NewEvent(meta(at, "", "", id), ledger.Event{Source: "sls"}))
		at = at.Add(time.Second)
	}
	require.NoError(t, s.Append(ctx, recs...))

	count := func(f ledger.Filter) []ledger.Record {
		t.Helper()
		got, err := s.Query(ctx, f)
		require.NoError(t, err)
		return got
	}
	require.Len(t, count(ledger.Filter{}), 12+110, "paged past 100")
	require.Len(t, count(ledger.Filter{Kinds: []ledger.Kind{ledger.KindRevocation}}), 6)
	require.Len(t, count(ledger.Filter{Kinds: []ledger.Kind{ledger.KindRevocation, ledger.KindRestore}}), 12)

	got := count(ledger.Filter{Kinds: []ledger.Kind{ledger.KindRevocation}, GroupID: "sg-b"})
	require.Len(t, got, 2)
	for _, r := range got {
		require.Equal(t, "sg-b", r.GroupID)
		require.Equal(t, ledger.KindRevocation, r.Kind)
	}
	got = count(ledger.Filter{RuleID: "sg-c-r1"})
	require.Len(t, got, 2)
	require.Equal(t, ledger.KindRevocation, got[0].Kind, "sorted by time: revocation, then restore")
	require.Equal(t, ledger.KindRestore, got[1].Kind)

	// "sg-a" must not match "sg-a-r0"-like neighbours or other groups.
	require.Len(t, count(ledger.Filter{GroupID: "sg-a"}), 4)
	require.Empty(t, count(ledger.Filter{GroupID: "SG-A"}), "exact, case-sensitive match")

	// Time window: [Since, Until).
	got = count(ledger.Filter{Since: t0.Add(2 * time.Minute), Until: t0.Add(4 * time.Minute)})
	require.Len(t, got, 2)
	require.Equal(t, recs[2].ID, got[0].ID)
	require.Equal(t, recs[3].ID, got[1].ID)

	// Limit and Newest.
	got = count(ledger.Filter{Kinds: []ledger.Kind{ledger.KindEvent}, Limit: 5})
	require.Len(t, got, 5)
	require.Equal(t, recs[12].ID, got[0].ID, "oldest first")
	got = count(ledger.Filter{Kinds: []ledger.Kind{ledger.KindEvent}, Limit: 3, Newest: true})
	require.Len(t, got, 3)
	require.Equal(t, recs[len(recs)-1].ID, got[0].ID, "newest first")
	require.Equal(t, recs[len(recs)-3].ID, got[2].ID)

	got = count(ledger.Filter{EventID: "actiontrail/E-BC"})
	require.Len(t, got, 1)
	require.Equal(t, "actiontrail/E-BC", got[0].EventID)
}

func TestSeenEvent(t *testing.T) { eachStore(t, testSeenEvent) }

func testSeenEvent(t *testing.T, s store) {
	ctx := t.Context()
	key := "actiontrail/3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E01"
	seen, err := s.SeenEvent(ctx, key)
	require.NoError(t, err)
	require.False(t, seen)

	// A finding with the same event id is not an event record.
	require.NoError(t, s.Append(ctx, oneOfEach(t0)[0]))
	seen, err = s.SeenEvent(ctx, key)
	require.NoError(t, err)
	require.False(t, seen)

	// Far in the virtual future (localcloud's clock runs ahead).
	require.NoError(t, s.Append(ctx, ledger.NewEvent(meta(t0.Add(90*24*time.Hour), "", "", key), ledger.Event{Source: "eventbridge"})))
	seen, err = s.SeenEvent(ctx, key)
	require.NoError(t, err)
	require.True(t, seen)
	seen, err = s.SeenEvent(ctx, key+"X")
	require.NoError(t, err)
	require.False(t, seen, "prefixes do not match")
	_, err = s.SeenEvent(ctx, "")
	require.Error(t, err)
}

func TestDuplicateWritesReadOnce(t *testing.T) { eachStore(t, testDuplicateWritesReadOnce) }

func testDuplicateWritesReadOnce(t *testing.T, s store) {
	ctx := t.Context()
	r := oneOfEach(t0)[1]
	// The SDK may store a PutLogs twice after a 5xx: readers see one record.
	require.NoError(t, s.Append(ctx, r))
	require.NoError(t, s.Append(ctx, r))
	got, err := s.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindRevocation}})
	require.NoError(t, err)
	require.Len(t, got, 1)
}

func TestAppendValidatesAll(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	good := oneOfEach(t0)[0]
	bad := ledger.NewRevocation(meta(t0, "sg-1", "", ""), ledger.Revocation{Rule: perm("22/22")})
	err := e.ledger.Append(ctx, good, bad)
	require.ErrorIs(t, err, ledger.ErrMalformed)
	require.Zero(t, e.stats.Snapshot().Count("sls", "PutLogs", ""), "nothing written")
}

// TestForeignVersionIsAnError writes a record of a future schema version
// directly into the logstore: reading it must fail loudly, naming it.
func TestForeignVersionIsAnError(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	r := oneOfEach(t0)[1]
	require.NoError(t, e.ledger.Append(ctx, r))
	future := ledger.NewID(t0.Add(time.Second))
	_, err := e.srv.Append(ledgertest.Project, ledgertest.Logstore, sls.LogGroupInput{Topic: ledger.Topic, Logs: []sls.Log{{
		Time: t0.Add(time.Second),
		Contents: [][2]string{{"id", future}, {"kind", "revocation"}, {"v", "2"}, {"time", t0.Add(time.Second).Format(time.RFC3339Nano)},
			{"function", "guard"}, {"groupId", r.GroupID}, {"region", r.Region}, {"ruleId", r.RuleID}, {"eventId", ""}, {"body", `{"rules":[]}`}},
	}}})
	require.NoError(t, err)

	_, err = e.ledger.Query(ctx, ledger.Filter{GroupID: r.GroupID})
	require.ErrorIs(t, err, ledger.ErrVersion)
	require.ErrorContains(t, err, future)
	_, err = e.ledger.Get(ctx, future)
	require.ErrorIs(t, err, ledger.ErrVersion)

	unknown := ledger.NewID(t0.Add(2 * time.Second))
	_, err = e.srv.Append(ledgertest.Project, ledgertest.Logstore, sls.LogGroupInput{Logs: []sls.Log{{
		Time:     t0.Add(2 * time.Second),
		Contents: [][2]string{{"id", unknown}, {"kind", "audit"}, {"v", "1"}, {"time", t0.Add(2 * time.Second).Format(time.RFC3339Nano)}, {"body", "{}"}},
	}}})
	require.NoError(t, err)
	_, err = e.ledger.Get(ctx, unknown)
	require.ErrorIs(t, err, ledger.ErrUnknownKind)
}

package ledger

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/rule"
)

var t0 = time.Date(2026, 1, 5, 3, 12, 44, 123456789, time.UTC)

func sshWorld() rule.Permission {
	return rule.Permission{SecurityGroupRuleId: "sgr-bp1ssh0000000000001", Direction: "ingress", IpProtocol: "tcp", PortRange: "22/22",
		SourceCidrIp: "0.0.0.0/0", Policy: "accept", Priority: "1", NicType: "intranet", Description: "temp ssh"}
}

func meta() Meta {
	return Meta{Time: t0, Function: "guard", GroupID: "sg-bp1fg655nh68xyz9i6uv", Region: "cn-hangzhou", RuleID: "sgr-bp1ssh0000000000001",
		EventID: "actiontrail/3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E01"}
}

// sampleRecords holds one valid record of every kind.
func sampleRecords() []Record {
	m := meta()
	ev := EventContext{Source: "eventbridge", EventID: "3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E01", EventName: "AuthorizeSecurityGroup",
		EventTime: t0.Add(-time.Second).Truncate(time.Second), RequestID: "8C1B5E2A-3D4F-4A6B-8C9D-0E1F2A3B4C01", SourceIP: "198.51.100.23",
		ActorType: "ram-user", ActorUserName: "alice", ActorAccessKeyID: "LTAI5tFAKEalice0000001"}
	noRule := m
	noRule.RuleID = ""
	return []Record{
		NewFinding(m, Finding{Rule: sshWorld(), Reason: "tcp/22 open to 0.0.0.0/0", Mode: "enforce", Action: "revoke", Event: ev}),
		NewRevocation(m, Revocation{Rule: sshWorld(), Reason: "tcp/22 open to 0.0.0.0/0", FindingID: "L01KE62932V8H74GQT9",
			Replacement: []rule.Permission{{Direction: "ingress", IpProtocol: "tcp", PortRange: "22/22", SourcePrefixListId: "pl-corp"}}, Event: ev,
			OpenedBy: "alice", BackupID: "L01KE62932V8H74GQT8"}),
		NewBackup(m, Revocation{Rule: sshWorld(), Reason: "tcp/22 open to 0.0.0.0/0", Event: ev}),
		NewRestore(m, Restore{LedgerID: "L01KE62932V8H74GQT9", Rule: sshWorld(), NewRuleID: "sgr-bp1new",
			Exemption: &Exemption{Until: time.Date(2026, 2, 5, 0, 0, 0, 0, time.UTC), Owner: "alice", Reason: "migration"}, By: "ops"}),
		NewEvent(noRule, Event{Source: "eventbridge", EventName: "AuthorizeSecurityGroup", EventTime: t0.Truncate(time.Second), Outcome: "handled"}),
		NewAnnouncement(m, Announcement{Rule: sshWorld(), Reason: "no traffic for 30 days", EligibleAt: t0.Add(7 * 24 * time.Hour), Evidence: "flow logs 2025-12-06..2026-01-05"}),
		NewClosure(m, Closure{AnnouncementID: "L01KE62932V8H74GQT9", Rule: sshWorld(), Reason: "unused"}),
		NewDecision(noRule, Decision{Action: "exempt", Target: "L01KE62932V8H74GQT9", By: "alice", Until: t0.Add(30 * 24 * time.Hour), Via: "dingtalk"}),
		NewExemptionNotice(m, ExemptionNotice{Source: "description", Owner: "alice", Reason: "bastion", Asked: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
			Until: time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC), Cut: true, Ports: []int{22}, WrittenBy: "alice", SelfExempted: true, Stage: "announced"}),
		NewNotification(noRule, Notification{Robot: "ops", Title: "revoked tcp/22", Refs: []string{"L01KE62932V8H74GQT9"}, Status: "sent", Attempts: 1}),
		NewOutbox(noRule, Outbox{Robot: "ops", Title: "digest", Markdown: "### 2 rules revoked", Refs: []string{"L01KE62932V8H74GQT9"}}),
		NewReplication(noRule, Replication{Set: "web", Primary: "cn-hangzhou/sg-web", Action: "authorized", Rules: []rule.Permission{sshWorld()}, Event: ev}),
	}
}

func TestID(t *testing.T) {
	id := NewID(t0)
	require.Len(t, id, 19)
	require.Equal(t, byte('L'), id[0])
	got, err := IDTime(id)
	require.NoError(t, err)
	require.Equal(t, t0.Truncate(time.Millisecond), got)
	require.NotEqual(t, id, NewID(t0), "random part")
	require.Less(t, NewID(t0), NewID(t0.Add(time.Millisecond)), "ids sort by time")

	// A person may type it in lower case, with dashes, I/L for 1 and O for 0.
	typed := strings.ToLower(id[:6]) + "-" + id[6:]
	typed = strings.NewReplacer("1", "l", "0", "o").Replace(typed[:1]) + strings.NewReplacer("1", "I", "0", "O").Replace(typed[1:])
	n, err := NormalizeID(typed)
	require.NoError(t, err)
	require.Equal(t, id, n)

	for _, bad := range []string{"", "L123", "X" + id[1:], id + "0", "L" + strings.Repeat("U", 18)} {
		_, err := NormalizeID(bad)
		require.ErrorIs(t, err, ErrMalformed, bad)
	}
}

func TestEveryKindEncodesAndDecodes(t *testing.T) {
	recs := sampleRecords()
	require.Len(t, recs, len(Kinds), "one sample per kind")
	for _, r := range recs {
		t.Run(string(r.Kind), func(t *testing.T) {
			require.NoError(t, r.Validate())
			c := r.contents()
			require.Equal(t, "1", c["v"])
			require.Equal(t, "2026-01-05T03:12:44.123Z", c["time"])
			// SLS adds its own fields on the way back; they are ignored.
			c["__time__"], c["__topic__"], c["__source__"] = "1767582764", Topic, "10.0.0.1"
			got, err := fromContents(c)
			require.NoError(t, err)
			want := r
			want.err = nil
			require.Equal(t, want, got)
			requireAccessorRoundTrip(t, got)
		})
	}
}

// requireAccessorRoundTrip checks that the typed accessor of r's kind works
// and re-encodes to the same body, and that the others refuse r.
func requireAccessorRoundTrip(t *testing.T, r Record) {
	t.Helper()
	accessors := map[Kind]func() (any, error){
		KindFinding:      func() (any, error) { return r.Finding() },
		KindRevocation:   func() (any, error) { return r.Revocation() },
		KindBackup:       func() (any, error) { return r.Backup() },
		KindExemption:    func() (any, error) { return r.ExemptionNotice() },
		KindRestore:      func() (any, error) { return r.Restore() },
		KindEvent:        func() (any, error) { return r.Event() },
		KindAnnouncement: func() (any, error) { return r.Announcement() },
		KindClosure:      func() (any, error) { return r.Closure() },
		KindDecision:     func() (any, error) { return r.Decision() },
		KindNotification: func() (any, error) { return r.Notification() },
		KindOutbox:       func() (any, error) { return r.Outbox() },
		KindReplication:  func() (any, error) { return r.Replication() },
	}
	require.Len(t, accessors, len(Kinds))
	for k, get := range accessors {
		b, err := get()
		if k != r.Kind {
			require.ErrorContains(t, err, "not a "+string(k))
			continue
		}
		require.NoError(t, err)
		out, err := json.Marshal(b)
		require.NoError(t, err)
		require.JSONEq(t, string(r.Body), string(out))
	}
}

func TestRevocationKeepsBackupExact(t *testing.T) {
	r := sampleRecords()[1]
	got, err := fromContents(r.contents())
	require.NoError(t, err)
	b, err := got.Revocation()
	require.NoError(t, err)
	require.Equal(t, sshWorld(), b.Rule)
	require.Equal(t, "alice", b.Event.ActorUserName)
	require.Equal(t, "LTAI5tFAKEalice0000001", b.Event.ActorAccessKeyID)
	require.Equal(t, "198.51.100.23", b.Event.SourceIP)
	rl, err := b.Rule.Rule(got.GroupID, got.Region)
	require.NoError(t, err)
	require.Equal(t, 22, rl.Ports.From)
}

func TestValidateRejects(t *testing.T) {
	with := func(r Record, edit func(*Record)) Record { edit(&r); return r }
	recs := sampleRecords()
	rev, restore, event := recs[1], recs[3], recs[4] // recs[2] is the backup
	badRule := sshWorld()
	badRule.PortRange = "22-22"
	cases := map[string]struct {
		r    Record
		want error
		msg  string
	}{
		"ZeroTime":          {NewEvent(Meta{Function: "guard", EventID: "e"}, Event{Source: "sls"}), ErrMalformed, "time is required"},
		"NoFunction":        {with(event, func(r *Record) { r.Function = "" }), ErrMalformed, "function is required"},
		"IDTimeMismatch":    {with(event, func(r *Record) { r.Time = r.Time.Add(time.Second) }), ErrMalformed, "differs from record time"},
		"IDNotCanonical":    {with(event, func(r *Record) { r.ID = strings.ToLower(r.ID) }), ErrMalformed, "not canonical"},
		"Version":           {with(event, func(r *Record) { r.V = "2" }), ErrVersion, `"2"`},
		"UnknownKind":       {with(event, func(r *Record) { r.Kind = "audit" }), ErrUnknownKind, `"audit"`},
		"BodyOfOtherKind":   {with(event, func(r *Record) { r.Body = rev.Body }), ErrMalformed, "unknown field"},
		"RevocationNoRule":  {with(rev, func(r *Record) { r.RuleID = "" }), ErrMalformed, "ruleId is required"},
		"RevocationRuleIDs": {with(rev, func(r *Record) { r.RuleID = "sgr-other" }), ErrMalformed, "differs from ruleId"},
		"RevocationBadBackup": {NewRevocation(meta(), Revocation{Rule: badRule, Reason: "x"}), ErrMalformed,
			"could not be restored"},
		"RevocationNoDirection": {NewRevocation(meta(), Revocation{Rule: rule.Permission{IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0"}}),
			ErrMalformed, "want ingress or egress"},
		"RestoreNoBy":       {NewRestore(meta(), Restore{LedgerID: "L01KE62932V8H74GQT9"}), ErrMalformed, "body.by is required"},
		"RestoreBadLedger":  {NewRestore(meta(), Restore{LedgerID: "nope", By: "ops"}), ErrMalformed, "body.ledgerId"},
		"RestoreNoGroup":    {with(restore, func(r *Record) { r.GroupID = "" }), ErrMalformed, "groupId is required"},
		"EventNoID":         {with(event, func(r *Record) { r.EventID = "" }), ErrMalformed, "eventId is required"},
		"DecisionNoTarget":  {NewDecision(meta(), Decision{Action: "exempt", By: "alice"}), ErrMalformed, "body.target is required"},
		"UnencodableBody":   {NewDecision(meta(), Decision{Action: "exempt", Target: "x", By: "a", Until: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}), ErrMalformed, "encode body"},
		"NotificationRobot": {NewNotification(meta(), Notification{Status: "sent"}), ErrMalformed, "body.robot is required"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.r.Validate()
			require.ErrorIs(t, err, c.want)
			require.ErrorContains(t, err, c.msg)
		})
	}
}

func TestFromContentsRejects(t *testing.T) {
	good := sampleRecords()[1].contents()
	with := func(k, v string) map[string]string {
		c := map[string]string{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == "<delete>" {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	cases := map[string]struct {
		c    map[string]string
		want error
		msg  string
	}{
		"FutureVersion":  {with("v", "2"), ErrVersion, `"2"`},
		"NoVersion":      {with("v", "<delete>"), ErrMalformed, "no version"},
		"UnknownKind":    {with("kind", "audit"), ErrUnknownKind, `"audit"`},
		"BadID":          {with("id", "L123"), ErrMalformed, "invalid id"},
		"BadTime":        {with("time", "yesterday"), ErrMalformed, "time"},
		"BodyNotJSON":    {with("body", "{"), ErrMalformed, "not a JSON object"},
		"BodyArray":      {with("body", "[]"), ErrMalformed, "not a JSON object"},
		"BodyExtraField": {with("body", `{"rule":{},"reason":"","event":{},"surprise":1}`), ErrMalformed, "surprise"},
		"BodyWrongType":  {with("body", `{"rule":{},"reason":5,"event":{}}`), ErrMalformed, "reason"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := fromContents(c.c)
			require.ErrorIs(t, err, c.want)
			require.ErrorContains(t, err, c.msg)
			if name != "BadID" && name != "NoVersion" {
				require.ErrorContains(t, err, good["id"], "the error names the record")
			}
		})
	}
}

func TestFilterQuery(t *testing.T) {
	cases := []struct {
		f    Filter
		want string
	}{
		{Filter{}, `*`},
		{Filter{Kinds: []Kind{KindRevocation}, GroupID: "sg-1"}, `kind: revocation and groupId: "sg-1"`},
		{Filter{Kinds: []Kind{KindRevocation, KindRestore}, RuleID: "sgr-1", EventID: `e"1`},
			`(kind: revocation or kind: restore) and ruleId: "sgr-1" and eventId: "e\"1"`},
		{Filter{Kinds: []Kind{KindEvent}, EventID: "actiontrail/3F2C"}, `kind: event and eventId: "actiontrail/3F2C"`},
	}
	for _, c := range cases {
		q, err := c.f.query()
		require.NoError(t, err)
		require.Equal(t, c.want, q)
	}
	_, err := Filter{Kinds: []Kind{"audit"}}.query()
	require.ErrorIs(t, err, ErrUnknownKind)
}

func TestKeyedIDIsTheSameForTheSameTimeAndKey(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 3, 0, time.UTC)
	a, b := KeyedID(at, "approve/n1"), KeyedID(at, "approve/n1")
	require.Equal(t, a, b, "two writers of one fact write one id")
	require.NotEqual(t, a, KeyedID(at, "approve/n2"))
	require.NotEqual(t, a, KeyedID(at.Add(time.Millisecond), "approve/n1"))
	got, err := IDTime(a)
	require.NoError(t, err)
	require.Equal(t, at, got)
	n, err := NormalizeID(a)
	require.NoError(t, err)
	require.Equal(t, a, n)
}

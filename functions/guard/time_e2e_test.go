package main

// Time you cannot forge, end to end: the real guard binary on localcloud,
// invoked through localcloud's FC InvokeFunction API (shared/fcapi, V3
// signed with the operator's key) with payloads dated 2099. A trigger's time
// moves the guard's clock only within a few seconds of its wall clock; the
// virtual clock reaches it through its trusted time source
// (PORTHYGIENE_TIME_URL), which a payload cannot touch.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	lcfcapi "github.com/porthygiene/porthygiene/localcloud/fcapi"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/approve"
	"github.com/porthygiene/porthygiene/shared/fcapi"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

const timeSigningKey = "time-e2e-signing-key-0123456789"

var y2099 = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

// invoke sends payload to the guard through localcloud's FC API, as anyone
// holding an AccessKey allowed to invoke it could, and waits for the run.
func (e *env) invoke(payload []byte) {
	e.t.Helper()
	op := e.cloud.Operator()
	base, err := fcapi.New(fcapi.Config{Endpoint: e.cloud.URL()})
	require.NoError(e.t, err)
	c, err := base.WithCredentials(fcapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret})
	require.NoError(e.t, err)
	_, err = c.InvokeAsync(e.t.Context(), "porthygiene-guard", payload)
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
}

// apiResults are the guard's responses to invocations made through the FC API.
func (e *env) apiResults() []map[string]any {
	var out []map[string]any
	for _, r := range e.guardResults() {
		if r["trigger"] == lcfcapi.TriggerLabel {
			out = append(out, r)
		}
	}
	return out
}

// forgedEvent is the sample AuthorizeSecurityGroup CloudEvent on group,
// dated at (the envelope's time and the ActionTrail eventTime).
func forgedEvent(t *testing.T, group, eventID string, at time.Time) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "eventbridge-authorize-ssh-world.json"))
	require.NoError(t, err)
	s := strings.ReplaceAll(string(b), "sg-bp1fg655nh68xyz9i6uv", group)
	s = strings.ReplaceAll(s, "3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E01", eventID)
	s = strings.ReplaceAll(s, "7c0e2a4b-5d31-4f7e-9a1c-2b8e6f4d9a01", "ce-"+eventID)
	for _, old := range []string{"2026-01-05T03:12:45Z", "2026-01-05T03:12:44Z"} {
		s = strings.ReplaceAll(s, old, at.Format(time.RFC3339))
	}
	ev, err := trigger.Decode([]byte(s))
	require.NoError(t, err)
	require.Equal(t, at, ev.Time(), "the event is dated %v", at)
	return []byte(s)
}

// refused are the DingTalk requests the sink did not accept.
func (e *env) refused() []string {
	var out []string
	for _, a := range e.cloud.DingTalk.Attempts() {
		if a.HTTPStatus != 200 || a.ErrCode != 0 {
			b, _ := json.Marshal(a)
			out = append(out, string(b))
		}
	}
	return out
}

// TestGuardIgnoresPayloadsFrom2099: with an exempt rule (description marker
// until a near date) and an owner's keep decision in force, CloudEvents and a
// timer payload dated 2099 revoke neither, date nothing in 2099, and get no
// DingTalk message refused for its timestamp. The one rule that is not exempt
// is revoked and reported as usual. Then the virtual clock, which reaches the
// guard only through its trusted time source, ends both exemptions.
func TestGuardIgnoresPayloadsFrom2099(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{Env: map[string]string{"APPROVE_SIGNING_KEY": timeSigningKey}}, "guard", "approve")
	e := &env{t: t, cloud: c, ecs: lctest.ECS(t, c), led: ledgerOf(c)}
	// The guard sees only what the test sends it: its event triggers are off.
	require.NoError(t, c.SetTriggerEnabled("guard", "actiontrail-events", false))
	require.NoError(t, c.SetTriggerEnabled("guard", "actiontrail-logstore", false))

	until := c.Clock.Now().Add(24 * time.Hour).Format("2006-01-02")
	e.authorize("sg-bastion", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0",
		desc: "[porthygiene-exempt owner=ops until=" + until + " reason=\"bastion host\"]"})
	e.authorize("sg-web", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", desc: "debug"})

	// The owner keeps sg-legacy's RDP rule open for 2 days, through the
	// approve function (a signed link, confirmed).
	var rdp string
	for _, p := range e.rulesFull("sg-legacy") {
		if p.PortRange == "3389/3389" && p.SourceCidrIp == "0.0.0.0/0" {
			rdp = p.SecurityGroupRuleId
		}
	}
	require.NotEmpty(t, rdp)
	var approveURL string
	for _, fn := range c.Endpoints().Functions {
		if fn.Resource == "approve" {
			approveURL = fn.HTTPURL
		}
	}
	require.NotEmpty(t, approveURL)
	keep := approve.Sign([]byte(timeSigningKey), approveURL, approve.Link{Action: approve.ActionKeep, GroupID: "sg-legacy", RuleID: rdp,
		Region: c.Region(), Days: 2, Expires: c.Clock.Now().Add(approve.DefaultTTL), Nonce: approve.NewNonce()})
	require.Equal(t, 200, e.click(keep))
	require.Len(t, e.decisions(), 1)

	bastion, legacy := "TCP 22/22 0.0.0.0/0 Accept", "TCP 3389/3389 0.0.0.0/0 Accept"
	e.invoke(forgedEvent(t, "sg-bastion", "FORGED-2099-BASTION", y2099))
	e.invoke(forgedEvent(t, "sg-legacy", "FORGED-2099-LEGACY", y2099))
	e.invoke(forgedEvent(t, "sg-web", "FORGED-2099-WEB", y2099))
	sweep, err := trigger.EncodeTimer("sweep", y2099, map[string]string{"mode": "sweep"})
	require.NoError(t, err)
	e.invoke(sweep)

	results := e.apiResults()
	require.Len(t, results, 4, "one run per payload: %v", results)
	for _, r := range results {
		require.Equal(t, "ok", r["status"], "%v", r)
		require.Empty(t, r["rejected"], "%v", r)
	}
	require.Contains(t, asStrings(results[0]["groups"]), "sg-bastion", "the event was handled, not refused")
	require.Equal(t, "sweep", results[3]["source"])
	require.Contains(t, asStrings(results[3]["groups"]), "sg-legacy")

	require.Contains(t, e.rules("sg-bastion"), bastion, "an exemption until tomorrow is not voided by a payload dated 2099")
	require.Contains(t, e.rules("sg-legacy"), legacy, "nor is the owner's keep decision")
	require.Empty(t, e.revocations("sg-bastion"))
	require.Empty(t, e.revocations("sg-legacy"))

	require.NotContains(t, e.rules("sg-web"), "TCP 22/22 0.0.0.0/0 Accept", "a rule that is not exempt is revoked as usual")
	revs := e.revocations("sg-web")
	require.Len(t, revs, 1)
	require.WithinDuration(t, c.Clock.Now(), revs[0].Time, time.Minute, "the backup is dated on the trusted clock, not in 2099")

	logs := c.Runtime.Logs("porthygiene-guard")
	require.Contains(t, logs, "trigger time ahead of the wall clock ignored")
	for _, id := range []string{"actiontrail/FORGED-2099-BASTION", "actiontrail/FORGED-2099-LEGACY", "timer/sweep/2099-01-01T00:00:00Z"} {
		require.Contains(t, logs, id, "the ignored time is logged with the event id")
	}

	require.Empty(t, e.refused(), "no DingTalk message refused")
	var told bool
	for _, m := range c.DingTalk.Messages("") {
		told = told || strings.Contains(m.Text, "sg-web")
	}
	require.True(t, told, "sg-web's revocation reached DingTalk: %+v", c.DingTalk.Attempts())

	// The clock the guard trusts is localcloud's virtual clock, through
	// PORTHYGIENE_TIME_URL: three virtual days later both exemptions have
	// ended, and the hourly sweep closes both rules.
	_, err = c.Advance(t.Context(), 3*24*time.Hour)
	require.NoError(t, err)
	require.NotContains(t, e.rules("sg-bastion"), bastion, "the exemption ended on the virtual clock")
	require.NotContains(t, e.rules("sg-legacy"), legacy, "so did the keep decision")
	require.Empty(t, e.refused(), "still no DingTalk message refused, the virtual clock days ahead")
}

// TestGuardFailsWithoutTrustedTime: when the time source cannot be read, the
// invocation fails loudly (FC retries it) instead of deciding on the
// payload's time or another clock: the exposed rule is not touched yet.
func TestGuardFailsWithoutTrustedTime(t *testing.T) {
	// Port 1 on loopback: nothing listens there.
	c := lctest.Start(t, localcloud.Options{Env: map[string]string{"PORTHYGIENE_TIME_URL": "http://127.0.0.1:1/_localcloud/clock"}}, "guard")
	e := &env{t: t, cloud: c, ecs: lctest.ECS(t, c), led: ledgerOf(c)}
	e.authorize("sg-web", perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", desc: "debug"})

	var failed int
	for _, inv := range c.Runtime.Invocations() {
		if inv.Function != "porthygiene-guard" || inv.Initializer {
			continue
		}
		require.NotEqual(t, "ok", string(inv.Status), "no invocation succeeds without trusted time: %+v", inv)
		require.Contains(t, inv.Error+inv.Response, "trusted time source unavailable", "%+v", inv)
		failed++
	}
	require.NotZero(t, failed)
	require.Contains(t, e.rules("sg-web"), "TCP 22/22 0.0.0.0/0 Accept", "nothing is decided without trusted time")
	require.Empty(t, e.revocations("sg-web"))
}

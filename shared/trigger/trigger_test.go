package trigger_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/trigger"
)

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../events/" + name)
	require.NoError(t, err)
	return b
}

// patch decodes a sample, applies edit to its generic form and re-encodes it.
func patch(t *testing.T, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, unmarshalNumber(readSample(t, name), &m))
	edit(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func data(m map[string]any) map[string]any { return m["data"].(map[string]any) }

func TestDecodeKinds(t *testing.T) {
	cases := map[string]struct {
		kind trigger.Kind
		time time.Time
		key  string
	}{
		"eventbridge-authorize-ssh-world.json": {trigger.KindCloudEvent, time.Date(2026, 1, 5, 3, 12, 44, 0, time.UTC), "actiontrail/3F2C8B1E-6A4D-4C2B-9E7F-1A2B3C4D5E01"},
		"sls-actiontrail.json":                 {trigger.KindSLS, time.Unix(1767582824, 0).UTC(), "sls/porthygiene-audit/actiontrail_porthygiene/0/MTc2NzU4Mjc2NDAwMDAwMDAwMQ=="},
		"timer-sweep.json":                     {trigger.KindTimer, time.Date(2026, 1, 5, 4, 0, 0, 0, time.UTC), "timer/hourly-sweep/2026-01-05T04:00:00Z"},
		"http-approve.json":                    {trigger.KindHTTP, time.UnixMilli(1767600924311).UTC(), "http/1-677a3b2c-5e8f1a2b3c4d5e6f7a8b9c0d"},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			ev, err := trigger.Decode(readSample(t, name))
			require.NoError(t, err)
			require.Equal(t, want.kind, ev.Kind())
			require.True(t, want.time.Equal(ev.Time()), "time: want %v, got %v", want.time, ev.Time())
			require.Equal(t, want.key, ev.DedupKey())
		})
	}
}

func TestActionTrailRecord(t *testing.T) {
	t.Run("PermissionsForm", func(t *testing.T) {
		ev, err := trigger.DecodeCloudEvent(readSample(t, "eventbridge-authorize-ssh-world.json"))
		require.NoError(t, err)
		rec, err := ev.ActionTrail()
		require.NoError(t, err)
		require.Equal(t, "AuthorizeSecurityGroup", rec.EventName)
		require.Equal(t, trigger.Scalar{Text: "1", Kind: trigger.ScalarString}, rec.EventVersion)
		require.Equal(t, "alice", rec.UserIdentity.UserName)
		require.False(t, rec.Failed())
		require.False(t, rec.CalledByRole("porthygiene-fc-role"))
		p, err := rec.Params()
		require.NoError(t, err)
		require.Equal(t, "22/22", p["Permissions.1.PortRange"])
		require.Equal(t, "0.0.0.0/0", p["Permissions.1.SourceCidrIp"])
		require.Equal(t, []string{"sg-bp1fg655nh68xyz9i6uv"}, rec.Resources("ACS::ECS::SecurityGroup"))
	})
	t.Run("LegacyNumbersStayExact", func(t *testing.T) {
		ev, err := trigger.DecodeCloudEvent(readSample(t, "eventbridge-authorize-legacy.json"))
		require.NoError(t, err)
		rec, err := ev.ActionTrail()
		require.NoError(t, err)
		require.Equal(t, trigger.Scalar{Text: "1", Kind: trigger.ScalarNumber}, rec.EventVersion)
		require.Equal(t, json.Number("1754000000000123"), rec.RequestParameters["stsTokenPlayerUid"])
		p, err := rec.Params()
		require.NoError(t, err)
		require.Equal(t, "1", p["Priority"])
		require.Equal(t, "1754000000000123", p["stsTokenPlayerUid"])
	})
	t.Run("ParamsFromRequestParameterJSON", func(t *testing.T) {
		b := patch(t, "eventbridge-authorize-legacy.json", func(m map[string]any) { delete(data(m), "requestParameters") })
		ev, err := trigger.DecodeCloudEvent(b)
		require.NoError(t, err)
		rec, err := ev.ActionTrail()
		require.NoError(t, err)
		p, err := rec.Params()
		require.NoError(t, err)
		require.Equal(t, "-1/-1", p["PortRange"])
		require.Equal(t, "1", p["Priority"])
	})
	t.Run("OwnRole", func(t *testing.T) {
		ev, err := trigger.DecodeCloudEvent(readSample(t, "eventbridge-own-role-revoke.json"))
		require.NoError(t, err)
		rec, err := ev.ActionTrail()
		require.NoError(t, err)
		require.True(t, rec.CalledByRole("porthygiene-fc-role"))
		require.True(t, rec.CalledByRole("PortHygiene-FC-Role"))
		require.False(t, rec.CalledByRole("porthygiene-fc"))
		require.False(t, rec.CalledByRole(""))
		require.Equal(t, "false", rec.UserIdentity.SessionContext.Attributes["mfaAuthenticated"])
	})
	t.Run("Failed", func(t *testing.T) {
		ev, err := trigger.DecodeCloudEvent(readSample(t, "eventbridge-failed-call.json"))
		require.NoError(t, err)
		rec, err := ev.ActionTrail()
		require.NoError(t, err)
		require.True(t, rec.Failed())
	})
}

func TestParseLogstoreEvent(t *testing.T) {
	ev, err := trigger.DecodeCloudEvent(readSample(t, "eventbridge-authorize-ssh-world.json"))
	require.NoError(t, err)
	want, err := ev.ActionTrail()
	require.NoError(t, err)

	var contents map[string]string
	b, err := os.ReadFile("testdata/actiontrail-logstore-log.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &contents))
	got, err := trigger.ParseLogstoreEvent(contents)
	require.NoError(t, err)
	wantJSON, err := json.Marshal(want)
	require.NoError(t, err)
	gotJSON, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, string(wantJSON), string(gotJSON))
	require.Equal(t, ev.DedupKey(), trigger.ActionTrailDedupKey(got.EventID), "both delivery paths share one dedup key")

	_, err = trigger.ParseLogstoreEvent(map[string]string{"__topic__": "actiontrail_audit_event"})
	requireDecodeError(t, err, "event", trigger.ErrMissingField)
	_, err = trigger.ParseLogstoreEvent(map[string]string{"event": `{"eventId":"x","eventName":"A","eventTime":"2026-01-05T00:00:00Z","userIdentity":{"type":7}}`})
	requireDecodeError(t, err, "event.userIdentity.type", nil)
	_, err = trigger.ParseLogstoreEvent(map[string]string{"event": `{"eventId":`})
	requireDecodeError(t, err, "event", nil)
}

func requireDecodeError(t *testing.T, err error, field string, cause error) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, trigger.ErrInvalid)
	var de *trigger.DecodeError
	require.ErrorAs(t, err, &de, "error %v", err)
	require.Equal(t, field, de.Field, "error %v", err)
	if cause != nil {
		require.ErrorIs(t, err, cause)
	}
	require.Contains(t, err.Error(), field)
}

func TestDecodeRejects(t *testing.T) {
	ssh := "eventbridge-authorize-ssh-world.json"
	cases := []struct {
		name  string
		in    []byte
		field string
		cause error
	}{
		{"MissingEventID", patch(t, ssh, func(m map[string]any) { delete(data(m), "eventId") }), "data.eventId", trigger.ErrMissingField},
		{"EmptyEventName", patch(t, ssh, func(m map[string]any) { data(m)["eventName"] = "" }), "data.eventName", trigger.ErrMissingField},
		{"EventTimeNumber", patch(t, ssh, func(m map[string]any) { data(m)["eventTime"] = 5 }), "data.eventTime", nil},
		{"EventTimeNotRFC3339", patch(t, ssh, func(m map[string]any) { data(m)["eventTime"] = "2026/01/05 03:12" }), "data.eventTime", nil},
		{"IdentityWrongType", patch(t, ssh, func(m map[string]any) { data(m)["userIdentity"] = "alice" }), "data.userIdentity", nil},
		{"UserNameWrongType", patch(t, ssh, func(m map[string]any) {
			data(m)["userIdentity"].(map[string]any)["userName"] = []any{"a"}
		}), "data.userIdentity.userName", nil},
		{"EventVersionObject", patch(t, ssh, func(m map[string]any) { data(m)["eventVersion"] = map[string]any{} }), "data.eventVersion", nil},
		{"RequestParametersArray", patch(t, ssh, func(m map[string]any) { data(m)["requestParameters"] = []any{1} }), "data.requestParameters", nil},
		{"DataNotObject", patch(t, ssh, func(m map[string]any) { m["data"] = "x" }), "data", nil},
		{"DataMissing", patch(t, ssh, func(m map[string]any) { delete(m, "data") }), "data", trigger.ErrMissingField},
		{"EnvelopeTimeMissing", patch(t, ssh, func(m map[string]any) { delete(m, "time") }), "time", trigger.ErrMissingField},
		{"SpecVersion", patch(t, ssh, func(m map[string]any) { m["specversion"] = "0.3" }), "specversion", nil},
		{"EnvelopeIDMissing", patch(t, ssh, func(m map[string]any) { delete(m, "id") }), "id", trigger.ErrMissingField},
		{"SLSShardMissing", patch(t, "sls-actiontrail.json", func(m map[string]any) {
			delete(m["source"].(map[string]any), "shardId")
		}), "source.shardId", trigger.ErrMissingField},
		{"SLSShardString", patch(t, "sls-actiontrail.json", func(m map[string]any) { m["source"].(map[string]any)["shardId"] = "0" }), "source.shardId", nil},
		{"SLSEndCursorMissing", patch(t, "sls-actiontrail.json", func(m map[string]any) {
			delete(m["source"].(map[string]any), "endCursor")
		}), "source.endCursor", trigger.ErrMissingField},
		{"SLSCursorTimeString", patch(t, "sls-actiontrail.json", func(m map[string]any) { m["cursorTime"] = "now" }), "cursorTime", nil},
		{"TimerNameMissing", patch(t, "timer-sweep.json", func(m map[string]any) { delete(m, "triggerName") }), "triggerName", trigger.ErrMissingField},
		{"TimerTimeBad", patch(t, "timer-sweep.json", func(m map[string]any) { m["triggerTime"] = "yesterday" }), "triggerTime", nil},
		{"TimerPayloadNotString", patch(t, "timer-sweep.json", func(m map[string]any) { m["payload"] = map[string]any{"mode": "sweep"} }), "payload", nil},
		{"HTTPMethodMissing", patch(t, "http-approve.json", func(m map[string]any) {
			delete(m["requestContext"].(map[string]any)["http"].(map[string]any), "method")
		}), "requestContext.http.method", trigger.ErrMissingField},
		{"HTTPTimeEpochBad", patch(t, "http-approve.json", func(m map[string]any) {
			m["requestContext"].(map[string]any)["timeEpoch"] = "soon"
		}), "requestContext.timeEpoch", nil},
		{"HTTPQueryNotStrings", patch(t, "http-approve.json", func(m map[string]any) { m["queryParameters"] = map[string]any{"id": 1} }), "queryParameters", nil},
		{"TrailingGarbage", append(readSample(t, "timer-sweep.json"), []byte(" {}")...), "", nil},
		{"Empty", nil, "", nil},
		{"Malformed", []byte(`{"id":`), "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := trigger.Decode(c.in)
			requireDecodeError(t, err, c.field, c.cause)
		})
	}
}

func TestDecodeUnknown(t *testing.T) {
	for name, in := range map[string]string{
		"Array":        `[1,2]`,
		"String":       `"hello"`,
		"Null":         `null`,
		"OtherObject":  `{"Records":[{"eventName":"ObjectCreated:PutObject"}],"zeta":1}`,
		"SourceString": `{"source":"acs.oss","jobName":"x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := trigger.Decode([]byte(in))
			require.ErrorIs(t, err, trigger.ErrUnknownPayload)
			require.ErrorIs(t, err, trigger.ErrInvalid)
		})
	}
	_, err := trigger.Decode([]byte(`{"Records":[],"zeta":1}`))
	require.ErrorContains(t, err, "[Records zeta]")
}

func TestNonActionTrailCloudEvent(t *testing.T) {
	in := `{"id":"1","source":"acs.config","specversion":"1.0","type":"config:Config:NonCompliantNotification",
		"time":"2026-01-05T01:02:03+08:00","data":{"anything":[1,2]}}`
	ev, err := trigger.Decode([]byte(in))
	require.NoError(t, err)
	ce := ev.(trigger.CloudEvent)
	require.False(t, ce.IsActionTrail())
	require.Equal(t, "cloudevent/acs.config/1", ce.DedupKey())
	require.True(t, time.Date(2026, 1, 4, 17, 2, 3, 0, time.UTC).Equal(ce.Time()))
}

func TestTimerPayload(t *testing.T) {
	type sweep struct {
		Mode   string   `json:"mode"`
		Region string   `json:"region,omitempty"`
		Groups []string `json:"groups,omitempty"`
	}
	ev, err := trigger.DecodeTimer(readSample(t, "timer-sweep.json"))
	require.NoError(t, err)
	var p sweep
	require.NoError(t, ev.DecodePayload(&p))
	require.Equal(t, sweep{Mode: "sweep"}, p)

	at := time.Date(2026, 1, 5, 4, 0, 1, 0, time.UTC)
	b, err := trigger.EncodeTimer("porthygiene-fanout", at, sweep{Mode: "sweep-slice", Region: "cn-hangzhou", Groups: []string{"sg-1", "sg-2"}})
	require.NoError(t, err)
	got, err := trigger.Decode(b)
	require.NoError(t, err)
	te := got.(trigger.TimerEvent)
	require.Equal(t, at, te.Time())
	require.NoError(t, te.DecodePayload(&p))
	require.Equal(t, []string{"sg-1", "sg-2"}, p.Groups)

	for name, c := range map[string]struct{ payload, field string }{
		"Unknown":   {`{"mode":"sweep","extra":1}`, "payload.extra"},
		"WrongType": {`{"mode":1}`, "payload.mode"},
		"Malformed": {`{"mode":`, "payload"},
		"Empty":     {``, "payload"},
	} {
		t.Run(name, func(t *testing.T) {
			err := trigger.TimerEvent{TriggerName: "x", Payload: c.payload}.DecodePayload(&p)
			requireDecodeError(t, err, c.field, nil)
		})
	}
	raw, err := trigger.TimerEvent{Payload: ""}.PayloadJSON()
	require.NoError(t, err)
	require.Nil(t, raw)
}

func TestHTTPEvent(t *testing.T) {
	ev, err := trigger.DecodeHTTP(readSample(t, "http-approve.json"))
	require.NoError(t, err)
	require.Equal(t, "GET", ev.RequestContext.HTTP.Method)
	require.Equal(t, "exempt", ev.Query("action"))
	require.Equal(t, "https", ev.Header("x-forwarded-proto"))
	body, err := ev.DecodedBody()
	require.NoError(t, err)
	require.Empty(t, body)

	ev.Body, ev.IsBase64Encoded = "aGVsbG8=", true
	body, err = ev.DecodedBody()
	require.NoError(t, err)
	require.Equal(t, "hello", string(body))
	ev.Body = "%%%"
	_, err = ev.DecodedBody()
	requireDecodeError(t, err, "body", nil)

	out, err := json.Marshal(trigger.HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "ok"})
	require.NoError(t, err)
	require.JSONEq(t, `{"statusCode":200,"headers":{"Content-Type":"text/plain"},"isBase64Encoded":false,"body":"ok"}`, string(out))
}

func TestScalar(t *testing.T) {
	for _, in := range []string{`"1"`, `1`, `1.5`, `true`, `false`, `null`} {
		var s trigger.Scalar
		require.NoError(t, json.Unmarshal([]byte(in), &s))
		out, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, in, string(out))
	}
	var s trigger.Scalar
	require.True(t, errors.As(json.Unmarshal([]byte(`[1]`), &s), new(*json.UnmarshalTypeError)))
	require.True(t, trigger.Scalar{Text: "true", Kind: trigger.ScalarBool}.Bool())
	require.True(t, strings.Contains(trigger.Scalar{Text: "x"}.String(), "x"))
}

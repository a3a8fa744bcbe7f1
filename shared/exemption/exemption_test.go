package exemption

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var bastion = Exemption{Owner: "alice", Reason: "bastion host", Until: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}

// The two parsers, by the form they read.
var (
	tagValue = ParseTagValue
	marker   = func(s string) (Exemption, error) { return ParseMarker(DefaultKey, s) }
)

func TestParseTagValueAndMarker(t *testing.T) {
	withPorts := bastion
	withPorts.Ports = []int{22, 3389}
	instant := bastion
	instant.Until = time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		parse   func(string) (Exemption, error)
		in      string
		want    Exemption
		wantErr string
	}{
		{name: "TagValue", parse: tagValue, in: "owner=alice;reason=bastion host;until=2026-12-31", want: bastion},
		{name: "TagValuePorts", parse: tagValue, in: "owner=alice;reason=bastion host;until=2026-12-31;ports=3389,22,22", want: withPorts},
		{name: "TagValueSpacesAndOrder", parse: tagValue, in: " until=2026-12-31 ; Owner = alice;reason=bastion host; ", want: bastion},
		{name: "TagValueInstant", parse: tagValue, in: "owner=alice;reason=bastion host;until=2026-06-01T12:00:00+08:00", want: instant},
		{name: "Marker", parse: marker, in: `[porthygiene-exempt owner=alice until=2026-12-31 reason="bastion host"]`, want: bastion},
		{name: "MarkerPorts", parse: marker, in: `[porthygiene-exempt owner="alice" reason="bastion host" until=2026-12-31 ports=22,3389]`, want: withPorts},
		{name: "MissingOwner", parse: tagValue, in: "reason=x;until=2026-12-31", wantErr: "missing owner"},
		{name: "MissingReason", parse: tagValue, in: "owner=a;until=2026-12-31", wantErr: "missing reason"},
		{name: "MissingUntil", parse: tagValue, in: "owner=a;reason=x", wantErr: "missing until"},
		{name: "BadDate", parse: tagValue, in: "owner=a;reason=x;until=31/12/2026", wantErr: "not a date"},
		{name: "UnknownField", parse: tagValue, in: "owner=a;reason=x;until=2026-12-31;util=1", wantErr: `unknown field "util"`},
		{name: "Twice", parse: tagValue, in: "owner=a;owner=b;reason=x;until=2026-12-31", wantErr: "owner given twice"},
		{name: "NotPair", parse: tagValue, in: "owner=a;bastion;until=2026-12-31", wantErr: "not key=value"},
		{name: "BadPort", parse: tagValue, in: "owner=a;reason=x;until=2026-12-31;ports=22,ssh", wantErr: `port "ssh"`},
		{name: "PortZero", parse: tagValue, in: "owner=a;reason=x;until=2026-12-31;ports=0", wantErr: `port "0"`},
		{name: "QuoteInValue", parse: tagValue, in: `owner=a";reason=x;until=2026-12-31`, wantErr: "owner"},
		{name: "MarkerUnterminatedQuote", parse: marker, in: `[porthygiene-exempt owner=a reason="x until=2026-12-31]`, wantErr: "unterminated quote"},
		{name: "MarkerNoEquals", parse: marker, in: `[porthygiene-exempt alice]`, wantErr: "not name=value"},
		{name: "MarkerWrongKeyword", parse: marker, in: `[porthygiene-exemptx owner=a]`, wantErr: "want [porthygiene-exempt"},
		{name: "MarkerMissingReason", parse: marker, in: `[porthygiene-exempt owner=a until=2026-12-31]`, wantErr: "missing reason"},
		{name: "MarkerNotAMarker", parse: marker, in: "owner=alice;reason=bastion host;until=2026-12-31", wantErr: "want [porthygiene-exempt"},
		{name: "Empty", parse: tagValue, in: "", wantErr: "missing owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrMalformed)
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFormat(t *testing.T) {
	require.Equal(t, "owner=alice;reason=bastion host;until=2026-12-31", bastion.TagValue())
	require.Equal(t, `[porthygiene-exempt owner=alice until=2026-12-31 reason="bastion host"]`, bastion.Marker())
	e := bastion
	e.Ports = []int{22, 3389}
	e.Until = time.Date(2026, 6, 1, 4, 30, 0, 0, time.UTC)
	require.Equal(t, "owner=alice;reason=bastion host;until=2026-06-01T04:30:00Z;ports=22,3389", e.TagValue())
	require.Equal(t, `[ops-ok owner=alice until=2026-06-01T04:30:00Z reason="bastion host" ports=22,3389]`, e.MarkerWithKey("ops-ok"))
	back, err := ParseTagValue(e.TagValue())
	require.NoError(t, err)
	require.Equal(t, e, back)
	back, err = ParseMarker(DefaultKey, e.Marker())
	require.NoError(t, err)
	require.Equal(t, e, back)
	back, err = ParseMarker("ops-ok", e.MarkerWithKey("ops-ok"))
	require.NoError(t, err)
	require.Equal(t, e, back)
	b, err := json.Marshal(bastion)
	require.NoError(t, err)
	require.JSONEq(t, `{"owner":"alice","reason":"bastion host","until":"2026-12-31"}`, string(b))
}

func TestActive(t *testing.T) {
	// A date means through the end of that UTC day.
	require.True(t, bastion.Active(time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)))
	require.False(t, bastion.Active(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
	// An instant means until that instant.
	e := bastion
	e.Until = time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC)
	require.True(t, e.Active(e.Until.Add(-time.Second)))
	require.False(t, e.Active(e.Until))
	// An invalid exemption is never active.
	require.False(t, Exemption{Until: bastion.Until}.Active(time.Time{}))
}

func TestCovers(t *testing.T) {
	require.True(t, bastion.Covers(1))
	e := bastion
	e.Ports = []int{22, 3389}
	require.True(t, e.Covers(3389))
	require.False(t, e.Covers(23))
}

func TestFind(t *testing.T) {
	tests := []struct {
		name      string
		desc      string
		wantFound bool
		wantErr   bool
	}{
		{name: "None", desc: "ssh for the bastion"},
		{name: "Embedded", desc: `bastion [porthygiene-exempt owner=alice until=2026-12-31 reason="bastion host"] do not touch`, wantFound: true},
		{name: "LongerKeyword", desc: `[porthygiene-exemption owner=a]`},
		{name: "LongerKeywordThenReal", desc: `[porthygiene-exemptions] [porthygiene-exempt owner=alice until=2026-12-31 reason=x]`, wantFound: true},
		{name: "Unclosed", desc: `[porthygiene-exempt owner=alice until=2026-12-31`, wantFound: true, wantErr: true},
		{name: "Malformed", desc: `[porthygiene-exempt owner=alice]`, wantFound: true, wantErr: true},
		{name: "Bare", desc: `[porthygiene-exempt]`, wantFound: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, found, err := Find(DefaultKey, tt.desc)
			require.Equal(t, tt.wantFound, found)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrMalformed)
				return
			}
			require.NoError(t, err)
			if found {
				require.Equal(t, "alice", e.Owner)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"owner=alice;reason=bastion host;until=2026-12-31;ports=22,3389",
		`[porthygiene-exempt owner=alice until=2026-12-31 reason="bastion host"]`,
		`[porthygiene-exempt owner="a b" until=2026-12-31T10:00:00Z reason=x ports=1]`,
		"owner=;reason=;until=", `[porthygiene-exempt owner="`, "ports=99999", ";;;=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = Find(DefaultKey, s)
		for name, parse := range map[string]func(string) (Exemption, error){"ParseTagValue": tagValue, "ParseMarker": marker} {
			e, err := parse(s)
			if err != nil {
				continue
			}
			if err := e.Validate(); err != nil {
				t.Fatalf("%s(%q) gave an invalid exemption: %v", name, s, err)
			}
			for _, rt := range []struct {
				form  string
				parse func(string) (Exemption, error)
			}{{e.TagValue(), tagValue}, {e.Marker(), marker}} {
				got, err := rt.parse(rt.form)
				if err != nil {
					t.Fatalf("%s(%q): formatted as %q, which does not parse: %v", name, s, rt.form, err)
				}
				if got.Owner != e.Owner || got.Reason != e.Reason || !got.Until.Equal(e.Until) || !slices.Equal(got.Ports, e.Ports) {
					t.Fatalf("round trip of %q via %q: %+v != %+v", s, rt.form, got, e)
				}
			}
		}
	})
}

func TestJSONRoundTrip(t *testing.T) {
	e := bastion
	e.Ports = []int{22}
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var back Exemption
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, e, back)
	require.Error(t, json.Unmarshal([]byte(`{"until":"soon"}`), &back))
}

package policy

import (
	"testing"
	"time"

	"github.com/porthygiene/porthygiene/shared/exemption"
	"github.com/stretchr/testify/require"
)

func TestCapUntil(t *testing.T) {
	ts := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return v
	}
	date := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return v
	}
	noon := ts("2026-05-01T12:00:00Z")
	midnight := ts("2026-05-01T00:00:00Z")
	tests := []struct {
		name    string
		maxDays int
		now     time.Time
		until   time.Time
		want    time.Time
		cut     bool
		wantStr string // as written in a tag value
	}{
		{"9999-12-31 cut to 90 days", 90, noon, date("9999-12-31"), ts("2026-07-30T12:00:00Z"), true, "2026-07-30T12:00:00Z"},
		{"far RFC 3339 time cut", 90, noon, ts("2030-01-01T08:00:00Z"), ts("2026-07-30T12:00:00Z"), true, "2026-07-30T12:00:00Z"},
		{"within the limit kept", 90, noon, date("2026-06-01"), date("2026-06-01"), false, "2026-06-01"},
		{"date whose day ends at the limit kept", 90, midnight, date("2026-07-29"), date("2026-07-29"), false, "2026-07-29"},
		{"date of the limit day cut to the day before", 90, midnight, date("2026-07-30"), date("2026-07-29"), true, "2026-07-29"},
		{"time exactly at the limit kept", 90, noon, ts("2026-07-30T12:00:00Z"), ts("2026-07-30T12:00:00Z"), false, "2026-07-30T12:00:00Z"},
		{"one second past the limit cut", 90, noon, ts("2026-07-30T12:00:01Z"), ts("2026-07-30T12:00:00Z"), true, "2026-07-30T12:00:00Z"},
		{"limit day: a date the same day ends after noon", 90, noon, date("2026-07-30"), ts("2026-07-30T12:00:00Z"), true, "2026-07-30T12:00:00Z"},
		{"sub-second now truncated, never past the limit", 1, ts("2026-05-01T12:00:00.75Z"), date("2027-01-01"), ts("2026-05-02T12:00:00Z"), true, "2026-05-02T12:00:00Z"},
		{"limit within a second after midnight: the date before", 1, ts("2026-05-01T00:00:00.5Z"), date("2027-01-01"), date("2026-05-01"), true, "2026-05-01"},
		{"past until kept (already expired)", 90, noon, date("2020-01-01"), date("2020-01-01"), false, "2020-01-01"},
		{"non-UTC now", 90, ts("2026-05-01T20:00:00+08:00"), date("9999-12-31"), ts("2026-07-30T12:00:00Z"), true, "2026-07-30T12:00:00Z"},
		{"maxDays 3650", 3650, noon, date("9999-12-31"), noon.AddDate(0, 0, 3650), true, noon.AddDate(0, 0, 3650).Format(time.RFC3339)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			p.Exemptions.MaxDays, p.Exemptions.WarnDays = tt.maxDays, min(7, tt.maxDays)
			require.NoError(t, p.Validate())
			got, cut := p.CapUntil(tt.now, tt.until)
			require.True(t, tt.want.Equal(got), "got %v, want %v", got, tt.want)
			require.Equal(t, tt.cut, cut)
			ex := exemption.Exemption{Owner: "alice", Reason: "test", Until: got}
			require.Equal(t, tt.wantStr, ex.UntilString())
			// Read back as shared/exemption reads it, it never ends after the limit.
			back, err := exemption.ParseTagValue(ex.TagValue())
			require.NoError(t, err)
			limit := tt.now.Add(time.Duration(tt.maxDays) * 24 * time.Hour)
			require.False(t, back.End().After(limit), "end %v after limit %v", back.End(), limit)
			if cut {
				require.Less(t, limit.Sub(back.End()), time.Second, "cut to the limit, not earlier")
			}
		})
	}
}

func TestExpiringSoon(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		warnDays int
		until    time.Time
		want     bool
	}{
		{"ends in 3 days", 7, time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC), true},
		{"ends in exactly 7 days", 7, now.AddDate(0, 0, 7), true},
		{"ends in 7 days and a second", 7, now.AddDate(0, 0, 7).Add(time.Second), false},
		{"date 2026-05-07 ends 2026-05-08T00:00, within 7 days", 7, time.Date(2026, 5, 7, 0, 0, 0, 0, time.UTC), true},
		{"date 2026-05-08 ends after 7 days", 7, time.Date(2026, 5, 8, 0, 0, 0, 0, time.UTC), false},
		{"today's date: still active until midnight", 7, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), true},
		{"already expired", 7, now.Add(-time.Second), false},
		{"ends now: expired", 7, now, false},
		{"warnDays 0 never", 0, now.Add(time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			p.Exemptions.WarnDays = tt.warnDays
			require.Equal(t, tt.want, p.ExpiringSoon(now, tt.until))
		})
	}
}

func TestExemptionDaysParsed(t *testing.T) {
	p, err := Parse([]byte("exemptions: {maxDays: 30, warnDays: 0}\n"), "policy.yaml")
	require.NoError(t, err)
	require.Equal(t, Exemptions{TagKey: "porthygiene-exempt", Marker: "porthygiene-exempt", MaxDays: 30, WarnDays: 0}, p.Exemptions)
	p, err = Parse([]byte("exemptions: {maxDays: 3650, warnDays: 3650}\n"), "policy.yaml")
	require.NoError(t, err)
	require.Equal(t, 3650, p.Exemptions.WarnDays)
}

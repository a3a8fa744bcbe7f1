package policy

import "time"

const day = 24 * time.Hour

// untilEnd is the first instant an exemption valid until u no longer applies,
// with the convention of shared/exemption: an until at midnight UTC is a date
// and means "through that whole UTC day".
func untilEnd(u time.Time) time.Time {
	u = u.UTC()
	if u.Equal(u.Truncate(day)) {
		return u.Add(day)
	}
	return u
}

// CapUntil cuts an exemption's until so that it ends no later than
// now + Exemptions.MaxDays days, and reports whether it did. An until at
// midnight UTC counts as the whole day it names (shared/exemption's
// convention), so the cut value is a date (midnight UTC, through the day
// before the limit) when the limit falls on midnight, else the limit itself
// to the second, earlier than a day's end. An until already within the limit,
// or in the past, is returned unchanged. Pure: now is an input.
func (p *Policy) CapUntil(now, until time.Time) (time.Time, bool) {
	limit := now.UTC().Add(time.Duration(p.Exemptions.MaxDays) * day)
	if !untilEnd(until).After(limit) {
		return until, false
	}
	if limit.Equal(limit.Truncate(day)) {
		return limit.Add(-day), true // the date before: through it, ending at limit
	}
	if t := limit.Truncate(time.Second); !t.Equal(t.Truncate(day)) {
		return t, true
	}
	// limit is within the first second after midnight: the day before ends
	// before it.
	return limit.Truncate(day).Add(-day), true
}

// ExpiringSoon reports whether an exemption valid until until is still active
// at now and ends within Exemptions.WarnDays days: the exemptions to announce.
// WarnDays 0 announces none.
func (p *Policy) ExpiringSoon(now, until time.Time) bool {
	end := untilEnd(until)
	return p.Exemptions.WarnDays > 0 && now.Before(end) &&
		!end.After(now.Add(time.Duration(p.Exemptions.WarnDays)*day))
}

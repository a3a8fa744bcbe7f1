package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/logstore"
)

// Filter selects records; zero fields match everything.
type Filter struct {
	Kinds   []Kind
	GroupID string
	RuleID  string
	EventID string
	Since   time.Time // inclusive
	Until   time.Time // exclusive
	Limit   int       // at most this many records; 0: no limit
	Newest  bool      // newest first; with Limit, the latest Limit records
}

// query returns the search query of f (see the package doc).
func (f Filter) query() (string, error) {
	var terms []string
	if len(f.Kinds) > 0 {
		ks := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			if !k.known() {
				return "", fmt.Errorf("%w %q in filter", ErrUnknownKind, k)
			}
			ks[i] = "kind: " + string(k)
		}
		if len(ks) == 1 {
			terms = append(terms, ks[0])
		} else {
			terms = append(terms, "("+strings.Join(ks, " or ")+")")
		}
	}
	for _, kv := range [][2]string{{"groupId", f.GroupID}, {"ruleId", f.RuleID}, {"eventId", f.EventID}} {
		if kv[1] != "" {
			terms = append(terms, kv[0]+": "+logstore.Quote(kv[1]))
		}
	}
	if len(terms) == 0 {
		return "*", nil
	}
	return strings.Join(terms, " and "), nil
}

// Match reports whether f selects r: exactly, case-sensitively, and
// ignoring Limit and Newest. Query re-checks every row with it; in-memory
// ledgers use it so that they select what a Ledger selects.
func (f Filter) Match(r Record) bool {
	return (len(f.Kinds) == 0 || slices.Contains(f.Kinds, r.Kind)) &&
		(f.GroupID == "" || r.GroupID == f.GroupID) &&
		(f.RuleID == "" || r.RuleID == f.RuleID) &&
		(f.EventID == "" || r.EventID == f.EventID) &&
		(f.Since.IsZero() || !r.Time.Before(f.Since)) &&
		(f.Until.IsZero() || r.Time.Before(f.Until))
}

// Compare orders records as Query returns them for f: by (time, id), newest
// first when f.Newest. It is a comparison function for slices.SortFunc.
func (f Filter) Compare(a, b Record) int {
	c := a.Time.Compare(b.Time)
	if c == 0 {
		c = strings.Compare(a.ID, b.ID)
	}
	if f.Newest {
		c = -c
	}
	return c
}

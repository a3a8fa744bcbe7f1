package reaper

import (
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
)

// RuleRef names one rule of one group.
type RuleRef struct{ GroupID, RuleID string }

// Lifecycle is the reaper's state in the ledger: the open announcement of
// each rule, the rules whose announcement was cancelled because they had
// changed (and when), and the closures.
type Lifecycle struct {
	Open     map[RuleRef]Announcement
	Changed  map[RuleRef]time.Time
	Closures map[RuleRef]Closure
	// Cancelled is the latest cancellation of each rule.
	Cancelled map[RuleRef]Cancellation
}

// Closure is a closed rule: its closure record, the backup restore uses.
type Closure struct {
	ID             string
	At             time.Time
	AnnouncementID string
}

// Cancellation is an announcement called off.
type Cancellation struct {
	ID, AnnouncementID, Reason string
	At                         time.Time
}

// ReadLifecycle reads announcement and closure records (other kinds and
// undecodable bodies are skipped; duplicates by id counted once). An
// announcement is open unless a cancellation or a closure of its rule
// follows it; of two open ones (two runs inside SLS's index delay on
// different days) the first counts, so the grace never restarts by itself.
func ReadLifecycle(recs []ledger.Record) Lifecycle {
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(a, b ledger.Record) int { return a.Time.Compare(b.Time) })
	lc := Lifecycle{Open: map[RuleRef]Announcement{}, Changed: map[RuleRef]time.Time{}, Closures: map[RuleRef]Closure{}, Cancelled: map[RuleRef]Cancellation{}}
	seen := map[string]bool{}
	for _, rec := range recs {
		if seen[rec.ID] {
			continue
		}
		seen[rec.ID] = true
		ref := RuleRef{rec.GroupID, rec.RuleID}
		switch rec.Kind {
		case ledger.KindAnnouncement:
			b, err := rec.Announcement()
			if err != nil {
				continue
			}
			if b.Stage == ledger.StageCancelled {
				delete(lc.Open, ref)
				lc.Cancelled[ref] = Cancellation{ID: rec.ID, AnnouncementID: b.AnnouncementID, Reason: b.Reason, At: rec.Time}
				if strings.Contains(b.Reason, "the rule changed") {
					lc.Changed[ref] = rec.Time
				}
				continue
			}
			if _, open := lc.Open[ref]; !open {
				lc.Open[ref] = Announcement{ID: rec.ID, At: rec.Time, ClosesAt: b.EligibleAt, Rule: b.Rule}
			}
		case ledger.KindClosure:
			b, err := rec.Closure()
			if err != nil {
				continue
			}
			delete(lc.Open, ref)
			lc.Closures[ref] = Closure{ID: rec.ID, At: rec.Time, AnnouncementID: b.AnnouncementID}
		}
	}
	return lc
}

// Apply puts the group's part of the lifecycle into its evidence.
func (lc Lifecycle) Apply(groupID string, ev *Evidence) {
	ev.Open, ev.Changed = map[string]Announcement{}, map[string]time.Time{}
	for ref, a := range lc.Open {
		if ref.GroupID == groupID {
			ev.Open[ref.RuleID] = a
		}
	}
	for ref, t := range lc.Changed {
		if ref.GroupID == groupID {
			ev.Changed[ref.RuleID] = t
		}
	}
}

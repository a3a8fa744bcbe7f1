package notifystore

import (
	"context"
	"fmt"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/logstore"
	"github.com/porthygiene/porthygiene/shared/notify"
)

// ClaimKey is the Meta.EventID of the claims on an outbox event.
func ClaimKey(id string) string { return "notify-claim/" + id }

// Claim implements notify.Claimer, by the budget's pattern (read, append,
// read again, all by cursor, which sees every append at once): the ids
// another run claimed in the last notify.ClaimLease are left to it; for the
// rest one claim each is appended, and an id is won if, reading on from
// before the append, no other run's claim on it appears. Of two runs
// claiming at once, the one whose append landed second sees the first's
// claim and yields; when both read after both appends, both yield and the
// events wait one lease — never both send.
func (s *Store) Claim(ctx context.Context, ids []string, now time.Time) (map[string]bool, error) {
	ids = unique(ids)
	won := map[string]bool{}
	if len(ids) == 0 {
		return won, nil
	}
	want := map[string]string{} // claim key → id
	for _, id := range ids {
		want[ClaimKey(id)] = id
	}
	before, pos, err := s.claims(ctx, want, now, nil)
	if err != nil {
		return nil, fmt.Errorf("claim %d outbox event(s): %w", len(ids), err)
	}
	mine := map[string]bool{}
	var recs []ledger.Record
	for _, id := range ids {
		if before[id] > 0 {
			continue
		}
		r := ledger.NewNotification(s.meta(now, ClaimKey(id)), ledger.Notification{Robot: noRobot, Title: "claim", Status: StatusClaimed})
		mine[r.ID] = true
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return won, nil
	}
	if err := s.appendAll(ctx, recs); err != nil {
		return nil, fmt.Errorf("claim %d outbox event(s): %w", len(recs), err)
	}
	after, _, err := s.claims(ctx, want, now, pos, mine)
	if err != nil {
		// Our claims are written and hold others back; whether another
		// run's came first is unknown: yield (the events wait a lease).
		s.o.Logger.WarnContext(ctx, "notifystore: claim re-check failed; yielding", "events", len(recs), "err", err)
		return won, nil
	}
	for _, id := range ids {
		if before[id] == 0 && after[id] == 0 {
			won[id] = true
		}
	}
	return won, nil
}

// claims counts, by cursor from after (nil: the lease's start), the live
// claims on the wanted keys that are not in skip, per id, with the position
// after them.
func (s *Store) claims(ctx context.Context, want map[string]string, now time.Time, after logstore.Cursors, skip ...map[string]bool) (map[string]int, logstore.Cursors, error) {
	recs, pos, err := s.l.Tail(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindNotification}, Since: now.Add(-notify.ClaimLease)}, after)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]int{}
	for _, r := range recs {
		id, ok := want[r.EventID]
		if !ok || (len(skip) > 0 && skip[0][r.ID]) || now.Sub(r.Time) >= notify.ClaimLease {
			continue
		}
		b, err := r.Notification()
		if err != nil {
			return nil, nil, err
		}
		if b.Status == StatusClaimed {
			out[id]++
		}
	}
	return out, pos, nil
}

package notifystore

import (
	"context"
	"fmt"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
)

// BudgetKey is the Meta.EventID of a robot's reservations.
func BudgetKey(robot string) string { return "notify-budget/" + robot }

// PenaltyKey is the Meta.EventID of a robot's penalties.
func PenaltyKey(robot string) string { return "notify-penalty/" + robot }

// Take implements notify.Budget: check, append one reservation per grant,
// re-check (see the package doc for the race). now is the caller's; the
// reservations are stamped with it.
func (s *Store) Take(ctx context.Context, robot string, n int, now time.Time) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	if until, err := s.penalty(ctx, robot, now); err != nil {
		return 0, fmt.Errorf("budget %s: %w", robot, err)
	} else if !until.IsZero() {
		return 0, nil
	}
	used, err := s.reservations(ctx, robot, now)
	if err != nil {
		return 0, fmt.Errorf("budget %s: %w", robot, err)
	}
	k := min(n, s.o.Limit-len(used))
	if k <= 0 {
		return 0, nil
	}
	mine := map[string]bool{}
	recs := make([]ledger.Record, k)
	for i := range recs {
		recs[i] = ledger.NewNotification(s.meta(now, BudgetKey(robot)), ledger.Notification{Robot: robot, Title: "budget", Status: StatusReserved})
		mine[recs[i].ID] = true
	}
	if err := s.l.Append(ctx, recs...); err != nil {
		return 0, fmt.Errorf("budget %s: reserve %d: %w", robot, k, err)
	}
	after, err := s.reservations(ctx, robot, now)
	if err != nil {
		// The check before the append passed; only a concurrent taker
		// could make it wrong, and the margin below 20 covers that.
		s.o.Logger.WarnContext(ctx, "notifystore: budget re-check failed; keeping the grant", "robot", robot, "granted", k, "err", err)
		return k, nil
	}
	others := 0
	for _, r := range after {
		if !mine[r.ID] {
			others++
		}
	}
	kept := max(0, min(k, s.o.Limit-others))
	if kept < k {
		s.o.Logger.InfoContext(ctx, "notifystore: concurrent budget taker; yielding", "robot", robot, "reserved", k, "kept", kept)
	}
	return kept, nil
}

// reservations returns the robot's reservations in the window that ends at
// now (and any stamped after now).
func (s *Store) reservations(ctx context.Context, robot string, now time.Time) ([]ledger.Record, error) {
	recs, err := s.l.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindNotification}, EventID: BudgetKey(robot), Since: now.Add(-s.o.Window)})
	if err != nil {
		return nil, err
	}
	out := recs[:0]
	for _, r := range recs {
		if now.Sub(r.Time) >= s.o.Window {
			continue
		}
		b, err := r.Notification()
		if err != nil {
			return nil, err
		}
		if b.Status == StatusReserved && b.Robot == robot {
			out = append(out, r)
		}
	}
	return out, nil
}

// Penalize implements notify.Penalizer. Idempotent: penalties only add.
func (s *Store) Penalize(ctx context.Context, robot string, until time.Time) error {
	r := ledger.NewNotification(s.meta(s.stamp(), PenaltyKey(robot)), ledger.Notification{
		Robot: robot, Title: "silenced by DingTalk (130101)", Status: StatusPenalized, Until: until.UTC(),
	})
	if err := s.l.Append(ctx, r); err != nil {
		return fmt.Errorf("budget %s: penalize: %w", robot, err)
	}
	return nil
}

// penalty returns the latest end of a penalty of robot that is after now,
// zero when there is none. It reads the robot's latest penalty records.
func (s *Store) penalty(ctx context.Context, robot string, now time.Time) (time.Time, error) {
	recs, err := s.l.Query(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindNotification}, EventID: PenaltyKey(robot), Newest: true, Limit: penaltyLookups})
	if err != nil {
		return time.Time{}, err
	}
	var until time.Time
	for _, r := range recs {
		b, err := r.Notification()
		if err != nil {
			return time.Time{}, err
		}
		if b.Status == StatusPenalized && b.Robot == robot && b.Until.After(now) && b.Until.After(until) {
			until = b.Until
		}
	}
	return until, nil
}

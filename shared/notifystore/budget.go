package notifystore

import (
	"context"
	"fmt"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/logstore"
)

// BudgetKey is the Meta.EventID of a robot's reservations.
func BudgetKey(robot string) string { return "notify-budget/" + robot }

// PenaltyKey is the Meta.EventID of a robot's penalties.
func PenaltyKey(robot string) string { return "notify-penalty/" + robot }

// Take implements notify.Budget: read, append one reservation per grant,
// read again (see the package doc for the race). Reservations and fresh
// penalties are read by cursor (Ledger.Tail), which sees every append at
// once; older penalties by search. now is the caller's; the reservations
// are stamped with it.
func (s *Store) Take(ctx context.Context, robot string, n int, now time.Time) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	until, err := s.penalty(ctx, robot, now)
	if err != nil {
		return 0, fmt.Errorf("budget %s: %w", robot, err)
	}
	used, fresh, pos, err := s.recent(ctx, robot, now, nil)
	if err != nil {
		return 0, fmt.Errorf("budget %s: %w", robot, err)
	}
	if fresh.After(until) {
		until = fresh
	}
	if !until.IsZero() {
		return 0, nil
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
	// What arrived since the first read: ours, and any concurrent taker's.
	since, _, _, err := s.recent(ctx, robot, now, pos)
	if err != nil {
		// The reservations are written and other takers count them; only
		// whether a concurrent taker's came first is unknown: yield.
		s.o.Logger.WarnContext(ctx, "notifystore: budget re-check failed; yielding the grant", "robot", robot, "reserved", k, "err", err)
		return 0, nil
	}
	others := len(used)
	for _, r := range since {
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

// recent reads by cursor, from after (nil: from the window's start), the
// robot's reservations in the window that ends at now (and any stamped
// after now) and the latest end of its penalties recorded there that is
// after now (zero when none), with the position after them.
func (s *Store) recent(ctx context.Context, robot string, now time.Time, after logstore.Cursors) ([]ledger.Record, time.Time, logstore.Cursors, error) {
	recs, pos, err := s.l.Tail(ctx, ledger.Filter{Kinds: []ledger.Kind{ledger.KindNotification}, Since: now.Add(-s.o.Window)}, after)
	if err != nil {
		return nil, time.Time{}, nil, err
	}
	var out []ledger.Record
	var until time.Time
	for _, r := range recs {
		if r.EventID != BudgetKey(robot) && r.EventID != PenaltyKey(robot) {
			continue
		}
		b, err := r.Notification()
		if err != nil {
			return nil, time.Time{}, nil, err
		}
		switch {
		case b.Robot != robot:
		case b.Status == StatusPenalized && b.Until.After(now) && b.Until.After(until):
			until = b.Until
		case b.Status == StatusReserved && r.EventID == BudgetKey(robot) && now.Sub(r.Time) < s.o.Window:
			out = append(out, r)
		}
	}
	return out, until, pos, nil
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

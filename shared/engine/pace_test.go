package engine

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// The pace across instances: runs that read the minute's budget at the same
// instant each write their claims (backups) and re-read; what stands never
// exceeds MaxChangesPerMinute, whatever the interleaving, and a run alone
// keeps what it was granted.
func TestMinutePaceHoldsAcrossRacingRuns(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 7, 0, time.UTC)
	e := &Engine{cfg: Config{Name: "guard", MaxChanges: 20, MaxChangesPerMinute: 20}, log: slog.New(slog.DiscardHandler)}
	var seq atomic.Int64
	claimRules := func(l *ledgertest.Mem, p *minutePace, rules []string) []ledger.Record {
		var recs []ledger.Record
		for _, id := range rules {
			r := ledger.NewBackup(ledger.Meta{Time: p.r.now, Function: "guard", GroupID: "sg-1", Region: "cn-hangzhou", RuleID: id}, ledger.Revocation{Rule: rule.Permission{Direction: "ingress", IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0", Policy: "accept", Priority: "1", NicType: "intranet"}, Reason: "ssh to the world"})
			recs = append(recs, r)
		}
		require.NoError(t, l.Append(t.Context(), recs...))
		return recs
	}
	claim := func(l *ledgertest.Mem, p *minutePace, n int) []ledger.Record {
		var rules []string
		for range n {
			rules = append(rules, fmt.Sprintf("sgr-%d", seq.Add(1)))
		}
		return claimRules(l, p, rules)
	}
	pace := func(l *ledgertest.Mem, at time.Time) *minutePace {
		return &minutePace{e: e, r: &Run{e: e, deps: Deps{Ledger: l}, now: at}}
	}

	// Alone: granted, claimed, kept; a second group of the same run counts
	// the first.
	l := &ledgertest.Mem{}
	p := pace(l, t0)
	require.Equal(t, 20, p.left(t.Context()))
	require.Equal(t, 12, p.confirm(t.Context(), claim(l, p, 12), 12))
	require.Equal(t, 8, p.confirm(t.Context(), claim(l, p, 10), 10), "the run's own earlier changes count")
	require.LessOrEqual(t, pace(l, t0.Add(time.Second)).left(t.Context()), 0, "the minute is spent for the next run (its yielded claims count too)")
	require.Equal(t, 20, pace(l, t0.Add(time.Minute)).left(t.Context()), "the next minute's budget")

	// One event delivered twice: both runs claim the same rules, which are
	// one change each, so both keep them (one revokes, the other finds them
	// gone).
	l = &ledgertest.Mem{}
	a, b := pace(l, t0), pace(l, t0)
	require.Equal(t, 20, a.left(t.Context()))
	require.Equal(t, 20, b.left(t.Context()))
	same := []string{"sgr-a", "sgr-b", "sgr-c"}
	ca, cb := claimRules(l, a, same), claimRules(l, b, same)
	require.Equal(t, 3, a.confirm(t.Context(), ca, 3))
	require.Equal(t, 3, b.confirm(t.Context(), cb, 3))
	require.Equal(t, 17, pace(l, t0).left(t.Context()), "three rules of the minute's twenty")

	// Five runs read at once, then claim and confirm in every order.
	for round := range 20 {
		l := &ledgertest.Mem{}
		runs := make([]*minutePace, 5)
		for i := range runs {
			runs[i] = pace(l, t0.Add(time.Duration(i)*time.Millisecond))
			require.Equal(t, 20, runs[i].left(t.Context()))
		}
		var mu sync.Mutex
		stood := 0
		var wg sync.WaitGroup
		for i, p := range runs {
			wg.Go(func() {
				n := 4 + (i+round)%10
				k := p.confirm(t.Context(), claim(l, p, n), n)
				mu.Lock()
				stood += k
				mu.Unlock()
			})
		}
		wg.Wait()
		require.LessOrEqual(t, stood, 20, "round %d: changes that stand in one minute", round)
	}
}

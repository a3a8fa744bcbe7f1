package exposure

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/porthygiene/porthygiene/shared/rule"
)

func TestTrace(t *testing.T) {
	rules := []rule.Rule{
		mk("accept-443", "tcp 443/443 0.0.0.0/0 accept 1"),
		mk("accept-all-low", "tcp 1/65535 0.0.0.0/0 accept 100"),
		mk("drop-443-google", "tcp 443/443 8.8.8.0/24 drop 1"),
		mk("office", "tcp 443/443 pl-office accept 1"),
		mk("corp-443", "tcp 443/443 10.0.0.0/8 accept 1"),
		mk("udp-443", "udp 443/443 0.0.0.0/0 accept 1"),
	}
	from := netip.MustParseAddr("8.8.8.8")
	steps := Trace(rules, PrefixLists{}, Packet{Protocol: rule.TCP, Port: 443, Addr: from})
	var got []string
	for _, s := range steps {
		got = append(got, s.Rule.ID+":"+string(s.Peer))
	}
	// Drop first at priority 1, then accepts at 1 in input order, then 100;
	// the udp rule is not weighed at all.
	want := []string{"drop-443-google:match", "accept-443:match", "office:unknown", "corp-443:no-match", "accept-all-low:match"}
	if len(got) != len(want) {
		t.Fatalf("Trace = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Trace = %v, want %v", got, want)
		}
	}
	if v := Decide(rules, PrefixLists{}, Packet{Protocol: rule.TCP, Port: 443, Addr: from}); v.Rule != steps[0].Rule {
		t.Fatalf("Decide picked %v, Trace's first match is %v", v.Rule.ID, steps[0].Rule.ID)
	}
	if s := Trace(rules, PrefixLists{}, Packet{Protocol: rule.TCP, Port: 444, Addr: netip.MustParseAddr("10.1.1.1")}); len(s) != 1 || s[0].Rule.ID != "accept-all-low" {
		t.Fatalf("Trace(444) = %v", s)
	}
}

// TestTraceAgreesWithDecide: on random rule sets, the first matching step of
// Trace is the rule Decide returns, and the steps are in Decide's order.
func TestTraceAgreesWithDecide(t *testing.T) {
	rnd := rand.New(rand.NewPCG(6, 6))
	for range 500 {
		c := randCase(rnd, true)
		for range 20 {
			p := Packet{
				Direction: []rule.Direction{rule.Ingress, rule.Egress}[rnd.IntN(2)],
				Protocol:  []rule.Protocol{rule.TCP, rule.UDP, rule.ICMP}[rnd.IntN(3)],
				Port:      ports[rnd.IntN(len(ports))],
				Addr:      randPrefix(rnd, rnd.IntN(4) == 0).Addr(),
			}
			v := Decide(c.rules, c.pls, p)
			steps := Trace(c.rules, c.pls, p)
			var first *rule.Rule
			for i, s := range steps {
				if i > 0 && keyOf(s.Rule, 0).prio < keyOf(steps[i-1].Rule, 0).prio {
					t.Fatalf("steps out of priority order: %v", steps)
				}
				if s.Peer == PeerMatches && first == nil {
					first = s.Rule
				}
			}
			if first != v.Rule {
				t.Fatalf("Trace's first match %v, Decide's rule %v (packet %+v)", first, v.Rule, p)
			}
		}
	}
}

package exposure_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

func ExampleEvaluator_Evaluate() {
	world := rule.Peer{Kind: rule.PeerCIDR4, Prefix: netip.MustParsePrefix("0.0.0.0/0")}
	rules := []rule.Rule{
		{GroupID: "sg-1", ID: "sgr-ssh", Direction: rule.Ingress, Protocol: rule.TCP, Ports: rule.PortRange{From: 22, To: 22}, Peer: world, Policy: rule.Accept, Priority: 1},
		{GroupID: "sg-1", ID: "sgr-web", Direction: rule.Ingress, Protocol: rule.TCP, Ports: rule.PortRange{From: 443, To: 443}, Peer: world, Policy: rule.Accept, Priority: 1},
		{GroupID: "sg-1", ID: "sgr-gre", Direction: rule.Ingress, Protocol: rule.GRE, Ports: rule.AnyPort, Peer: world, Policy: rule.Accept, Priority: 1},
	}
	ev, err := exposure.New(policy.Default())
	if err != nil {
		panic(err)
	}
	rep := ev.Evaluate(exposure.Input{Rules: rules, Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	for _, f := range rep.Findings {
		fmt.Println(f.RuleID, f.Ports, f.Services, f.Severity)
	}
	// Output:
	// sgr-ssh [22] [ssh] critical
}

func ExampleDecide() {
	rules := []rule.Rule{
		{Direction: rule.Ingress, Protocol: rule.TCP, Ports: rule.PortRange{From: 22, To: 22},
			Peer: rule.Peer{Kind: rule.PeerCIDR4, Prefix: netip.MustParsePrefix("0.0.0.0/0")}, Policy: rule.Accept, Priority: 5},
		{Direction: rule.Ingress, Protocol: rule.All, Ports: rule.AnyPort,
			Peer: rule.Peer{Kind: rule.PeerCIDR4, Prefix: netip.MustParsePrefix("198.51.100.0/24")}, Policy: rule.Drop, Priority: 5},
	}
	for _, a := range []string{"203.0.113.9", "198.51.100.7"} {
		v := exposure.Decide(rules, nil, exposure.Packet{Protocol: rule.TCP, Port: 22, Addr: netip.MustParseAddr(a)})
		fmt.Println(a, v.Allowed, v.Rule.Policy)
	}
	// Output:
	// 203.0.113.9 true accept
	// 198.51.100.7 false drop
}

package exposure

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// realisticGroup is a 200-rule group as they look after a few years of use:
// partner and office addresses on application ports, VPC ranges, peer
// groups, ICMP, a blocklist of drops, prefix lists, egress rules, and a
// handful of internet-wide rules (web, one forgotten SSH, an ALL rule
// shadowed by a drop, an app port range).
func realisticGroup() ([]rule.Rule, PrefixLists) {
	var rules []rule.Rule
	add := func(spec string) {
		r := mk(fmt.Sprintf("sgr-%03d", len(rules)), spec)
		rules = append(rules, r)
	}
	appPorts := []int{22, 3306, 5432, 6379, 8000, 8080, 8443, 9000, 9090, 9200}
	for i := range 110 { // partners and offices: public /32s and /24s on app ports
		port := appPorts[i%len(appPorts)]
		cidr := fmt.Sprintf("%d.%d.%d.%d/32", 20+i%80, i%250, (i*7)%250, 1+i%200)
		if i%3 == 0 {
			cidr = fmt.Sprintf("%d.%d.%d.0/24", 30+i%60, i%250, (i*11)%250)
		}
		add(fmt.Sprintf("tcp %d/%d %s accept %d", port, port, cidr, 1+i%50))
	}
	for i := range 30 { // the VPC and peered VPCs
		specs := []string{"all -1/-1 10.%d.0.0/16 accept 10", "tcp 1/65535 172.16.%d.0/24 accept 20", "udp 53/53 192.168.%d.0/24 accept 5"}
		add(fmt.Sprintf(specs[i%3], i))
	}
	for i := range 15 { // peer groups
		add(fmt.Sprintf("tcp %d/%d sg-peer%02d accept 1", 8000+i, 8000+i, i))
	}
	for i := range 10 { // ping from monitoring
		add(fmt.Sprintf("icmp -1/-1 %d.%d.%d.0/24 accept 30", 40+i, i, i))
	}
	for i := range 8 { // blocklist
		add(fmt.Sprintf("all -1/-1 %d.%d.%d.%d/32 drop 1", 45+i, 3*i, 5*i, 7*i+1))
	}
	for i := range 5 {
		add(fmt.Sprintf("tcp 443/443 pl-office%d accept 1", i))
	}
	for i := range 10 {
		add(fmt.Sprintf("tcp %d/%d 0.0.0.0/0 accept 1", 1000+i, 1000+i))
		rules[len(rules)-1].Direction = rule.Egress
	}
	// The internet-wide ones.
	add("tcp 80/80 0.0.0.0/0 accept 1")
	add("tcp 443/443 0.0.0.0/0 accept 1")
	add("tcp 443/443 ::/0 accept 1")
	add("tcp 22/22 0.0.0.0/0 accept 60")
	add("all -1/-1 0.0.0.0/0 accept 100")
	add("all -1/-1 0.0.0.0/0 drop 99")
	add("tcp 8080/8090 0.0.0.0/0 accept 50")
	add("udp 500/500 0.0.0.0/0 accept 1")
	add("udp 4500/4500 0.0.0.0/0 accept 1")
	add("tcp 3389/3389 ::/0 drop 1")
	add("tcp 3389/3389 0.0.0.0/0 drop 1")
	add("tcp 21/21 11.0.0.0/9 accept 1")
	for len(rules) < 200 {
		add(fmt.Sprintf("tcp 9300/9300 10.%d.0.0/16 accept 3", len(rules)))
	}
	pls := PrefixLists{}
	for i := range 5 {
		pls[fmt.Sprintf("pl-office%d", i)] = []netip.Prefix{
			netip.MustParsePrefix(fmt.Sprintf("%d.0.113.0/24", 60+i)),
			netip.MustParsePrefix(fmt.Sprintf("2400:%x::/48", i+1)),
		}
	}
	return rules, pls
}

func TestRealisticGroup(t *testing.T) {
	rules, pls := realisticGroup()
	if len(rules) != 200 {
		t.Fatalf("%d rules", len(rules))
	}
	rep, err := Evaluate(nil, Input{Rules: rules, PrefixLists: pls, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int{}
	for _, f := range rep.Findings {
		got[f.Rule.Peer.String()+" "+f.PortRange] = f.Ports
	}
	want := map[string][]int{
		"0.0.0.0/0 22/22":     {22},
		"0.0.0.0/0 8080/8090": {},
		"0.0.0.0/0 500/500":   {},
		"0.0.0.0/0 4500/4500": {},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
}

func BenchmarkEvaluate200Rules(b *testing.B) {
	rules, pls := realisticGroup()
	e, err := New(policy.Default())
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Rules: rules, PrefixLists: pls, Now: now}
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(in)
	}
}

func BenchmarkDecide200Rules(b *testing.B) {
	rules, pls := realisticGroup()
	p := Packet{Protocol: rule.TCP, Port: 22, Addr: netip.MustParseAddr("8.8.8.8")}
	b.ReportAllocs()
	for b.Loop() {
		Decide(rules, pls, p)
	}
}

// BenchmarkEvaluate200RulesWideOpen is the same group without the deny-all:
// the ALL 0.0.0.0/0 accept opens every port, so every port interval is
// judged in full. A worst case, not the target.
func BenchmarkEvaluate200RulesWideOpen(b *testing.B) {
	rules, pls := realisticGroup()
	for i := range rules {
		if rules[i].Protocol == rule.All && rules[i].Policy == rule.Drop && rules[i].Peer.Prefix.Bits() == 0 {
			rules[i].Policy = rule.Accept
		}
	}
	e, err := New(policy.Default())
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Rules: rules, PrefixLists: pls, Now: now}
	b.ReportAllocs()
	for b.Loop() {
		e.Evaluate(in)
	}
}

package exposure

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/porthygiene/porthygiene/shared/policy"
)

// policy.Thresholds.InternetWide restates the evaluator's internet-wide test
// (policy cannot import this package): it must give the evaluator's answer,
// computed here with the evaluator's own public space, sizes and thresholds.
func TestPolicyInternetWideAgrees(t *testing.T) {
	wide := func(thr policy.Thresholds, ps []netip.Prefix) bool {
		var sets [2][]ival
		for _, p := range ps {
			f, v := prefixIval(p)
			sets[f] = append(sets[f], v)
		}
		for f, n := range [2]int{thr.IPv4PrefixLen, thr.IPv6PrefixLen} {
			var count u128
			for _, v := range normalize(sets[f]) {
				count = count.add(publicSize(public[f], v))
			}
			if threshold(f, n).less(count) {
				return true
			}
		}
		return false
	}
	check := func(thr policy.Thresholds, ps []netip.Prefix) {
		t.Helper()
		if got, want := thr.InternetWide(ps...), wide(thr, ps); got != want {
			t.Fatalf("thresholds %+v, prefixes %v: policy says internet-wide %v, the evaluator %v", thr, ps, got, want)
		}
	}

	// Every edge of the public space, with the neighbouring addresses.
	thr := policy.Thresholds{IPv4PrefixLen: 32, IPv6PrefixLen: 128}
	for f := range public {
		for _, v := range public[f] {
			for _, x := range []u128{v.lo, v.hi, v.lo.dec(), v.hi.inc()} {
				check(thr, []netip.Prefix{netip.PrefixFrom(u128Addr(f, x), u128Addr(f, x).BitLen())})
			}
		}
	}
	rnd := rand.New(rand.NewPCG(10, 3))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		thr := policy.Thresholds{
			IPv4PrefixLen: []int{0, 1, 4, 8, 9, 16, 32}[rnd.IntN(7)],
			IPv6PrefixLen: []int{0, 3, 4, 16, 17, 64, 128}[rnd.IntN(7)],
		}
		var ps []netip.Prefix
		for range 1 + rnd.IntN(5) {
			ps = append(ps, randPrefix(rnd, rnd.IntN(3) == 0))
		}
		check(thr, ps)
	}
}

// u128Addr is the address x of family f (the inverse of addrU128).
func u128Addr(f int, x u128) netip.Addr {
	if f == v4 {
		return netip.AddrFrom4([4]byte{byte(x.lo >> 24), byte(x.lo >> 16), byte(x.lo >> 8), byte(x.lo)})
	}
	var b [16]byte
	for i := range 8 {
		b[i] = byte(x.hi >> (56 - 8*i))
		b[8+i] = byte(x.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

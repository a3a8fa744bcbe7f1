package exposure

import (
	"math/bits"
	"net/netip"
	"slices"
)

// Address arithmetic: addresses of one family as unsigned 128-bit integers,
// sets of addresses as sorted, disjoint, non-adjacent inclusive intervals.

const (
	v4 = 0
	v6 = 1
)

type u128 struct{ hi, lo uint64 }

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, _ := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func (a u128) sub(b u128) u128 {
	lo, c := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, c)
	return u128{hi, lo}
}

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }
func (a u128) isZero() bool     { return a.hi == 0 && a.lo == 0 }
func (a u128) inc() u128        { return a.add(u128{0, 1}) }
func (a u128) dec() u128        { return a.sub(u128{0, 1}) }
func cmp128(a, b u128) int {
	switch {
	case a.less(b):
		return -1
	case b.less(a):
		return 1
	}
	return 0
}

func max128(a, b u128) u128 {
	if a.less(b) {
		return b
	}
	return a
}

func min128(a, b u128) u128 {
	if a.less(b) {
		return a
	}
	return b
}

// pow2 is 2^n for n in 0..127.
func pow2(n int) u128 {
	if n >= 64 {
		return u128{1 << (n - 64), 0}
	}
	return u128{0, 1 << n}
}

// ival is the inclusive interval [lo, hi].
type ival struct{ lo, hi u128 }

// size is hi-lo+1; it must not be the whole 2^128 space (callers only size
// public parts, which are far smaller).
func (v ival) size() u128 { return v.hi.sub(v.lo).inc() }

func addrU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	return u128{hi, lo}
}

// family of an address: v4 for IPv4 and IPv4-mapped IPv6 (unmapped first).
func family(a netip.Addr) int {
	if a.Is4() {
		return v4
	}
	return v6
}

// prefixIval returns the family and interval of a (valid) prefix, masked.
func prefixIval(p netip.Prefix) (int, ival) {
	p = p.Masked()
	a := p.Addr()
	lo := addrU128(a)
	width := 128
	fam := v6
	if a.Is4() {
		width, fam = 32, v4
	}
	host := width - p.Bits() // number of host bits
	var mask u128
	switch {
	case host >= 128:
		mask = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		mask = u128{1<<(host-64) - 1, ^uint64(0)}
	case host > 0:
		mask = u128{0, 1<<host - 1}
	}
	return fam, ival{lo, u128{lo.hi | mask.hi, lo.lo | mask.lo}}
}

// normalize sorts and merges intervals (overlapping or adjacent) in place.
func normalize(s []ival) []ival {
	if len(s) < 2 {
		return s
	}
	slices.SortFunc(s, func(a, b ival) int { return cmp128(a.lo, b.lo) })
	out := s[:1]
	for _, v := range s[1:] {
		last := &out[len(out)-1]
		if touches(last.hi, v.lo) {
			if last.hi.less(v.hi) {
				last.hi = v.hi
			}
			continue
		}
		out = append(out, v)
	}
	return out
}

// search returns the index of the first interval of s whose hi >= x.
func search(s []ival, x u128) int {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s[m].hi.less(x) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// insert adds v to the normalized set s, keeping it normalized.
func insert(s []ival, v ival) []ival {
	// First interval that could touch v: hi >= v.lo-1.
	from := v.lo
	if !from.isZero() {
		from = from.dec()
	}
	start := search(s, from)
	end := start
	for end < len(s) && touches(v.hi, s[end].lo) {
		end++
	}
	if start < end {
		v.lo = min128(v.lo, s[start].lo)
		v.hi = max128(v.hi, s[end-1].hi)
	}
	return slices.Replace(s, start, end, v)
}

var maxU128 = u128{^uint64(0), ^uint64(0)}

// touches reports whether an interval ending at hi overlaps or is adjacent to
// one starting at lo (lo <= hi+1).
func touches(hi, lo u128) bool { return hi == maxU128 || !hi.inc().less(lo) }

// publicSize is the number of addresses of v inside pub (normalized).
func publicSize(pub []ival, v ival) u128 {
	var n u128
	for i := search(pub, v.lo); i < len(pub) && !v.hi.less(pub[i].lo); i++ {
		lo, hi := max128(v.lo, pub[i].lo), min128(v.hi, pub[i].hi)
		n = n.add(ival{lo, hi}.size())
	}
	return n
}

// publicSizeMinus is the number of public addresses of the set a that are
// not in the set covered (both normalized).
func publicSizeMinus(pub, a, covered []ival) u128 {
	var n u128
	for _, v := range a {
		cur := v.lo
		done := false
		for i := search(covered, v.lo); i < len(covered) && !v.hi.less(covered[i].lo); i++ {
			c := covered[i]
			if cur.less(c.lo) {
				n = n.add(publicSize(pub, ival{cur, c.lo.dec()}))
			}
			if !c.hi.less(v.hi) {
				done = true
				break
			}
			cur = c.hi.inc()
		}
		if !done {
			n = n.add(publicSize(pub, ival{cur, v.hi}))
		}
	}
	return n
}

// The public address space: what the internet can send from. Everything
// else (private, shared, loopback, link-local, documentation, benchmarking,
// multicast, reserved) is not internet.
var (
	nonPublic4 = []string{
		"0.0.0.0/8",       // "this network"
		"10.0.0.0/8",      // RFC 1918
		"100.64.0.0/10",   // shared address space (CGNAT), RFC 6598
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local
		"172.16.0.0/12",   // RFC 1918
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // TEST-NET-1
		"192.88.99.0/24",  // deprecated 6to4 relay anycast
		"192.168.0.0/16",  // RFC 1918
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // TEST-NET-2
		"203.0.113.0/24",  // TEST-NET-3
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, broadcast
	}
	// IPv6: global unicast 2000::/3 minus these; the rest of the space
	// (::1, ::/128, ::ffff:0:0/96, 64:ff9b::/96, fc00::/7, fe80::/10,
	// ff00::/8, …) lies outside 2000::/3 and is not internet either.
	nonPublic6 = []string{
		"2001:2::/48",   // benchmarking
		"2001:db8::/32", // documentation
		"3fff::/20",     // documentation (RFC 9637)
	}
	public = [2][]ival{
		complement(v4, ival{u128{}, u128{0, 1<<32 - 1}}, nonPublic4),
		complement(v6, mustIval("2000::/3"), nonPublic6),
	}
	// publicTotal is the size of the public space of each family.
	publicTotal = [2]u128{sumSizes(public[v4]), sumSizes(public[v6])}
)

func mustIval(s string) ival {
	_, v := prefixIval(netip.MustParsePrefix(s))
	return v
}

func complement(fam int, within ival, holes []string) []ival {
	var hs []ival
	for _, h := range holes {
		f, v := prefixIval(netip.MustParsePrefix(h))
		if f != fam {
			panic("exposure: family mismatch in " + h)
		}
		hs = append(hs, v)
	}
	hs = normalize(hs)
	var out []ival
	cur := within.lo
	for _, h := range hs {
		if cur.less(h.lo) {
			out = append(out, ival{cur, h.lo.dec()})
		}
		cur = h.hi.inc()
	}
	if !within.hi.less(cur) {
		out = append(out, ival{cur, within.hi})
	}
	return out
}

func sumSizes(s []ival) u128 {
	var n u128
	for _, v := range s {
		n = n.add(v.size())
	}
	return n
}

// IsPublic reports whether a is in the public address space (see the package
// documentation).
func IsPublic(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() {
		return false
	}
	fam := family(a)
	x := addrU128(a)
	i := search(public[fam], x)
	return i < len(public[fam]) && !x.less(public[fam][i].lo)
}

// threshold is the number of public addresses a port's exposure must exceed
// to be internet-wide: half of a /n, capped at the public space minus one so
// that the whole public space always counts (IPv6 public space is 2^125
// addresses, less than half of ::/0).
func threshold(fam, n int) u128 {
	width := 32
	if fam == v6 {
		width = 128
	}
	host := width - n
	var t u128
	if host >= 1 {
		t = pow2(host - 1)
	}
	return min128(t, publicTotal[fam].dec())
}

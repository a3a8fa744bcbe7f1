package policy

import (
	"math/big"
	"net/netip"
	"slices"
)

// The internet-wide test of the evaluator (shared/exposure, which imports this
// package and so cannot be imported here), restated for the policy's own use:
// a set of prefixes is internet-wide when the public addresses it holds
// outnumber half of a /N, capped at the public space minus one. The public
// space below must stay the evaluator's: shared/exposure's tests compare the
// two on random prefix sets.

const (
	fam4 = 0
	fam6 = 1
)

var (
	nonPublic4 = []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
		"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	}
	nonPublic6  = []string{"2001:2::/48", "2001:db8::/32", "3fff::/20"}
	publicSpace = [2][]span{
		complementOf(prefixSpan(netip.MustParsePrefix("0.0.0.0/0")), nonPublic4),
		complementOf(prefixSpan(netip.MustParsePrefix("2000::/3")), nonPublic6),
	}
	publicTotal = [2]*big.Int{spansSize(publicSpace[fam4]), spansSize(publicSpace[fam6])}
)

// span is the inclusive address interval [lo, hi] as integers.
type span struct{ lo, hi *big.Int }

func (s span) size() *big.Int {
	n := new(big.Int).Sub(s.hi, s.lo)
	return n.Add(n, big.NewInt(1))
}

func prefixFamily(p netip.Prefix) int {
	if p.Addr().Is4() {
		return fam4
	}
	return fam6
}

// prefixSpan returns the addresses of a valid prefix.
func prefixSpan(p netip.Prefix) span {
	p = p.Masked()
	lo := new(big.Int).SetBytes(p.Addr().AsSlice())
	host := p.Addr().BitLen() - p.Bits()
	hi := new(big.Int).Lsh(big.NewInt(1), uint(host))
	hi.Sub(hi, big.NewInt(1))
	return span{lo, hi.Or(hi, lo)}
}

// mergeSpans sorts and merges overlapping or adjacent spans.
func mergeSpans(s []span) []span {
	slices.SortFunc(s, func(a, b span) int { return a.lo.Cmp(b.lo) })
	var out []span
	for _, v := range s {
		if n := len(out); n > 0 {
			next := new(big.Int).Add(out[n-1].hi, big.NewInt(1))
			if v.lo.Cmp(next) <= 0 {
				if v.hi.Cmp(out[n-1].hi) > 0 {
					out[n-1].hi = v.hi
				}
				continue
			}
		}
		out = append(out, span{v.lo, v.hi})
	}
	return out
}

func complementOf(within span, holes []string) []span {
	var hs []span
	for _, h := range holes {
		hs = append(hs, prefixSpan(netip.MustParsePrefix(h)))
	}
	var out []span
	cur := within.lo
	for _, h := range mergeSpans(hs) {
		if cur.Cmp(h.lo) < 0 {
			out = append(out, span{cur, new(big.Int).Sub(h.lo, big.NewInt(1))})
		}
		cur = new(big.Int).Add(h.hi, big.NewInt(1))
	}
	if cur.Cmp(within.hi) <= 0 {
		out = append(out, span{cur, within.hi})
	}
	return out
}

func spansSize(s []span) *big.Int {
	n := new(big.Int)
	for _, v := range s {
		n.Add(n, v.size())
	}
	return n
}

// publicAddresses counts the public addresses of family fam that the valid
// prefixes of that family hold together (overlaps counted once).
func publicAddresses(fam int, prefixes []netip.Prefix) *big.Int {
	var s []span
	for _, p := range prefixes {
		if p.IsValid() && prefixFamily(p) == fam {
			s = append(s, prefixSpan(p))
		}
	}
	n := new(big.Int)
	for _, v := range mergeSpans(s) {
		for _, pub := range publicSpace[fam] {
			lo, hi := maxInt(v.lo, pub.lo), minInt(v.hi, pub.hi)
			if lo.Cmp(hi) <= 0 {
				n.Add(n, span{lo, hi}.size())
			}
		}
	}
	return n
}

func maxInt(a, b *big.Int) *big.Int {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

func minInt(a, b *big.Int) *big.Int {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}

// wideThreshold is the number of public addresses that must be exceeded:
// half of a /n, capped at the public space minus one so that the whole public
// space always counts.
func wideThreshold(fam, n int) *big.Int {
	width := 32
	if fam == fam6 {
		width = 128
	}
	t := new(big.Int)
	if host := width - n; host >= 1 {
		t.Lsh(big.NewInt(1), uint(host-1))
	}
	return minInt(t, new(big.Int).Sub(publicTotal[fam], big.NewInt(1)))
}

// InternetWide reports whether prefixes, together, hold more public addresses
// than half of a /IPv4PrefixLen (IPv4) or of a /IPv6PrefixLen (IPv6): whether
// shared/exposure would judge a port open to all of them internet-wide.
// So with the defaults (8, 16) 0.0.0.0/0, ::/0, 2000::/3, 0.0.0.0/1 and
// 1.0.0.0/8 are, 10.0.0.0/8 and a lone public /9 are not, and two public /9s
// that make a /8 are. Invalid prefixes count for nothing.
func (t Thresholds) InternetWide(prefixes ...netip.Prefix) bool {
	return t.wide(fam4, prefixes) || t.wide(fam6, prefixes)
}

func (t Thresholds) wide(fam int, prefixes []netip.Prefix) bool {
	n := t.IPv4PrefixLen
	if fam == fam6 {
		n = t.IPv6PrefixLen
	}
	return publicAddresses(fam, prefixes).Cmp(wideThreshold(fam, n)) > 0
}

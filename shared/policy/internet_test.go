package policy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInternetWide(t *testing.T) {
	def := Thresholds{IPv4PrefixLen: 8, IPv6PrefixLen: 16}
	tests := []struct {
		name  string
		thr   Thresholds
		cidrs []string
		want  bool
	}{
		{"the IPv4 internet", def, []string{"0.0.0.0/0"}, true},
		{"half of IPv4", def, []string{"0.0.0.0/1"}, true},
		{"the other half", def, []string{"128.0.0.0/1"}, true},
		{"a public /8", def, []string{"1.0.0.0/8"}, true},
		{"172/8 around its private /12 is mostly public", def, []string{"172.0.0.0/8"}, true},
		{"a public /9 alone is not", def, []string{"1.0.0.0/9"}, false},
		{"two public /9s make a /8", def, []string{"1.0.0.0/9", "1.128.0.0/9"}, true},
		{"overlapping /9s count once", def, []string{"1.0.0.0/9", "1.0.0.0/9", "1.0.0.0/10"}, false},
		{"10/8 is private", def, []string{"10.0.0.0/8"}, false},
		{"all of RFC 1918 and CGNAT", def, []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"}, false},
		{"multicast and reserved", def, []string{"224.0.0.0/3"}, false},
		{"a /9 plus private space is not", def, []string{"1.0.0.0/9", "10.0.0.0/8", "127.0.0.0/8"}, false},
		{"a public /9 plus one address more is", def, []string{"1.0.0.0/9", "1.128.0.0/32"}, true},
		{"the IPv6 internet", def, []string{"::/0"}, true},
		{"global unicast", def, []string{"2000::/3"}, true},
		{"a public IPv6 /16", def, []string{"2400::/16"}, true},
		{"a public IPv6 /17", def, []string{"2400::/17"}, false},
		{"unique local", def, []string{"fc00::/7"}, false},
		{"IPv4-mapped IPv6 is not public", def, []string{"::ffff:0.0.0.0/96"}, false},
		{"documentation /32", def, []string{"2001:db8::/32"}, false},
		{"families do not add up", def, []string{"1.0.0.0/9", "2400::/17"}, false},
		{"office /24", def, []string{"203.0.114.0/24"}, false},
		{"none", def, nil, false},
		{"threshold /32: any public address", Thresholds{32, 128}, []string{"8.8.8.8/32"}, true},
		{"threshold /32: private stays fine", Thresholds{32, 128}, []string{"10.1.2.3/32", "fd00::1/128"}, false},
		{"threshold /128: any public IPv6 address", Thresholds{32, 128}, []string{"2400::1/128"}, true},
		{"threshold /0: half of IPv4 is not", Thresholds{0, 0}, []string{"0.0.0.0/1"}, false},
		{"threshold /0: three quarters of IPv4 is", Thresholds{0, 0}, []string{"0.0.0.0/1", "128.0.0.0/2"}, true},
		{"threshold /0: the whole IPv4 internet", Thresholds{0, 0}, []string{"0.0.0.0/0"}, true},
		{"threshold /0: the whole IPv6 internet", Thresholds{0, 0}, []string{"2000::/3"}, true},
		{"threshold /0: 2000::/3 minus a bit is not", Thresholds{0, 0}, []string{"2000::/4", "3000::/5"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []netip.Prefix
			for _, c := range tt.cidrs {
				ps = append(ps, netip.MustParsePrefix(c))
			}
			require.Equal(t, tt.want, tt.thr.InternetWide(ps...))
		})
	}
	require.False(t, def.InternetWide(netip.Prefix{}), "an invalid prefix counts for nothing")
}

func TestTrustedCIDRsValidation(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // one line per error, in order; nil: valid
	}{
		{"office and bastion", "replace: {trustedCidrs: [203.0.114.0/24, 198.51.100.7, 2400:cb00::/32]}\n", nil},
		{"private /8", "replace: {trustedCidrs: [10.0.0.0/8]}\n", nil},
		{"a lone public /9", "replace: {trustedCidrs: [1.0.0.0/9]}\n", nil},
		{"world", "replace: {trustedCidrs: [0.0.0.0/0]}\n",
			[]string{"policy.yaml:1: replace.trustedCidrs[0]: 0.0.0.0/0 is internet-wide"}},
		{"halves, each internet-wide alone", "replace:\n  trustedCidrs:\n    - 0.0.0.0/1\n    - 128.0.0.0/1\n",
			[]string{"policy.yaml:3: replace.trustedCidrs[0]: 0.0.0.0/1 is internet-wide", "policy.yaml:4: replace.trustedCidrs[1]: 128.0.0.0/1 is internet-wide"}},
		{"two /9s together", "replace:\n  trustedCidrs: [1.0.0.0/9, 1.128.0.0/9]\n",
			[]string{"policy.yaml:2: replace.trustedCidrs: 1.0.0.0/9, 1.128.0.0/9 together are internet-wide"}},
		{"both families", "replace: {trustedCidrs: [\"::/0\", 1.0.0.0/8]}\n",
			[]string{"replace.trustedCidrs[0]: ::/0 is internet-wide (more public addresses than half of a /16", "replace.trustedCidrs[1]: 1.0.0.0/8 is internet-wide (more public addresses than half of a /8"}},
		{"threshold follows the policy", "thresholds: {ipv4PrefixLen: 32}\nreplace: {trustedCidrs: [198.51.100.7, 8.8.8.8]}\n",
			[]string{"replace.trustedCidrs[1]: 8.8.8.8 is internet-wide (more public addresses than half of a /32"}},
		{"a looser threshold allows a /8", "thresholds: {ipv4PrefixLen: 4}\nreplace: {trustedCidrs: [1.0.0.0/8]}\n", nil},
		{"invalid and wide", "replace: {trustedCidrs: [10.0.0.0/33, 0.0.0.0/0]}\n",
			[]string{`replace.trustedCidrs[0]: invalid CIDR "10.0.0.0/33"`, "replace.trustedCidrs[1]: 0.0.0.0/0 is internet-wide"}},
		{"bad threshold: no internet-wide verdict", "thresholds: {ipv4PrefixLen: 33}\nreplace: {trustedCidrs: [0.0.0.0/0]}\n",
			[]string{"thresholds.ipv4PrefixLen: 33 out of range 0..32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "policy.yaml")
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.want), "errors: %v", err)
			for i, w := range tt.want {
				require.Contains(t, lines[i], w)
			}
			wide := false
			for _, w := range tt.want {
				wide = wide || strings.Contains(w, "internet-wide")
			}
			require.Equal(t, wide, errors.Is(err, ErrInternetWideTrust), "errors.Is(ErrInternetWideTrust)")
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, "policy.yaml", fe.File)
		})
	}
}

package rule

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in      string
		want    PortRange
		wantErr bool
	}{
		{in: "22/22", want: PortRange{22, 22}},
		{in: " 1/65535 ", want: PortRange{1, 65535}},
		{in: "-1/-1", want: AnyPort},
		{in: "22", wantErr: true},
		{in: "22-23", wantErr: true},
		{in: "-1/22", wantErr: true},
		{in: "0/0", wantErr: true},
		{in: "+22/22", wantErr: true},
		{in: "22/ 22", wantErr: true},
		{in: "99999/99999", wantErr: true},
		{in: "00022/00022", want: PortRange{22, 22}},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePortRange(tt.in)
		if tt.wantErr {
			require.Error(t, err, "ParsePortRange(%q)", tt.in)
			continue
		}
		require.NoError(t, err, "ParsePortRange(%q)", tt.in)
		require.Equal(t, tt.want, got, "ParsePortRange(%q)", tt.in)
	}
}

func TestParsePeer(t *testing.T) {
	tests := []struct {
		in      string
		want    Peer
		wantErr bool
	}{
		{in: "0.0.0.0/0", want: Peer{Kind: PeerCIDR4, Prefix: netip.MustParsePrefix("0.0.0.0/0")}},
		{in: "203.0.113.9", want: Peer{Kind: PeerCIDR4, Prefix: netip.MustParsePrefix("203.0.113.9/32")}},
		{in: "2001:db8::1/64", want: Peer{Kind: PeerCIDR6, Prefix: netip.MustParsePrefix("2001:db8::/64")}},
		{in: "::/0", want: Peer{Kind: PeerCIDR6, Prefix: netip.MustParsePrefix("::/0")}},
		{in: "sg-bp1abc", want: Peer{Kind: PeerGroup, ID: "sg-bp1abc"}},
		{in: "pl-bp1abc", want: Peer{Kind: PeerPrefixList, ID: "pl-bp1abc"}},
		{in: "sg-", wantErr: true},
		{in: "sg-a b", wantErr: true},
		{in: "fe80::1%eth0", wantErr: true},
		{in: "1.2.3.4/-1", wantErr: true},
		{in: "example.com", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePeer(tt.in)
		if tt.wantErr {
			require.Error(t, err, "ParsePeer(%q)", tt.in)
			continue
		}
		require.NoError(t, err, "ParsePeer(%q)", tt.in)
		require.Equal(t, tt.want, got, "ParsePeer(%q)", tt.in)
		again, err := ParsePeer(got.String())
		require.NoError(t, err)
		require.Equal(t, got, again, "round trip of %q", tt.in)
	}
}

func TestPortRangeContains(t *testing.T) {
	require.True(t, AnyPort.Contains(22))
	require.True(t, PortRange{20, 25}.Contains(22))
	require.False(t, PortRange{20, 21}.Contains(22))
}

package rule

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestParseAttribute(t *testing.T) {
	a, err := ParseAttribute(readFixture(t, "attribute-basic.json"))
	require.NoError(t, err)
	require.Equal(t, "sg-bp1fg655nh68xyz9i7a0", a.GroupID)
	require.Equal(t, "cn-hangzhou", a.Region)
	require.Equal(t, "vpc-bp1opxu1zkhn00gzv26cj", a.VpcID)
	require.Equal(t, "web", a.Name)
	require.Equal(t, "web tier", a.Description)
	require.Equal(t, Accept, a.InnerAccessPolicy)
	require.Empty(t, a.NextToken)
	require.Len(t, a.Rules, 7)

	// Capitalised TCP/Accept, numeric Priority.
	require.Equal(t, Rule{
		GroupID: a.GroupID, Region: "cn-hangzhou", ID: "sgr-bp12kewq32dfwrdi0001", Direction: Ingress,
		Protocol: TCP, Ports: PortRange{22, 22}, Peer: Peer{Kind: PeerCIDR4, Prefix: netip.MustParsePrefix("0.0.0.0/0")},
		Policy: Accept, Priority: 1, NicType: "intranet", Description: "ssh from anywhere",
		CreateTime: time.Date(2018, 12, 12, 7, 28, 38, 0, time.UTC),
	}, a.Rules[0])
	// ALL -1/-1 from a group of another account, Priority as a string.
	r := a.Rules[1]
	require.Equal(t, All, r.Protocol)
	require.Equal(t, AnyPort, r.Ports)
	require.Equal(t, Peer{Kind: PeerGroup, ID: "sg-bp1other0000000000", OwnerAccount: "1234567890123456"}, r.Peer)
	require.Equal(t, 50, r.Priority)
	require.Equal(t, Drop, a.Rules[2].Policy)
	require.Equal(t, Peer{Kind: PeerCIDR6, Prefix: netip.MustParsePrefix("::/0")}, a.Rules[3].Peer)
	require.Equal(t, Peer{Kind: PeerPrefixList, ID: "pl-bp1office00000000000"}, a.Rules[4].Peer)
	// Plain IP, quintuple DestCidrIp, Priority "" (default 1), minute-only CreateTime.
	r = a.Rules[5]
	require.Equal(t, netip.MustParsePrefix("10.1.2.3/32"), r.Peer.Prefix)
	require.Equal(t, netip.MustParsePrefix("192.168.0.0/24"), r.Local)
	require.Equal(t, 1, r.Priority)
	require.Equal(t, ICMP, r.Protocol)
	// Egress peers come from Dest*.
	r = a.Rules[6]
	require.Equal(t, Egress, r.Direction)
	require.Equal(t, netip.MustParsePrefix("100.100.2.136/32"), r.Peer.Prefix)
}

func TestParseAttributePaging(t *testing.T) {
	a, err := ParseAttribute(readFixture(t, "attribute-page1.json"))
	require.NoError(t, err)
	require.NotEmpty(t, a.NextToken, "page 1 says more follow")
	require.Equal(t, Drop, a.InnerAccessPolicy)
	page2, err := ParseAttribute(readFixture(t, "attribute-page2.json"))
	require.NoError(t, err)
	require.NoError(t, a.Merge(page2))
	require.Empty(t, a.NextToken, "the merged result ends where the last page ends")
	ids := []string{}
	for _, r := range a.Rules {
		ids = append(ids, r.ID)
	}
	require.Equal(t, []string{"sgr-page1a", "sgr-page1b", "sgr-page2a"}, ids)

	other, err := ParseAttribute(readFixture(t, "attribute-empty.json"))
	require.NoError(t, err)
	require.ErrorContains(t, a.Merge(other), "does not match")
}

func TestParseAttributeShapes(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantRules int
		wantErr   string
	}{
		{name: "Empty", body: `{"SecurityGroupId":"sg-1","Permissions":{"Permission":[]}}`},
		{name: "NoPermissions", body: `{"SecurityGroupId":"sg-1"}`},
		{name: "NullPermission", body: `{"SecurityGroupId":"sg-1","Permissions":{"Permission":null}}`},
		{name: "SingleObject", wantRules: 1,
			body: `{"SecurityGroupId":"sg-1","Permissions":{"Permission":{"Direction":"ingress","IpProtocol":"TCP","PortRange":"22/22","SourceCidrIp":"1.1.1.1"}}}`},
		{name: "BareArray", wantRules: 1,
			body: `{"SecurityGroupId":"sg-1","Permissions":[{"Direction":"ingress","IpProtocol":"TCP","PortRange":"22/22","SourceCidrIp":"1.1.1.1"}]}`},
		{name: "LowercaseKeys", wantRules: 1,
			body: `{"securityGroupId":"sg-1","permissions":{"permission":[{"direction":"ingress","ipProtocol":"tcp","portRange":"22/22","sourceCidrIp":"1.1.1.1","priority":"3"}]}}`},
		{name: "NullFields", wantRules: 1,
			body: `{"SecurityGroupId":"sg-1","Permissions":{"Permission":[{"Direction":"ingress","IpProtocol":"TCP","PortRange":"22/22","SourceCidrIp":"1.1.1.1","Priority":null,"Description":null}]}}`},
		{name: "MissingGroup", body: `{"Permissions":{"Permission":[]}}`, wantErr: "missing SecurityGroupId"},
		{name: "NotJSON", body: `<xml/>`, wantErr: "parse security group attribute"},
		{name: "Array", body: `[]`, wantErr: "parse security group attribute"},
		{name: "Trailing", body: `{"SecurityGroupId":"sg-1"} x`, wantErr: "parse security group attribute"},
		{name: "BadInnerPolicy", body: `{"SecurityGroupId":"sg-1","InnerAccessPolicy":"Maybe"}`, wantErr: "InnerAccessPolicy"},
		{name: "ObjectField", body: `{"SecurityGroupId":"sg-1","Permissions":{"Permission":[{"Priority":{}}]}}`, wantErr: "want a string or a number"},
		// One bad rule fails the whole body: a listing with a hole is not judged.
		{name: "BadRule", wantErr: "permission 1: rule sgr-2: invalid port range",
			body: `{"SecurityGroupId":"sg-1","Permissions":{"Permission":[
				{"SecurityGroupRuleId":"sgr-1","Direction":"ingress","IpProtocol":"TCP","PortRange":"22/22","SourceCidrIp":"1.1.1.1"},
				{"SecurityGroupRuleId":"sgr-2","Direction":"ingress","IpProtocol":"TCP","PortRange":"22","SourceCidrIp":"1.1.1.1"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAttribute([]byte(tt.body))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, a.Rules, tt.wantRules)
		})
	}
}

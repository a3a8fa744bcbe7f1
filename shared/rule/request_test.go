package rule

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFromRequestParameters(t *testing.T) {
	cidr := func(s string) Peer {
		p, err := ParsePeer(s)
		if err != nil {
			panic(err)
		}
		return p
	}
	tests := []struct {
		name    string
		event   string
		params  string // JSON, decoded as ActionTrail records are: numbers are float64
		want    Change
		wantErr string
	}{
		{
			// The batch form, with the gateway extras ActionTrail adds.
			name:  "AuthorizePermissionsN",
			event: "AuthorizeSecurityGroup",
			params: `{"RegionId":"cn-hangzhou","SecurityGroupId":"sg-1","AcsHost":"ecs.aliyuncs.com","ClientToken":"x",
				"Permissions.1.IpProtocol":"TCP","Permissions.1.PortRange":"22/22","Permissions.1.SourceCidrIp":"0.0.0.0/0",
				"Permissions.1.Policy":"accept","Permissions.1.Priority":1,
				"Permissions.2.IpProtocol":"udp","Permissions.2.PortRange":"53/53","Permissions.2.Ipv6SourceCidrIp":"::/0"}`,
			want: Change{EventName: "AuthorizeSecurityGroup", GroupID: "sg-1", Region: "cn-hangzhou", Direction: Ingress,
				Rules: []Rule{
					{GroupID: "sg-1", Region: "cn-hangzhou", Direction: Ingress, Protocol: TCP, Ports: PortRange{22, 22},
						Peer: cidr("0.0.0.0/0"), Policy: Accept, Priority: 1, NicType: "intranet"},
					{GroupID: "sg-1", Region: "cn-hangzhou", Direction: Ingress, Protocol: UDP, Ports: PortRange{53, 53},
						Peer: cidr("::/0"), Policy: Accept, Priority: 1, NicType: "intranet"},
				}},
		},
		{
			// The deprecated flat form; keys in another case; Priority a string.
			name:  "AuthorizeLegacyFlatCaseTolerant",
			event: "authorizesecuritygroup",
			params: `{"regionId":"cn-beijing","securitygroupid":"sg-2","ipProtocol":"ALL","PORTRANGE":"-1/-1",
				"SourceCIDRIp":"10.0.0.0/8","Priority":"5","Description":"all from vpc"}`,
			want: Change{EventName: "AuthorizeSecurityGroup", GroupID: "sg-2", Region: "cn-beijing", Direction: Ingress,
				Rules: []Rule{{GroupID: "sg-2", Region: "cn-beijing", Direction: Ingress, Protocol: All, Ports: AnyPort,
					Peer: cidr("10.0.0.0/8"), Policy: Accept, Priority: 5, NicType: "intranet", Description: "all from vpc"}}},
		},
		{
			name:  "AuthorizeEgressUsesDest",
			event: "AuthorizeSecurityGroupEgress",
			params: `{"SecurityGroupId":"sg-3","Permissions.1.IpProtocol":"TCP","Permissions.1.PortRange":"443/443",
				"Permissions.1.DestCidrIp":"0.0.0.0/0","Permissions.1.Policy":"Drop"}`,
			want: Change{EventName: "AuthorizeSecurityGroupEgress", GroupID: "sg-3", Direction: Egress,
				Rules: []Rule{{GroupID: "sg-3", Direction: Egress, Protocol: TCP, Ports: PortRange{443, 443},
					Peer: cidr("0.0.0.0/0"), Policy: Drop, Priority: 1, NicType: "intranet"}}},
		},
		{
			// Permissions given whole, as a JSON string (requestParameterJson style).
			name:   "AuthorizePermissionsAsJSONString",
			event:  "AuthorizeSecurityGroup",
			params: `{"SecurityGroupId":"sg-4","Permissions":"[{\"IpProtocol\":\"TCP\",\"PortRange\":\"3389/3389\",\"SourceCidrIp\":\"0.0.0.0/0\",\"Priority\":2}]"}`,
			want: Change{EventName: "AuthorizeSecurityGroup", GroupID: "sg-4", Direction: Ingress,
				Rules: []Rule{{GroupID: "sg-4", Direction: Ingress, Protocol: TCP, Ports: PortRange{3389, 3389},
					Peer: cidr("0.0.0.0/0"), Policy: Accept, Priority: 2, NicType: "intranet"}}},
		},
		{
			name:   "AuthorizePermissionsAsArray",
			event:  "AuthorizeSecurityGroup",
			params: `{"SecurityGroupId":"sg-4","Permissions":[{"ipprotocol":"tcp","portrange":"22/22","sourcegroupid":"sg-9"}]}`,
			want: Change{EventName: "AuthorizeSecurityGroup", GroupID: "sg-4", Direction: Ingress,
				Rules: []Rule{{GroupID: "sg-4", Direction: Ingress, Protocol: TCP, Ports: PortRange{22, 22},
					Peer: Peer{Kind: PeerGroup, ID: "sg-9"}, Policy: Accept, Priority: 1, NicType: "intranet"}}},
		},
		{
			name:    "AuthorizeIncompleteRule",
			event:   "AuthorizeSecurityGroup",
			params:  `{"SecurityGroupId":"sg-1","Permissions.1.IpProtocol":"TCP","Permissions.1.SourceCidrIp":"1.2.3.4"}`,
			wantErr: "Permissions.1: invalid port range",
		},
		{
			name:   "RevokeByIDs",
			event:  "RevokeSecurityGroup",
			params: `{"SecurityGroupId":"sg-1","SecurityGroupRuleId.2":"sgr-b","SecurityGroupRuleId.1":"sgr-a","RegionId":"cn-hangzhou"}`,
			want: Change{EventName: "RevokeSecurityGroup", GroupID: "sg-1", Region: "cn-hangzhou", Direction: Ingress,
				RuleIDs: []string{"sgr-a", "sgr-b"}},
		},
		{
			// Revoke by attributes may name only some fields.
			name:   "RevokeEgressPartial",
			event:  "RevokeSecurityGroupEgress",
			params: `{"SecurityGroupId":"sg-1","Permissions.1.PortRange":"22/22","Permissions.1.DestCidrIp":"0.0.0.0/0"}`,
			want: Change{EventName: "RevokeSecurityGroupEgress", GroupID: "sg-1", Direction: Egress,
				Rules: []Rule{{GroupID: "sg-1", Direction: Egress, Ports: PortRange{22, 22}, Peer: cidr("0.0.0.0/0")}}},
		},
		{
			name:   "ModifyByID",
			event:  "ModifySecurityGroupRule",
			params: `{"SecurityGroupId":"sg-1","SecurityGroupRuleId":"sgr-x","SourceCidrIp":"0.0.0.0/0","Priority":1}`,
			want: Change{EventName: "ModifySecurityGroupRule", GroupID: "sg-1", Direction: Ingress, RuleIDs: []string{"sgr-x"},
				Rules: []Rule{{GroupID: "sg-1", Direction: Ingress, Peer: cidr("0.0.0.0/0"), Priority: 1}}},
		},
		{
			name:   "ModifyEgressDescriptionOnly",
			event:  "ModifySecurityGroupEgressRule",
			params: `{"SecurityGroupId":"sg-1","SecurityGroupRuleId":"sgr-y","Description":"new"}`,
			want: Change{EventName: "ModifySecurityGroupEgressRule", GroupID: "sg-1", Direction: Egress, RuleIDs: []string{"sgr-y"},
				Rules: []Rule{{GroupID: "sg-1", Direction: Egress, Description: "new"}}},
		},
		{
			name:   "BooleanAndNullValues",
			event:  "RevokeSecurityGroup",
			params: `{"SecurityGroupId":"sg-1","DryRun":false,"SecurityGroupRuleId.1":"sgr-a","Description":null}`,
			want: Change{EventName: "RevokeSecurityGroup", GroupID: "sg-1", Direction: Ingress,
				RuleIDs: []string{"sgr-a"}, Rules: []Rule{{GroupID: "sg-1", Direction: Ingress}}},
		},
		{name: "UnknownEvent", event: "DeleteSecurityGroup", params: `{"SecurityGroupId":"sg-1"}`, wantErr: `unsupported event "DeleteSecurityGroup"`},
		{name: "MissingGroup", event: "RevokeSecurityGroup", params: `{"SecurityGroupRuleId.1":"sgr-a"}`, wantErr: "missing SecurityGroupId"},
		{name: "Nothing", event: "RevokeSecurityGroup", params: `{"SecurityGroupId":"sg-1"}`, wantErr: "no permission"},
		{name: "BadIndex", event: "AuthorizeSecurityGroup", params: `{"SecurityGroupId":"sg-1","Permissions.x.IpProtocol":"tcp"}`, wantErr: "Permissions.N"},
		{name: "ObjectValue", event: "AuthorizeSecurityGroup", params: `{"SecurityGroupId":"sg-1","IpProtocol":{"a":1}}`, wantErr: "unsupported value"},
		{name: "BadPartialValue", event: "RevokeSecurityGroup", params: `{"SecurityGroupId":"sg-1","PortRange":"x"}`, wantErr: "invalid port range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var params map[string]any
			require.NoError(t, json.Unmarshal([]byte(tt.params), &params))
			got, err := FromRequestParameters(tt.event, params)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFromRequestParametersGoValues(t *testing.T) {
	// Callers that build the map in Go may use ints and json.Number.
	got, err := FromRequestParameters("AuthorizeSecurityGroup", map[string]any{
		"SecurityGroupId": "sg-1", "IpProtocol": "tcp", "PortRange": "80/80",
		"SourceCidrIp": "198.51.100.0/24", "Priority": 3, "NicType": json.Number("1"),
	})
	require.NoError(t, err)
	require.Len(t, got.Rules, 1)
	require.Equal(t, 3, got.Rules[0].Priority)
	require.Equal(t, netip.MustParsePrefix("198.51.100.0/24"), got.Rules[0].Peer.Prefix)
}

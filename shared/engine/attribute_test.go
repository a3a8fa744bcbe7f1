package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/rule"
)

func TestOpenedBy(t *testing.T) {
	ssh, err := rule.Permission{SecurityGroupRuleId: "sgr-ssh", Direction: "ingress", IpProtocol: "tcp", PortRange: "22/22", SourceCidrIp: "0.0.0.0/0",
		Policy: "accept", Priority: "1"}.Rule("sg-1", "cn-hangzhou")
	require.NoError(t, err)
	cases := []struct {
		name   string
		event  string
		params map[string]string
		want   bool
	}{
		{"Permissions.N names it (any case)", "AuthorizeSecurityGroup", map[string]string{"SecurityGroupId": "sg-1",
			"Permissions.1.IpProtocol": "TCP", "Permissions.1.PortRange": "443/443", "Permissions.1.SourceCidrIp": "0.0.0.0/0",
			"Permissions.2.IpProtocol": "TCP", "Permissions.2.PortRange": "22/22", "Permissions.2.SourceCidrIp": "0.0.0.0/0", "Permissions.2.Policy": "Accept"}, true},
		{"legacy flat parameters, defaults", "AuthorizeSecurityGroup", map[string]string{"SecurityGroupId": "sg-1",
			"IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "0.0.0.0/0"}, true},
		// bob's harmless change to the same group, seen by the same run: not bob.
		{"a harmless authorize on the same group", "AuthorizeSecurityGroup", map[string]string{"SecurityGroupId": "sg-1",
			"IpProtocol": "tcp", "PortRange": "8080/8080", "SourceCidrIp": "10.0.0.0/8"}, false},
		{"the same permission on another group", "AuthorizeSecurityGroup", map[string]string{"SecurityGroupId": "sg-2",
			"IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "0.0.0.0/0"}, false},
		{"another priority is another rule", "AuthorizeSecurityGroup", map[string]string{"SecurityGroupId": "sg-1",
			"IpProtocol": "tcp", "PortRange": "22/22", "SourceCidrIp": "0.0.0.0/0", "Priority": "5"}, false},
		{"an egress authorize", "AuthorizeSecurityGroupEgress", map[string]string{"SecurityGroupId": "sg-1",
			"IpProtocol": "tcp", "PortRange": "22/22", "DestCidrIp": "0.0.0.0/0"}, false},
		{"a modify of it by id", "ModifySecurityGroupRule", map[string]string{"SecurityGroupId": "sg-1", "SecurityGroupRuleId": "sgr-ssh"}, true},
		{"a modify of another rule", "ModifySecurityGroupRule", map[string]string{"SecurityGroupId": "sg-1", "SecurityGroupRuleId": "sgr-x"}, false},
		// A revoke that unmasked the rule, a join: the caller did not open it.
		{"a revoke of a drop", "RevokeSecurityGroup", map[string]string{"SecurityGroupId": "sg-1", "SecurityGroupRuleId.1": "sgr-drop"}, false},
		{"a join", "JoinSecurityGroup", map[string]string{"SecurityGroupId": "sg-1", "InstanceId": "i-1"}, false},
		{"unparsable permission", "AuthorizeSecurityGroup", map[string]string{"SecurityGroupId": "sg-1",
			"IpProtocol": "tcp", "PortRange": "22", "SourceCidrIp": "0.0.0.0/0"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, openedBy(tc.event, tc.params, ssh))
		})
	}
}

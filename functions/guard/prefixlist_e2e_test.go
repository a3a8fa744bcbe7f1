package main

import (
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/ledger"
)

// prefixList creates a prefix list with cidrs and returns its id.
func (e *env) prefixList(name string, cidrs ...string) string {
	e.t.Helper()
	req := ecs.CreateCreatePrefixListRequest()
	req.RegionId, req.PrefixListName, req.AddressFamily, req.MaxEntries = e.cloud.Region(), name, "IPv4", requests.NewInteger(10)
	var entries []ecs.CreatePrefixListEntry
	for _, c := range cidrs {
		entries = append(entries, ecs.CreatePrefixListEntry{Cidr: c})
	}
	req.Entry = &entries
	resp, err := e.ecs.CreatePrefixList(req)
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
	return resp.PrefixListId
}

func (e *env) authorizeList(group, ports, list, policy, priority string) {
	e.t.Helper()
	req := ecs.CreateAuthorizeSecurityGroupRequest()
	req.RegionId, req.SecurityGroupId = e.cloud.Region(), group
	req.Permissions = &[]ecs.AuthorizeSecurityGroupPermissions{{IpProtocol: "tcp", PortRange: ports, SourcePrefixListId: list, Policy: policy, Priority: priority}}
	_, err := e.ecs.AuthorizeSecurityGroup(req)
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
}

func (e *env) modifyList(list string, add, remove []string) time.Duration {
	e.t.Helper()
	req := ecs.CreateModifyPrefixListRequest()
	req.RegionId, req.PrefixListId = e.cloud.Region(), list
	if len(add) > 0 {
		var a []ecs.ModifyPrefixListAddEntry
		for _, c := range add {
			a = append(a, ecs.ModifyPrefixListAddEntry{Cidr: c})
		}
		req.AddEntry = &a
	}
	if len(remove) > 0 {
		var r []ecs.ModifyPrefixListRemoveEntry
		for _, c := range remove {
			r = append(r, ecs.ModifyPrefixListRemoveEntry{Cidr: c})
		}
		req.RemoveEntry = &r
	}
	began := time.Now()
	_, err := e.ecs.ModifyPrefixList(req)
	require.NoError(e.t, err)
	lctest.Settle(e.t, e.cloud)
	return time.Since(began)
}

// A prefix list opens a port without touching a security group: SSH is
// open to the office list; someone adds 0.0.0.0/0 to the list. The guard
// follows the list to every group that references it and revokes the rule
// within the ModifyPrefixList event, naming who widened the list.
func TestGuardPrefixListWidenedToTheWorld(t *testing.T) {
	e := start(t, localcloud.Options{})
	pl := e.prefixList("office", "198.51.100.0/24")
	g1, g2 := createGroup(t, e, "pl-one"), createGroup(t, e, "pl-two")
	e.authorizeList(g1, "22/22", pl, "accept", "1")
	e.authorizeList(g2, "3389/3389", pl, "accept", "1")
	require.Empty(t, e.revocations(g1), "the office list is harmless")

	took := e.modifyList(pl, []string{"0.0.0.0/0"}, nil)
	t.Logf("ModifyPrefixList → both rules revoked in %v", took.Round(time.Millisecond))
	for _, g := range []string{g1, g2} {
		revs := e.revocations(g)
		require.Len(t, revs, 1, "group %s: the rule on the widened list is revoked", g)
		body, err := revs[0].Revocation()
		require.NoError(t, err)
		require.Equal(t, "ModifyPrefixList", body.Event.EventName, "by the list's event, not a sweep")
		require.Equal(t, "alice", body.OpenedBy, "whoever widened the list opened the port")
	}
	require.Less(t, took, 5*time.Second)
}

// Narrowing a drop's list unmasks an accept: a drop on the "blocked" list
// (the whole internet) hides SSH open to the world; someone removes the
// entry from the list, and the accept behind it is revoked.
func TestGuardPrefixListOfADropNarrowed(t *testing.T) {
	e := start(t, localcloud.Options{})
	pl := e.prefixList("blocked", "0.0.0.0/0")
	g := createGroup(t, e, "pl-drop")
	e.authorizeList(g, "22/22", pl, "drop", "1")
	e.authorize(g, perm{proto: "tcp", ports: "22/22", cidr: "0.0.0.0/0", policy: "accept", priority: "5"})
	require.Empty(t, e.revocations(g), "the drop on the list hides the accept")

	e.modifyList(pl, []string{"203.0.113.0/24"}, []string{"0.0.0.0/0"})
	revs := e.revocations(g)
	require.Len(t, revs, 1, "the unmasked accept is revoked")
	require.True(t, strings.HasPrefix(revs[0].RuleID, "sgr-"))
	require.NotContains(t, e.rules(g), "TCP 22/22 0.0.0.0/0 Accept")
	var kinds []ledger.Kind
	for _, r := range revs {
		kinds = append(kinds, r.Kind)
	}
	require.Equal(t, []ledger.Kind{ledger.KindRevocation}, kinds)
}

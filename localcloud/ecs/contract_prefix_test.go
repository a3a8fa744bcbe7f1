package ecs_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/stretchr/testify/require"
)

// The prefix-list part of the contract: create, describe, modify, reference
// from a rule, refuse to delete while referenced, delete. It creates its own
// lists (named porthygiene-contract-*) and deletes them at the end.

// rejected: against the emulator, the exact status and code; against a real
// account, any 4xx ServerError (for codes the documentation does not give,
// see the package doc).
func (s suite) rejected(t *testing.T, err error, status int, code string) {
	t.Helper()
	if s.env.emu != nil {
		requireCode(t, err, status, code)
		return
	}
	se := serverError(t, err)
	require.True(t, se.HttpStatus() >= 400 && se.HttpStatus() < 500, "want a 4xx (emulator: %d %s), got %d %s: %s", status, code, se.HttpStatus(), se.ErrorCode(), se.Message())
}

func (s suite) createPrefixList(family string, maxEntries int, name string, entries ...ecs.CreatePrefixListEntry) (*ecs.CreatePrefixListResponse, error) {
	req := ecs.CreateCreatePrefixListRequest()
	req.RegionId, req.AddressFamily, req.PrefixListName = s.env.Region, family, name
	if maxEntries != 0 {
		req.MaxEntries = requests.NewInteger(maxEntries)
	}
	if len(entries) > 0 {
		req.Entry = &entries
	}
	return s.c.CreatePrefixList(req)
}

// newPrefixList creates a list and deletes it when the test ends (cleanups
// registered later, such as the groups that reference it, run first).
func (s suite) newPrefixList(t *testing.T, family string, maxEntries int, entries ...ecs.CreatePrefixListEntry) string {
	t.Helper()
	resp, err := s.createPrefixList(family, maxEntries, "porthygiene-contract-"+randSuffix(), entries...)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(resp.PrefixListId, "pl-"), resp.PrefixListId)
	id := resp.PrefixListId
	t.Cleanup(func() {
		d := ecs.CreateDeletePrefixListRequest()
		d.RegionId, d.PrefixListId = s.env.Region, id
		_, _ = s.c.DeletePrefixList(d)
	})
	return id
}

func (s suite) prefixListAttributes(t *testing.T, id string) *ecs.DescribePrefixListAttributesResponse {
	t.Helper()
	req := ecs.CreateDescribePrefixListAttributesRequest()
	req.RegionId, req.PrefixListId = s.env.Region, id
	resp, err := s.c.DescribePrefixListAttributes(req)
	require.NoError(t, err)
	return resp
}

// entriesOf maps CIDR → description.
func entriesOf(resp *ecs.DescribePrefixListAttributesResponse) map[string]string {
	out := map[string]string{}
	for _, e := range resp.Entries.Entry {
		out[e.Cidr] = e.Description
	}
	return out
}

func (s suite) modifyPrefixList(id string, add []ecs.ModifyPrefixListAddEntry, remove ...string) (*ecs.ModifyPrefixListResponse, error) {
	req := ecs.CreateModifyPrefixListRequest()
	req.RegionId, req.PrefixListId = s.env.Region, id
	if len(add) > 0 {
		req.AddEntry = &add
	}
	if len(remove) > 0 {
		rs := make([]ecs.ModifyPrefixListRemoveEntry, len(remove))
		for i, c := range remove {
			rs[i].Cidr = c
		}
		req.RemoveEntry = &rs
	}
	return s.c.ModifyPrefixList(req)
}

func (s suite) prefixListCases(t *testing.T) {
	env := s.env

	t.Run("PrefixListCreateDescribe", func(t *testing.T) {
		id := s.newPrefixList(t, "IPv4", 3,
			ecs.CreatePrefixListEntry{Cidr: "203.0.113.0/24", Description: "hq"},
			ecs.CreatePrefixListEntry{Cidr: "198.51.100.7"}) // a single address becomes a /32
		attr := s.prefixListAttributes(t, id)
		require.Equal(t, id, attr.PrefixListId)
		require.Equal(t, "IPv4", attr.AddressFamily)
		require.Equal(t, 3, attr.MaxEntries)
		require.True(t, strings.HasPrefix(attr.PrefixListName, "porthygiene-contract-"))
		require.NotEmpty(t, attr.CreationTime)
		require.Equal(t, map[string]string{"203.0.113.0/24": "hq", "198.51.100.7/32": ""}, entriesOf(attr))

		v6 := s.newPrefixList(t, "IPv6", 1, ecs.CreatePrefixListEntry{Cidr: "2001:DB8:0:0:0:0:0:0/32"})
		require.Equal(t, map[string]string{"2001:db8::/32": ""}, entriesOf(s.prefixListAttributes(t, v6)), "IPv6 CIDRs are normalised")

		// DescribePrefixLists: by id, by family, in pages.
		req := ecs.CreateDescribePrefixListsRequest()
		req.RegionId, req.PrefixListId = env.Region, &[]string{id, v6}
		resp, err := s.c.DescribePrefixLists(req)
		require.NoError(t, err)
		require.Len(t, resp.PrefixLists.PrefixList, 2)
		var got ecs.PrefixList
		for _, pl := range resp.PrefixLists.PrefixList {
			if pl.PrefixListId == id {
				got = pl
			}
		}
		require.Equal(t, attr.PrefixListName, got.PrefixListName)
		require.Equal(t, "IPv4", got.AddressFamily)
		require.Equal(t, 3, got.MaxEntries)
		require.Zero(t, got.AssociationCount)
		req.AddressFamily = "IPv6"
		resp, err = s.c.DescribePrefixLists(req)
		require.NoError(t, err)
		require.Len(t, resp.PrefixLists.PrefixList, 1)
		require.Equal(t, v6, resp.PrefixLists.PrefixList[0].PrefixListId)

		req = ecs.CreateDescribePrefixListsRequest()
		req.RegionId, req.PrefixListId, req.MaxResults = env.Region, &[]string{id, v6}, requests.NewInteger(1)
		seen := map[string]bool{}
		for page := 0; ; page++ {
			require.Less(t, page, 3, "paging does not end")
			resp, err := s.c.DescribePrefixLists(req)
			require.NoError(t, err)
			require.Len(t, resp.PrefixLists.PrefixList, 1)
			seen[resp.PrefixLists.PrefixList[0].PrefixListId] = true
			if resp.NextToken == "" {
				break
			}
			req.NextToken = resp.NextToken
		}
		require.Equal(t, map[string]bool{id: true, v6: true}, seen)
	})

	t.Run("PrefixListCreateRefusesBadParameters", func(t *testing.T) {
		name := "porthygiene-contract-" + randSuffix()
		e := func(c string) ecs.CreatePrefixListEntry { return ecs.CreatePrefixListEntry{Cidr: c} }
		for _, tc := range []struct {
			name, family string
			maxEntries   int
			listName     string
			entries      []ecs.CreatePrefixListEntry
			status       int
			code         string
		}{
			{"NoName", "IPv4", 1, "", nil, 400, "MissingParameter"},
			{"NameNotALetterFirst", "IPv4", 1, "1-" + name, nil, 400, "InvalidPrefixListName.Malformed"},
			{"NoFamily", "", 1, name, nil, 400, "MissingParameter"},
			{"BadFamily", "IPv5", 1, name, nil, 400, "InvalidParameter.AddressFamily"},
			{"NoMaxEntries", "IPv4", 0, name, nil, 400, "MissingParameter"},
			{"MaxEntriesTooBig", "IPv4", 201, name, nil, 400, "InvalidParameter.MaxEntries"},
			{"MoreEntriesThanMax", "IPv4", 1, name, []ecs.CreatePrefixListEntry{e("10.0.0.0/8"), e("192.168.0.0/16")}, 400, "InvalidParameter.EntriesExceedMaxEntries"},
			{"MixedFamilies", "IPv4", 2, name, []ecs.CreatePrefixListEntry{e("10.0.0.0/8"), e("2001:db8::/32")}, 400, "InvalidCidr.AddressFamilyMismatch"},
			{"HostBitsSet", "IPv4", 1, name, []ecs.CreatePrefixListEntry{e("10.0.0.1/8")}, 400, "InvalidCidr.Malformed"},
			{"NotACIDR", "IPv4", 1, name, []ecs.CreatePrefixListEntry{e("10.0.0.0/33")}, 400, "InvalidCidr.Malformed"},
			{"DuplicateEntry", "IPv4", 2, name, []ecs.CreatePrefixListEntry{e("10.0.0.1"), e("10.0.0.1/32")}, 400, "InvalidCidr.Duplicate"},
			{"EntryDescriptionTooLong", "IPv4", 1, name, []ecs.CreatePrefixListEntry{{Cidr: "10.0.0.0/8", Description: strings.Repeat("x", 33)}}, 400, "InvalidDescription.Malformed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.createPrefixList(tc.family, tc.maxEntries, tc.listName, tc.entries...)
				s.rejected(t, err, tc.status, tc.code)
			})
		}
		req := ecs.CreateDescribePrefixListsRequest()
		req.RegionId, req.PrefixListName = env.Region, name
		resp, err := s.c.DescribePrefixLists(req)
		require.NoError(t, err)
		require.Empty(t, resp.PrefixLists.PrefixList, "a refused CreatePrefixList creates nothing")
	})

	t.Run("PrefixListModifyReferenceDelete", func(t *testing.T) {
		id := s.newPrefixList(t, "IPv4", 3,
			ecs.CreatePrefixListEntry{Cidr: "203.0.113.0/24", Description: "hq"},
			ecs.CreatePrefixListEntry{Cidr: "198.51.100.7/32", Description: "vpn"})
		sg := s.newGroup(t, "")
		_, err := s.authorize(sg, ingress(ecs.AuthorizeSecurityGroupPermissions{IpProtocol: "TCP", PortRange: "22/22", SourcePrefixListId: id}))
		require.NoError(t, err)

		assoc := ecs.CreateDescribePrefixListAssociationsRequest()
		assoc.RegionId, assoc.PrefixListId = env.Region, id
		aresp, err := s.c.DescribePrefixListAssociations(assoc)
		require.NoError(t, err)
		require.Equal(t, []ecs.PrefixListAssociation{{ResourceId: sg, ResourceType: "securitygroup"}}, aresp.PrefixListAssociations.PrefixListAssociation)
		lreq := ecs.CreateDescribePrefixListsRequest()
		lreq.RegionId, lreq.PrefixListId = env.Region, &[]string{id}
		lresp, err := s.c.DescribePrefixLists(lreq)
		require.NoError(t, err)
		require.Len(t, lresp.PrefixLists.PrefixList, 1)
		require.Equal(t, 1, lresp.PrefixLists.PrefixList[0].AssociationCount)

		// Refused while a rule references it.
		del := ecs.CreateDeletePrefixListRequest()
		del.RegionId, del.PrefixListId = env.Region, id
		_, err = s.c.DeletePrefixList(del)
		requireCode(t, err, 400, "NotAllowed.AssociationExist")
		s.prefixListAttributes(t, id) // still there

		// Add one entry, re-describe one, remove one, all in one call.
		_, err = s.modifyPrefixList(id, []ecs.ModifyPrefixListAddEntry{
			{Cidr: "192.0.2.0/24", Description: "branch"}, {Cidr: "203.0.113.0/24", Description: "headquarters"}}, "198.51.100.7/32")
		require.NoError(t, err)
		want := map[string]string{"203.0.113.0/24": "headquarters", "192.0.2.0/24": "branch"}
		require.Equal(t, want, entriesOf(s.prefixListAttributes(t, id)))

		// Refused, and nothing changes.
		add := func(cidrs ...string) []ecs.ModifyPrefixListAddEntry {
			var out []ecs.ModifyPrefixListAddEntry
			for _, c := range cidrs {
				out = append(out, ecs.ModifyPrefixListAddEntry{Cidr: c})
			}
			return out
		}
		_, err = s.modifyPrefixList(id, add("10.0.0.0/8", "172.16.0.0/12")) // 4 > MaxEntries 3
		s.rejected(t, err, 400, "InvalidParameter.EntriesExceedMaxEntries")
		_, err = s.modifyPrefixList(id, add("10.0.0.0/8"), "10.0.0.0/8")
		s.rejected(t, err, 400, "InvalidCidr.Duplicate")
		_, err = s.modifyPrefixList(id, add("10.0.0.0/8", "10.0.0.0/8"))
		s.rejected(t, err, 400, "InvalidCidr.Duplicate")
		_, err = s.modifyPrefixList(id, add("2001:db8::/32"))
		s.rejected(t, err, 400, "InvalidCidr.AddressFamilyMismatch")
		_, err = s.modifyPrefixList(id, add("10.0.0.1/8"))
		s.rejected(t, err, 400, "InvalidCidr.Malformed")
		_, err = s.modifyPrefixList("pl-doesnotexist0000000", add("10.0.0.0/8"))
		requireCode(t, err, 404, "InvalidPrefixListId.NotFound")
		if env.emu != nil { // [UNCONFIRMED] whether the real API refuses removing an absent CIDR
			_, err = s.modifyPrefixList(id, nil, "10.0.0.0/8")
			requireCode(t, err, 404, "InvalidPrefixListEntry.NotFound")
		}
		require.Equal(t, want, entriesOf(s.prefixListAttributes(t, id)), "refused modifications change nothing")

		// Unreferenced, it can be deleted.
		id2 := s.rules(t, sg, "ingress")[0].SecurityGroupRuleId
		rev := ecs.CreateRevokeSecurityGroupRequest()
		rev.RegionId, rev.SecurityGroupId, rev.SecurityGroupRuleId = env.Region, sg, &[]string{id2}
		_, err = s.c.RevokeSecurityGroup(rev)
		require.NoError(t, err)
		aresp, err = s.c.DescribePrefixListAssociations(assoc)
		require.NoError(t, err)
		require.Empty(t, aresp.PrefixListAssociations.PrefixListAssociation)
		_, err = s.c.DeletePrefixList(del)
		require.NoError(t, err)
		attr := ecs.CreateDescribePrefixListAttributesRequest()
		attr.RegionId, attr.PrefixListId = env.Region, id
		_, err = s.c.DescribePrefixListAttributes(attr)
		requireCode(t, err, 404, "InvalidPrefixListId.NotFound")
		_, err = s.c.DeletePrefixList(del)
		requireCode(t, err, 404, "InvalidPrefixListId.NotFound")
		_, err = s.c.DescribePrefixListAssociations(assoc)
		requireCode(t, err, 404, "InvalidPrefixListId.NotFound")
	})

	t.Run("PrefixListActionTrailAndTraffic", func(t *testing.T) {
		if env.emu == nil {
			t.Skip("emulator-only case: inspects ActionTrail records and the traffic model")
		}
		e := env.emu
		const eni = "eni-bp1web1primary00000" // in sg-web, whose 8080 rule references pl-bp1office
		in := netip.MustParseAddr("192.0.2.10")
		hq := netip.MustParseAddr("203.0.113.50")
		require.False(t, e.srv.Decide(eni, "ingress", "tcp", 8080, in), "not yet in the list")
		require.True(t, e.srv.Decide(eni, "ingress", "tcp", 8080, hq))

		mresp, err := s.modifyPrefixList("pl-bp1office0000000000", []ecs.ModifyPrefixListAddEntry{{Cidr: "192.0.2.0/24", Description: "new"}})
		require.NoError(t, err)
		require.True(t, e.srv.Decide(eni, "ingress", "tcp", 8080, in), "widening the list opens the port to it")
		rec, ok := e.trail.byRequestID(mresp.RequestId)
		require.True(t, ok, "ModifyPrefixList emits its ActionTrail record")
		require.Equal(t, "ModifyPrefixList", rec.EventName)
		require.Equal(t, "pl-bp1office0000000000", rec.RequestParameters["PrefixListId"])
		require.Equal(t, "192.0.2.0/24", rec.RequestParameters["AddEntry.1.Cidr"])
		require.Equal(t, "new", rec.RequestParameters["AddEntry.1.Description"])
		require.Equal(t, map[string][]string{"ACS::ECS::PrefixList": {"pl-bp1office0000000000"}}, rec.ReferencedResources)

		mresp, err = s.modifyPrefixList("pl-bp1office0000000000", nil, "192.0.2.0/24", "203.0.113.0/24")
		require.NoError(t, err)
		require.False(t, e.srv.Decide(eni, "ingress", "tcp", 8080, in), "narrowing closes it again")
		require.False(t, e.srv.Decide(eni, "ingress", "tcp", 8080, hq))
		rec, ok = e.trail.byRequestID(mresp.RequestId)
		require.True(t, ok)
		require.Equal(t, "203.0.113.0/24", rec.RequestParameters["RemoveEntry.2.Cidr"])
		_, err = s.modifyPrefixList("pl-bp1office0000000000", []ecs.ModifyPrefixListAddEntry{{Cidr: "203.0.113.0/24", Description: "hq"}})
		require.NoError(t, err) // as the seed had it, for the other cases

		cresp, err := s.createPrefixList("IPv4", 2, "porthygiene-contract-trail", ecs.CreatePrefixListEntry{Cidr: "10.1.0.0/16"})
		require.NoError(t, err)
		rec, ok = e.trail.byRequestID(cresp.RequestId)
		require.True(t, ok, "CreatePrefixList emits its record")
		require.Equal(t, "CreatePrefixList", rec.EventName)
		require.Equal(t, "10.1.0.0/16", rec.RequestParameters["Entry.1.Cidr"])
		require.Equal(t, map[string][]string{"ACS::ECS::PrefixList": {cresp.PrefixListId}}, rec.ReferencedResources)
		n := len(e.trail.all())
		_, err = s.createPrefixList("IPv4", 1, "porthygiene-contract-trail", ecs.CreatePrefixListEntry{Cidr: "10.1.0.1/16"})
		require.Error(t, err)
		require.Len(t, e.trail.all(), n, "a refused write emits nothing")
		del := ecs.CreateDeletePrefixListRequest()
		del.RegionId, del.PrefixListId = env.Region, cresp.PrefixListId
		dresp, err := s.c.DeletePrefixList(del)
		require.NoError(t, err)
		rec, ok = e.trail.byRequestID(dresp.RequestId)
		require.True(t, ok)
		require.Equal(t, "DeletePrefixList", rec.EventName)
		require.Equal(t, cresp.PrefixListId, rec.RequestParameters["PrefixListId"])
	})
}

package replicate

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// plCloud is a small fake of the one call resolve makes: the prefix lists
// of a region by id → name. Everything else is unused.
type plCloud struct {
	engine.Cloud
	names map[string]string
	err   error
}

func (c plCloud) PrefixListNames(context.Context) (map[string]string, error) { return c.names, c.err }

func peerRule(kind rule.PeerKind, id string) rule.Rule {
	return rule.Rule{Direction: rule.Ingress, Protocol: rule.TCP, Ports: rule.PortRange{From: 1, To: 1}, Peer: rule.Peer{Kind: kind, ID: id}, Policy: rule.Accept, Priority: 1}
}

func TestResolveReferences(t *testing.T) {
	w := World{Groups: map[string][]cloud.Group{
		"cn-hangzhou": {
			{ID: "sg-web", Name: "web", VpcID: "vpc-a"},
			{ID: "sg-app", Name: "app", VpcID: "vpc-a"},
			{ID: "sg-db", Name: "db", VpcID: "vpc-a"},
			{ID: "sg-cache", Name: "cache", VpcID: "vpc-a"},
			{ID: "sg-twin", Name: "twin", VpcID: "vpc-a"},
			{ID: "sg-local", Name: "local", VpcID: "vpc-b"},
			{ID: "sg-web-b", Name: "web", VpcID: "vpc-b"},
		},
		"cn-shanghai": {
			{ID: "sg-web-sh", Name: "web", VpcID: "vpc-sh"},
			{ID: "sg-app-sh", Name: "whatever", VpcID: "vpc-sh", Tags: map[string]string{TagReplicaOf: "cn-hangzhou/sg-app"}},
			{ID: "sg-db-sh", Name: "db", VpcID: "vpc-sh"},
			{ID: "sg-db-other-vpc", Name: "db", VpcID: "vpc-other"},
			{ID: "sg-twin-1", Name: "twin", VpcID: "vpc-sh"},
			{ID: "sg-twin-2", Name: "twin", VpcID: "vpc-sh"},
		},
	}}
	set := Set{Name: "web", Mode: Mirror, Primary: GroupRef{"cn-hangzhou", "sg-web"}}
	clouds := map[string]plCloud{
		"cn-hangzhou": {names: map[string]string{"pl-office": "office", "pl-vpn": "vpn", "pl-lonely": "lonely"}},
		"cn-shanghai": {names: map[string]string{"pl-office-sh": "office", "pl-vpn-1": "vpn", "pl-vpn-2": "vpn"}},
	}
	cloudOf := func(region string) (engine.Cloud, error) { return clouds[region], nil }
	r := &Replicator{}
	rules := []rule.Rule{
		peerRule(rule.PeerGroup, "sg-web"), peerRule(rule.PeerGroup, "sg-app"), peerRule(rule.PeerGroup, "sg-db"),
		peerRule(rule.PeerGroup, "sg-cache"), peerRule(rule.PeerGroup, "sg-twin"), peerRule(rule.PeerGroup, "sg-mapped"),
		peerRule(rule.PeerPrefixList, "pl-office"), peerRule(rule.PeerPrefixList, "pl-vpn"), peerRule(rule.PeerPrefixList, "pl-lonely"),
		{Direction: rule.Ingress, Protocol: rule.TCP, Peer: rule.Peer{Kind: rule.PeerCIDR4, Prefix: netip.MustParsePrefix("10.0.0.0/8")}},
	}

	// Another region: the map first, the primary is the replica, the peer's
	// replica by tag, a group of the same name in the replica's VPC, a
	// prefix list by name; none or several matches leave it unmapped.
	sh := Replica{GroupRef: GroupRef{"cn-shanghai", "sg-web-sh"}, Map: map[string]string{"sg-mapped": "sg-x"}}
	refs, unmapped := r.resolve(t.Context(), cloudOf, w, set, sh, rules)
	require.Equal(t, map[string]string{"sg-mapped": "sg-x", "sg-web": "sg-web-sh", "sg-app": "sg-app-sh", "sg-db": "sg-db-sh", "pl-office": "pl-office-sh"}, refs)
	require.Contains(t, unmapped["sg-cache"], `0 groups named "cache" in vpc-sh`)
	require.Contains(t, unmapped["sg-twin"], `2 groups named "twin" in vpc-sh`)
	require.Contains(t, unmapped["pl-vpn"], `2 prefix lists named "vpn" in cn-shanghai`)
	require.Contains(t, unmapped["pl-lonely"], `0 prefix lists named "lonely"`)
	require.Len(t, unmapped, 4)

	// Lookup by tag only: the name match no longer counts; none: the map only.
	sh.Lookup = LookupTag
	refs, unmapped = r.resolve(t.Context(), cloudOf, w, set, sh, rules)
	require.Equal(t, "sg-app-sh", refs["sg-app"])
	require.NotContains(t, refs, "sg-db")
	require.Contains(t, unmapped["pl-office"], "a prefix list is regional")
	sh.Lookup = LookupNone
	refs, _ = r.resolve(t.Context(), cloudOf, w, set, sh, rules)
	require.Equal(t, map[string]string{"sg-mapped": "sg-x", "sg-web": "sg-web-sh"}, refs)

	// The same region, another VPC: prefix lists are the same; groups are
	// not (a peer must be in the rule's VPC), so they are looked up too.
	b := Replica{GroupRef: GroupRef{"cn-hangzhou", "sg-web-b"}}
	refs, _ = r.resolve(t.Context(), cloudOf, w, set, b, rules)
	require.Equal(t, "pl-office", refs["pl-office"])
	require.Equal(t, "sg-web-b", refs["sg-web"])
	require.NotContains(t, refs, "sg-app", "sg-app is in vpc-a, the replica in vpc-b")
	// The same VPC: a group is itself.
	w.Groups["cn-hangzhou"] = append(w.Groups["cn-hangzhou"], cloud.Group{ID: "sg-web-a2", VpcID: "vpc-a"})
	refs, _ = r.resolve(t.Context(), cloudOf, w, set, Replica{GroupRef: GroupRef{"cn-hangzhou", "sg-web-a2"}}, rules)
	require.Equal(t, "sg-app", refs["sg-app"])

	// A region whose prefix lists cannot be read: unmapped, saying why.
	clouds["cn-shanghai"] = plCloud{err: errors.New("throttled")}
	_, unmapped = r.resolve(t.Context(), cloudOf, w, set, Replica{GroupRef: GroupRef{"cn-shanghai", "sg-web-sh"}}, rules)
	require.Contains(t, unmapped["pl-office"], "could not be read: throttled")
}

package replicate_test

import (
	"errors"
	"maps"
	"testing"

	"github.com/porthygiene/porthygiene/shared/replicate"
)

// sentinels are the configuration errors a declaration can be refused with.
var sentinels = []error{replicate.ErrBadGroup, replicate.ErrUnknownMode, replicate.ErrUnknownLookup, replicate.ErrBadMap,
	replicate.ErrSelfReplica, replicate.ErrCycle, replicate.ErrChain, replicate.ErrTwoSets, replicate.ErrDuplicateSet,
	replicate.ErrConflict, replicate.ErrNoReplicas, replicate.ErrNoName}

func named(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzTagDeclarations: replication sets declared by the tags of two
// groups — anyone who can tag a group writes them. Whatever they say, Load
// returns sets that hold the invariants (no replica its own primary, in two
// sets, or a primary itself) or an error naming a sentinel; never a panic.
func FuzzTagDeclarations(f *testing.F) {
	f.Add("cn-hangzhou/sg-web", "web", "mirror", "sg-db=sg-db-sh,pl-office=pl-office-sh", "", "cn-hangzhou/sg-web", "", "additive", "", "tag")
	f.Add("cn-hangzhou/sg-b", "", "", "", "", "cn-hangzhou/sg-a", "", "", "", "")
	f.Add("cn-shanghai/sg-x", "s", "mirror", "sg-1=pl-2", "name", "not a ref", "s", "sideways", "=", "none")
	f.Fuzz(func(t *testing.T, of1, set1, mode1, map1, look1, of2, set2, mode2, map2, look2 string) {
		tag := func(of, set, mode, m, look string) map[string]string {
			return map[string]string{replicate.TagReplicaOf: of, replicate.TagSet: set, replicate.TagMode: mode, replicate.TagMap: m, replicate.TagLookup: look}
		}
		groups := []replicate.Tagged{
			{GroupRef: replicate.GroupRef{Region: "cn-hangzhou", GroupID: "sg-a"}, Tags: tag(of1, set1, mode1, map1, look1)},
			{GroupRef: replicate.GroupRef{Region: "cn-shanghai", GroupID: "sg-b"}, Tags: tag(of2, set2, mode2, map2, look2)},
		}
		sets, err := replicate.Load(nil, groups)
		if err != nil {
			if !named(err) {
				t.Fatalf("refused without a named reason: %v", err)
			}
			return
		}
		primaries := map[replicate.GroupRef]bool{}
		for _, s := range sets {
			primaries[s.Primary] = true
		}
		seen := map[replicate.GroupRef]bool{}
		for _, s := range sets {
			if s.Name == "" || len(s.Replicas) == 0 {
				t.Fatalf("a set without a name or replicas: %+v", s)
			}
			for _, r := range s.Replicas {
				switch {
				case r.GroupRef == s.Primary:
					t.Fatalf("replica %s is its own primary", r.GroupRef)
				case seen[r.GroupRef]:
					t.Fatalf("replica %s in two sets", r.GroupRef)
				case primaries[r.GroupRef]:
					t.Fatalf("replica %s is a primary too", r.GroupRef)
				}
				seen[r.GroupRef] = true
				back, err := replicate.ParseMap(replicate.FormatMap(r.Map))
				if err != nil || !maps.Equal(back, r.Map) {
					t.Fatalf("map %v does not survive its tag form: %v %v", r.Map, back, err)
				}
			}
		}
	})
}

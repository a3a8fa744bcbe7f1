package replicate_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/replicate"
)

func tagged(ref string, tags map[string]string) replicate.Tagged {
	g, err := replicate.ParseGroupRef(ref)
	if err != nil {
		panic(err)
	}
	return replicate.Tagged{GroupRef: g, Tags: tags}
}

func TestSetsFromTags(t *testing.T) {
	sets, err := replicate.Load(nil, []replicate.Tagged{
		tagged("cn-shanghai/sg-web-sh", map[string]string{replicate.TagReplicaOf: "cn-hangzhou/sg-web", replicate.TagSet: "web", replicate.TagMap: "sg-db=sg-db-sh,pl-office=pl-office-sh"}),
		tagged("cn-hangzhou/sg-web-dr", map[string]string{replicate.TagReplicaOf: "cn-hangzhou/sg-web", replicate.TagSet: "web"}),
		tagged("cn-hangzhou/sg-db", map[string]string{"team": "dba"}),
	})
	require.NoError(t, err)
	require.Len(t, sets, 1)
	s := sets[0]
	require.Equal(t, "web", s.Name)
	require.Equal(t, replicate.Mirror, s.Mode)
	require.Equal(t, replicate.GroupRef{Region: "cn-hangzhou", GroupID: "sg-web"}, s.Primary)
	require.Len(t, s.Replicas, 2)
	require.Equal(t, "cn-hangzhou/sg-web-dr", s.Replicas[0].String(), "replicas sorted")
	require.Equal(t, map[string]string{"sg-db": "sg-db-sh", "pl-office": "pl-office-sh"}, s.Replicas[1].Map)
	require.Equal(t, "tag", s.Replicas[1].From)
}

func TestSetsFromPolicy(t *testing.T) {
	pol, err := policy.Parse([]byte(`
replication:
  sets:
    - name: db
      mode: additive
      primary: cn-hangzhou/sg-db
      replicas:
        - group: cn-shanghai/sg-db-sh
          map: {sg-web: sg-web-sh}
          lookup: name
`), "p.yaml")
	require.NoError(t, err)
	sets, err := replicate.Load(pol.Replication, nil)
	require.NoError(t, err)
	require.Len(t, sets, 1)
	require.Equal(t, replicate.Additive, sets[0].Mode)
	require.Equal(t, replicate.LookupName, sets[0].Replicas[0].Lookup)

	_, err = policy.Parse([]byte("replication:\n  sets:\n    - name: x\n      primry: cn-hangzhou/sg-a\n"), "p.yaml")
	require.Error(t, err, "strict YAML: a misspelt key is refused")
}

// Every invalid declaration is refused with a typed error naming where it is.
func TestConfigErrors(t *testing.T) {
	of := func(p string) map[string]string { return map[string]string{replicate.TagReplicaOf: p} }
	set := func(name, prim string, reps ...string) policy.ReplicationSet {
		s := policy.ReplicationSet{Name: name, Primary: prim}
		for _, r := range reps {
			s.Replicas = append(s.Replicas, policy.ReplicationReplica{Group: r})
		}
		return s
	}
	for _, c := range []struct {
		name  string
		pol   []policy.ReplicationSet
		tags  []replicate.Tagged
		want  error
		where string
	}{
		{name: "own primary", tags: []replicate.Tagged{tagged("cn-hangzhou/sg-a", of("cn-hangzhou/sg-a"))}, want: replicate.ErrSelfReplica, where: "cn-hangzhou/sg-a"},
		{name: "cycle", tags: []replicate.Tagged{tagged("cn-hangzhou/sg-a", of("cn-shanghai/sg-b")), tagged("cn-shanghai/sg-b", of("cn-hangzhou/sg-a"))}, want: replicate.ErrCycle},
		{name: "long cycle", pol: []policy.ReplicationSet{set("a", "cn-hangzhou/sg-a", "cn-hangzhou/sg-b"), set("b", "cn-hangzhou/sg-b", "cn-hangzhou/sg-c"), set("c", "cn-hangzhou/sg-c", "cn-hangzhou/sg-a")}, want: replicate.ErrCycle},
		{name: "chain", pol: []policy.ReplicationSet{set("a", "cn-hangzhou/sg-a", "cn-hangzhou/sg-b"), set("b", "cn-hangzhou/sg-b", "cn-hangzhou/sg-c")}, want: replicate.ErrChain},
		{name: "two sets", pol: []policy.ReplicationSet{set("a", "cn-hangzhou/sg-a", "cn-shanghai/sg-x")}, tags: []replicate.Tagged{tagged("cn-shanghai/sg-x", of("cn-hangzhou/sg-b"))}, want: replicate.ErrTwoSets, where: "cn-shanghai/sg-x"},
		{name: "unknown mode in the policy", pol: []policy.ReplicationSet{{Name: "a", Mode: "sync", Primary: "cn-hangzhou/sg-a", Replicas: []policy.ReplicationReplica{{Group: "cn-shanghai/sg-b"}}}}, want: replicate.ErrUnknownMode, where: "replication.sets[0] (a).mode"},
		{name: "unknown mode in a tag", tags: []replicate.Tagged{tagged("cn-shanghai/sg-b", map[string]string{replicate.TagReplicaOf: "cn-hangzhou/sg-a", replicate.TagMode: "Mirror!"})}, want: replicate.ErrUnknownMode},
		{name: "unknown lookup", pol: []policy.ReplicationSet{{Name: "a", Primary: "cn-hangzhou/sg-a", Replicas: []policy.ReplicationReplica{{Group: "cn-shanghai/sg-b", Lookup: "guess"}}}}, want: replicate.ErrUnknownLookup},
		{name: "bad primary", pol: []policy.ReplicationSet{set("a", "sg-a", "cn-shanghai/sg-b")}, want: replicate.ErrBadGroup},
		{name: "bad tag primary", tags: []replicate.Tagged{tagged("cn-shanghai/sg-b", of("cn-hangzhou/i-123"))}, want: replicate.ErrBadGroup},
		{name: "map across kinds", tags: []replicate.Tagged{tagged("cn-shanghai/sg-b", map[string]string{replicate.TagReplicaOf: "cn-hangzhou/sg-a", replicate.TagMap: "sg-x=pl-y"})}, want: replicate.ErrBadMap},
		{name: "map not pairs", tags: []replicate.Tagged{tagged("cn-shanghai/sg-b", map[string]string{replicate.TagReplicaOf: "cn-hangzhou/sg-a", replicate.TagMap: "sg-x"})}, want: replicate.ErrBadMap},
		{name: "no replicas", pol: []policy.ReplicationSet{set("a", "cn-hangzhou/sg-a")}, want: replicate.ErrNoReplicas},
		{name: "no name", pol: []policy.ReplicationSet{set("", "cn-hangzhou/sg-a", "cn-hangzhou/sg-b")}, want: replicate.ErrNoName},
		{name: "duplicate name", pol: []policy.ReplicationSet{set("a", "cn-hangzhou/sg-a", "cn-hangzhou/sg-b"), set("a", "cn-hangzhou/sg-c", "cn-hangzhou/sg-d")}, want: replicate.ErrDuplicateSet},
		{name: "replicas disagree on the mode", tags: []replicate.Tagged{
			tagged("cn-shanghai/sg-b", map[string]string{replicate.TagReplicaOf: "cn-hangzhou/sg-a", replicate.TagMode: "additive"}),
			tagged("cn-shanghai/sg-c", map[string]string{replicate.TagReplicaOf: "cn-hangzhou/sg-a"})}, want: replicate.ErrConflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			var pr *policy.Replication
			if c.pol != nil {
				pr = &policy.Replication{Sets: c.pol}
			}
			sets, err := replicate.Load(pr, c.tags)
			require.ErrorIs(t, err, c.want)
			require.Nil(t, sets)
			var ce *replicate.ConfigError
			require.True(t, errors.As(err, &ce), "a *ConfigError: %v", err)
			require.Contains(t, err.Error(), c.where)
		})
	}
}

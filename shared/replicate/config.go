package replicate

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/porthygiene/porthygiene/shared/policy"
)

// Mode is how a replica follows its primary.
type Mode string

const (
	// Mirror: a replica's rules are the primary's (mapped); rules only the
	// replica has are removed.
	Mirror Mode = "mirror"
	// Additive: the primary's rules are added and kept in step; rules only
	// the replica has are never removed.
	Additive Mode = "additive"
)

// Lookup is how a reference with no explicit mapping is found in a replica's
// region: the peer's own replica there (by the tag TagReplicaOf), or a group
// (prefix list) of the same name.
type Lookup string

const (
	LookupAuto Lookup = ""     // tag, then name
	LookupTag  Lookup = "tag"  // only the peer's replica (tagged TagReplicaOf)
	LookupName Lookup = "name" // only by name
	LookupNone Lookup = "none" // explicit map only
)

// The tags `porthygiene replicate init` writes on a replica: they declare the
// set without editing the policy file.
const (
	// TagReplicaOf names the primary: "REGION/sg-…".
	TagReplicaOf = "porthygiene-replica-of"
	// TagSet names the set (default: the primary's group id).
	TagSet = "porthygiene-replica-set"
	// TagMode is mirror (default) or additive.
	TagMode = "porthygiene-replica-mode"
	// TagMap is the explicit reference map: "sg-a=sg-b,pl-x=pl-y".
	TagMap = "porthygiene-replica-map"
	// TagLookup is tag, name, none or empty (tag, then name).
	TagLookup = "porthygiene-replica-lookup"
)

// GroupRef names a security group in a region.
type GroupRef struct {
	Region  string `json:"region"`
	GroupID string `json:"securityGroupId"`
}

func (g GroupRef) String() string { return g.Region + "/" + g.GroupID }

// Replica is one replica group of a set.
type Replica struct {
	GroupRef
	// Map maps ids of the primary's region (sg-…, pl-…) to ids in the
	// replica's region; it comes first.
	Map    map[string]string
	Lookup Lookup
	// From is where the replica was declared: "tag" or "policy".
	From string
}

// Set is one replication set: a primary and its replicas.
type Set struct {
	Name     string
	Mode     Mode
	Primary  GroupRef
	Replicas []Replica
}

// Sentinels of configuration errors (errors.Is).
var (
	ErrBadGroup      = errors.New("not REGION/sg-…")
	ErrUnknownMode   = errors.New("unknown mode (want mirror or additive)")
	ErrUnknownLookup = errors.New("unknown lookup (want tag, name or none)")
	ErrBadMap        = errors.New("bad reference map")
	ErrSelfReplica   = errors.New("a replica that is its own primary")
	ErrCycle         = errors.New("a replication cycle")
	ErrChain         = errors.New("a replica that is itself a primary")
	ErrTwoSets       = errors.New("a replica in two sets")
	ErrDuplicateSet  = errors.New("two sets of one name")
	ErrConflict      = errors.New("replicas of one primary disagree")
	ErrNoReplicas    = errors.New("a set without replicas")
	ErrNoName        = errors.New("a set without a name")
)

// ConfigError is one invalid declaration: where it was declared and what is
// wrong (Err wraps one of the sentinels).
type ConfigError struct {
	Where string // "policy replication.sets[0].replicas[1]", "tag of cn-shanghai/sg-x"
	Err   error
}

func (e *ConfigError) Error() string { return "replication: " + e.Where + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

var (
	groupIDRE = regexp.MustCompile(`^sg-[0-9a-zA-Z-]{1,64}$`)
	refIDRE   = regexp.MustCompile(`^(sg|pl)-[0-9a-zA-Z-]{1,64}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}-[a-z0-9-]{2,30}$`)
)

// ParseGroupRef parses "REGION/sg-…".
func ParseGroupRef(s string) (GroupRef, error) {
	region, id, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok || !regionRE.MatchString(region) || !groupIDRE.MatchString(id) {
		return GroupRef{}, fmt.Errorf("%q: %w", s, ErrBadGroup)
	}
	return GroupRef{Region: region, GroupID: id}, nil
}

// ParseMode parses a mode; "" is mirror.
func ParseMode(s string) (Mode, error) {
	switch Mode(strings.TrimSpace(s)) {
	case "", Mirror:
		return Mirror, nil
	case Additive:
		return Additive, nil
	}
	return "", fmt.Errorf("%q: %w", s, ErrUnknownMode)
}

// ParseLookup parses a lookup; "" is tag, then name.
func ParseLookup(s string) (Lookup, error) {
	switch l := Lookup(strings.TrimSpace(s)); l {
	case LookupAuto, LookupTag, LookupName, LookupNone:
		return l, nil
	}
	return "", fmt.Errorf("%q: %w", s, ErrUnknownLookup)
}

// ParseMap parses the tag form "sg-a=sg-b,pl-x=pl-y". Both sides must be
// of one kind (sg to sg, pl to pl).
func ParseMap(s string) (map[string]string, error) {
	out := map[string]string{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not from=to: %w", part, ErrBadMap)
		}
		out[strings.TrimSpace(from)] = strings.TrimSpace(to)
	}
	return out, checkMap(out)
}

func checkMap(m map[string]string) error {
	for _, from := range slices.Sorted(maps.Keys(m)) {
		to := m[from]
		if !refIDRE.MatchString(from) || !refIDRE.MatchString(to) || from[:3] != to[:3] {
			return fmt.Errorf("%s=%s: want sg-…=sg-… or pl-…=pl-…: %w", from, to, ErrBadMap)
		}
	}
	return nil
}

// FormatMap is the tag form of m, sorted.
func FormatMap(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// Tagged is one group's tags as a listing returned them: where sets
// declared by tags come from.
type Tagged struct {
	GroupRef
	Tags map[string]string
}

// FromPolicy reads the sets of the policy file (nil: none).
func FromPolicy(r *policy.Replication) ([]Set, error) {
	if r == nil {
		return nil, nil
	}
	var sets []Set
	var errs []error
	for i, ps := range r.Sets {
		where := fmt.Sprintf("policy replication.sets[%d]", i)
		bad := func(w string, err error) { errs = append(errs, &ConfigError{Where: w, Err: err}) }
		s := Set{Name: strings.TrimSpace(ps.Name)}
		if s.Name == "" {
			bad(where, ErrNoName)
		} else {
			where += " (" + s.Name + ")"
		}
		var err error
		if s.Mode, err = ParseMode(ps.Mode); err != nil {
			bad(where+".mode", err)
		}
		if s.Primary, err = ParseGroupRef(ps.Primary); err != nil {
			bad(where+".primary", err)
		}
		if len(ps.Replicas) == 0 {
			bad(where, ErrNoReplicas)
		}
		for j, pr := range ps.Replicas {
			w := fmt.Sprintf("%s.replicas[%d]", where, j)
			rep := Replica{Map: maps.Clone(pr.Map), From: "policy"}
			if rep.GroupRef, err = ParseGroupRef(pr.Group); err != nil {
				bad(w+".group", err)
			}
			if rep.Lookup, err = ParseLookup(pr.Lookup); err != nil {
				bad(w+".lookup", err)
			}
			if err := checkMap(rep.Map); err != nil {
				bad(w+".map", err)
			}
			s.Replicas = append(s.Replicas, rep)
		}
		sets = append(sets, s)
	}
	return sets, errors.Join(errs...)
}

// FromTags reads the sets the replicas' tags declare: every group tagged
// TagReplicaOf is a replica of the group it names; the replicas of one
// primary form one set, which they must agree on (name and mode).
func FromTags(groups []Tagged) ([]Set, error) {
	byPrimary := map[GroupRef]*Set{}
	var order []GroupRef
	var errs []error
	for _, g := range groups {
		of, ok := g.Tags[TagReplicaOf]
		if !ok {
			continue
		}
		where := "tags of " + g.String()
		bad := func(err error) { errs = append(errs, &ConfigError{Where: where, Err: err}) }
		prim, err := ParseGroupRef(of)
		if err != nil {
			bad(fmt.Errorf("%s: %w", TagReplicaOf, err))
			continue
		}
		mode, err := ParseMode(g.Tags[TagMode])
		if err != nil {
			bad(fmt.Errorf("%s: %w", TagMode, err))
			continue
		}
		lookup, err := ParseLookup(g.Tags[TagLookup])
		if err != nil {
			bad(fmt.Errorf("%s: %w", TagLookup, err))
			continue
		}
		m, err := ParseMap(g.Tags[TagMap])
		if err != nil {
			bad(fmt.Errorf("%s: %w", TagMap, err))
			continue
		}
		name := strings.TrimSpace(g.Tags[TagSet])
		if name == "" {
			name = prim.GroupID
		}
		s := byPrimary[prim]
		if s == nil {
			s = &Set{Name: name, Mode: mode, Primary: prim}
			byPrimary[prim] = s
			order = append(order, prim)
		}
		switch {
		case s.Name != name:
			bad(fmt.Errorf("set %q, another replica of %s says %q: %w", name, prim, s.Name, ErrConflict))
			continue
		case s.Mode != mode:
			bad(fmt.Errorf("mode %s, another replica of %s says %s: %w", mode, prim, s.Mode, ErrConflict))
			continue
		}
		s.Replicas = append(s.Replicas, Replica{GroupRef: g.GroupRef, Map: m, Lookup: lookup, From: "tag"})
	}
	out := make([]Set, 0, len(order))
	for _, p := range order {
		out = append(out, *byPrimary[p])
	}
	return out, errors.Join(errs...)
}

// Validate checks sets together (policy and tags): a replica that is its own
// primary, a replica in two sets, a cycle, a chain (a replica that is the
// primary of another set: the replicator's own writes raise no event, so a
// chain would only converge at the timer), two sets of one name. It returns
// the sets sorted by name, replicas by region and id.
func Validate(sets []Set) ([]Set, error) {
	var errs []error
	bad := func(where string, err error) { errs = append(errs, &ConfigError{Where: where, Err: err}) }
	names := map[string]bool{}
	primaries := map[GroupRef]string{}
	replicaOf := map[GroupRef]string{} // replica → set name
	edges := map[GroupRef]GroupRef{}   // replica → primary
	for _, s := range sets {
		if names[s.Name] {
			bad("set "+s.Name, ErrDuplicateSet)
		}
		names[s.Name] = true
		primaries[s.Primary] = s.Name
		for _, r := range s.Replicas {
			where := "set " + s.Name + " replica " + r.String()
			if r.GroupRef == s.Primary {
				bad(where, ErrSelfReplica)
				continue
			}
			if other, ok := replicaOf[r.GroupRef]; ok {
				bad(where, fmt.Errorf("also in set %s: %w", other, ErrTwoSets))
				continue
			}
			replicaOf[r.GroupRef] = s.Name
			edges[r.GroupRef] = s.Primary
		}
	}
	for _, s := range sets {
		for _, r := range s.Replicas {
			if r.GroupRef == s.Primary {
				continue
			}
			if _, isPrimary := primaries[r.GroupRef]; !isPrimary {
				continue
			}
			where := "set " + s.Name + " replica " + r.String()
			if path, ok := cycle(edges, r.GroupRef); ok {
				bad(where, fmt.Errorf("%s: %w", path, ErrCycle))
			} else {
				bad(where, fmt.Errorf("primary of set %s: %w", primaries[r.GroupRef], ErrChain))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := slices.Clone(sets)
	for i := range out {
		out[i].Replicas = slices.Clone(out[i].Replicas)
		slices.SortFunc(out[i].Replicas, func(a, b Replica) int { return strings.Compare(a.String(), b.String()) })
	}
	slices.SortFunc(out, func(a, b Set) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// cycle follows replica → primary from start; it reports the path when it
// comes back to start.
func cycle(edges map[GroupRef]GroupRef, start GroupRef) (string, bool) {
	path := []string{start.String()}
	at := start
	for range len(edges) + 1 {
		next, ok := edges[at]
		if !ok {
			return "", false
		}
		path = append(path, next.String())
		if next == start {
			return strings.Join(path, " → "), true
		}
		at = next
	}
	return "", false
}

// Load merges the policy's sets and the tags' sets and validates them all.
func Load(pol *policy.Replication, tagged []Tagged) ([]Set, error) {
	a, errA := FromPolicy(pol)
	b, errB := FromTags(tagged)
	if err := errors.Join(errA, errB); err != nil {
		return nil, err
	}
	return Validate(append(a, b...))
}

// SetOf returns the set g belongs to (as primary or replica).
func SetOf(sets []Set, g GroupRef) (Set, bool) {
	for _, s := range sets {
		if s.Primary == g || slices.ContainsFunc(s.Replicas, func(r Replica) bool { return r.GroupRef == g }) {
			return s, true
		}
	}
	return Set{}, false
}

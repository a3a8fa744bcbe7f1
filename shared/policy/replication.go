package policy

// Replication declares replication sets in the policy file, for those who
// keep them in code (the alternative to the tag `replicate init` writes on a
// replica). shared/replicate validates them together with the sets the tags
// declare (replicate.FromPolicy): this file only carries them.
//
//	replication:
//	  sets:
//	    - name: web
//	      mode: mirror            # or additive
//	      primary: cn-hangzhou/sg-web
//	      replicas:
//	        - group: cn-shanghai/sg-web-dr
//	          map: {sg-db: sg-db-dr, pl-office: pl-office-sh}
//	          lookup: name        # or tag; how unmapped references are found
type Replication struct {
	Sets []ReplicationSet `yaml:"sets"`
}

// ReplicationSet is one primary group and its replicas.
type ReplicationSet struct {
	Name     string               `yaml:"name"`
	Mode     string               `yaml:"mode"`
	Primary  string               `yaml:"primary"` // REGION/sg-…
	Replicas []ReplicationReplica `yaml:"replicas"`
}

// ReplicationReplica is one replica group and how the references of the
// primary's rules map into its region.
type ReplicationReplica struct {
	Group  string            `yaml:"group"` // REGION/sg-…
	Map    map[string]string `yaml:"map,omitempty"`
	Lookup string            `yaml:"lookup,omitempty"`
}

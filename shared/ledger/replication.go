package ledger

import "github.com/porthygiene/porthygiene/shared/rule"

// KindReplication: the replicator authorized rules on a replica (or failed
// to), written after the call. Its revokes are backup and revocation records,
// as the guard's are.
const KindReplication Kind = "replication"

// Replication is the body of a replication record. Meta: GroupID and Region
// (the replica) required.
type Replication struct {
	// Set names the replication set; Primary is "REGION/sg-…".
	Set     string `json:"set"`
	Primary string `json:"primary"`
	// Action is "authorized", or "authorize failed (<class>)".
	Action string            `json:"action"`
	Rules  []rule.Permission `json:"rules"`
	// Event is what started the run (Source "sweep" for the timer).
	Event EventContext `json:"event"`
}

// NewReplication makes a replication record.
func NewReplication(m Meta, b Replication) Record { return newRecord(KindReplication, m, b) }

// Replication is the body of a replication record.
func (r Record) Replication() (Replication, error) {
	return decodeBody[Replication](r, KindReplication)
}

func validateReplication(r Record, bad func(format string, args ...any) error) error {
	b, err := r.Replication()
	if err != nil {
		return err
	}
	switch {
	case r.GroupID == "" || r.Region == "":
		return bad("groupId and region are required")
	case b.Set == "" || b.Primary == "" || b.Action == "":
		return bad("body.set, body.primary and body.action are required")
	case len(b.Rules) == 0:
		return bad("body.rules is empty")
	}
	return nil
}

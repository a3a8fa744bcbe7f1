package engine

import (
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// openedBy returns whether an ActionTrail call (eventName, its flattened
// requestParameters) is the call that opened rule r: an authorize on r's
// group that names a permission equal to r (protocol, ports, peer, policy,
// priority), a modify of r by its id, or a change of the prefix list r
// names. Anything else — a harmless change
// by someone else on the same group, a join, a revoke that unmasked r, a
// sweep — is not, and the revocation then says "unknown": it never names
// the principal of an unrelated event.
func openedBy(eventName string, params map[string]string, r rule.Rule) bool {
	if eventName == "ModifyPrefixList" {
		// Whoever changed the list a rule names opened what it now admits.
		return r.Peer.Kind == rule.PeerPrefixList && params["PrefixListId"] != "" && params["PrefixListId"] == r.Peer.ID
	}
	if params["SecurityGroupId"] != r.GroupID {
		return false
	}
	var dir rule.Direction
	switch eventName {
	case "ModifySecurityGroupRule", "ModifySecurityGroupEgressRule":
		return params["SecurityGroupRuleId"] != "" && params["SecurityGroupRuleId"] == r.ID
	case "AuthorizeSecurityGroup":
		dir = rule.Ingress
	case "AuthorizeSecurityGroupEgress":
		dir = rule.Egress
	default:
		return false
	}
	if dir != r.Direction {
		return false
	}
	for _, p := range requestedPermissions(params) {
		p.Direction = string(dir)
		got, err := p.Rule(r.GroupID, r.Region)
		if err == nil && sameRule(got, r) {
			return true
		}
	}
	return false
}

// sameRule: the same permission (the fields that make a rule, not its id,
// description or creation time).
func sameRule(a, b rule.Rule) bool {
	return a.Direction == b.Direction && a.Protocol == b.Protocol && a.Ports == b.Ports && a.Peer == b.Peer &&
		a.Policy == b.Policy && a.Priority == b.Priority && a.Local == b.Local
}

// openedButGone returns ledger records for what an authorize call opened
// that its own run no longer finds in the group, and that this function
// would have changed: another run (started by someone else's change to the
// same group) got there first, or it was removed. The revocation that run
// wrote cannot name the call's principal; this record does, so the ledger
// says who opened the rule.
func (e *Engine) openedButGone(st *observe.State, eventName string, params map[string]string, ec ledger.EventContext, now time.Time) []ledger.Record {
	dir := map[string]rule.Direction{"AuthorizeSecurityGroup": rule.Ingress, "AuthorizeSecurityGroupEgress": rule.Egress}[eventName]
	if dir == "" || params["SecurityGroupId"] != st.GroupID || ec.ActorUserName == "" {
		return nil
	}
	var out []ledger.Record
	for _, p := range requestedPermissions(params) {
		p.Direction = string(dir)
		r, err := p.Rule(st.GroupID, st.Region)
		if err != nil || slices.ContainsFunc(st.Rules, func(x rule.Rule) bool { return sameRule(x, r) }) {
			continue
		}
		r.ID = "opened-" + ec.EventID
		probe := observe.State{Region: st.Region, GroupID: st.GroupID, Rules: []rule.Rule{r}, Tags: st.Tags, TagsKnown: st.TagsKnown, DecisionsKnown: true}
		if e.fn.Plan(probe, now).Changes() == 0 {
			continue // not something this function would change
		}
		r.ID = ""
		out = append(out, ledger.NewFinding(ledger.Meta{Time: now, Function: e.cfg.Name, GroupID: st.GroupID, Region: st.Region, EventID: ec.EventID},
			ledger.Finding{Rule: r.Permission(), Reason: "opened by this call; no longer in the group when its run read it (revoked by another run, or removed)",
				Mode: "enforce", Action: "opened, already gone", Event: ec, OpenedBy: ec.ActorUserName}))
	}
	return out
}

// requestedPermissions reads the permissions of an authorize call: the
// legacy flat parameters and Permissions.N.Field.
func requestedPermissions(params map[string]string) []rule.Permission {
	byN := map[string]map[string]string{}
	flat := map[string]string{}
	for k, v := range params {
		if rest, ok := strings.CutPrefix(k, "Permissions."); ok {
			n, field, ok := strings.Cut(rest, ".")
			if !ok {
				continue
			}
			if byN[n] == nil {
				byN[n] = map[string]string{}
			}
			byN[n][field] = v
			continue
		}
		flat[k] = v
	}
	var out []rule.Permission
	if flat["IpProtocol"] != "" {
		out = append(out, permissionOf(flat))
	}
	for _, m := range byN {
		out = append(out, permissionOf(m))
	}
	return out
}

func permissionOf(m map[string]string) rule.Permission {
	return rule.Permission{IpProtocol: m["IpProtocol"], PortRange: m["PortRange"], SourcePortRange: m["SourcePortRange"],
		SourceCidrIp: m["SourceCidrIp"], Ipv6SourceCidrIp: m["Ipv6SourceCidrIp"], SourceGroupId: m["SourceGroupId"],
		SourceGroupOwnerAccount: m["SourceGroupOwnerAccount"], SourceGroupOwnerId: m["SourceGroupOwnerId"], SourcePrefixListId: m["SourcePrefixListId"],
		DestCidrIp: m["DestCidrIp"], Ipv6DestCidrIp: m["Ipv6DestCidrIp"], DestGroupId: m["DestGroupId"], DestGroupOwnerAccount: m["DestGroupOwnerAccount"],
		DestGroupOwnerId: m["DestGroupOwnerId"], DestPrefixListId: m["DestPrefixListId"], Policy: m["Policy"], Priority: m["Priority"], NicType: m["NicType"]}
}

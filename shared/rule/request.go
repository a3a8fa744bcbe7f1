package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Change is what one rule-changing API call asked for, read from the
// requestParameters of its ActionTrail record. It is a hint for picking the
// group to re-read, never the truth about the group's rules.
type Change struct {
	EventName string // canonical spelling, e.g. "AuthorizeSecurityGroup"
	GroupID   string
	Region    string // RegionId of the request; may be empty
	Direction Direction
	// Rules are the permissions named in the request, in request order (the
	// legacy flat form first, then Permissions.1, Permissions.2, …). For
	// Authorize they are complete and validated like [Permission.Rule]; for
	// Revoke and Modify they may be partial: a zero field was not given.
	Rules []Rule
	// RuleIDs are SecurityGroupRuleId.N (Revoke) or SecurityGroupRuleId
	// (Modify), in request order.
	RuleIDs []string
}

// eventKind describes one supported event.
type eventKind struct {
	name      string
	direction Direction
	partial   bool // rules may be partial (Revoke, Modify)
}

var events = map[string]eventKind{
	"authorizesecuritygroup":        {"AuthorizeSecurityGroup", Ingress, false},
	"authorizesecuritygroupegress":  {"AuthorizeSecurityGroupEgress", Egress, false},
	"modifysecuritygrouprule":       {"ModifySecurityGroupRule", Ingress, true},
	"modifysecuritygroupegressrule": {"ModifySecurityGroupEgressRule", Egress, true},
	"revokesecuritygroup":           {"RevokeSecurityGroup", Ingress, true},
	"revokesecuritygroupegress":     {"RevokeSecurityGroupEgress", Egress, true},
}

// permissionFields maps the lowercase parameter names of one permission to
// the Permission field they set.
var permissionFields = map[string]func(*Permission) *string{
	"ipprotocol":              func(p *Permission) *string { return &p.IpProtocol },
	"portrange":               func(p *Permission) *string { return &p.PortRange },
	"sourceportrange":         func(p *Permission) *string { return &p.SourcePortRange },
	"sourcecidrip":            func(p *Permission) *string { return &p.SourceCidrIp },
	"ipv6sourcecidrip":        func(p *Permission) *string { return &p.Ipv6SourceCidrIp },
	"sourcegroupid":           func(p *Permission) *string { return &p.SourceGroupId },
	"sourcegroupowneraccount": func(p *Permission) *string { return &p.SourceGroupOwnerAccount },
	"sourcegroupownerid":      func(p *Permission) *string { return &p.SourceGroupOwnerId },
	"sourceprefixlistid":      func(p *Permission) *string { return &p.SourcePrefixListId },
	"destcidrip":              func(p *Permission) *string { return &p.DestCidrIp },
	"ipv6destcidrip":          func(p *Permission) *string { return &p.Ipv6DestCidrIp },
	"destgroupid":             func(p *Permission) *string { return &p.DestGroupId },
	"destgroupowneraccount":   func(p *Permission) *string { return &p.DestGroupOwnerAccount },
	"destgroupownerid":        func(p *Permission) *string { return &p.DestGroupOwnerId },
	"destprefixlistid":        func(p *Permission) *string { return &p.DestPrefixListId },
	"policy":                  func(p *Permission) *string { return &p.Policy },
	"priority":                func(p *Permission) *string { return &p.Priority },
	"nictype":                 func(p *Permission) *string { return &p.NicType },
	"description":             func(p *Permission) *string { return &p.Description },
}

// FromRequestParameters reads the requestParameters of an ActionTrail record
// for AuthorizeSecurityGroup, AuthorizeSecurityGroupEgress,
// ModifySecurityGroupRule, ModifySecurityGroupEgressRule, RevokeSecurityGroup
// or RevokeSecurityGroupEgress.
//
// It takes the legacy flat form (IpProtocol, PortRange, …) and the
// Permissions.N.* form, also when Permissions arrives as a JSON array or as a
// string holding one. Keys are matched case-insensitively; values may be
// strings, numbers or booleans. Gateway extras (AcsHost, RequestId, …) are
// ignored. An unknown event name is an error naming it.
func FromRequestParameters(eventName string, params map[string]any) (Change, error) {
	ev, ok := events[strings.ToLower(strings.TrimSpace(eventName))]
	if !ok {
		return Change{}, fmt.Errorf("unsupported event %q", eventName)
	}
	c := Change{EventName: ev.name, Direction: ev.direction}
	fail := func(err error) (Change, error) {
		return Change{}, fmt.Errorf("parse %s request: %w", ev.name, err)
	}

	var flat Permission
	flatSet := false
	perms := map[int]*Permission{}
	ruleIDs := map[int]string{}
	permission := func(n int) *Permission {
		p := perms[n]
		if p == nil {
			p = &Permission{}
			perms[n] = p
		}
		return p
	}

	keys := make([]string, 0, len(params))
	for key := range params {
		keys = append(keys, key)
	}
	slices.Sort(keys) // deterministic when keys repeat in different case
	for _, key := range keys {
		raw := params[key]
		k := strings.ToLower(strings.TrimSpace(key))
		switch {
		case k == "permissions":
			list, err := permissionArray(raw)
			if err != nil {
				return fail(fmt.Errorf("parameter %q: %w", key, err))
			}
			for i, m := range list {
				for fk, fv := range m {
					set, ok := permissionFields[strings.ToLower(strings.TrimSpace(fk))]
					if !ok {
						continue
					}
					v, err := paramString(fv)
					if err != nil {
						return fail(fmt.Errorf("parameter %s[%d].%s: %w", key, i, fk, err))
					}
					*set(permission(i + 1)) = v
				}
			}
		case strings.HasPrefix(k, "permissions."):
			ns, field, ok := strings.Cut(strings.TrimPrefix(k, "permissions."), ".")
			n, err := strconv.Atoi(ns)
			if !ok || err != nil || n < 1 {
				return fail(fmt.Errorf("parameter %q: want Permissions.N.Field with N >= 1", key))
			}
			set, known := permissionFields[field]
			if !known {
				continue
			}
			v, err := paramString(raw)
			if err != nil {
				return fail(fmt.Errorf("parameter %q: %w", key, err))
			}
			*set(permission(n)) = v
		case k == "securitygroupid":
			v, err := paramString(raw)
			if err != nil {
				return fail(fmt.Errorf("parameter %q: %w", key, err))
			}
			c.GroupID = strings.TrimSpace(v)
		case k == "regionid" || (k == "region" && c.Region == ""):
			v, err := paramString(raw)
			if err != nil {
				return fail(fmt.Errorf("parameter %q: %w", key, err))
			}
			c.Region = strings.TrimSpace(v)
		case k == "securitygroupruleid":
			ids, err := paramStrings(raw)
			if err != nil {
				return fail(fmt.Errorf("parameter %q: %w", key, err))
			}
			for i, id := range ids {
				ruleIDs[i] = id // SecurityGroupRuleId.N starts at 1; a lone one sorts first
			}
		case strings.HasPrefix(k, "securitygroupruleid."):
			n, err := strconv.Atoi(strings.TrimPrefix(k, "securitygroupruleid."))
			if err != nil || n < 1 {
				return fail(fmt.Errorf("parameter %q: want SecurityGroupRuleId.N with N >= 1", key))
			}
			v, err := paramString(raw)
			if err != nil {
				return fail(fmt.Errorf("parameter %q: %w", key, err))
			}
			ruleIDs[n] = v
		default:
			set, known := permissionFields[k]
			if !known {
				continue
			}
			v, err := paramString(raw)
			if err != nil {
				return fail(fmt.Errorf("parameter %q: %w", key, err))
			}
			*set(&flat) = v
			flatSet = true
		}
	}

	if c.GroupID == "" {
		return fail(errors.New("missing SecurityGroupId"))
	}
	build := func(label string, p Permission) error {
		p.Direction = string(ev.direction)
		r, err := p.rule(c.GroupID, c.Region, ev.partial)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		c.Rules = append(c.Rules, r)
		return nil
	}
	if flatSet && len(perms) > 0 && !flat.namesRule() {
		flatSet = false // top-level extras (NicType, Description) beside Permissions.N
	}
	if flatSet {
		if err := build("legacy parameters", flat); err != nil {
			return fail(err)
		}
	}
	for _, n := range sortedKeys(perms) {
		if err := build(fmt.Sprintf("Permissions.%d", n), *perms[n]); err != nil {
			return fail(err)
		}
	}
	if ev.partial {
		for _, n := range sortedKeys(ruleIDs) {
			if id := strings.TrimSpace(ruleIDs[n]); id != "" {
				c.RuleIDs = append(c.RuleIDs, id)
			}
		}
	}
	if len(c.Rules) == 0 && len(c.RuleIDs) == 0 {
		return fail(errors.New("no permission and no SecurityGroupRuleId in request"))
	}
	return c, nil
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// paramString turns a scalar parameter value into its text.
func paramString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("unsupported value of type %T", v)
}

// paramStrings reads a value that may be one id, a list of ids, or a string
// holding a JSON array of ids.
func paramStrings(v any) ([]string, error) {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, err := paramString(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return x, nil
	case string:
		if t := strings.TrimSpace(x); strings.HasPrefix(t, "[") {
			var list []string
			if err := json.Unmarshal([]byte(t), &list); err != nil {
				return nil, fmt.Errorf("invalid JSON array: %w", err)
			}
			return list, nil
		}
	}
	s, err := paramString(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// permissionArray reads Permissions given whole: a list of objects, or a
// string holding a JSON array of objects.
func permissionArray(v any) ([]map[string]any, error) {
	switch x := v.(type) {
	case []map[string]any:
		return x, nil
	case []any:
		out := make([]map[string]any, 0, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("element %d: want an object, got %T", i, e)
			}
			out = append(out, m)
		}
		return out, nil
	case string:
		var list []map[string]any
		dec := json.NewDecoder(strings.NewReader(x))
		dec.UseNumber()
		if err := dec.Decode(&list); err != nil {
			return nil, fmt.Errorf("invalid JSON array of permissions: %w", err)
		}
		return list, nil
	}
	return nil, fmt.Errorf("want a list of permissions, got %T", v)
}

// namesRule reports whether p has a protocol, port range or peer field.
func (p Permission) namesRule() bool {
	for _, s := range []string{p.IpProtocol, p.PortRange, p.SourceCidrIp, p.Ipv6SourceCidrIp, p.SourceGroupId,
		p.SourcePrefixListId, p.DestCidrIp, p.Ipv6DestCidrIp, p.DestGroupId, p.DestPrefixListId} {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

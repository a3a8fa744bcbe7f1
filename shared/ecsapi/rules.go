package ecsapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// ECS actions, as named in errors and in Call.Op.
const (
	opDescribeAttribute = "DescribeSecurityGroupAttribute"
	opAuthorize         = "AuthorizeSecurityGroup"
	opAuthorizeEgress   = "AuthorizeSecurityGroupEgress"
	opRevoke            = "RevokeSecurityGroup"
	opRevokeEgress      = "RevokeSecurityGroupEgress"
)

// API limits.
const (
	minRulesPage   = 10 // DescribeSecurityGroupAttribute MaxResults: 10..1000
	maxRulesPage   = 1000
	maxBatch       = 100 // Permissions.N and SecurityGroupRuleId.N per call
	maxPagesGuard  = 10000
	directionAll   = "all"
	emptyGroupHint = "group id is empty"
)

// DescribeRules returns every rule of the security group, both directions,
// following NextToken until the last page (MaxResults 1000, or
// Config.PageSize). The returned Attribute's NextToken is always empty.
//
// Each rule is mapped field by field to a [rule.Permission] and parsed with
// [rule.Permission.Rule]. If any rule does not parse, or has no
// SecurityGroupRuleId, DescribeRules fails and names every such rule: an
// unparseable rule is never dropped, because a list with a hole in it could
// look safe. A missing group is ErrNotFound.
func (c *Client) DescribeRules(ctx context.Context, groupID string) (rule.Attribute, error) {
	if groupID == "" {
		return rule.Attribute{}, fmt.Errorf("describe security group: %s: %w", emptyGroupHint, ErrInvalid)
	}
	attr := rule.Attribute{GroupID: groupID, Region: c.cfg.Region}
	var bad []error
	first := true
	err := c.describePages(ctx, groupID, func(resp *ecs.DescribeSecurityGroupAttributeResponse) error {
		if first {
			first = false
			attr.VpcID, attr.Name, attr.Description = resp.VpcId, resp.SecurityGroupName, resp.Description
			if s := strings.TrimSpace(resp.InnerAccessPolicy); s != "" {
				p, err := rule.ParsePolicy(s)
				if err != nil {
					bad = append(bad, fmt.Errorf("InnerAccessPolicy: %w", err))
				}
				attr.InnerAccessPolicy = p
			}
		}
		for _, sp := range resp.Permissions.Permission {
			p := permissionFromSDK(sp)
			if strings.TrimSpace(p.SecurityGroupRuleId) == "" {
				bad = append(bad, fmt.Errorf("rule without SecurityGroupRuleId (%s %s %s): it could not be revoked",
					p.Direction, p.IpProtocol, p.PortRange))
				continue
			}
			r, err := p.Rule(groupID, c.cfg.Region)
			if err != nil {
				bad = append(bad, err) // Rule names the rule id
				continue
			}
			attr.Rules = append(attr.Rules, r)
		}
		return nil
	})
	if err != nil {
		return rule.Attribute{}, fmt.Errorf("describe security group %s: %w", groupID, err)
	}
	if len(bad) > 0 {
		return rule.Attribute{}, fmt.Errorf("describe security group %s: %d rule(s) cannot be parsed, refusing to return an incomplete rule list: %w",
			groupID, len(bad), errors.Join(bad...))
	}
	return attr, nil
}

// describePages calls DescribeSecurityGroupAttribute (Direction all) page
// after page and hands each response to fn.
func (c *Client) describePages(ctx context.Context, groupID string, fn func(*ecs.DescribeSecurityGroupAttributeResponse) error) error {
	token := ""
	seen := map[string]bool{}
	for range maxPagesGuard {
		var resp *ecs.DescribeSecurityGroupAttributeResponse
		err := c.call(ctx, opDescribeAttribute, func(api *ecs.Client) (err error) {
			req := ecs.CreateDescribeSecurityGroupAttributeRequest()
			c.prepare(req)
			req.SecurityGroupId = groupID
			req.Direction = directionAll
			req.MaxResults = c.page(minRulesPage, maxRulesPage)
			req.NextToken = token
			resp, err = api.DescribeSecurityGroupAttribute(req)
			return err
		})
		if err != nil {
			return err
		}
		if resp.SecurityGroupId != "" && resp.SecurityGroupId != groupID {
			return fmt.Errorf("response describes group %s: %w", resp.SecurityGroupId, ErrServer)
		}
		if err := fn(resp); err != nil {
			return err
		}
		if resp.NextToken == "" {
			return nil
		}
		if seen[resp.NextToken] {
			return fmt.Errorf("NextToken %q repeated: %w", resp.NextToken, ErrServer)
		}
		seen[resp.NextToken] = true
		token = resp.NextToken
	}
	return fmt.Errorf("more than %d pages: %w", maxPagesGuard, ErrServer)
}

// permissionFromSDK maps the SDK's Permission field by field. The SDK
// (v1.63.107) has no SourceGroupOwnerId / DestGroupOwnerId in responses
// (nor does the API document them there); they stay empty.
func permissionFromSDK(p ecs.Permission) rule.Permission {
	return rule.Permission{
		SecurityGroupRuleId:     p.SecurityGroupRuleId,
		Direction:               p.Direction,
		IpProtocol:              p.IpProtocol,
		PortRange:               p.PortRange,
		SourcePortRange:         p.SourcePortRange,
		SourceCidrIp:            p.SourceCidrIp,
		Ipv6SourceCidrIp:        p.Ipv6SourceCidrIp,
		SourceGroupId:           p.SourceGroupId,
		SourceGroupOwnerAccount: p.SourceGroupOwnerAccount,
		SourcePrefixListId:      p.SourcePrefixListId,
		DestCidrIp:              p.DestCidrIp,
		Ipv6DestCidrIp:          p.Ipv6DestCidrIp,
		DestGroupId:             p.DestGroupId,
		DestGroupOwnerAccount:   p.DestGroupOwnerAccount,
		DestPrefixListId:        p.DestPrefixListId,
		Policy:                  p.Policy,
		Priority:                p.Priority,
		NicType:                 p.NicType,
		Description:             p.Description,
		CreateTime:              p.CreateTime,
	}
}

// RevokeResult says what RevokeByID did with each id.
type RevokeResult = cloud.RevokeResult

// RevokeByID revokes exactly the rules with the given SecurityGroupRuleIds
// from the group, in calls of at most 100 ids (RevokeSecurityGroup, or
// RevokeSecurityGroupEgress for dir Egress). It never revokes by attributes.
//
// Since 2024-07-08 a call naming an id that no longer exists fails with
// InvalidParam.SecurityGroupRuleId and revokes nothing. RevokeByID then
// re-reads the group's rules, reports the missing ids as Gone, and retries
// once with the ids that still exist. An id that exists in the other
// direction is refused with ErrInvalid. Revoking is idempotent: calling
// again with the same ids reports them as Gone.
//
// On error, the result lists what was done before the failure. A batch
// rejected again after the re-read (the group changed concurrently) fails
// with ErrServer, so that it is retried later, never with ErrRuleGone.
func (c *Client) RevokeByID(ctx context.Context, groupID string, dir rule.Direction, ruleIDs []string) (RevokeResult, error) {
	var res RevokeResult
	if err := checkDirection(dir); err != nil {
		return res, fmt.Errorf("revoke rules of %s: %w", groupID, err)
	}
	if groupID == "" {
		return res, fmt.Errorf("revoke %s rules: %s: %w", dir, emptyGroupHint, ErrInvalid)
	}
	ids := make([]string, 0, len(ruleIDs))
	for _, id := range ruleIDs {
		if strings.TrimSpace(id) == "" {
			return res, fmt.Errorf("revoke %s rules of %s: empty rule id: %w", dir, groupID, ErrInvalid)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for batch := range slices.Chunk(ids, maxBatch) {
		err := c.revoke(ctx, groupID, dir, batch)
		if err == nil {
			res.Revoked = append(res.Revoked, batch...)
			continue
		}
		if !errors.Is(err, ErrRuleGone) {
			return res, fmt.Errorf("revoke %s rules %v of %s: %w", dir, batch, groupID, err)
		}
		// Nothing in the batch was revoked. Which ids are still there?
		present, err := c.ruleDirections(ctx, groupID)
		if err != nil {
			return res, fmt.Errorf("revoke %s rules of %s: re-read after InvalidParam.SecurityGroupRuleId: %w", dir, groupID, err)
		}
		var keep []string
		for _, id := range batch {
			d, ok := present[id]
			switch {
			case !ok:
				res.Gone = append(res.Gone, id)
			case d != dir:
				return res, fmt.Errorf("revoke %s rules of %s: rule %s is an %s rule: %w", dir, groupID, id, d, ErrInvalid)
			default:
				keep = append(keep, id)
			}
		}
		if len(keep) == 0 {
			continue
		}
		err = c.revoke(ctx, groupID, dir, keep)
		if err == nil {
			res.Revoked = append(res.Revoked, keep...)
			continue
		}
		if ae, ok := errors.AsType[*APIError](err); ok && errors.Is(err, ErrRuleGone) {
			again := *ae
			again.Err = fmt.Errorf("%w: rule ids changed again while retrying; nothing in this batch was revoked", ErrServer)
			err = &again
		}
		return res, fmt.Errorf("revoke %s rules %v of %s: %w", dir, keep, groupID, err)
	}
	return res, nil
}

// revoke sends one Revoke(Egress) call for ids (at most 100), with one
// ClientToken reused across the retries of the call.
func (c *Client) revoke(ctx context.Context, groupID string, dir rule.Direction, ids []string) error {
	token, err := clientToken()
	if err != nil {
		return fmt.Errorf("client token: %w", err)
	}
	if dir == rule.Egress {
		return c.call(ctx, opRevokeEgress, func(api *ecs.Client) error {
			req := ecs.CreateRevokeSecurityGroupEgressRequest()
			c.prepare(req)
			req.SecurityGroupId = groupID
			req.ClientToken = token
			ruleIDs := slices.Clone(ids)
			req.SecurityGroupRuleId = &ruleIDs
			_, err := api.RevokeSecurityGroupEgress(req)
			return err
		})
	}
	return c.call(ctx, opRevoke, func(api *ecs.Client) error {
		req := ecs.CreateRevokeSecurityGroupRequest()
		c.prepare(req)
		req.SecurityGroupId = groupID
		req.ClientToken = token
		ruleIDs := slices.Clone(ids)
		req.SecurityGroupRuleId = &ruleIDs
		_, err := api.RevokeSecurityGroup(req)
		return err
	})
}

// ruleDirections reads the ids and directions of the group's rules, without
// parsing the rest (an unrelated unparseable rule must not block a revoke).
func (c *Client) ruleDirections(ctx context.Context, groupID string) (map[string]rule.Direction, error) {
	m := map[string]rule.Direction{}
	err := c.describePages(ctx, groupID, func(resp *ecs.DescribeSecurityGroupAttributeResponse) error {
		for _, p := range resp.Permissions.Permission {
			d, err := rule.ParseDirection(p.Direction)
			if err != nil {
				return fmt.Errorf("rule %s: %w", p.SecurityGroupRuleId, err)
			}
			m[p.SecurityGroupRuleId] = d
		}
		return nil
	})
	return m, err
}

// Authorize adds perms to the group: AuthorizeSecurityGroup with
// Permissions.N (or AuthorizeSecurityGroupEgress for dir Egress), at most 100
// per call. Each call has its own ClientToken (a random UUID), reused across
// its retries, so a retried call is applied once.
//
// A Permission's Direction must be empty or dir. SecurityGroupRuleId and
// CreateTime are ignored (the API assigns them), so a backed-up rule can be
// passed as is. Fields the direction's API cannot carry (Dest* group and
// prefix-list fields on ingress, Source* ones on egress) are refused with
// ErrInvalid rather than dropped: dropping a peer would widen the rule.
// Authorizing a rule that already exists succeeds and creates nothing.
//
// On error, the calls before the failing one have been applied; the error
// says which rules were not.
func (c *Client) Authorize(ctx context.Context, groupID string, dir rule.Direction, perms []rule.Permission) error {
	if err := checkDirection(dir); err != nil {
		return fmt.Errorf("authorize rules of %s: %w", groupID, err)
	}
	if groupID == "" {
		return fmt.Errorf("authorize %s rules: %s: %w", dir, emptyGroupHint, ErrInvalid)
	}
	for i, p := range perms {
		if err := checkPermission(dir, p); err != nil {
			return fmt.Errorf("authorize %s rules of %s: permission %d: %w", dir, groupID, i, err)
		}
	}
	for i := 0; i < len(perms); i += maxBatch {
		batch := perms[i:min(i+maxBatch, len(perms))]
		token, err := clientToken()
		if err != nil {
			return fmt.Errorf("authorize %s rules of %s: client token: %w", dir, groupID, err)
		}
		if dir == rule.Egress {
			err = c.call(ctx, opAuthorizeEgress, func(api *ecs.Client) error {
				req := ecs.CreateAuthorizeSecurityGroupEgressRequest()
				c.prepare(req)
				req.SecurityGroupId = groupID
				req.ClientToken = token
				ps := egressPermissions(batch)
				req.Permissions = &ps
				_, err := api.AuthorizeSecurityGroupEgress(req)
				return err
			})
		} else {
			err = c.call(ctx, opAuthorize, func(api *ecs.Client) error {
				req := ecs.CreateAuthorizeSecurityGroupRequest()
				c.prepare(req)
				req.SecurityGroupId = groupID
				req.ClientToken = token
				ps := ingressPermissions(batch)
				req.Permissions = &ps
				_, err := api.AuthorizeSecurityGroup(req)
				return err
			})
		}
		if err != nil {
			return fmt.Errorf("authorize %s rules of %s: permissions %d..%d of %d not applied: %w",
				dir, groupID, i, len(perms)-1, len(perms), err)
		}
	}
	return nil
}

func checkDirection(dir rule.Direction) error {
	if dir != rule.Ingress && dir != rule.Egress {
		return fmt.Errorf("direction %q: want ingress or egress: %w", dir, ErrInvalid)
	}
	return nil
}

// checkPermission refuses what the direction's request cannot express.
func checkPermission(dir rule.Direction, p rule.Permission) error {
	if d := strings.TrimSpace(p.Direction); d != "" && !strings.EqualFold(d, string(dir)) {
		return fmt.Errorf("direction %q in a %s call: %w", p.Direction, dir, ErrInvalid)
	}
	var unsupported []string
	set := func(name, v string) {
		if strings.TrimSpace(v) != "" {
			unsupported = append(unsupported, name)
		}
	}
	if dir == rule.Egress {
		set("SourceGroupId", p.SourceGroupId)
		set("SourceGroupOwnerAccount", p.SourceGroupOwnerAccount)
		set("SourceGroupOwnerId", p.SourceGroupOwnerId)
		set("SourcePrefixListId", p.SourcePrefixListId)
	} else {
		set("DestGroupId", p.DestGroupId)
		set("DestGroupOwnerAccount", p.DestGroupOwnerAccount)
		set("DestGroupOwnerId", p.DestGroupOwnerId)
		set("DestPrefixListId", p.DestPrefixListId)
	}
	if len(unsupported) > 0 {
		return fmt.Errorf("%s cannot be sent in a %s rule: %w", strings.Join(unsupported, ", "), dir, ErrInvalid)
	}
	return nil
}

func ingressPermissions(perms []rule.Permission) []ecs.AuthorizeSecurityGroupPermissions {
	out := make([]ecs.AuthorizeSecurityGroupPermissions, len(perms))
	for i, p := range perms {
		out[i] = ecs.AuthorizeSecurityGroupPermissions{
			Policy:                  p.Policy,
			Priority:                p.Priority,
			IpProtocol:              p.IpProtocol,
			SourceCidrIp:            p.SourceCidrIp,
			Ipv6SourceCidrIp:        p.Ipv6SourceCidrIp,
			SourceGroupId:           p.SourceGroupId,
			SourcePrefixListId:      p.SourcePrefixListId,
			PortRange:               p.PortRange,
			DestCidrIp:              p.DestCidrIp,
			Ipv6DestCidrIp:          p.Ipv6DestCidrIp,
			SourcePortRange:         p.SourcePortRange,
			SourceGroupOwnerAccount: p.SourceGroupOwnerAccount,
			SourceGroupOwnerId:      p.SourceGroupOwnerId,
			NicType:                 p.NicType,
			Description:             p.Description,
		}
	}
	return out
}

func egressPermissions(perms []rule.Permission) []ecs.AuthorizeSecurityGroupEgressPermissions {
	out := make([]ecs.AuthorizeSecurityGroupEgressPermissions, len(perms))
	for i, p := range perms {
		out[i] = ecs.AuthorizeSecurityGroupEgressPermissions{
			Policy:                p.Policy,
			Priority:              p.Priority,
			IpProtocol:            p.IpProtocol,
			DestCidrIp:            p.DestCidrIp,
			Ipv6DestCidrIp:        p.Ipv6DestCidrIp,
			DestGroupId:           p.DestGroupId,
			DestPrefixListId:      p.DestPrefixListId,
			PortRange:             p.PortRange,
			SourceCidrIp:          p.SourceCidrIp,
			Ipv6SourceCidrIp:      p.Ipv6SourceCidrIp,
			SourcePortRange:       p.SourcePortRange,
			DestGroupOwnerAccount: p.DestGroupOwnerAccount,
			DestGroupOwnerId:      p.DestGroupOwnerId,
			NicType:               p.NicType,
			Description:           p.Description,
		}
	}
	return out
}

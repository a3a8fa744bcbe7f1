package ecsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/rule"
)

const (
	opDescribeGroups     = "DescribeSecurityGroups"
	opListTagResources   = "ListTagResources"
	opDescribePrefixList = "DescribePrefixListAttributes"

	maxGroupsPage  = 100  // DescribeSecurityGroups MaxResults
	maxGroupIDs    = 100  // DescribeSecurityGroups SecurityGroupIds
	maxTagFilters  = 20   // Tag.N
	tagFilterCap   = 1000 // tag-filtered DescribeSecurityGroups results
	resourceTypeSG = "securitygroup"
)

// ListOptions filters ListGroups. The zero value lists every group of the
// region.
type ListOptions = cloud.ListOptions

// Group is one security group as DescribeSecurityGroups lists it.
type Group = cloud.Group

// ListGroups lists the region's security groups matching opts
// (DescribeSecurityGroups, NextToken paging, 100 per page), in the order the
// API returns them, each group once.
//
// The API caps tag-filtered listings at 1000 groups; when a tag filter
// returns that many, ListGroups fails with ErrInvalid rather than return a
// list that may be incomplete.
func (c *Client) ListGroups(ctx context.Context, opts ListOptions) ([]Group, error) {
	if len(opts.Tags) > maxTagFilters {
		return nil, fmt.Errorf("list security groups: %d tag filters, at most %d: %w", len(opts.Tags), maxTagFilters, ErrInvalid)
	}
	var tags []ecs.DescribeSecurityGroupsTag
	for _, k := range slices.Sorted(maps.Keys(opts.Tags)) {
		if k == "" {
			return nil, fmt.Errorf("list security groups: empty tag key: %w", ErrInvalid)
		}
		tags = append(tags, ecs.DescribeSecurityGroupsTag{Key: k, Value: opts.Tags[k]})
	}
	idSets := [][]string{nil} // one query without an id filter
	if opts.GroupIDs != nil {
		if len(opts.GroupIDs) == 0 {
			return nil, nil
		}
		for _, id := range opts.GroupIDs {
			if strings.TrimSpace(id) == "" {
				return nil, fmt.Errorf("list security groups: empty group id: %w", ErrInvalid)
			}
		}
		idSets = slices.Collect(slices.Chunk(opts.GroupIDs, maxGroupIDs))
	}

	var out []Group
	seen := map[string]bool{}
	for _, ids := range idSets {
		idFilter := ""
		if ids != nil {
			b, err := json.Marshal(ids)
			if err != nil {
				return nil, fmt.Errorf("list security groups: %w", err)
			}
			idFilter = string(b)
		}
		token := ""
		seenTokens := map[string]bool{}
		for {
			var resp *ecs.DescribeSecurityGroupsResponse
			err := c.call(ctx, opDescribeGroups, func(api *ecs.Client) (err error) {
				req := ecs.CreateDescribeSecurityGroupsRequest()
				c.prepare(req)
				req.VpcId = opts.VpcID
				req.SecurityGroupIds = idFilter
				if len(tags) > 0 {
					t := slices.Clone(tags)
					req.Tag = &t
				}
				req.MaxResults = c.page(1, maxGroupsPage)
				req.NextToken = token
				resp, err = api.DescribeSecurityGroups(req)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("list security groups: %w", err)
			}
			for _, g := range resp.SecurityGroups.SecurityGroup {
				if seen[g.SecurityGroupId] {
					continue
				}
				seen[g.SecurityGroupId] = true
				out = append(out, Group{
					ID:        g.SecurityGroupId,
					Name:      g.SecurityGroupName,
					VpcID:     g.VpcId,
					Region:    c.cfg.Region,
					Type:      g.SecurityGroupType,
					Tags:      tagMap(g.Tags.Tag),
					RuleCount: g.RuleCount,
				})
			}
			if resp.NextToken == "" {
				break
			}
			if seenTokens[resp.NextToken] {
				return nil, fmt.Errorf("list security groups: NextToken %q repeated: %w", resp.NextToken, ErrServer)
			}
			seenTokens[resp.NextToken] = true
			token = resp.NextToken
		}
	}
	if len(tags) > 0 && len(out) >= tagFilterCap {
		return nil, fmt.Errorf("list security groups: the tag filter matched %d groups and the API caps tag-filtered listings at %d, so the list may be incomplete; narrow the filter: %w",
			len(out), tagFilterCap, ErrInvalid)
	}
	return out, nil
}

// tagMap reads the SDK's Tag pairs; DescribeSecurityGroups fills
// TagKey/TagValue, other APIs Key/Value.
func tagMap(ts []ecs.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		k, v := t.TagKey, t.TagValue
		if k == "" {
			k, v = t.Key, t.Value
		}
		if k != "" {
			m[k] = v
		}
	}
	return m
}

// GroupTags returns the tags of one security group (ListTagResources,
// ResourceType securitygroup, NextToken paging). A group without tags, or one
// that does not exist, has an empty map.
func (c *Client) GroupTags(ctx context.Context, groupID string) (map[string]string, error) {
	if groupID == "" {
		return nil, fmt.Errorf("list tags: %s: %w", emptyGroupHint, ErrInvalid)
	}
	tags := map[string]string{}
	token := ""
	seenTokens := map[string]bool{}
	for {
		var resp *ecs.ListTagResourcesResponse
		err := c.call(ctx, opListTagResources, func(api *ecs.Client) (err error) {
			req := ecs.CreateListTagResourcesRequest()
			c.prepare(req)
			req.ResourceType = resourceTypeSG
			ids := []string{groupID}
			req.ResourceId = &ids
			req.NextToken = token
			resp, err = api.ListTagResources(req)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", groupID, err)
		}
		for _, t := range resp.TagResources.TagResource {
			if t.ResourceId == groupID {
				tags[t.TagKey] = t.TagValue
			}
		}
		if resp.NextToken == "" {
			return tags, nil
		}
		if seenTokens[resp.NextToken] {
			return nil, fmt.Errorf("list tags of %s: NextToken %q repeated: %w", groupID, resp.NextToken, ErrServer)
		}
		seenTokens[resp.NextToken] = true
		token = resp.NextToken
	}
}

// PrefixListEntries returns the CIDRs of a prefix list
// (DescribePrefixListAttributes), masked, in API order. A single address
// becomes a /32 or /128. An unknown prefix list is ErrNotFound; an entry that
// does not parse fails the call (a rule's peer must never look narrower than
// it is).
func (c *Client) PrefixListEntries(ctx context.Context, id string) ([]netip.Prefix, error) {
	if strings.TrimSpace(id) == "" {
		return nil, fmt.Errorf("describe prefix list: empty id: %w", ErrInvalid)
	}
	var resp *ecs.DescribePrefixListAttributesResponse
	err := c.call(ctx, opDescribePrefixList, func(api *ecs.Client) (err error) {
		req := ecs.CreateDescribePrefixListAttributesRequest()
		c.prepare(req)
		req.PrefixListId = id
		resp, err = api.DescribePrefixListAttributes(req)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("describe prefix list %s: %w", id, err)
	}
	switch resp.PrefixListId {
	case id:
	case "":
		return nil, fmt.Errorf("describe prefix list %s: empty response: %w", id, ErrNotFound)
	default:
		return nil, fmt.Errorf("describe prefix list %s: response is for %s: %w", id, resp.PrefixListId, ErrServer)
	}
	out := make([]netip.Prefix, 0, len(resp.Entries.Entry))
	for _, e := range resp.Entries.Entry {
		p, err := rule.ParseCIDR(e.Cidr)
		if err != nil {
			return nil, fmt.Errorf("describe prefix list %s: entry %q: %w", id, e.Cidr, err)
		}
		out = append(out, p)
	}
	return out, nil
}

const opPrefixListAssociations = "DescribePrefixListAssociations"

// PrefixListGroups returns the security groups with a rule that references
// the prefix list (DescribePrefixListAssociations, NextToken paging, 100 per
// page), each once: the groups a change of the list can expose. An unknown
// list is ErrNotFound; a repeated NextToken fails with ErrServer rather than
// loop.
func (c *Client) PrefixListGroups(ctx context.Context, id string) ([]string, error) {
	if strings.TrimSpace(id) == "" {
		return nil, fmt.Errorf("prefix list associations: empty id: %w", ErrInvalid)
	}
	var out []string
	seen, tokens := map[string]bool{}, map[string]bool{}
	token := ""
	for {
		var resp *ecs.DescribePrefixListAssociationsResponse
		err := c.call(ctx, opPrefixListAssociations, func(api *ecs.Client) (err error) {
			req := ecs.CreateDescribePrefixListAssociationsRequest()
			c.prepare(req)
			req.PrefixListId = id
			req.MaxResults = c.page(1, 100)
			req.NextToken = token
			resp, err = api.DescribePrefixListAssociations(req)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("prefix list associations of %s: %w", id, err)
		}
		for _, a := range resp.PrefixListAssociations.PrefixListAssociation {
			if a.ResourceId != "" && !seen[a.ResourceId] && (a.ResourceType == "" || strings.EqualFold(a.ResourceType, "securitygroup")) {
				seen[a.ResourceId] = true
				out = append(out, a.ResourceId)
			}
		}
		if resp.NextToken == "" {
			return out, nil
		}
		if tokens[resp.NextToken] {
			return nil, fmt.Errorf("prefix list associations of %s: NextToken %q repeated: %w", id, resp.NextToken, ErrServer)
		}
		tokens[resp.NextToken] = true
		token = resp.NextToken
	}
}

package ecsapi

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// What the replicator and `porthygiene replicate init` need beyond the guard.

const (
	opDescribePrefixLists = "DescribePrefixLists"
	opCreateGroup         = "CreateSecurityGroup"
	opTagResources        = "TagResources"
)

// CreateGroup creates a security group in vpcID (one ClientToken across the
// call's retries: a retried create makes one group) and returns its id.
func (c *Client) CreateGroup(ctx context.Context, vpcID, name, description string) (string, error) {
	if strings.TrimSpace(vpcID) == "" {
		return "", fmt.Errorf("create security group: no VPC: %w", ErrInvalid)
	}
	token, err := clientToken()
	if err != nil {
		return "", fmt.Errorf("create security group: client token: %w", err)
	}
	var id string
	err = c.call(ctx, opCreateGroup, func(api *ecs.Client) error {
		req := ecs.CreateCreateSecurityGroupRequest()
		c.prepare(req)
		req.VpcId, req.SecurityGroupName, req.Description, req.ClientToken = vpcID, name, description, token
		resp, err := api.CreateSecurityGroup(req)
		if err == nil {
			id = resp.SecurityGroupId
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create security group %q in %s: %w", name, vpcID, err)
	}
	return id, nil
}

// TagGroup sets tags on a security group (TagResources; at most 20).
func (c *Client) TagGroup(ctx context.Context, groupID string, tags map[string]string) error {
	if len(tags) == 0 {
		return nil
	}
	if len(tags) > maxTagFilters {
		return fmt.Errorf("tag %s: %d tags, at most %d: %w", groupID, len(tags), maxTagFilters, ErrInvalid)
	}
	var ts []ecs.TagResourcesTag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		ts = append(ts, ecs.TagResourcesTag{Key: k, Value: tags[k]})
	}
	err := c.call(ctx, opTagResources, func(api *ecs.Client) error {
		req := ecs.CreateTagResourcesRequest()
		c.prepare(req)
		req.ResourceType = "securitygroup"
		req.ResourceId = &[]string{groupID}
		req.Tag = &ts
		_, err := api.TagResources(req)
		return err
	})
	if err != nil {
		return fmt.Errorf("tag %s: %w", groupID, err)
	}
	return nil
}

// PrefixListNames returns every prefix list of the region by id → name
// (DescribePrefixLists, NextToken paging, 100 per page): how the replicator
// maps a prefix list into another region by name. A repeated NextToken
// fails with ErrServer rather than loop.
func (c *Client) PrefixListNames(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	tokens := map[string]bool{}
	token := ""
	for {
		var resp *ecs.DescribePrefixListsResponse
		err := c.call(ctx, opDescribePrefixLists, func(api *ecs.Client) (err error) {
			req := ecs.CreateDescribePrefixListsRequest()
			c.prepare(req)
			req.MaxResults = c.page(1, 100)
			req.NextToken = token
			resp, err = api.DescribePrefixLists(req)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list prefix lists: %w", err)
		}
		for _, p := range resp.PrefixLists.PrefixList {
			out[p.PrefixListId] = p.PrefixListName
		}
		if resp.NextToken == "" {
			return out, nil
		}
		if tokens[resp.NextToken] {
			return nil, fmt.Errorf("list prefix lists: NextToken %q repeated: %w", resp.NextToken, ErrServer)
		}
		tokens[resp.NextToken] = true
		token = resp.NextToken
	}
}

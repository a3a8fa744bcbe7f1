package ecsapi

import (
	"context"
	"fmt"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

const opDescribePrefixLists = "DescribePrefixLists"

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

package ecsapi

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/porthygiene/porthygiene/shared/cloud"
)

const (
	opDescribeENIs = "DescribeNetworkInterfaces"
	minENIPage     = 10 // DescribeNetworkInterfaces MaxResults: 10..500
	maxENIPage     = 500
	maxENIIDs      = 100 // NetworkInterfaceId.N
)

// ENIOptions filters NetworkInterfaces. The zero value lists every network
// interface of the region.
type ENIOptions = cloud.ENIOptions

// ENI is one elastic network interface.
type ENI = cloud.ENI

// NetworkInterfaces lists the network interfaces matching opts
// (DescribeNetworkInterfaces, NextToken paging, 500 per page), each once. An
// address that does not parse fails the call.
//
// Filter by InstanceID or IDs, not by security group: the API's
// SecurityGroupId filter matches secondary ENIs only.
func (c *Client) NetworkInterfaces(ctx context.Context, opts ENIOptions) ([]ENI, error) {
	idSets := [][]string{nil}
	if opts.IDs != nil {
		if len(opts.IDs) == 0 {
			return nil, nil
		}
		for _, id := range opts.IDs {
			if strings.TrimSpace(id) == "" {
				return nil, fmt.Errorf("describe network interfaces: empty id: %w", ErrInvalid)
			}
		}
		idSets = slices.Collect(slices.Chunk(opts.IDs, maxENIIDs))
	}
	var out []ENI
	seen := map[string]bool{}
	for _, ids := range idSets {
		token := ""
		seenTokens := map[string]bool{}
		for {
			var resp *ecs.DescribeNetworkInterfacesResponse
			err := c.call(ctx, opDescribeENIs, func(api *ecs.Client) (err error) {
				req := ecs.CreateDescribeNetworkInterfacesRequest()
				c.prepare(req)
				req.InstanceId = opts.InstanceID
				req.VpcId = opts.VpcID
				if ids != nil {
					idsCopy := slices.Clone(ids)
					req.NetworkInterfaceId = &idsCopy
				}
				req.MaxResults = c.page(minENIPage, maxENIPage)
				req.NextToken = token
				resp, err = api.DescribeNetworkInterfaces(req)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("describe network interfaces: %w", err)
			}
			for _, n := range resp.NetworkInterfaceSets.NetworkInterfaceSet {
				if seen[n.NetworkInterfaceId] {
					continue
				}
				seen[n.NetworkInterfaceId] = true
				e, err := eniFromSDK(n)
				if err != nil {
					return nil, fmt.Errorf("describe network interfaces: %s: %w", n.NetworkInterfaceId, err)
				}
				out = append(out, e)
			}
			if resp.NextToken == "" {
				break
			}
			if seenTokens[resp.NextToken] {
				return nil, fmt.Errorf("describe network interfaces: NextToken %q repeated: %w", resp.NextToken, ErrServer)
			}
			seenTokens[resp.NextToken] = true
			token = resp.NextToken
		}
	}
	return out, nil
}

func eniFromSDK(n ecs.NetworkInterfaceSet) (ENI, error) {
	e := ENI{
		ID:         n.NetworkInterfaceId,
		InstanceID: n.InstanceId,
		Type:       n.Type,
		GroupIDs:   slices.Clone(n.SecurityGroupIds.SecurityGroupId),
		VpcID:      n.VpcId,
		VSwitchID:  n.VSwitchId,
		ZoneID:     n.ZoneId,
	}
	if e.InstanceID == "" {
		e.InstanceID = n.Attachment.InstanceId
	}
	var err error
	if s := strings.TrimSpace(n.PrivateIpAddress); s != "" {
		if e.PrivateIP, err = netip.ParseAddr(s); err != nil {
			return ENI{}, fmt.Errorf("PrivateIpAddress: %w", err)
		}
	}
	if s := strings.TrimSpace(n.AssociatedPublicIp.PublicIpAddress); s != "" {
		if e.PublicIP, err = netip.ParseAddr(s); err != nil {
			return ENI{}, fmt.Errorf("PublicIpAddress: %w", err)
		}
	}
	return e, nil
}

// GroupsOfInstance returns the security groups of all of the instance's
// network interfaces (primary and secondary), sorted, each once. An instance
// with no network interface is ErrNotFound.
func (c *Client) GroupsOfInstance(ctx context.Context, instanceID string) ([]string, error) {
	if strings.TrimSpace(instanceID) == "" {
		return nil, fmt.Errorf("groups of instance: empty instance id: %w", ErrInvalid)
	}
	enis, err := c.NetworkInterfaces(ctx, ENIOptions{InstanceID: instanceID})
	if err != nil {
		return nil, fmt.Errorf("groups of instance %s: %w", instanceID, err)
	}
	if len(enis) == 0 {
		return nil, fmt.Errorf("groups of instance %s: no network interfaces: %w", instanceID, ErrNotFound)
	}
	var groups []string
	for _, e := range enis {
		groups = append(groups, e.GroupIDs...)
	}
	slices.Sort(groups)
	return slices.Compact(groups), nil
}

// GroupsOfENIs maps each of the given network interfaces to its security
// groups, in one paged query per 100 ids. Interfaces that do not exist are
// absent from the map.
func (c *Client) GroupsOfENIs(ctx context.Context, eniIDs []string) (map[string][]string, error) {
	if len(eniIDs) == 0 {
		return map[string][]string{}, nil
	}
	enis, err := c.NetworkInterfaces(ctx, ENIOptions{IDs: eniIDs})
	if err != nil {
		return nil, fmt.Errorf("groups of network interfaces: %w", err)
	}
	m := make(map[string][]string, len(enis))
	for _, e := range enis {
		m[e.ID] = e.GroupIDs
	}
	return m, nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/porthygiene/porthygiene/shared/exposure"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/rule"
)

// evaluateOutput is what `evaluate` prints.
type evaluateOutput struct {
	GroupID     string `json:"securityGroupId"`
	Region      string `json:"region,omitempty"`
	Name        string `json:"securityGroupName,omitempty"`
	VpcID       string `json:"vpcId,omitempty"`
	Policy      string `json:"policy"`
	EvaluatedAt string `json:"evaluatedAt"`
	Rules       int    `json:"rules"`
	// Findings are what the guard would act on; Exempted are exposures an
	// active exemption covers.
	Findings []exposure.Finding `json:"findings"`
	Exempted []exposure.Finding `json:"exempted"`
}

// runEvaluate judges one security group offline: the rules come from a saved
// DescribeSecurityGroupAttribute response, nothing talks to the cloud.
func runEvaluate(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("evaluate",
		"--attribute FILE [--attribute NEXT_PAGE …] [--policy FILE] [--prefix-lists FILE] [--tags FILE] [--now RFC3339]", env.stderr)
	var pages []string
	fs.Func("attribute", "DescribeSecurityGroupAttribute response body (JSON), as the API returns it; repeat for every page (required)",
		func(s string) error { pages = append(pages, s); return nil })
	policyPath := fs.String("policy", "", "policy file (default: the built-in policy)")
	plPath := fs.String("prefix-lists", "", `JSON object mapping prefix-list ids to their CIDR entries, e.g. {"pl-x": ["203.0.113.0/24"]}; a list not given is judged "unknown"`)
	tagsPath := fs.String("tags", "", `JSON object of the group's tags, e.g. {"porthygiene-exempt": "owner=…;reason=…;until=2026-12-31"}`)
	nowFlag := fs.String("now", "", "evaluate as of this time (RFC 3339; default: now); decides which exemptions have expired")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(pages) == 0 {
		return usagef("--attribute is required")
	}

	now := time.Now().UTC()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return usagef("--now %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", *nowFlag)
		}
		now = t
	}
	attr, err := readAttribute(pages)
	if err != nil {
		return err
	}
	pol := policy.Default()
	if *policyPath != "" {
		if pol, err = policy.Load(*policyPath); err != nil {
			return usageError{err}
		}
	}
	pls, err := readPrefixLists(*plPath)
	if err != nil {
		return err
	}
	tags, err := readTags(*tagsPath)
	if err != nil {
		return err
	}

	rep, err := exposure.Evaluate(pol, exposure.Input{
		Rules:       attr.Rules,
		Tags:        map[string]map[string]string{attr.GroupID: tags},
		PrefixLists: pls,
		Now:         now,
	})
	if err != nil {
		return usageError{err}
	}
	out := evaluateOutput{
		GroupID:     attr.GroupID,
		Region:      attr.Region,
		Name:        attr.Name,
		VpcID:       attr.VpcID,
		Policy:      pol.Name(),
		EvaluatedAt: now.Format(time.RFC3339),
		Rules:       len(attr.Rules),
		Findings:    rep.Findings,
		Exempted:    rep.Exempted,
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// readAttribute reads and merges the pages of a DescribeSecurityGroupAttribute
// response. A listing that says more pages follow is refused: a rule list with
// a hole must not be judged as if it were complete.
func readAttribute(paths []string) (rule.Attribute, error) {
	var attr rule.Attribute
	for i, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return rule.Attribute{}, usagef("read --attribute: %w", err)
		}
		page, err := rule.ParseAttribute(data)
		if err != nil {
			return rule.Attribute{}, usagef("%s: %w", path, err)
		}
		if i == 0 {
			attr = page
			continue
		}
		if err := attr.Merge(page); err != nil {
			return rule.Attribute{}, usagef("%s: %w", path, err)
		}
	}
	if attr.NextToken != "" {
		return rule.Attribute{}, usagef("%s: the response says more rules follow (NextToken %q); pass every page with --attribute",
			paths[len(paths)-1], attr.NextToken)
	}
	return attr, nil
}

// readPrefixLists reads {"pl-id": ["cidr", …], …}; "" means none resolved.
func readPrefixLists(path string) (exposure.PrefixLists, error) {
	pls := exposure.PrefixLists{}
	if path == "" {
		return pls, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("read --prefix-lists: %w", err)
	}
	var raw map[string][]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, usagef("%s: want a JSON object mapping prefix-list ids to arrays of CIDRs: %w", path, err)
	}
	ids := make([]string, 0, len(raw))
	for id := range raw {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		entries := make([]netip.Prefix, 0, len(raw[id]))
		for _, s := range raw[id] {
			p, err := rule.ParseCIDR(s)
			if err != nil {
				return nil, usagef("%s: prefix list %s: %w", path, id, err)
			}
			entries = append(entries, p)
		}
		pls[id] = entries
	}
	return pls, nil
}

// readTags reads {"key": "value", …}; "" means no tags.
func readTags(path string) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("read --tags: %w", err)
	}
	var tags map[string]string
	if err := json.Unmarshal(data, &tags); err != nil {
		return nil, usagef("%s: want a JSON object of tag keys to string values: %w", path, err)
	}
	return tags, nil
}

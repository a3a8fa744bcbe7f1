package slsapi

import (
	"context"
	"errors"

	sdk "github.com/aliyun/aliyun-log-go-sdk"
)

// EnsureProject creates the project unless it exists (setup and tests).
func (c *Client) EnsureProject(ctx context.Context, project, description string) error {
	err := c.do(ctx, call{op: "CreateProject", project: project}, func(sc sdk.ClientInterface) error {
		_, err := sc.CreateProject(project, description)
		return err
	})
	if errors.Is(err, ErrAlreadyExists) {
		return nil
	}
	return err
}

// EnsureLogstore creates the logstore (ttlDays retention, shards shards, no
// auto split) unless it exists; an existing logstore is left as it is.
func (c *Client) EnsureLogstore(ctx context.Context, project, logstore string, ttlDays, shards int) error {
	err := c.do(ctx, call{op: "CreateLogStore", project: project, logstore: logstore}, func(sc sdk.ClientInterface) error {
		return sc.CreateLogStore(project, logstore, ttlDays, shards, false, 0)
	})
	if errors.Is(err, ErrAlreadyExists) {
		return nil
	}
	return err
}

// indexTokens are the delimiters of the field indexes EnsureIndex creates:
// SLS's console defaults, which keep ids such as "sg-bp1…" or "3F2C-…" whole.
var indexTokens = []string{",", " ", "'", "\"", ";", "=", "(", ")", "[", "]", "{", "}", "?", "@", "&", "<", ">", "/", ":", "\n", "\t", "\r"}

// EnsureIndex creates (or replaces) the logstore's index with a text field
// index, case-sensitive and analysable, for each key. Without an index a real
// logstore cannot be queried by field.
func (c *Client) EnsureIndex(ctx context.Context, project, logstore string, keys ...string) error {
	idx := sdk.Index{Keys: map[string]sdk.IndexKey{}}
	for _, k := range keys {
		idx.Keys[k] = sdk.IndexKey{Token: indexTokens, CaseSensitive: true, Type: "text", DocValue: true}
	}
	cl := call{op: "CreateIndex", project: project, logstore: logstore}
	err := c.do(ctx, cl, func(sc sdk.ClientInterface) error { return sc.CreateIndex(project, logstore, idx) })
	if errors.Is(err, ErrAlreadyExists) {
		cl.op = "UpdateIndex"
		err = c.do(ctx, cl, func(sc sdk.ClientInterface) error { return sc.UpdateIndex(project, logstore, idx) })
	}
	return err
}

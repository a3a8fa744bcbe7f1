package slsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

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

// ProjectExists reports whether the project exists (GetProject).
func (c *Client) ProjectExists(ctx context.Context, project string) (bool, error) {
	err := c.do(ctx, call{op: "GetProject", project: project}, func(sc sdk.ClientInterface) error {
		_, err := sc.GetProject(project)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// LogstoreExists reports whether the logstore exists (GetLogStore); a missing
// project means no logstore.
func (c *Client) LogstoreExists(ctx context.Context, project, logstore string) (bool, error) {
	err := c.do(ctx, call{op: "GetLogStore", project: project, logstore: logstore}, func(sc sdk.ClientInterface) error {
		_, err := sc.GetLogStore(project, logstore)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
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

// FieldType is the type EnsureIndex gives every key: equality and phrase
// search on string values ("kind: revocation", `groupId: "sg-1"`) need a
// text field index; time ranges use the log time (__time__), which SLS
// indexes by itself.
const FieldType = "text"

// textKey is the field index EnsureIndex gives each key: text, case-sensitive,
// analysable (doc_value).
var textKey = sdk.IndexKey{Token: indexTokens, CaseSensitive: true, Type: FieldType, DocValue: true}

// IndexState is what a logstore's index (GetIndex) says about its fields.
type IndexState struct {
	// Exists is false when the logstore has no index: GetLogs on it fails
	// with IndexConfigNotExist.
	Exists bool
	// FullText reports a full-text (line) index.
	FullText bool
	// Fields maps each field index to its type ("text", "long", "double",
	// "json").
	Fields map[string]string
	// raw is the configuration as read, which UpdateIndex sends back with
	// the changed keys: fields of it this package does not know are kept.
	raw map[string]json.RawMessage
}

// IndexChange is what EnsureIndex does so that every key has a text field
// index.
type IndexChange struct {
	// Create: the logstore has no index; CreateIndex gives it one with the
	// keys (and nothing else).
	Create bool
	// Add are the keys without a field index, and Retype the keys indexed
	// with another type ("groupId (long)"): UpdateIndex gives them a text
	// index and keeps every other field of the configuration.
	Add, Retype []string
}

// None reports that the index already covers every key.
func (ch IndexChange) None() bool { return !ch.Create && len(ch.Add) == 0 && len(ch.Retype) == 0 }

// String describes the change in one line, e.g. "add eventId, ruleId".
func (ch IndexChange) String() string {
	var parts []string
	if ch.Create {
		parts = append(parts, "create")
	}
	if len(ch.Add) > 0 {
		parts = append(parts, "add "+strings.Join(ch.Add, ", "))
	}
	if len(ch.Retype) > 0 {
		parts = append(parts, "make "+FieldType+": "+strings.Join(ch.Retype, ", "))
	}
	if len(parts) == 0 {
		return "nothing to change"
	}
	return strings.Join(parts, "; ")
}

// Plan returns what EnsureIndex would change for keys, in their order.
func (s IndexState) Plan(keys ...string) IndexChange {
	var ch IndexChange
	if !s.Exists {
		return IndexChange{Create: true}
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		switch t, ok := s.Fields[k]; {
		case !ok:
			ch.Add = append(ch.Add, k)
		case t != FieldType:
			ch.Retype = append(ch.Retype, k+" ("+t+")")
		}
	}
	return ch
}

// Index reads the logstore's index (GetIndex). A logstore without an index
// is IndexState{Exists: false}, not an error; a missing logstore or project
// is ErrNotFound.
func (c *Client) Index(ctx context.Context, project, logstore string) (IndexState, error) {
	var body string
	cl := call{op: "GetIndex", project: project, logstore: logstore}
	err := c.do(ctx, cl, func(sc sdk.ClientInterface) error {
		var err error
		body, err = sc.GetIndexString(project, logstore)
		return err
	})
	if e, ok := errors.AsType[*Error](err); ok && e.Code == "IndexConfigNotExist" {
		return IndexState{}, nil
	}
	if err != nil {
		return IndexState{}, err
	}
	st, perr := parseIndex(body)
	if perr != nil {
		return IndexState{}, &Error{Op: cl.op, Project: project, Logstore: logstore, Message: "malformed index configuration: " + perr.Error(), Err: ErrServer}
	}
	return st, nil
}

// parseIndex decodes a GetIndex body.
func parseIndex(body string) (IndexState, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		return IndexState{}, err
	}
	st := IndexState{Exists: true, Fields: map[string]string{}, raw: raw}
	if line, ok := raw["line"]; ok && string(line) != "null" {
		st.FullText = true
	}
	if k, ok := raw["keys"]; ok && string(k) != "null" {
		var keys map[string]struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(k, &keys); err != nil {
			return IndexState{}, fmt.Errorf("keys: %w", err)
		}
		for name, key := range keys {
			st.Fields[name] = key.Type
		}
	}
	return st, nil
}

// readOnlyIndexFields are fields GetIndex answers that are not configuration
// and are left out of the UpdateIndex body.
var readOnlyIndexFields = []string{"lastModifyTime"}

// EnsureIndex makes the logstore's index give each key a text field index
// (FieldType), so that the logstore can be queried by those fields. A
// logstore without an index gets one with exactly these keys (CreateIndex);
// an index that lacks some keys, or indexes them with another type, is
// updated (UpdateIndex) with only those keys changed: its other fields, its
// full-text index and its settings are kept. An index that already covers
// every key is not written. Idempotent. On SLS an index, and each field added
// to it, covers only logs written after the change.
func (c *Client) EnsureIndex(ctx context.Context, project, logstore string, keys ...string) error {
	st, err := c.Index(ctx, project, logstore)
	if err != nil {
		return err
	}
	ch := st.Plan(keys...)
	switch {
	case ch.None():
		return nil
	case ch.Create:
		idx := sdk.Index{Keys: map[string]sdk.IndexKey{}}
		for _, k := range keys {
			idx.Keys[k] = textKey
		}
		err := c.do(ctx, call{op: "CreateIndex", project: project, logstore: logstore}, func(sc sdk.ClientInterface) error {
			return sc.CreateIndex(project, logstore, idx)
		})
		if !errors.Is(err, ErrAlreadyExists) {
			return err
		}
		// Created concurrently: merge into what is there now.
		if st, err = c.Index(ctx, project, logstore); err != nil {
			return err
		}
		if ch = st.Plan(keys...); ch.None() {
			return nil
		}
	}
	body, err := st.merged(keys)
	if err != nil {
		return &Error{Op: "UpdateIndex", Project: project, Logstore: logstore, Message: err.Error(), Err: ErrInvalid}
	}
	return c.do(ctx, call{op: "UpdateIndex", project: project, logstore: logstore}, func(sc sdk.ClientInterface) error {
		return sc.UpdateIndexString(project, logstore, body)
	})
}

// merged returns the UpdateIndex body: the configuration as read, with a text
// field index for each key that lacks one.
func (s IndexState) merged(keys []string) (string, error) {
	out := make(map[string]json.RawMessage, len(s.raw)+1)
	for k, v := range s.raw {
		if !slices.Contains(readOnlyIndexFields, k) {
			out[k] = v
		}
	}
	fields := map[string]json.RawMessage{}
	if k, ok := s.raw["keys"]; ok && string(k) != "null" {
		if err := json.Unmarshal(k, &fields); err != nil {
			return "", fmt.Errorf("index keys: %w", err)
		}
	}
	key, err := json.Marshal(textKey)
	if err != nil {
		return "", err
	}
	for _, k := range keys {
		if s.Fields[k] != FieldType {
			fields[k] = key
		}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return "", err
	}
	out["keys"] = b
	body, err := json.Marshal(out)
	return string(body), err
}

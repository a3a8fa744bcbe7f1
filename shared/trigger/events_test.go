package trigger_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/trigger"
)

// TestEventSamplesRoundTrip decodes every events/*.json sample and re-encodes
// it: every field of the sample must come back with the same value (a dropped
// or altered field is a diff). Fields the sample lacks may come back only as
// zero values. For ActionTrail CloudEvents the data is re-encoded from the
// decoded record, so its fields are checked too.
func TestEventSamplesRoundTrip(t *testing.T) {
	files, err := filepath.Glob("../../events/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			require.NoError(t, err)
			ev, err := trigger.Decode(in)
			require.NoError(t, err)
			require.False(t, ev.Time().IsZero(), "every sample carries a time")
			require.NotEmpty(t, ev.DedupKey())

			var out []byte
			switch e := ev.(type) {
			case trigger.CloudEvent:
				require.True(t, e.IsActionTrail())
				rec, err := e.ActionTrail()
				require.NoError(t, err)
				e.Data, err = json.Marshal(rec)
				require.NoError(t, err)
				out, err = json.Marshal(e)
				require.NoError(t, err)
			default:
				out, err = json.Marshal(ev)
				require.NoError(t, err)
			}
			var want, got any
			require.NoError(t, unmarshalNumber(in, &want))
			require.NoError(t, unmarshalNumber(out, &got))
			var diffs []string
			diffJSON("", want, got, &diffs)
			require.Empty(t, diffs, "re-encoded:\n%s", out)
		})
	}
}

func unmarshalNumber(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// diffJSON records every path where got differs from want; keys only in got
// are allowed when their value is a JSON zero value.
func diffJSON(path string, want, got any, diffs *[]string) {
	wm, wok := want.(map[string]any)
	gm, gok := got.(map[string]any)
	if wok && gok {
		keys := make([]string, 0, len(wm)+len(gm))
		for k := range wm {
			keys = append(keys, k)
		}
		for k := range gm {
			if _, ok := wm[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			w, inW := wm[k]
			g, inG := gm[k]
			switch {
			case !inG:
				*diffs = append(*diffs, fmt.Sprintf("%s%s: dropped (was %v)", path, k, w))
			case !inW:
				if !isZero(g) {
					*diffs = append(*diffs, fmt.Sprintf("%s%s: added %v", path, k, g))
				}
			default:
				diffJSON(path+k+".", w, g, diffs)
			}
		}
		return
	}
	if !reflect.DeepEqual(want, got) {
		*diffs = append(*diffs, fmt.Sprintf("%s: want %#v, got %#v", path, want, got))
	}
}

func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case json.Number:
		return v.String() == "0"
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

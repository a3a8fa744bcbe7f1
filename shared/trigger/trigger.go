package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Kind names a payload kind.
type Kind string

const (
	KindCloudEvent  Kind = "cloudevent"
	KindSLS         Kind = "sls"
	KindTimer       Kind = "timer"
	KindHTTP        Kind = "http"
	KindActionTrail Kind = "actiontrail" // a bare ActionTrail record (SLS logstore "event" field)
	// KindPayload is the Kind of a DecodeError for a payload that is not one
	// well-formed JSON value, so no kind could be detected.
	KindPayload Kind = "payload"
)

// Event is a decoded trigger payload: a [CloudEvent], [SLSEvent], [TimerEvent]
// or [HTTPEvent] value.
type Event interface {
	// Kind says which of the types the value is.
	Kind() Kind
	// Time is when the cloud says the event happened; zero if unknown.
	Time() time.Time
	// DedupKey identifies the event across redeliveries (see the package doc).
	DedupKey() string
}

var (
	// ErrInvalid matches every decoding error of this package.
	ErrInvalid = errors.New("invalid trigger payload")
	// ErrUnknownPayload is returned (wrapped, naming the keys seen) for a JSON
	// object that is none of the known kinds.
	ErrUnknownPayload = fmt.Errorf("%w: unknown payload kind", ErrInvalid)
	// ErrMissingField is the Err of a DecodeError for an absent or empty required field.
	ErrMissingField = errors.New("missing required field")
)

// DecodeError says why a payload of a known kind was rejected.
type DecodeError struct {
	Kind  Kind
	Field string // JSON path of the offending field ("data.userIdentity.type"); empty for the whole payload
	Err   error
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("decode %s: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("decode %s: field %s: %v", e.Kind, e.Field, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Is makes every DecodeError match ErrInvalid.
func (e *DecodeError) Is(target error) bool { return target == ErrInvalid }

// Decode detects the kind of payload and decodes it strictly:
//
//   - "specversion" present: a CloudEvent;
//   - "triggerTime" or "triggerName": a timer event;
//   - "requestContext" with "rawPath" or "version": an HTTP trigger event;
//   - "source" holding an object: an SLS trigger event;
//   - anything else: ErrUnknownPayload, naming the top-level keys seen.
func Decode(payload []byte) (Event, error) {
	var raw json.RawMessage
	if err := strictUnmarshal(payload, &raw, false); err != nil {
		return nil, &DecodeError{Kind: KindPayload, Err: describeJSONErr(err)}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: want a JSON object, got %s", ErrUnknownPayload, jsonType(raw))
	}
	has := func(k string) bool { _, ok := top[k]; return ok }
	switch {
	case has("specversion"):
		return DecodeCloudEvent(payload)
	case has("triggerTime") || has("triggerName"):
		return DecodeTimer(payload)
	case has("requestContext") && (has("rawPath") || has("version")):
		return DecodeHTTP(payload)
	case has("source") && bytes.HasPrefix(bytes.TrimSpace(top["source"]), []byte("{")):
		return DecodeSLS(payload)
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 12 {
		keys = append(keys[:12], "…")
	}
	return nil, fmt.Errorf("%w: top-level keys [%s]", ErrUnknownPayload, strings.Join(keys, " "))
}

// strictUnmarshal decodes exactly one JSON value (trailing data is an error),
// numbers in interfaces as json.Number, unknown fields optionally refused.
func strictUnmarshal(data []byte, v any, disallowUnknown bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if disallowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty payload")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// decodeInto runs strictUnmarshal and turns its error into a DecodeError whose
// field is prefix + the JSON path.
func decodeInto(kind Kind, prefix string, data []byte, v any) error {
	err := strictUnmarshal(data, v, false)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return &DecodeError{Kind: kind, Field: strings.TrimSuffix(prefix, "."), Err: fmt.Errorf("want %s, got JSON %s", typeName(te.Type), te.Value)}
		}
		return &DecodeError{Kind: kind, Field: prefix + field, Err: fmt.Errorf("want %s, got JSON %s", typeName(te.Type), te.Value)}
	}
	return &DecodeError{Kind: kind, Field: strings.TrimSuffix(prefix, "."), Err: describeJSONErr(err)}
}

func describeJSONErr(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed JSON at offset %d: %v", se.Offset, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return fmt.Errorf("want a JSON object, got JSON %s", te.Value)
	}
	return err
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		if t == reflect.TypeOf(Scalar{}) {
			return "string, number or boolean"
		}
		return "object"
	case reflect.Slice:
		return "array"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint32, reflect.Uint64:
		return "integer"
	}
	return t.String()
}

// parseTimeField parses an RFC 3339 time found at field; "" is zero when
// !required.
func parseTimeField(kind Kind, field, s string, required bool) (time.Time, error) {
	if s == "" {
		if required {
			return time.Time{}, &DecodeError{Kind: kind, Field: field, Err: ErrMissingField}
		}
		return time.Time{}, nil
	}
	// time.Time's own decoder (strict RFC 3339), so that the second pass into
	// the public struct cannot fail where this one passed.
	var t time.Time
	if err := t.UnmarshalJSON([]byte(strconv.Quote(s))); err != nil {
		return time.Time{}, &DecodeError{Kind: kind, Field: field, Err: fmt.Errorf("want an RFC 3339 time, got %q", s)}
	}
	return t, nil
}

// required reports the first empty (field, value) pair as a missing field.
func required(kind Kind, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return &DecodeError{Kind: kind, Field: pairs[i], Err: ErrMissingField}
		}
	}
	return nil
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func jsonType(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	}
	return "a number"
}

package trigger

import (
	"encoding/json"
	"reflect"
	"strconv"
)

// ScalarKind is the JSON type a Scalar arrived as.
type ScalarKind uint8

const (
	ScalarAbsent ScalarKind = iota // absent or null
	ScalarString
	ScalarNumber
	ScalarBool
)

// Scalar is a JSON scalar whose type the cloud does not keep stable (ActionTrail
// eventVersion is "1" in some records and 1 in others). Text is its text; it
// re-encodes as the JSON type it arrived as (a string when Kind is unset).
type Scalar struct {
	Text string
	Kind ScalarKind
}

// String returns the text.
func (s Scalar) String() string { return s.Text }

// Bool reports whether the text is "true" (either a JSON true or the string).
func (s Scalar) Bool() bool { return s.Text == "true" }

// MarshalJSON writes the scalar back in the form it arrived in.
func (s Scalar) MarshalJSON() ([]byte, error) {
	switch s.Kind {
	case ScalarNumber, ScalarBool:
		if s.Text != "" {
			return []byte(s.Text), nil
		}
	case ScalarAbsent:
		if s.Text == "" {
			return []byte("null"), nil
		}
	}
	return json.Marshal(s.Text)
}

// UnmarshalJSON accepts a string, a number, a boolean or null; anything else
// is a *json.UnmarshalTypeError (which encoding/json annotates with the field).
func (s *Scalar) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return &json.UnmarshalTypeError{Value: "nothing", Type: reflect.TypeOf(Scalar{})}
	}
	switch c := b[0]; {
	case c == 'n' && string(b) == "null":
		*s = Scalar{}
	case c == '"':
		var t string
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		*s = Scalar{Text: t, Kind: ScalarString}
	case c == 't' || c == 'f':
		v, err := strconv.ParseBool(string(b))
		if err != nil {
			return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeOf(Scalar{})}
		}
		*s = Scalar{Text: strconv.FormatBool(v), Kind: ScalarBool}
	case c == '-' || (c >= '0' && c <= '9'):
		*s = Scalar{Text: string(b), Kind: ScalarNumber}
	case c == '{':
		return &json.UnmarshalTypeError{Value: "object", Type: reflect.TypeOf(Scalar{})}
	default:
		return &json.UnmarshalTypeError{Value: "array", Type: reflect.TypeOf(Scalar{})}
	}
	return nil
}

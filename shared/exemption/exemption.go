package exemption

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultKey is the default tag key and description-marker keyword.
const DefaultKey = "porthygiene-exempt"

// Exemption is one exemption. The zero value is invalid (no owner).
type Exemption struct {
	Owner  string    `json:"owner"`
	Reason string    `json:"reason"`
	Until  time.Time `json:"until"` // midnight UTC means "through that whole UTC day"
	Ports  []int     `json:"ports,omitempty"`
}

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("malformed exemption")

const dateLayout = "2006-01-02"

// ParseTagValue parses the tag-value form: "key=value" pairs separated by ';'.
func ParseTagValue(s string) (Exemption, error) {
	var pairs [][2]string
	for seg := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(seg) == "" {
			continue
		}
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			return Exemption{}, fmt.Errorf("%w: %q is not key=value", ErrMalformed, strings.TrimSpace(seg))
		}
		pairs = append(pairs, [2]string{k, v})
	}
	return fromPairs(pairs)
}

// ParseMarker parses a description marker "[key name=value …]" whose keyword
// is key. s must be exactly the marker (see [Find] to locate one).
func ParseMarker(key, s string) (Exemption, error) {
	t := strings.TrimSpace(s)
	body, ok := strings.CutPrefix(t, "["+key)
	if !ok || !strings.HasSuffix(body, "]") {
		return Exemption{}, fmt.Errorf("%w: want [%s name=value …]", ErrMalformed, key)
	}
	body = body[:len(body)-1]
	if body != "" && body[0] != ' ' && body[0] != '\t' {
		return Exemption{}, fmt.Errorf("%w: want [%s name=value …]", ErrMalformed, key)
	}
	var pairs [][2]string
	for {
		body = strings.TrimLeft(body, " \t")
		if body == "" {
			break
		}
		eq := strings.IndexByte(body, '=')
		if eq <= 0 || strings.ContainsAny(body[:eq], " \t\"") {
			return Exemption{}, fmt.Errorf("%w: %q is not name=value", ErrMalformed, firstWord(body))
		}
		name, rest := body[:eq], body[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return Exemption{}, fmt.Errorf("%w: unterminated quote after %s=", ErrMalformed, name)
			}
			val, body = rest[1:1+end], rest[2+end:]
			if body != "" && body[0] != ' ' && body[0] != '\t' {
				return Exemption{}, fmt.Errorf("%w: want a space after %s=%q", ErrMalformed, name, val)
			}
		} else {
			end := strings.IndexAny(rest, " \t")
			if end < 0 {
				end = len(rest)
			}
			val, body = rest[:end], rest[end:]
		}
		pairs = append(pairs, [2]string{name, val})
	}
	return fromPairs(pairs)
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}

// Find locates the first marker with keyword key in a rule description.
// found is false when there is none; a marker that is there but does not parse
// gives found true and an error.
func Find(key, description string) (e Exemption, found bool, err error) {
	open := "[" + key
	i := 0
	for {
		j := strings.Index(description[i:], open)
		if j < 0 {
			return Exemption{}, false, nil
		}
		start := i + j
		after := start + len(open)
		// "[porthygiene-exemption]" is not our marker: the keyword must end here.
		if after < len(description) && description[after] != ' ' && description[after] != '\t' && description[after] != ']' {
			i = after
			continue
		}
		end := strings.IndexByte(description[after:], ']')
		if end < 0 {
			return Exemption{}, true, fmt.Errorf("%w: marker [%s is not closed with ]", ErrMalformed, key)
		}
		e, err := ParseMarker(key, description[start:after+end+1])
		return e, true, err
	}
}

func fromPairs(pairs [][2]string) (Exemption, error) {
	var e Exemption
	seen := map[string]bool{}
	for _, p := range pairs {
		name, val := strings.ToLower(strings.TrimSpace(p[0])), strings.TrimSpace(p[1])
		if seen[name] {
			return Exemption{}, fmt.Errorf("%w: %s given twice", ErrMalformed, name)
		}
		seen[name] = true
		switch name {
		case "owner":
			e.Owner = val
		case "reason":
			e.Reason = val
		case "until":
			t, err := parseUntil(val)
			if err != nil {
				return Exemption{}, err
			}
			e.Until = t
		case "ports":
			ports, err := parsePorts(val)
			if err != nil {
				return Exemption{}, err
			}
			e.Ports = ports
		default:
			return Exemption{}, fmt.Errorf("%w: unknown field %q (want owner, reason, until, ports)", ErrMalformed, name)
		}
	}
	if err := e.Validate(); err != nil {
		return Exemption{}, err
	}
	return e, nil
}

func parseUntil(s string) (time.Time, error) {
	if t, err := time.Parse(dateLayout, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%w: until %q is not a date (2006-01-02) or RFC 3339 time", ErrMalformed, s)
}

func parsePorts(s string) ([]int, error) {
	var ports []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 65535 || f[0] == '+' || f[0] == '-' {
			return nil, fmt.Errorf("%w: port %q is not 1..65535", ErrMalformed, f)
		}
		ports = append(ports, n)
	}
	slices.Sort(ports)
	return slices.Compact(ports), nil
}

// Validate checks that e can be written as a tag value and a marker and read
// back: owner, reason and until set; values free of ';', '"', '[', ']' and
// control characters; ports 1..65535, sorted, unique.
func (e Exemption) Validate() error {
	var errs []error
	for _, f := range []struct{ name, val string }{{"owner", e.Owner}, {"reason", e.Reason}} {
		if f.val == "" {
			errs = append(errs, fmt.Errorf("%w: missing %s", ErrMalformed, f.name))
		} else if f.val != strings.TrimSpace(f.val) || strings.ContainsFunc(f.val, badRune) {
			errs = append(errs, fmt.Errorf("%w: %s %q has surrounding spaces or one of ; \" [ ] or a control character", ErrMalformed, f.name, f.val))
		}
	}
	if e.Until.IsZero() {
		errs = append(errs, fmt.Errorf("%w: missing until", ErrMalformed))
	}
	for i, p := range e.Ports {
		if p < 1 || p > 65535 || (i > 0 && p <= e.Ports[i-1]) {
			errs = append(errs, fmt.Errorf("%w: ports %v are not sorted unique 1..65535", ErrMalformed, e.Ports))
			break
		}
	}
	return errors.Join(errs...)
}

func badRune(r rune) bool {
	return r == ';' || r == '"' || r == '[' || r == ']' || r < 0x20 || r == 0x7f
}

// End is the first instant at which e no longer applies.
func (e Exemption) End() time.Time {
	u := e.Until.UTC()
	if u.Equal(u.Truncate(24 * time.Hour)) {
		return u.Add(24 * time.Hour)
	}
	return u
}

// Active reports whether e applies at now: valid and not yet expired.
func (e Exemption) Active(now time.Time) bool {
	return e.Validate() == nil && now.Before(e.End())
}

// Covers reports whether e exempts port (every port when Ports is empty).
func (e Exemption) Covers(port int) bool {
	if len(e.Ports) == 0 {
		return true
	}
	_, ok := slices.BinarySearch(e.Ports, port)
	return ok
}

// UntilString is until as written: a date when Until is midnight UTC.
func (e Exemption) UntilString() string {
	u := e.Until.UTC()
	if u.Equal(u.Truncate(24 * time.Hour)) {
		return u.Format(dateLayout)
	}
	return u.Format(time.RFC3339Nano)
}

func (e Exemption) portsString() string {
	s := make([]string, len(e.Ports))
	for i, p := range e.Ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// TagValue formats e as a tag value: "owner=…;reason=…;until=…[;ports=…]".
// Tag values are limited to 128 characters by the API; the caller checks.
func (e Exemption) TagValue() string {
	s := "owner=" + e.Owner + ";reason=" + e.Reason + ";until=" + e.UntilString()
	if len(e.Ports) > 0 {
		s += ";ports=" + e.portsString()
	}
	return s
}

// Marker formats e as a description marker with the default keyword.
func (e Exemption) Marker() string { return e.MarkerWithKey(DefaultKey) }

// MarkerWithKey formats e as a description marker with keyword key:
// `[key owner=alice until=2026-12-31 reason="bastion host"]`.
func (e Exemption) MarkerWithKey(key string) string {
	s := "[" + key + " owner=" + quote(e.Owner) + " until=" + e.UntilString() + " reason=" + quote(e.Reason)
	if len(e.Ports) > 0 {
		s += " ports=" + e.portsString()
	}
	return s + "]"
}

func quote(v string) string {
	if v == "" || strings.ContainsAny(v, " \t=") {
		return `"` + v + `"`
	}
	return v
}

// String is the tag-value form.
func (e Exemption) String() string { return e.TagValue() }

// jsonExemption is the JSON form: until as written (a date or RFC 3339).
type jsonExemption struct {
	Owner  string `json:"owner"`
	Reason string `json:"reason"`
	Until  string `json:"until"`
	Ports  []int  `json:"ports,omitempty"`
}

// MarshalJSON writes {"owner", "reason", "until", "ports"}, until as written
// (a date or an RFC 3339 time).
func (e Exemption) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonExemption{e.Owner, e.Reason, e.UntilString(), e.Ports})
}

// UnmarshalJSON reads what MarshalJSON writes. It does not validate: call
// Validate (or Active, which does).
func (e *Exemption) UnmarshalJSON(data []byte) error {
	var j jsonExemption
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*e = Exemption{Owner: j.Owner, Reason: j.Reason, Ports: j.Ports}
	if j.Until != "" {
		t, err := parseUntil(j.Until)
		if err != nil {
			return err
		}
		e.Until = t
	}
	return nil
}

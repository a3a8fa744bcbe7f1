package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// Redacted is what a Secret prints instead of its value.
const Redacted = "[redacted]"

// Secret is a string that never prints itself: String, GoString, Format (every
// verb), LogValue and MarshalJSON all yield "[redacted]". Use Reveal, in the one
// place that needs the value, to get it. Decoding JSON into a Secret works as for
// a string.
type Secret string

// Reveal returns the secret value. Call it only to build a request, never to log.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return `notify.Secret("` + Redacted + `")` }

// Format implements fmt.Formatter so that %s, %v, %q, %x, %d … all redact.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	if verb == 'q' {
		fmt.Fprintf(f, "%q", Redacted)
		return
	}
	fmt.Fprint(f, Redacted)
}

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (map keys, text encoders).
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// UnmarshalText lets a Secret decode from JSON strings and text even though
// MarshalText redacts.
func (s *Secret) UnmarshalText(b []byte) error {
	*s = Secret(b)
	return nil
}

// redactor scrubs every known secret, in every encoding it may take in a URL
// or an error message, from strings and errors. The zero value scrubs nothing
// but URLs.
type redactor struct {
	needles []string // longest first
}

// newRedactor collects the webhook URLs, their access tokens and the signing
// secrets of robots.
func newRedactor(robots []Robot) redactor {
	seen := map[string]bool{}
	var rd redactor
	add := func(v string) {
		for _, s := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			if len(s) < 4 || seen[s] { // a near-empty needle would shred every message
				continue
			}
			seen[s] = true
			rd.needles = append(rd.needles, s)
		}
	}
	for _, r := range robots {
		add(r.Webhook.Reveal())
		add(r.Secret.Reveal())
		if u, err := url.Parse(r.Webhook.Reveal()); err == nil {
			for _, vs := range u.Query() {
				for _, v := range vs {
					add(v)
				}
			}
			if u.User != nil {
				add(u.User.String())
			}
		}
	}
	// Longest first, so that a URL is replaced whole before its token is.
	for i := 1; i < len(rd.needles); i++ {
		for j := i; j > 0 && len(rd.needles[j]) > len(rd.needles[j-1]); j-- {
			rd.needles[j], rd.needles[j-1] = rd.needles[j-1], rd.needles[j]
		}
	}
	return rd
}

// String scrubs s.
func (rd redactor) String(s string) string {
	for _, n := range rd.needles {
		s = strings.ReplaceAll(s, n, Redacted)
	}
	return s
}

// Error returns err with its message scrubbed. A *url.Error keeps its type
// with the URL replaced by redactURL; any other error whose message holds a
// secret is replaced by a scrubbed copy that still answers errors.Is for the
// context errors. Errors that hold no secret are returned unchanged.
func (rd redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue == err {
		return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: rd.Error(ue.Err)}
	}
	msg := err.Error()
	clean := rd.String(msg)
	if ue != nil { // a *url.Error wrapped deeper: its URL is in msg
		clean = rd.String(strings.ReplaceAll(clean, ue.URL, redactURL(ue.URL)))
	}
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, canceled: errors.Is(err, context.Canceled), deadline: errors.Is(err, context.DeadlineExceeded)}
}

type scrubbedError struct {
	msg                string
	canceled, deadline bool
}

func (e *scrubbedError) Error() string { return e.msg }

func (e *scrubbedError) Is(target error) bool {
	return (e.canceled && target == context.Canceled) || (e.deadline && target == context.DeadlineExceeded)
}

// redactURL keeps scheme, host, path and the query's keys of raw, and replaces
// every query value (except timestamp) and any user info with "[redacted]".
// An unparsable raw becomes "[redacted]".
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Redacted
	}
	u.User = nil
	var q []string
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if k != "timestamp" {
			v = Redacted
		}
		q = append(q, k+"="+v)
	}
	u.RawQuery = ""
	u.Fragment = ""
	s := u.String()
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s
}

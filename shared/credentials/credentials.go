// Package credentials holds the AccessKey credentials the cloud adapters
// (shared/ecsapi, shared/slsapi, shared/fcapi) sign with, and the redactor
// that keeps them out of everything an adapter returns or logs.
//
// Invariants:
//
//   - No method of Credentials reveals the AccessKeySecret or the
//     SecurityToken: String, GoString, Format (so every fmt verb), LogValue,
//     MarshalJSON and MarshalText show the AccessKeyID and [Redacted] in
//     their place (an empty secret or token stays empty, so that a missing
//     one shows). Only the fields themselves hold them, for the signer.
//   - [Redactor.Redact] removes every spelling of the secret and the token
//     that a request, an answer or an error may carry: raw, URL-query-escaped
//     (once and twice) and POP-escaped ([PercentEncode], once and twice: a
//     POP string to sign escapes the already escaped query again).
//   - The package imports the standard library only: no cloud SDK.
package credentials

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
)

// Redacted is what stands in place of a secret or a token.
const Redacted = "[REDACTED]"

// Credentials is an AccessKey pair, with the STS SecurityToken for an assumed
// role (as Function Compute hands to each invocation). It never prints the
// secret or the token.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string // empty for a RAM user's long-lived key
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return Redacted
}

// String shows the AccessKeyID; the secret and the token are redacted.
func (c Credentials) String() string {
	return fmt.Sprintf("{AccessKeyID:%s AccessKeySecret:%s SecurityToken:%s}",
		c.AccessKeyID, mask(c.AccessKeySecret), mask(c.SecurityToken))
}

// GoString implements fmt.GoStringer (%#v), redacted like String.
func (c Credentials) GoString() string {
	return fmt.Sprintf("credentials.Credentials{AccessKeyID:%q, AccessKeySecret:%q, SecurityToken:%q}",
		c.AccessKeyID, mask(c.AccessKeySecret), mask(c.SecurityToken))
}

// Format implements fmt.Formatter, so that no verb (%d, %x, …) falls back
// to printing the fields: %#v is GoString, %q the quoted String, any other
// verb String.
func (c Credentials) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, c.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", c.String())
	default:
		io.WriteString(f, c.String())
	}
}

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("access_key_secret", mask(c.AccessKeySecret)),
		slog.String("security_token", mask(c.SecurityToken)),
	)
}

// MarshalJSON redacts too: credentials are never meant to be serialised.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"AccessKeyID":     c.AccessKeyID,
		"AccessKeySecret": mask(c.AccessKeySecret),
		"SecurityToken":   mask(c.SecurityToken),
	})
}

// MarshalText implements encoding.TextMarshaler (YAML, XML, map keys) as
// String.
func (c Credentials) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Redactor removes one Credentials' secret and token from text. The zero
// value removes nothing.
type Redactor struct {
	spellings []string // every spelling of the secret and the token that may appear
}

// NewRedactor returns the Redactor for c.
func NewRedactor(c Credentials) Redactor {
	var r Redactor
	for _, s := range []string{c.AccessKeySecret, c.SecurityToken} {
		if s == "" {
			continue
		}
		query := url.QueryEscape(s)
		pop := PercentEncode(s)
		r.spellings = append(r.spellings, s, query, url.QueryEscape(query), pop, PercentEncode(pop))
	}
	return r
}

// Redact returns s with every spelling of the secret and the token replaced
// by [Redacted].
func (r Redactor) Redact(s string) string {
	for _, secret := range r.spellings {
		s = strings.ReplaceAll(s, secret, Redacted)
	}
	return s
}

// RedactError returns err unchanged if its text holds no spelling of the
// secret or the token, and otherwise an error with the redacted text, losing
// err's chain rather than leaking.
func (r Redactor) RedactError(err error) error {
	if err == nil {
		return nil
	}
	if text := err.Error(); r.Redact(text) != text {
		return errors.New(r.Redact(text))
	}
	return err
}

// Format implements fmt.Formatter: a Redactor holds the secret and the token
// in every spelling, and prints none of them, whatever the verb.
func (Redactor) Format(f fmt.State, _ rune) { io.WriteString(f, "credentials.Redactor{"+Redacted+"}") }

// LogValue implements slog.LogValuer, redacted like Format.
func (Redactor) LogValue() slog.Value { return slog.StringValue(Redacted) }

// PercentEncode is RFC 3986 percent-encoding, as the POP (RPC) and V3
// signatures use it: every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~) becomes %XX with upper-case hex.
func PercentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

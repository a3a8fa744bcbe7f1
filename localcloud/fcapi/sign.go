package fcapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Verification of signature method V3 (ACS3-HMAC-SHA256), written from the
// Alibaba Cloud documentation "Request syntax and signature method V3"
// (help/en/sdk/product-overview/v3-request-structure-and-signature), not from
// any client:
//
//	Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<h1;h2;...>,Signature=<hex>
//
//	CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n
//	                   CanonicalHeaders \n SignedHeaders \n HashedRequestPayload
//	StringToSign     = "ACS3-HMAC-SHA256" \n hex(SHA-256(CanonicalRequest))
//	Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
//
// The server rebuilds the canonical request from what it received: the
// headers the client says it signed (which must include host and every
// x-acs-* and content-type header present), the path and query re-encoded
// per RFC 3986, and the body's SHA-256, which must equal x-acs-content-sha256.

// Algorithm is the only signature algorithm served.
const Algorithm = "ACS3-HMAC-SHA256"

// Authorization is a parsed V3 Authorization header.
type Authorization struct {
	AccessKeyID   string
	SignedHeaders []string // lower case, as sent
	Signature     string   // hex
}

var errBadAuthorization = errors.New("malformed Authorization header")

// ParseAuthorization parses "ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..".
func ParseAuthorization(h string) (Authorization, error) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != Algorithm {
		return Authorization{}, fmt.Errorf("%w: want %q followed by Credential, SignedHeaders and Signature", errBadAuthorization, Algorithm)
	}
	var a Authorization
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || seen[k] {
			return Authorization{}, fmt.Errorf("%w: bad or repeated element %q", errBadAuthorization, part)
		}
		seen[k] = true
		switch k {
		case "Credential":
			a.AccessKeyID = v
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		default:
			return Authorization{}, fmt.Errorf("%w: unknown element %q", errBadAuthorization, k)
		}
	}
	if a.AccessKeyID == "" || len(a.SignedHeaders) == 0 || a.Signature == "" {
		return Authorization{}, fmt.Errorf("%w: Credential, SignedHeaders and Signature are required", errBadAuthorization)
	}
	return a, nil
}

// CheckSignedHeaders reports a header the request carries that must be
// signed but is not, or a signed header the request lacks. host and
// x-acs-content-sha256 must always be signed.
func CheckSignedHeaders(r *http.Request, signed []string) error {
	if !slices.IsSorted(signed) {
		return fmt.Errorf("SignedHeaders %q are not sorted", strings.Join(signed, ";"))
	}
	for _, must := range []string{"host", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce"} {
		if !slices.Contains(signed, must) {
			return fmt.Errorf("header %s must be signed", must)
		}
	}
	for name := range r.Header {
		n := strings.ToLower(name)
		if (n == "content-type" || strings.HasPrefix(n, "x-acs-")) && !slices.Contains(signed, n) {
			return fmt.Errorf("header %s is present but not signed", n)
		}
	}
	for _, n := range signed {
		if n != strings.ToLower(n) {
			return fmt.Errorf("signed header %q is not lower case", n)
		}
		if n != "host" && len(r.Header.Values(n)) == 0 {
			return fmt.Errorf("signed header %s is missing", n)
		}
	}
	return nil
}

// CanonicalRequest rebuilds the canonical request of a received request from
// its signed headers and the hex SHA-256 of its body.
func CanonicalRequest(r *http.Request, signed []string, bodySHA256 string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(encodePath(r.URL.Path))
	b.WriteByte('\n')
	b.WriteString(encodeQuery(r.URL.Query()))
	b.WriteByte('\n')
	for _, n := range signed {
		var v string
		if n == "host" {
			v = r.Host
		} else {
			vals := r.Header.Values(n)
			trimmed := make([]string, len(vals))
			for i, x := range vals {
				trimmed[i] = strings.TrimSpace(x)
			}
			v = strings.Join(trimmed, ",")
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(bodySHA256)
	return b.String()
}

// Sign returns the hex signature of a canonical request.
func Sign(canonicalRequest, secret string) string {
	digest := sha256.Sum256([]byte(canonicalRequest))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(Algorithm))
	mac.Write([]byte{'\n'})
	mac.Write([]byte(hex.EncodeToString(digest[:])))
	return hex.EncodeToString(mac.Sum(nil))
}

// unreserved are the RFC 3986 characters never percent-encoded.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0
}

func encode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if unreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// encodePath encodes each segment of the decoded path, keeping the slashes.
func encodePath(p string) string {
	if p == "" {
		return "/"
	}
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = encode(parts[i])
	}
	return strings.Join(parts, "/")
}

// encodeQuery is the canonical query string: encoded key=value pairs sorted by
// key, then value.
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	enc := map[string]string{}
	for k := range q {
		ek := encode(k)
		enc[ek] = k
		keys = append(keys, ek)
	}
	slices.Sort(keys)
	var parts []string
	for _, ek := range keys {
		vals := make([]string, 0, len(q[enc[ek]]))
		for _, v := range q[enc[ek]] {
			vals = append(vals, encode(v))
		}
		slices.Sort(vals)
		for _, v := range vals {
			parts = append(parts, ek+"="+v)
		}
	}
	return strings.Join(parts, "&")
}

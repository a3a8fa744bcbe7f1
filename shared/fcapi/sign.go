package fcapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/credentials"
)

// Signature method V3, as the Alibaba Cloud documentation "Request syntax and
// signature method V3" (help/en/sdk/product-overview/v3-request-structure-and-signature)
// specifies it:
//
//	CanonicalRequest = HTTPRequestMethod + "\n" + CanonicalURI + "\n" +
//	                   CanonicalQueryString + "\n" + CanonicalHeaders + "\n" +
//	                   SignedHeaders + "\n" + HashedRequestPayload
//	StringToSign     = "ACS3-HMAC-SHA256" + "\n" + hex(SHA256(CanonicalRequest))
//	Signature        = hex(HMAC-SHA256(AccessKeySecret, StringToSign))
//	Authorization    = "ACS3-HMAC-SHA256 Credential=" + AccessKeyId +
//	                   ",SignedHeaders=" + SignedHeaders + ",Signature=" + Signature
//
// CanonicalHeaders are the host, content-type and x-acs-* headers, names
// lower-cased, values trimmed, sorted by name, each "name:value\n"; SignedHeaders
// are their names joined by ";". Path segments, query keys and values are
// percent-encoded per RFC 3986 (only A-Z a-z 0-9 - _ . ~ stay as they are).

const (
	algorithm  = "ACS3-HMAC-SHA256"
	dateLayout = "2006-01-02T15:04:05Z"

	hdrAuthorization = "Authorization"
	hdrDate          = "x-acs-date"
	hdrNonce         = "x-acs-signature-nonce"
	hdrContentSHA256 = "x-acs-content-sha256"
	hdrSecurityToken = "x-acs-security-token"
	hdrAction        = "x-acs-action"
	hdrVersion       = "x-acs-version"
)

// sign adds the V3 headers (date, nonce, body hash, STS token) and the
// Authorization header to req. body is the exact request body.
func sign(req *http.Request, body []byte, creds Credentials, now time.Time, nonce string) {
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	req.Header.Set(hdrDate, now.UTC().Format(dateLayout))
	req.Header.Set(hdrNonce, nonce)
	req.Header.Set(hdrContentSHA256, bodyHash)
	if creds.SecurityToken != "" {
		req.Header.Set(hdrSecurityToken, creds.SecurityToken)
	} else {
		req.Header.Del(hdrSecurityToken)
	}
	canonical, signed := canonicalRequest(req, bodyHash)
	req.Header.Set(hdrAuthorization, algorithm+" Credential="+creds.AccessKeyID+
		",SignedHeaders="+signed+",Signature="+signature(creds.AccessKeySecret, canonical))
}

// signature is the hex HMAC-SHA256 of the string to sign of a canonical request.
func signature(secret, canonical string) string {
	h := sha256.Sum256([]byte(canonical))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(algorithm + "\n" + hex.EncodeToString(h[:])))
	return hex.EncodeToString(mac.Sum(nil))
}

// canonicalRequest returns the canonical request of req and its signed
// header list.
func canonicalRequest(req *http.Request, bodyHash string) (canonical, signedHeaders string) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	values := map[string]string{"host": host}
	for name, vs := range req.Header {
		n := strings.ToLower(name)
		if n == "content-type" || strings.HasPrefix(n, "x-acs-") {
			vals := make([]string, len(vs))
			for i, v := range vs {
				vals[i] = strings.TrimSpace(v)
			}
			values[n] = strings.Join(vals, ",")
		}
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	var hdrs strings.Builder
	for _, n := range names {
		hdrs.WriteString(n + ":" + values[n] + "\n")
	}
	signedHeaders = strings.Join(names, ";")
	canonical = req.Method + "\n" +
		canonicalURI(req.URL.Path) + "\n" +
		canonicalQuery(req.URL.Query()) + "\n" +
		hdrs.String() + "\n" +
		signedHeaders + "\n" +
		bodyHash
	return canonical, signedHeaders
}

// canonicalURI percent-encodes each segment of a (decoded) path; "/" for an
// empty path.
func canonicalURI(path string) string {
	if path == "" {
		return "/"
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = credentials.PercentEncode(s)
	}
	return strings.Join(segs, "/")
}

// canonicalQuery sorts the query by encoded key (then value) and joins
// "key=value" pairs with "&"; an empty value keeps its "=".
func canonicalQuery(q url.Values) string {
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(q))
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, pair{credentials.PercentEncode(k), credentials.PercentEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.k + "=" + p.v
	}
	return strings.Join(out, "&")
}

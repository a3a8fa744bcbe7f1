package fcapi

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/porthygiene/porthygiene/shared/credentials"
)

// The worked example of Alibaba Cloud's "Request syntax and signature method
// V3" (help/en/sdk/product-overview/v3-request-structure-and-signature): an
// ECS RunInstances call with fixed date, nonce and key, whose documented
// Authorization ends in Signature=06563a9e….
const (
	docSecret    = "YourAccessKeySecret"
	docDate      = "2023-10-26T10:22:32Z"
	docNonce     = "3156853299f313e23d1673dc12e1703d"
	docSignature = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
	docAuth      = "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=" + docSignature
)

func TestSignMatchesTheDocumentedExample(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost,
		"https://ecs.cn-shanghai.aliyuncs.com/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(hdrAction, "RunInstances")
	req.Header.Set(hdrVersion, "2014-05-26")
	now, _ := time.Parse(dateLayout, docDate)
	sign(req, nil, Credentials{AccessKeyID: "YourAccessKeyId", AccessKeySecret: docSecret}, now, docNonce)

	if got := req.Header.Get(hdrAuthorization); got != docAuth {
		t.Errorf("Authorization\n got %s\nwant %s", got, docAuth)
	}
	// The empty body's SHA-256, as the example shows it.
	if got, want := req.Header.Get(hdrContentSHA256), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("x-acs-content-sha256 %s, want %s", got, want)
	}
	if req.Header.Get(hdrSecurityToken) != "" {
		t.Error("a RAM user's key must not send x-acs-security-token")
	}
}

func TestSignCoversTheSTSToken(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "https://1.cn-hangzhou.fc.aliyuncs.com/2023-03-30/functions/f/invocations", nil)
	sign(req, []byte("{}"), Credentials{AccessKeyID: "STS.x", AccessKeySecret: "s", SecurityToken: "tok"}, time.Now(), "n")
	if req.Header.Get(hdrSecurityToken) != "tok" {
		t.Fatal("no x-acs-security-token")
	}
	_, signed := canonicalRequest(req, req.Header.Get(hdrContentSHA256))
	if signed != "host;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce" {
		t.Errorf("signed headers %q: the STS token must be signed", signed)
	}
}

func TestCanonicalEncoding(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a b*c~d/e+f", "a%20b%2Ac~d%2Fe%2Bf"},
		{"é", "%C3%A9"},
		{"AZaz09-_.~", "AZaz09-_.~"},
	}
	for _, tt := range tests {
		if got := credentials.PercentEncode(tt.in); got != tt.want {
			t.Errorf("credentials.PercentEncode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := canonicalURI("/2023-03-30/functions/my fn/invocations"); got != "/2023-03-30/functions/my%20fn/invocations" {
		t.Errorf("canonicalURI = %q", got)
	}
	if got := canonicalURI(""); got != "/" {
		t.Errorf("canonicalURI(\"\") = %q, want /", got)
	}
	// Sorted by key (not by "key=value"), empty values keep their "=".
	q := url.Values{"a-b": {"1"}, "a": {"2", "1"}, "empty": {""}}
	if got, want := canonicalQuery(q), "a=1&a=2&a-b=1&empty="; got != want {
		t.Errorf("canonicalQuery = %q, want %q", got, want)
	}
}

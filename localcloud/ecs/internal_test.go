package ecs

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// The string-to-sign of sdk-wire.md §1.3, observed from the real SDK.
func TestStringToSignMatchesObservedSDK(t *testing.T) {
	v := url.Values{}
	for k, x := range map[string]string{
		"AccessKeyId": "LTAIexampleAK", "Action": "DescribeSecurityGroupAttribute", "Direction": "ingress",
		"Format": "JSON", "RegionId": "cn-hangzhou", "SecurityGroupId": "sg-bp1fg655nh68xyz9i6uv",
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "feb5c69fb9956859baab5846f6c3859d", "SignatureType": "",
		"SignatureVersion": "1.0", "Timestamp": "2026-11-25T17:19:53Z", "Version": "2014-05-26", "Signature": "ignored",
	} {
		v.Set(k, x)
	}
	require.Equal(t, "POST&%2F&AccessKeyId%3DLTAIexampleAK%26Action%3DDescribeSecurityGroupAttribute%26Direction%3Dingress%26Format%3DJSON%26RegionId%3Dcn-hangzhou%26SecurityGroupId%3Dsg-bp1fg655nh68xyz9i6uv%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dfeb5c69fb9956859baab5846f6c3859d%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-25T17%253A19%253A53Z%26Version%3D2014-05-26",
		StringToSign("POST", v))
	// POP encoding of space, '*' and '~'
	v = url.Values{"D": {"a b*c~d"}}
	require.Equal(t, "POST&%2F&D%3Da%2520b%252Ac~d", StringToSign("POST", v))
}

func FuzzAppendStr(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote\`, "tab\tnl\n", "\x00\x1f", "é中文", "\u2028\u2029", "bad\xffutf8", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendStr(nil, s)
		var got string
		require.NoError(t, json.Unmarshal(b, &got), "%q -> %s", s, b)
		var viaStd string
		std, _ := json.Marshal(s)
		require.NoError(t, json.Unmarshal(std, &viaStd))
		require.Equal(t, viaStd, got, "same string as encoding/json produces")
	})
}

func TestCIDRIdentity(t *testing.T) {
	a, ok := parseCIDR("10.0.0.5/8", 4)
	require.True(t, ok)
	b, _ := parseCIDR("10.0.0.0/8", 4)
	require.True(t, a.same(b))
	require.Equal(t, "10.0.0.5/8", a.String(), "rendered as given")
	c, _ := parseCIDR("1.2.3.4", 4)
	d, _ := parseCIDR("1.2.3.4/32", 4)
	require.True(t, c.same(d))
	require.Equal(t, "1.2.3.4", c.String())
	_, ok = parseCIDR("2001:db8::/32", 4)
	require.False(t, ok, "family is checked")
	e, ok := parseCIDR("2001:DB8::/32", 6)
	require.True(t, ok)
	require.Equal(t, "2001:db8::/32", e.String())
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		p, v string
		want bool
	}{{"prod", "prod", true}, {"prod", "production", false}, {"prod*", "production", true},
		{"*tion", "production", true}, {"p*d*n", "production", true}, {"*", "", true}, {"a*b", "ab", true}, {"a*b", "ba", false}} {
		require.Equal(t, tc.want, glob(tc.p, tc.v), "%s ~ %s", tc.p, tc.v)
	}
}

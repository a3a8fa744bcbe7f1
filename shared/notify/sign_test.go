package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSignedURL(t *testing.T) {
	r := testRobot()
	u, err := url.Parse(signedURL(r, testNow))
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, testToken, q.Get("access_token"))
	require.Equal(t, strconv.FormatInt(testNow.UnixMilli(), 10), q.Get("timestamp"))

	// DingTalk's check, written out independently.
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(q.Get("timestamp") + "\n" + testSecret))
	require.Equal(t, base64.StdEncoding.EncodeToString(mac.Sum(nil)), q.Get("sign"), "sign is query-escaped once")

	r.Secret = ""
	require.Equal(t, r.Webhook.Reveal(), signedURL(r, testNow), "keyword-only robots are not signed")
	r.Webhook = "http://127.0.0.1:8600/robot/send"
	r.Secret = testSecret
	require.Contains(t, signedURL(r, testNow), "/robot/send?timestamp=")
}

package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	testToken  = "tok0123456789abcdef"
	testSecret = "SEC0123456789abcdefSIGNING"
)

func testRobot() Robot {
	return Robot{
		Name:    "ops",
		Webhook: Secret("https://oapi.dingtalk.com/robot/send?access_token=" + testToken),
		Secret:  Secret(testSecret),
		Keyword: "porthygiene",
	}
}

// requireNoSecret fails when s holds the token or the secret in any encoding.
func requireNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, v := range []string{testToken, testSecret, url.QueryEscape(testSecret)} {
		require.NotContains(t, s, v)
	}
}

func TestSecretRedactsEverywhere(t *testing.T) {
	r := testRobot()
	for _, format := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10s"} {
		requireNoSecret(t, fmt.Sprintf(format, r.Secret))
		requireNoSecret(t, fmt.Sprintf(format, r))
		requireNoSecret(t, fmt.Sprintf(format, &r))
		requireNoSecret(t, fmt.Sprintf(format, []Robot{r}))
	}
	require.Equal(t, Redacted, r.Secret.String())
	b, err := json.Marshal(r)
	require.NoError(t, err)
	requireNoSecret(t, string(b))
	require.Contains(t, string(b), Redacted)

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("robot", "robot", r, "secret", r.Secret, "webhook", r.Webhook, "any", any(r.Secret), "list", []Robot{r})
	}
	requireNoSecret(t, buf.String())
	require.Contains(t, buf.String(), "ops")

	// Decoding still yields the value.
	var got Robot
	require.NoError(t, json.Unmarshal([]byte(`{"name":"x","webhook":"https://h/?access_token=abc","secret":"SECabc"}`), &got))
	require.Equal(t, "SECabc", got.Secret.Reveal())
	require.Equal(t, "https://h/?access_token=abc", got.Webhook.Reveal())
}

func TestRedactorErrors(t *testing.T) {
	r := testRobot()
	rd := newRedactor([]Robot{r})
	signed := signedURL(r, testNow)
	ue := &url.Error{Op: "Post", URL: signed, Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}

	got := rd.Error(ue)
	requireNoSecret(t, got.Error())
	var back *url.Error
	require.ErrorAs(t, got, &back, "a *url.Error keeps its type")
	require.Contains(t, back.URL, "oapi.dingtalk.com/robot/send?access_token="+Redacted)
	require.Contains(t, back.URL, "timestamp=")

	wrapped := rd.Error(fmt.Errorf("send: %w", ue))
	requireNoSecret(t, wrapped.Error())

	plainErr := errors.New("boom " + testSecret + " " + url.QueryEscape(testToken))
	requireNoSecret(t, rd.Error(plainErr).Error())

	clean := errors.New("nothing to hide")
	require.Same(t, clean, rd.Error(clean))
	require.Equal(t, Redacted, redactURL("://bad url"))
}

func TestRedactURL(t *testing.T) {
	got := redactURL("https://user:pw@oapi.dingtalk.com/robot/send?access_token=abc&timestamp=123&sign=xyz%2B#frag")
	require.Equal(t, "https://oapi.dingtalk.com/robot/send?access_token="+Redacted+"&timestamp=123&sign="+Redacted, got)
	require.False(t, strings.Contains(got, "pw"))
}

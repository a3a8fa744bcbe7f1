package credentials_test

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

	"github.com/porthygiene/porthygiene/shared/credentials"
)

// The token has characters that URL and POP encoding change.
var testCreds = credentials.Credentials{
	AccessKeyID:     "LTAItestkey",
	AccessKeySecret: "s3cr3t-SECRET-value",
	SecurityToken:   "CAIS+tok/en==TOKEN~value *",
}

// spellings are the forms of the secret and the token a request or an
// answer may carry.
func spellings(c credentials.Credentials) []string {
	var out []string
	for _, s := range []string{c.AccessKeySecret, c.SecurityToken} {
		out = append(out, s,
			url.QueryEscape(s), url.QueryEscape(url.QueryEscape(s)),
			credentials.PercentEncode(s), credentials.PercentEncode(credentials.PercentEncode(s)))
	}
	return out
}

func requireNoSecrets(t *testing.T, text string) {
	t.Helper()
	for _, s := range spellings(testCreds) {
		require.NotContains(t, text, s)
	}
	require.NotContains(t, text, "SECRET-value")
	require.NotContains(t, text, "TOKEN~value")
}

func TestCredentialsNeverPrintSecrets(t *testing.T) {
	var jsonLog, textLog bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("creds", "c", testCreds, "p", &testCreds)
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("creds", "c", testCreds)
	js, err := json.Marshal(struct {
		C credentials.Credentials
		P *credentials.Credentials
	}{testCreds, &testCreds})
	require.NoError(t, err)
	txt, err := testCreds.MarshalText()
	require.NoError(t, err)
	nested := struct{ C credentials.Credentials }{testCreds}

	texts := map[string]string{
		"String":   testCreds.String(),
		"GoString": testCreds.GoString(),
		"json":     string(js),
		"text":     string(txt),
		"slogJSON": jsonLog.String(),
		"slogText": textLog.String(),
		"nested+v": fmt.Sprintf("%+v", nested),
		"nested#v": fmt.Sprintf("%#v", nested),
		"ptr":      fmt.Sprintf("%+v", &testCreds),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.3v"} {
		texts[verb] = fmt.Sprintf(verb, testCreds)
	}
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			requireNoSecrets(t, text)
			require.Contains(t, text, testCreds.AccessKeyID)
		})
	}
}

func TestCredentialsShowWhatIsMissing(t *testing.T) {
	c := credentials.Credentials{AccessKeyID: "LTAIkey", AccessKeySecret: "sk"}
	require.Equal(t, "{AccessKeyID:LTAIkey AccessKeySecret:[REDACTED] SecurityToken:}", c.String())
	require.Equal(t, `credentials.Credentials{AccessKeyID:"LTAIkey", AccessKeySecret:"[REDACTED]", SecurityToken:""}`, fmt.Sprintf("%#v", c))
	js, err := json.Marshal(c)
	require.NoError(t, err)
	require.JSONEq(t, `{"AccessKeyID":"LTAIkey","AccessKeySecret":"[REDACTED]","SecurityToken":""}`, string(js))
}

func TestRedactRemovesEverySpelling(t *testing.T) {
	r := credentials.NewRedactor(testCreds)
	for _, s := range spellings(testCreds) {
		got := r.Redact("before " + s + " after")
		require.Equal(t, "before "+credentials.Redacted+" after", got, "spelling %q", s)
	}
	// The string a POP signature signs escapes the escaped query again.
	q := url.Values{"AccessKeyId": {testCreds.AccessKeyID}, "SecurityToken": {testCreds.SecurityToken}}
	sts := "POST&%2F&" + credentials.PercentEncode(strings.ReplaceAll(q.Encode(), "+", "%20"))
	requireNoSecrets(t, r.Redact(sts))
	require.Contains(t, r.Redact(sts), testCreds.AccessKeyID)
}

func TestRedactorZeroValueRemovesNothing(t *testing.T) {
	var r credentials.Redactor
	require.Equal(t, "anything", r.Redact("anything"))
	r = credentials.NewRedactor(credentials.Credentials{AccessKeyID: "LTAIkey"})
	require.Equal(t, "LTAIkey ", r.Redact("LTAIkey "))
}

func TestRedactError(t *testing.T) {
	r := credentials.NewRedactor(testCreds)
	require.NoError(t, r.RedactError(nil))

	clean := fmt.Errorf("dial: %w", errors.ErrUnsupported)
	require.Same(t, clean, r.RedactError(clean), "an error without credentials keeps its chain")

	leaky := fmt.Errorf("GET /?SecurityToken=%s: %w", url.QueryEscape(testCreds.SecurityToken), errors.ErrUnsupported)
	got := r.RedactError(leaky)
	requireNoSecrets(t, got.Error())
	require.Contains(t, got.Error(), "SecurityToken="+credentials.Redacted)
}

func TestRedactorNeverPrintsItself(t *testing.T) {
	r := credentials.NewRedactor(testCreds)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("r", "r", r)
	for _, text := range []string{fmt.Sprint(r), fmt.Sprintf("%+v %#v %s %q %x", r, r, r, r, r),
		fmt.Sprintf("%+v", struct{ R credentials.Redactor }{r}), logged.String()} {
		requireNoSecrets(t, text)
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"AZaz09-_.~":       "AZaz09-_.~",
		"a b":              "a%20b",
		"a+b*c/d=e&f%":     "a%2Bb%2Ac%2Fd%3De%26f%25",
		"\u00e9":           "%C3%A9",
		"CAIS+tok/en==":    "CAIS%2Btok%2Fen%3D%3D",
		"!'()":             "%21%27%28%29",
		"already%2Fescape": "already%252Fescape",
	} {
		require.Equal(t, want, credentials.PercentEncode(in), "PercentEncode(%q)", in)
	}
}

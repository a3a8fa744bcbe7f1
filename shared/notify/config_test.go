package notify

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseConfig(t *testing.T) {
	env := map[string]string{
		EnvRobots: `[{"name":"default","webhook":"https://oapi.dingtalk.com/robot/send?access_token=` + testToken + `","secret":"` + testSecret + `","keyword":"porthygiene"},
		             {"name":"web-team","webhook":"https://oapi.dingtalk.com/robot/send?access_token=t2","keyword":"安全组","atMobiles":["13800000000"]}]`,
		EnvLang: "en",
	}
	c, err := ParseConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, LangEN, c.Lang)
	require.Len(t, c.Robots, 2)
	require.Equal(t, "default", c.Robots[0].Name)
	require.Equal(t, testSecret, c.Robots[0].Secret.Reveal())
	require.Equal(t, []string{"13800000000"}, c.Robots[1].AtMobiles)
	require.NoError(t, c.Validate())

	delete(env, EnvLang)
	c, err = ParseConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, LangZH, c.Lang)
}

func TestParseRobotsErrorsQuoteNoSecret(t *testing.T) {
	hook := `"https://oapi.dingtalk.com/robot/send?access_token=` + testToken + `"`
	for name, tc := range map[string]struct {
		raw, field string
	}{
		"Empty":          {``, EnvRobots},
		"EmptyList":      {`[]`, EnvRobots},
		"NotJSON":        {`[{"name":"a","webhook":` + hook + `,"secret":"` + testSecret + `"x}]`, EnvRobots},
		"Truncated":      {`[{"name":"a","webhook":` + hook, EnvRobots},
		"WrongType":      {`[{"name":"a","webhook":` + hook + `,"secret":12}]`, EnvRobots},
		"UnknownField":   {`[{"name":"a","webhook":` + hook + `,"token":"` + testToken + `"}]`, EnvRobots},
		"Trailing":       {`[{"name":"a","webhook":` + hook + `,"keyword":"k"}] x`, EnvRobots},
		"NoName":         {`[{"webhook":` + hook + `,"keyword":"k"}]`, EnvRobots + "[0].name"},
		"DuplicateName":  {`[{"name":"a","webhook":` + hook + `,"keyword":"k"},{"name":"a","webhook":` + hook + `,"keyword":"k"}]`, EnvRobots + "[1].name"},
		"NoWebhook":      {`[{"name":"a","keyword":"k"}]`, EnvRobots + "[0].webhook"},
		"BadURL":         {`[{"name":"a","webhook":"http://[::1` + testToken + `","keyword":"k"}]`, EnvRobots + "[0].webhook"},
		"NotHTTP":        {`[{"name":"a","webhook":"ftp://h/?access_token=` + testToken + `","keyword":"k"}]`, EnvRobots + "[0].webhook"},
		"NoToken":        {`[{"name":"a","webhook":"https://h/robot/send?x=` + testToken + `","keyword":"k"}]`, EnvRobots + "[0].webhook"},
		"SecretNotSEC":   {`[{"name":"a","webhook":` + hook + `,"secret":"` + testToken + `"}]`, EnvRobots + "[0].secret"},
		"NoSecurityMode": {`[{"name":"a","webhook":` + hook + `}]`, EnvRobots + "[0].secret"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRobots(tc.raw)
			require.Error(t, err)
			requireNoSecret(t, err.Error())
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.field, ce.Field, "error: %v", err)
		})
	}
}

func TestParseConfigNoRobots(t *testing.T) {
	// Not set is the one error a function may run on (without notifications).
	for _, raw := range []string{"", " \n\t"} {
		_, err := ParseConfig(func(k string) string {
			if k == EnvRobots {
				return raw
			}
			return ""
		})
		require.ErrorIs(t, err, ErrNoRobots, "DINGTALK_ROBOTS=%q", raw)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, EnvRobots, ce.Field)
	}
	// Set but wrong is fatal, never "no robots".
	for _, raw := range []string{"[]", "x", `[{"name":"a"}]`} {
		_, err := ParseRobots(raw)
		require.Error(t, err)
		require.NotErrorIs(t, err, ErrNoRobots, "DINGTALK_ROBOTS=%q", raw)
	}
}

func TestParseConfigBadLang(t *testing.T) {
	_, err := ParseConfig(func(k string) string {
		if k == EnvLang {
			return "fr"
		}
		return `[{"name":"a","webhook":"https://h/?access_token=x","keyword":"k"}]`
	})
	require.ErrorContains(t, err, EnvLang)
}

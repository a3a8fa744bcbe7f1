package notify

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
		want   Outcome
	}{
		// DingTalk answers 200 for nearly everything; the errcode decides.
		"OK":            {200, `{"errcode":0,"errmsg":"ok"}`, Outcome{OK: true, Msg: "ok"}},
		"TooFast":       {200, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute","status":1,"punish":"10"}`, Outcome{Code: 130101, Msg: "send too fast, exceed 20 times per minute", Reason: ReasonRateLimited, Retryable: true}},
		"HTTP429":       {429, ``, Outcome{Reason: ReasonRateLimited, Retryable: true}},
		"ServerError":   {503, `503 Service Temporarily Unavailable`, Outcome{Reason: ReasonServer, Retryable: true}},
		"GatewayJSON":   {502, `{"errcode":-1,"errmsg":"system busy"}`, Outcome{Code: -1, Msg: "system busy", Reason: ReasonServer, Retryable: true}},
		"Security":      {200, `{"errcode":310000,"errmsg":"keywords not in content"}`, Outcome{Code: 310000, Msg: "keywords not in content", Reason: ReasonSecurity}},
		"TokenInvalid":  {200, `{"errcode":300001,"errmsg":"token is not exist"}`, Outcome{Code: 300001, Msg: "token is not exist", Reason: ReasonAuth}},
		"GroupGone":     {200, `{"errcode":400013,"errmsg":"群已被解散"}`, Outcome{Code: 400013, Msg: "群已被解散", Reason: ReasonAuth}},
		"TooLarge":      {200, `{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}`, Outcome{Code: 460101, Msg: "message too long, exceed 20000 bytes", Reason: ReasonTooLarge}},
		"TooLongOld":    {200, `{"errcode":101002,"errmsg":"message is too long"}`, Outcome{Code: 101002, Msg: "message is too long", Reason: ReasonTooLarge}},
		"MonthlyQuota":  {200, `{"errcode":90030,"errmsg":"webhook over limit"}`, Outcome{Code: 90030, Msg: "webhook over limit", Reason: ReasonQuota}},
		"UnknownCode":   {200, `{"errcode":40035,"errmsg":"缺少参数 json"}`, Outcome{Code: 40035, Msg: "缺少参数 json", Reason: ReasonUnknown}},
		"NotJSON200":    {200, `<html>proxy</html>`, Outcome{Reason: ReasonServer, Retryable: true}},
		"NoErrcode200":  {200, `{}`, Outcome{Reason: ReasonServer, Retryable: true}},
		"Forbidden":     {403, `forbidden`, Outcome{Reason: ReasonAuth}},
		"NotFound":      {404, ``, Outcome{Reason: ReasonAuth}},
		"Entity413":     {413, ``, Outcome{Reason: ReasonTooLarge}},
		"BadRequest":    {400, `bad`, Outcome{Reason: ReasonClient}},
		"BadRequestErr": {400, `{"errcode":310000,"errmsg":"sign not match"}`, Outcome{Code: 310000, Msg: "sign not match", Reason: ReasonSecurity}},
	} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, tc.want, Classify(tc.status, []byte(tc.body)))
		})
	}
	require.True(t, ReasonServer.robotWide())
	require.False(t, ReasonTooLarge.robotWide(), "one oversized message says nothing of the next")
}

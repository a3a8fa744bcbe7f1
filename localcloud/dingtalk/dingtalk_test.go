package dingtalk_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/dingtalk"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
)

const secret = "SEC0123456789abcdef"

var epoch = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// sign is the client side of DingTalk signing, written from the docs.
func sign(secret string, ts int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type answer struct {
	status  int
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	raw     string
}

type fixture struct {
	sink   *dingtalk.Sink
	clock  *vclock.Clock
	stats  *stats.Stats
	faults *faults.Set
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: vclock.New(epoch), stats: &stats.Stats{}, faults: &faults.Set{}}
	// The fixture's clock is both the virtual and the wall clock; see
	// TestTimestampIsCheckedAgainstTheWallClock for the two apart.
	f.sink = dingtalk.New(dingtalk.Config{Clock: f.clock, Wall: f.clock, Stats: f.stats, Faults: f.faults})
	f.sink.AddRobot(dingtalk.Robot{Name: "signed", AccessToken: "tok-signed", Secret: secret})
	f.sink.AddRobot(dingtalk.Robot{Name: "keyword", AccessToken: "tok-keyword", Keywords: []string{"porthygiene", "SG"}})
	f.sink.AddRobot(dingtalk.Robot{Name: "both", AccessToken: "tok-both", Secret: secret, Keywords: []string{"porthygiene"}})
	return f
}

// post sends body to the sink with the given query, through ServeHTTP.
func (f *fixture) post(t *testing.T, q url.Values, body string) answer {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/robot/send?"+q.Encode(), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	rec := httptest.NewRecorder()
	f.sink.ServeHTTP(rec, req)
	a := answer{status: rec.Code, raw: rec.Body.String()}
	if rec.Code == http.StatusOK {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a), "body %s", rec.Body)
	}
	return a
}

// signed returns the query of a correctly signed request to token at ts.
func signed(token string, ts time.Time) url.Values {
	ms := ts.UnixMilli()
	return url.Values{"access_token": {token}, "timestamp": {strconv.FormatInt(ms, 10)}, "sign": {sign(secret, ms)}}
}

func text(content string) string {
	b, _ := json.Marshal(map[string]any{"msgtype": "text", "text": map[string]string{"content": content}})
	return string(b)
}

func TestSend(t *testing.T) {
	md := `{"msgtype":"markdown","markdown":{"title":"porthygiene: 2 findings","text":"### details"}}`
	card := `{"msgtype":"actionCard","actionCard":{"title":"t","text":"porthygiene revoked a rule","singleTitle":"open","singleURL":"https://x"}}`
	tests := []struct {
		name    string
		query   func(now time.Time) url.Values
		body    string
		code    int
		msg     string // substring of errmsg
		message bool   // kept in Messages
	}{
		{"SignedText", func(n time.Time) url.Values { return signed("tok-signed", n) }, text("hello"), 0, "ok", true},
		// The timestamp may lag or lead the server clock by up to an hour.
		{"TimestampWithinHour", func(n time.Time) url.Values { return signed("tok-signed", n.Add(-59*time.Minute)) }, text("hi"), 0, "ok", true},
		{"TimestampAheadWithinHour", func(n time.Time) url.Values { return signed("tok-signed", n.Add(59*time.Minute)) }, text("hi"), 0, "ok", true},
		{"StaleTimestamp", func(n time.Time) url.Values { return signed("tok-signed", n.Add(-61*time.Minute)) }, text("hi"), 310000, "invalid timestamp", false},
		{"FutureTimestamp", func(n time.Time) url.Values { return signed("tok-signed", n.Add(61*time.Minute)) }, text("hi"), 310000, "invalid timestamp", false},
		{"UnsignedToSignedRobot", func(time.Time) url.Values { return url.Values{"access_token": {"tok-signed"}} }, text("hi"), 310000, "invalid timestamp", false},
		{"WrongSecret", func(n time.Time) url.Values {
			q := signed("tok-signed", n)
			q.Set("sign", sign("SECwrong", n.UnixMilli()))
			return q
		}, text("hi"), 310000, "sign not match", false},
		{"MissingSign", func(n time.Time) url.Values {
			q := signed("tok-signed", n)
			q.Del("sign")
			return q
		}, text("hi"), 310000, "sign not match", false},
		// A sign computed for another timestamp does not match.
		{"SignForOtherTimestamp", func(n time.Time) url.Values {
			q := signed("tok-signed", n)
			q.Set("sign", sign(secret, n.UnixMilli()+1))
			return q
		}, text("hi"), 310000, "sign not match", false},
		{"UnknownToken", func(time.Time) url.Values { return url.Values{"access_token": {"nope"}} }, text("hi"), 300001, "token is not exist", false},
		{"KeywordPresent", func(time.Time) url.Values { return url.Values{"access_token": {"tok-keyword"}} }, text("[porthygiene] alert"), 0, "ok", true},
		{"KeywordMissing", func(time.Time) url.Values { return url.Values{"access_token": {"tok-keyword"}} }, text("alert"), 310000, "keywords not in content", false},
		{"KeywordInMarkdownTitle", func(time.Time) url.Values { return url.Values{"access_token": {"tok-keyword"}} }, md, 0, "ok", true},
		{"KeywordInActionCardText", func(time.Time) url.Values { return url.Values{"access_token": {"tok-keyword"}} }, card, 0, "ok", true},
		// Both settings apply when both are configured.
		{"SignedButNoKeyword", func(n time.Time) url.Values { return signed("tok-both", n) }, text("alert"), 310000, "keywords not in content", false},
		{"SignedWithKeyword", func(n time.Time) url.Values { return signed("tok-both", n) }, text("porthygiene alert"), 0, "ok", true},
		{"MalformedJSON", func(n time.Time) url.Values { return signed("tok-signed", n) }, `{"msgtype":`, 40035, "invalid json", false},
		{"UnknownMsgType", func(n time.Time) url.Values { return signed("tok-signed", n) }, `{"msgtype":"image"}`, 40035, `invalid msgtype "image"`, false},
		{"MissingMsgType", func(n time.Time) url.Values { return signed("tok-signed", n) }, `{"text":{"content":"x"}}`, 40035, "missing parameter msgtype", false},
		{"MissingContent", func(n time.Time) url.Values { return signed("tok-signed", n) }, `{"msgtype":"text","text":{}}`, 40035, "missing parameter text.content", false},
		{"MarkdownWithoutTitle", func(n time.Time) url.Values { return signed("tok-signed", n) }, `{"msgtype":"markdown","markdown":{"text":"x"}}`, 40035, "missing parameter markdown.title", false},
		{"ActionCardWithoutButtons", func(n time.Time) url.Values { return signed("tok-signed", n) }, `{"msgtype":"actionCard","actionCard":{"title":"t","text":"x"}}`, 40035, "singleURL or actionCard.btns", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.post(t, tc.query(f.clock.Now()), tc.body)
			require.Equal(t, http.StatusOK, a.status, "DingTalk answers 200 even for errors")
			require.Equal(t, tc.code, a.ErrCode, "errmsg %q", a.ErrMsg)
			require.Contains(t, a.ErrMsg, tc.msg)
			if tc.message {
				require.Len(t, f.sink.Messages(""), 1)
			} else {
				require.Empty(t, f.sink.Messages(""))
			}
			att := f.sink.Attempts()
			require.Len(t, att, 1)
			require.Equal(t, tc.code, att[0].ErrCode)
			require.Equal(t, epoch, att[0].Time)
		})
	}
}

func TestSendOverHTTP(t *testing.T) {
	// Through a real listener, with the sign url-escaped as the docs say
	// (base64 has '+' and '/'), the way a client builds the webhook URL.
	f := newFixture(t)
	srv := httptest.NewServer(f.sink)
	t.Cleanup(srv.Close)
	ms := f.clock.Now().UnixMilli()
	u := srv.URL + "/robot/send?access_token=tok-signed&timestamp=" + strconv.FormatInt(ms, 10) + "&sign=" + url.QueryEscape(sign(secret, ms))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(text("over http")))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"errcode":0,"errmsg":"ok"}`, string(body))
	require.Equal(t, "over http", f.sink.Messages("signed")[0].Text)

	resp, err = http.Get(srv.URL + "/robot/send?access_token=tok-signed")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.JSONEq(t, `{"errcode":43002,"errmsg":"requires POST"}`, string(body))
}

// TestTimestampIsCheckedAgainstTheWallClock: like DingTalk, the sink checks
// a signed request's timestamp against the real time, not the virtual clock
// (which runs days ahead once a test advances it): a sender that signs at its
// decision clock is refused, one that signs at its wall clock is accepted.
func TestTimestampIsCheckedAgainstTheWallClock(t *testing.T) {
	virtual := vclock.New(epoch)
	virtual.Advance(30 * 24 * time.Hour)
	wall := vclock.New(epoch.Add(10 * time.Minute))
	s := dingtalk.New(dingtalk.Config{Clock: virtual, Wall: wall})
	s.AddRobot(dingtalk.Robot{Name: "signed", AccessToken: "tok-signed", Secret: secret})
	post := func(q url.Values) answer {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/robot/send?"+q.Encode(), strings.NewReader(text("hi")))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var a answer
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a))
		return a
	}
	a := post(signed("tok-signed", virtual.Now()))
	require.Equal(t, 310000, a.ErrCode, "signed at the virtual clock, a month ahead of the real time")
	require.Equal(t, "invalid timestamp", a.ErrMsg)
	a = post(signed("tok-signed", wall.Now().Add(-50*time.Minute)))
	require.Equal(t, 0, a.ErrCode, "within an hour of the wall clock: %s", a.ErrMsg)
	msgs := s.Messages("signed")
	require.Len(t, msgs, 1)
	require.Equal(t, virtual.Now(), msgs[0].Time, "messages are still stamped with the virtual clock")

	// The default wall clock is the system clock.
	sys := dingtalk.New(dingtalk.Config{Clock: virtual})
	sys.AddRobot(dingtalk.Robot{Name: "signed", AccessToken: "tok-signed", Secret: secret})
	s = sys
	require.Equal(t, 0, post(signed("tok-signed", time.Now())).ErrCode)
	require.Equal(t, 310000, post(signed("tok-signed", virtual.Now())).ErrCode)
}

func TestMessageShapes(t *testing.T) {
	tests := []struct {
		name string
		body string
		want dingtalk.Message
	}{
		{"TextWithAt",
			`{"msgtype":"text","text":{"content":"SG alert @138"},"at":{"atMobiles":["138"],"atUserIds":["u1"],"isAtAll":true}}`,
			dingtalk.Message{MsgType: "text", Text: "SG alert @138", At: dingtalk.At{AtMobiles: []string{"138"}, AtUserIds: []string{"u1"}, IsAtAll: true}}},
		{"Markdown",
			`{"msgtype":"markdown","markdown":{"title":"SG digest","text":"### 3 rules"}}`,
			dingtalk.Message{MsgType: "markdown", Title: "SG digest", Text: "### 3 rules"}},
		{"ActionCardSingle",
			`{"msgtype":"actionCard","actionCard":{"title":"SG","text":"t","singleTitle":"Open","singleURL":"https://a"}}`,
			dingtalk.Message{MsgType: "actionCard", Title: "SG", Text: "t", Buttons: []dingtalk.Button{{Title: "Open", ActionURL: "https://a"}}}},
		{"ActionCardButtons",
			`{"msgtype":"actionCard","actionCard":{"title":"SG","text":"t","btnOrientation":"1","btns":[{"title":"Keep","actionURL":"https://k"},{"title":"Revoke","actionURL":"https://r"}]}}`,
			dingtalk.Message{MsgType: "actionCard", Title: "SG", Text: "t", Buttons: []dingtalk.Button{{Title: "Keep", ActionURL: "https://k"}, {Title: "Revoke", ActionURL: "https://r"}}}},
		{"Link",
			`{"msgtype":"link","link":{"title":"SG","text":"t","messageUrl":"https://m","picUrl":"https://p"}}`,
			dingtalk.Message{MsgType: "link", Title: "SG", Text: "t", Links: []dingtalk.Link{{Title: "SG", Text: "t", MessageURL: "https://m", PicURL: "https://p"}}}},
		{"FeedCard",
			`{"msgtype":"feedCard","feedCard":{"links":[{"title":"SG one","messageURL":"https://1","picURL":"https://p1"},{"title":"two","messageURL":"https://2"}]}}`,
			dingtalk.Message{MsgType: "feedCard", Links: []dingtalk.Link{{Title: "SG one", MessageURL: "https://1", PicURL: "https://p1"}, {Title: "two", MessageURL: "https://2"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.post(t, url.Values{"access_token": {"tok-keyword"}}, tc.body)
			require.Equal(t, 0, a.ErrCode, a.ErrMsg)
			got := f.sink.Messages("keyword")
			require.Len(t, got, 1)
			require.JSONEq(t, tc.body, string(got[0].Raw))
			tc.want.Robot, tc.want.Time, tc.want.Raw = "keyword", epoch, got[0].Raw
			require.Equal(t, tc.want, got[0])
		})
	}
}

func TestBodyLimit(t *testing.T) {
	// A text message padded to exactly n bytes.
	body := func(n int) string {
		b := text("")
		return b[:len(b)-3] + strings.Repeat("x", n-len(b)) + b[len(b)-3:]
	}
	f := newFixture(t)
	q := url.Values{"access_token": {"tok-keyword"}}
	require.Len(t, body(20000), 20000)
	require.Len(t, body(20001), 20001)

	a := f.post(t, q, strings.Replace(body(20000), "xxxx", "SG x", 1))
	require.Equal(t, 0, a.ErrCode, a.ErrMsg)

	a = f.post(t, q, strings.Replace(body(20001), "xxxx", "SG x", 1))
	require.Equal(t, 460101, a.ErrCode)
	require.Equal(t, "message too long, exceed 20000 bytes", a.ErrMsg)
	require.Len(t, f.sink.Messages(""), 1)
}

func TestRateLimitAndPenalty(t *testing.T) {
	f := newFixture(t)
	send := func() int {
		t.Helper()
		return f.post(t, signed("tok-signed", f.clock.Now()), text("alert")).ErrCode
	}
	for i := range 20 {
		require.Equal(t, 0, send(), "message %d", i+1)
		f.clock.Advance(time.Second)
	}
	// The 21st within a minute: throttled, and the robot is silenced.
	hit := f.clock.Now()
	require.Equal(t, 130101, send())
	a := f.post(t, signed("tok-signed", f.clock.Now()), text("x"))
	require.Equal(t, "send too fast, exceed 20 times per minute", a.ErrMsg)

	// Well past the minute, the penalty still holds.
	f.clock.Set(hit.Add(2 * time.Minute))
	require.Equal(t, 130101, send())
	f.clock.Set(hit.Add(10*time.Minute - time.Millisecond))
	require.Equal(t, 130101, send())
	// Other robots are not affected.
	require.Equal(t, 0, f.post(t, url.Values{"access_token": {"tok-keyword"}}, text("SG")).ErrCode)

	f.clock.Set(hit.Add(10 * time.Minute))
	require.Equal(t, 0, send())

	require.Len(t, f.sink.Messages("signed"), 21)
	n := 0
	for _, a := range f.sink.Attempts() {
		if a.ErrCode == 130101 {
			n++
		}
	}
	require.Equal(t, 4, n)
	snap := f.stats.Snapshot()
	require.Equal(t, 25, snap.Count("dingtalk", "send", "signed"), "21 accepted, 4 throttled")
	for _, c := range snap.Calls {
		if c.Caller == "signed" {
			require.Equal(t, 4, c.ErrorCodes["130101"])
		}
	}
}

func TestRateWindowSlides(t *testing.T) {
	f := newFixture(t)
	send := func() int {
		t.Helper()
		return f.post(t, signed("tok-signed", f.clock.Now()), text("alert")).ErrCode
	}
	for range 10 {
		require.Equal(t, 0, send())
	}
	f.clock.Advance(30 * time.Second)
	for range 10 {
		require.Equal(t, 0, send())
	}
	// The first ten leave the window after a minute: ten more fit.
	f.clock.Advance(30*time.Second + time.Millisecond)
	for i := range 10 {
		require.Equal(t, 0, send(), "message %d", i+1)
	}
	require.Equal(t, 130101, send())

	// Rejected messages do not use up the budget: a fresh sink with a bad
	// signature 25 times still accepts twenty.
	g := newFixture(t)
	for range 25 {
		q := signed("tok-signed", g.clock.Now())
		q.Set("sign", "bad")
		require.Equal(t, 310000, g.post(t, q, text("x")).ErrCode)
	}
	for range 20 {
		require.Equal(t, 0, g.post(t, signed("tok-signed", g.clock.Now()), text("x")).ErrCode)
	}
}

func TestConfiguredLimits(t *testing.T) {
	clock := vclock.New(epoch)
	s := dingtalk.New(dingtalk.Config{Clock: clock, Limit: 2, Penalty: time.Minute, MaxBody: 100})
	s.AddRobot(dingtalk.Robot{Name: "r", AccessToken: "t", Keywords: []string{"k"}})
	post := func(body string) (int, string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/robot/send?access_token=t", bytes.NewBufferString(body)))
		var a answer
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a))
		return a.ErrCode, a.ErrMsg
	}
	code, msg := post(text(strings.Repeat("k", 100)))
	require.Equal(t, 460101, code)
	require.Equal(t, "message too long, exceed 100 bytes", msg)
	for range 2 {
		code, _ = post(text("k"))
		require.Equal(t, 0, code)
	}
	code, msg = post(text("k"))
	require.Equal(t, 130101, code)
	require.Equal(t, "send too fast, exceed 2 times per minute", msg)
	clock.Advance(time.Minute)
	code, _ = post(text("k"))
	require.Equal(t, 0, code)
}

func TestDown(t *testing.T) {
	f := newFixture(t)
	f.faults.Replace(faults.Config{DingTalkDown: true})
	a := f.post(t, signed("tok-signed", f.clock.Now()), text("alert"))
	require.Equal(t, http.StatusServiceUnavailable, a.status)
	require.NotContains(t, a.raw, "errcode")
	require.Empty(t, f.sink.Messages(""))
	att := f.sink.Attempts()
	require.Len(t, att, 1)
	require.Equal(t, http.StatusServiceUnavailable, att[0].HTTPStatus)
	require.Equal(t, "signed", att[0].Robot)

	f.faults.Replace(faults.Config{})
	a = f.post(t, signed("tok-signed", f.clock.Now()), text("alert"))
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, 0, a.ErrCode)

	snap := f.stats.Snapshot()
	require.Equal(t, 2, snap.Count("dingtalk", "send", "signed"))
	require.Equal(t, 1, snap.Calls[0].ErrorCodes["HTTP503"])
}

func TestInjectedThrottle(t *testing.T) {
	f := newFixture(t)
	f.faults.Replace(faults.Config{Actions: []faults.Action{{Service: "dingtalk", ThrottleRatio: 1}}})
	require.Equal(t, 130101, f.post(t, signed("tok-signed", f.clock.Now()), text("x")).ErrCode)
	f.faults.Replace(faults.Config{})
	require.Equal(t, 0, f.post(t, signed("tok-signed", f.clock.Now()), text("x")).ErrCode, "an injected throttle has no penalty")
}

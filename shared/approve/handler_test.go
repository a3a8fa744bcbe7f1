package approve_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/approve"
	"github.com/porthygiene/porthygiene/shared/approve/approvetest"
	"github.com/porthygiene/porthygiene/shared/clock"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// click is the HTTP trigger event of a GET of link at now.
func click(t *testing.T, link string, now time.Time) trigger.HTTPEvent {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	qp := map[string]string{}
	for k, v := range u.Query() {
		qp[k] = v[0]
	}
	return trigger.HTTPEvent{
		Version: "v1", RawPath: "/", QueryParameters: qp, Headers: map[string]string{},
		RequestContext: trigger.HTTPRequestContext{
			RequestID: "req-" + strconv.FormatInt(now.UnixNano(), 36),
			HTTP:      trigger.HTTPInfo{Method: "GET", Path: "/"},
			TimeEpoch: strconv.FormatInt(now.UnixMilli(), 10),
		},
	}
}

// submit is the HTTP trigger event of the confirmation form's POST of form
// to link at now (the body base64-encoded, as FC delivers it).
func submit(t *testing.T, link string, form url.Values, now time.Time) trigger.HTTPEvent {
	t.Helper()
	ev := click(t, link, now)
	ev.RequestContext.HTTP.Method = "POST"
	ev.Headers["Content-Type"] = "application/x-www-form-urlencoded"
	ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(form.Encode())), true
	return ev
}

// confirm opens link at now (asserting the GET answers a confirmation page
// and records nothing), then submits the page's form and returns the answer.
func confirm(t *testing.T, e handlerEnv, link string, now time.Time) trigger.HTTPResponse {
	t.Helper()
	before := len(e.l.Records())
	page := e.handle(t, click(t, link, now))
	require.Equal(t, 200, page.StatusCode, page.Body)
	form, ok := approvetest.Form(page.Body)
	require.True(t, ok, "the confirmation page has a form: %s", page.Body)
	require.Len(t, e.l.Records(), before, "a GET records nothing")
	return e.handle(t, submit(t, link, form, now))
}

var errDown = errors.New("ledger down")

type handlerEnv struct {
	h   *approve.Handler
	l   *ledgertest.Mem
	log *bytes.Buffer
}

// handle answers ev as the approve function does on localcloud: the
// request's context carries the trusted clock (fcwire's time source), which
// reads the request's own time; the Handler's Now lags an hour behind it and
// must not be used.
func (e handlerEnv) handle(t *testing.T, ev trigger.HTTPEvent) trigger.HTTPResponse {
	t.Helper()
	ctx := clock.WithWall(t.Context(), clock.Func(func() time.Time { return ev.Time() }))
	return e.h.Handle(ctx, ev)
}

func newHandler(k string) handlerEnv {
	var buf bytes.Buffer
	l := &ledgertest.Mem{}
	h := &approve.Handler{Key: notify.Secret(k), Ledger: l, Now: func() time.Time { return t0.Add(-time.Hour) },
		Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	return handlerEnv{h: h, l: l, log: &buf}
}

func decisions(t *testing.T, l *ledgertest.Mem) []ledger.Decision {
	t.Helper()
	recs, err := l.Query(t.Context(), ledger.Filter{Kinds: []ledger.Kind{ledger.KindDecision}})
	require.NoError(t, err)
	var out []ledger.Decision
	for _, r := range recs {
		d, err := r.Decision()
		require.NoError(t, err)
		out = append(out, d)
	}
	return out
}

func TestHandlerRecordsOnce(t *testing.T) {
	e := newHandler(string(key))
	link := approve.Sign(key, base, keepLink())
	// The handler's own clock lags: the trusted clock of the request's
	// context (localcloud's virtual clock) anchors the decision.
	resp := confirm(t, e, link, t0)
	require.Equal(t, 200, resp.StatusCode, resp.Body)
	require.Equal(t, "text/html; charset=utf-8", resp.Headers["Content-Type"])
	require.Equal(t, "no-referrer", resp.Headers["Referrer-Policy"])
	require.Contains(t, resp.Body, "stays open until 2026-05-31 10:00 UTC")

	recs, err := e.l.Query(t.Context(), ledger.Filter{Kinds: []ledger.Kind{ledger.KindDecision}})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	r := recs[0]
	require.Equal(t, approve.NonceKey(keepLink().Nonce), r.EventID)
	require.Equal(t, "sg-bp1web", r.GroupID)
	require.Equal(t, "sgr-bp1ssh", r.RuleID)
	require.Equal(t, "cn-hangzhou", r.Region)
	require.Equal(t, "approve", r.Function)
	require.Equal(t, t0, r.Time)
	require.Contains(t, resp.Body, r.ID, "the page names the decision record")
	d, err := r.Decision()
	require.NoError(t, err)
	require.Equal(t, ledger.Decision{Action: "exempt", Target: lid, By: "dingtalk-link", Via: "dingtalk",
		Until: t0.Add(30 * 24 * time.Hour), Reason: "keep open (DingTalk decision link)"}, d)

	u, err := url.Parse(link)
	require.NoError(t, err)
	again := e.handle(t, submit(t, link, u.Query(), t0.Add(time.Minute)))
	require.Equal(t, 409, again.StatusCode)
	require.Contains(t, again.Body, r.ID)
	require.Len(t, decisions(t, e.l), 1, "a replay writes nothing")
	opened := e.handle(t, click(t, link, t0.Add(time.Minute)))
	require.Equal(t, 409, opened.StatusCode, "a used link opens on its 'already used' page")
	require.Contains(t, opened.Body, r.ID)
	_, hasForm := approvetest.Form(opened.Body)
	require.False(t, hasForm)
	require.Len(t, decisions(t, e.l), 1)
	require.NotContains(t, e.log.String(), string(key))
}

func TestHandlerActions(t *testing.T) {
	e := newHandler(string(key))
	closeLink := approve.Link{Action: approve.ActionClose, GroupID: "sg-1", RuleID: "sgr-1", Expires: t0.Add(time.Hour), Nonce: approve.NewNonce()}
	restore := approve.Link{Action: approve.ActionRestore, LedgerID: lid, GroupID: "sg-1", Days: 7, Expires: t0.Add(time.Hour), Nonce: approve.NewNonce()}
	require.Equal(t, 200, confirm(t, e, approve.Sign(key, base, closeLink), t0).StatusCode)
	require.Equal(t, 200, confirm(t, e, approve.Sign(key, base, restore), t0.Add(time.Second)).StatusCode)
	ds := decisions(t, e.l)
	require.Len(t, ds, 2)
	require.Equal(t, "close", ds[0].Action)
	require.Equal(t, "sg-1/sgr-1", ds[0].Target)
	require.True(t, ds[0].Until.IsZero())
	require.Equal(t, "restore", ds[1].Action)
	require.Equal(t, lid, ds[1].Target)
	require.Equal(t, t0.Add(time.Second+7*24*time.Hour), ds[1].Until)
}

func TestHandlerRefusals(t *testing.T) {
	good := approve.Sign(key, base, keepLink())
	cases := []struct {
		name   string
		key    string
		ev     func(t *testing.T) trigger.HTTPEvent
		status int
		says   string
	}{
		{"Forged", string(key), func(t *testing.T) trigger.HTTPEvent {
			return click(t, approve.Sign([]byte("not-the-key-0123456789abcdef"), base, keepLink()), t0)
		}, 403, "forged"},
		{"Tampered", string(key), func(t *testing.T) trigger.HTTPEvent {
			ev := click(t, good, t0)
			ev.QueryParameters["g"] = "sg-other"
			return ev
		}, 403, "forged"},
		{"Expired", string(key), func(t *testing.T) trigger.HTTPEvent { return click(t, good, t0.Add(8*24*time.Hour)) }, 410, "expired at 2026-05-08 10:00 UTC"},
		{"Malformed", string(key), func(t *testing.T) trigger.HTTPEvent { return click(t, base+"?a=keep", t0) }, 400, "incomplete"},
		{"NoQuery", string(key), func(t *testing.T) trigger.HTTPEvent { return click(t, base, t0) }, 400, "incomplete"},
		{"TamperedForm", string(key), func(t *testing.T) trigger.HTTPEvent {
			u, err := url.Parse(good)
			require.NoError(t, err)
			f := u.Query()
			f.Set("a", "close")
			return submit(t, good, f, t0)
		}, 403, "forged"},
		{"ExpiredForm", string(key), func(t *testing.T) trigger.HTTPEvent {
			u, err := url.Parse(good)
			require.NoError(t, err)
			return submit(t, good, u.Query(), t0.Add(8*24*time.Hour))
		}, 410, "expired"},
		{"BadFormBody", string(key), func(t *testing.T) trigger.HTTPEvent {
			ev := submit(t, good, nil, t0)
			ev.Body = "not base64!"
			return ev
		}, 400, "incomplete"},
		{"Put", string(key), func(t *testing.T) trigger.HTTPEvent {
			ev := click(t, good, t0)
			ev.RequestContext.HTTP.Method = "PUT"
			return ev
		}, 405, "browser"},
		{"Head", string(key), func(t *testing.T) trigger.HTTPEvent {
			ev := click(t, good, t0)
			ev.RequestContext.HTTP.Method = "HEAD"
			return ev
		}, 405, "browser"},
		{"NoKey", "", func(t *testing.T) trigger.HTTPEvent { return click(t, good, t0) }, 503, "not enabled"},
		{"NoKeyPost", "", func(t *testing.T) trigger.HTTPEvent {
			u, err := url.Parse(good)
			require.NoError(t, err)
			return submit(t, good, u.Query(), t0)
		}, 503, "not enabled"},
		{"ShortKey", "short", func(t *testing.T) trigger.HTTPEvent { return click(t, good, t0) }, 503, "not enabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newHandler(tc.key)
			resp := e.handle(t, tc.ev(t))
			require.Equal(t, tc.status, resp.StatusCode, resp.Body)
			require.Contains(t, resp.Body, tc.says)
			require.Contains(t, resp.Body, "Nothing was changed.")
			require.Empty(t, e.l.Records(), "nothing written")
			_, hasForm := approvetest.Form(resp.Body)
			require.False(t, hasForm, "a refusal offers nothing to confirm")
			require.NotContains(t, e.log.String(), string(key), "the key is never logged")
			require.NotContains(t, e.log.String(), "sig=", "nor the signature")
		})
	}
	e := newHandler("")
	e.handle(t, click(t, good, t0))
	require.Contains(t, e.log.String(), "APPROVE_SIGNING_KEY must be set")
	require.Contains(t, e.log.String(), "level=ERROR")
}

func TestHandlerLedgerDown(t *testing.T) {
	e := newHandler(string(key))
	e.l.Err = errDown
	link := approve.Sign(key, base, keepLink())
	resp := e.handle(t, click(t, link, t0))
	require.Equal(t, 503, resp.StatusCode)
	require.Contains(t, resp.Body, "Try the link again later")
	u, err := url.Parse(link)
	require.NoError(t, err)
	resp = e.handle(t, submit(t, link, u.Query(), t0))
	require.Equal(t, 503, resp.StatusCode)
	require.Contains(t, resp.Body, "Try the link again later")
	e.l.Err = nil
	require.Empty(t, e.l.Records())
	require.Equal(t, 200, confirm(t, e, link, t0).StatusCode, "the link still works once the ledger is back")
}

func TestHandlerConcurrentDoubleClick(t *testing.T) {
	// The other click is appended between this one's check and its append:
	// this one is answered 409, and the first record is the decision.
	e := newHandler(string(key))
	link := approve.Sign(key, base, keepLink())
	other := newHandler(string(key))
	other.l = e.l
	other.h.Ledger = e.l
	u, err := url.Parse(link)
	require.NoError(t, err)
	e.l.BeforeAppend = func() {
		require.Equal(t, 200, other.handle(t, submit(t, link, u.Query(), t0.Add(-time.Second))).StatusCode)
	}
	resp := e.handle(t, submit(t, link, u.Query(), t0))
	require.Equal(t, 409, resp.StatusCode, resp.Body)
	require.Len(t, decisions(t, e.l), 2, "both were appended; readers keep the first per nonce")
}

// TestHandlerGetRecordsNothing: opening a valid link (as a chat client's link
// preview does) answers the confirmation page, whose form carries the signed
// parameters unchanged, and writes nothing however often it is opened.
func TestHandlerGetRecordsNothing(t *testing.T) {
	e := newHandler(string(key))
	link := approve.Sign(key, base, keepLink())
	for range 3 {
		resp := e.handle(t, click(t, link, t0))
		require.Equal(t, 200, resp.StatusCode, resp.Body)
		require.Equal(t, "no-store", resp.Headers["Cache-Control"])
		require.Equal(t, "no-referrer", resp.Headers["Referrer-Policy"])
		require.Contains(t, resp.Body, "Nothing is recorded yet")
		require.Contains(t, resp.Body, "rule sgr-bp1ssh of group sg-bp1web")
		require.Contains(t, resp.Body, "stays open for 30 days (until about 2026-05-31 10:00 UTC)")
		require.Contains(t, resp.Body, "valid until 2026-05-08 10:00 UTC")
		form, ok := approvetest.Form(resp.Body)
		require.True(t, ok)
		u, err := url.Parse(link)
		require.NoError(t, err)
		require.Equal(t, u.Query(), form, "the form posts the link's parameters, signature included")
	}
	require.Empty(t, e.l.Records(), "a GET alone records nothing")
	require.NotContains(t, e.log.String(), string(key))
	require.NotContains(t, e.log.String(), "sig=")
	require.Contains(t, e.log.String(), "awaiting confirmation")
}

// TestHandlerPostQuery: a POST without a form body takes the query's
// parameters, verified the same way.
func TestHandlerPostQuery(t *testing.T) {
	e := newHandler(string(key))
	link := approve.Sign(key, base, keepLink())
	ev := click(t, link, t0)
	ev.RequestContext.HTTP.Method = "POST"
	resp := e.handle(t, ev)
	require.Equal(t, 200, resp.StatusCode, resp.Body)
	require.Contains(t, resp.Body, "Recorded:")
	require.Len(t, decisions(t, e.l), 1)
	require.Equal(t, 409, e.handle(t, ev).StatusCode)
	require.Len(t, decisions(t, e.l), 1)
}

// TestHandlerIgnoresARequestTimeAhead: a request dated past the wall clock
// (beyond clock.Skew) does not move the decision: the link is not treated as
// expired, the decision is dated and bounded at the wall clock, and the log
// says the time was ignored. Within the skew the request's time counts.
func TestHandlerIgnoresARequestTimeAhead(t *testing.T) {
	var buf bytes.Buffer
	l := &ledgertest.Mem{}
	h := &approve.Handler{Key: notify.Secret(key), Ledger: l, Now: func() time.Time { return t0 },
		Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	link := approve.Sign(key, base, keepLink()) // expires at t0 + 7 days
	u, err := url.Parse(link)
	require.NoError(t, err)

	forged := submit(t, link, u.Query(), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	resp := h.Handle(t.Context(), forged)
	require.Equal(t, 200, resp.StatusCode, "a request dated 2099 is not taken for an expired link: %s", resp.Body)
	recs := l.Records()
	require.Len(t, recs, 1)
	require.Equal(t, t0, recs[0].Time, "the decision is dated at the wall clock")
	d, err := recs[0].Decision()
	require.NoError(t, err)
	require.Equal(t, t0.Add(30*24*time.Hour), d.Until, "and kept open 30 days from the wall clock, not from 2099")
	require.Contains(t, buf.String(), "request time ahead of the wall clock ignored")
	require.Contains(t, buf.String(), "2099-01-01")

	other := keepLink()
	other.Nonce = approve.NewNonce()
	link = approve.Sign(key, base, other)
	u, err = url.Parse(link)
	require.NoError(t, err)
	resp = h.Handle(t.Context(), submit(t, link, u.Query(), t0.Add(3*time.Second)))
	require.Equal(t, 200, resp.StatusCode, resp.Body)
	recs = l.Records()
	require.Len(t, recs, 2)
	require.Equal(t, t0.Add(3*time.Second), recs[1].Time, "a request time within the skew counts")
}

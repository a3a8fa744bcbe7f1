package approve_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/approve"
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
		Version: "v1", RawPath: "/", QueryParameters: qp,
		RequestContext: trigger.HTTPRequestContext{
			RequestID: "req-" + strconv.FormatInt(now.UnixNano(), 36),
			HTTP:      trigger.HTTPInfo{Method: "GET", Path: "/"},
			TimeEpoch: strconv.FormatInt(now.UnixMilli(), 10),
		},
	}
}

var errDown = errors.New("ledger down")

type handlerEnv struct {
	h   *approve.Handler
	l   *ledgertest.Mem
	log *bytes.Buffer
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
	// The wall clock lags: the request's time (localcloud's virtual clock)
	// anchors the decision.
	resp := e.h.Handle(t.Context(), click(t, link, t0))
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

	again := e.h.Handle(t.Context(), click(t, link, t0.Add(time.Minute)))
	require.Equal(t, 409, again.StatusCode)
	require.Contains(t, again.Body, r.ID)
	require.Len(t, decisions(t, e.l), 1, "a replay writes nothing")
	require.NotContains(t, e.log.String(), string(key))
}

func TestHandlerActions(t *testing.T) {
	e := newHandler(string(key))
	closeLink := approve.Link{Action: approve.ActionClose, GroupID: "sg-1", RuleID: "sgr-1", Expires: t0.Add(time.Hour), Nonce: approve.NewNonce()}
	restore := approve.Link{Action: approve.ActionRestore, LedgerID: lid, GroupID: "sg-1", Days: 7, Expires: t0.Add(time.Hour), Nonce: approve.NewNonce()}
	require.Equal(t, 200, e.h.Handle(t.Context(), click(t, approve.Sign(key, base, closeLink), t0)).StatusCode)
	require.Equal(t, 200, e.h.Handle(t.Context(), click(t, approve.Sign(key, base, restore), t0.Add(time.Second))).StatusCode)
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
		{"Post", string(key), func(t *testing.T) trigger.HTTPEvent {
			ev := click(t, good, t0)
			ev.RequestContext.HTTP.Method = "POST"
			return ev
		}, 405, "browser"},
		{"NoKey", "", func(t *testing.T) trigger.HTTPEvent { return click(t, good, t0) }, 503, "not enabled"},
		{"ShortKey", "short", func(t *testing.T) trigger.HTTPEvent { return click(t, good, t0) }, 503, "not enabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newHandler(tc.key)
			resp := e.h.Handle(t.Context(), tc.ev(t))
			require.Equal(t, tc.status, resp.StatusCode, resp.Body)
			require.Contains(t, resp.Body, tc.says)
			require.Contains(t, resp.Body, "Nothing was changed.")
			require.Empty(t, e.l.Records(), "nothing written")
			require.NotContains(t, e.log.String(), string(key), "the key is never logged")
			require.NotContains(t, e.log.String(), "sig=", "nor the signature")
		})
	}
	e := newHandler("")
	e.h.Handle(t.Context(), click(t, good, t0))
	require.Contains(t, e.log.String(), "APPROVE_SIGNING_KEY must be set")
	require.Contains(t, e.log.String(), "level=ERROR")
}

func TestHandlerLedgerDown(t *testing.T) {
	e := newHandler(string(key))
	e.l.Err = errDown
	link := approve.Sign(key, base, keepLink())
	resp := e.h.Handle(t.Context(), click(t, link, t0))
	require.Equal(t, 503, resp.StatusCode)
	require.Contains(t, resp.Body, "Try the link again later")
	e.l.Err = nil
	require.Empty(t, e.l.Records())
	require.Equal(t, 200, e.h.Handle(t.Context(), click(t, link, t0)).StatusCode, "the link still works once the ledger is back")
}

func TestHandlerConcurrentDoubleClick(t *testing.T) {
	// The other click is appended between this one's check and its append:
	// this one is answered 409, and the first record is the decision.
	e := newHandler(string(key))
	link := approve.Sign(key, base, keepLink())
	other := newHandler(string(key))
	other.l = e.l
	other.h.Ledger = e.l
	e.l.BeforeAppend = func() {
		require.Equal(t, 200, other.h.Handle(t.Context(), click(t, link, t0.Add(-time.Second))).StatusCode)
	}
	resp := e.h.Handle(t.Context(), click(t, link, t0))
	require.Equal(t, 409, resp.StatusCode, resp.Body)
	require.Len(t, decisions(t, e.l), 2, "both were appended; readers keep the first per nonce")
}

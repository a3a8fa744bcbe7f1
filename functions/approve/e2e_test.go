package main

// End-to-end tests of the approve function: the real binary, run by
// localcloud's FC runtime from testdata/s.yaml (the approve resource of the
// repo's s.yaml, alone), clicked over HTTP through its HTTP trigger. The
// ledger is read back with shared/ledger over the real SLS SDK.

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
	"github.com/porthygiene/porthygiene/shared/approve"
	"github.com/porthygiene/porthygiene/shared/approve/approvetest"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/slsapi"
)

const signingKey = "e2e-signing-key-0123456789abcdef"

type env struct {
	t     *testing.T
	cloud *localcloud.Cloud
	base  string // the approve function's HTTP trigger URL
	led   *ledger.Ledger
}

func start(t *testing.T, key string) *env {
	t.Helper()
	return startWith(t, "testdata/s.yaml", key)
}

// startWith starts localcloud with the s.yaml at config ("": the repo's) and
// only the approve function.
func startWith(t *testing.T, config, key string) *env {
	t.Helper()
	return startOpts(t, localcloud.Options{Config: config}, key)
}

// startOpts starts localcloud with opts and only the approve function, whose
// signing key is key.
func startOpts(t *testing.T, opts localcloud.Options, key string) *env {
	t.Helper()
	// An empty key overrides the one localcloud hands out for the run.
	opts.Env = map[string]string{"APPROVE_SIGNING_KEY": key}
	c := lctest.Start(t, opts, "approve")
	e := &env{t: t, cloud: c}
	ep := c.Endpoints()
	for _, fn := range ep.Functions {
		if fn.Resource == "approve" {
			e.base = fn.HTTPURL
		}
	}
	require.NotEmpty(t, e.base, "approve has an HTTP trigger")
	op := c.Operator()
	dial := &net.Dialer{Timeout: 2 * time.Second}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, nw, _ string) (net.Conn, error) { return dial.DialContext(ctx, nw, c.Addr()) },
	}}
	sls := slsapi.New(slsapi.Config{
		Endpoint: ep.SLSEndpoint,
		Credentials: func() slsapi.Credentials {
			return slsapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}
		},
		HTTPClient:   hc,
		RetryTimeout: 2 * time.Second,
	})
	e.led = ledger.New(sls, ep.Ledger.Project, ep.Ledger.Logstore)
	return e
}

// get opens link and returns the status and page.
func (e *env) get(link string) (int, string) {
	e.t.Helper()
	status, page, err := approvetest.Get(e.t.Context(), nil, link)
	require.NoError(e.t, err)
	return status, page
}

// post submits form to link, as the confirmation page's form does.
func (e *env) post(link string, form url.Values) (int, string) {
	e.t.Helper()
	status, page, err := approvetest.Post(e.t.Context(), nil, link, form)
	require.NoError(e.t, err)
	return status, page
}

// click opens link, asserts that the GET answered a confirmation page and
// recorded nothing, then confirms; it returns the POST's status and page.
func (e *env) click(link string) (int, string) {
	e.t.Helper()
	before := len(e.decisions())
	status, page, err := approvetest.Click(e.t.Context(), nil, link, func(_ int, page string) {
		require.Contains(e.t, page, "Nothing is recorded yet")
		require.Len(e.t, e.decisions(), before, "a GET records nothing")
	})
	require.NoError(e.t, err)
	return status, page
}

// query is link's parameters.
func query(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query()
}

// decisions are the decision records written, read by cursor (at once).
func (e *env) decisions() []ledger.Record {
	e.t.Helper()
	recs, err := ledgertest.Written(e.t.Context(), e.led, ledger.Filter{Kinds: []ledger.Kind{ledger.KindDecision}})
	require.NoError(e.t, err)
	return recs
}

// searched are the decision records a search finds, as the approve function
// looks them up: seconds after they were written (SLS's index delay).
func (e *env) searched() []ledger.Record {
	e.t.Helper()
	recs, err := e.led.Query(e.t.Context(), ledger.Filter{Kinds: []ledger.Kind{ledger.KindDecision}})
	require.NoError(e.t, err)
	return recs
}

func (e *env) link(key string, l approve.Link) string {
	if l.Expires.IsZero() {
		l.Expires = e.cloud.Clock.Now().Add(approve.DefaultTTL)
	}
	return approve.Sign([]byte(key), e.base, l)
}

func TestApproveLinkWorksOnce(t *testing.T) {
	e := start(t, signingKey)
	revocation := ledger.NewID(e.cloud.Clock.Now().Add(-time.Hour))
	keep := approve.Link{Action: approve.ActionKeep, LedgerID: revocation, GroupID: "sg-web", RuleID: "sgr-ssh", Region: e.cloud.Region(), Nonce: approve.NewNonce()}
	link := e.link(signingKey, keep)

	// Opening the link (as a chat client's preview does) records nothing.
	for range 2 {
		status, page := e.get(link)
		require.Equal(t, http.StatusOK, status, page)
		require.Contains(t, page, "On confirmation, this records: rule sgr-ssh of group sg-web")
		form, ok := approvetest.Form(page)
		require.True(t, ok, page)
		require.Equal(t, query(t, link), form)
	}
	require.Empty(t, e.decisions(), "a GET alone records nothing")

	status, page := e.click(link)
	require.Equal(t, http.StatusOK, status, page)
	require.Contains(t, page, "Recorded: rule sgr-ssh of group sg-web")
	recs := e.decisions()
	require.Len(t, recs, 1)
	r := recs[0]
	require.Equal(t, approve.NonceKey(keep.Nonce), r.EventID)
	require.Equal(t, "sg-web", r.GroupID)
	require.Equal(t, "sgr-ssh", r.RuleID)
	d, err := r.Decision()
	require.NoError(t, err)
	require.Equal(t, "exempt", d.Action)
	require.Equal(t, revocation, d.Target)
	require.Equal(t, approve.By, d.By)
	require.WithinDuration(t, e.cloud.Clock.Now().Add(30*24*time.Hour), d.Until, time.Minute, "until is anchored on the emulated clock")
	require.Contains(t, page, r.ID)

	// The replay comes once the decision is searchable (a replay inside
	// SLS's index delay writes the same keyed record:
	// TestApproveLinkPostedTwiceInsideTheIndexDelay).
	require.Eventually(t, func() bool { return len(e.searched()) == 1 }, 15*time.Second, 100*time.Millisecond)
	status, page = e.post(link, query(t, link))
	require.Equal(t, http.StatusConflict, status, page)
	require.Contains(t, page, "already used")
	require.Len(t, e.decisions(), 1, "a replay writes nothing")
	status, page = e.get(link)
	require.Equal(t, http.StatusConflict, status, page)
	require.Contains(t, page, "already used")
	require.Len(t, e.decisions(), 1)
}

func TestApproveRefusesForgedExpiredTampered(t *testing.T) {
	e := start(t, signingKey)
	l := approve.Link{Action: approve.ActionClose, GroupID: "sg-web", RuleID: "sgr-ssh", Nonce: approve.NewNonce()}
	// refused: both the GET and a POST of link's parameters are refused.
	refused := func(link string) (int, string) {
		t.Helper()
		status, page := e.get(link)
		_, hasForm := approvetest.Form(page)
		require.False(t, hasForm, "nothing to confirm: %s", page)
		pstatus, ppage := e.post(link, query(t, link))
		require.Equal(t, status, pstatus, ppage)
		return status, page
	}

	status, page := refused(e.link("attacker-key-0123456789abcdef", l))
	require.Equal(t, http.StatusForbidden, status, page)
	require.Contains(t, page, "forged")

	tampered := strings.Replace(e.link(signingKey, l), "g=sg-web", "g=sg-db", 1)
	status, page = refused(tampered)
	require.Equal(t, http.StatusForbidden, status, page)

	good := e.link(signingKey, l)
	form := query(t, good)
	form.Set("a", "restore")
	status, page = e.post(good, form)
	require.Equal(t, http.StatusForbidden, status, "a tampered form is refused: %s", page)

	expired := l
	expired.Expires = e.cloud.Clock.Now().Add(-time.Minute)
	status, page = refused(e.link(signingKey, expired))
	require.Equal(t, http.StatusGone, status, page)
	require.Contains(t, page, "expired")

	status, page = refused(e.base + "?a=close&g=sg-web")
	require.Equal(t, http.StatusBadRequest, status, page)

	require.Empty(t, e.decisions(), "nothing written")
	logs := e.cloud.Runtime.Logs("porthygiene-approve")
	require.Contains(t, logs, "decision link refused")
	require.NotContains(t, logs, signingKey)
}

func TestApproveWithoutKeyRefusesEverything(t *testing.T) {
	e := start(t, "")
	link := e.link(signingKey, approve.Link{Action: approve.ActionClose, GroupID: "sg-web", RuleID: "sgr-ssh", Nonce: approve.NewNonce()})
	status, page := e.get(link)
	require.Equal(t, http.StatusServiceUnavailable, status, page)
	status, page = e.post(link, query(t, link))
	require.Equal(t, http.StatusServiceUnavailable, status, page)
	require.Empty(t, e.decisions())
	require.Contains(t, e.cloud.Runtime.Logs("porthygiene-approve"), "APPROVE_SIGNING_KEY must be set")
}

func TestRepoSYAMLDeclaresApprove(t *testing.T) {
	// The repo's s.yaml, approve alone: its HTTP trigger serves the links.
	e := startWith(t, "", signingKey)
	status, page := e.click(e.link(signingKey, approve.Link{Action: approve.ActionClose, GroupID: "sg-web", RuleID: "sgr-ssh", Nonce: approve.NewNonce()}))
	require.Equal(t, http.StatusOK, status, page)
	require.Len(t, e.decisions(), 1)

	// The trigger allows GET and POST only; localcloud honours that.
	link := e.link(signingKey, approve.Link{Action: approve.ActionClose, GroupID: "sg-web", RuleID: "sgr-ssh", Nonce: approve.NewNonce()})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, link, strings.NewReader(query(t, link).Encode()))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Len(t, e.decisions(), 1, "a PUT records nothing")
	require.Equal(t, e.cloud.URL()+"/http/approve", e.base, "APPROVE_URL, as localcloud sets it, is the trigger")
}

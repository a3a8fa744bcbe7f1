package ledgertest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/sls"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/slsapi"
)

// The project and logstore OnLocalcloud's ledger is in.
const (
	Project  = "porthygiene-ledgertest"
	Logstore = "ledger"
)

// Localcloud is a ledger on localcloud's SLS emulator.
type Localcloud struct {
	Ledger *ledger.Ledger
	SLS    *slsapi.Client // the client under Ledger
	Server *sls.Server    // the emulator, e.g. to write around the ledger
	Stats  *stats.Stats   // the emulator's call counts
}

// OnLocalcloud starts localcloud's SLS emulator on a loopback server, closed
// when the test ends, and returns a ledger set up on it (Project, Logstore),
// written through the real SDK with STS credentials of the functions' role.
func OnLocalcloud(t testing.TB) Localcloud {
	t.Helper()
	return OnLocalcloudWith(t, Options{})
}

// Options of OnLocalcloudWith. The zero value is OnLocalcloud's emulator.
type Options struct {
	// Clock is the emulator's clock (receive times, cursors by time, STS
	// expiry); nil: the wall clock. A test whose writers stamp records at
	// a time it moves gives the emulator the same clock, as localcloud
	// does with its virtual clock.
	Clock interface{ Now() time.Time }
	// IndexDelay is the emulator's sls.Config.IndexDelay (real SLS: about
	// 3 s); 0: searchable at once.
	IndexDelay time.Duration
}

// OnLocalcloudWith is OnLocalcloud with an emulator configured by o.
func OnLocalcloudWith(t testing.TB, o Options) Localcloud {
	t.Helper()
	store := auth.NewStore()
	st := &stats.Stats{}
	srv := sls.New(sls.Config{Auth: store, Stats: st, Clock: o.Clock, IndexDelay: o.IndexDelay})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	d := &net.Dialer{Timeout: 2 * time.Second}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, ts.Listener.Addr().String())
		},
	}}
	issued := time.Now()
	if o.Clock != nil {
		issued = o.Clock.Now()
	}
	cred := store.IssueSTS("porthygiene-fc-role", "guard", issued, time.Hour)
	c := slsapi.New(slsapi.Config{
		Endpoint: "http://cn-hangzhou-intranet.log.aliyuncs.com",
		Credentials: func() slsapi.Credentials {
			return slsapi.Credentials{AccessKeyID: cred.AccessKeyID, AccessKeySecret: cred.AccessKeySecret, SecurityToken: cred.SecurityToken}
		},
		HTTPClient:   hc,
		RetryTimeout: time.Second,
	})
	require.NoError(t, c.EnsureProject(t.Context(), Project, "ledgertest"))
	l := ledger.New(c, Project, Logstore)
	require.NoError(t, l.Setup(t.Context(), 30, 2))
	return Localcloud{Ledger: l, SLS: c, Server: srv, Stats: st}
}

// Written returns the records f selects among everything l's logstore holds,
// read by cursor (ledger.Ledger.Tail; f.Since defaults to the epoch). SLS's
// search index lags writes by seconds (localcloud's SLSIndexDelay, 3 s by
// default) and PullLogs does not, so a test checks what the functions wrote
// right after they wrote it, without waiting out the delay. The product's
// own reads still search, and see the delay.
func Written(ctx context.Context, l *ledger.Ledger, f ledger.Filter) ([]ledger.Record, error) {
	if f.Since.IsZero() {
		f.Since = time.Unix(0, 0)
	}
	recs, _, err := l.Tail(ctx, f, nil)
	return recs, err
}

// Searchable waits (up to 15 s of wall time) until every record of recs is
// found by l's search (ledger.Ledger.Get, a GetLogs): SLS indexes a write
// seconds after it (localcloud's SLSIndexDelay), so a test that writes a
// fixture and then runs what searches the ledger waits as an operator would.
func Searchable(t testing.TB, l *ledger.Ledger, recs ...ledger.Record) {
	t.Helper()
	for _, r := range recs {
		require.Eventually(t, func() bool {
			_, err := l.Get(t.Context(), r.ID)
			return err == nil
		}, 15*time.Second, 100*time.Millisecond, "record %s %s is never searchable", r.Kind, r.ID)
	}
}

// Of is the ledger of a running localcloud (its endpoints' ledger
// logstore), read and written over the real SLS SDK as its operator: what
// the end-to-end tests check the functions' records with.
func Of(c *localcloud.Cloud) *ledger.Ledger {
	op := c.Operator()
	dial := &net.Dialer{Timeout: 2 * time.Second}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, nw, _ string) (net.Conn, error) { return dial.DialContext(ctx, nw, c.Addr()) },
	}}
	s := slsapi.New(slsapi.Config{
		Endpoint: "http://" + c.Region() + ".log.aliyuncs.com",
		Credentials: func() slsapi.Credentials {
			return slsapi.Credentials{AccessKeyID: op.AccessKeyID, AccessKeySecret: op.AccessKeySecret}
		},
		HTTPClient:   hc,
		RetryTimeout: 2 * time.Second,
	})
	ep := c.Endpoints()
	return ledger.New(s, ep.Ledger.Project, ep.Ledger.Logstore)
}

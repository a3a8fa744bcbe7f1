package localcloud_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/localcloud/lctest"
)

func TestCheckListenAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8600", true},
		{"127.0.0.2:0", true},
		{"[::1]:8600", true},
		{"[::ffff:127.0.0.1]:0", true},
		{"localhost:8600", true},
		{"0.0.0.0:8600", false},
		{":8600", false},
		{"[::]:8600", false},
		{"192.168.1.5:8600", false},
		{"10.0.0.1:0", false},
		{"203.0.113.9:8600", false},
		{"[fe80::1%eth0]:0", false},
		{"devbox.example:8600", false},
	} {
		err := localcloud.CheckListenAddr(tc.addr)
		if tc.ok {
			require.NoError(t, err, tc.addr)
			continue
		}
		require.ErrorIs(t, err, localcloud.ErrNotLoopback, tc.addr)
		require.ErrorContains(t, err, tc.addr)
	}
	err := localcloud.CheckListenAddr("8600")
	require.Error(t, err, "no port: malformed")
	require.False(t, errors.Is(err, localcloud.ErrNotLoopback), "malformed is not the loopback refusal: %v", err)
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		c, err := localcloud.Start(localcloud.Options{Addr: addr})
		require.ErrorIs(t, err, localcloud.ErrNotLoopback, addr)
		require.Nil(t, c)
	}
}

// TestControlSecretsLoopbackOnly serves crafted requests (httptest sets
// RemoteAddr) to the control API: routes that answer secrets are refused with
// 403 to a client that is not on loopback, and the answer holds no secret.
func TestControlSecretsLoopbackOnly(t *testing.T) {
	c := lctest.Start(t, localcloud.Options{})
	ep := c.Endpoints()
	require.NotEmpty(t, ep.AccessKeySecret)
	require.NotEmpty(t, ep.Robots)
	secrets := []string{ep.AccessKeySecret, ep.Robots[0].Secret, "access_token="}

	serve := func(method, path, remote string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "http://"+c.Addr()+"/_localcloud/"+path, nil)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		return rec
	}
	remotes := []string{"192.0.2.1:1234", "10.0.0.7:5555", "[2001:db8::1]:443", "[fe80::1%eth0]:80", "", "garbage"}
	for _, route := range []struct{ method, path string }{
		{"GET", "endpoints"}, {"GET", "dingtalk/messages"}, {"GET", "invocations"}, {"GET", "logs"}, {"GET", "not-yet-written"},
	} {
		for _, remote := range remotes {
			rec := serve(route.method, route.path, remote)
			require.Equal(t, http.StatusForbidden, rec.Code, "%s %s from %q", route.method, route.path, remote)
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var body struct{ Error string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Contains(t, body.Error, "loopback clients only")
			for _, s := range secrets {
				require.NotContains(t, rec.Body.String(), s)
			}
		}
	}

	// From loopback the endpoints are served, secrets included (so the
	// assertions above could fail).
	for _, remote := range []string{"127.0.0.1:40000", "[::1]:40000", "[::ffff:127.0.0.1]:40000"} {
		rec := serve("GET", "endpoints", remote)
		require.Equal(t, http.StatusOK, rec.Code, remote)
		require.Contains(t, rec.Body.String(), ep.AccessKeySecret)
		require.Contains(t, rec.Body.String(), ep.Robots[0].Secret)
	}
	// Secret-free routes stay open to remote clients.
	for _, path := range []string{"health", "clock", "stats", "faults"} {
		require.Equal(t, http.StatusOK, serve("GET", path, "192.0.2.1:1234").Code, path)
	}
	// A forwarding header does not make a remote client loopback.
	req := httptest.NewRequest("GET", "/_localcloud/endpoints", nil)
	req.Header.Set("X-Forwarded-For", "127.0.0.1")
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	require.Equal(t, http.StatusForbidden, rec.Code)

	// Over a real loopback connection.
	resp, err := http.Get(c.URL() + "/_localcloud/endpoints")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(b), ep.AccessKeySecret)
}

// TestListenAnyStillGuardsSecrets: with ListenAny, a client reaching the
// listener on a non-loopback address of this machine gets no secret.
func TestListenAnyStillGuardsSecrets(t *testing.T) {
	ip := nonLoopbackIP(t)
	c := lctest.Start(t, localcloud.Options{Addr: net.JoinHostPort(ip, "0"), ListenAny: true})
	resp, err := http.Get(c.URL() + "/_localcloud/endpoints")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", b)
	require.NotContains(t, string(b), c.Endpoints().AccessKeySecret)
	require.False(t, strings.Contains(string(b), "SEClocal-ops-secret"))
}

// nonLoopbackIP returns an IPv4 address of this machine that is not loopback,
// or skips.
func nonLoopbackIP(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this machine")
	return ""
}

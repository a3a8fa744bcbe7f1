package slsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/shared/slsapi"
)

const (
	testSecret = "s3cr3tS3cr3tS3cr3t"
	testToken  = "CAIStokentokentoken"
)

// dialTo returns an HTTP client that dials addr whatever the URL's host is:
// the SDK prefixes the project to the endpoint host, so an IP cannot be used.
func dialTo(addr string) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func fakeClient(t *testing.T, h http.HandlerFunc) *slsapi.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return slsapi.New(slsapi.Config{
		Endpoint: "http://cn-hangzhou.log.aliyuncs.com",
		Credentials: func() slsapi.Credentials {
			return slsapi.Credentials{AccessKeyID: "STS.ak", AccessKeySecret: testSecret, SecurityToken: testToken}
		},
		HTTPClient:   dialTo(srv.Listener.Addr().String()),
		RetryTimeout: 1500 * time.Millisecond,
	})
}

func slsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("x-log-requestid", "REQ-1")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"errorCode": code, "errorMessage": msg})
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		code     string
		want     error
		attempts func(int32) bool
	}{
		{"LogstoreMissing", 404, "LogStoreNotExist", slsapi.ErrNotFound, func(n int32) bool { return n == 1 }},
		{"ProjectMissing", 404, "ProjectNotExist", slsapi.ErrNotFound, nil},
		{"Signature", 401, "SignatureNotMatch", slsapi.ErrUnauthorized, func(n int32) bool { return n == 1 }},
		{"WriteQuota", 403, "WriteQuotaExceed", slsapi.ErrThrottled, func(n int32) bool { return n == 1 }},
		{"Forbidden", 403, "ProjectForbidden", slsapi.ErrUnauthorized, nil},
		{"BadParam", 400, "ParameterInvalid", slsapi.ErrInvalid, nil},
		{"Exists", 400, "LogStoreAlreadyExist", slsapi.ErrAlreadyExists, nil},
		{"Server", 500, "InternalServerError", slsapi.ErrServer, func(n int32) bool { return n > 1 }}, // the SDK retried within the budget
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var n atomic.Int32
			cl := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				slsError(w, c.status, c.code, "echo "+testSecret+" and "+testToken)
			})
			start := time.Now()
			err := cl.PutLogs(t.Context(), "proj", "ls", "", []slsapi.Log{{Time: time.Unix(1767582764, 0), Contents: map[string]string{"k": "v"}}})
			require.ErrorIs(t, err, c.want)
			require.Less(t, time.Since(start), 5*time.Second)
			var se *slsapi.Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, "PutLogs", se.Op)
			require.Equal(t, "proj", se.Project)
			require.Equal(t, "ls", se.Logstore)
			require.Equal(t, c.status, se.Status)
			require.NotContains(t, err.Error(), testSecret)
			require.NotContains(t, err.Error(), testToken)
			if c.code != "InternalServerError" { // 5xx retried to exhaustion carry the status only
				require.Equal(t, c.code, se.Code)
				require.Equal(t, "REQ-1", se.RequestID)
			}
			if c.attempts != nil {
				require.True(t, c.attempts(n.Load()), "attempts: %d", n.Load())
			}
		})
	}
}

func TestNonJSONError(t *testing.T) {
	cl := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		fmt.Fprint(w, "<html>not here</html>")
	})
	_, err := cl.Cursor(t.Context(), "proj", "ls", 0, slsapi.CursorBegin)
	require.ErrorIs(t, err, slsapi.ErrNotFound)
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cl := slsapi.New(slsapi.Config{
		Endpoint:     "http://cn-hangzhou.log.aliyuncs.com",
		Credentials:  func() slsapi.Credentials { return slsapi.Credentials{AccessKeyID: "ak", AccessKeySecret: testSecret} },
		HTTPClient:   dialTo(addr),
		RetryTimeout: 300 * time.Millisecond,
	})
	_, err = cl.Shards(t.Context(), "proj", "ls")
	require.ErrorIs(t, err, slsapi.ErrServer)
	require.NotContains(t, err.Error(), testSecret)
}

func TestContextBoundsRetries(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		slsError(w, 503, "ServerBusy", "busy")
	}))
	t.Cleanup(srv.Close)
	cl := slsapi.New(slsapi.Config{
		Endpoint:    "http://cn-hangzhou.log.aliyuncs.com",
		Credentials: func() slsapi.Credentials { return slsapi.Credentials{AccessKeyID: "ak", AccessKeySecret: testSecret} },
		HTTPClient:  dialTo(srv.Listener.Addr().String()),
		// RetryTimeout left at its 10 s default: the deadline must win.
	})
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := cl.Query(ctx, "proj", "ls", time.Unix(0, 0), time.Unix(100, 0), "*")
	require.Error(t, err)
	require.Less(t, time.Since(start), 3*time.Second)
	require.True(t, errors.Is(err, context.DeadlineExceeded) || errors.Is(err, slsapi.ErrServer), "err: %v", err)

	// A cancelled context returns at once, without a request.
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	before := n.Load()
	err = cl.PutLogs(ctx, "proj", "ls", "", []slsapi.Log{{Time: time.Now(), Contents: map[string]string{"a": "b"}}})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, before, n.Load())
}

func TestConfigErrors(t *testing.T) {
	ctx := t.Context()
	logs := []slsapi.Log{{Time: time.Now(), Contents: map[string]string{"a": "b"}}}
	err := slsapi.New(slsapi.Config{Endpoint: "http://x.log.aliyuncs.com"}).PutLogs(ctx, "p", "l", "", logs)
	require.ErrorIs(t, err, slsapi.ErrUnauthorized)
	err = slsapi.New(slsapi.Config{Credentials: func() slsapi.Credentials { return slsapi.Credentials{AccessKeyID: "a", AccessKeySecret: "b"} }}).PutLogs(ctx, "p", "l", "", logs)
	require.ErrorIs(t, err, slsapi.ErrInvalid)
	cl := fakeClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no request expected") })
	require.NoError(t, cl.PutLogs(ctx, "p", "l", "", nil))
	require.ErrorIs(t, cl.PutLogs(ctx, "p", "l", "", []slsapi.Log{{Contents: map[string]string{"a": "b"}}}), slsapi.ErrInvalid)
	require.ErrorIs(t, cl.PutLogs(ctx, "p", "l", "", []slsapi.Log{{Time: time.Now(), Contents: map[string]string{"": "b"}}}), slsapi.ErrInvalid)
	_, err = cl.QueryPage(ctx, "p", "l", time.Unix(10, 0), time.Unix(5, 0), "*", slsapi.Page{})
	require.ErrorIs(t, err, slsapi.ErrInvalid)
}

func TestCredentialsRedact(t *testing.T) {
	c := slsapi.Credentials{AccessKeyID: "STS.visible", AccessKeySecret: testSecret, SecurityToken: testToken}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("creds", "c", c)
	j, err := json.Marshal(c)
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), string(j), logged.String()} {
		require.NotContains(t, s, testSecret)
		require.NotContains(t, s, testToken)
		require.Contains(t, s, "STS.visible")
	}
}

// TestProxyFromEnvironment runs in a child process, because Go reads
// HTTP_PROXY once per process: with no HTTPClient the client must reach SLS
// through the proxy the environment names.
func TestProxyFromEnvironment(t *testing.T) {
	if os.Getenv("SLSAPI_PROXY_CHILD") == "1" {
		cl := slsapi.New(slsapi.Config{
			Endpoint:     "http://cn-hangzhou.log.aliyuncs.com",
			Credentials:  func() slsapi.Credentials { return slsapi.Credentials{AccessKeyID: "ak", AccessKeySecret: testSecret} },
			RetryTimeout: time.Second,
		})
		cur, err := cl.Cursor(t.Context(), "proj", "ls", 0, slsapi.CursorEnd)
		require.NoError(t, err)
		require.Equal(t, "MTA=", cur)
		return
	}
	var host atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host.Store(r.Host + " " + r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"cursor":"MTA="}`)
	}))
	t.Cleanup(proxy.Close)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestProxyFromEnvironment$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SLSAPI_PROXY_CHILD=1", "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Equal(t, "proj.cn-hangzhou.log.aliyuncs.com /logstores/ls/shards/0", host.Load())
}

func TestQueryReissuesIncomplete(t *testing.T) {
	var n atomic.Int32
	cl := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		progress := "Incomplete"
		if n.Add(1) >= 3 {
			progress = "Complete"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"meta":{"progress":%q,"count":1},"data":[{"k":"v"}]}`, progress)
	})
	rows, err := cl.QueryPage(t.Context(), "p", "l", time.Unix(0, 0), time.Unix(10, 0), "* | select 1", slsapi.Page{})
	require.NoError(t, err)
	require.Equal(t, []map[string]string{{"k": "v"}}, rows)
	require.Equal(t, int32(3), n.Load())

	always := fakeClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"meta":{"progress":"Incomplete"},"data":[]}`)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = always.QueryPage(ctx, "p", "l", time.Unix(0, 0), time.Unix(10, 0), "*", slsapi.Page{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestContextCredentials(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Authorization") + " " + r.Header.Get("x-acs-security-token"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"cursor":"MA=="}`)
	}))
	t.Cleanup(srv.Close)
	cl := slsapi.New(slsapi.Config{Endpoint: "http://cn-hangzhou.log.aliyuncs.com", HTTPClient: dialTo(srv.Listener.Addr().String())})
	_, err := cl.Cursor(t.Context(), "p", "l", 0, slsapi.CursorBegin)
	require.ErrorIs(t, err, slsapi.ErrUnauthorized, "no credentials anywhere")

	ctx := slsapi.ContextWithCredentials(t.Context(), slsapi.Credentials{AccessKeyID: "STS.invocation", AccessKeySecret: testSecret, SecurityToken: testToken})
	_, err = cl.Cursor(ctx, "p", "l", 0, slsapi.CursorBegin)
	require.NoError(t, err)
	require.Contains(t, got.Load(), "LOG STS.invocation:")
	require.Contains(t, got.Load(), testToken)
}

package ecsapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Test credentials; the token has characters that URL encoding changes.
var testCreds = Credentials{
	AccessKeyID:     "LTAItestkey",
	AccessKeySecret: "s3cr3t-SECRET-value",
	SecurityToken:   "CAIS+tok/en==TOKEN-value",
}

// stub is a scripted ECS endpoint for unit tests: it records every request's
// parameters and answers with respond(n, params), n counting from 1. It checks
// nothing about signatures (the localcloud integration tests do).
type stub struct {
	mu      sync.Mutex
	calls   []url.Values
	respond func(n int, p url.Values) (status int, body any)
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, r.Form)
	n := len(s.calls)
	s.mu.Unlock()
	status, body := s.respond(n, r.Form)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	switch b := body.(type) {
	case string:
		fmt.Fprint(w, b)
	default:
		_ = json.NewEncoder(w).Encode(b)
	}
}

func (s *stub) requests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.calls...)
}

func apiErrorBody(code, msg string) map[string]string {
	return map[string]string{"RequestId": "REQ-" + code, "HostId": "ecs.aliyuncs.com", "Code": code, "Message": msg}
}

// newStubClient starts the stub and returns a client for it with fast
// backoff; mutate adjusts the config.
func newStubClient(t *testing.T, respond func(n int, p url.Values) (int, any), mutate ...func(*Config)) (*stub, *Client) {
	t.Helper()
	s := &stub{respond: respond}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := Config{
		Region:      "cn-hangzhou",
		Endpoint:    srv.URL,
		Credentials: testCreds,
		CallTimeout: 2 * time.Second,
		MinBackoff:  time.Millisecond,
		MaxBackoff:  5 * time.Millisecond,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	return s, c
}

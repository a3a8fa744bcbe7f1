package slsapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	sdk "github.com/aliyun/aliyun-log-go-sdk"

	"github.com/porthygiene/porthygiene/shared/credentials"
)

// DefaultRetryTimeout bounds the SDK's internal retries when
// Config.RetryTimeout is zero (the SDK's own default is 90 s).
const DefaultRetryTimeout = 10 * time.Second

// defaultRequestTimeout bounds one HTTP exchange when the client has no Timeout.
const defaultRequestTimeout = 30 * time.Second

// Credentials are an AccessKey pair, with an STS token for assumed roles.
// No method of it reveals the secret or the token (see package credentials).
type Credentials = credentials.Credentials

// Config configures a Client.
type Config struct {
	// Endpoint is the region endpoint, with or without scheme, e.g.
	// "https://cn-hangzhou-intranet.log.aliyuncs.com" (no scheme means http).
	Endpoint string
	// Credentials is called for every call that carries no credentials in
	// its context (see ContextWithCredentials).
	Credentials func() Credentials
	// HTTPClient is optional (tests); its Transport and Timeout are used.
	// Default: Go's default transport (honours HTTP_PROXY) and a 30 s timeout.
	HTTPClient *http.Client
	// RetryTimeout bounds the SDK's internal retries per call; zero means
	// DefaultRetryTimeout. The context deadline lowers it further.
	RetryTimeout time.Duration
}

// Client talks to one SLS endpoint. It is safe for concurrent use and cheap
// to keep across invocations: it holds no credentials.
type Client struct {
	endpoint  string
	creds     func() Credentials
	transport http.RoundTripper
	timeout   time.Duration
	jar       http.CookieJar
	redirect  func(*http.Request, []*http.Request) error
	retry     time.Duration

	// shards is the shard lists Tail reuses (ShardsTTL); another
	// endpoint's copy (WithEndpoint) starts without.
	shards *shardCache
}

type shardCache struct {
	mu    sync.Mutex
	lists map[string]shardList // project + "/" + logstore
}

// shardList is a logstore's shard ids as ListShards last answered.
type shardList struct {
	ids []int
	at  time.Time
}

// New returns a client; configuration errors surface on the first call.
func New(cfg Config) *Client {
	c := &Client{endpoint: cfg.Endpoint, creds: cfg.Credentials, retry: cfg.RetryTimeout, timeout: defaultRequestTimeout, shards: &shardCache{}}
	if c.retry <= 0 {
		c.retry = DefaultRetryTimeout
	}
	if hc := cfg.HTTPClient; hc != nil {
		c.transport, c.jar, c.redirect = hc.Transport, hc.Jar, hc.CheckRedirect
		if hc.Timeout > 0 {
			c.timeout = hc.Timeout
		}
	}
	if c.transport == nil {
		c.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return c
}

// WithEndpoint returns a copy of c for another endpoint (e.g. the one an SLS
// trigger event names), sharing the transport.
func (c *Client) WithEndpoint(endpoint string) *Client {
	cc := *c
	cc.endpoint = endpoint
	cc.shards = &shardCache{}
	return &cc
}

// Endpoint returns the configured endpoint.
func (c *Client) Endpoint() string { return c.endpoint }

type credsKey struct{}

// ContextWithCredentials returns a context whose calls use c instead of
// Config.Credentials: an FC handler puts the invocation's STS credentials
// (fccontext.FromContext(ctx).Credentials) there, so one long-lived Client
// serves every invocation.
func ContextWithCredentials(ctx context.Context, c Credentials) context.Context {
	return context.WithValue(ctx, credsKey{}, c)
}

// call is one logical SDK operation.
type call struct {
	op, project, logstore string
}

// do runs fn with an SDK client bound to ctx and maps its error.
func (c *Client) do(ctx context.Context, cl call, fn func(sdk.ClientInterface) error) error {
	if err := ctx.Err(); err != nil {
		return cl.wrapCtx(err)
	}
	if c.endpoint == "" {
		return &Error{Op: cl.op, Project: cl.project, Logstore: cl.logstore, Message: "no endpoint configured", Err: ErrInvalid}
	}
	cred, ok := ctx.Value(credsKey{}).(Credentials)
	if !ok {
		if c.creds == nil {
			return &Error{Op: cl.op, Project: cl.project, Logstore: cl.logstore, Message: "no credentials configured", Err: ErrUnauthorized}
		}
		cred = c.creds()
	}
	if cred.AccessKeyID == "" || cred.AccessKeySecret == "" {
		return &Error{Op: cl.op, Project: cl.project, Logstore: cl.logstore, Message: "empty credentials", Err: ErrUnauthorized}
	}
	retry := c.retry
	if dl, ok := ctx.Deadline(); ok {
		retry = min(retry, time.Until(dl))
	}
	if retry <= 0 {
		return cl.wrapCtx(context.DeadlineExceeded)
	}
	tr := &trace{}
	hc := &http.Client{Transport: &ctxTransport{ctx: ctx, base: c.transport, tr: tr}, Timeout: c.timeout, Jar: c.jar, CheckRedirect: c.redirect}
	sc := sdk.CreateNormalInterfaceV2(c.endpoint, sdk.NewStaticCredentialsProvider(cred.AccessKeyID, cred.AccessKeySecret, cred.SecurityToken))
	sc.SetHTTPClient(hc)
	sc.SetRetryTimeout(retry)

	done := make(chan error, 1)
	go func() { done <- fn(sc) }()
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return cl.wrapCtx(ctxErr)
		}
		return mapError(cl, err, tr, cred)
	case <-ctx.Done():
		// The SDK call cannot be interrupted; its requests carry ctx, so it
		// fails fast and its retries end within the retry budget.
		return cl.wrapCtx(ctx.Err())
	}
}

func (cl call) wrapCtx(err error) error {
	return fmt.Errorf("sls %s %s: %w", cl.op, cl.target(), err)
}

func (cl call) target() string {
	switch {
	case cl.logstore != "":
		return cl.project + "/" + cl.logstore
	case cl.project != "":
		return cl.project
	}
	return "-"
}

// trace remembers the last HTTP outcome of a call, to classify the SDK's
// "retries exhausted" errors, which carry no status.
type trace struct {
	mu     sync.Mutex
	status int
	err    error
}

func (t *trace) last() (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status, t.err
}

// ctxTransport attaches the call's context to every request of the SDK
// (which builds requests without one) and records outcomes in tr.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
	tr   *trace
}

func (t *ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r.WithContext(t.ctx))
	t.tr.mu.Lock()
	if err != nil {
		t.tr.status, t.tr.err = 0, err
	} else {
		t.tr.status, t.tr.err = resp.StatusCode, nil
	}
	t.tr.mu.Unlock()
	return resp, err
}

var _ http.RoundTripper = (*ctxTransport)(nil)

// errNoProgress guards loops against a server that does not advance.
var errNoProgress = errors.New("cursor did not advance")

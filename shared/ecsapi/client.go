package ecsapi

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	sdkcredentials "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	smithyrand "github.com/aws/smithy-go/rand"
	"golang.org/x/time/rate"

	"github.com/porthygiene/porthygiene/shared/apicall"
	"github.com/porthygiene/porthygiene/shared/credentials"
	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/restore"
)

// Defaults for the zero fields of Config.
const (
	DefaultCallTimeout = apicall.DefaultCallTimeout
	DefaultMinBackoff  = apicall.DefaultMinBackoff
	DefaultMaxBackoff  = apicall.DefaultMaxBackoff
	// DefaultMaxAttemptsNoDeadline caps the attempts of one call whose
	// context has no deadline (with a deadline, the deadline is the bound).
	DefaultMaxAttemptsNoDeadline = apicall.DefaultMaxAttemptsNoDeadline

	connectTimeout = 5 * time.Second
)

// Credentials is an AccessKey pair, with the STS SecurityToken for an assumed
// role (as Function Compute hands to each invocation). No method of it
// reveals the secret or the token (see package credentials).
type Credentials = credentials.Credentials

// Config configures a Client. Zero values mean the defaults.
type Config struct {
	Region string // required, e.g. "cn-hangzhou"
	// Endpoint overrides the ECS endpoint: "scheme://host[:port]", e.g.
	// "http://127.0.0.1:8600" (localcloud) or "https://ecs.cn-hangzhou.aliyuncs.com".
	// A bare host means https. Default: the SDK's endpoint for the region if it
	// has one, else ecs.<region>.aliyuncs.com, over https.
	Endpoint    string
	Credentials Credentials
	// CallTimeout is the read timeout of each HTTP request (DefaultCallTimeout).
	// It is set on every request: the SDK otherwise keeps the first call's
	// timeout for the client's later calls, and its per-API defaults go up
	// to 133 s. The context deadline also bounds every request.
	CallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff with jitter
	// between retries (DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts caps the attempts of one call. 0: unlimited while the
	// context deadline allows, DefaultMaxAttemptsNoDeadline without a deadline.
	MaxAttempts int
	// PageSize, if positive, replaces each paged API's maximum page size,
	// kept within the API's range. For tests that exercise paging.
	PageSize int
	// QPS, if positive, paces this Client (and every Client derived from it
	// with WithCredentials) to at most QPS requests per second, retries and
	// pages included: each attempt first waits for a token. Use one Client
	// per region and set QPS to the share of the region's ECS rate limit this
	// process may use. 0: no client-side limit (only the reactive backoff on
	// throttling).
	QPS float64
	// Burst is how many requests may go at once after an idle spell
	// (default min(QPS, MaxDefaultBurst), at least 1): enough for one event's
	// few calls without waiting, small against the API's per-second window.
	Burst int
	// OnCall, if set, is called after every HTTP attempt (so retries count).
	// Callers use it to count API calls per event; the context is the one
	// passed to the Client method. It must be safe for concurrent use.
	OnCall func(ctx context.Context, c Call)
}

// Call describes one HTTP attempt, for Config.OnCall.
type Call struct {
	Op       string // ECS action
	Attempt  int    // 1 for the first attempt of a logical call
	Duration time.Duration
	Waited   time.Duration // time spent waiting for the client-side rate limit (Config.QPS)
	Err      error         // nil on success; an *APIError or a context error otherwise
}

// Client is the ECS adapter. It is safe for concurrent use; build it once
// and reuse it across warm invocations (see WithCredentials).
type Client struct {
	cfg       Config
	retry     apicall.Retry // from cfg, resolved
	scheme    string        // "http" or "https"
	domain    string        // host[:port]
	transport http.RoundTripper
	redactor  redactor
	limiter   *rate.Limiter // nil without Config.QPS; shared with derived Clients
	pool      sync.Pool     // *conn
}

var regionRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)

// New validates cfg and returns a Client. It makes no API call.
func New(cfg Config) (*Client, error) {
	var errs []error
	if !regionRE.MatchString(cfg.Region) {
		errs = append(errs, fmt.Errorf("region %q: want a region id such as cn-hangzhou", cfg.Region))
	}
	if cfg.Credentials.AccessKeyID == "" {
		errs = append(errs, errors.New("Credentials.AccessKeyID: required"))
	}
	if cfg.Credentials.AccessKeySecret == "" {
		errs = append(errs, errors.New("Credentials.AccessKeySecret: required"))
	}
	retry, retryErrs := apicall.Retry{
		CallTimeout: cfg.CallTimeout, MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff,
		MaxAttempts: cfg.MaxAttempts, MaxAttemptsNoDeadline: DefaultMaxAttemptsNoDeadline,
	}.Resolve()
	errs = append(errs, retryErrs...)
	cfg.CallTimeout, cfg.MinBackoff, cfg.MaxBackoff = retry.CallTimeout, retry.MinBackoff, retry.MaxBackoff
	if cfg.PageSize < 0 {
		errs = append(errs, fmt.Errorf("PageSize %d: must not be negative", cfg.PageSize))
	}
	if cfg.QPS < 0 || math.IsNaN(cfg.QPS) || math.IsInf(cfg.QPS, 0) {
		errs = append(errs, fmt.Errorf("QPS %v: must be a finite number, 0 or more", cfg.QPS))
	}
	if cfg.Burst < 0 {
		errs = append(errs, fmt.Errorf("burst %d: must not be negative", cfg.Burst))
	}
	scheme, domain, err := endpoint(cfg.Endpoint, cfg.Region)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ecsapi: invalid config: %w", errors.Join(err, ErrInvalid))
	}
	c := &Client{
		cfg:       cfg,
		retry:     retry,
		scheme:    scheme,
		domain:    domain,
		transport: newTransport(),
		redactor:  newRedactor(cfg.Credentials),
	}
	if cfg.QPS > 0 {
		c.limiter = newLimiter(cfg.QPS, cfg.Burst)
	}
	return c, nil
}

// WithCredentials returns a Client that signs with creds and otherwise shares
// c's configuration and connections. Function Compute hands out fresh STS
// credentials per invocation: build one Client in main, derive one per
// invocation. The derived Client shares c's rate limit (Config.QPS).
func (c *Client) WithCredentials(creds Credentials) (*Client, error) {
	if creds.AccessKeyID == "" || creds.AccessKeySecret == "" {
		return nil, fmt.Errorf("ecsapi: credentials need an AccessKeyID and an AccessKeySecret: %w", ErrInvalid)
	}
	cfg := c.cfg
	cfg.Credentials = creds
	return &Client{
		cfg:       cfg,
		retry:     c.retry,
		scheme:    c.scheme,
		domain:    c.domain,
		transport: c.transport,
		redactor:  newRedactor(creds),
		limiter:   c.limiter,
	}, nil
}

// Region returns the region the client talks to.
func (c *Client) Region() string { return c.cfg.Region }

// endpoint resolves Config.Endpoint into a scheme and a host[:port].
func endpoint(raw, region string) (scheme, domain string, err error) {
	if raw == "" {
		if regionRE.MatchString(region) {
			if host := sdkEndpoint(region); host != "" {
				return "https", host, nil
			}
		}
		return "https", "ecs." + region + ".aliyuncs.com", nil
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("endpoint %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("endpoint %q: scheme must be http or https", raw)
	case u.Host == "":
		return "", "", fmt.Errorf("endpoint %q: no host", raw)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "":
		return "", "", fmt.Errorf("endpoint %q: want scheme://host[:port] only", raw)
	}
	return u.Scheme, u.Host, nil
}

// The SDK fills ecs.EndpointMap lazily and without a lock; fill it once.
var endpointMapOnce sync.Once

func sdkEndpoint(region string) string {
	endpointMapOnce.Do(func() { ecs.GetEndpointMap() })
	return ecs.EndpointMap[region]
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConnsPerHost = 32
	return t
}

// conn is one SDK client. The SDK client writes its http.Client's timeout on
// every request, so it is not safe for concurrent use: each goroutine takes
// its own conn from the pool. The transport underneath is shared.
type conn struct {
	api *ecs.Client
	rt  *ctxTransport
}

func (c *Client) conn() (*conn, error) {
	if v, ok := c.pool.Get().(*conn); ok {
		return v, nil
	}
	endpointMapOnce.Do(func() { ecs.GetEndpointMap() })
	rt := &ctxTransport{base: c.transport}
	sc := sdk.NewConfig()
	sc.AutoRetry = false // we retry, with backoff, and on throttling too
	sc.Scheme = strings.ToUpper(c.scheme)
	sc.Transport = rt // not an *http.Transport: the SDK leaves it alone
	var cred auth.Credential
	cr := c.cfg.Credentials
	if cr.SecurityToken != "" {
		cred = sdkcredentials.NewStsTokenCredential(cr.AccessKeyID, cr.AccessKeySecret, cr.SecurityToken)
	} else {
		cred = sdkcredentials.NewAccessKeyCredential(cr.AccessKeyID, cr.AccessKeySecret)
	}
	api, err := ecs.NewClientWithOptions(c.cfg.Region, sc, cred)
	if err != nil {
		return nil, fmt.Errorf("ecsapi: create sdk client: %w", c.redactor.cleanError(err, ""))
	}
	api.Domain = c.domain
	return &conn{api: api, rt: rt}, nil
}

// ctxTransport makes the SDK's requests (built without a context) end when
// the context of the current call ends. ctx is set by the goroutine holding
// the conn, which is also the one running RoundTrip.
type ctxTransport struct {
	base http.RoundTripper
	ctx  context.Context
}

func (t *ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := t.ctx
	if ctx == nil || ctx.Done() == nil {
		return t.base.RoundTrip(req)
	}
	// Derive from the request's own context: it carries the read timeout.
	rctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(ctx, cancel)
	resp, err := t.base.RoundTrip(req.WithContext(rctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: func() { stop(); cancel() }}
	return resp, nil
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// prepare sets what every request needs: endpoint, scheme and timeouts.
func (c *Client) prepare(req requests.AcsRequest) {
	req.SetDomain(c.domain)
	req.SetScheme(c.scheme)
	req.SetReadTimeout(c.cfg.CallTimeout)
	req.SetConnectTimeout(connectTimeout)
}

// page returns the page size for an API that takes lo..hi: hi, or
// Config.PageSize kept within the API's range.
func (c *Client) page(lo, hi int) requests.Integer {
	n := hi
	if c.cfg.PageSize > 0 {
		n = min(max(c.cfg.PageSize, lo), hi)
	}
	return requests.NewInteger(n)
}

// clientToken returns a fresh idempotency token for one logical write.
func clientToken() (string, error) {
	return smithyrand.NewUUID(crand.Reader).GetUUID()
}

// call runs one logical API call. send must build a fresh SDK request on
// every invocation (a retry is a new request: new nonce, new timestamp).
// Throttling and server errors are retried with exponential backoff and
// jitter until another backoff plus one more call would overrun the context
// deadline; the error then wraps the last *APIError.
func (c *Client) call(ctx context.Context, op string, send func(api *ecs.Client) error) error {
	var last *APIError
	var slowest time.Duration
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return interrupted(op, err, last)
		}
		var waited time.Duration
		if c.limiter != nil {
			var err error
			if waited, err = waitTurn(ctx, c.limiter); err != nil {
				return interrupted(op, err, last)
			}
		}
		cn, err := c.conn()
		if err != nil {
			return err
		}
		start := time.Now()
		cn.rt.ctx = ctx
		err = send(cn.api)
		cn.rt.ctx = nil
		c.pool.Put(cn)
		took := time.Since(start)

		var apiErr *APIError
		var report error
		switch {
		case err == nil:
		case ctx.Err() != nil:
			report = ctx.Err()
		default:
			apiErr = c.redactor.apiError(op, err)
			apiErr.Attempts = attempt
			report = apiErr
		}
		if c.cfg.OnCall != nil {
			c.cfg.OnCall(ctx, Call{Op: op, Attempt: attempt, Duration: took, Waited: waited, Err: report})
		}
		switch {
		case err == nil:
			return nil
		case apiErr == nil:
			return interrupted(op, ctx.Err(), last)
		case !apiErr.Retryable():
			return apiErr
		}
		last = apiErr
		slowest = max(slowest, took)
		if err := c.retry.Wait(ctx, attempt, slowest, last); err != nil {
			return err
		}
	}
}

// interrupted reports a call ended by its context, keeping the last API
// error (if any) in the chain so callers still see why it was retrying.
func interrupted(op string, ctxErr error, last *APIError) error {
	return apicall.Interrupted(service, op, ctxErr, last)
}

// The client is the ECS API the engine and the restore run on.
var (
	_ engine.Cloud  = (*Client)(nil)
	_ restore.Cloud = (*Client)(nil)
)

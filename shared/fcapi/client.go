package fcapi

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/apicall"
	"github.com/porthygiene/porthygiene/shared/credentials"
	"github.com/porthygiene/porthygiene/shared/engine"
)

// APIVersion is the Function Compute 3.0 API version.
const APIVersion = "2023-03-30"

// Defaults for the zero fields of Config, and limits.
const (
	DefaultCallTimeout = apicall.DefaultCallTimeout
	DefaultMinBackoff  = apicall.DefaultMinBackoff
	DefaultMaxBackoff  = apicall.DefaultMaxBackoff
	// DefaultMaxAttemptsNoDeadline caps the attempts of one call whose
	// context has no deadline (with a deadline, the deadline is the bound).
	DefaultMaxAttemptsNoDeadline = 5
	// MaxAsyncPayload is the largest payload of an asynchronous invocation
	// (128 KB; Function Compute refuses more with EntityTooLarge).
	MaxAsyncPayload = 128 << 10

	opInvoke = "InvokeFunction"
)

// Credentials is an AccessKey pair, with the STS SecurityToken for an assumed
// role (as Function Compute hands to each invocation). No method of it
// reveals the secret or the token (see package credentials).
type Credentials = credentials.Credentials

// Config configures a Client. Zero values mean the defaults.
type Config struct {
	// Region of the functions to invoke, e.g. "cn-hangzhou". Required unless
	// Endpoint is set.
	Region string
	// AccountID owns the functions (the endpoint's first label). Required
	// unless Endpoint is set.
	AccountID string
	// Endpoint overrides the API endpoint: "scheme://host[:port]", e.g.
	// "http://127.0.0.1:8600" (localcloud). A bare host means https. Default:
	// https://<AccountID>.<Region>.fc.aliyuncs.com.
	Endpoint string
	// Credentials sign the requests; usually set per invocation with
	// WithCredentials.
	Credentials Credentials
	// Qualifier is the version or alias to invoke; empty: LATEST.
	Qualifier string
	// CallTimeout bounds each HTTP attempt (DefaultCallTimeout); the context
	// deadline bounds it too.
	CallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff with jitter
	// between retries (DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts caps the attempts of one call. 0: unlimited while the
	// context deadline allows, DefaultMaxAttemptsNoDeadline without one.
	MaxAttempts int
	// Transport, if set, sends the requests (tests); default a clone of
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Now is the clock the requests are signed with; default time.Now.
	Now func() time.Time
}

// Client invokes functions. It is safe for concurrent use; build it once and
// derive one per invocation with WithCredentials.
type Client struct {
	cfg      Config
	retry    apicall.Retry // from cfg, resolved
	base     *url.URL
	hc       *http.Client
	redactor credentials.Redactor
}

var (
	regionRE   = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)
	accountRE  = regexp.MustCompile(`^[0-9]{1,32}$`)
	functionRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,127}$`)
)

// New validates cfg and returns a Client. It makes no API call.
func New(cfg Config) (*Client, error) {
	var errs []error
	if cfg.Endpoint == "" {
		if !regionRE.MatchString(cfg.Region) {
			errs = append(errs, fmt.Errorf("region %q: want a region id such as cn-hangzhou", cfg.Region))
		}
		if !accountRE.MatchString(cfg.AccountID) {
			errs = append(errs, fmt.Errorf("AccountID %q: want the account's numeric id", cfg.AccountID))
		}
	}
	retry, retryErrs := apicall.Retry{
		CallTimeout: cfg.CallTimeout, MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff,
		MaxAttempts: cfg.MaxAttempts, MaxAttemptsNoDeadline: DefaultMaxAttemptsNoDeadline,
	}.Resolve()
	errs = append(errs, retryErrs...)
	cfg.CallTimeout, cfg.MinBackoff, cfg.MaxBackoff = retry.CallTimeout, retry.MinBackoff, retry.MaxBackoff
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base, err := endpoint(cfg)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("fcapi: invalid config: %w", errors.Join(err, ErrInvalid))
	}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		rt = t
	}
	return &Client{
		cfg:      cfg,
		retry:    retry,
		base:     base,
		hc:       &http.Client{Transport: rt, Timeout: cfg.CallTimeout},
		redactor: credentials.NewRedactor(cfg.Credentials),
	}, nil
}

// WithCredentials returns a Client that signs with creds and otherwise shares
// c's configuration and connections.
func (c *Client) WithCredentials(creds Credentials) (*Client, error) {
	if creds.AccessKeyID == "" || creds.AccessKeySecret == "" {
		return nil, fmt.Errorf("fcapi: credentials need an AccessKeyID and an AccessKeySecret: %w", ErrInvalid)
	}
	d := *c
	d.cfg.Credentials = creds
	d.redactor = credentials.NewRedactor(creds)
	return &d, nil
}

// WithQualifier returns a Client that invokes version or alias q ("" or
// "LATEST": the latest code).
func (c *Client) WithQualifier(q string) *Client {
	d := *c
	d.cfg.Qualifier = q
	return &d
}

// Endpoint returns the API endpoint, scheme://host[:port].
func (c *Client) Endpoint() string { return c.base.String() }

func endpoint(cfg Config) (*url.URL, error) {
	raw := cfg.Endpoint
	if raw == "" {
		return &url.URL{Scheme: "https", Host: cfg.AccountID + "." + cfg.Region + ".fc.aliyuncs.com"}, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", cfg.Endpoint, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("endpoint %q: scheme must be http or https", cfg.Endpoint)
	case u.Host == "":
		return nil, fmt.Errorf("endpoint %q: no host", cfg.Endpoint)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "":
		return nil, fmt.Errorf("endpoint %q: want scheme://host[:port] only", cfg.Endpoint)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// InvokeAsync queues an asynchronous invocation of functionName with payload
// as its event and returns the invocation's request id. Function Compute runs
// it later, at least once, with its own retries (the function's async
// configuration). Throttling and server failures are retried until the
// context deadline is near (see the package doc); the error then wraps
// ErrThrottled or ErrServer.
func (c *Client) InvokeAsync(ctx context.Context, functionName string, payload []byte) (requestID string, err error) {
	return c.InvokeAsyncAfter(ctx, functionName, payload, 0)
}

// MaxAsyncDelay is the longest deferral FC accepts (x-fc-async-delay).
const MaxAsyncDelay = time.Hour

// InvokeAsyncAfter is InvokeAsync, run by FC once delay has passed
// (x-fc-async-delay, whole seconds, at most MaxAsyncDelay; 0: at once).
func (c *Client) InvokeAsyncAfter(ctx context.Context, functionName string, payload []byte, delay time.Duration) (requestID string, err error) {
	if delay < 0 || delay > MaxAsyncDelay {
		return "", fmt.Errorf("fc %s: delay %v: want 0 to %v: %w", opInvoke, delay, MaxAsyncDelay, ErrInvalid)
	}
	if !functionRE.MatchString(functionName) {
		return "", fmt.Errorf("fc %s: function name %q: %w", opInvoke, functionName, ErrInvalid)
	}
	if len(payload) > MaxAsyncPayload {
		return "", fmt.Errorf("fc %s: payload of %d bytes, an asynchronous invocation carries at most %d: %w",
			opInvoke, len(payload), MaxAsyncPayload, ErrTooLarge)
	}
	if c.cfg.Credentials.AccessKeyID == "" || c.cfg.Credentials.AccessKeySecret == "" {
		return "", fmt.Errorf("fc %s: no credentials (use WithCredentials): %w", opInvoke, ErrInvalid)
	}
	u := *c.base
	u.Path = "/" + APIVersion + "/functions/" + functionName + "/invocations"
	if q := c.cfg.Qualifier; q != "" {
		u.RawQuery = url.Values{"qualifier": {q}}.Encode()
	}
	var last *APIError
	var slowest time.Duration
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return "", interrupted(err, last)
		}
		start := time.Now()
		id, apiErr := c.send(ctx, &u, payload, delay)
		took := time.Since(start)
		if apiErr == nil {
			return id, nil
		}
		apiErr.Attempts = attempt
		if ctx.Err() != nil {
			return "", interrupted(ctx.Err(), apiErr)
		}
		if !apiErr.Retryable() {
			return "", apiErr
		}
		last = apiErr
		slowest = max(slowest, took)
		if err := c.retry.Wait(ctx, attempt, slowest, last); err != nil {
			return "", err
		}
	}
}

// send makes one signed attempt.
func (c *Client) send(ctx context.Context, u *url.URL, payload []byte, delay time.Duration) (string, *APIError) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(payload))
	if err != nil {
		return "", &APIError{Service: service, Op: opInvoke, Err: fmt.Errorf("%w: %w", ErrInvalid, c.redactor.RedactError(err))}
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(hdrAction, opInvoke)
	req.Header.Set(hdrVersion, APIVersion)
	req.Header.Set("x-fc-invocation-type", "Async")
	if s := int(delay.Round(time.Second) / time.Second); s > 0 {
		req.Header.Set("x-fc-async-delay", strconv.Itoa(s))
	}
	sign(req, payload, c.cfg.Credentials, c.cfg.Now(), nonce())

	resp, err := c.hc.Do(req)
	if err != nil {
		return "", &APIError{Service: service, Op: opInvoke, Err: fmt.Errorf("%w: %w", ErrServer, c.redactor.RedactError(err))}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	id := resp.Header.Get("x-fc-request-id")
	if resp.StatusCode/100 == 2 {
		if id == "" {
			return "", &APIError{Service: service, Op: opInvoke, HTTPStatus: resp.StatusCode, Message: "the answer carries no x-fc-request-id", Err: ErrServer}
		}
		return id, nil
	}
	var e struct {
		Code, Message, RequestID string
	}
	_ = json.Unmarshal(body, &e) // a non-JSON error page leaves the fields empty
	if e.RequestID == "" {
		e.RequestID = id
	}
	return "", &APIError{
		Service: service, Op: opInvoke, Code: c.redactor.Redact(e.Code), Message: apicall.TrimMessage(c.redactor.Redact(e.Message)), RequestID: c.redactor.Redact(e.RequestID),
		HTTPStatus: resp.StatusCode, Err: classify(resp.StatusCode, e.Code),
	}
}

func nonce() string {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("fcapi: crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// interrupted reports a call ended by its context, keeping the last API
// error (if any) in the chain.
func interrupted(ctxErr error, last *APIError) error {
	return apicall.Interrupted(service, opInvoke, ctxErr, last)
}

// The client starts the sweep's fan-out invocations, and the paced
// continuations (delayed).
var (
	_ engine.Invoker        = (*Client)(nil)
	_ engine.DelayedInvoker = (*Client)(nil)
)

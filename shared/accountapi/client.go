package accountapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	sdkcredentials "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/porthygiene/porthygiene/shared/apicall"
	"github.com/porthygiene/porthygiene/shared/credentials"
)

// Sentinels, tested with errors.Is (package apicall's, shared with the
// other adapters).
var (
	ErrNotFound  = apicall.ErrNotFound
	ErrForbidden = apicall.ErrForbidden
	ErrThrottled = apicall.ErrThrottled
	ErrServer    = apicall.ErrServer
	ErrInvalid   = apicall.ErrInvalid
)

// APIError is one failed call (after any retries).
type APIError = apicall.APIError

// Credentials is an AccessKey pair, with an STS token for assumed roles.
type Credentials = credentials.Credentials

// Config configures a Client. Zero values mean the defaults.
type Config struct {
	// Region is the region of the ActionTrail endpoint (a trail's home region).
	Region string
	// RAMEndpoint and TrailEndpoint override the endpoints:
	// "scheme://host[:port]" (a bare host means https).
	RAMEndpoint, TrailEndpoint string
	// VPCEndpoint overrides the VPC endpoint (default
	// https://vpc.<region>.aliyuncs.com): the reaper's DescribeFlowLogs.
	VPCEndpoint string
	Credentials Credentials
	// CallTimeout bounds each HTTP attempt (apicall.DefaultCallTimeout).
	CallTimeout time.Duration
	// MinBackoff, MaxBackoff and MaxAttempts as in apicall.Retry.
	MinBackoff, MaxBackoff time.Duration
	MaxAttempts            int
}

// Client reads RAM and ActionTrail. It is safe for concurrent use.
type Client struct {
	cfg         Config
	retry       apicall.Retry
	ram, trail  endpoint
	vpc         endpoint
	transport   http.RoundTripper
	redactor    credentials.Redactor
	credentials auth.Credential
}

type endpoint struct{ scheme, host string }

var regionRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)

// New validates cfg and returns a Client. It makes no call.
func New(cfg Config) (*Client, error) {
	var errs []error
	if !regionRE.MatchString(cfg.Region) {
		errs = append(errs, fmt.Errorf("region %q: want a region id such as cn-hangzhou", cfg.Region))
	}
	if cfg.Credentials.AccessKeyID == "" || cfg.Credentials.AccessKeySecret == "" {
		errs = append(errs, errors.New("credentials: an AccessKeyID and an AccessKeySecret are required"))
	}
	retry, rerrs := apicall.Retry{CallTimeout: cfg.CallTimeout, MinBackoff: cfg.MinBackoff, MaxBackoff: cfg.MaxBackoff, MaxAttempts: cfg.MaxAttempts}.Resolve()
	errs = append(errs, rerrs...)
	ramEP, err := parseEndpoint(cfg.RAMEndpoint, "ram.aliyuncs.com")
	if err != nil {
		errs = append(errs, fmt.Errorf("RAM endpoint: %w", err))
	}
	trailEP, err := parseEndpoint(cfg.TrailEndpoint, "actiontrail."+cfg.Region+".aliyuncs.com")
	if err != nil {
		errs = append(errs, fmt.Errorf("ActionTrail endpoint: %w", err))
	}
	vpcEP, err := parseEndpoint(cfg.VPCEndpoint, "vpc."+cfg.Region+".aliyuncs.com")
	if err != nil {
		errs = append(errs, fmt.Errorf("VPC endpoint: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("accountapi: invalid config: %w", errors.Join(err, ErrInvalid))
	}
	cr := cfg.Credentials
	var cred auth.Credential = sdkcredentials.NewAccessKeyCredential(cr.AccessKeyID, cr.AccessKeySecret)
	if cr.SecurityToken != "" {
		cred = sdkcredentials.NewStsTokenCredential(cr.AccessKeyID, cr.AccessKeySecret, cr.SecurityToken)
	}
	return &Client{cfg: cfg, retry: retry, ram: ramEP, trail: trailEP, vpc: vpcEP, credentials: cred,
		transport: http.DefaultTransport.(*http.Transport).Clone(), redactor: credentials.NewRedactor(cr)}, nil
}

func parseEndpoint(raw, def string) (endpoint, error) {
	if raw == "" {
		return endpoint{"https", def}, nil
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return endpoint{}, fmt.Errorf("%q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return endpoint{}, fmt.Errorf("%q: scheme must be http or https", raw)
	case u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
		return endpoint{}, fmt.Errorf("%q: want scheme://host[:port]", raw)
	}
	return endpoint{u.Scheme, u.Host}, nil
}

// ctxTransport ends the SDK's requests (built without a context) with ctx.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

func (c *Client) sdkConfig(ctx context.Context) *sdk.Config {
	sc := sdk.NewConfig()
	sc.AutoRetry = false // retried here, with backoff
	sc.Transport = ctxTransport{ctx: ctx, base: c.transport}
	return sc
}

func (c *Client) prepare(req requests.AcsRequest, ep endpoint) {
	req.SetDomain(ep.host)
	req.SetScheme(strings.ToUpper(ep.scheme))
	req.SetReadTimeout(c.retry.CallTimeout)
	req.SetConnectTimeout(5 * time.Second)
}

// call runs one logical call of service's op, retrying throttling and server
// errors within the context deadline.
func (c *Client) call(ctx context.Context, service, op string, send func() error) error {
	var last *APIError
	var slowest time.Duration
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return apicall.Interrupted(service, op, err, last)
		}
		start := time.Now()
		err := send()
		took := time.Since(start)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return apicall.Interrupted(service, op, ctx.Err(), last)
		}
		e := c.apiError(service, op, err)
		e.Attempts = attempt
		if !e.Retryable() {
			return e
		}
		last, slowest = e, max(slowest, took)
		if err := c.retry.Wait(ctx, attempt, slowest, last); err != nil {
			return err
		}
	}
}

// apiError turns an SDK error into an *APIError without credentials.
func (c *Client) apiError(service, op string, err error) *APIError {
	if se, ok := errors.AsType[*sdkerrors.ServerError](err); ok {
		msg := se.Message()
		if i := strings.Index(msg, sdkerrors.MessageContain); i >= 0 {
			// "... server string to sign is:<string-to-sign>" holds the token.
			msg = msg[:i] + sdkerrors.MessageContain + " " + credentials.Redacted
		}
		return &APIError{Service: service, Op: op, Code: c.redactor.Redact(se.ErrorCode()), Message: apicall.TrimMessage(c.redactor.Redact(msg)),
			RequestID: c.redactor.Redact(se.RequestId()), HTTPStatus: se.HttpStatus(), Err: classify(se.ErrorCode(), se.HttpStatus())}
	}
	sentinel := ErrServer // transport failures, unreadable answers
	if ce, ok := errors.AsType[*sdkerrors.ClientError](err); ok && ce.ErrorCode() != sdkerrors.JsonUnmarshalErrorCode {
		if _, isURL := errors.AsType[*url.Error](ce.OriginError()); !isURL {
			sentinel = ErrInvalid
		}
	}
	return &APIError{Service: service, Op: op, Err: fmt.Errorf("%w: %s", sentinel, c.redactor.Redact(stripQuery(err.Error())))}
}

// queryRE matches a request URL's query, which carries the signature and
// the SecurityToken.
var queryRE = regexp.MustCompile(`\?[^\s"]*`)

func stripQuery(s string) string { return queryRE.ReplaceAllString(s, "?…") }

// classify maps an error code and HTTP status to a sentinel.
func classify(code string, status int) error {
	switch {
	case strings.HasPrefix(code, "Throttling"), status == 429:
		return ErrThrottled
	case code == "ServiceUnavailable", strings.HasPrefix(code, "InternalError"), code == "UnknownError", status >= 500:
		return ErrServer
	case strings.HasPrefix(code, "EntityNotExist"), code == "TrailNotFoundException", strings.HasSuffix(code, ".NotFound"):
		return ErrNotFound
	case strings.HasPrefix(code, "NoPermission"), strings.HasPrefix(code, "Forbidden"),
		strings.HasPrefix(code, "InvalidAccessKeyId"), code == "SignatureDoesNotMatch", code == "IncompleteSignature",
		strings.HasPrefix(code, "InvalidSecurityToken"), status == 401, status == 403:
		return ErrForbidden
	}
	return ErrInvalid
}

// Role is a RAM role.
type Role struct {
	Name string
	ARN  string // acs:ram::<account>:role/<name>
	// AccountID is the account of the ARN.
	AccountID string
	// TrustPolicy is the AssumeRolePolicyDocument (JSON).
	TrustPolicy string
}

// Role reads a role (GetRole); ErrNotFound when there is none.
func (c *Client) Role(ctx context.Context, name string) (Role, error) {
	var resp *ram.GetRoleResponse
	err := c.call(ctx, "ram", "GetRole", func() error {
		cl, err := ram.NewClientWithOptions(c.cfg.Region, c.sdkConfig(ctx), c.credentials)
		if err != nil {
			return err
		}
		req := ram.CreateGetRoleRequest()
		c.prepare(req, c.ram)
		req.RoleName = name
		resp, err = cl.GetRole(req)
		return err
	})
	if err != nil {
		return Role{}, fmt.Errorf("role %s: %w", name, err)
	}
	r := Role{Name: resp.Role.RoleName, ARN: resp.Role.Arn, TrustPolicy: resp.Role.AssumeRolePolicyDocument}
	if rest, ok := strings.CutPrefix(r.ARN, "acs:ram::"); ok {
		r.AccountID, _, _ = strings.Cut(rest, ":")
	}
	return r, nil
}

// AttachedPolicy names a policy attached to a role.
type AttachedPolicy struct {
	Name string
	Type string // Custom or System
}

// RolePolicies lists the policies attached to a role (ListPoliciesForRole).
func (c *Client) RolePolicies(ctx context.Context, role string) ([]AttachedPolicy, error) {
	var resp *ram.ListPoliciesForRoleResponse
	err := c.call(ctx, "ram", "ListPoliciesForRole", func() error {
		cl, err := ram.NewClientWithOptions(c.cfg.Region, c.sdkConfig(ctx), c.credentials)
		if err != nil {
			return err
		}
		req := ram.CreateListPoliciesForRoleRequest()
		c.prepare(req, c.ram)
		req.RoleName = role
		resp, err = cl.ListPoliciesForRole(req)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("policies of role %s: %w", role, err)
	}
	out := make([]AttachedPolicy, 0, len(resp.Policies.Policy))
	for _, p := range resp.Policies.Policy {
		out = append(out, AttachedPolicy{Name: p.PolicyName, Type: p.PolicyType})
	}
	return out, nil
}

// PolicyDocument returns the document of a policy's default version
// (GetPolicy); ErrNotFound when there is no such policy.
func (c *Client) PolicyDocument(ctx context.Context, name, typ string) (string, error) {
	var resp *ram.GetPolicyResponse
	err := c.call(ctx, "ram", "GetPolicy", func() error {
		cl, err := ram.NewClientWithOptions(c.cfg.Region, c.sdkConfig(ctx), c.credentials)
		if err != nil {
			return err
		}
		req := ram.CreateGetPolicyRequest()
		c.prepare(req, c.ram)
		req.PolicyName, req.PolicyType = name, typ
		resp, err = cl.GetPolicy(req)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("policy %s (%s): %w", name, typ, err)
	}
	return resp.DefaultPolicyVersion.PolicyDocument, nil
}

// Trail is an ActionTrail trail and whether it is logging.
type Trail struct {
	Name       string
	HomeRegion string
	// SLSProject and SLSRegion are where it delivers (from SlsProjectArn);
	// empty when it does not deliver to SLS.
	SLSProject, SLSRegion string
	Status                string // Enable, Disable, Fresh
	Logging               bool
}

// Trail reads a trail of the client's region (DescribeTrails, then
// GetTrailStatus); ErrNotFound when there is none of that name.
func (c *Client) Trail(ctx context.Context, name string) (Trail, error) {
	var resp *actiontrail.DescribeTrailsResponse
	err := c.call(ctx, "actiontrail", "DescribeTrails", func() error {
		cl, err := actiontrail.NewClientWithOptions(c.cfg.Region, c.sdkConfig(ctx), c.credentials)
		if err != nil {
			return err
		}
		req := actiontrail.CreateDescribeTrailsRequest()
		c.prepare(req, c.trail)
		req.NameList = name
		// A multi-region trail homed in another region is listed here as
		// its shadow trail.
		req.IncludeShadowTrails = requests.NewBoolean(true)
		resp, err = cl.DescribeTrails(req)
		return err
	})
	if err != nil {
		return Trail{}, fmt.Errorf("trail %s: %w", name, err)
	}
	var t Trail
	found := false
	for _, x := range resp.TrailList {
		if x.Name == name {
			t = Trail{Name: x.Name, HomeRegion: x.HomeRegion, Status: x.Status}
			// acs:log:<region>:<account>:project/<project>
			if parts := strings.SplitN(x.SlsProjectArn, ":", 5); len(parts) == 5 && parts[0] == "acs" && parts[1] == "log" {
				t.SLSRegion = parts[2]
				t.SLSProject, _ = strings.CutPrefix(parts[4], "project/")
			}
			found = true
		}
	}
	if !found {
		return Trail{}, fmt.Errorf("trail %s: %w", name, &APIError{Service: "actiontrail", Op: "DescribeTrails", Message: "no trail of that name in " + c.cfg.Region, Err: ErrNotFound})
	}
	// The status is the home region's to tell. [UNCONFIRMED] whether a
	// shadow trail's region answers it too.
	ep, region := c.trail, c.cfg.Region
	if t.HomeRegion != "" && t.HomeRegion != region && c.cfg.TrailEndpoint == "" && regionRE.MatchString(t.HomeRegion) {
		ep, region = endpoint{"https", "actiontrail." + t.HomeRegion + ".aliyuncs.com"}, t.HomeRegion
	}
	var st *actiontrail.GetTrailStatusResponse
	err = c.call(ctx, "actiontrail", "GetTrailStatus", func() error {
		cl, err := actiontrail.NewClientWithOptions(region, c.sdkConfig(ctx), c.credentials)
		if err != nil {
			return err
		}
		req := actiontrail.CreateGetTrailStatusRequest()
		c.prepare(req, ep)
		req.Name = name
		st, err = cl.GetTrailStatus(req)
		return err
	})
	if err != nil {
		return Trail{}, fmt.Errorf("trail %s: %w", name, err)
	}
	t.Logging = st.IsLogging
	return t, nil
}

package trigger

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// HTTPEvent is the FC 3.0 HTTP trigger request event.
type HTTPEvent struct {
	Version         string             `json:"version"` // required, "v1"
	RawPath         string             `json:"rawPath"` // required
	Headers         map[string]string  `json:"headers"`
	QueryParameters map[string]string  `json:"queryParameters"`
	Body            string             `json:"body"`
	IsBase64Encoded bool               `json:"isBase64Encoded"`
	RequestContext  HTTPRequestContext `json:"requestContext"`
}

// HTTPRequestContext describes the request.
type HTTPRequestContext struct {
	AccountID    string   `json:"accountId"`
	DomainName   string   `json:"domainName"`
	DomainPrefix string   `json:"domainPrefix"`
	HTTP         HTTPInfo `json:"http"`
	RequestID    string   `json:"requestId"`
	Time         string   `json:"time"`      // as sent; see TimeEpoch
	TimeEpoch    string   `json:"timeEpoch"` // Unix milliseconds, as a string
}

// HTTPInfo is the request line and client.
type HTTPInfo struct {
	Method    string `json:"method"` // required
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// HTTPResponse is what an HTTP-triggered handler returns.
type HTTPResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers,omitempty"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	Body            string            `json:"body"`
}

// Kind is KindHTTP.
func (HTTPEvent) Kind() Kind { return KindHTTP }

// Time is requestContext.timeEpoch; zero when absent.
func (e HTTPEvent) Time() time.Time {
	ms, err := strconv.ParseInt(e.RequestContext.TimeEpoch, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// DedupKey is "http/<requestId>".
func (e HTTPEvent) DedupKey() string { return "http/" + e.RequestContext.RequestID }

// Header returns the value of the header name, matched case-insensitively.
func (e HTTPEvent) Header(name string) string {
	if v, ok := e.Headers[name]; ok {
		return v
	}
	for k, v := range e.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Query returns the query parameter name ("" when absent).
func (e HTTPEvent) Query(name string) string { return e.QueryParameters[name] }

// DecodedBody returns the body bytes, base64-decoded when IsBase64Encoded.
func (e HTTPEvent) DecodedBody() ([]byte, error) {
	if !e.IsBase64Encoded {
		return []byte(e.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(e.Body)
	if err != nil {
		return nil, &DecodeError{Kind: KindHTTP, Field: "body", Err: errorf("invalid base64: %v", err)}
	}
	return b, nil
}

// DecodeHTTP decodes an FC 3.0 HTTP trigger event strictly. Required:
// version, rawPath, requestContext.http.method; requestContext.timeEpoch,
// when present, must be an integer.
func DecodeHTTP(b []byte) (HTTPEvent, error) {
	const k = KindHTTP
	var e HTTPEvent
	if err := decodeInto(k, "", b, &e); err != nil {
		return HTTPEvent{}, err
	}
	if err := required(k, "version", e.Version, "rawPath", e.RawPath, "requestContext.http.method", e.RequestContext.HTTP.Method); err != nil {
		return HTTPEvent{}, err
	}
	if te := e.RequestContext.TimeEpoch; te != "" {
		if _, err := strconv.ParseInt(te, 10, 64); err != nil {
			return HTTPEvent{}, &DecodeError{Kind: k, Field: "requestContext.timeEpoch", Err: errorf("want Unix milliseconds, got %q", te)}
		}
	}
	return e, nil
}

package sls

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// Config wires the server to the rest of localcloud. Nil fields get defaults:
// the wall clock, an empty credential store (every request is rejected), fresh
// stats and no faults.
type Config struct {
	// Clock gives the virtual time: receive time of appended groups, STS
	// expiry, TTL expiry and "now" for GetLogs.
	Clock interface{ Now() time.Time }
	// IndexDelay is how long a log group takes, after it is received, to
	// become searchable by GetLogs (real SLS: about 3 s); PullLogs reads it at
	// once. It has passed when IndexDelay has elapsed on the wall clock (Wall)
	// or on the virtual clock (Clock), whichever comes first (see QUERY.md).
	// 0, the default, makes logs searchable at once. SetIndexDelay changes it.
	IndexDelay time.Duration
	// Wall is the wall clock IndexDelay is measured on; nil means time.Now.
	// Tests inject one to step through the delay.
	Wall interface{ Now() time.Time }
	// Auth holds the credentials every signed request is checked against.
	Auth *auth.Store
	// Stats counts calls as ("sls", action, caller, error code).
	Stats *stats.Stats
	// Faults injects throttling, server errors and latency per action.
	Faults *faults.Set
}

// Server is the SLS emulator. It is safe for concurrent use.
type Server struct {
	cfg Config

	mu       sync.RWMutex
	projects map[string]*project

	hookMu sync.RWMutex
	hooks  []func(project, logstore string, shard int)

	reqSeq     atomic.Uint64
	indexDelay atomic.Int64 // time.Duration
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// New returns a server with no projects.
func New(cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = wallClock{}
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.NewStore()
	}
	if cfg.Stats == nil {
		cfg.Stats = &stats.Stats{}
	}
	if cfg.Faults == nil {
		cfg.Faults = &faults.Set{}
	}
	if cfg.Wall == nil {
		cfg.Wall = wallClock{}
	}
	s := &Server{cfg: cfg, projects: map[string]*project{}}
	s.SetIndexDelay(cfg.IndexDelay)
	return s
}

func (s *Server) now() time.Time { return s.cfg.Clock.Now() }

func (s *Server) wallNow() time.Time { return s.cfg.Wall.Now() }

// SetIndexDelay sets how long received logs stay invisible to GetLogs (see
// Config.IndexDelay); a negative d is 0. It applies to logs already stored
// too: visibility is decided when a query runs.
func (s *Server) SetIndexDelay(d time.Duration) { s.indexDelay.Store(int64(max(d, 0))) }

// IndexDelay returns the current index delay.
func (s *Server) IndexDelay() time.Duration { return time.Duration(s.indexDelay.Load()) }

// Error is an SLS error: the HTTP status and the body {"errorCode","errorMessage"}.
// errors.Is matches two *Error values with the same Code.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is on the errors of the Go API.
var (
	ErrProjectNotExist  = &Error{Status: 404, Code: "ProjectNotExist"}
	ErrLogStoreNotExist = &Error{Status: 404, Code: "LogStoreNotExist"}
	ErrParameterInvalid = &Error{Status: 400, Code: "ParameterInvalid"}
	// ErrIndexConfigNotExist: GetLogs on a logstore without an index, and
	// GetIndex, UpdateIndex or DeleteIndex of a missing index.
	ErrIndexConfigNotExist = &Error{Status: 400, Code: "IndexConfigNotExist"}
)

func errf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// maxBody bounds request bodies (compressed and raw).
const maxBody = 64 << 20

// maxSkew is how far the Date header may be from the wall clock.
const maxSkew = 15 * time.Minute

// call is one HTTP request being served.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	body     []byte
	query    url.Values
	project  string
	logstore string
	shard    int
	region   string
}

type handler func(s *Server, c *call) error

type route struct {
	action string
	h      handler
	// needs says what must exist before the handler runs.
	needsProject, needsLogstore bool
}

// projectFromHost splits "<project>.<region>[-intranet].log.aliyuncs.com[:port]".
func projectFromHost(host string) (project, region string) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	rest, ok := strings.CutSuffix(host, ".log.aliyuncs.com")
	if !ok {
		return "", ""
	}
	if p, r, ok := strings.Cut(rest, "."); ok {
		project, rest = p, r
	}
	region = strings.TrimSuffix(strings.TrimSuffix(rest, "-intranet"), "-share")
	return project, region
}

// resolve maps a request to its route.
func (s *Server) resolve(c *call) (route, error) {
	r := c.r
	path := strings.Trim(r.URL.Path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	typ := c.query.Get("type")
	m := r.Method
	unsupported := func() (route, error) {
		what := m + " /" + path
		if r.URL.RawQuery != "" {
			what += "?" + r.URL.RawQuery
		}
		return route{action: "Unsupported"}, errf(400, "NotSupported", "localcloud sls does not emulate %s", what)
	}
	if len(parts) == 0 {
		if c.project == "" {
			if m == http.MethodGet {
				return route{action: "ListProject", h: (*Server).listProject}, nil
			}
			return unsupported()
		}
		switch m {
		case http.MethodPost:
			return route{action: "CreateProject", h: (*Server).createProjectHTTP}, nil
		case http.MethodGet:
			return route{action: "GetProject", h: (*Server).getProject, needsProject: true}, nil
		case http.MethodDelete:
			return route{action: "DeleteProject", h: (*Server).deleteProject, needsProject: true}, nil
		}
		return unsupported()
	}
	if c.project == "" {
		return route{action: "Unsupported"}, errf(404, "ProjectNotExist", "no project in Host %q: SLS routes by <project>.<region>.log.aliyuncs.com (dial localcloud for that host, or use it as HTTP proxy)", r.Host)
	}
	if parts[0] != "logstores" {
		return unsupported()
	}
	if len(parts) >= 2 {
		c.logstore = parts[1]
	}
	switch len(parts) {
	case 1:
		switch m {
		case http.MethodGet:
			return route{action: "ListLogStores", h: (*Server).listLogstores, needsProject: true}, nil
		case http.MethodPost:
			return route{action: "CreateLogStore", h: (*Server).createLogstoreHTTP, needsProject: true}, nil
		}
	case 2:
		switch {
		case m == http.MethodGet && typ == "":
			return route{action: "GetLogStore", h: (*Server).getLogstore, needsLogstore: true}, nil
		case m == http.MethodDelete:
			return route{action: "DeleteLogStore", h: (*Server).deleteLogstore, needsProject: true}, nil
		case m == http.MethodPost:
			return route{action: "PutLogs", h: (*Server).putLogs, needsLogstore: true}, nil
		}
	case 3:
		switch {
		case parts[2] == "shards" && m == http.MethodGet:
			return route{action: "ListShards", h: (*Server).listShards, needsLogstore: true}, nil
		case parts[2] == "logs" && m == http.MethodPost:
			return route{action: "GetLogs", h: (*Server).getLogs, needsLogstore: true}, nil
		case parts[2] == "index":
			switch m {
			case http.MethodPost:
				return route{action: "CreateIndex", h: (*Server).putIndex, needsLogstore: true}, nil
			case http.MethodPut:
				return route{action: "UpdateIndex", h: (*Server).putIndex, needsLogstore: true}, nil
			case http.MethodGet:
				return route{action: "GetIndex", h: (*Server).getIndex, needsLogstore: true}, nil
			case http.MethodDelete:
				return route{action: "DeleteIndex", h: (*Server).deleteIndex, needsLogstore: true}, nil
			}
		}
	case 4:
		if parts[2] != "shards" {
			break
		}
		if parts[3] == "route" && m == http.MethodPost {
			return route{action: "PutLogs", h: (*Server).putLogs, needsLogstore: true}, nil
		}
		id, err := strconv.Atoi(parts[3])
		if err != nil || m != http.MethodGet {
			break
		}
		c.shard = id
		switch typ {
		case "cursor":
			return route{action: "GetCursor", h: (*Server).getCursor, needsLogstore: true}, nil
		case "logs":
			return route{action: "PullLogs", h: (*Server).pullLogs, needsLogstore: true}, nil
		case "cursor_time":
			return route{action: "GetCursorTime", h: (*Server).getCursorTime, needsLogstore: true}, nil
		}
	}
	return unsupported()
}

// ServeHTTP serves the SLS REST API for the project named by the Host (direct
// or absolute-form proxy requests alike).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := fmt.Sprintf("%08X%016X", 0x5F1C0DE, s.reqSeq.Add(1))
	w.Header().Set("x-log-requestid", reqID)
	c := &call{w: w, r: r, query: r.URL.Query()}
	c.project, c.region = projectFromHost(r.Host)
	rt, err := s.resolve(c)
	caller := ""
	if err == nil {
		caller, err = s.serve(c, rt)
	}
	code := ""
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = errf(500, "InternalServerError", "%v", err)
		}
		code = e.Code
		writeJSON(w, e.Status, map[string]string{"errorCode": e.Code, "errorMessage": e.Message})
	}
	s.cfg.Stats.Record("sls", rt.action, caller, code)
}

// serve authenticates, applies faults and runs the handler; it returns the
// caller name for stats.
func (s *Server) serve(c *call, rt route) (string, error) {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxBody+1))
	if err != nil {
		return "", errf(400, "PostBodyInvalid", "read body: %v", err)
	}
	if len(body) > maxBody {
		return "", errf(400, "PostBodyTooLarge", "body is larger than %d bytes", maxBody)
	}
	c.body = body
	cred, err := s.authenticate(c.r, body)
	if err != nil {
		return "", err
	}
	caller := cred.Identity.UserName
	if cred.Role != "" {
		caller = cred.Role
	}
	d := s.cfg.Faults.Decide("sls", rt.action, time.Now())
	if d.Latency > 0 {
		t := time.NewTimer(d.Latency)
		select {
		case <-t.C:
		case <-c.r.Context().Done():
			t.Stop()
			return caller, errf(500, "RequestTimeout", "request cancelled")
		}
	}
	switch {
	case d.ServerError:
		return caller, errf(500, "InternalServerError", "injected server error (localcloud faults)")
	case d.Throttle && c.r.Method == http.MethodGet:
		return caller, errf(403, "ReadQuotaExceed", "Read quota exceed (localcloud faults)")
	case d.Throttle:
		return caller, errf(403, "WriteQuotaExceed", "Write quota exceed (localcloud faults)")
	}
	if rt.needsProject || rt.needsLogstore {
		s.mu.RLock()
		p, ok := s.projects[c.project]
		s.mu.RUnlock()
		if !ok {
			return caller, errProjectNotExist(c.project)
		}
		if rt.needsLogstore {
			if _, err := s.logstore(p.name, c.logstore); err != nil {
				return caller, err
			}
		}
	}
	return caller, rt.h(s, c)
}

// authenticate checks the v1 signature exactly as the SDK computes it.
func (s *Server) authenticate(r *http.Request, body []byte) (auth.Credential, error) {
	for _, h := range []struct{ name, code string }{
		{"Date", "MissingDate"},
		{"x-log-apiversion", "MissingAPIVersion"},
		{"x-log-bodyrawsize", "MissingBodyRawSize"},
		{"x-log-signaturemethod", "MissingSignatureMethod"},
	} {
		if r.Header.Get(h.name) == "" {
			return auth.Credential{}, errf(400, h.code, "%s does not exist in http header", h.name)
		}
	}
	if m := r.Header.Get("x-log-signaturemethod"); m != "hmac-sha1" {
		return auth.Credential{}, errf(400, "InvalidSignatureMethod", "signature method %s is not supported (only hmac-sha1, signature v1)", m)
	}
	date := r.Header.Get("Date")
	t, err := time.Parse(time.RFC1123, date)
	if err != nil {
		return auth.Credential{}, errf(400, "InvalidDateFormat", "Date %s must follow RFC822", date)
	}
	if d := time.Since(t); d > maxSkew || d < -maxSkew {
		return auth.Credential{}, errf(400, "RequestTimeExpired", "Request time %s has been expired while server time is %s", date, time.Now().UTC().Format(time.RFC1123))
	}
	if md5h := r.Header.Get("Content-MD5"); md5h != "" {
		if want := fmt.Sprintf("%X", md5.Sum(body)); !strings.EqualFold(md5h, want) {
			return auth.Credential{}, errf(400, "InvalidContentMD5", "Content-MD5 %s does not match the body (%s)", md5h, want)
		}
	}
	authz := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(authz, "LOG ")
	if !ok {
		return auth.Credential{}, errf(401, "Unauthorized", "Authorization must be \"LOG <AccessKeyId>:<signature>\" (signature v1)")
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return auth.Credential{}, errf(401, "Unauthorized", "malformed Authorization header")
	}
	ak, sig := rest[:i], rest[i+1:]
	cred, err := s.cfg.Auth.Verify(ak, r.Header.Get("x-acs-security-token"), s.now())
	switch {
	case errors.Is(err, auth.ErrUnknownKey):
		return auth.Credential{}, errf(401, "Unauthorized", "AccessKeyId %s is not found", ak)
	case errors.Is(err, auth.ErrTokenExpired):
		return auth.Credential{}, errf(401, "Unauthorized", "the security token has expired")
	case err != nil:
		return auth.Credential{}, errf(401, "Unauthorized", "invalid security token: %v", err)
	}
	mac := hmac.New(sha1.New, []byte(cred.AccessKeySecret))
	mac.Write([]byte(stringToSign(r)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return auth.Credential{}, errf(401, "SignatureNotMatch", "signature %s not matched", sig)
	}
	return cred, nil
}

// stringToSign is the SDK's v1 string-to-sign (signature.go): the Content-MD5
// header (upper-case hex), Content-Type, Date, the sorted x-log-*/x-acs-*
// headers and the path with the decoded query values.
func stringToSign(r *http.Request) string {
	var hs []string
	vals := map[string]string{}
	for k, v := range r.Header {
		l := strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(l, "x-log-") || strings.HasPrefix(l, "x-acs-") {
			hs = append(hs, l)
			vals[l] = strings.TrimSpace(v[0])
		}
	}
	sort.Strings(hs)
	var b strings.Builder
	b.WriteString(r.Method + "\n" + r.Header.Get("Content-MD5") + "\n" + r.Header.Get("Content-Type") + "\n" + r.Header.Get("Date") + "\n")
	for i, h := range hs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(h + ":" + vals[h])
	}
	b.WriteByte('\n')
	b.WriteString(r.URL.EscapedPath())
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('?')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte('&')
			}
			for _, v := range q[k] {
				b.WriteString(k + "=" + v)
			}
		}
	}
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"errorCode":"InternalServerError","errorMessage":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

package localcloud

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/actiontrail"
	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/eventbus"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/fcapi"
	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/ram"
	"github.com/porthygiene/porthygiene/localcloud/sls"
)

// ServeHTTP routes one request: the control API, SLS (by host, direct or as an
// HTTP proxy), the FC API (host <account>.<region>.fc.aliyuncs.com, or the
// path prefix /2023-03-30/), the DingTalk sink, HTTP triggers, else ECS RPC.
func (c *Cloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if r.URL.IsAbs() {
		host = r.URL.Host
	}
	host = strings.ToLower(host)
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	switch {
	case strings.HasSuffix(host, ".log.aliyuncs.com"):
		c.SLS.ServeHTTP(w, r)
	case strings.HasSuffix(host, ".fc.aliyuncs.com"), strings.HasPrefix(r.URL.Path, fcapi.PathPrefix):
		c.FC.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, "/_localcloud/"):
		c.control(w, r)
	case r.URL.Path == "/robot/send":
		c.DingTalk.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, "/http/"):
		c.httpTrigger(w, r)
	default:
		c.rpc(host, w, r)
	}
}

// rpc routes a POP RPC request by its host, else by its API version: RAM
// (ram.aliyuncs.com, 2015-05-01), ActionTrail (actiontrail.<region>.aliyuncs.com,
// 2020-07-06), else ECS.
func (c *Cloud) rpc(host string, w http.ResponseWriter, r *http.Request) {
	version := ""
	if err := r.ParseForm(); err == nil { // a malformed form is ECS's to refuse
		version = r.Form.Get("Version")
	}
	switch {
	case host == "ram.aliyuncs.com", strings.HasPrefix(host, "ram.") && strings.HasSuffix(host, ".aliyuncs.com"), version == ram.APIVersion:
		c.RAM.ServeHTTP(w, r)
	case strings.HasPrefix(host, "actiontrail.") && strings.HasSuffix(host, ".aliyuncs.com"), version == actiontrail.APIVersion:
		c.ActionTrail.ServeHTTP(w, r)
	default:
		c.ECS.ServeHTTP(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func controlError(w http.ResponseWriter, status int, format string, a ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, a...)})
}

// decodeStrict decodes a control request body; unknown fields are errors.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad request body: %w", err)
	}
	return nil
}

// control serves /_localcloud/*.
func (c *Cloud) control(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_localcloud/")
	route := r.Method + " " + path
	if !remoteSafe[route] && !loopbackClient(r) {
		controlError(w, http.StatusForbidden, "%s /_localcloud/%s may answer secrets (access keys, DingTalk secrets, signed links, function output) and is served to loopback clients only; this request comes from %s",
			r.Method, path, r.RemoteAddr)
		return
	}
	switch route {
	case "GET health":
		writeJSON(w, 200, map[string]any{"status": "ok", "time": c.Clock.Now()})
	case "GET endpoints":
		writeJSON(w, 200, c.Endpoints())
	case "GET clock":
		writeJSON(w, 200, map[string]any{"now": c.Clock.Now()})
	case "POST clock/advance":
		var req struct {
			Duration string `json:"duration"`
		}
		if err := decodeStrict(r, &req); err != nil {
			controlError(w, 400, "%v", err)
			return
		}
		d, err := parseDuration(req.Duration)
		if err != nil || d < 0 {
			controlError(w, 400, "duration %q: want a non-negative duration like 90s, 36h or 7d", req.Duration)
			return
		}
		now, err := c.Advance(r.Context(), d)
		if err != nil {
			controlError(w, 500, "advance: %v", err)
			return
		}
		writeJSON(w, 200, map[string]any{"now": now})
	case "POST settle":
		if err := c.Settle(r.Context()); err != nil {
			controlError(w, 500, "settle: %v", err)
			return
		}
		writeJSON(w, 200, map[string]any{"now": c.Clock.Now()})
	case "POST traffic":
		var recs []Traffic
		if err := decodeStrict(r, &recs); err != nil {
			controlError(w, 400, "%v", err)
			return
		}
		n, err := c.InjectTraffic(recs)
		if err != nil {
			controlError(w, 400, "%v", err)
			return
		}
		writeJSON(w, 200, map[string]any{"records": n})
	case "GET dingtalk/messages":
		writeJSON(w, 200, map[string]any{"messages": c.DingTalk.Messages(r.URL.Query().Get("robot")), "attempts": c.DingTalk.Attempts()})
	case "GET invocations":
		writeJSON(w, 200, map[string]any{"invocations": c.Runtime.Invocations()})
	case "GET logs":
		fn := r.URL.Query().Get("function")
		if f, ok := c.function(fn); ok {
			fn = f.Name
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, c.Runtime.Logs(fn))
	case "GET stats":
		writeJSON(w, 200, c.Stats.Snapshot())
	case "GET faults":
		writeJSON(w, 200, c.Faults.Config())
	case "POST faults":
		var cfg faults.Config
		if err := decodeStrict(r, &cfg); err != nil {
			controlError(w, 400, "%v", err)
			return
		}
		c.SetFaults(cfg)
		writeJSON(w, 200, cfg)
	case "POST triggers":
		var req struct {
			Function string `json:"function"`
			Trigger  string `json:"trigger"`
			Enabled  bool   `json:"enabled"`
		}
		if err := decodeStrict(r, &req); err != nil {
			controlError(w, 400, "%v", err)
			return
		}
		if err := c.SetTriggerEnabled(req.Function, req.Trigger, req.Enabled); err != nil {
			controlError(w, 404, "%v", err)
			return
		}
		writeJSON(w, 200, req)
	case "GET world":
		writeJSON(w, 200, c.ECS.World())
	case "GET sls/index-delay":
		writeJSON(w, 200, map[string]string{"indexDelay": c.SLS.IndexDelay().String()})
	case "POST sls/index-delay":
		var req struct {
			IndexDelay string `json:"indexDelay"`
		}
		if err := decodeStrict(r, &req); err != nil {
			controlError(w, 400, "%v", err)
			return
		}
		d, err := parseDuration(req.IndexDelay)
		if err != nil || d < 0 {
			controlError(w, 400, "indexDelay %q: want a non-negative duration like 0s or 3s", req.IndexDelay)
			return
		}
		c.SLS.SetIndexDelay(d)
		writeJSON(w, 200, map[string]string{"indexDelay": d.String()})
	default:
		controlError(w, 404, "unknown control endpoint %s /_localcloud/%s", r.Method, path)
	}
}

// SetFaults installs a fault configuration for the services and the event bus.
func (c *Cloud) SetFaults(cfg faults.Config) {
	c.Faults.Replace(cfg)
	c.setBusOptions(eventbus.Options{Duplicate: cfg.DuplicateEvents, Delay: cfg.EventDelay, Reorder: cfg.ReorderEvents,
		DuplicateRatio: cfg.DuplicateRatio, Jitter: cfg.EventDelayJitter})
}

// parseDuration accepts Go durations plus a day suffix ("7d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	if days, rest, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		d := time.Duration(n) * 24 * time.Hour
		if rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil {
				return 0, err
			}
			d += r
		}
		return d, nil
	}
	return time.ParseDuration(s)
}

// Traffic is one injected flow: it becomes one VPC flow-log record of the ENI's
// flow log, with the action the ENI's security groups decide.
type Traffic struct {
	ENI       string `json:"eni"`
	Direction string `json:"direction,omitempty"` // in (default) | out
	Protocol  string `json:"protocol,omitempty"`  // tcp (default) | udp | icmp
	SrcAddr   string `json:"srcaddr,omitempty"`
	SrcPort   int    `json:"srcport,omitempty"`
	DstAddr   string `json:"dstaddr,omitempty"` // default: the ENI's primary IP for "in"
	DstPort   int    `json:"dstport,omitempty"`
	Packets   int    `json:"packets,omitempty"`
	Bytes     int    `json:"bytes,omitempty"`
	// LogStatus OK (default), NODATA or SKIPDATA; NODATA/SKIPDATA carry no flow.
	LogStatus string `json:"logStatus,omitempty"`
	// Window is the capture window; default 10m ending now (virtual).
	Window string `json:"window,omitempty"`
}

var protoNumbers = map[string]string{"tcp": "6", "udp": "17", "icmp": "1"}

// InjectTraffic writes flow-log records for the given flows.
func (c *Cloud) InjectTraffic(flows []Traffic) (int, error) {
	now := c.Clock.Now()
	type dest struct{ project, logstore string }
	batches := map[dest][]sls.Log{}
	for i, f := range flows {
		eni, ok := c.ECS.ENI(f.ENI)
		if !ok {
			return 0, fmt.Errorf("traffic[%d]: no network interface %q", i, f.ENI)
		}
		fl, ok := c.flowLogFor(eni.ID, eni.VSwitchID, eni.VpcID)
		if !ok {
			return 0, fmt.Errorf("traffic[%d]: no flow log covers %s (add one to the seed's FlowLogs)", i, f.ENI)
		}
		window := 10 * time.Minute
		if f.Window != "" {
			d, err := parseDuration(f.Window)
			if err != nil || d <= 0 {
				return 0, fmt.Errorf("traffic[%d]: window %q: want a positive duration", i, f.Window)
			}
			window = d
		}
		status := strings.ToUpper(f.LogStatus)
		if status == "" {
			status = "OK"
		}
		contents := [][2]string{
			{"version", "1"}, {"account-id", auth.AccountID}, {"region", eni.RegionID},
			{"vpc-id", eni.VpcID}, {"vswitch-id", eni.VSwitchID}, {"eni-id", eni.ID}, {"vm-id", eni.InstanceID},
			{"start", strconv.FormatInt(now.Add(-window).Unix(), 10)}, {"end", strconv.FormatInt(now.Unix(), 10)},
			{"log-status", status},
		}
		switch status {
		case "NODATA", "SKIPDATA":
			// No flow in the window: the flow fields are "-", as VPC writes them.
			for _, k := range []string{"srcaddr", "srcport", "dstaddr", "dstport", "protocol", "direction", "packets", "bytes", "action", "tcp-flags"} {
				contents = append(contents, [2]string{k, "-"})
			}
		case "OK":
			proto := strings.ToLower(f.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			num, ok := protoNumbers[proto]
			if !ok {
				return 0, fmt.Errorf("traffic[%d]: protocol %q: want tcp, udp or icmp", i, f.Protocol)
			}
			dir := f.Direction
			if dir == "" {
				dir = "in"
			}
			if dir != "in" && dir != "out" {
				return 0, fmt.Errorf("traffic[%d]: direction %q: want in or out", i, f.Direction)
			}
			src, dst := f.SrcAddr, f.DstAddr
			local := eni.PrimaryIP.String()
			if dir == "in" && dst == "" {
				dst = local
			}
			if dir == "out" && src == "" {
				src = local
			}
			remoteStr, port, secDir := src, f.DstPort, "ingress"
			if dir == "out" {
				remoteStr, secDir = dst, "egress"
			}
			remote, err := netip.ParseAddr(remoteStr)
			if err != nil {
				return 0, fmt.Errorf("traffic[%d]: remote address %q: %v", i, remoteStr, err)
			}
			action := "REJECT"
			if c.ECS.Decide(eni.ID, secDir, proto, port, remote) {
				action = "ACCEPT"
			}
			packets, bytes := max(f.Packets, 1), max(f.Bytes, 60)
			contents = append(contents,
				[2]string{"srcaddr", src}, [2]string{"srcport", strconv.Itoa(f.SrcPort)},
				[2]string{"dstaddr", dst}, [2]string{"dstport", strconv.Itoa(f.DstPort)},
				[2]string{"protocol", num}, [2]string{"direction", dir},
				[2]string{"packets", strconv.Itoa(packets)}, [2]string{"bytes", strconv.Itoa(bytes)},
				[2]string{"action", action}, [2]string{"tcp-flags", "2"}, [2]string{"traffic_path", "0"})
		default:
			return 0, fmt.Errorf("traffic[%d]: logStatus %q: want OK, NODATA or SKIPDATA", i, f.LogStatus)
		}
		d := dest{fl.ProjectName, fl.LogStoreName}
		batches[d] = append(batches[d], sls.Log{Time: now, Contents: contents})
	}
	n := 0
	for d, logs := range batches {
		if _, err := c.SLS.Append(d.project, d.logstore, sls.LogGroupInput{Topic: "flow_log", Logs: logs}); err != nil {
			return n, fmt.Errorf("append flow logs to %s/%s: %w", d.project, d.logstore, err)
		}
		n += len(logs)
	}
	return n, nil
}

func (c *Cloud) flowLogFor(eni, vsw, vpc string) (FlowLog, bool) {
	for _, fl := range c.seed.FlowLogs {
		switch {
		case fl.ResourceType == "NetworkInterface" && fl.ResourceID == eni,
			fl.ResourceType == "VSwitch" && fl.ResourceID == vsw,
			fl.ResourceType == "VPC" && fl.ResourceID == vpc:
			return fl, true
		}
	}
	return FlowLog{}, false
}

// httpEvent is the event FC 3.0 hands an event handler for an HTTP trigger.
type httpEvent struct {
	Version         string            `json:"version"`
	RawPath         string            `json:"rawPath"`
	Headers         map[string]string `json:"headers"`
	QueryParameters map[string]string `json:"queryParameters"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	RequestContext  httpContext       `json:"requestContext"`
}

type httpContext struct {
	AccountID    string     `json:"accountId"`
	DomainName   string     `json:"domainName"`
	DomainPrefix string     `json:"domainPrefix"`
	HTTP         httpReqCtx `json:"http"`
	RequestID    string     `json:"requestId"`
	Time         string     `json:"time"`
	TimeEpoch    string     `json:"timeEpoch"`
}

type httpReqCtx struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

type httpResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	Body            string            `json:"body"`
}

// httpTrigger serves /http/<function>/<path> through the function's HTTP trigger.
func (c *Cloud) httpTrigger(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/http/")
	name, sub, _ := strings.Cut(rest, "/")
	fn, ok := c.function(name)
	if !ok {
		http.Error(w, "no function "+name, http.StatusNotFound)
		return
	}
	var trig bool
	for _, t := range fn.Triggers {
		if t.Type == "http" {
			trig = true
			if len(t.HTTP.Methods) > 0 && !containsFold(t.HTTP.Methods, r.Method) {
				http.Error(w, "method not allowed by the HTTP trigger", http.StatusMethodNotAllowed)
				return
			}
		}
	}
	if !trig {
		http.Error(w, "function "+name+" has no HTTP trigger", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	now := c.Clock.Now()
	ev := httpEvent{
		Version: "v1", RawPath: "/" + sub, Headers: map[string]string{}, QueryParameters: map[string]string{},
		Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
		RequestContext: httpContext{
			AccountID: auth.AccountID, DomainName: r.Host, DomainPrefix: fn.Name,
			HTTP:      httpReqCtx{Method: r.Method, Path: "/" + sub, Protocol: r.Proto, SourceIP: strings.Split(r.RemoteAddr, ":")[0], UserAgent: r.UserAgent()},
			RequestID: randomHex(16), Time: now.Format(time.RFC3339), TimeEpoch: strconv.FormatInt(now.UnixMilli(), 10),
		},
	}
	for k, v := range r.Header {
		ev.Headers[k] = strings.Join(v, ",")
	}
	for k, v := range r.URL.Query() {
		ev.QueryParameters[k] = v[0]
	}
	payload, _ := json.Marshal(ev)
	res, err := c.Runtime.Invoke(r.Context(), fn.Name, payload, fcrt.InvokeOptions{Trigger: "http"})
	if err != nil {
		http.Error(w, "invoke: "+err.Error(), http.StatusBadGateway)
		return
	}
	if res.Failed() {
		http.Error(w, "function error: "+res.ErrorMessage, http.StatusBadGateway)
		return
	}
	var resp httpResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.StatusCode == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.Write(res.Payload)
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			http.Error(w, "function returned bad base64 body", http.StatusBadGateway)
			return
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

package localcloud

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/actiontrail"
	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/dingtalk"
	"github.com/porthygiene/porthygiene/localcloud/ecs"
	"github.com/porthygiene/porthygiene/localcloud/eventbus"
	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/localcloud/fcapi"
	"github.com/porthygiene/porthygiene/localcloud/fcrt"
	"github.com/porthygiene/porthygiene/localcloud/ram"
	"github.com/porthygiene/porthygiene/localcloud/sconfig"
	"github.com/porthygiene/porthygiene/localcloud/sls"
	"github.com/porthygiene/porthygiene/localcloud/stats"
	"github.com/porthygiene/porthygiene/localcloud/timers"
	"github.com/porthygiene/porthygiene/localcloud/vclock"
)

// Options configure a Cloud. Only Config (the s.yaml path) is needed to run
// functions; without it localcloud serves the cloud APIs alone.
type Options struct {
	// Addr to listen on; default 127.0.0.1:0 (a free port). It must be a
	// loopback address (see CheckListenAddr) unless ListenAny is set.
	Addr string
	// ListenAny allows an Addr other machines can reach. The control API
	// still answers its secret-bearing routes to loopback clients only.
	ListenAny bool
	// Config is the s.yaml path. Empty: no functions.
	Config string
	// CodeDirs overrides a function's code directory by s.yaml resource name
	// (tests build the binaries into a temporary directory).
	CodeDirs map[string]string
	// Seed is the world to load; nil loads nothing (DefaultSeed is the demo's).
	Seed *Seed
	// Start is the virtual clock's start; zero means the wall clock now.
	Start time.Time
	// Getenv resolves ${env(...)} in s.yaml after localcloud's own endpoint
	// variables; nil means os.Getenv.
	Getenv func(string) string
	// Env is added to every function's environment (after s.yaml's).
	Env map[string]string
	// LogDir, when set, receives each function's stdout/stderr.
	LogDir string
	// Only, when set, registers only these s.yaml resources.
	Only []string
	// Trail is the ActionTrail trail name; its logstore is actiontrail_<trail>.
	// Default: the first log trigger whose logstore starts with "actiontrail_".
	Trail string
	// SLSIndexDelay is how long SLS takes to make a received log searchable by
	// GetLogs; 0 means DefaultSLSIndexDelay (3 s, as real SLS), and
	// NoSLSIndexDelay makes logs searchable at once (a test that wants it
	// says why). It runs on the wall clock or the virtual clock, whichever
	// passes it first (localcloud/sls/QUERY.md). PullLogs reads at once.
	// POST /_localcloud/sls/index-delay changes it while localcloud runs.
	SLSIndexDelay time.Duration
	// ECSRateLimit is the ECS calls per second the account may make
	// (wall clock; above it ECS answers Throttling.User); 0 means
	// DefaultECSRateLimit. The functions are told it as their
	// PORTHYGIENE_ECS_QPS (unless the environment or Options.Env sets that),
	// so that they pace at what this ECS allows, as they pace at the real
	// account's limit in the cloud.
	ECSRateLimit float64
}

// DefaultECSRateLimit is Options.ECSRateLimit's default: far above what the
// emulator serves on a laptop, so that the functions' wall-clock pacing does
// not make virtual days take real minutes.
const DefaultECSRateLimit = 2000

// DefaultSLSIndexDelay is Options.SLSIndexDelay's default: real SLS makes a
// write searchable by GetLogs about 3 s after it was received.
const DefaultSLSIndexDelay = 3 * time.Second

// NoSLSIndexDelay, as Options.SLSIndexDelay, makes every log searchable as
// soon as it is received: not what SLS does, so only for a test that says why.
const NoSLSIndexDelay time.Duration = -1

func (c *Cloud) ecsRateLimit() float64 {
	if c.opts.ECSRateLimit > 0 {
		return c.opts.ECSRateLimit
	}
	return DefaultECSRateLimit
}

func (o Options) slsIndexDelay() time.Duration {
	if o.SLSIndexDelay == 0 {
		return DefaultSLSIndexDelay
	}
	return max(o.SLSIndexDelay, 0)
}

// Cloud is a running localcloud.
type Cloud struct {
	opts     Options
	Clock    *vclock.Clock
	Auth     *auth.Store
	Stats    *stats.Stats
	Faults   *faults.Set
	ECS      *ecs.Server
	SLS      *sls.Server
	DingTalk *dingtalk.Sink
	Runtime  *fcrt.Runtime
	FC       *fcapi.Server // the FC 3.0 API (InvokeFunction) over Runtime
	RAM      *ram.Server   // RAM's read API over the seed's roles
	// ActionTrail serves the trails (DescribeTrails, GetTrailStatus); every
	// successful ECS write is delivered to the logstore of each one logging.
	ActionTrail *actiontrail.Server
	// Bus is the default region's EventBridge default bus; BusOf gives any
	// region's. Like the cloud's, each region's default bus receives only the
	// events of that region and delivers only to that region's rules (the
	// eventbridge triggers of the functions deployed there).
	Bus     *eventbus.Bus
	Timers  *timers.Scheduler
	Project *sconfig.Project

	operator   auth.Credential
	signingKey string
	region     string
	seed       Seed

	ln   net.Listener
	srv  *http.Server
	addr string

	trailProject, trailLogstore string

	busMu sync.Mutex
	buses map[string]*eventbus.Bus // region → its default bus (c.Bus is buses[c.region])

	mu        sync.Mutex
	disabled  map[string]bool // "function/trigger" → disabled
	logTrig   []*logTrigger
	published atomic.Int64
	advanceMu sync.Mutex
}

// Endpoints is what a client needs to talk to localcloud (GET /_localcloud/endpoints
// and `porthygiene local --endpoints-file`).
type Endpoints struct {
	Addr            string        `json:"addr"`
	Region          string        `json:"region"`
	AccountID       string        `json:"accountId"`
	AccessKeyID     string        `json:"accessKeyId"`
	AccessKeySecret string        `json:"accessKeySecret"`
	UserName        string        `json:"userName"`
	ECSEndpoint     string        `json:"ecsEndpoint"`
	SLSEndpoint     string        `json:"slsEndpoint"`
	FCEndpoint      string        `json:"fcEndpoint"`
	RAMEndpoint     string        `json:"ramEndpoint"`
	TrailEndpoint   string        `json:"actiontrailEndpoint"`
	HTTPProxy       string        `json:"httpProxy"`
	Ledger          LedgerAddr    `json:"ledger"`
	Trail           LedgerAddr    `json:"actiontrail"`
	Robots          []RobotAddr   `json:"dingtalk"`
	Functions       []FunctionRef `json:"functions"`
}

// LedgerAddr names an SLS logstore.
type LedgerAddr struct {
	Project  string `json:"project"`
	Logstore string `json:"logstore"`
}

// RobotAddr is a DingTalk robot served by the sink. The webhook and secret are
// local test values, not real credentials.
type RobotAddr struct {
	Name    string `json:"name"`
	Webhook string `json:"webhook"`
	Secret  string `json:"secret"`
	Keyword string `json:"keyword,omitempty"`
}

// FunctionRef is one function and its triggers.
type FunctionRef struct {
	Resource string   `json:"resource"`
	Name     string   `json:"name"`
	Triggers []string `json:"triggers"`
	HTTPURL  string   `json:"httpUrl,omitempty"`
}

// Start listens, loads the seed and the s.yaml functions, wires the triggers and
// serves until Close.
func Start(opts Options) (*Cloud, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if !opts.ListenAny {
		if err := CheckListenAddr(opts.Addr); err != nil {
			return nil, fmt.Errorf("localcloud: %w", err)
		}
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	seed := Seed{}
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	if seed.Region == "" {
		seed.Region = "cn-hangzhou"
	}
	c := &Cloud{
		opts:       opts,
		Clock:      vclock.New(start),
		Auth:       auth.NewStore(),
		Stats:      &stats.Stats{},
		Faults:     &faults.Set{},
		Bus:        &eventbus.Bus{},
		Timers:     timers.NewScheduler(start),
		region:     seed.Region,
		seed:       seed,
		disabled:   map[string]bool{},
		signingKey: randomHex(24),
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("localcloud: listen %s: %w", opts.Addr, err)
	}
	c.ln = ln
	c.addr = ln.Addr().String()

	if seed.Operator.AccessKeyID != "" {
		c.operator = c.Auth.AddUserWithKeys(seed.Operator.UserName, seed.Operator.AccessKeyID, seed.Operator.AccessKeySecret)
	} else {
		name := seed.Operator.UserName
		if name == "" {
			name = "ops-admin"
		}
		c.operator = c.Auth.AddUser(name)
	}

	c.buses = map[string]*eventbus.Bus{c.region: c.Bus}
	c.ECS = ecs.New(ecs.Config{Clock: c.Clock, Auth: c.Auth, Stats: c.Stats, Faults: c.Faults, Trail: actiontrail.SinkFunc(c.emit), DefaultRegion: c.region, RateLimit: c.ecsRateLimit()})
	c.SLS = sls.New(sls.Config{Clock: c.Clock, Auth: c.Auth, Stats: c.Stats, Faults: c.Faults, IndexDelay: opts.slsIndexDelay()})
	c.RAM = ram.New(ram.Config{Auth: c.Auth, Stats: c.Stats, Faults: c.Faults, Clock: c.Clock, AccountID: auth.AccountID})
	c.ActionTrail = actiontrail.NewServer(actiontrail.ServerConfig{Auth: c.Auth, Stats: c.Stats, Faults: c.Faults, Clock: c.Clock, AccountID: auth.AccountID})
	c.DingTalk = dingtalk.New(dingtalk.Config{Clock: c.Clock, Stats: c.Stats, Faults: c.Faults})
	c.Runtime = fcrt.New(fcrt.Config{Clock: c.Clock, Auth: c.Auth, Stats: c.Stats, AccountID: auth.AccountID, LogDir: opts.LogDir})
	c.FC = fcapi.New(fcapi.Config{Auth: c.Auth, Runtime: c.Runtime, Clock: c.Clock, Stats: c.Stats, Faults: c.Faults,
		Delay: func(d time.Duration, fn func()) { c.Timers.Once("async-delay", c.Clock.Now().Add(d), fn) },
		Exists: func(name string) bool {
			for _, fn := range c.functions() {
				if fn.Name == name {
					return true
				}
			}
			return false
		}})

	if err := c.load(seed); err != nil {
		ln.Close()
		return nil, err
	}
	if opts.Config != "" {
		if err := c.loadFunctions(opts.Config); err != nil {
			c.Runtime.Close()
			ln.Close()
			return nil, err
		}
	}
	// Without a seed trail of that name, the trail the s.yaml trigger reads
	// exists and logs, as in the account the functions were deployed to.
	if name, ok := strings.CutPrefix(c.trailLogstore, "actiontrail_"); ok && c.trailProject != "" &&
		!slices.ContainsFunc(c.ActionTrail.Trails(), func(t actiontrail.Trail) bool { return t.Name == name }) {
		c.ActionTrail.SetTrail(actiontrail.Trail{Name: name, HomeRegion: c.region, SlsProject: c.trailProject})
	}
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
	go c.srv.Serve(ln)
	return c, nil
}

// Addr is the listener's host:port.
func (c *Cloud) Addr() string { return c.addr }

// URL is http://Addr.
func (c *Cloud) URL() string { return "http://" + c.addr }

// ClockURL is the control API's clock (GET answers {"now":"<RFC 3339>"}):
// the trusted time source every function is given (PORTHYGIENE_TIME_URL).
func (c *Cloud) ClockURL() string { return c.URL() + "/_localcloud/clock" }

// Region is the default region.
func (c *Cloud) Region() string { return c.region }

// Operator returns the operator's RAM-user credentials.
func (c *Cloud) Operator() auth.Credential { return c.operator }

// Close stops the functions and the listener.
func (c *Cloud) Close() error {
	err := c.Runtime.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.srv.Shutdown(ctx)
	return err
}

// load installs the seed: ECS world, SLS projects, robots.
func (c *Cloud) load(s Seed) error {
	if err := c.ECS.Load(ecs.World{Regions: s.Regions}); err != nil {
		return fmt.Errorf("localcloud: seed: %w", err)
	}
	for _, p := range s.Projects {
		if err := c.ensureLogstore(p.Name, "", false); err != nil {
			return err
		}
		for _, ls := range p.Logstores {
			if err := c.SLS.CreateLogstore(p.Name, ls.Name, max(ls.Shards, 1)); err != nil {
				return fmt.Errorf("localcloud: seed logstore %s/%s: %w", p.Name, ls.Name, err)
			}
			if ls.NoIndex {
				continue
			}
			if err := c.SLS.CreateIndex(p.Name, ls.Name, nil); err != nil {
				return fmt.Errorf("localcloud: seed logstore %s/%s: index: %w", p.Name, ls.Name, err)
			}
		}
	}
	for _, r := range s.Roles {
		if err := c.RAM.AddRole(r); err != nil {
			return fmt.Errorf("localcloud: seed: %w", err)
		}
	}
	for _, t := range s.Trails {
		tr := actiontrail.Trail{Name: t.Name, HomeRegion: cmp.Or(t.Region, c.region), SlsProject: t.Project, Stopped: t.Stopped}
		if t.Name == "" || t.Project == "" {
			return fmt.Errorf("localcloud: seed trail %q: Name and Project are required", t.Name)
		}
		// ActionTrail creates the trail's logstore, with an index.
		if err := c.ensureLogstore(tr.SlsProject, tr.Logstore(), true); err != nil {
			return err
		}
		c.ActionTrail.SetTrail(tr)
	}
	// VPC flow logs create their logstore with an index.
	for _, fl := range s.FlowLogs {
		if err := c.ensureLogstore(fl.ProjectName, fl.LogStoreName, true); err != nil {
			return err
		}
	}
	robots := s.Robots
	if len(robots) == 0 {
		robots = []dingtalk.Robot{{Name: "ops", AccessToken: "local-ops-token", Secret: "SEClocal-ops-secret", Keywords: []string{"porthygiene"}}}
		c.seed.Robots = robots
	}
	for _, r := range robots {
		c.DingTalk.AddRobot(r)
	}
	return nil
}

// ensureLogstore creates a project and (unless logstore is empty) a logstore
// in it, unless they exist. A logstore it creates gets SLS's default index when
// indexed, as the service or the operator's setup that creates it in a real
// account gives it one; an existing logstore (a seed's) is left as it is.
func (c *Cloud) ensureLogstore(project, logstore string, indexed bool) error {
	// CreateProject leaves an existing project as it is.
	if err := c.SLS.CreateProject(project); err != nil {
		return fmt.Errorf("localcloud: create project %s: %w", project, err)
	}
	if logstore == "" {
		return nil
	}
	_, err := c.SLS.Shards(project, logstore)
	existed := err == nil
	if err != nil && !errors.Is(err, sls.ErrLogStoreNotExist) {
		return fmt.Errorf("localcloud: logstore %s/%s: %w", project, logstore, err)
	}
	if err := c.SLS.CreateLogstore(project, logstore, 2); err != nil {
		return fmt.Errorf("localcloud: create logstore %s/%s: %w", project, logstore, err)
	}
	if indexed && !existed {
		if err := c.SLS.CreateIndex(project, logstore, nil); err != nil {
			return fmt.Errorf("localcloud: index logstore %s/%s: %w", project, logstore, err)
		}
	}
	return nil
}

// functionEnv is what points a function at localcloud: only the variables that
// s.yaml already reads with ${env(...)}, plus HTTP_PROXY for the SLS SDK and
// PORTHYGIENE_TIME_URL for the virtual clock (registerFunction).
func (c *Cloud) functionEnv() map[string]string {
	robots, _ := json.Marshal(c.robotAddrs())
	return map[string]string{
		"ECS_ENDPOINT":    c.URL(),
		"SLS_ENDPOINT":    "http://" + c.region + ".log.aliyuncs.com",
		"FCAPI_ENDPOINT":  c.URL(), // the FC API (the sweep's fan-out), routed by path
		"DINGTALK_ROBOTS": string(robots),
		"APPROVE_URL":     c.URL() + "/http/approve",
		// A signing key for the decision links, local to this run.
		"APPROVE_SIGNING_KEY": c.signingKey,
	}
}

// SigningKey is the approve links' signing key of this run (tests check it
// reaches no log line, message or ledger record).
func (c *Cloud) SigningKey() string { return c.signingKey }

func (c *Cloud) robotAddrs() []RobotAddr {
	var out []RobotAddr
	for _, r := range c.seed.Robots {
		ra := RobotAddr{Name: r.Name, Webhook: c.URL() + "/robot/send?access_token=" + r.AccessToken, Secret: r.Secret}
		if len(r.Keywords) > 0 {
			ra.Keyword = r.Keywords[0]
		}
		out = append(out, ra)
	}
	return out
}

func (c *Cloud) loadFunctions(path string) error {
	local := c.functionEnv()
	getenv := c.opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	// What this localcloud allows, unless the environment says otherwise.
	defaults := map[string]string{"PORTHYGIENE_ECS_QPS": strconv.FormatFloat(c.ecsRateLimit(), 'f', -1, 64)}
	proj, err := sconfig.Load(path, func(k string) string {
		if v, ok := local[k]; ok {
			return v
		}
		if v := getenv(k); v != "" {
			return v
		}
		return defaults[k]
	}, sconfig.WithAccountID(auth.AccountID))
	if err != nil {
		return fmt.Errorf("localcloud: %w", err)
	}
	c.Project = proj
	var kept []sconfig.Function
	for _, fn := range proj.Functions {
		if c.opts.Only != nil && !slices.Contains(c.opts.Only, fn.Resource) {
			continue
		}
		kept = append(kept, fn)
		if err := c.registerFunction(fn); err != nil {
			return err
		}
	}
	proj.Functions = kept
	return nil
}

func (c *Cloud) registerFunction(fn sconfig.Function) error {
	codeDir := fn.CodeDir
	if d, ok := c.opts.CodeDirs[fn.Resource]; ok {
		codeDir = d
	}
	bin := filepath.Join(codeDir, fn.Handler)
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("localcloud: function %s: binary %s not found (run `make build`): %w", fn.Resource, bin, err)
	}
	// The virtual clock reaches the functions through their trusted time
	// source (PORTHYGIENE_TIME_URL, read once per invocation), never through
	// trigger payloads: a function trusts a payload's time only within a few
	// seconds of its wall clock. Options.Env may override it (tests of a
	// failing source).
	env := map[string]string{"PORTHYGIENE_TIME_URL": c.ClockURL()}
	for k, v := range fn.Env {
		env[k] = v
	}
	for k, v := range c.opts.Env {
		env[k] = v
	}
	// The SLS SDK cannot take an IP endpoint; the standard proxy variable routes
	// its requests (and only plain-http ones) to localcloud.
	env["HTTP_PROXY"] = c.URL()
	env["http_proxy"] = c.URL()
	retries := 0
	if fn.AsyncRetryAttempts != nil {
		retries = *fn.AsyncRetryAttempts
		if retries == 0 {
			retries = -1 // explicit 0 in s.yaml: no retries
		}
	}
	spec := fcrt.FunctionSpec{
		Name: fn.Name, Region: fn.Region, Handler: fn.Handler, CodeDir: codeDir,
		Role: fn.RoleName, Timeout: fn.Timeout, MemoryMB: fn.MemoryMB, Env: env,
		Initializer: fn.HasInitializer, MaxAsyncRetryAttempts: retries, MaxAsyncEventAge: fn.AsyncMaxEventAge,
	}
	if err := c.Runtime.Register(spec); err != nil {
		return fmt.Errorf("localcloud: register %s: %w", fn.Name, err)
	}
	for _, t := range fn.Triggers {
		if err := c.wireTrigger(fn, t); err != nil {
			return fmt.Errorf("localcloud: function %s trigger %s: %w", fn.Resource, t.Name, err)
		}
	}
	// The ledger logstore the function writes to exists in a prepared account,
	// with the index the operator's setup gives it.
	if p, ls := env["LEDGER_PROJECT"], env["LEDGER_LOGSTORE"]; p != "" && ls != "" {
		if err := c.ensureLogstore(p, ls, true); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cloud) triggerKey(fn, trigger string) string { return fn + "/" + trigger }

// SetTriggerEnabled turns one trigger of a function (by s.yaml resource or
// function name) on or off, e.g. to prove that another delivery path alone works.
func (c *Cloud) SetTriggerEnabled(function, trigger string, enabled bool) error {
	for _, fn := range c.functions() {
		if fn.Resource != function && fn.Name != function {
			continue
		}
		for _, t := range fn.Triggers {
			if t.Name == trigger {
				c.mu.Lock()
				c.disabled[c.triggerKey(fn.Name, t.Name)] = !enabled
				c.mu.Unlock()
				return nil
			}
		}
	}
	return fmt.Errorf("no trigger %s on function %s", trigger, function)
}

func (c *Cloud) triggerEnabled(fn, trigger string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.disabled[c.triggerKey(fn, trigger)]
}

func (c *Cloud) functions() []sconfig.Function {
	if c.Project == nil {
		return nil
	}
	return c.Project.Functions
}

func (c *Cloud) wireTrigger(fn sconfig.Function, t sconfig.Trigger) error {
	name := fn.Name
	switch t.Type {
	case "timer":
		if !t.Timer.Enable {
			return nil
		}
		sched, err := timers.Parse(t.Timer.CronExpression)
		if err != nil {
			return err
		}
		trig := t.Name
		c.Timers.Add(name+"/"+trig, sched, t.Timer.Payload, func(e timers.TimerEvent) {
			if !c.triggerEnabled(name, trig) {
				return
			}
			e.TriggerName = trig
			c.Runtime.InvokeAsync(name, e.JSON(), fcrt.InvokeOptions{Trigger: trig})
		})
	case "eventbridge":
		if !t.EventBridge.Enable {
			return nil
		}
		p, err := eventbus.CompilePattern(t.EventBridge.Pattern)
		if err != nil {
			return err
		}
		trig := t.Name
		// The trigger is a rule on the default bus of the function's region.
		c.BusOf(fn.Region).Subscribe(name+"/"+trig, p, func(ev eventbus.Event, payload []byte) {
			if !c.triggerEnabled(name, trig) {
				return
			}
			c.Runtime.InvokeAsync(name, payload, fcrt.InvokeOptions{Trigger: trig})
		})
	case "log":
		if !t.Log.Enable {
			return nil
		}
		return c.wireLogTrigger(fn, t)
	case "http":
		// Served by ServeHTTP under /http/<resource>/ and /http/<function name>/.
	default:
		return fmt.Errorf("unsupported trigger type %q", t.Type)
	}
	return nil
}

// emit is the ActionTrail sink: every successful ECS write goes to EventBridge
// and to the trail's logstore, as ActionTrail delivers it.
func (c *Cloud) emit(rec actiontrail.Record) {
	region := rec.AcsRegion
	if region == "" {
		region = c.region
	}
	c.published.Add(1)
	c.BusOf(region).Publish(eventbus.CloudEvent(rec, region))
	for _, t := range c.ActionTrail.Trails() {
		if t.Stopped {
			continue
		}
		body, err := json.Marshal(rec)
		if err == nil {
			_, err = c.SLS.Append(t.SlsProject, t.Logstore(), sls.LogGroupInput{
				Topic:  "actiontrail_audit_event",
				Source: "actiontrail",
				Logs:   []sls.Log{{Time: c.Clock.Now(), Contents: [][2]string{{"event", string(body)}, {"owner_id", auth.AccountID}}}},
			})
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "localcloud: actiontrail delivery to %s/%s: %v\n", t.SlsProject, t.Logstore(), err)
		}
	}
}

// BusOf is the EventBridge default bus of region (the default region when
// empty), created on first use with the fault options of the default bus.
func (c *Cloud) BusOf(region string) *eventbus.Bus {
	if region == "" {
		region = c.region
	}
	c.busMu.Lock()
	defer c.busMu.Unlock()
	b, ok := c.buses[region]
	if !ok {
		b = &eventbus.Bus{}
		b.SetOptions(c.Bus.Options())
		c.buses[region] = b
	}
	return b
}

// allBuses lists every region's default bus.
func (c *Cloud) allBuses() []*eventbus.Bus {
	c.busMu.Lock()
	defer c.busMu.Unlock()
	out := make([]*eventbus.Bus, 0, len(c.buses))
	for _, b := range c.buses {
		out = append(out, b)
	}
	return out
}

// setBusOptions applies delivery faults to every region's default bus.
func (c *Cloud) setBusOptions(o eventbus.Options) {
	c.busMu.Lock()
	defer c.busMu.Unlock()
	for _, b := range c.buses {
		b.SetOptions(o)
	}
}

func (c *Cloud) waitBuses(ctx context.Context) error {
	for _, b := range c.allBuses() {
		if err := b.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Settle waits until no event is queued and no invocation runs, including the
// work that finishing invocations caused (their writes emit new events).
func (c *Cloud) Settle(ctx context.Context) error {
	for {
		before := c.published.Load()
		if err := c.waitBuses(ctx); err != nil {
			return err
		}
		if err := c.Runtime.Wait(ctx); err != nil {
			return err
		}
		if err := c.waitBuses(ctx); err != nil {
			return err
		}
		if c.published.Load() == before {
			return nil
		}
	}
}

// Advance moves the virtual clock by d, firing every due timer (and log trigger)
// in time order; each fire's invocations finish before the next instant.
func (c *Cloud) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	c.advanceMu.Lock()
	defer c.advanceMu.Unlock()
	if err := c.Settle(ctx); err != nil {
		return c.Clock.Now(), err
	}
	target := c.Clock.Now().Add(d)
	for {
		next, ok := c.Timers.NextFire()
		if !ok || next.After(target) {
			break
		}
		c.Clock.Set(next)
		c.Timers.AdvanceTo(next)
		if err := c.Settle(ctx); err != nil {
			return c.Clock.Now(), err
		}
	}
	c.Clock.Set(target)
	c.Timers.AdvanceTo(target)
	return c.Clock.Now(), c.Settle(ctx)
}

// Endpoints describes how to reach this localcloud.
func (c *Cloud) Endpoints() Endpoints {
	e := Endpoints{
		Addr: c.addr, Region: c.region, AccountID: auth.AccountID,
		AccessKeyID: c.operator.AccessKeyID, AccessKeySecret: c.operator.AccessKeySecret, UserName: c.operator.Identity.UserName,
		ECSEndpoint: c.URL(), SLSEndpoint: "http://" + c.region + ".log.aliyuncs.com", FCEndpoint: c.URL(), HTTPProxy: c.URL(),
		RAMEndpoint: c.URL(), TrailEndpoint: c.URL(),
		Trail:  LedgerAddr{Project: c.trailProject, Logstore: c.trailLogstore},
		Robots: c.robotAddrs(),
	}
	for _, fn := range c.functions() {
		ref := FunctionRef{Resource: fn.Resource, Name: fn.Name}
		for _, t := range fn.Triggers {
			ref.Triggers = append(ref.Triggers, t.Type+":"+t.Name)
			if t.Type == "http" {
				ref.HTTPURL = c.URL() + "/http/" + fn.Resource
			}
		}
		if e.Ledger.Project == "" && fn.Env["LEDGER_PROJECT"] != "" {
			e.Ledger = LedgerAddr{Project: fn.Env["LEDGER_PROJECT"], Logstore: fn.Env["LEDGER_LOGSTORE"]}
		}
		e.Functions = append(e.Functions, ref)
	}
	sort.Slice(e.Functions, func(i, j int) bool { return e.Functions[i].Resource < e.Functions[j].Resource })
	return e
}

// function finds a function by s.yaml resource name or function name.
func (c *Cloud) function(name string) (sconfig.Function, bool) {
	for _, fn := range c.functions() {
		if fn.Resource == name || fn.Name == name {
			return fn, true
		}
	}
	return sconfig.Function{}, false
}

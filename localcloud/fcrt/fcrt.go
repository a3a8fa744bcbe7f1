package fcrt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
	"github.com/porthygiene/porthygiene/localcloud/stats"
)

// Defaults applied by Register and New.
const (
	DefaultTimeout          = 3 * time.Second // fc3 default
	DefaultMemoryMB         = 512             // fc3 default
	DefaultRegion           = "cn-hangzhou"
	DefaultMaxAsyncRetries  = 3
	DefaultMaxAsyncEventAge = 18000 * time.Second // fc3 schema default
	DefaultMaxInstances     = 4
	DefaultRetryBackoff     = 50 * time.Millisecond
	DefaultStartTimeout     = 10 * time.Second
	DefaultLogBytes         = 1 << 20

	maxAsyncRetries = 8              // fc3 schema: 0–8
	credTTL         = 36 * time.Hour // STS lifetime handed to functions
	credRefresh     = time.Hour      // renew when this close to expiry
	maxRecords      = 10000          // kept in memory for Invocations
	maxRecordBody   = 64 << 10       // response bytes kept per record
	maxResultBody   = 32 << 20       // response bytes read from a function
	runtimeAPIPath  = "/2020-11-11/runtime/invocation/"
)

// Errors that Invoke and Register wrap; check them with errors.Is.
var (
	ErrUnknownFunction = errors.New("unknown function")
	ErrClosed          = errors.New("runtime closed")
)

// Clock reads the virtual time.
type Clock interface{ Now() time.Time }

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// Status is the outcome of one attempt.
type Status string

// Statuses of an InvocationRecord and a Result.
const (
	StatusRunning Status = "running"
	StatusOK      Status = "ok"
	StatusError   Status = "error"
	StatusTimeout Status = "timeout"
)

// FunctionSpec describes one function, as s.yaml does.
type FunctionSpec struct {
	Name, Region, Handler string // Handler: binary path relative to CodeDir ("main")
	CodeDir               string
	// Role is the RAM role name; per-invocation STS credentials are issued
	// for it with the function name as session name. Empty: no credentials.
	Role string
	// Timeout is enforced by the emulator; zero means DefaultTimeout.
	Timeout  time.Duration
	MemoryMB int // zero means DefaultMemoryMB
	// Env is the function's environment (s.yaml plus localcloud's endpoint
	// variables). Keys start with a letter, hold letters, digits and '_',
	// and must not start with FC_ (reserved).
	Env map[string]string
	// Initializer sends an x-fc-function-type: 1 invocation first on each
	// new instance.
	Initializer bool
	// MaxAsyncRetryAttempts: zero means DefaultMaxAsyncRetries, negative
	// means no retries, at most 8.
	MaxAsyncRetryAttempts int
	// MaxAsyncEventAge: zero means DefaultMaxAsyncEventAge.
	MaxAsyncEventAge time.Duration
}

// Config configures a Runtime. Zero fields take the documented defaults.
type Config struct {
	Clock     Clock        // virtual clock; nil means the wall clock
	Auth      *auth.Store  // issues the per-invocation STS credentials
	Stats     *stats.Stats // nil: not counted
	AccountID string       // default auth.AccountID
	// LogDir, if set, receives <function>.log with every instance's
	// stdout and stderr (also kept in memory, the last 1 MiB per function).
	LogDir string
	// MaxInstances caps concurrent instances per function; default 4.
	MaxInstances int
	// RetryBackoff is the first async retry delay (wall clock), doubled
	// per retry; default 50ms.
	RetryBackoff time.Duration
	// StartTimeout bounds how long a new process may take to poll /next;
	// default 10s.
	StartTimeout time.Duration
}

// InvokeOptions labels an invocation.
type InvokeOptions struct {
	// Trigger names what caused the invocation (e.g. the trigger name, or
	// "timer", "eventbridge"); it is only recorded.
	Trigger string
	// RequestID, when set, is the invocation's request id (one answered
	// earlier, for a delayed asynchronous invocation).
	RequestID string
}

// Result is the outcome of a synchronous invocation.
type Result struct {
	RequestID string
	Status    Status // ok, error or timeout
	// Payload is what the function posted: its JSON response on success,
	// the SDK's error JSON ({"errorMessage","errorType",...}) on error. For
	// a timeout or a crash the emulator writes an error JSON of its own.
	Payload      []byte
	ErrorMessage string // errorMessage of the error JSON
	ErrorType    string // errorType of the error JSON
}

// Failed reports whether the function did not succeed.
func (r Result) Failed() bool { return r.Status != StatusOK }

// InvocationRecord is one attempt, as GET /_localcloud/invocations shows it.
type InvocationRecord struct {
	ID          string    `json:"id"` // request id, shared by the attempts of an async invocation
	Function    string    `json:"function"`
	Trigger     string    `json:"trigger,omitempty"`
	Async       bool      `json:"async"`
	Initializer bool      `json:"initializer,omitempty"`
	Instance    string    `json:"instance,omitempty"`
	RetryCount  int       `json:"retryCount"`
	Start       time.Time `json:"start"`        // wall clock
	End         time.Time `json:"end,omitzero"` // wall clock; zero while running
	VirtualTime time.Time `json:"virtualTime"`  // virtual clock at start
	Status      Status    `json:"status"`       // running, ok, error or timeout
	Error       string    `json:"error,omitempty"`
	Response    string    `json:"response,omitempty"` // first 64 KiB
}

// Runtime runs functions. Its methods are safe for concurrent use.
type Runtime struct {
	cfg    Config
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu      sync.Mutex
	fns     map[string]*function
	records []*InvocationRecord
	busy    int           // invocations queued, running or waiting for a retry
	idle    chan struct{} // closed when busy drops to 0
	closed  bool
	kills   map[string][]time.Duration // KillNext: per function, the next invocations' cut-offs
}

// KillNext makes the next invocation of fn that runs longer than d end as a
// timeout at d: its process is killed d into the run, as FC kills an
// invocation at its timeout, whatever it was doing (between a backup and a
// revoke, between a revoke and its record). An invocation that finishes
// sooner passes the kill on to the next. Calls queue: each kills one.
func (rt *Runtime) KillNext(fn string, d time.Duration) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.kills == nil {
		rt.kills = map[string][]time.Duration{}
	}
	rt.kills[fn] = append(rt.kills[fn], d)
}

// putKillBack returns an unused cut-off to the front of fn's queue.
func (rt *Runtime) putKillBack(fn string, d time.Duration) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.kills[fn] = append([]time.Duration{d}, rt.kills[fn]...)
}

// takeKill returns the cut-off KillNext set for fn's next invocation, if any.
func (rt *Runtime) takeKill(fn string) (time.Duration, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	q := rt.kills[fn]
	if len(q) == 0 {
		return 0, false
	}
	rt.kills[fn] = q[1:]
	return q[0], true
}

// New returns a Runtime with no functions.
func New(cfg Config) *Runtime {
	if cfg.Clock == nil {
		cfg.Clock = wallClock{}
	}
	if cfg.AccountID == "" {
		cfg.AccountID = auth.AccountID
	}
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = DefaultMaxInstances
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	idle := make(chan struct{})
	close(idle)
	return &Runtime{cfg: cfg, ctx: ctx, cancel: cancel, fns: map[string]*function{}, idle: idle}
}

var envKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// Register adds a function. It checks the spec and that the handler binary
// exists; no process starts until the first invocation.
func (rt *Runtime) Register(spec FunctionSpec) error {
	if spec.Name == "" {
		return errors.New("register function: empty name")
	}
	if spec.Handler == "" {
		return fmt.Errorf("register function %s: empty handler", spec.Name)
	}
	codeDir, err := filepath.Abs(spec.CodeDir)
	if err != nil {
		return fmt.Errorf("register function %s: code dir: %w", spec.Name, err)
	}
	spec.CodeDir = codeDir
	bin := filepath.Join(codeDir, spec.Handler)
	st, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("register function %s: handler: %w", spec.Name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("register function %s: handler %s is not a regular file", spec.Name, bin)
	}
	if spec.Role != "" && rt.cfg.Auth == nil {
		return fmt.Errorf("register function %s: role %s needs Config.Auth", spec.Name, spec.Role)
	}
	switch {
	case spec.Timeout < 0:
		return fmt.Errorf("register function %s: negative timeout", spec.Name)
	case spec.Timeout == 0:
		spec.Timeout = DefaultTimeout
	}
	if spec.MemoryMB <= 0 {
		spec.MemoryMB = DefaultMemoryMB
	}
	if spec.Region == "" {
		spec.Region = DefaultRegion
	}
	switch {
	case spec.MaxAsyncRetryAttempts > maxAsyncRetries:
		return fmt.Errorf("register function %s: maxAsyncRetryAttempts %d above %d", spec.Name, spec.MaxAsyncRetryAttempts, maxAsyncRetries)
	case spec.MaxAsyncRetryAttempts == 0:
		spec.MaxAsyncRetryAttempts = DefaultMaxAsyncRetries
	case spec.MaxAsyncRetryAttempts < 0:
		spec.MaxAsyncRetryAttempts = 0
	}
	if spec.MaxAsyncEventAge <= 0 {
		spec.MaxAsyncEventAge = DefaultMaxAsyncEventAge
	}
	env := make(map[string]string, len(spec.Env))
	for k, v := range spec.Env {
		if !envKey.MatchString(k) {
			return fmt.Errorf("register function %s: env %q: invalid key", spec.Name, k)
		}
		if strings.HasPrefix(k, "FC_") {
			return fmt.Errorf("register function %s: env %s: FC_ prefix is reserved", spec.Name, k)
		}
		env[k] = v
	}
	spec.Env = env

	logs := &logBuffer{max: DefaultLogBytes}
	if rt.cfg.LogDir != "" {
		if err := os.MkdirAll(rt.cfg.LogDir, 0o755); err != nil {
			return fmt.Errorf("register function %s: log dir: %w", spec.Name, err)
		}
		f, err := os.OpenFile(filepath.Join(rt.cfg.LogDir, spec.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("register function %s: log file: %w", spec.Name, err)
		}
		logs.file = f
	}

	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		logs.close()
		return ErrClosed
	}
	if _, ok := rt.fns[spec.Name]; ok {
		logs.close()
		return fmt.Errorf("register function %s: already registered", spec.Name)
	}
	rt.fns[spec.Name] = &function{
		spec:  spec,
		bin:   bin,
		slots: make(chan struct{}, rt.cfg.MaxInstances),
		all:   map[*instance]struct{}{},
		logs:  logs,
	}
	return nil
}

func (rt *Runtime) function(name string) (*function, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrClosed
	}
	f, ok := rt.fns[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownFunction, name)
	}
	return f, nil
}

func options(opts []InvokeOptions) InvokeOptions {
	var o InvokeOptions
	for _, x := range opts {
		if x.Trigger != "" {
			o.Trigger = x.Trigger
		}
	}
	return o
}

// Invoke runs fn synchronously, as FC's InvokeFunction does, and is never
// retried. A function error or timeout is not a Go error: it is in the
// Result. The error is non-nil for an unknown function, a closed runtime,
// a process that cannot start, or ctx ending. If ctx ends after the event
// was handed to an instance, the function keeps running to completion and
// is recorded; Invoke returns ctx.Err() at once.
func (rt *Runtime) Invoke(ctx context.Context, fn string, payload []byte, opts ...InvokeOptions) (Result, error) {
	f, err := rt.function(fn)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return Result{}, fmt.Errorf("invoke %s: %w", fn, err)
	}
	if !rt.begin() {
		return Result{}, fmt.Errorf("invoke %s: %w", fn, ErrClosed)
	}
	type answer struct {
		res Result
		err error
	}
	ch := make(chan answer, 1)
	id := newRequestID()
	o := options(opts)
	go func() {
		defer rt.end()
		res, err := rt.attempt(ctx, f, id, payload, 0, o, false)
		ch <- answer{res, err}
	}()
	select {
	case a := <-ch:
		if a.err != nil {
			return a.res, fmt.Errorf("invoke %s: %w", fn, a.err)
		}
		return a.res, nil
	case <-ctx.Done():
		return Result{RequestID: id}, fmt.Errorf("invoke %s: %w", fn, ctx.Err())
	}
}

// InvokeAsync queues an event for fn and returns its request id at once.
// Failed attempts are retried as the package doc says. For an unknown
// function or a closed runtime, an error record is kept under the id.
func (rt *Runtime) InvokeAsync(fn string, payload []byte, opts ...InvokeOptions) string {
	o := options(opts)
	id := o.RequestID
	if id == "" {
		id = newRequestID()
	}
	f, err := rt.function(fn)
	if err == nil && !rt.begin() {
		err = ErrClosed
	}
	if err != nil {
		now := time.Now()
		rt.addRecord(&InvocationRecord{
			ID: id, Function: fn, Trigger: o.Trigger, Async: true,
			Start: now, End: now, VirtualTime: rt.cfg.Clock.Now(),
			Status: StatusError, Error: err.Error(),
		})
		return id
	}
	go func() {
		defer rt.end()
		rt.runAsync(f, id, payload, o)
	}()
	return id
}

func (rt *Runtime) runAsync(f *function, id string, payload []byte, o InvokeOptions) {
	wallStart, virtStart := time.Now(), rt.cfg.Clock.Now()
	for n := 0; ; n++ {
		res, err := rt.attempt(rt.ctx, f, id, payload, n, o, true)
		if err != nil || !res.Failed() || n >= f.spec.MaxAsyncRetryAttempts {
			return
		}
		backoff := rt.cfg.RetryBackoff << n
		age := max(time.Since(wallStart), rt.cfg.Clock.Now().Sub(virtStart)) + backoff
		if age > f.spec.MaxAsyncEventAge {
			return
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-rt.ctx.Done():
			t.Stop()
			return
		}
	}
}

// Wait blocks until no invocation is queued, running or waiting for a
// retry, or ctx ends.
func (rt *Runtime) Wait(ctx context.Context) error {
	rt.mu.Lock()
	idle := rt.idle
	rt.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for invocations: %w", ctx.Err())
	}
}

func (rt *Runtime) begin() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return false
	}
	if rt.busy == 0 {
		rt.idle = make(chan struct{})
	}
	rt.busy++
	return true
}

func (rt *Runtime) end() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.busy--
	if rt.busy == 0 {
		close(rt.idle)
	}
}

// Invocations returns a copy of the attempt records, oldest first (the last
// 10,000).
func (rt *Runtime) Invocations() []InvocationRecord {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]InvocationRecord, len(rt.records))
	for i, r := range rt.records {
		out[i] = *r
	}
	return out
}

func (rt *Runtime) addRecord(r *InvocationRecord) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if len(rt.records) >= maxRecords {
		drop := maxRecords / 10
		rt.records = append(rt.records[:0], rt.records[drop:]...)
	}
	rt.records = append(rt.records, r)
}

func (rt *Runtime) finishRecord(r *InvocationRecord, status Status, msg string, body []byte) {
	if len(body) > maxRecordBody {
		body = body[:maxRecordBody]
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	r.End = time.Now()
	r.Status = status
	r.Error = msg
	r.Response = string(body)
}

// Logs returns the last 1 MiB of fn's stdout and stderr, all instances
// interleaved; "" for an unknown function.
func (rt *Runtime) Logs(fn string) string {
	rt.mu.Lock()
	f := rt.fns[fn]
	rt.mu.Unlock()
	if f == nil {
		return ""
	}
	return f.logs.String()
}

// Close kills every instance, stops retries and waits for in-flight
// invocations to finish as failed. It is idempotent.
func (rt *Runtime) Close() error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil
	}
	rt.closed = true
	rt.cancel()
	fns := make([]*function, 0, len(rt.fns))
	for _, f := range rt.fns {
		fns = append(fns, f)
	}
	idle := rt.idle
	rt.mu.Unlock()

	for _, f := range fns {
		f.killAll()
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	var err error
	select {
	case <-idle:
	case <-t.C:
		err = errors.New("close runtime: invocations still running after 10s")
	}
	for _, f := range fns {
		f.logs.close()
	}
	return err
}

// attempt runs one attempt of invocation id with retry count n. It returns
// an error only when no instance could be had (closed, ctx ended).
func (rt *Runtime) attempt(ctx context.Context, f *function, id string, payload []byte, n int, o InvokeOptions, async bool) (Result, error) {
	inst, err := rt.acquire(ctx, f)
	if err != nil {
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return Result{RequestID: id}, err
		}
		// The process could not start: a failed attempt, as FC reports it.
		rec := rt.newRecord(f, id, n, o, async, false, "")
		res := errorResult(id, StatusError, "InstanceStartError", err.Error())
		rt.finishRecord(rec, res.Status, res.ErrorMessage, res.Payload)
		rt.countInvocation(f, true)
		return res, nil
	}

	if f.spec.Initializer && !inst.initialized {
		initID := "init-" + newRequestID()
		rec := rt.newRecord(f, initID, 0, o, async, true, inst.id)
		res := rt.run(inst, &call{id: initID, payload: nil, header: rt.headers(f, inst, initID, 0, "1")})
		rt.finishRecord(rec, res.Status, res.ErrorMessage, res.Payload)
		if res.Failed() {
			f.release(inst, false)
			rec := rt.newRecord(f, id, n, o, async, false, inst.id)
			out := errorResult(id, StatusError, "InitializationError", "initializer failed: "+res.ErrorMessage)
			rt.finishRecord(rec, out.Status, out.ErrorMessage, out.Payload)
			rt.countInvocation(f, true)
			return out, nil
		}
		inst.initialized = true
	}

	rec := rt.newRecord(f, id, n, o, async, false, inst.id)
	res := rt.run(inst, &call{id: id, payload: payload, header: rt.headers(f, inst, id, n, "0")})
	f.release(inst, res.Status != StatusTimeout && !inst.dead())
	rt.finishRecord(rec, res.Status, res.ErrorMessage, res.Payload)
	rt.countInvocation(f, res.Failed())
	return res, nil
}

func (rt *Runtime) newRecord(f *function, id string, n int, o InvokeOptions, async, init bool, inst string) *InvocationRecord {
	r := &InvocationRecord{
		ID: id, Function: f.spec.Name, Trigger: o.Trigger, Async: async,
		Initializer: init, Instance: inst, RetryCount: n,
		Start: time.Now(), VirtualTime: rt.cfg.Clock.Now(), Status: StatusRunning,
	}
	rt.addRecord(r)
	return r
}

func (rt *Runtime) countInvocation(f *function, failed bool) {
	if rt.cfg.Stats != nil {
		rt.cfg.Stats.Invocation(f.spec.Name, failed)
	}
}

// errorResult builds a Result with an emulator-written error JSON.
func errorResult(id string, status Status, typ, msg string) Result {
	body, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": typ})
	return Result{RequestID: id, Status: status, Payload: body, ErrorMessage: msg, ErrorType: typ}
}

func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("fcrt: crypto/rand: %v", err))
	}
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

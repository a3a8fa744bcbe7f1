package fcrt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/porthygiene/porthygiene/localcloud/auth"
)

// function is one registered function and its instances.
type function struct {
	spec  FunctionSpec
	bin   string        // absolute path of the handler binary
	slots chan struct{} // one token per instance in use; capacity MaxInstances
	logs  *logBuffer

	mu     sync.Mutex
	idle   []*instance // warm instances, most recently used last
	all    map[*instance]struct{}
	closed bool
}

// instance is one function process and its runtime-API listener.
type instance struct {
	id     string // FC_INSTANCE_ID
	fn     *function
	cmd    *exec.Cmd
	srv    *http.Server
	work   chan *call    // hands one event to a waiting /next
	stop   chan struct{} // closed by kill: pending /next polls return
	exited chan struct{} // closed when the process has exited
	// waitErr is set before exited is closed.
	waitErr  error
	killOnce sync.Once

	mu     sync.Mutex
	active *call // the one invocation in flight

	// Owned by whoever holds the instance (acquire .. release).
	initialized bool
	cred        auth.Credential
}

// call is one event handed to an instance.
type call struct {
	id       string
	payload  []byte
	header   http.Header
	timeout  time.Duration
	deadline chan time.Time // the /next handler sends the wall deadline it set
	done     chan outcome   // the /response or /error handler sends the result
}

type outcome struct {
	failed bool
	body   []byte
}

func (inst *instance) dead() bool {
	select {
	case <-inst.exited:
		return true
	default:
		return false
	}
}

// kill stops the process and the listener; safe to call more than once.
func (inst *instance) kill() {
	inst.killOnce.Do(func() {
		if inst.cmd.Process != nil {
			_ = inst.cmd.Process.Kill()
			t := time.NewTimer(5 * time.Second)
			select {
			case <-inst.exited:
			case <-t.C:
			}
			t.Stop()
		}
		close(inst.stop)
		_ = inst.srv.Close()
	})
}

func (inst *instance) exitMessage() string {
	if inst.waitErr != nil {
		return "process exited: " + inst.waitErr.Error()
	}
	return "process exited"
}

// acquire returns an instance of f reserved for the caller: a warm idle one
// or a new process. It blocks while MaxInstances are busy.
func (rt *Runtime) acquire(ctx context.Context, f *function) (*instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-rt.ctx.Done():
		return nil, ErrClosed
	}
	if inst := f.takeIdle(); inst != nil {
		return inst, nil
	}
	inst, err := rt.startInstance(f)
	if err != nil {
		<-f.slots
		return nil, err
	}
	return inst, nil
}

func (f *function) takeIdle() *instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.idle) > 0 {
		inst := f.idle[len(f.idle)-1]
		f.idle = f.idle[:len(f.idle)-1]
		if !inst.dead() {
			return inst
		}
		delete(f.all, inst)
		go inst.kill() // already exited: this only closes the listener
	}
	return nil
}

// release gives inst back: kept warm if keep, else killed.
func (f *function) release(inst *instance, keep bool) {
	f.mu.Lock()
	if keep && !f.closed {
		f.idle = append(f.idle, inst)
		f.mu.Unlock()
	} else {
		delete(f.all, inst)
		f.mu.Unlock()
		inst.kill()
	}
	<-f.slots
}

func (f *function) killAll() {
	f.mu.Lock()
	f.closed = true
	insts := make([]*instance, 0, len(f.all))
	for inst := range f.all {
		insts = append(insts, inst)
	}
	f.idle = nil
	f.mu.Unlock()
	var wg sync.WaitGroup
	for _, inst := range insts {
		wg.Go(inst.kill)
	}
	wg.Wait()
}

// startInstance starts a process of f with its own runtime-API listener.
func (rt *Runtime) startInstance(f *function) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start instance of %s: listen: %w", f.spec.Name, err)
	}
	inst := &instance{
		id:     "c-" + strings.ReplaceAll(newRequestID(), "-", "")[:24],
		fn:     f,
		work:   make(chan *call),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	inst.srv = &http.Server{Handler: inst, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = inst.srv.Serve(ln) }()

	cmd := exec.Command(f.bin)
	cmd.Dir = f.spec.CodeDir
	cmd.Env = rt.environ(f, inst, ln.Addr().String())
	cmd.Stdout = f.logs
	cmd.Stderr = f.logs
	inst.cmd = cmd
	if err := cmd.Start(); err != nil {
		_ = inst.srv.Close()
		return nil, fmt.Errorf("start instance of %s: %w", f.spec.Name, err)
	}
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.exited)
	}()

	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		inst.kill()
		return nil, ErrClosed
	}
	f.all[inst] = struct{}{}
	f.mu.Unlock()
	return inst, nil
}

// passedEnv are the only host variables a function process sees.
var passedEnv = []string{"PATH", "TMPDIR", "GOCOVERDIR", "GORACE", "GOTRACEBACK"}

func (rt *Runtime) environ(f *function, inst *instance, addr string) []string {
	env := make([]string, 0, len(passedEnv)+len(f.spec.Env)+10)
	for _, k := range passedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, "HOME="+os.TempDir())
	keys := make([]string, 0, len(f.spec.Env))
	for k := range f.spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+f.spec.Env[k])
	}
	return append(env,
		"FC_RUNTIME_API="+addr,
		"FC_FUNCTION_NAME="+f.spec.Name,
		"FC_FUNCTION_HANDLER="+f.spec.Handler,
		"FC_FUNCTION_MEMORY_SIZE="+strconv.Itoa(f.spec.MemoryMB),
		"FC_REGION="+f.spec.Region,
		"FC_ACCOUNT_ID="+rt.cfg.AccountID,
		"FC_INSTANCE_ID="+inst.id,
		"FC_FUNC_CODE_PATH="+f.spec.CodeDir,
	)
}

// headers builds the runtime-API headers of one event, except the deadline,
// which /next sets when it hands the event over. ftype is "0" for an event
// and "1" for the initializer.
func (rt *Runtime) headers(f *function, inst *instance, id string, retry int, ftype string) http.Header {
	h := make(http.Header, 16)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("x-fc-request-id", id)
	h.Set("x-fc-function-timeout", strconv.Itoa(int(math.Ceil(f.spec.Timeout.Seconds()))))
	h.Set("x-fc-function-type", ftype)
	h.Set("x-fc-function-name", f.spec.Name)
	h.Set("x-fc-function-handler", f.spec.Handler)
	h.Set("x-fc-function-memory", strconv.Itoa(f.spec.MemoryMB))
	h.Set("x-fc-region", f.spec.Region)
	h.Set("x-fc-account-id", rt.cfg.AccountID)
	h.Set("x-fc-retry-count", strconv.Itoa(retry))
	h.Set("x-fc-qualifier", "LATEST")
	if f.spec.Role != "" {
		now := rt.cfg.Clock.Now()
		if inst.cred.AccessKeyID == "" || now.Add(credRefresh).After(inst.cred.Expires) {
			inst.cred = rt.cfg.Auth.IssueSTS(f.spec.Role, f.spec.Name, now, credTTL)
		}
		h.Set("x-fc-access-key-id", inst.cred.AccessKeyID)
		h.Set("x-fc-access-key-secret", inst.cred.AccessKeySecret)
		h.Set("x-fc-security-token", inst.cred.SecurityToken)
	}
	return h
}

// run hands c to inst and waits for its result, the deadline, or the
// process's exit. On timeout it kills inst.
func (rt *Runtime) run(inst *instance, c *call) Result {
	c.timeout = inst.fn.spec.Timeout
	c.deadline = make(chan time.Time, 1)
	c.done = make(chan outcome, 1)
	inst.mu.Lock()
	inst.active = c
	inst.mu.Unlock()
	defer func() {
		inst.mu.Lock()
		if inst.active == c {
			inst.active = nil
		}
		inst.mu.Unlock()
	}()

	start := time.NewTimer(rt.cfg.StartTimeout)
	select {
	case inst.work <- c:
		start.Stop()
	case <-inst.exited:
		start.Stop()
		return errorResult(c.id, StatusError, "ProcessExited", inst.exitMessage())
	case <-start.C:
		inst.kill()
		return errorResult(c.id, StatusError, "InstanceStartTimeout",
			fmt.Sprintf("instance did not poll the runtime API within %s", rt.cfg.StartTimeout))
	case <-rt.ctx.Done():
		start.Stop()
		return errorResult(c.id, StatusError, "RuntimeClosed", ErrClosed.Error())
	}

	deadline := <-c.deadline
	cut, killing := rt.takeKill(inst.fn.spec.Name)
	if killing {
		deadline = time.Now().Add(cut)
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case o := <-c.done:
		if killing {
			rt.putKillBack(inst.fn.spec.Name, cut) // it finished first: the next one
		}
		return outcomeResult(c.id, o)
	case <-timer.C:
		select {
		case o := <-c.done:
			return outcomeResult(c.id, o)
		default:
		}
		inst.kill()
		return errorResult(c.id, StatusTimeout, "FunctionTimeout",
			fmt.Sprintf("Function timed out after %s", c.timeout))
	case <-inst.exited:
		select {
		case o := <-c.done:
			return outcomeResult(c.id, o)
		default:
		}
		return errorResult(c.id, StatusError, "ProcessExited", inst.exitMessage())
	case <-rt.ctx.Done():
		return errorResult(c.id, StatusError, "RuntimeClosed", ErrClosed.Error())
	}
}

func outcomeResult(id string, o outcome) Result {
	if !o.failed {
		return Result{RequestID: id, Status: StatusOK, Payload: o.body}
	}
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if err := json.Unmarshal(o.body, &e); err != nil {
		e.Message = string(o.body)
	}
	return Result{RequestID: id, Status: StatusError, Payload: o.body, ErrorMessage: e.Message, ErrorType: e.Type}
}

// ServeHTTP serves the runtime API of this one instance.
func (inst *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, runtimeAPIPath)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rest == "next" && r.Method == http.MethodGet {
		inst.next(w, r)
		return
	}
	if id, kind, ok := strings.Cut(rest, "/"); ok && r.Method == http.MethodPost && (kind == "response" || kind == "error") {
		inst.result(w, r, id, kind == "error")
		return
	}
	http.NotFound(w, r)
}

// next long-polls: it answers only with an event. When the instance is
// killed it returns without one; the process is gone by then.
func (inst *instance) next(w http.ResponseWriter, r *http.Request) {
	select {
	case c := <-inst.work:
		h := w.Header()
		for k, v := range c.header {
			h[k] = v
		}
		deadline := time.Now().Add(c.timeout)
		h.Set("x-fc-function-deadline", strconv.FormatInt(deadline.UnixMilli(), 10))
		h.Set("Content-Length", strconv.Itoa(len(c.payload)))
		c.deadline <- deadline
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(c.payload)
	case <-inst.stop:
	case <-r.Context().Done():
	}
}

// result takes /{id}/response and /{id}/error. A result for an id that is
// not in flight (late, after a timeout) is acknowledged and dropped.
func (inst *instance) result(w http.ResponseWriter, r *http.Request, id string, failed bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResultBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	inst.mu.Lock()
	c := inst.active
	if c != nil && c.id == id {
		inst.active = nil
	} else {
		c = nil
	}
	inst.mu.Unlock()
	if c != nil {
		c.done <- outcome{failed: failed, body: body}
	}
	w.WriteHeader(http.StatusOK)
}

// Package fcwire is the Function Compute wiring every function's main shares:
// the configuration from the environment (engine.ParseEnv), the trusted time
// source (PORTHYGIENE_TIME_URL, read once per invocation), the clients built
// once per instance and reused by warm invocations (ECS per region with its
// pacing, SLS, the ledger, the FC API for the sweep's fan-out), the notifier
// with its log-only fallback, the approve function's decision buttons, and
// per invocation the engine's Deps with the invocation's STS credentials
// from fccontext. It is an adapter package: it imports the SDKs' adapters and
// the FC runtime SDK, and nothing below it may import it.
package fcwire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/porthygiene/porthygiene/shared/accountapi"
	"github.com/porthygiene/porthygiene/shared/approve"
	"github.com/porthygiene/porthygiene/shared/credentials"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/fcapi"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/notifystore"
	"github.com/porthygiene/porthygiene/shared/slsapi"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

// ErrNoContext: an invocation arrived without FC's context (no credentials).
var ErrNoContext = errors.New("no Function Compute context in the invocation")

// Wiring is one function instance's configuration and clients.
type Wiring struct {
	Name string // the function ("guard")
	Env  engine.Env
	Log  *slog.Logger
	// Lang is the robots' language (DINGTALK_LANG).
	Lang notify.Lang

	ecs      map[string]*ecsapi.Client // per region, without credentials
	sls      *slsapi.Client
	ledger   *ledger.Ledger
	notifier engine.Notifier // DingTalk, or the log when no robot is configured
	fc       *fcapi.Client   // the sweep's fan-out; nil without a function name
	time     *TimeSource     // PORTHYGIENE_TIME_URL; nil: the system clock
	region   string

	pacedMu sync.Mutex
	paced   map[string]*ecsapi.Client // "region/qps" → a sweep slice's paced client
}

// New reads the environment and builds the instance's clients. A broken
// configuration is an error: the caller makes every invocation fail with it,
// loudly.
func New(name string, getenv func(string) string, log *slog.Logger) (*Wiring, error) {
	region := getenv("FC_REGION")
	exe, _ := os.Executable()
	env, err := engine.ParseEnv(getenv, region, filepath.Dir(exe))
	if err != nil {
		return nil, err
	}
	w := &Wiring{Name: name, Env: env, Log: log, ecs: map[string]*ecsapi.Client{}, paced: map[string]*ecsapi.Client{}, region: region}
	if w.time, err = NewTimeSource(getenv); err != nil {
		return nil, err
	}
	for _, r := range env.Regions {
		// One client per region, so that the pacing (QPS) spans invocations of this instance.
		c, err := ecsapi.New(ecsapi.Config{Region: r, Endpoint: env.ECSEndpoint, QPS: env.ECSQPS, Credentials: placeholder})
		if err != nil {
			return nil, fmt.Errorf("ecs client for %s: %w", r, err)
		}
		w.ecs[r] = c
	}
	w.sls = slsapi.New(slsapi.Config{Endpoint: env.SLSEndpoint})
	w.ledger = ledger.New(w.sls, env.LedgerProject, env.LedgerLogstore)
	ncfg, err := notify.ParseConfig(getenv)
	switch {
	case errors.Is(err, notify.ErrNoRobots), err == nil && len(ncfg.Robots) == 0:
		log.Warn("no DingTalk robot configured: notifications go to the log only")
		w.notifier = logNotifier{log}
	case err != nil:
		return nil, err
	default:
		// The notifier's outbox, dedup memory and per-robot budget live in the
		// ledger: warm instances share no memory.
		store := notifystore.New(w.ledger, notifystore.Options{Function: name})
		n, err := notify.New(notify.Options{Robots: ncfg.Robots, Lang: ncfg.Lang, Outbox: store, Delivered: store, Budget: store, Logger: log})
		if err != nil {
			return nil, err
		}
		w.notifier, w.Lang = n, ncfg.Lang
	}
	if env.FunctionName != "" {
		fc, err := fcapi.New(fcapi.Config{Region: region, AccountID: env.AccountID, Endpoint: env.FCEndpoint})
		if err != nil {
			// Events and inline sweeps do not need it: say so, keep going.
			log.Error("sweep fan-out disabled: no Function Compute API client", "error", err)
		} else {
			w.fc = fc
		}
	}
	return w, nil
}

// placeholder credentials for the per-instance clients: every invocation
// uses a copy with its own STS credentials (WithCredentials).
var placeholder = credentials.Credentials{AccessKeyID: "-", AccessKeySecret: "-"}

// FanOut is the engine's fan-out configuration from the environment; without
// an FC API client the sweep does not fan out.
func (w *Wiring) FanOut() engine.FanOut {
	f := engine.FanOut{Slice: w.Env.SweepSlice, Concurrency: w.Env.SweepConcurrency, QPS: w.Env.ECSQPS}
	if w.fc != nil {
		f.Function = w.Env.FunctionName
	}
	return f
}

// Buttons returns the decision links of the approve function
// (APPROVE_SIGNING_KEY, APPROVE_URL), or nil when it is not configured.
func (w *Wiring) Buttons(getenv func(string) string) func(ev notify.Event, now time.Time) []notify.Button {
	key, base := getenv("APPROVE_SIGNING_KEY"), getenv("APPROVE_URL")
	if key == "" || base == "" {
		return nil
	}
	return func(ev notify.Event, now time.Time) []notify.Button {
		return approve.ButtonsIn(w.Lang, []byte(key), base, ev, now)
	}
}

// Ledger is the instance's ledger (for functions that need it directly).
func (w *Wiring) Ledger() *ledger.Ledger { return w.ledger }

// Invocation returns the engine's Deps for one invocation, built with its
// STS credentials, and ctx carrying them for the SLS client and the
// invocation's wall clock (TimeSource.Wall, read once here). A failed read
// of the time source fails the invocation (an error wrapping ErrTimeSource).
func (w *Wiring) Invocation(ctx context.Context) (context.Context, engine.Deps, error) {
	fctx, ok := fccontext.FromContext(ctx)
	if !ok {
		return ctx, engine.Deps{}, fmt.Errorf("%s: %w", w.Name, ErrNoContext)
	}
	ctx, err := w.time.Wall(ctx)
	if err != nil {
		w.Log.ErrorContext(ctx, "no trusted time: the invocation fails (and is retried) rather than decide on another clock", "error", err)
		return ctx, engine.Deps{}, fmt.Errorf("%s: %w", w.Name, err)
	}
	creds := credentialsOf(fctx)
	ctx = slsapi.ContextWithCredentials(ctx, creds)
	deps := engine.Deps{
		Cloud: func(region string) (engine.Cloud, error) {
			base, ok := w.ecs[region]
			if !ok {
				var err error
				if base, err = ecsapi.New(ecsapi.Config{Region: region, Endpoint: w.Env.ECSEndpoint, QPS: w.Env.ECSQPS, Credentials: creds}); err != nil {
					return nil, err
				}
			}
			return base.WithCredentials(creds)
		},
		Paced: func(region string, qps float64) (engine.Cloud, error) {
			c, err := w.pacedClient(region, qps)
			if err != nil {
				return nil, err
			}
			return c.WithCredentials(creds)
		},
		Ledger:   w.ledger,
		Logs:     slsReader{w.sls},
		Notifier: w.notifier,
	}
	if w.fc != nil {
		fc, err := w.fc.WithCredentials(creds)
		if err != nil {
			return ctx, engine.Deps{}, err
		}
		// Slices run the same version as the planner.
		deps.Invoker = fc.WithQualifier(fctx.Service.Qualifier)
	}
	return ctx, deps, nil
}

// WithCredentials returns the invocation's STS credentials (from FC's
// context) and ctx carrying them for the SLS client; ok is false outside an
// FC invocation.
func WithCredentials(ctx context.Context) (_ context.Context, creds credentials.Credentials, ok bool) {
	fctx, ok := fccontext.FromContext(ctx)
	if !ok {
		return ctx, creds, false
	}
	creds = credentialsOf(fctx)
	return slsapi.ContextWithCredentials(ctx, creds), creds, true
}

func credentialsOf(fctx *fccontext.FcContext) credentials.Credentials {
	c := fctx.Credentials
	return credentials.Credentials{AccessKeyID: c.AccessKeyId, AccessKeySecret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
}

// pacedClient returns the region's ECS client paced at qps with a burst of
// one: a sweep slice's share of the region's budget. It is kept across warm
// invocations, so that the slices an instance runs one after another share
// one limiter.
func (w *Wiring) pacedClient(region string, qps float64) (*ecsapi.Client, error) {
	key := region + "/" + strconv.FormatFloat(qps, 'g', -1, 64)
	w.pacedMu.Lock()
	defer w.pacedMu.Unlock()
	if c, ok := w.paced[key]; ok {
		return c, nil
	}
	if len(w.paced) >= 16 {
		clear(w.paced) // plans change their shares rarely; never grow without bound
	}
	c, err := ecsapi.New(ecsapi.Config{Region: region, Endpoint: w.Env.ECSEndpoint, QPS: qps, Burst: 1, Credentials: placeholder})
	if err != nil {
		return nil, err
	}
	w.paced[key] = c
	return c, nil
}

// slsReader reads an SLS trigger's cursor range from the endpoint it names.
type slsReader struct{ c *slsapi.Client }

func (r slsReader) PullRange(ctx context.Context, src trigger.SLSSource, fn func(map[string]string) error) error {
	c := r.c
	if src.Endpoint != "" {
		c = c.WithEndpoint(src.Endpoint)
	}
	return c.PullRange(ctx, src.ProjectName, src.LogstoreName, src.ShardID, src.BeginCursor, src.EndCursor,
		func(l slsapi.Log) error { return fn(l.Contents) })
}

var _ engine.LogReader = slsReader{}

// logNotifier reports events as structured log lines when no robot is set.
type logNotifier struct{ log *slog.Logger }

func (n logNotifier) Notify(ctx context.Context, _ time.Time, events []notify.Event) (notify.Report, error) {
	for _, e := range events {
		n.log.InfoContext(ctx, "notification", "kind", e.Kind, "group", e.GroupID, "rule", e.RuleID,
			"ports", e.Ports, "source", e.Source, "actor", e.Actor.UserName, "action", e.Action, "undo", e.UndoCommand)
	}
	return notify.Report{Sent: len(events)}, nil
}

var _ engine.Notifier = logNotifier{}

// SLS is the instance's SLS client (the invocation's credentials travel in
// its context: Invocation puts them there).
func (w *Wiring) SLS() *slsapi.Client { return w.sls }

// FlowLogs returns a reader of a region's VPC flow logs (DescribeFlowLogs)
// signed with the invocation's credentials (from ctx, see WithCredentials);
// VPC_ENDPOINT overrides the endpoint.
func (w *Wiring) FlowLogs(ctx context.Context, getenv func(string) string) func(region string) (*accountapi.Client, error) {
	_, creds, _ := WithCredentials(ctx)
	return func(region string) (*accountapi.Client, error) {
		return accountapi.New(accountapi.Config{Region: region, VPCEndpoint: getenv("VPC_ENDPOINT"), Credentials: creds})
	}
}

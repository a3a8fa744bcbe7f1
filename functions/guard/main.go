// Command guard is the guard function: it revokes (or reports) internet-exposed
// sensitive ports. Triggers: EventBridge (ActionTrail), the ActionTrail
// logstore (SLS trigger) and an hourly sweep (timer); see s.yaml.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"

	"github.com/porthygiene/porthygiene/shared/approve"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/fcapi"
	"github.com/porthygiene/porthygiene/shared/guard"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/notifystore"
	"github.com/porthygiene/porthygiene/shared/slsapi"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

type handler struct {
	env      guard.Env
	guard    *guard.Guard
	ecs      map[string]*ecsapi.Client // per region, without credentials
	sls      *slsapi.Client
	ledger   *ledger.Ledger
	notifier *notify.Notifier // nil when no robot is configured
	fc       *fcapi.Client    // the sweep's fan-out; nil without a function name
	log      *slog.Logger

	pacedMu sync.Mutex
	paced   map[string]*ecsapi.Client // "region/qps" → a sweep slice's paced client
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := newHandler(os.Getenv, log)
	if err != nil {
		// A broken configuration must be loud: every invocation fails with it.
		log.Error("configuration", "error", err)
		fc.Start(func(context.Context, []byte) (guard.Result, error) {
			return guard.Result{}, fmt.Errorf("guard: configuration: %w", err)
		})
		return
	}
	fc.Start(h.Handle)
}

func newHandler(getenv func(string) string, log *slog.Logger) (*handler, error) {
	region := getenv("FC_REGION")
	exe, _ := os.Executable()
	env, err := guard.ParseEnv(getenv, region, filepath.Dir(exe))
	if err != nil {
		return nil, err
	}
	h := &handler{env: env, ecs: map[string]*ecsapi.Client{}, paced: map[string]*ecsapi.Client{}, log: log}
	for _, r := range env.Regions {
		// One client per region, so that the pacing (QPS) spans invocations of this instance.
		c, err := ecsapi.New(ecsapi.Config{Region: r, Endpoint: env.ECSEndpoint, QPS: env.ECSQPS, Credentials: ecsapi.Credentials{AccessKeyID: "-", AccessKeySecret: "-"}})
		if err != nil {
			return nil, fmt.Errorf("ecs client for %s: %w", r, err)
		}
		h.ecs[r] = c
	}
	h.sls = slsapi.New(slsapi.Config{Endpoint: env.SLSEndpoint})
	h.ledger = ledger.New(h.sls, env.LedgerProject, env.LedgerLogstore)
	ncfg, err := notify.ParseConfig(getenv)
	switch {
	case err != nil && strings.Contains(err.Error(), "not set"), err == nil && len(ncfg.Robots) == 0:
		log.Warn("no DingTalk robot configured: notifications go to the log only")
	case err != nil:
		return nil, err
	default:
		// The notifier's outbox, dedup memory and per-robot budget live in the
		// ledger: warm instances share no memory.
		store := notifystore.New(h.ledger, notifystore.Options{Function: "guard"})
		h.notifier, err = notify.New(notify.Options{Robots: ncfg.Robots, Lang: ncfg.Lang, Outbox: store, Delivered: store, Budget: store, Logger: log})
		if err != nil {
			return nil, err
		}
	}
	gc := guard.Config{Policy: env.Policy, RoleName: env.RoleName, Regions: env.Regions, Logger: log,
		FanOut: guard.FanOut{Slice: env.SweepSlice, Concurrency: env.SweepConcurrency, QPS: env.ECSQPS}}
	if env.FunctionName != "" {
		// The sweep fans out over asynchronous invocations of this function.
		fc, err := fcapi.New(fcapi.Config{Region: region, AccountID: env.AccountID, Endpoint: env.FCEndpoint})
		if err != nil {
			// Events and inline sweeps do not need it: say so, keep guarding.
			log.Error("sweep fan-out disabled: no Function Compute API client", "error", err)
		} else {
			h.fc, gc.FanOut.Function = fc, env.FunctionName
		}
	}
	if key, base := getenv("APPROVE_SIGNING_KEY"), getenv("APPROVE_URL"); key != "" && base != "" {
		gc.Buttons = func(ev notify.Event, now time.Time) []notify.Button {
			return approve.ButtonsIn(ncfg.Lang, []byte(key), base, ev, now)
		}
	}
	h.guard, err = guard.New(gc)
	return h, err
}

// Handle is one invocation: credentials come from the invocation context.
func (h *handler) Handle(ctx context.Context, payload []byte) (guard.Result, error) {
	fctx, ok := fccontext.FromContext(ctx)
	if !ok {
		return guard.Result{}, errors.New("guard: no FC context")
	}
	creds := fctx.Credentials
	ctx = slsapi.ContextWithCredentials(ctx, slsapi.Credentials{AccessKeyID: creds.AccessKeyId, AccessKeySecret: creds.AccessKeySecret, SecurityToken: creds.SecurityToken})
	ecsCreds := ecsapi.Credentials{AccessKeyID: creds.AccessKeyId, AccessKeySecret: creds.AccessKeySecret, SecurityToken: creds.SecurityToken}
	deps := guard.Deps{
		Cloud: func(region string) (guard.Cloud, error) {
			base, ok := h.ecs[region]
			if !ok {
				var err error
				if base, err = ecsapi.New(ecsapi.Config{Region: region, Endpoint: h.env.ECSEndpoint, QPS: h.env.ECSQPS, Credentials: ecsCreds}); err != nil {
					return nil, err
				}
			}
			return base.WithCredentials(ecsCreds)
		},
		Ledger: h.ledger,
		Logs:   slsReader{h.sls},
	}
	deps.Paced = func(region string, qps float64) (guard.Cloud, error) {
		c, err := h.pacedClient(region, qps)
		if err != nil {
			return nil, err
		}
		return c.WithCredentials(ecsCreds)
	}
	if h.fc != nil {
		fc, err := h.fc.WithCredentials(fcapi.Credentials{AccessKeyID: creds.AccessKeyId, AccessKeySecret: creds.AccessKeySecret, SecurityToken: creds.SecurityToken})
		if err != nil {
			return guard.Result{}, err
		}
		// Slices run the same version as the planner.
		deps.Invoker = fc.WithQualifier(fctx.Service.Qualifier)
	}
	if h.notifier != nil {
		deps.Notifier = h.notifier
	} else {
		deps.Notifier = logNotifier{h.log}
	}
	return h.guard.Handle(ctx, deps, payload)
}

// pacedClient returns the region's ECS client paced at qps with a burst of
// one: a sweep slice's share of the region's budget. It is kept across warm
// invocations, so that the slices an instance runs one after another share
// one limiter.
func (h *handler) pacedClient(region string, qps float64) (*ecsapi.Client, error) {
	key := region + "/" + strconv.FormatFloat(qps, 'g', -1, 64)
	h.pacedMu.Lock()
	defer h.pacedMu.Unlock()
	if c, ok := h.paced[key]; ok {
		return c, nil
	}
	if len(h.paced) >= 16 {
		clear(h.paced) // plans change their shares rarely; never grow without bound
	}
	c, err := ecsapi.New(ecsapi.Config{Region: region, Endpoint: h.env.ECSEndpoint, QPS: qps, Burst: 1,
		Credentials: ecsapi.Credentials{AccessKeyID: "-", AccessKeySecret: "-"}})
	if err != nil {
		return nil, err
	}
	h.paced[key] = c
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

// logNotifier reports events as structured log lines when no robot is set.
type logNotifier struct{ log *slog.Logger }

func (n logNotifier) Notify(ctx context.Context, _ time.Time, events []notify.Event) (notify.Report, error) {
	for _, e := range events {
		n.log.InfoContext(ctx, "notification", "kind", e.Kind, "group", e.GroupID, "rule", e.RuleID,
			"ports", e.Ports, "source", e.Source, "actor", e.Actor.UserName, "action", e.Action, "undo", e.UndoCommand)
	}
	return notify.Report{Sent: len(events)}, nil
}

package guard

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/policy"
)

// The guard runs on the engine; these are the engine's types under the names
// the guard's callers use.
type (
	Cloud    = engine.Cloud
	Ledger   = engine.Ledger
	Notifier = engine.Notifier
	Invoker  = engine.Invoker
	Deps     = engine.Deps
	Result   = engine.Result
	FanOut   = engine.FanOut
	Slice    = engine.Slice
	Env      = engine.Env
	// Config is the engine's configuration; New fills in the guard's name
	// and the policy's change cap.
	Config = engine.Config
)

// Engine constants the guard's callers use.
const (
	DefaultSweepWorkers     = engine.DefaultSweepWorkers
	DefaultSweepConcurrency = engine.DefaultSweepConcurrency
	DefaultECSQPS           = engine.DefaultECSQPS
	SliceTrigger            = engine.SliceTrigger
	MaxSliceGroups          = engine.MaxSliceGroups
)

// ParseEnv reads a function's environment (engine.ParseEnv).
var ParseEnv = engine.ParseEnv

// HandledEvents are the ActionTrail events that can open a port (or expose
// one): a revoke too, as removing a higher-priority drop unmasks the accept
// behind it, and a prefix-list change, which exposes every group whose rules
// name the list (the engine maps the list to them). s.yaml's EventBridge pattern names exactly these (a test checks).
var HandledEvents = []string{
	"AuthorizeSecurityGroup",
	"AuthorizeSecurityGroupEgress",
	"RevokeSecurityGroup",
	"RevokeSecurityGroupEgress",
	"ModifySecurityGroupRule",
	"ModifySecurityGroupEgressRule",
	"JoinSecurityGroup",
	"CreateSecurityGroup",
	"ModifyPrefixList",
}

// Guard finds and fixes internet-exposed sensitive ports: the engine with
// the guard's planner, its events and its restore step. Build it once per
// process with New; it is safe for concurrent use.
type Guard struct {
	*Planner
	engine *engine.Engine
	pol    *policy.Policy
	name   string
	log    *slog.Logger
}

// New builds a guard on the engine. The policy (nil: the default) must be
// valid; cfg.Name defaults to "guard" and cfg.MaxChanges is the policy's
// maxChangesPerRun.
func New(pol *policy.Policy, cfg Config) (*Guard, error) {
	if pol == nil {
		pol = policy.Default()
	}
	if cfg.Name == "" {
		cfg.Name = "guard"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.MaxChanges, cfg.MaxChangesPerMinute = pol.MaxChangesPerRun, pol.MaxChangesPerMinute
	if pol.Replace != nil && pol.Replace.TrustedPrefixList != "" {
		// Read with every group: the guard re-authorizes for it only while
		// it holds no internet-wide addresses.
		cfg.AlsoResolve = append(cfg.AlsoResolve, pol.Replace.TrustedPrefixList)
	}
	pl, err := NewPlanner(pol)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	g := &Guard{Planner: pl, pol: pol, name: cfg.Name, log: cfg.Logger}
	if g.engine, err = engine.New(cfg, g); err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	return g, nil
}

// Handle processes one trigger payload (engine.Engine.Handle).
func (g *Guard) Handle(ctx context.Context, deps Deps, payload []byte) (Result, error) {
	return g.engine.Handle(ctx, deps, payload)
}

// Handles reports whether an ActionTrail event can expose a port.
func (g *Guard) Handles(eventName string) bool { return slices.Contains(HandledEvents, eventName) }

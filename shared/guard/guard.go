package guard

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/notify"
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

// Config is the guard's configuration.
type Config struct {
	Policy *policy.Policy
	// RoleName is our functions' RAM role: events it caused are ignored.
	RoleName string
	// Regions swept by the timer; default the function's region.
	Regions []string
	// Function names the function in ledger records ("guard").
	Function string
	// Logger for structured logs; default slog.Default().
	Logger *slog.Logger
	// Wall is the wall clock; default time.Now.
	Wall func() time.Time
	// UndoCommand formats the command that undoes a revocation.
	UndoCommand func(ledgerID string) string
	// Buttons returns the decision links offered with a notification (the
	// approve function's signed URLs); nil offers none.
	Buttons func(ev notify.Event, now time.Time) []notify.Button
	// SweepWorkers is how many groups the sweep reads at once.
	SweepWorkers int
	// FanOut splits a large timer sweep into asynchronous invocations.
	FanOut FanOut
}

// HandledEvents are the ActionTrail events that can open a port (or expose
// one): a revoke too, as removing a higher-priority drop unmasks the accept
// behind it. s.yaml's EventBridge pattern names exactly these (a test checks).
var HandledEvents = []string{
	"AuthorizeSecurityGroup",
	"AuthorizeSecurityGroupEgress",
	"RevokeSecurityGroup",
	"RevokeSecurityGroupEgress",
	"ModifySecurityGroupRule",
	"ModifySecurityGroupEgressRule",
	"JoinSecurityGroup",
	"CreateSecurityGroup",
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

// New builds a guard; the policy must be valid.
func New(cfg Config) (*Guard, error) {
	if cfg.Policy == nil {
		cfg.Policy = policy.Default()
	}
	if cfg.Function == "" {
		cfg.Function = "guard"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pl, err := NewPlanner(cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	g := &Guard{Planner: pl, pol: cfg.Policy, name: cfg.Function, log: cfg.Logger}
	g.engine, err = engine.New(engine.Config{Name: cfg.Function, RoleName: cfg.RoleName, Regions: cfg.Regions,
		MaxChanges: cfg.Policy.MaxChangesPerRun, Logger: cfg.Logger, Wall: cfg.Wall, UndoCommand: cfg.UndoCommand,
		Buttons: cfg.Buttons, SweepWorkers: cfg.SweepWorkers, FanOut: cfg.FanOut}, g)
	if err != nil {
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

// Command replicator is the replicator function: it keeps replica security
// groups (another VPC, another region) in step with their primary. Triggers:
// EventBridge (ActionTrail rule changes: a change on a primary is copied, one
// on a replica is drift) and a reconcile every 10 minutes (timer); see s.yaml.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"

	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/fcwire"
	"github.com/porthygiene/porthygiene/shared/replicate"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := newHandler(os.Getenv, log)
	if err != nil {
		// A broken configuration must be loud: every invocation fails with it.
		log.Error("configuration", "error", err)
		fc.Start(func(context.Context, []byte) (engine.Result, error) {
			return engine.Result{}, fmt.Errorf("replicator: configuration: %w", err)
		})
		return
	}
	fc.Start(h.Handle)
}

type handler struct {
	wire *fcwire.Wiring
	rep  *replicate.Replicator
}

func newHandler(getenv func(string) string, log *slog.Logger) (*handler, error) {
	w, err := fcwire.New("replicator", getenv, log)
	if err != nil {
		return nil, err
	}
	r, err := replicate.New(w.Env.Policy, replicate.Config{
		Config: engine.Config{RoleName: w.Env.RoleName, Regions: w.Env.Regions, Logger: log, FanOut: w.FanOut()},
		Trail:  w.Trail(getenv),
	})
	return &handler{wire: w, rep: r}, err
}

// Handle is one invocation: credentials come from the invocation context.
func (h *handler) Handle(ctx context.Context, payload []byte) (engine.Result, error) {
	ctx, deps, err := h.wire.Invocation(ctx)
	if err != nil {
		return engine.Result{}, err
	}
	return h.rep.Handle(ctx, deps, payload)
}

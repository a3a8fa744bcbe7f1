// Command guard is the guard function: it revokes (or reports) internet-exposed
// sensitive ports. Triggers: EventBridge (ActionTrail), the ActionTrail
// logstore (SLS trigger) and an hourly sweep (timer); see s.yaml.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"

	"github.com/porthygiene/porthygiene/shared/fcwire"
	"github.com/porthygiene/porthygiene/shared/guard"
)

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

type handler struct {
	wire  *fcwire.Wiring
	guard *guard.Guard
}

func newHandler(getenv func(string) string, log *slog.Logger) (*handler, error) {
	w, err := fcwire.New("guard", getenv, log)
	if err != nil {
		return nil, err
	}
	g, err := guard.New(w.Env.Policy, guard.Config{RoleName: w.Env.RoleName, Regions: w.Env.Regions, Logger: log,
		FanOut: w.FanOut(), Buttons: w.Buttons(getenv)})
	return &handler{wire: w, guard: g}, err
}

// Handle is one invocation: credentials come from the invocation context.
func (h *handler) Handle(ctx context.Context, payload []byte) (guard.Result, error) {
	ctx, deps, err := h.wire.Invocation(ctx)
	if err != nil {
		return guard.Result{}, err
	}
	return h.guard.Handle(ctx, deps, payload)
}

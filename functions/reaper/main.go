// Command reaper is the reaper function: it closes ingress rules that carried
// no traffic, after an announcement and a grace period, never on missing
// evidence. Triggers (s.yaml): the daily summary of the flow logs
// ({"mode":"summary"}) and the daily run ({"mode":"sweep"}); {"mode":"review"}
// sends the monthly port review.
package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"

	"github.com/porthygiene/porthygiene/shared/fcwire"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/reaperfn"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := newHandler(os.Getenv, log)
	if err != nil {
		// A broken configuration must be loud: every invocation fails with it.
		log.Error("configuration", "error", err)
		fc.Start(func(context.Context, []byte) (reaperfn.Result, error) {
			return reaperfn.Result{}, fmt.Errorf("reaper: configuration: %w", err)
		})
		return
	}
	fc.Start(h.Handle)
}

type handler struct {
	wire   *fcwire.Wiring
	reaper *reaperfn.Reaper
	getenv func(string) string
}

func newHandler(getenv func(string) string, log *slog.Logger) (*handler, error) {
	w, err := fcwire.New("reaper", getenv, log)
	if err != nil {
		return nil, err
	}
	cfg := reaperfn.Config{Summary: flowevidence.Summary{Project: w.Env.LedgerProject, Logstore: cmp.Or(getenv("SUMMARY_LOGSTORE"), "flow-summary")}}
	cfg.RoleName, cfg.Regions, cfg.Logger, cfg.Buttons, cfg.Lang = w.Env.RoleName, w.Env.Regions, log, w.Buttons(getenv), w.Lang
	r, err := reaperfn.New(w.Env.Policy, cfg)
	return &handler{wire: w, reaper: r, getenv: getenv}, err
}

// Handle is one invocation: credentials come from the invocation context.
func (h *handler) Handle(ctx context.Context, payload []byte) (reaperfn.Result, error) {
	ctx, deps, err := h.wire.Invocation(ctx)
	if err != nil {
		return reaperfn.Result{}, err
	}
	flowLogs := h.wire.FlowLogs(ctx, h.getenv)
	return h.reaper.Handle(ctx, reaperfn.Deps{Deps: deps, Store: h.wire.SLS(),
		FlowLogs: func(region string) (flowevidence.FlowLogs, error) { return flowLogs(region) }}, payload)
}

// Command approve is the approve function: the HTTP trigger behind the
// decision buttons of porthygiene's DingTalk messages. Opening (GET) a valid,
// unused, unexpired signed link answers a confirmation page and records
// nothing; confirming it (POST) records a decision in the ledger; anything
// else changes nothing and says why (see shared/approve).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"

	"github.com/porthygiene/porthygiene/shared/approve"
	"github.com/porthygiene/porthygiene/shared/fcwire"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/slsapi"
	"github.com/porthygiene/porthygiene/shared/trigger"
)

type handler struct {
	approve *approve.Handler
	time    *fcwire.TimeSource // PORTHYGIENE_TIME_URL; nil: the system clock
	log     *slog.Logger
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	fc.Start(newHandler(os.Getenv, log).Handle)
}

// newHandler builds the clients once; they are reused by warm invocations.
// A configuration error is logged, and the approve handler, left without a
// ledger, then refuses every link with 503.
func newHandler(getenv func(string) string, log *slog.Logger) *handler {
	cfg, err := approve.ParseConfig(getenv, getenv("FC_REGION"))
	h := &handler{approve: &approve.Handler{Key: cfg.SigningKey, Logger: log}, log: log}
	if err == nil {
		h.time, err = fcwire.NewTimeSource(getenv)
	}
	if err != nil {
		log.Error("configuration: every decision link will be refused", "error", err)
		return h
	}
	h.approve.Ledger = ledger.New(slsapi.New(slsapi.Config{Endpoint: cfg.SLSEndpoint}), cfg.LedgerProject, cfg.LedgerLogstore)
	return h
}

// Handle is one click: the invocation's STS credentials and its wall clock
// (the trusted time source, read once) go with the context. A failed read of
// the time source fails the invocation rather than decide on another clock.
func (h *handler) Handle(ctx context.Context, payload []byte) (trigger.HTTPResponse, error) {
	ctx, _, _ = fcwire.WithCredentials(ctx)
	ctx, err := h.time.Wall(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "no trusted time: the request fails rather than decide on another clock", "error", err)
		return trigger.HTTPResponse{}, fmt.Errorf("approve: %w", err)
	}
	ev, err := trigger.DecodeHTTP(payload)
	if err != nil {
		h.log.WarnContext(ctx, "not an HTTP trigger event", "error", err)
		return trigger.HTTPResponse{StatusCode: 400, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "bad request\n"}, nil
	}
	return h.approve.Handle(ctx, ev), nil
}

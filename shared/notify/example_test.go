package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/porthygiene/porthygiene/shared/notify"
)

func ExampleSecret() {
	s := notify.Secret("SECvery-secret")
	fmt.Println(s, fmt.Sprintf("%q %#v", s, s))
	// Output: [redacted] "[redacted]" notify.Secret("[redacted]")
}

func ExampleSign() {
	ts, sign := notify.Sign("SECexample", time.UnixMilli(1700000000000))
	fmt.Println(ts, len(sign) > 0)
	// Output: 1700000000000 true
}

func ExampleNotifier_Notify() {
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	defer robot.Close()

	cfg, err := notify.ParseConfig(func(key string) string {
		if key == notify.EnvRobots {
			return `[{"name":"ops","webhook":"` + robot.URL + `/robot/send?access_token=t","secret":"SECs","keyword":"porthygiene"}]`
		}
		return ""
	})
	if err != nil {
		panic(err)
	}
	// In FC the three stores are backed by the ledger; in memory here.
	n, err := notify.New(notify.Options{Robots: cfg.Robots, Lang: cfg.Lang,
		Outbox: &notify.MemOutbox{}, Delivered: &notify.MemDelivered{}, Budget: &notify.MemBudget{},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC) // the invocation's time
	events := []notify.Event{
		{ID: "ev-1", Kind: notify.KindExposureRevoked, GroupID: "sg-1", Ports: []notify.PortRange{{From: 22, To: 22}}, Action: "revoked"},
		{ID: "ev-2", Kind: notify.KindExposureRevoked, GroupID: "sg-1", Ports: []notify.PortRange{{From: 3389, To: 3389}}, Action: "revoked"},
	}
	rep, err := n.Notify(context.Background(), now, events)
	fmt.Printf("%+v %v\n", rep, err)
	rep, _ = n.Notify(context.Background(), now, events) // a redelivery
	fmt.Printf("%+v\n", rep)
	// Output:
	// {Sent:2 Messages:1 Deferred:0 Failed:0 Duplicates:0 Errors:[] NextDue:0001-01-01 00:00:00 +0000 UTC} <nil>
	// {Sent:0 Messages:0 Deferred:0 Failed:0 Duplicates:2 Errors:[] NextDue:0001-01-01 00:00:00 +0000 UTC}
}

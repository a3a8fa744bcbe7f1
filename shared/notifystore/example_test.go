package notifystore_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/porthygiene/porthygiene/shared/ledger/ledgertest"
	"github.com/porthygiene/porthygiene/shared/notify"
	"github.com/porthygiene/porthygiene/shared/notifystore"
)

func ExampleStore_Take() {
	// In FC: notifystore.New(ledger.New(slsClient, project, logstore), ...).
	l := &ledgertest.Mem{}
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	warm1 := notifystore.New(l, notifystore.Options{Logger: slog.New(slog.DiscardHandler)})
	warm2 := notifystore.New(l, notifystore.Options{Logger: slog.New(slog.DiscardHandler)})
	g1, _ := warm1.Take(context.Background(), "ops", 10, now)
	g2, _ := warm2.Take(context.Background(), "ops", 10, now.Add(time.Second))
	g3, _ := warm2.Take(context.Background(), "ops", 10, now.Add(time.Minute))
	fmt.Println(g1, g2, g3, notify.DefaultLimit)
	// Output: 10 5 10 15
}

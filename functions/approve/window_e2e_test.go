package main

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud"
	"github.com/porthygiene/porthygiene/shared/approve"
	"github.com/porthygiene/porthygiene/shared/approve/approvetest"
)

// indexDelay is real SLS's lag between PutLogs and GetLogs seeing the data.
const indexDelay = 3 * time.Second

// TestApproveLinkPostedTwiceInsideTheIndexDelay: two confirmations of one
// link race each other (a double click, two devices) inside SLS's index
// delay, so neither can see the other's decision. The decision record is
// keyed by the link's nonce and dated at the second: both write the same
// record, and the ledger holds one decision.
func TestApproveLinkPostedTwiceInsideTheIndexDelay(t *testing.T) {
	e := startOpts(t, localcloud.Options{Config: "testdata/s.yaml", SLSIndexDelay: indexDelay}, signingKey)
	l := approve.Link{Action: approve.ActionKeep, GroupID: "sg-web", RuleID: "sgr-ssh", Region: e.cloud.Region(), Nonce: approve.NewNonce()}
	link := e.link(signingKey, l)

	began := time.Now()
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	pages := make([]string, 2)
	for i := range statuses {
		wg.Go(func() {
			var err error
			statuses[i], pages[i], err = approvetest.Post(t.Context(), nil, link, query(t, link))
			if err != nil {
				statuses[i], pages[i] = 0, err.Error()
			}
		})
	}
	wg.Wait()
	require.Less(t, time.Since(began), indexDelay, "both confirmations ran inside the index delay")
	require.Empty(t, e.searched(), "inside the delay no decision is searchable yet")
	for i, s := range statuses {
		require.Contains(t, []int{http.StatusOK, http.StatusConflict}, s, pages[i])
	}
	require.Contains(t, statuses, http.StatusOK, "one of them recorded the decision")

	require.Eventually(t, func() bool { return len(e.searched()) > 0 }, 4*indexDelay, 100*time.Millisecond)
	time.Sleep(indexDelay) // whatever either wrote is searchable now
	recs := e.searched()
	require.Len(t, recs, 1, "one decision for one link")
	require.Equal(t, approve.NonceKey(l.Nonce), recs[0].EventID)
	for i, s := range statuses {
		if s == http.StatusOK {
			require.Contains(t, pages[i], recs[0].ID, "each confirmation names the one decision")
		}
	}

	// Once searchable, the link is used: a third confirmation is refused.
	status, page := e.post(link, query(t, link))
	require.Equal(t, http.StatusConflict, status, page)
	require.Len(t, e.decisions(), 1)
}

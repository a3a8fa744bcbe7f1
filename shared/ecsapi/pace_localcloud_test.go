package ecsapi_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porthygiene/porthygiene/localcloud/faults"
	"github.com/porthygiene/porthygiene/shared/ecsapi"
)

// With Config.QPS at the service's limit, concurrent callers are paced
// below it: no call is throttled, and the calls take the time the limit
// allows, no less.
func TestLocalcloudQPSPacesBelowTheRateLimit(t *testing.T) {
	const qps, calls = 50, 75
	lc := newCloud(t)
	lc.faults.Replace(faults.Config{RateLimits: map[string]float64{"ecs": qps}})
	cl := lc.client(t, lc.alice, func(c *ecsapi.Config) { c.QPS = qps })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, calls)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = cl.DescribeRules(ctx, sgList(i%listed))
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.NoError(t, errors.Join(errs...))
	n, throttled := lc.calls("DescribeSecurityGroupAttribute")
	require.Equal(t, calls, n, "one attempt per call")
	require.Zero(t, throttled)
	least := time.Duration(float64(calls-ecsapi.MaxDefaultBurst) / qps * float64(time.Second))
	require.GreaterOrEqual(t, elapsed, least-10*time.Millisecond)
}

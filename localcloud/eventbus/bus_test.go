package eventbus

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// collector is a Target that records event names it received.
type collector struct {
	mu   sync.Mutex
	got  []string
	ids  []string
	last []byte
}

func (c *collector) target(ev Event, payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, ev.Subject)
	c.ids = append(c.ids, ev.ID)
	c.last = payload
}

func (c *collector) names() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// event returns a CloudEvent for a call on security group sg (used as the subject).
func event(eventName, sg string) Event {
	rec := sampleRecord()
	rec.EventName = eventName
	rec.RequestParameters = map[string]any{"SecurityGroupId": sg}
	ev := CloudEvent(rec, "cn-hangzhou")
	ev.Subject = sg
	return ev
}

func TestBusDeliversToMatchingSubscriptions(t *testing.T) {
	var b Bus
	var drift, creates collector
	b.Subscribe("drift", MustCompilePattern(projectPattern), drift.target)
	b.Subscribe("creates", MustCompilePattern(`{"data":{"eventName":["CreateSecurityGroup"]}}`), creates.target)

	require.Equal(t, 1, b.Publish(event("AuthorizeSecurityGroup", "sg-1")))
	create := event("CreateSecurityGroup", "sg-2")
	require.Equal(t, 2, b.Publish(create))
	require.Equal(t, 0, b.Publish(event("StartInstance", "sg-3")))
	require.NoError(t, b.Wait(t.Context()))

	require.Equal(t, []string{"sg-1", "sg-2"}, drift.names())
	require.Equal(t, []string{"sg-2"}, creates.names())
	require.Equal(t, string(create.JSON()), string(creates.last), "payload is the event JSON")
}

func TestBusPreservesOrderPerSubscription(t *testing.T) {
	var b Bus
	var c collector
	b.Subscribe("all", MustCompilePattern(`{"source":["acs.ecs"]}`), c.target)
	var want []string
	for i := range 100 {
		sg := "sg-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		want = append(want, sg)
		b.Publish(event("AuthorizeSecurityGroup", sg))
	}
	require.NoError(t, b.Wait(t.Context()))
	require.Equal(t, want, c.names())
}

func TestBusDuplicate(t *testing.T) {
	var b Bus
	var c collector
	b.Subscribe("all", MustCompilePattern(`{"source":["acs.ecs"]}`), c.target)
	b.SetOptions(Options{Duplicate: true})
	b.Publish(event("AuthorizeSecurityGroup", "sg-1"))
	require.NoError(t, b.Wait(t.Context()))
	require.Equal(t, []string{"sg-1", "sg-1"}, c.names())
	require.Equal(t, c.ids[0], c.ids[1], "a redelivery repeats the CloudEvent id")
}

func TestBusDelay(t *testing.T) {
	var b Bus
	var c collector
	b.Subscribe("all", MustCompilePattern(`{"source":["acs.ecs"]}`), c.target)
	b.SetOptions(Options{Delay: 50 * time.Millisecond})
	start := time.Now()
	b.Publish(event("AuthorizeSecurityGroup", "sg-1"))
	require.Empty(t, c.names(), "Publish does not wait for the delivery")
	require.NoError(t, b.Wait(t.Context()))
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	require.Equal(t, []string{"sg-1"}, c.names())
}

func TestBusReorder(t *testing.T) {
	var b Bus
	var c collector
	b.Subscribe("all", MustCompilePattern(`{"source":["acs.ecs"]}`), c.target)
	b.SetOptions(Options{Reorder: true})

	b.Publish(event("AuthorizeSecurityGroup", "sg-a"))
	require.True(t, b.Held())
	require.NoError(t, b.Wait(t.Context()), "a held event does not block Wait")
	require.Empty(t, c.names())

	b.Publish(event("AuthorizeSecurityGroup", "sg-b"))
	b.Publish(event("AuthorizeSecurityGroup", "sg-c"))
	require.NoError(t, b.Wait(t.Context()))
	require.Equal(t, []string{"sg-b", "sg-a"}, c.names())

	require.True(t, b.Held())
	b.Flush()
	require.NoError(t, b.Wait(t.Context()))
	require.Equal(t, []string{"sg-b", "sg-a", "sg-c"}, c.names())
	require.False(t, b.Held())
}

func TestBusTurningReorderOffReleasesTheHeldEvent(t *testing.T) {
	var b Bus
	var c collector
	b.Subscribe("all", MustCompilePattern(`{"source":["acs.ecs"]}`), c.target)
	b.SetOptions(Options{Reorder: true})
	b.Publish(event("AuthorizeSecurityGroup", "sg-a"))
	b.SetOptions(Options{})
	require.Equal(t, Options{}, b.Options())
	require.NoError(t, b.Wait(t.Context()))
	require.Equal(t, []string{"sg-a"}, c.names())
}

func TestBusSubscribeReplacesAndUnsubscribeRemoves(t *testing.T) {
	var b Bus
	var first, second collector
	all := MustCompilePattern(`{"source":["acs.ecs"]}`)
	b.Subscribe("fn", all, first.target)
	b.Subscribe("fn", all, second.target)
	b.Publish(event("AuthorizeSecurityGroup", "sg-1"))
	b.Unsubscribe("fn")
	require.Equal(t, 0, b.Publish(event("AuthorizeSecurityGroup", "sg-2")))
	require.NoError(t, b.Wait(t.Context()))
	require.Empty(t, first.names())
	require.Equal(t, []string{"sg-1"}, second.names())
}

func TestBusSlowTargetDoesNotBlockOthers(t *testing.T) {
	var b Bus
	release := make(chan struct{})
	var fast collector
	b.Subscribe("slow", MustCompilePattern(`{"source":["acs.ecs"]}`), func(Event, []byte) { <-release })
	b.Subscribe("fast", MustCompilePattern(`{"source":["acs.ecs"]}`), fast.target)
	b.Publish(event("AuthorizeSecurityGroup", "sg-1"))

	require.Eventually(t, func() bool { return len(fast.names()) == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, b.Wait(ctx), context.DeadlineExceeded)

	close(release)
	require.NoError(t, b.Wait(t.Context()))
}

// A share of the events comes twice, at random; with jitter, events
// overtake one another, yet every one is delivered and none is lost.
func TestBusDuplicateRatioAndJitter(t *testing.T) {
	var b Bus
	var c collector
	b.Subscribe("all", MustCompilePattern(`{"source":["acs.ecs"]}`), c.target)
	b.SetOptions(Options{DuplicateRatio: 0.5, Jitter: 20 * time.Millisecond})
	const n = 200
	for i := range n {
		b.Publish(event("AuthorizeSecurityGroup", fmt.Sprintf("sg-%03d", i)))
	}
	require.NoError(t, b.Wait(t.Context()))
	got := c.names()
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	require.Len(t, seen, n, "every event is delivered")
	dups := len(got) - n
	require.Greater(t, dups, n/4, "about half come twice")
	require.Less(t, dups, 3*n/4, "about half come twice")
	for g, k := range seen {
		require.LessOrEqual(t, k, 2, "%s delivered %d times", g, k)
	}
	require.False(t, slices.IsSorted(got), "with jitter, events overtake one another")
}

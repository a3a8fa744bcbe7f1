package timers

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// record returns a fire func that appends "name@triggerTime" to *got.
func record(got *[]string) func(TimerEvent) {
	return func(e TimerEvent) { *got = append(*got, e.TriggerName+"@"+e.TriggerTime) }
}

func TestEveryFiveMinutesOverAnHour(t *testing.T) {
	s := NewScheduler(t0)
	var got []TimerEvent
	s.Add("every5m", MustParse("0 */5 * * * *"), `{"mode":"reconcile"}`, func(e TimerEvent) { got = append(got, e) })

	res := s.AdvanceTo(t0.Add(time.Hour))

	require.Equal(t, 12, res.Fired)
	require.Len(t, got, 12)
	for i, e := range got {
		want := t0.Add(time.Duration(i+1) * 5 * time.Minute).Format(time.RFC3339)
		require.Equal(t, want, e.TriggerTime, "occurrence %d", i)
		require.Equal(t, "every5m", e.TriggerName)
		require.Equal(t, `{"mode":"reconcile"}`, e.Payload)
	}
	require.Equal(t, "2026-01-01T01:00:00Z", got[11].TriggerTime, "an occurrence at the target instant fires")
	require.Equal(t, t0.Add(time.Hour), s.Now())
}

func TestStepwiseAdvanceFiresTheSameOccurrences(t *testing.T) {
	var whole, steps []string
	a := NewScheduler(t0.Add(150 * time.Second))
	a.Add("t", MustParse("0 */5 * * * *"), "", record(&whole))
	a.AdvanceTo(t0.Add(time.Hour))

	b := NewScheduler(t0.Add(150 * time.Second))
	b.Add("t", MustParse("0 */5 * * * *"), "", record(&steps))
	for at := t0; !at.After(t0.Add(time.Hour)); at = at.Add(7 * time.Minute) {
		b.AdvanceTo(at)
	}
	b.AdvanceTo(t0.Add(time.Hour))

	require.Equal(t, whole, steps)
	require.Equal(t, "t@2026-01-01T00:05:00Z", whole[0], "nothing fires at or before the start")
	require.Len(t, whole, 12)
}

func TestCronTZ(t *testing.T) {
	// 04:00 on the 1st in Shanghai (UTC+8) is 20:00 UTC on the last day of the previous month.
	s := NewScheduler(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC))
	var got []string
	s.Add("monthly", MustParse("CRON_TZ=Asia/Shanghai 0 0 4 1 * *"), "", record(&got))

	s.AdvanceTo(time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC))

	require.Equal(t, []string{
		"monthly@2026-01-31T20:00:00Z",
		"monthly@2026-02-28T20:00:00Z",
		"monthly@2026-03-31T20:00:00Z",
	}, got)
}

func TestPlainCronIsUTC(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	s := NewScheduler(t0.In(shanghai)) // a zoned start must not change the evaluation zone
	var got []string
	s.Add("daily4", MustParse("0 0 4 * * *"), "", record(&got))
	s.AdvanceTo(t0.Add(24 * time.Hour))
	require.Equal(t, []string{"daily4@2026-01-01T04:00:00Z"}, got)
}

func TestEvery(t *testing.T) {
	start := t0.Add(17 * time.Second)
	s := NewScheduler(start)
	var got []string
	s.Add("ninety", MustParse("@every 90s"), "p", record(&got))

	s.AdvanceTo(start.Add(10 * time.Minute))

	require.Len(t, got, 6)
	for i, g := range got {
		want := "ninety@" + start.Add(time.Duration(i+1)*90*time.Second).Format(time.RFC3339)
		require.Equal(t, want, g)
	}
}

func TestDescriptors(t *testing.T) {
	s := NewScheduler(t0.Add(30 * time.Minute))
	var got []string
	s.Add("hourly", MustParse("@hourly"), "", record(&got))
	s.Add("daily", MustParse("@daily"), "", record(&got))
	s.AdvanceTo(t0.Add(26 * time.Hour))
	require.Len(t, got, 27) // 26 hourly + 1 daily
	require.Equal(t, "hourly@2026-01-01T01:00:00Z", got[0])
	// At 2026-01-02T00:00:00Z both are due; the one added first fires first.
	require.Equal(t, "hourly@2026-01-02T00:00:00Z", got[23])
	require.Equal(t, "daily@2026-01-02T00:00:00Z", got[24])
}

func TestTimersInterleaveInTimeOrder(t *testing.T) {
	s := NewScheduler(t0)
	var got []string
	s.Add("b10m", MustParse("0 */10 * * * *"), "", record(&got))
	s.Add("a7m", MustParse("@every 7m"), "", record(&got))
	s.AdvanceTo(t0.Add(30 * time.Minute))
	require.Equal(t, []string{
		"a7m@2026-01-01T00:07:00Z",
		"b10m@2026-01-01T00:10:00Z",
		"a7m@2026-01-01T00:14:00Z",
		"b10m@2026-01-01T00:20:00Z",
		"a7m@2026-01-01T00:21:00Z",
		"a7m@2026-01-01T00:28:00Z",
		"b10m@2026-01-01T00:30:00Z",
	}, got)
}

func TestCapPerAdvance(t *testing.T) {
	s := NewScheduler(t0)
	s.MaxPerAdvance = 5
	var fast, slow []string
	s.Add("fast", MustParse("@every 1s"), "", record(&fast))
	s.Add("slow", MustParse("0 * * * * *"), "", record(&slow))

	res := s.AdvanceTo(t0.Add(2 * time.Minute))

	require.Equal(t, []string{"fast"}, res.Capped)
	require.Equal(t, 7, res.Fired)
	require.Equal(t, "fast@2026-01-01T00:00:05Z", fast[4], "the earliest occurrences fire")
	require.Len(t, slow, 2, "other timers are not affected by one timer's cap")

	// The capped timer resumes after the target, not where it stopped.
	fast = nil
	s.AdvanceTo(t0.Add(2*time.Minute + 2*time.Second))
	require.Equal(t, []string{"fast@2026-01-01T00:02:01Z", "fast@2026-01-01T00:02:02Z"}, fast)
}

func TestAdvanceBackwardsIsANoop(t *testing.T) {
	s := NewScheduler(t0)
	var got []string
	s.Add("m", MustParse("0 * * * * *"), "", record(&got))
	s.AdvanceTo(t0.Add(time.Minute))
	res := s.AdvanceTo(t0)
	require.Equal(t, 0, res.Fired)
	require.Equal(t, t0.Add(time.Minute), s.Now())
	require.Len(t, got, 1)
}

func TestAddDuringFireStartsFromTheFiringInstant(t *testing.T) {
	s := NewScheduler(t0)
	var got []string
	added := false
	s.Add("first", MustParse("0 10 * * * *"), "", func(e TimerEvent) {
		got = append(got, e.TriggerName+"@"+e.TriggerTime)
		if !added {
			added = true
			s.Add("second", MustParse("@every 20m"), "", record(&got))
		}
	})
	s.AdvanceTo(t0.Add(time.Hour))
	require.Equal(t, []string{
		"first@2026-01-01T00:10:00Z",
		"second@2026-01-01T00:30:00Z",
		"second@2026-01-01T00:50:00Z",
	}, got)
}

func TestNextFire(t *testing.T) {
	s := NewScheduler(t0)
	_, ok := s.NextFire()
	require.False(t, ok)
	s.Add("x", MustParse("0 */5 * * * *"), "", func(TimerEvent) {})
	next, ok := s.NextFire()
	require.True(t, ok)
	require.Equal(t, t0.Add(5*time.Minute), next)
}

func TestTimerEventJSONIsFCPayload(t *testing.T) {
	e := TimerEvent{TriggerTime: "2022-07-29T10:02:58Z", TriggerName: "TestTimer", Payload: `{"a":"<b>&"}`}
	require.Equal(t, `{"triggerTime":"2022-07-29T10:02:58Z","triggerName":"TestTimer","payload":"{\"a\":\"<b>&\"}"}`, string(e.JSON()))

	var back TimerEvent
	require.NoError(t, json.Unmarshal(e.JSON(), &back))
	require.Equal(t, e, back)
}

func TestParseErrorsNameTheExpression(t *testing.T) {
	for _, expr := range []string{
		"",
		"*/5 * * * *",     // five fields: FC cron is seconds-first
		"0 */5 * * * * *", // seven fields
		"0 61 * * * *",    // minute out of range
		"CRON_TZ=Mars/Base 0 0 4 1 * *",
		"@every",
		"@every 0s",
		"@every 1500ms",
		"@fortnightly",
	} {
		t.Run(expr, func(t *testing.T) {
			_, err := Parse(expr)
			require.Error(t, err)
			require.Contains(t, err.Error(), `"`+expr+`"`)
		})
	}
}

func TestScheduleString(t *testing.T) {
	require.Equal(t, "0 */5 * * * *", MustParse("  0 */5 * * * * ").String())
	require.True(t, Schedule{}.Next(t0).IsZero())
}

func TestConcurrentAdd(t *testing.T) {
	s := NewScheduler(t0)
	var mu sync.Mutex
	n := 0
	fire := func(TimerEvent) { mu.Lock(); n++; mu.Unlock() }
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { s.Add("x", MustParse("0 * * * * *"), "", fire) })
	}
	wg.Go(func() { s.AdvanceTo(t0.Add(30 * time.Second)) })
	wg.Wait()
	s.AdvanceTo(t0.Add(time.Minute))
	require.Equal(t, 8, n)
}

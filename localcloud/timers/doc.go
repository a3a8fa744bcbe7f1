// Package timers runs Function Compute timer triggers on localcloud's virtual
// clock.
//
// Parse accepts the cron dialect of FC 3.0 timer triggers:
//
//   - six fields, seconds first, evaluated in UTC: "0 */5 * * * *";
//   - a zone prefix: "CRON_TZ=Asia/Shanghai 0 0 4 1 * *" (TZ= is accepted too);
//   - "@every <duration>" (whole seconds, at least one second);
//   - descriptors "@yearly", "@monthly", "@weekly", "@daily", "@hourly" (UTC).
//
// Invariants:
//
//   - A Scheduler reads no clock. Time moves only when AdvanceTo is called, which
//     the control API does after moving the virtual clock (localcloud/vclock).
//   - "@every d" counts from the scheduler's time when the timer is added (the
//     start time for timers added before the first advance), like FC counting
//     from the trigger's creation.
//   - An occurrence is due when it is strictly after the previous check and not
//     after the target time; the start time given to NewScheduler is the first
//     "previous check", so nothing fires at the start instant itself.
//   - AdvanceTo fires due occurrences of all timers in time order, ties broken by
//     the order in which the timers were added, synchronously in the caller's
//     goroutine: AdvanceTo returns when every fire call has returned.
//   - At most MaxPerAdvance occurrences of one timer fire per AdvanceTo call (the
//     earliest ones); the rest of that timer's occurrences up to the target are
//     skipped and the timer is reported in Result.Capped. "@every 1s" over a
//     virtual month would otherwise mean millions of invocations.
//   - TimerEvent.TriggerTime is the scheduled instant in UTC with second
//     precision, never a wall-clock reading, and TimerEvent.JSON is exactly the
//     payload FC delivers: {"triggerTime":…,"triggerName":…,"payload":…}.
package timers

// Package clock is the time source of the functions and the rule that anchors
// a decision in time.
//
// Invariants:
//
//   - Code that decides (expiry of exemptions, grace periods, record times)
//     takes a Clock or a time.Time; it never calls time.Now itself, so tests
//     and localcloud's virtual clock can drive it.
//   - A handler decides at Decide(wall clock, the trigger's time, Skew): the
//     later of the two, but a trigger time more than Skew (5 s) past the wall
//     clock is ignored (and logged by the caller), never trusted. A payload
//     dated 2099 changes nothing: it neither expires exemptions nor dates
//     records.
//   - The wall clock of an invocation is the one WithWall put in its context
//     (shared/fcwire: the later of the system clock and the trusted time
//     source PORTHYGIENE_TIME_URL, which localcloud points at its virtual
//     clock), else the handler's configured clock, else the system clock.
//     Only code, never a payload, puts it there.
package clock

// Package clock is the time source of the functions and the rule that anchors
// a decision in time.
//
// Invariants:
//
//   - Code that decides (expiry of exemptions, grace periods, record times)
//     takes a Clock or a time.Time; it never calls time.Now itself, so tests
//     and localcloud's virtual clock can drive it.
//   - A handler decides at Anchor(wall clock, event time): the later of the
//     two. localcloud's virtual clock runs ahead of the wall clock, and the
//     event's own time (ActionTrail eventTime, timer triggerTime, ...) carries
//     it into the function, so an exemption that has expired in the emulated
//     world is treated as expired even though the wall clock lags behind.
//     A zero event time leaves the wall clock.
package clock

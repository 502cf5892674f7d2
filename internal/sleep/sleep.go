// Package sleep waits until a due time more precisely than the runtime's
// timers: on Linux, Go's timers round a wait on an otherwise idle process up
// to about a millisecond, which breaks a sub-millisecond budget (the load
// generator's send lateness, the engine simulator's step schedule).
//
// A Sleeper is used by one goroutine at a time.
package sleep

import "time"

// Sleeper waits on one reused timer, then (on Linux) finishes the wait in
// nanosleep.
type Sleeper struct{ t *time.Timer }

// New returns a Sleeper; Close releases its timer.
func New() *Sleeper { return &Sleeper{t: time.NewTimer(time.Hour)} }

// Close stops the timer.
func (s *Sleeper) Close() { s.t.Stop() }

// Until returns true at due (at once when due has passed), or false early
// when stop closes.
func (s *Sleeper) Until(due time.Time, stop <-chan struct{}) bool { return s.until(due, stop) }

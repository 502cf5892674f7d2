//go:build !linux

package loadgen

import "time"

// sleeper waits until a due time with the runtime's timers.
type sleeper struct{ t *time.Timer }

func newSleeper() *sleeper { return &sleeper{t: time.NewTimer(time.Hour)} }

func (s *sleeper) close() { s.t.Stop() }

// until returns at due, or false early when stop closes.
func (s *sleeper) until(due time.Time, stop <-chan struct{}) bool {
	d := time.Until(due)
	if d <= 0 {
		return true
	}
	s.t.Reset(d)
	select {
	case <-s.t.C:
		return true
	case <-stop:
		return false
	}
}

// wakers is how many goroutines pace an open loop: one here.
func wakers() int { return 1 }

// pinWaker does nothing here.
func pinWaker(int) func() { return func() {} }

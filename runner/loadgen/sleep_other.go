//go:build !linux

package loadgen

import (
	"time"

	"github.com/servebench/servebench/internal/sleep"
)

// sleeper waits until a due time (internal/sleep).
type sleeper struct{ s *sleep.Sleeper }

func newSleeper() *sleeper { return &sleeper{sleep.New()} }

func (s *sleeper) close() { s.s.Close() }

// until returns at due, or false early when stop closes.
func (s *sleeper) until(due time.Time, stop <-chan struct{}) bool { return s.s.Until(due, stop) }

// wakers is how many goroutines pace an open loop: one here.
func wakers() int { return 1 }

// pinWaker does nothing here.
func pinWaker(int) func() { return func() {} }

package loadgen

import (
	"time"

	"github.com/servebench/servebench/internal/sleep"
)

// sleeper waits until a due time with sub-millisecond precision
// (internal/sleep: the runtime's timers, then nanosleep on Linux).
type sleeper struct{ s *sleep.Sleeper }

func newSleeper() *sleeper { return &sleeper{sleep.New()} }

func (s *sleeper) close() { s.s.Close() }

// until returns at due, or false early when stop closes.
func (s *sleeper) until(due time.Time, stop <-chan struct{}) bool { return s.s.Until(due, stop) }

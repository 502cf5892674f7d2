package loadgen

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/servebench/servebench/internal/sleep"
)

// sleeper waits until a due time with sub-millisecond precision
// (internal/sleep: the runtime's timers, then nanosleep).
type sleeper struct{ s *sleep.Sleeper }

func newSleeper() *sleeper { return &sleeper{sleep.New()} }

func (s *sleeper) close() { s.s.Close() }

// until returns at due, or false early when stop closes.
func (s *sleeper) until(due time.Time, stop <-chan struct{}) bool { return s.s.Until(due, stop) }

// wakers is how many goroutines pace an open loop: two when this process
// may run on two CPUs or more, else one.
func wakers() int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil && set.Count() >= 2 {
		return 2
	}
	return 1
}

// pinWaker keeps waker i on one CPU of its own (the first and the last this
// process may use), so the two do not stall together; the returned function
// gives the thread back as it was. A waker that cannot be pinned runs
// unpinned.
func pinWaker(i int) func() {
	runtime.LockOSThread()
	var old unix.CPUSet
	if unix.SchedGetaffinity(0, &old) != nil || old.Count() < 2 {
		return runtime.UnlockOSThread
	}
	var cpus []int
	for c := 0; c < len(old)*64; c++ {
		if old.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	var one unix.CPUSet
	one.Set(cpus[(len(cpus)-1)*(i%2)])
	if unix.SchedSetaffinity(0, &one) != nil {
		return runtime.UnlockOSThread
	}
	return func() {
		if unix.SchedSetaffinity(0, &old) != nil {
			return // a thread left pinned is not given back: it exits with the goroutine
		}
		runtime.UnlockOSThread()
	}
}

package loadgen

import (
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sleeper waits until a due time with sub-millisecond precision. Go's timers
// round waits on an idle process up to a millisecond on Linux, which alone
// would break a 1 ms lateness budget, so the last stretch is a nanosleep
// (about 60 µs late, no spinning): the blocked thread holds no P, so other
// goroutines keep running.
type sleeper struct{ t *time.Timer }

func newSleeper() *sleeper { return &sleeper{t: time.NewTimer(time.Hour)} }

func (s *sleeper) close() { s.t.Stop() }

// coarse is how long before the due time the timer hands over to nanosleep.
const coarse = 1500 * time.Microsecond

// until returns at due, or false early when stop closes.
func (s *sleeper) until(due time.Time, stop <-chan struct{}) bool {
	d := time.Until(due)
	if d > 2*coarse {
		s.t.Reset(d - coarse)
		select {
		case <-s.t.C:
		case <-stop:
			return false
		}
		d = time.Until(due)
	}
	if d > 0 {
		// The thread keeps its P while it sleeps, so goroutines queued on
		// the P (the request just launched) would wait for the runtime to
		// hand it over: let them run first.
		runtime.Gosched()
		d = time.Until(due)
	}
	if d > 0 {
		ts := syscall.NsecToTimespec(int64(d))
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		}
	}
	return true
}

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

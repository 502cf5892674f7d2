package sleep

import (
	"runtime"
	"syscall"
	"time"
)

// coarse is how long before the due time the timer hands over to nanosleep.
const coarse = 1500 * time.Microsecond

// until sleeps on the timer to within coarse of due, then in nanosleep
// (about 60 µs late, no spinning): the blocked thread holds no P, so other
// goroutines keep running.
func (s *Sleeper) until(due time.Time, stop <-chan struct{}) bool {
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
		// the P (one just made runnable) would wait for the runtime to hand
		// it over: let them run first.
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

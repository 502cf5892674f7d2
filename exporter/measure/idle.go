package measure

import (
	"sync/atomic"
	"time"
)

// IdleTimer ends a stream that has received nothing for a set time: the
// measurer calls Touch on every read (one atomic store, no lock, no
// allocation), and the timer, which re-arms itself at most once per
// timeout, calls stall once the stream has been idle for the whole timeout.
// The measurer then ends the request with an error wrapping ErrStalled.
//
// Touch and Stop are called from the measuring goroutine; stall runs on a
// timer's goroutine, at most once, and may race with the request's end, so
// it must be harmless once the request is over (a context's cancel is).
type IdleTimer struct {
	d     time.Duration
	base  time.Time
	last  atomic.Int64 // offset from base of the last Touch
	done  atomic.Bool
	t     *time.Timer
	stall func()
}

// NewIdleTimer starts watching a stream whose last byte arrived at now.
func NewIdleTimer(d time.Duration, now time.Time, stall func()) *IdleTimer {
	w := &IdleTimer{d: d, base: now, stall: stall}
	w.t = time.AfterFunc(d, w.check)
	return w
}

// Touch records that bytes arrived at now.
func (w *IdleTimer) Touch(now time.Time) { w.last.Store(int64(now.Sub(w.base))) }

// Stop ends the watch.
func (w *IdleTimer) Stop() {
	w.done.Store(true)
	w.t.Stop()
}

func (w *IdleTimer) check() {
	if w.done.Load() {
		return
	}
	idle := time.Since(w.base) - time.Duration(w.last.Load())
	if idle >= w.d {
		w.done.Store(true)
		w.stall()
		return
	}
	w.t.Reset(w.d - idle)
}

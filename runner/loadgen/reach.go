package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
)

// DefaultUnreachableAfter is how long a target may refuse every connection
// before its level ends as unreachable, when Config.UnreachableAfter is
// zero.
const DefaultUnreachableAfter = 2 * time.Second

// ErrUnreachable is wrapped by Run's error (with ErrAborted) when a level
// ended because its target refused every connection for
// Config.UnreachableAfter: the server died or went away mid-run.
var ErrUnreachable = errors.New("target unreachable")

// Abort wraps cause so that canceling Run's context with it (a
// context.CancelCauseFunc) aborts the running level at once instead of
// interrupting it: no drain, cause as the level's stop reason, no further
// level, and Run's error wrapping ErrAborted and cause. The suite runner
// aborts a level this way when its engine died or its results cannot be
// written.
func Abort(cause error) error { return &abortError{cause: cause} }

type abortError struct{ cause error }

func (e *abortError) Error() string { return e.cause.Error() }
func (e *abortError) Unwrap() error { return e.cause }

// abortCause is the cause inside an Abort, or nil.
func abortCause(ctx context.Context) error {
	var ae *abortError
	if errors.As(context.Cause(ctx), &ae) {
		return ae.cause
	}
	return nil
}

// reach watches whether a level's target still accepts connections. Every
// request that could not connect (kind connect) counts; any answer resets
// the count. From the first refused request, a watcher dials the target
// with backoff: a connection accepted ends the suspicion, none for
// UnreachableAfter aborts the level. Closed-loop streams back off while
// requests fail to connect, so a dead server is not hammered in a loop.
type reach struct {
	l        *level
	addr     string        // host:port dialed by the watcher
	after    time.Duration // <= 0: never abort
	fails    atomic.Int64  // consecutive requests that could not connect
	watching atomic.Bool
	last     atomic.Pointer[string] // the last connect error
}

func newReach(l *level, target string, after time.Duration) *reach {
	r := &reach{l: l, after: after}
	if u, err := url.Parse(target); err == nil {
		host, port := u.Hostname(), u.Port()
		if port == "" {
			port = "80"
			if u.Scheme == "https" {
				port = "443"
			}
		}
		r.addr = net.JoinHostPort(host, port)
	}
	return r
}

// observe takes one finished request.
func (r *reach) observe(res *measure.Result) {
	switch {
	case res.ErrorKind == contract.ErrConnect:
		r.last.Store(&res.Error)
		if r.fails.Add(1) == 1 && r.after > 0 && r.watching.CompareAndSwap(false, true) {
			go r.watch(time.Now())
		}
	case !res.FirstByte.IsZero():
		r.fails.Store(0) // the server answered
	}
}

// backoff is how long a closed-loop stream waits before its next request
// while requests fail to connect: 25 ms doubling to 1 s.
func (r *reach) backoff() time.Duration {
	n := r.fails.Load()
	if n == 0 {
		return 0
	}
	return min(25*time.Millisecond<<min(n-1, 6), time.Second)
}

// watch dials the target with backoff from since (the first refused
// request) until it accepts a connection, a request gets an answer, the
// level stops, or UnreachableAfter passes, which aborts the level.
func (r *reach) watch(since time.Time) {
	defer r.watching.Store(false)
	wait := 50 * time.Millisecond
	for {
		if r.fails.Load() == 0 {
			return
		}
		if r.addr != "" {
			c, err := net.DialTimeout("tcp", r.addr, min(time.Second, r.after))
			if err == nil {
				c.Close()
				r.fails.Store(0)
				return
			}
			r.last.Store(ptr(err.Error()))
		}
		left := r.after - time.Since(since)
		if left <= 0 {
			last := ""
			if p := r.last.Load(); p != nil {
				last = *p
			}
			r.l.abort(fmt.Errorf("%w: %s accepted no connection for %s (%d requests could not connect; last: %s)",
				ErrUnreachable, r.addr, r.after, r.fails.Load(), last))
			return
		}
		t := time.NewTimer(min(wait, left))
		select {
		case <-r.l.stopCh:
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, 400*time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

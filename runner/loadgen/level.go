package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/internal/bounds"
	"github.com/servebench/servebench/internal/netstamp"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
)

// minErrorRateSample is how many requests must finish before the error-rate
// limit may stop a benchmark.
const minErrorRateSample = 20

// level is one benchmark in progress.
type level struct {
	*runner
	spec   pacer.Spec
	br     measure.BenchmarkRecorder
	url    string
	header http.Header
	start  time.Time
	budget Budget
	// sendEnd is the end of sending (warmup + window + cooldown) as an
	// offset from start: nothing is sent at or after it (0 = no time limit).
	sendEnd    time.Duration
	warm, cool time.Duration
	winEnd     time.Duration // end of the window by schedule (0 = until sending stops)

	reqCtx  context.Context // in-flight requests; canceled to cut them
	cutAll  context.CancelFunc
	cutting atomic.Bool

	stopOnce   sync.Once
	stopCh     chan struct{}
	stopReason string
	stoppedAt  time.Duration // offset from start when sending stopped

	// abort ends the level at once (no drain); abortErr is its cause, which
	// Run returns.
	abortOnce sync.Once
	abortCh   chan struct{}
	abortErr  error

	// Sends that were due before sendEnd and could not go out before it,
	// with how late each was when it was given up.
	missMu sync.Mutex
	missed []time.Duration

	// gate closes sending: once closed, launch adds nothing to the wait
	// groups, so waiting on them cannot race a late closed-loop launch.
	gate       sync.RWMutex
	gateClosed bool

	inflight sync.WaitGroup // every request
	measured sync.WaitGroup // requests inside the window
	sent     atomic.Int64
	running  atomic.Int64 // requests in flight now
	dropped  atomic.Int64 // open-loop sends skipped at the in-flight cap
	// Responses timed by the kernel's receive timestamps, and by the
	// client's clock when it read them.
	kernelTimed, readTimed atomic.Int64
	results                chan *measure.Result
	prog                   *progress
	// stalled is the cause a stream's idle timer ends it with.
	stalled error
	// reach ends the level when the target stops accepting connections.
	reach *reach
}

// stop ends sending; reason says why when that is early ("" when the
// profile ran its course or the window closed). The first call wins.
func (l *level) stop(reason string) {
	l.stopOnce.Do(func() {
		l.stopReason = reason
		close(l.stopCh)
	})
}

// abort ends the level at once: sending stops, requests in flight are cut
// without a drain, the level is recorded with cause as its stop reason, and
// Run returns an error wrapping cause without running further levels. It is
// how a condition found while a level runs that makes its measurement
// meaningless (an engine that died) ends it. Safe for concurrent use.
func (l *level) abort(cause error) {
	l.abortOnce.Do(func() {
		l.abortErr = cause
		close(l.abortCh)
	})
	l.stop(cause.Error())
}

// miss records sends due at the given offsets that were given up at now,
// the end of sending having passed.
func (l *level) miss(now time.Time, due ...time.Duration) {
	at := now.Sub(l.start)
	l.missMu.Lock()
	for _, d := range due {
		l.missed = append(l.missed, at-d)
	}
	l.missMu.Unlock()
}

func (l *level) stopped() bool {
	select {
	case <-l.stopCh:
		return true
	default:
		return false
	}
}

// phase places a scheduled offset in the window.
func (l *level) phase(at time.Duration) measure.Phase {
	switch {
	case at < l.warm:
		return measure.PhaseWarmup
	case l.winEnd > 0 && at >= l.winEnd:
		return measure.PhaseCooldown
	}
	return measure.PhaseMeasure
}

// level runs one benchmark and returns its figures.
func (r *runner) level(ctx context.Context, spec pacer.Spec) results.Benchmark {
	c := r.cfg
	labels := r.labels
	labels.Level = spec.Level()
	budget, _ := c.Budget() // checked by Run
	l := &level{runner: r, spec: spec, br: r.rec.Benchmark(labels), header: c.Headers(), url: c.Target + c.API.Path(),
		budget: budget, sendEnd: budget.Send(), warm: budget.Warmup, cool: budget.Cooldown,
		stopCh: make(chan struct{}), abortCh: make(chan struct{}), results: make(chan *measure.Result, 4096),
		stalled: fmt.Errorf("%w: nothing received for %v after the first token", measure.ErrStalled, c.StreamIdleTimeout)}
	l.reach = newReach(l, c.Target, c.UnreachableAfter)
	if c.MaxSeconds > 0 {
		l.winEnd = c.MaxSeconds - budget.Cooldown
	}
	unit := contract.TargetRequestsPerSecond
	if spec.Kind.Closed() {
		unit = contract.TargetStreams
	}
	l.br.SetTarget(spec.Target(), unit)
	l.reqCtx, l.cutAll = context.WithCancel(context.WithoutCancel(ctx))
	defer l.cutAll()

	collected := make(chan struct{})
	cpu0 := c.CPUTime()
	l.start = time.Now()
	sat := watchSaturation(l, c.StopOverSaturated || c.Profile == pacer.Sweep)
	agg := results.NewAggregator(results.Level{Profile: string(spec.Kind), Level: labels.Level, Target: spec.Target(),
		Open: !spec.Kind.Closed(), Start: l.start}, c.Validity)
	r.begun++
	name := labels.Level
	if r.levels > 1 {
		name = fmt.Sprintf("%s (level %d/%d)", name, r.begun, r.levels)
	}
	l.prog = newProgress(c.Progress, c.ProgressTTY, name, l.start, budget)
	l.prog.levelsAfter = max(r.levels-r.begun, 0)
	go l.collect(agg, collected)
	progDone := make(chan struct{})
	go l.prog.loop(c.ProgressEvery, &l.sent, progDone)
	c.Log.Info("benchmark started", "level", labels.Level, "target", spec.Target(), "budget", budget)
	if c.testLevelHook != nil {
		c.testLevelHook(l)
	}

	// Interrupt: stop sending at once; an Abort ends the level at once.
	go func() {
		select {
		case <-ctx.Done():
			if cause := abortCause(ctx); cause != nil {
				l.abort(cause)
			} else {
				l.stop("interrupted")
			}
		case <-l.stopCh:
		}
	}()
	if spec.Kind.Closed() {
		l.closedLoop()
	} else {
		l.openLoop()
	}
	l.stop("") // sending is over; a reason set earlier stays
	l.gate.Lock()
	l.gateClosed = true
	l.gate.Unlock()
	if l.stoppedAt == 0 {
		l.stoppedAt = time.Since(l.start)
	}
	l.prog.draining(l.stoppedAt)

	// Drain: measured requests get DrainTimeout from the end of sending
	// (the end of the window by schedule when sending ran its course, so
	// the level ends by its budget), the rest are cut once the measured
	// ones are done — but not before the window closes: a warmup request
	// still streaming carries chunks that arrive inside the window, and
	// the window's throughput counts them. An interrupt shortens the wait
	// to InterruptGrace; an abort ends it at once.
	winEnd := l.stoppedAt
	if l.winEnd > 0 && l.winEnd < winEnd {
		winEnd = l.winEnd
	}
	drained := make(chan struct{})
	go func() {
		l.measured.Wait()
		if left := time.Until(l.start.Add(winEnd)); left > 0 {
			all := make(chan struct{})
			go func() { l.inflight.Wait(); close(all) }()
			t := time.NewTimer(left)
			select {
			case <-all:
			case <-t.C:
			}
			t.Stop()
		}
		close(drained)
	}()
	deadline := time.NewTimer(time.Until(l.start.Add(l.stoppedAt + c.DrainTimeout)))
	defer deadline.Stop()
	interrupted := ctx.Done()
	var grace <-chan time.Time
	for waiting := true; waiting; {
		select {
		case <-drained:
			waiting = false
		case <-deadline.C:
			c.Log.Warn("drain timeout: cutting in-flight requests", "level", labels.Level, "in_flight", l.running.Load(),
				"drain_timeout", c.DrainTimeout)
			waiting = false
		case <-l.abortCh:
			c.Log.Warn("level aborted: cutting in-flight requests", "level", labels.Level, "cause", l.abortErr)
			waiting = false
		case <-interrupted:
			interrupted = nil
			grace = time.After(c.InterruptGrace)
		case <-grace:
			c.Log.Warn("interrupted: cutting in-flight requests", "level", labels.Level)
			waiting = false
		}
	}
	l.cutting.Store(true)
	l.cutAll()
	l.inflight.Wait()
	close(l.results)
	<-collected
	close(progDone)
	wall := time.Since(l.start)
	cpu := c.CPUTime() - cpu0

	closing := results.Closing{WindowStart: l.warm, WindowEnd: winEnd, StopReason: l.stopReason, CPU: cpu, Wall: wall,
		Dropped: int(l.dropped.Load()), Missed: l.missed}
	if !spec.Kind.Closed() {
		if p, err := pacer.New(spec); err == nil {
			for {
				at, ok := p.Next()
				if !ok || at >= winEnd {
					break
				}
				if at >= l.warm {
					closing.Scheduled++
				}
			}
		}
	}
	b := agg.Close(closing)
	sat.finish(&b)
	b.ChunkClock = chunkClock(l.kernelTimed.Load(), l.readTimed.Load())
	l.br.Close()
	l.prog.final(b)
	c.Log.Info("benchmark finished", "level", labels.Level, "valid", b.Valid, "successful", b.Requests.Successful,
		"failed", b.Requests.Failed, "incomplete", b.Requests.Incomplete, "missed", len(l.missed), "wall", wall.Round(time.Millisecond))
	if l.abortErr != nil {
		r.err = fmt.Errorf("%w: %s: %w", ErrAborted, labels.Level, l.abortErr)
	}
	return b
}

// openLoop sends at the pacer's schedule. It never waits for a response: a
// send that is late goes out at once and its lateness is recorded, unless
// sending has ended by then: every send due before the end that has not
// gone out is given up and counted as missed, never fired late.
//
// Two wakers, each on a CPU of its own when the process may use more than
// one, sleep towards every due time and the first awake sends: on a virtual
// machine a vCPU is now and then descheduled for milliseconds, rarely both
// at once, so the pair is late far less often than either alone.
func (l *level) openLoop() {
	p, err := pacer.New(l.spec)
	if err != nil {
		l.stop(err.Error())
		return
	}
	s := &schedule{l: l, p: p}
	s.cur.Store(s.next(0))
	var wg sync.WaitGroup
	for i := range wakers() {
		wg.Go(func() {
			defer pinWaker(i)()
			s.wake()
		})
	}
	wg.Wait()
	l.stoppedAt = s.stoppedAt
}

// schedule hands the pacer's send times to the wakers, one slot at a time.
type schedule struct {
	l         *level
	mu        sync.Mutex // serialises claims and the pacer
	p         pacer.Pacer
	cur       atomic.Pointer[slot] // the next send, or the end
	stoppedAt time.Duration        // set under mu by the waker that saw the end
}

// slot is one due send, or the end of sending (end set).
type slot struct {
	seq       int
	at        time.Duration
	end       bool
	stoppedAt time.Duration // with end: where the profile stopped sending, 0 = at once
}

// next computes send seq from the pacer (under mu, or before the wakers run).
func (s *schedule) next(seq int) *slot {
	c := s.l.cfg
	if c.MaxRequests > 0 && seq >= c.MaxRequests {
		return &slot{end: true}
	}
	at, ok := s.p.Next()
	if !ok {
		return &slot{end: true} // a replay's trace is over
	}
	if end := s.l.sendEnd; end > 0 && at >= end {
		return &slot{end: true, stoppedAt: end}
	}
	return &slot{seq: seq, at: at}
}

// wake is a waker's loop: sleep to the next due time, claim the send if no
// other waker has, send.
func (s *schedule) wake() {
	l := s.l
	sl := newSleeper()
	defer sl.close()
	for {
		cur := s.cur.Load()
		if cur.end {
			s.mu.Lock()
			if s.stoppedAt == 0 {
				s.stoppedAt = cur.stoppedAt
			}
			s.mu.Unlock()
			return
		}
		due := l.start.Add(cur.at)
		if !sl.until(due, l.stopCh) || l.stopped() {
			s.mu.Lock()
			if s.stoppedAt == 0 {
				s.stoppedAt = time.Since(l.start)
			}
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		if s.cur.Load() != cur {
			s.mu.Unlock()
			continue // the other waker sent it
		}
		if now := time.Now(); l.sendEnd > 0 && now.Sub(l.start) >= l.sendEnd {
			// Woken after the end of sending: this send and every one
			// still due before the end are missed.
			due := []time.Duration{cur.at}
			for nx := s.next(cur.seq + 1); !nx.end; nx = s.next(nx.seq + 1) {
				due = append(due, nx.at)
			}
			l.miss(now, due...)
			end := &slot{end: true, stoppedAt: l.sendEnd}
			s.cur.Store(end)
			s.mu.Unlock()
			continue
		}
		s.cur.Store(s.next(cur.seq + 1))
		s.mu.Unlock()
		if c := l.cfg; c.MaxInFlight > 0 && l.running.Load() >= int64(c.MaxInFlight) {
			l.dropped.Add(1)
			continue
		}
		l.launch(int64(cur.seq), due, cur.at, true) // an open loop keeps its schedule: Retry-After is not for it
	}
}

// closedLoop runs the profile's streams, each sending its next request
// when its previous one ends. It returns when sending is over (every stream
// done, a stop, or max-seconds), not when the last requests end: those are
// drained and cut like an open loop's.
func (l *level) closedLoop() {
	c := l.cfg
	var seq atomic.Int64
	var wg sync.WaitGroup
	defer func() {
		workersDone := make(chan struct{})
		go func() { wg.Wait(); close(workersDone) }()
		var deadline <-chan time.Time
		if c.MaxSeconds > 0 {
			t := time.NewTimer(time.Until(l.start.Add(c.MaxSeconds)))
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-workersDone:
		case <-l.stopCh:
		case <-deadline:
			l.stoppedAt = c.MaxSeconds
			l.stop("") // sending is over; streams finish their request and stop
		}
	}()
	for s := 0; s < l.spec.Streams(); s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !l.stopped() {
				if d := l.reach.backoff(); d > 0 {
					// Requests fail to connect: do not spin on a dead
					// server (the level ends if it stays dead).
					t := time.NewTimer(d)
					select {
					case <-l.stopCh:
						t.Stop()
						return
					case <-t.C:
					}
				}
				now := time.Now()
				at := now.Sub(l.start)
				if c.MaxSeconds > 0 && at >= c.MaxSeconds {
					return
				}
				n := seq.Add(1) - 1
				if c.MaxRequests > 0 && n >= int64(c.MaxRequests) {
					return
				}
				ok, wait := l.launch(n, now, at, false)
				if !ok {
					return
				}
				if wait > 0 {
					// The server asked this stream to wait (429 with
					// Retry-After, honoured with --retry-after).
					t := time.NewTimer(wait)
					select {
					case <-l.stopCh:
						t.Stop()
						return
					case <-t.C:
					}
				}
			}
		}()
	}
}

// launch sends request seq, scheduled at due (offset at), in its own
// goroutine (async) or in the caller's. It returns false, sending nothing,
// once sending is closed; in the caller's goroutine it also returns how long
// the server asked the caller to wait before its next request (Retry-After
// honoured, 0 when none).
func (l *level) launch(seq int64, due time.Time, at time.Duration, async bool) (bool, time.Duration) {
	ph := l.phase(at)
	l.gate.RLock()
	if l.gateClosed {
		l.gate.RUnlock()
		return false, 0
	}
	l.inflight.Add(1)
	if ph == measure.PhaseMeasure {
		l.measured.Add(1)
	}
	l.gate.RUnlock()
	l.sent.Add(1)
	l.running.Add(1)
	item := &l.bodies[int(seq)%len(l.bodies)]
	if async {
		go l.do(seq, due, ph, item)
		return true, 0
	}
	return true, l.do(seq, due, ph, item)
}

// maxAnswer bounds what is kept of a transcription's answer for scoring.
const maxAnswer = 4 << 20

// bufPool holds read buffers; a response keeps one for its whole life, so
// they are small: a read returns what has arrived, rarely more than a few
// chunks of a few hundred bytes.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// do sends one request and times its response. A send whose moment comes
// at or after the end of sending does not go out: an open loop counts it
// missed. With Config.RetryAfter, a 429's Retry-After is returned: how
// long the caller should wait before its next request.
func (l *level) do(seq int64, due time.Time, ph measure.Phase, item *prepared) (retryAfter time.Duration) {
	defer l.inflight.Done()
	defer l.running.Add(-1)
	if ph == measure.PhaseMeasure {
		defer l.measured.Done()
	}
	c := l.cfg
	ctx, cancel := context.WithTimeout(l.reqCtx, c.RequestTimeout)
	defer cancel()
	ctx, stall := context.WithCancelCause(ctx)
	defer stall(nil)
	var dater netstamp.Dater // chunks dated by arrival, where the connection has receive timestamps
	req, err := http.NewRequestWithContext(dater.Trace(ctx), http.MethodPost, l.url, bytes.NewReader(item.body))
	if err == nil {
		req.Header = l.header
		req.ContentLength = int64(len(item.body))
	}
	stream := c.Stream && c.API != measure.APIEmbeddings
	sent := time.Now()
	if l.sendEnd > 0 && sent.Sub(l.start) >= l.sendEnd {
		l.sent.Add(-1)
		if !l.spec.Kind.Closed() {
			l.miss(sent, due.Sub(l.start))
		}
		return
	}
	dater.Since(sent)
	l.br.Started()
	w := &watch{l: l, stall: stall, stream: stream}
	var answer []byte // a transcription's answer, kept to score its text
	tr := measure.NewTracker(seq, due, sent, measure.TrackOptions{Stream: stream, API: c.API,
		ExpectTokens: item.expect, PromptTokens: item.prompt, ChunkHint: item.hint, MaxTokens: item.max, FirstToken: w,
		Redact: l.redact})
	var resp *http.Response
	if err == nil {
		resp, err = c.Client.Do(req)
	}
	if err == nil {
		if dater.Stamped() {
			l.kernelTimed.Add(1)
		} else {
			l.readTimed.Add(1)
		}
		tr.Header(resp.StatusCode, dater.Date(time.Now()))
		if resp.StatusCode == http.StatusTooManyRequests && c.RetryAfter {
			retryAfter = l.retryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
		bp := bufPool.Get().(*[]byte)
		buf := *bp
		for {
			n, rerr := resp.Body.Read(buf)
			if n > 0 {
				now := time.Now()
				tr.Write(buf[:n], dater.Date(now))
				if item.audio != nil && len(answer) < maxAnswer {
					answer = append(answer, buf[:n]...)
				}
				if w.idle != nil {
					w.idle.Touch(now)
				}
			}
			if rerr != nil {
				if rerr != io.EOF {
					err = rerr
				}
				break
			}
		}
		bufPool.Put(bp)
		resp.Body.Close()
	}
	if w.idle != nil {
		w.idle.Stop()
	}
	switch cause := context.Cause(ctx); {
	case err == nil:
	case errors.Is(cause, measure.ErrStalled):
		err = cause
	case l.cutting.Load() && ctx.Err() != nil && !errors.Is(cause, context.DeadlineExceeded):
		tr.Cut()
	}
	res := tr.Finish(time.Now(), err)
	res.Level, res.Phase = l.spec.Level(), ph
	l.reach.observe(res)
	if item.audio != nil {
		scoreAudio(res, item.audio, answer, stream)
	}
	l.br.Finished(res)
	l.results <- res
	return retryAfter
}

// retryAfter reads a Retry-After header (seconds, or an HTTP date) into a
// wait from now, bounded by the end of sending: a stream never waits past
// its level. 0 when the header is missing or unreadable.
func (l *level) retryAfter(h string, now time.Time) time.Duration {
	var d time.Duration
	if secs, err := strconv.ParseFloat(strings.TrimSpace(h), 64); err == nil && secs > 0 {
		d = time.Duration(min(secs, bounds.MaxTimeoutSeconds) * float64(time.Second))
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	if l.sendEnd > 0 {
		d = min(d, l.start.Add(l.sendEnd).Sub(now))
	}
	return max(d, 0)
}

// watch is one request's first-token observer: it feeds the live series
// and the progress line, and starts the stream's idle timer.
type watch struct {
	l      *level
	stall  context.CancelCauseFunc
	stream bool
	idle   *measure.IdleTimer // set at the first token (streams)
}

func (w *watch) FirstToken(ttft time.Duration) {
	w.l.br.FirstToken(ttft)
	w.l.prog.firstToken(ttft)
	if d := w.l.cfg.StreamIdleTimeout; w.stream && d > 0 {
		w.idle = measure.NewIdleTimer(d, time.Now(), func() { w.stall(w.l.stalled) })
	}
}

// collect aggregates results, hands them to the sink, feeds the progress
// line and enforces the error limits.
func (l *level) collect(agg *results.Aggregator, done chan<- struct{}) {
	defer close(done)
	c := l.cfg
	finished, failed := 0, 0
	for res := range l.results {
		agg.Add(res)
		l.sink(res)
		l.prog.add(res)
		finished++
		if res.Outcome == contract.OutcomeError {
			failed++
		}
		if c.MaxErrors > 0 && failed >= c.MaxErrors {
			l.stop(fmt.Sprintf("max-errors %d reached", c.MaxErrors))
		}
		if c.MaxErrorRate > 0 && finished >= minErrorRateSample && float64(failed)/float64(finished) > c.MaxErrorRate {
			l.stop(fmt.Sprintf("error rate %.3g passed max-error-rate %.3g", float64(failed)/float64(finished), c.MaxErrorRate))
		}
	}
}

// chunkClock names what timed the level's chunks: "kernel" (receive
// timestamps), "read" (the client's clock when it read them) or "mixed".
func chunkClock(kernel, read int64) string {
	switch {
	case kernel > 0 && read > 0:
		return "mixed"
	case kernel > 0:
		return "kernel"
	case read > 0:
		return "read"
	}
	return ""
}

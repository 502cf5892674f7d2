package loadgen

import (
	"log/slog"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/saturation"
)

// satTick is how often a level's detector may be judged; a long level is
// judged at most every 1/200 of its elapsed time, which keeps the cost of
// Check (linear in the judged window's events) small.
const satTick = 250 * time.Millisecond

// judgesSaturation reports whether the over-saturation detector runs on
// levels of kind k: open loops whose offered rate does not change (a ramp
// or a replayed trace grows the in-flight count by design).
func judgesSaturation(k pacer.Kind) bool {
	return k == pacer.Constant || k == pacer.Poisson || k == pacer.Gamma
}

// satWatch runs the over-saturation detector beside one level. It wraps the
// level's recorder to see every send, first token and end, and judges the
// level from a goroutine of its own until sending stops. With stop set, an
// over-saturated verdict stops sending.
type satWatch struct {
	measure.BenchmarkRecorder // the level's own, which every call reaches first

	start time.Time
	now   func() time.Duration // offset from start
	stop  func(reason string)
	log   *slog.Logger
	level string

	mu  sync.Mutex
	det *saturation.Detector
	// online is set by the first FirstToken call: first tokens then arrive
	// as they happen, not with Finished.
	online bool
	last   saturation.Evidence
	done   chan struct{}
}

// watchSaturation starts the detector on level l when its profile is
// judged; it returns nil otherwise.
func watchSaturation(l *level, stop bool) *satWatch {
	if !judgesSaturation(l.spec.Kind) {
		return nil
	}
	w := newSatWatch(l.br, l.start, func() time.Duration { return time.Since(l.start) }, l.cfg.Saturation)
	w.log, w.level = l.cfg.Log, l.spec.Level()
	if stop {
		w.stop = l.stop
	}
	l.br = w
	go w.run(l.stopCh)
	return w
}

func newSatWatch(br measure.BenchmarkRecorder, start time.Time, now func() time.Duration, c saturation.Config) *satWatch {
	return &satWatch{BenchmarkRecorder: br, start: start, now: now, det: saturation.New(c), done: make(chan struct{}),
		log: slog.New(slog.DiscardHandler)}
}

// Started feeds a send.
func (w *satWatch) Started() {
	w.BenchmarkRecorder.Started()
	at := w.now()
	w.mu.Lock()
	w.det.Sent(at)
	w.mu.Unlock()
}

// FirstToken feeds a first token as it arrives (ttft from the scheduled
// send).
func (w *satWatch) FirstToken(ttft time.Duration) {
	w.BenchmarkRecorder.FirstToken(ttft)
	at := w.now()
	w.mu.Lock()
	w.online = true
	w.det.FirstToken(at-ttft, at)
	w.mu.Unlock()
}

// Finished feeds an end, and the first token when it was not fed as it came.
func (w *satWatch) Finished(r *measure.Result) {
	w.BenchmarkRecorder.Finished(r)
	sent, first := r.Sent.Sub(w.start), time.Duration(-1)
	w.mu.Lock()
	if !r.FirstTok.IsZero() {
		first = r.FirstTok.Sub(w.start)
		if !w.online {
			w.det.FirstToken(sent, first)
		}
	}
	w.det.Ended(sent, first, r.End.Sub(w.start))
	w.mu.Unlock()
}

// run judges the level every satTick (less often as it grows) until it is
// over-saturated or sending stops, then once more at the stop.
func (w *satWatch) run(stopped <-chan struct{}) {
	defer close(w.done)
	t := time.NewTicker(satTick)
	defer t.Stop()
	var judged time.Duration
	for {
		select {
		case <-stopped:
			w.check(w.now())
			return
		case <-t.C:
		}
		now := w.now()
		if now-judged < max(satTick, now/200) {
			continue
		}
		judged = now
		if ev := w.check(now); ev.State == saturation.Saturated {
			w.log.Warn("the server does not keep up with the offered rate", "level", w.level, "stop", w.stop != nil, "evidence", ev.String())
			if w.stop != nil {
				w.stop("over-saturated: the server does not keep up with the offered rate")
			}
			return
		}
	}
}

func (w *satWatch) check(now time.Duration) saturation.Evidence {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last.State == saturation.Saturated {
		return w.last // the first verdict of over-saturation stands
	}
	w.last = w.det.Check(now)
	return w.last
}

// finish waits for the judging goroutine (sending has stopped) and puts the
// verdict in b: its evidence, and an invalid reason when over-saturated.
func (w *satWatch) finish(b *results.Benchmark) {
	if w == nil {
		return
	}
	<-w.done
	ev := w.last
	b.OverSaturation = &ev
	if ev.State == saturation.Saturated {
		b.InvalidReasons = append(b.InvalidReasons, "server saturated: "+ev.String())
		b.Valid = false
	}
}

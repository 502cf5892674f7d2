package loadgen

import (
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/saturation"
)

// callCounter counts the calls it gets.
type callCounter struct {
	measure.BenchmarkRecorder
	started, first, finished atomic.Int64
}

func (c *callCounter) Started()                 { c.started.Add(1) }
func (c *callCounter) FirstToken(time.Duration) { c.first.Add(1) }
func (c *callCounter) Finished(*measure.Result) { c.finished.Add(1) }

// The watch passes every call on and feeds the detector each request once,
// whether first tokens come as they arrive or only with Finished: both give
// the same verdict.
func TestSatWatchFeedsTheDetector(t *testing.T) {
	verdict := func(online bool) (saturation.Evidence, *callCounter) {
		inner := &callCounter{BenchmarkRecorder: measure.Discard.Benchmark(measure.BenchmarkLabels{})}
		start := time.Unix(1000, 0)
		var now time.Duration
		w := newSatWatch(inner, start, func() time.Duration { return now }, saturation.Config{})
		// A request every 2 s, its first token after 0.2 s, done after
		// 2 s; the watch sees the events in time order. The 15 first
		// tokens of the judged window fill 5 bins: counted twice, 8.
		type ev struct {
			at   time.Duration
			kind int
			i    int
		}
		var evs []ev
		for i := range 30 {
			s := time.Duration(i) * 2 * time.Second
			evs = append(evs, ev{s, 0, i}, ev{s + 200*time.Millisecond, 1, i}, ev{s + 2*time.Second, 2, i})
		}
		sortEvents := func(a, b ev) int { return int(a.at - b.at) }
		slices.SortFunc(evs, sortEvents)
		for _, e := range evs {
			now = e.at
			s := time.Duration(e.i) * 2 * time.Second
			switch e.kind {
			case 0:
				w.Started()
			case 1:
				if online {
					w.FirstToken(200 * time.Millisecond)
				}
			case 2:
				w.Finished(&measure.Result{Outcome: contract.OutcomeSuccess, Sent: start.Add(s),
					FirstTok: start.Add(s + 200*time.Millisecond), End: start.Add(s + 2*time.Second)})
			}
		}
		return w.check(60 * time.Second), inner
	}
	late, inner := verdict(false)
	online, innerOnline := verdict(true)
	if late.State != saturation.Steady || late.Bins != 5 {
		t.Fatalf("late first tokens: %s", late)
	}
	a, _ := json.Marshal(late)
	b, _ := json.Marshal(online)
	if string(a) != string(b) {
		t.Errorf("first tokens as they come and with Finished disagree:\n%s\n%s", a, b)
	}
	if inner.started.Load() != 30 || inner.finished.Load() != 30 || inner.first.Load() != 0 || innerOnline.first.Load() != 30 {
		t.Errorf("passed on: started %d finished %d first %d / %d", inner.started.Load(), inner.finished.Load(), inner.first.Load(), innerOnline.first.Load())
	}
}

// A verdict of over-saturation invalidates the benchmark, with the evidence.
func TestSatWatchFinish(t *testing.T) {
	w := &satWatch{done: make(chan struct{}), last: saturation.Evidence{State: saturation.Saturated, At: 3, Window: &saturation.Window{}}}
	close(w.done)
	b := results.Benchmark{Valid: true, InvalidReasons: []string{}}
	w.finish(&b)
	if b.Valid || len(b.InvalidReasons) != 1 || b.OverSaturation == nil || b.OverSaturation.State != saturation.Saturated {
		t.Fatalf("%+v", b)
	}
	var none *satWatch
	none.finish(&b) // levels that are not judged
}

package metered

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
)

// collector keeps the proxy's records of a level (and passes them on),
// placing each in its phase of the level's budget: warmup, measure or
// cooldown by its arrival after the level's first request.
type collector struct {
	next   measure.Recorder
	budget loadgen.Budget
	first  func() time.Time

	mu      sync.Mutex
	records []*measure.Result
}

func (c *collector) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	return collectBench{BenchmarkRecorder: c.next.Benchmark(l), c: c}
}

type collectBench struct {
	measure.BenchmarkRecorder
	c *collector
}

func (b collectBench) Finished(r *measure.Result) {
	b.c.add(r)
	b.BenchmarkRecorder.Finished(r)
}

func (c *collector) add(r *measure.Result) {
	if r.Phase == "" && c.budget.Bounded() {
		if first := c.first(); !first.IsZero() {
			switch at := r.Scheduled.Sub(first); {
			case at < c.budget.Warmup:
				r.Phase = measure.PhaseWarmup
			case at >= c.budget.Warmup+c.budget.Window:
				r.Phase = measure.PhaseCooldown
			default:
				r.Phase = measure.PhaseMeasure
			}
		}
	}
	c.mu.Lock()
	c.records = append(c.records, r)
	c.mu.Unlock()
}

func (c *collector) all() []*measure.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.records)
}

// proxyView is the level as the metering proxy measured it, with
// servebench's rules: time zero is the first request's arrival, the
// window the budget's (or, for a level bounded by a count only, from the
// first arrival to the last end), an open loop's schedule its target rate
// over the window.
func proxyView(req orchestrate.LoadRequest, rs []*measure.Result, first time.Time) results.Benchmark {
	open := req.Level.Profile == "constant" || req.Level.Profile == "poisson"
	lv := results.Level{Profile: req.Level.Profile, Level: req.Level.Name, Target: req.Target, Open: open, Start: first}
	agg := results.NewAggregator(lv, results.Validity{})
	var last time.Time
	for _, r := range rs {
		agg.Add(r)
		if r.End.After(last) {
			last = r.End
		}
	}
	c := results.Closing{WindowStart: req.Budget.Warmup, WindowEnd: req.Budget.Warmup + req.Budget.Window}
	if !req.Budget.Bounded() && !first.IsZero() {
		c.WindowStart, c.WindowEnd = 0, last.Sub(first)
	}
	if open && req.Target > 0 {
		c.Scheduled = int(math.Round(req.Target * (c.WindowEnd - c.WindowStart).Seconds()))
	}
	b := agg.Close(c)
	b.Level = req.Level.Name
	return b
}

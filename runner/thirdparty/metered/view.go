package metered

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
)

// collector keeps the proxy's records of a level (and passes them on),
// placing each in its phase of the level's budget: warmup, measure or
// cooldown by its arrival after the level's first request.
//
// A request the tool itself gave up on (the client went away: canceled)
// is held back until it is known why: when a later request arrived after
// it ended, the tool was still sending and gave up on it mid-run (its own
// timeout) — an error, passed on as such; when the tool ended without
// sending again, it abandoned the request in flight when it stopped (a
// closed-loop tool at the end of its duration) — a cut-off effect, as a
// request cut at the drain deadline, recorded incomplete with what it
// received (settle).
type collector struct {
	next   measure.Recorder
	budget loadgen.Budget
	first  func() time.Time

	mu      sync.Mutex
	records []*measure.Result
	held    []held
	settled bool
}

// held is a canceled request waiting for its verdict, with the benchmark
// recorder it goes to.
type held struct {
	r   *measure.Result
	rec measure.BenchmarkRecorder
}

func (c *collector) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	return collectBench{BenchmarkRecorder: c.next.Benchmark(l), c: c}
}

type collectBench struct {
	measure.BenchmarkRecorder
	c *collector
}

func (b collectBench) Finished(r *measure.Result) {
	for _, h := range b.c.add(r, b.BenchmarkRecorder) {
		h.rec.Finished(h.r)
	}
}

// add places r and returns what may be passed on now: r itself unless it
// is held, and the held requests r shows were given up on mid-run.
func (c *collector) add(r *measure.Result, rec measure.BenchmarkRecorder) []held {
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
	defer c.mu.Unlock()
	var out []held
	kept := c.held[:0]
	for _, h := range c.held {
		if r.Scheduled.After(h.r.End) {
			out = append(out, h)
			c.records = append(c.records, h.r)
		} else {
			kept = append(kept, h)
		}
	}
	c.held = kept
	switch {
	case r.ErrorKind != contract.ErrCanceled:
	case c.settled:
		abandoned(r)
	default:
		c.held = append(c.held, held{r, rec})
		return out
	}
	c.records = append(c.records, r)
	return append(out, held{r, rec})
}

// settle ends the level for the held requests, once the tool has ended:
// each was abandoned by the tool in flight and is recorded incomplete.
// Requests the tool gives up on afterwards are recorded so at once. It
// returns how many there were.
func (c *collector) settle() int {
	c.mu.Lock()
	hs := c.held
	c.held, c.settled = nil, true
	for _, h := range hs {
		abandoned(h.r)
		c.records = append(c.records, h.r)
	}
	c.mu.Unlock()
	for _, h := range hs {
		h.rec.Finished(h.r)
	}
	return len(hs)
}

// abandoned marks r a request the tool stopped with in flight.
func abandoned(r *measure.Result) {
	r.Outcome, r.ErrorKind = contract.OutcomeIncomplete, ""
	r.Error = "abandoned in flight by the load generator when it stopped"
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

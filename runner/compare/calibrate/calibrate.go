// Package calibrate measures runner compare's error rates: how often two
// samples of one configuration are called a regression (the false-regression
// rate, which must stay at or below alpha) and how often a real slowdown is
// caught (power), over many comparisons.
//
// Runs are modelled, not measured: the engine simulator's performance model
// (perfmodel) serves closed-loop levels in virtual time, its step jitter
// giving the within-run noise, and each run's step time is multiplied by a
// log-normal host drift (Model.HostCV) for the run-to-run noise. The
// requests are aggregated by results.Aggregator exactly as a real run's, and
// judged by compare.Compare as runner compare judges them. Hundreds of runs
// take seconds where real ones would take hours; docs/analysis.md justifies
// the noise from real repeated simulator runs.
//
// Everything is deterministic for a seed. Functions are safe for concurrent
// use; Measure spreads comparisons over GOMAXPROCS goroutines.
package calibrate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/compare"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/simulator/perfmodel"
)

// Model describes the runs: an engine, closed-loop levels of fixed-length
// requests, and the noise.
type Model struct {
	Engine perfmodel.SchedulerConfig // Slowdown is set per run; Seed is drawn per run
	Levels []int                     // streams per level, e.g. 2 and 8
	Prompt int                       // prompt tokens per request
	Output int                       // output tokens per request
	Warmup time.Duration             // before the window
	Window time.Duration             // the measured window
	// HostCV is the run-to-run drift: each run's step time is multiplied
	// by exp(HostCV*Z), Z standard normal.
	HostCV float64
	// Hiccups are the host's other tenants: each engine step is delayed,
	// with probability HiccupRate times the run's intensity, by an
	// exponential delay of mean HiccupMean. The intensity is log-normal
	// with log standard deviation HiccupSpread and mean 1: some runs are
	// disturbed more than others, which moves throughput and the tails
	// between runs while the median gap stays put.
	HiccupRate   float64
	HiccupMean   time.Duration
	HiccupSpread float64
	// Turnaround is the mean of the exponential time between a stream's
	// completion and its next send (the HTTP round and the client's
	// scheduling). It desynchronises the streams as in a real closed loop,
	// where a send that misses a step boundary waits for the next step.
	Turnaround time.Duration
	// Stall is the mean of the exponential delay the host adds to each
	// engine step (it ran the step or delivered its tokens late).
	Stall time.Duration
	// Samples keeps the per-request records, so that compare's within-run
	// tests run too.
	Samples bool
}

// Default is the configuration measured for docs/analysis.md: Qwen3-0.6B on
// 16 simulated cores with vLLM's CPU defaults and 5% step jitter,
// concurrent-2 and concurrent-8 of 128-token prompts and 32-token outputs,
// 2 s of warmup and a 20 s window, as `runner bench --profile concurrent
// --rate 2,8 --max-seconds 20 --warmup 2 --data
// prompt_tokens=128,output_tokens=32` measures the simulator.
func Default() Model {
	prof, _ := perfmodel.Preset("Qwen/Qwen3-0.6B")
	hw := perfmodel.DefaultHardware()
	hw.Cores = 16
	return Model{
		Engine: perfmodel.SchedulerConfig{Profile: prof, Hardware: hw, MaxNumSeqs: 128, MaxNumBatchedTokens: 2048,
			BlockSize: 128, KVCacheBytes: 4 << 30, Slowdown: 1, Jitter: 0.05},
		Levels: []int{2, 8}, Prompt: 128, Output: 32, Warmup: 2 * time.Second, Window: 20 * time.Second,
		HostCV: 0.02, HiccupRate: 0.04, HiccupMean: 50 * time.Millisecond, HiccupSpread: 0.9,
		Turnaround: time.Millisecond, Stall: 300 * time.Microsecond, Samples: true,
	}
}

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Run models one run: every level in turn on a fresh engine whose step time
// is slowdown times the run's host drift. The cell is named "cell" and
// carries runID.
func (m Model) Run(runID string, seed uint64, slowdown float64) (compare.Cell, error) {
	rng := rand.New(rand.NewPCG(seed, 0xca11b))
	drift := math.Exp(m.HostCV * rng.NormFloat64())
	intensity := math.Exp(m.HiccupSpread*rng.NormFloat64() - m.HiccupSpread*m.HiccupSpread/2)
	sum := &results.Summary{SchemaVersion: results.SchemaVersion, RunID: runID, Cell: "cell", Model: m.Engine.Profile.ID,
		Workload: "calibration", Cores: m.Engine.Hardware.Cores, Loadgen: "native"}
	var recs []measure.Result
	for _, streams := range m.Levels {
		cfg := m.Engine
		cfg.Slowdown, cfg.Seed = slowdown*drift, rng.Uint64()
		b, rs, err := m.level(cfg, streams, m.HiccupRate*intensity)
		if err != nil {
			return compare.Cell{}, err
		}
		sum.Benchmarks = append(sum.Benchmarks, b)
		recs = append(recs, rs...)
	}
	c := compare.Cell{Path: runID, Key: "cell", Summary: sum}
	if m.Samples {
		c.Requests = recs
	}
	return c, nil
}

// level runs one closed-loop level: streams send fixed-length requests back
// to back from the start until the window closes; requests in flight then
// finish (the drain).
func (m Model) level(cfg perfmodel.SchedulerConfig, streams int, hiccups float64) (results.Benchmark, []measure.Result, error) {
	s, err := perfmodel.NewScheduler(cfg)
	if err != nil {
		return results.Benchmark{}, nil, err
	}
	name := fmt.Sprintf("concurrent-%d", streams)
	agg := results.NewAggregator(results.Level{Profile: "concurrent", Level: name, Target: float64(streams), Start: start},
		results.Validity{MinSamplesP99: 1})
	type req struct {
		seq    int64
		q      *perfmodel.Seq
		chunks []time.Time
	}
	var out []measure.Result
	live := map[*perfmodel.Seq]*req{}
	var pending []time.Time // sends due, in time order
	next := int64(0)
	end := start.Add(m.Warmup + m.Window)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7a11))
	for range streams {
		pending = append(pending, start)
	}
	now := start
	for len(live) > 0 || len(pending) > 0 {
		// Sends due by now join the next step; an idle engine waits for
		// the next send.
		if len(live) == 0 && pending[0].After(now) {
			now = pending[0]
		}
		for len(pending) > 0 && !pending[0].After(now) {
			q := &perfmodel.Seq{Prompt: m.Prompt, MaxOutput: m.Output}
			s.Add(q, pending[0])
			live[q] = &req{seq: next, q: q}
			next++
			pending = pending[1:]
		}
		st := s.Step(now)
		if st.End == st.Start {
			return results.Benchmark{}, nil, fmt.Errorf("calibrate: no progress at %s", now.Sub(start))
		}
		late := rng.ExpFloat64() * float64(m.Stall)
		if rng.Float64() < hiccups {
			late += rng.ExpFloat64() * float64(m.HiccupMean)
		}
		now = st.End.Add(time.Duration(late))
		for _, q := range st.Emitted {
			live[q].chunks = append(live[q].chunks, now)
		}
		for _, q := range st.Finished {
			r := live[q]
			delete(live, q)
			first, last := r.chunks[0], r.chunks[len(r.chunks)-1]
			res := measure.Result{Seq: r.seq, Scheduled: q.Arrival, Sent: q.Arrival, FirstByte: first, FirstTok: first,
				End: last, PromptTokens: m.Prompt, OutputTokens: q.Generated, Level: name, Phase: phase(q.Arrival, m.Warmup, end),
				Status: 200, Outcome: contract.OutcomeSuccess, TokenSource: "usage"}
			for _, at := range r.chunks {
				res.Chunks = append(res.Chunks, measure.Chunk{At: at.Sub(q.Arrival), Tokens: 1})
			}
			agg.Add(&res)
			out = append(out, res)
			if at := now.Add(time.Duration(rng.ExpFloat64() * float64(m.Turnaround))); at.Before(end) {
				i, _ := slices.BinarySearchFunc(pending, at, func(a, b time.Time) int { return a.Compare(b) })
				pending = slices.Insert(pending, i, at)
			}
		}
	}
	b := agg.Close(results.Closing{WindowStart: m.Warmup, WindowEnd: m.Warmup + m.Window})
	return b, out, nil
}

func phase(at time.Time, warmup time.Duration, end time.Time) measure.Phase {
	switch {
	case at.Before(start.Add(warmup)):
		return measure.PhaseWarmup
	case at.Before(end):
		return measure.PhaseMeasure
	}
	return measure.PhaseCooldown
}

// Scenario is one kind of comparison.
type Scenario struct {
	Name     string
	Runs     int     // runs per side
	Slowdown float64 // of side B; 1 is an A/A comparison
	// FloorRuns, when > 0, gives each comparison a stored noise floor
	// measured on that many earlier runs of A's configuration, in groups
	// of three (two degrees of freedom each).
	FloorRuns int
}

// Tally counts the outcomes of a scenario's comparisons.
type Tally struct {
	Scenario     Scenario
	Alpha        float64
	Comparisons  int
	Regression   int // exit 3
	Inconclusive int // exit 5
	NoRegression int // exit 0
	// Detected counts, per metric, the comparisons in which it regressed
	// at some level.
	Detected map[string]int
	// MDE is the median over comparisons of the largest minimal detectable
	// effect among the primary metrics, at the level concurrent-8.
	MDE float64
}

// Rate is n over the comparisons.
func (t Tally) Rate(n int) float64 { return float64(n) / float64(t.Comparisons) }

// Measure runs n comparisons of sc with options o, each on runs drawn from
// seed and its index.
func (m Model) Measure(sc Scenario, n int, seed uint64, o compare.Options) (Tally, error) {
	t := Tally{Scenario: sc, Alpha: o.Alpha, Comparisons: n, Detected: map[string]int{}}
	type result struct {
		rep *compare.Report
		err error
	}
	res := make([]result, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rep, err := m.compareOnce(sc, seed*1_000_003+uint64(i)*7919, o)
			res[i] = result{rep, err}
		}()
	}
	wg.Wait()
	var mdes []float64
	for _, r := range res {
		if r.err != nil {
			return t, r.err
		}
		switch r.rep.Outcome {
		case compare.OutcomeRegression:
			t.Regression++
		case compare.OutcomeInconclusive:
			t.Inconclusive++
		default:
			t.NoRegression++
		}
		seen := map[string]bool{}
		worst := 0.0
		for _, l := range r.rep.Comparisons[0].Cells[0].Levels {
			for _, mv := range l.Metrics {
				if mv.Verdict == compare.Regressed && !seen[mv.Metric] {
					seen[mv.Metric] = true
					t.Detected[mv.Metric]++
				}
				if l.Level == "concurrent-8" && mv.Primary && mv.MDE != nil {
					worst = math.Max(worst, *mv.MDE)
				}
			}
		}
		mdes = append(mdes, worst)
	}
	t.MDE = median(mdes)
	return t, nil
}

func (m Model) compareOnce(sc Scenario, seed uint64, o compare.Options) (*compare.Report, error) {
	side := func(label string, k int, slowdown float64) (compare.Side, error) {
		s := compare.Side{Label: label}
		for i := range sc.Runs {
			id := fmt.Sprintf("%s-%d", label, i)
			c, err := m.Run(id, seed+uint64(k*1000+i), slowdown)
			if err != nil {
				return s, err
			}
			s.Repeats = append(s.Repeats, []compare.Cell{c})
		}
		return s, nil
	}
	a, err := side("a", 1, 1)
	if err != nil {
		return nil, err
	}
	b, err := side("b", 2, sc.Slowdown)
	if err != nil {
		return nil, err
	}
	if sc.FloorRuns > 0 {
		if o.Floor, err = m.floor(sc.FloorRuns, seed+3_000_000); err != nil {
			return nil, err
		}
	}
	return compare.Compare([]compare.Side{a, b}, o)
}

// floor measures a noise floor on runs of the model as it is, the way a CI
// baseline accumulates one: compare.Compare of groups of three, each
// group's run-to-run variance added.
func (m Model) floor(runs int, seed uint64) (*compare.Floor, error) {
	summaries := m
	summaries.Samples = false // the floor needs only the per-run figures
	f := &compare.Floor{}
	var groups []compare.Side
	for g := 0; g*3+3 <= runs; g++ {
		s := compare.Side{Label: fmt.Sprintf("floor%d", g)}
		for i := range 3 {
			c, err := summaries.Run(fmt.Sprintf("floor%d-%d", g, i), seed+uint64(g*3+i), 1)
			if err != nil {
				return nil, err
			}
			s.Repeats = append(s.Repeats, []compare.Cell{c})
		}
		groups = append(groups, s)
	}
	for i := 0; i+1 < len(groups); i += 2 {
		rep, err := compare.Compare([]compare.Side{groups[i], groups[i+1]}, compare.Options{Iterations: 100})
		if err != nil {
			return nil, err
		}
		f.Add(start, rep.FloorUpdates...)
	}
	if len(groups)%2 == 1 {
		last := groups[len(groups)-1]
		rep, err := compare.Compare([]compare.Side{last, last}, compare.Options{Iterations: 100})
		if err != nil {
			return nil, err
		}
		f.Add(start, rep.FloorUpdates...)
	}
	return f, nil
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}

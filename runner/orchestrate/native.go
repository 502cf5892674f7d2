package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/runner/audio"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/pacer"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/workload"
)

// Native runs load levels with the in-process native load generator. It
// builds a cell's prompts once, before its first level, and sends the same
// prompts at every level of the cell: no level spends its budget, nor the
// engine its time, on /tokenize calls.
type Native struct {
	log *slog.Logger
	// Configure, when set, adjusts every loadgen.Config before it runs
	// (tests shorten drain timeouts with it).
	Configure func(*loadgen.Config)

	mu      sync.Mutex
	audio   map[string][]audio.Clip  // audio workloads, built once
	cell    string                   // the cell whose prompts are kept
	prompts map[string]*workload.Set // by engine URL
}

// NewNative returns the native load generator driver.
func NewNative(log *slog.Logger) *Native {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Native{log: log}
}

// Name implements LoadGenerator.
func (*Native) Name() string { return "native" }

// Version implements LoadGenerator: the native load generator is this build.
func (*Native) Version() string { return "builtin" }

// Config is the loadgen configuration of one level against one URL; target
// is the level's target for that URL.
func (n *Native) Config(req LoadRequest, url string, target float64) (loadgen.Config, error) {
	api, err := measure.ParseAPI(req.Cell.API)
	if err != nil {
		return loadgen.Config{}, err
	}
	var w workload.Spec
	var clips []audio.Clip
	if api == measure.APITranscriptions {
		w.Name = req.Cell.Workload
		if clips, err = n.clips(req.Cell.Workload); err != nil {
			return loadgen.Config{}, err
		}
	} else if w, err = workload.Lookup(req.Cell.Workload); err != nil {
		return loadgen.Config{}, fmt.Errorf("workload %s: %w", req.Cell.Workload, err)
	}
	cfg := loadgen.Config{
		Target: url, Model: req.Model, API: api, Stream: api != measure.APIEmbeddings,
		Profile: pacer.Kind(req.Level.Profile), Rates: []float64{target},
		Workload: w, IgnoreEOS: true,
		MaxSeconds:        seconds(req.Limits.MaxSeconds),
		MaxRequests:       req.Limits.MaxRequests,
		Warmup:            loadgen.Span(req.Limits.WarmupSeconds),
		Cooldown:          loadgen.Span(req.Limits.CooldownSeconds),
		RequestTimeout:    seconds(req.Limits.RequestTimeoutSeconds),
		DrainTimeout:      req.Budget.Drain,
		StreamIdleTimeout: seconds(req.Limits.StreamIdleTimeoutSeconds),
		StopOverSaturated: req.Limits.StopOverSaturated,
		Seed:              req.Seed,
		APIKey:            req.APIKey,
		Labels:            req.Labels,
		Log:               n.log,
		// One prompt prefix per run and cell: no prefix-cache carry-over
		// from other runs, the same prompts at every level of the cell.
		RunID: req.Labels.Suite + "-" + req.Cell.ID,
		Audio: clips,
	}
	if req.Level.Profile == "synchronous" {
		cfg.Rates = nil
	}
	if cfg.StreamIdleTimeout == 0 {
		cfg.StreamIdleTimeout = -1 // 0 in the limits is "never", as --stream-idle-timeout 0
	}
	if n.Configure != nil {
		n.Configure(&cfg)
	}
	return cfg, nil
}

// clips builds an audio workload's recordings once per Native.
func (n *Native) clips(name string) ([]audio.Clip, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.audio[name]; ok {
		return c, nil
	}
	w, err := audio.LookupWorkload(name)
	if err != nil {
		return nil, err
	}
	c, err := w.Clips()
	if err != nil {
		return nil, err
	}
	if n.audio == nil {
		n.audio = map[string][]audio.Clip{}
	}
	n.audio[name] = c
	return c, nil
}

// withPrompts sets cfg.Prompts to the cell's prompt set for cfg's URL,
// building it on the cell's first level: as many prompts as any level of
// the cell may send (the default pool, or max_requests when fewer).
func (n *Native) withPrompts(ctx context.Context, cell string, cfg *loadgen.Config) error {
	if cfg.Prompts != nil || cfg.API == measure.APITranscriptions {
		return nil // given, or recordings rather than prompts
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cell != cell {
		n.cell, n.prompts = cell, map[string]*workload.Set{}
	}
	if set := n.prompts[cfg.Target]; set != nil {
		cfg.Prompts = set
		return nil
	}
	pc := *cfg
	pc.PromptPool = loadgen.DefaultPromptPool
	if pc.MaxRequests > 0 {
		pc.PromptPool = min(pc.PromptPool, pc.MaxRequests)
	}
	set, err := loadgen.PreparePrompts(ctx, pc)
	if err != nil {
		return err
	}
	n.prompts[cfg.Target] = set
	cfg.Prompts = set
	return nil
}

// Run implements LoadGenerator. With several URLs (engine instances) and
// round-robin balance the target is split evenly and each URL gets its own
// loop, the figures then aggregated over every request; with
// least-outstanding one loop's client sends each request to the instance
// with the fewest requests in flight.
func (n *Native) Run(ctx context.Context, req LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	rec = levelRecorder{next: rec, level: req.Level.Name}
	if len(req.URLs) == 1 {
		cfg, err := n.Config(req, req.URLs[0], req.Target)
		if err != nil {
			return results.Benchmark{}, err
		}
		if err := n.withPrompts(ctx, req.Cell.ID, &cfg); err != nil {
			return results.Benchmark{}, err
		}
		sum, err := loadgen.Run(ctx, cfg, rec, nil)
		return n.one(req, sum, err)
	}
	return n.split(ctx, req, rec)
}

func (n *Native) one(req LoadRequest, sum *results.Summary, err error) (results.Benchmark, error) {
	if sum == nil || len(sum.Benchmarks) == 0 {
		if err == nil {
			err = errors.New("load generator returned no benchmark")
		}
		return results.Benchmark{}, err
	}
	b := sum.Benchmarks[0]
	b.Level = req.Level.Name // the suite's name (e.g. poisson-50pct) is the stable one
	return b, err
}

// split runs one loop per engine instance, each with 1/N of the target
// (streams are rounded up), and aggregates every request of all loops.
func (n *Native) split(ctx context.Context, req LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	if req.Balance == "least-outstanding" {
		return n.leastOutstanding(ctx, req, rec)
	}
	k := float64(len(req.URLs))
	per := req.Target / k
	if req.Level.Profile == "concurrent" || req.Level.Profile == "throughput" {
		per = float64(int((req.Target + k - 1) / k))
	}
	start := time.Now()
	var (
		mu   sync.Mutex
		all  []*measure.Result
		wg   sync.WaitGroup
		errs = make([]error, len(req.URLs))
		sums = make([]*results.Summary, len(req.URLs))
	)
	sink := func(r *measure.Result) {
		mu.Lock()
		all = append(all, r)
		mu.Unlock()
	}
	for i, u := range req.URLs {
		cfg, err := n.Config(req, u, per)
		if err != nil {
			return results.Benchmark{}, err
		}
		if err := n.withPrompts(ctx, req.Cell.ID, &cfg); err != nil {
			return results.Benchmark{}, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i], errs[i] = loadgen.Run(ctx, cfg, rec, sink)
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	// Time zero is the first scheduled send (each loop calibrates its
	// prompts first); the window is the loops' own: warmup to max_seconds
	// minus cooldown, or to the last scheduled send when no time limit.
	zero := start
	var last time.Time
	for i, r := range all {
		if i == 0 || r.Scheduled.Before(zero) {
			zero = r.Scheduled
		}
		if r.Scheduled.After(last) {
			last = r.Scheduled
		}
	}
	end := last.Sub(zero)
	if ms := seconds(req.Limits.MaxSeconds); ms > 0 {
		end = ms
	}
	agg := results.NewAggregator(results.Level{Profile: req.Level.Profile, Level: req.Level.Name, Target: req.Target, Start: zero},
		results.Validity{})
	for _, r := range all {
		agg.Add(r)
	}
	b := agg.Close(results.Closing{WindowStart: seconds(req.Limits.WarmupSeconds), WindowEnd: end - seconds(req.Limits.CooldownSeconds), Wall: wall})
	b.Level = req.Level.Name
	var reasons []string
	for i, s := range sums {
		if s == nil || len(s.Benchmarks) == 0 {
			continue
		}
		if !s.Benchmarks[0].Valid {
			b.Valid = false
			for _, r := range s.Benchmarks[0].InvalidReasons {
				reasons = append(reasons, fmt.Sprintf("instance %d: %s", i+1, r))
			}
		}
	}
	b.InvalidReasons = append(b.InvalidReasons, reasons...)
	return b, errors.Join(errs...)
}

// leastOutstanding runs one loop with the level's whole target, its client
// sending each request to the instance with the fewest in flight.
func (n *Native) leastOutstanding(ctx context.Context, req LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	client := loadgen.NewClient()
	lo, err := newLeastOutstanding(req.URLs, client.Transport)
	if err != nil {
		return results.Benchmark{}, err
	}
	client.Transport = lo
	defer client.CloseIdleConnections()
	cfg, err := n.Config(req, req.URLs[0], req.Target)
	if err != nil {
		return results.Benchmark{}, err
	}
	cfg.Client = client
	if err := n.withPrompts(ctx, req.Cell.ID, &cfg); err != nil {
		return results.Benchmark{}, err
	}
	sum, err := loadgen.Run(ctx, cfg, rec, nil)
	n.log.Info("least-outstanding spread", "level", req.Level.Name, "requests_per_instance", lo.Served())
	return n.one(req, sum, err)
}

// levelRecorder labels the live series with the suite's level name.
type levelRecorder struct {
	next  measure.Recorder
	level string
}

func (r levelRecorder) Benchmark(l measure.BenchmarkLabels) measure.BenchmarkRecorder {
	l.Level = r.level
	return r.next.Benchmark(l)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

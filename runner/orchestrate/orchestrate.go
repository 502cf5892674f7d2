// Package orchestrate runs a plan: for each cell it starts the engine (or
// engines), waits until it serves, runs every load level through the load
// generator, stops the engine, and writes the cell's files before the next
// cell starts. It shows progress, publishes each finished benchmark's
// summary, writes the suite summary (scaling efficiency, contention loss),
// and on interrupt stops the load, keeps what was measured, removes the
// engines and marks the run incomplete so that --resume can finish it.
//
// An Orchestrator is used once, by one goroutine; its dependencies (engine
// driver, load generator, recorders) are injected, so tests run it on fakes.
package orchestrate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/internal/buildinfo"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/loadgen"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/topology"
)

// LoadRequest is one load level to run.
type LoadRequest struct {
	Cell    suite.Cell
	Level   suite.Level
	Target  float64  // streams or req/s, resolved (fractions applied)
	URLs    []string // engine base URLs; several for the instances variant
	Model   string   // served model id
	APIKey  string
	Labels  measure.BenchmarkLabels
	Limits  suite.Limits
	LogDir  string // where a third-party tool's own output goes
	Seed    uint64
	Balance string // how load spreads over several URLs: round-robin, least-outstanding
	// Budget is the level's time budget (LevelBudget of Limits), the same
	// for every load generator: it sends nothing later than Budget.Send()
	// after its first send, cuts what is still in flight Budget.Drain
	// after that, and returns within loadgen.BudgetSlack of it. The
	// orchestrator's backstop cancels Run's context with a cause wrapping
	// ErrOverBudget once StartAllowance + Budget.Total() + BudgetSlack have
	// passed since Run was called.
	Budget loadgen.Budget
	// Engine and Suite are set for offline cells, whose load generator
	// runs the engine itself (OfflineBatch): the spec the cell's engine
	// would start with, and the suite with its use cases.
	Engine *engine.Spec
	Suite  *suite.Suite
	// EngineInfo, when set, receives what ran the offline batch (the
	// container's provenance), for the cell's manifest.
	EngineInfo *engine.Info
	// StartAllowance is how long the load generator may take before its
	// first send (a tool's start-up): the backstop's allowance.
	StartAllowance time.Duration
}

// LevelBudget is the time budget of every level run under limits:
// max_seconds of sending (warmup and cooldown included), then
// drain_timeout_seconds for the requests still in flight.
func LevelBudget(l suite.Limits) (loadgen.Budget, error) {
	return loadgen.NewBudget(seconds(l.MaxSeconds), loadgen.Span(l.WarmupSeconds), loadgen.Span(l.CooldownSeconds), seconds(l.DrainTimeoutSeconds))
}

// DefaultStartAllowance is how long a load generator may take to begin a
// level (prompts calibrated through /tokenize, a tool's start-up) before
// the level's budget counts, when Orchestrator.StartAllowance is zero.
const DefaultStartAllowance = 2 * time.Minute

// ErrOverBudget is wrapped by the error of a level whose load generator
// did not return within its budget: the orchestrator canceled it.
var ErrOverBudget = errors.New("level over its time budget")

// LoadGenerator runs one load level. Run records every request through rec
// (rec.Benchmark is called once, with req.Labels) and returns the level's
// figures; on interrupt it returns what it measured along with ctx's error.
type LoadGenerator interface {
	Name() string
	Version() string
	Run(ctx context.Context, req LoadRequest, rec measure.Recorder) (results.Benchmark, error)
}

// Publisher receives each finished benchmark's summary (the exporter's
// recorder.Summaries).
type Publisher interface {
	Publish(recorder.BenchmarkSummary) error
}

// RunInfo marks a run active on the live endpoint (the exporter's Recorder).
type RunInfo interface {
	StartRun(recorder.RunInfo)
	EndRun(recorder.RunInfo)
}

// Stressor runs a noisy neighbour on cpus until ctx ends (contention suite).
type Stressor func(ctx context.Context, kind string, cpus []int) error

// Orchestrator executes one plan into one run directory.
type Orchestrator struct {
	Plan       *suite.Plan
	Placements []Placement // from Place, one per plan cell
	Run        *store.Run
	Driver     engine.Driver
	Load       LoadGenerator

	Recorder  measure.Recorder // live per-request series; nil = none
	Summaries Publisher        // nil = none
	Live      RunInfo          // nil = none
	Stress    Stressor         // required by the neighbour variants
	// Pin restricts the runner (and so the native load generator) to a
	// cell's load-generator cpuset; Home is the affinity restored for cells
	// without one and at the end. Nil Pin: nothing is pinned.
	Pin  func(cpus []int) error
	Home []int
	// EnginePort is the first port of docker engines (host networking);
	// engine.DefaultPort when zero.
	EnginePort int

	Image       string // engine image (docker)
	Target      string // external URL
	APIKey      string
	Secrets     map[string]string // passed to the engine, never logged
	ModelCache  string
	Host        store.Host
	GitRevision string
	Build       *buildinfo.Info // the runner's build, for the manifest
	Command     string
	Seed        uint64

	Progress io.Writer // progress lines; nil = none
	TTY      bool      // rewrite one progress line in place
	Log      *slog.Logger
	Now      func() time.Time
	// ProgressEvery is the progress refresh period; 2s when zero.
	ProgressEvery time.Duration
	// EngineMetricsEvery is how often each engine's own /metrics is scraped
	// into the cell's engine-metrics.jsonl while its levels run; zero: never.
	EngineMetricsEvery time.Duration
	// EngineMetricsPrefixes keeps the series whose names start with one of
	// them; "vllm:" when empty.
	EngineMetricsPrefixes []string
	// HTTPClient scrapes engine metrics; http.DefaultClient when nil.
	HTTPClient *http.Client
	// StartAllowance is added to each level's budget before the backstop
	// cancels it (DefaultStartAllowance when zero).
	StartAllowance time.Duration
}

// ErrCellsFailed is wrapped by Execute's error when some cells failed but
// the run went on.
var ErrCellsFailed = errors.New("cells failed")

// Execute runs every cell not already done. It returns ctx's error when
// interrupted (the run is then marked incomplete) and an error wrapping
// ErrCellsFailed when cells failed.
func (o *Orchestrator) Execute(ctx context.Context) error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Recorder == nil {
		o.Recorder = measure.Discard
	}
	if len(o.Placements) != len(o.Plan.Cells) {
		return fmt.Errorf("orchestrate: %d placements for %d cells", len(o.Placements), len(o.Plan.Cells))
	}
	cfg := o.Plan.Config
	info := recorder.RunInfo{RunID: o.Run.ID(), Suite: cfg.Suite.Name, Model: strings.Join(cfg.Models, ","),
		Engine: cfg.Engine, Image: o.Image, CPUSet: o.cpusets(), Loadgen: o.Load.Name()}
	if o.Live != nil {
		o.Live.StartRun(info)
		defer o.Live.EndRun(info)
	}
	prog := newProgress(o.Progress, o.TTY, o.Plan, o.Now, o.ProgressEvery)
	defer prog.stop()
	if o.Pin != nil && len(o.Home) > 0 {
		defer func() {
			if err := o.Pin(o.Home); err != nil {
				o.Log.Warn("restore the runner's affinity", "err", err)
			}
		}()
	}

	var failed []error // each failed cell's error, joined into Execute's
	var summaries []*results.Summary
	for i, cell := range o.Plan.Cells {
		if o.Run.Done(cell.ID) {
			o.Log.Info("cell already done, skipping", "cell", cell.ID)
			prog.skipCell(cell)
			if s, err := readSummary(o.Run.Dir, cell.ID); err == nil {
				summaries = append(summaries, s)
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return o.finish(store.StatusIncomplete, summaries, err)
		}
		sum, err := o.runCell(ctx, cell, o.Placements[i], prog)
		if sum != nil {
			summaries = append(summaries, sum)
		}
		switch {
		case ctx.Err() != nil:
			// Interrupted: the cell's files hold what was measured; it stays pending.
			_ = o.Run.SetCell(cell.ID, store.CellPending, errors.New("interrupted"))
			return o.finish(store.StatusIncomplete, summaries, ctx.Err())
		case err != nil:
			o.Log.Error("cell failed", "cell", cell.ID, "err", err)
			failed = append(failed, fmt.Errorf("cell %s: %w", cell.ID, err))
			serr := o.Run.SetCell(cell.ID, store.CellFailed, err)
			if errors.Is(err, store.ErrWrite) || serr != nil {
				// Results that cannot be written stop the run: the next
				// cells would be measured for nothing.
				return o.fail(summaries, errors.Join(err, serr))
			}
		default:
			if serr := o.Run.SetCell(cell.ID, store.CellDone, nil); serr != nil {
				return o.fail(summaries, serr)
			}
		}
	}
	if len(failed) > 0 {
		return o.finish(store.StatusFailed, summaries, fmt.Errorf("%w: %d of %d: %w", ErrCellsFailed, len(failed), len(o.Plan.Cells), errors.Join(failed...)))
	}
	// Every cell ran; a level with no successful request still fails the
	// run (the files hold what happened).
	return o.finish(store.StatusComplete, summaries, checkSuccess(summaries))
}

// checkSuccess is loadgen.CheckSuccess over every level of the run, the
// levels named by cell.
func checkSuccess(sums []*results.Summary) error {
	var all []results.Benchmark
	for _, s := range sums {
		for _, b := range s.Benchmarks {
			b.Level = s.Cell + " " + b.Level
			all = append(all, b)
		}
	}
	return loadgen.CheckSuccess(all)
}

// fail ends the run as failed for a run-wide cause, recorded in run.json.
func (o *Orchestrator) fail(sums []*results.Summary, cause error) error {
	rep := BuildReport(o.Plan, sums)
	if err := o.Run.WriteJSON("suite-summary.json", rep); err != nil {
		o.Log.Error("write suite summary", "err", err)
	}
	if err := o.Run.Fail(cause); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// cpusets lists the distinct engine cpusets of the plan ("0-7 0-15"), for
// servebench_run_info; "" when nothing is pinned.
func (o *Orchestrator) cpusets() string {
	var out []string
	seen := map[string]bool{}
	for _, pl := range o.Placements {
		for _, a := range pl.Engines {
			if l := a.CPUList(); !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, " ")
}

func (o *Orchestrator) finish(status string, sums []*results.Summary, cause error) error {
	rep := BuildReport(o.Plan, sums)
	if err := o.Run.WriteJSON("suite-summary.json", rep); err != nil && cause == nil {
		cause = err
	}
	if err := o.Run.Close(status); err != nil && cause == nil {
		cause = err
	}
	return cause
}

// runCell runs one cell. The summary it returns holds every level that
// finished, also when it returns an error.
func (o *Orchestrator) runCell(ctx context.Context, cell suite.Cell, pl Placement, prog *progress) (*results.Summary, error) {
	cfg := o.Plan.Config
	started := o.Now()
	cw, err := o.Run.Cell(cell.ID)
	if err != nil {
		return nil, err
	}
	sum := &results.Summary{
		SchemaVersion: results.SchemaVersion, RunID: o.Run.ID(), Suite: cfg.Suite.Name, Cell: cell.ID,
		Model: cell.Model, Workload: cell.Workload, Cores: cell.Cores, Loadgen: o.Load.Name(), API: cell.API,
		Benchmarks: []results.Benchmark{},
	}
	if cell.Repetition > 0 {
		sum.RepeatOf, sum.Repetition = cell.BaseID, cell.Repetition
	}
	man := &store.Manifest{
		RunID: o.Run.ID(), Suite: cfg.Suite.Name, Cell: cell.ID, Started: started,
		Model: cell.Model, Workload: cell.Workload, Phase: cell.Phase, PrefixCaching: cell.PrefixCaching,
		Variant: cell.Variant, Cores: cell.Cores, MaxModelLen: cell.MaxModelLen,
		Host: o.Host, GitRevision: o.GitRevision, GoVersion: runtime.Version(), Command: o.Command, Servebench: o.Build,
		Loadgen:   store.Loadgen{Name: o.Load.Name(), Version: o.Load.Version()},
		Placement: placementRecord(pl),
	}
	// Files are written whatever happens below: on error and on interrupt too.
	defer func() {
		man.Finished = o.Now()
		if err := cw.WriteManifest(man); err != nil {
			o.Log.Error("write manifest", "cell", cell.ID, "err", err)
		}
		if err := cw.WriteSummary(sum); err != nil {
			o.Log.Error("write summary", "cell", cell.ID, "err", err)
		}
		if err := cw.Close(); err != nil {
			o.Log.Error("write requests", "cell", cell.ID, "err", err)
		}
	}()

	if o.Pin != nil {
		switch {
		case len(pl.Loadgen) > 0:
			if err := o.Pin(pl.Loadgen); err != nil {
				return sum, fmt.Errorf("pin the runner to %s: %w", topology.FormatList(pl.Loadgen), err)
			}
			man.Placement.PinnedRunner = true
		case len(o.Home) > 0:
			// A cell without a cpuset must not inherit the previous cell's.
			if err := o.Pin(o.Home); err != nil {
				return sum, fmt.Errorf("restore the runner's affinity: %w", err)
			}
		}
	}

	if cell.API == suite.APIOffline {
		return sum, o.runOffline(ctx, cell, pl, cw.Dir, sum, man, prog)
	}

	prog.startCell(cell, "starting engine")
	insts, err := o.startEngines(ctx, cell, pl, cw.Dir)
	defer func() {
		// Always removed: on error and on interrupt too.
		for _, in := range insts {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if err := in.Stop(stopCtx); err != nil {
				o.Log.Error("stop engine", "cell", cell.ID, "err", err)
			}
			cancel()
		}
	}()
	man.Engine = engineRecord(insts)
	if err != nil {
		return sum, err
	}
	prog.startCell(cell, "waiting for the engine")
	for _, in := range insts {
		if err := in.Ready(ctx); err != nil {
			return sum, err
		}
	}
	man.Engine = engineRecord(insts) // Info is complete after Ready
	if len(insts) > 0 {
		sum.Target = insts[0].URL()
	}

	// A noisy neighbour runs for the whole cell.
	if (cell.Variant == suite.VariantCPUNeighbour || cell.Variant == suite.VariantMemBWNeighbour) && len(pl.Neighbour) > 0 {
		if o.Stress == nil {
			return sum, errors.New("contention: no stressor configured")
		}
		nctx, stopNeighbour := context.WithCancel(ctx)
		defer stopNeighbour()
		kind := "cpu"
		if cell.Variant == suite.VariantMemBWNeighbour {
			kind = "membw"
		}
		go func() {
			if err := o.Stress(nctx, kind, pl.Neighbour); err != nil && nctx.Err() == nil {
				o.Log.Error("noisy neighbour", "err", err)
			}
		}()
	}

	urls := make([]string, len(insts))
	for i, in := range insts {
		urls[i] = in.URL()
	}
	if o.EngineMetricsEvery > 0 {
		stop, err := o.sampleEngines(ctx, cw.Dir, urls)
		if err != nil {
			return sum, err
		}
		// Registered after the engines' stop: runs before it.
		defer stop()
	}
	model := insts[0].Model()
	var maxRate float64
	for li, lvl := range cell.Levels {
		target, err := lvl.Resolve(maxRate)
		if err != nil {
			return sum, err
		}
		labels := measure.BenchmarkLabels{Suite: cfg.Suite.Name, Model: cell.Model, Workload: cell.Workload,
			Cores: coresLabel(cell), Loadgen: o.Load.Name(), Level: lvl.Name}
		if cell.Variant != "" {
			labels.Workload = cell.Workload + "/" + cell.Variant
		}
		budget, err := LevelBudget(cfg.Limits)
		if err != nil {
			return sum, err
		}
		req := LoadRequest{Cell: cell, Level: lvl, Target: target, URLs: urls, Model: model, APIKey: o.APIKey,
			Labels: labels, Limits: cfg.Limits, LogDir: cw.Dir, Seed: o.Seed, Balance: balance(cfg), Budget: budget,
			StartAllowance: o.startAllowance()}
		prog.startLevel(cell, li, lvl, target)
		bm, err := o.runLevel(ctx, insts, req, cw, prog)
		finished := o.Now()
		if bm.Level != "" || err == nil {
			if bm.Level == "" {
				bm.Level = lvl.Name
			}
			sum.Benchmarks = append(sum.Benchmarks, bm)
			o.publish(labels, bm, finished)
		}
		prog.endLevel(bm)
		if err != nil {
			return sum, fmt.Errorf("level %s: %w", lvl.Name, err)
		}
		if lvl.FindsMax {
			var reason string
			maxRate, reason = maxRateOf(bm, cell)
			if maxRate <= 0 {
				return sum, fmt.Errorf("level %s: %w: %s", lvl.Name, loadgen.ErrNoMaxRate, reason)
			}
			sum.Saturation = &results.Saturation{Rate: maxRate, Reason: reason}
		}
	}
	return sum, nil
}

// runOffline runs an offline cell: its one level is the batch the load
// generator (OfflineBatch) runs with the cell's engine spec; no server is
// started.
func (o *Orchestrator) runOffline(ctx context.Context, cell suite.Cell, pl Placement, dir string, sum *results.Summary, man *store.Manifest, prog *progress) error {
	cfg := o.Plan.Config
	spec := o.spec(cell, pl, 0, dir)
	for li, lvl := range cell.Levels {
		labels := measure.BenchmarkLabels{Suite: cfg.Suite.Name, Model: cell.Model, Workload: cell.Workload,
			Cores: coresLabel(cell), Loadgen: o.Load.Name(), Level: lvl.Name}
		var info engine.Info
		req := LoadRequest{Cell: cell, Level: lvl, Model: cell.Model, Labels: labels, Limits: cfg.Limits, LogDir: dir,
			Seed: o.Seed, Engine: &spec, Suite: cfg.Suite, EngineInfo: &info}
		prog.startLevel(cell, li, lvl, 0)
		bm, err := o.Load.Run(ctx, req, o.Recorder)
		if info.Driver != "" {
			man.Engine = info
		}
		if err != nil {
			return fmt.Errorf("level %s: %w", lvl.Name, err)
		}
		sum.Benchmarks = append(sum.Benchmarks, bm)
		o.publish(labels, bm, o.Now())
		prog.endLevel(bm)
	}
	return nil
}

// sampleEngines scrapes the engines' /metrics into the cell's
// results.EngineMetricsFile until the returned stop is called.
func (o *Orchestrator) sampleEngines(ctx context.Context, dir string, urls []string) (func(), error) {
	f, err := os.Create(filepath.Join(dir, results.EngineMetricsFile))
	if err != nil {
		return nil, fmt.Errorf("engine metrics: %w", err)
	}
	s := &engineSampler{client: o.HTTPClient, urls: urls, apiKey: o.APIKey, every: o.EngineMetricsEvery,
		prefixes: o.EngineMetricsPrefixes, now: o.Now}
	if s.client == nil {
		s.client = http.DefaultClient
	}
	if len(s.prefixes) == 0 {
		s.prefixes = []string{"vllm:"}
	}
	bw := bufio.NewWriter(f)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.run(sctx, bw); err != nil {
			o.Log.Warn("engine metrics", "err", err)
		}
	}()
	return func() {
		cancel()
		<-done
		if err := errors.Join(bw.Flush(), f.Close()); err != nil {
			o.Log.Warn("engine metrics", "err", err)
		}
	}, nil
}

// runLevel runs one level, cancelling it if an engine dies.
func (o *Orchestrator) runLevel(ctx context.Context, insts []engine.Instance, req LoadRequest, cw *store.CellWriter, prog *progress) (results.Benchmark, error) {
	// An engine that died or results that cannot be written abort the
	// level at once (loadgen.Abort: no drain, the cause as its stop
	// reason): it would run for nothing.
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	died := make(chan error, len(insts))
	go func() {
		select {
		case <-cw.Failed():
			cancel(loadgen.Abort(cw.Err()))
		case <-lctx.Done():
		}
	}()
	for _, in := range insts {
		go func(ch <-chan error) {
			select {
			case err := <-ch:
				if err != nil {
					died <- err
					cancel(loadgen.Abort(err))
				}
			case <-lctx.Done():
			}
		}(in.Died())
	}
	if b := req.Budget; b.Bounded() {
		limit := o.startAllowance() + b.Total() + loadgen.BudgetSlack
		backstop := time.AfterFunc(limit, func() {
			// Abort, not interrupt: the level is cut now, without a grace.
			cancel(loadgen.Abort(fmt.Errorf("%w: %s did not return within %v (budget %s)", ErrOverBudget, o.Load.Name(), limit, b)))
		})
		defer backstop.Stop()
	}
	rec := cw.Recorder(prog.recorder(o.Recorder))
	bm, err := o.Load.Run(lctx, req, rec)
	if errors.Is(err, loadgen.ErrUnreachable) && ctx.Err() == nil {
		// The load generator saw the engine refuse connections before the
		// watcher reported its death: the watcher's report (exit code,
		// last log lines) says more, when it comes.
		t := time.NewTimer(engineDeathGrace)
		select {
		case derr := <-died:
			t.Stop()
			return bm, derr
		case <-t.C:
		}
	}
	if cause := context.Cause(lctx); cause != nil && ctx.Err() == nil && !errors.Is(cause, context.Canceled) {
		return bm, cause // the engine died (its ExitError says how), results could not be written, or the level overran
	}
	return bm, err
}

func (o *Orchestrator) startAllowance() time.Duration {
	if o.StartAllowance > 0 {
		return o.StartAllowance
	}
	return DefaultStartAllowance
}

// engineDeathGrace is how long a level whose engine stopped accepting
// connections waits for the engine watcher's report of its death.
const engineDeathGrace = 3 * time.Second

func (o *Orchestrator) startEngines(ctx context.Context, cell suite.Cell, pl Placement, dir string) ([]engine.Instance, error) {
	n := o.instances(cell, pl)
	var insts []engine.Instance
	for i := 0; i < n; i++ {
		spec := o.spec(cell, pl, i, dir)
		o.Log.Info("starting engine", "cell", cell.ID, "driver", o.Driver.Name(), "instance", i+1, "cpus", topology.FormatList(spec.CPUs))
		in, err := o.Driver.Start(ctx, spec)
		if err != nil {
			return insts, fmt.Errorf("start engine %d of %d: %w", i+1, n, err)
		}
		insts = append(insts, in)
	}
	return insts, nil
}

// instances is how many engines a cell starts: one per allocation, else
// one, or the suite's count for the instances variant when nothing is pinned.
func (o *Orchestrator) instances(cell suite.Cell, pl Placement) int {
	if cell.Variant == suite.VariantInstances && len(pl.Engines) == 0 {
		return o.Plan.Config.Suite.Contention.Instances
	}
	return max(len(pl.Engines), 1)
}

// Spec builds the engine spec of instance i of a cell; exported through
// CellSpecs for --dry-run.
func (o *Orchestrator) spec(cell suite.Cell, pl Placement, i int, dir string) engine.Spec {
	runID := "<run_id>" // a dry run has no run yet
	if o.Run != nil {
		runID = o.Run.ID()
	}
	s := engine.Spec{
		Name:       cell.ID,
		Model:      cell.Model,
		Image:      o.Image,
		Env:        map[string]string{},
		Secrets:    o.Secrets,
		KVCacheGiB: pl.KVCacheGiB,
		APIKey:     o.APIKey,
		ModelCache: o.ModelCache,
		URL:        o.Target,
		LogDir:     dir,
		Labels: map[string]string{
			"io.servebench.run_id": runID, "io.servebench.suite": o.Plan.Config.Suite.Name,
			"io.servebench.cell": cell.ID,
		},
	}
	if i > 0 || cell.Variant == suite.VariantInstances {
		s.Name = fmt.Sprintf("%s-%d", cell.ID, i+1)
		s.Labels["io.servebench.instance_index"] = strconv.Itoa(i + 1)
	}
	if o.Plan.Config.Engine == "docker" {
		port := o.EnginePort
		if port == 0 {
			port = engine.DefaultPort
		}
		s.Port = port + i // host networking: one port per instance
	}
	switch cell.API {
	case "embeddings":
		s.Task = engine.TaskEmbed
	case "transcriptions":
		s.Task = engine.TaskTranscribe
	}
	if i < len(pl.Engines) {
		a := pl.Engines[i]
		s.CPUs, s.Mems = a.CPUs, a.Mems
		for k, v := range a.Env() {
			s.Env[k] = v
		}
	} else if pl.Simulated && cell.Cores > 0 {
		// The in-process simulator takes its core count from the spec's CPUs.
		s.CPUs = make([]int, cell.Cores)
		for c := range s.CPUs {
			s.CPUs[c] = c
		}
	}
	if o.Plan.Config.Engine != "external" {
		if cell.MaxModelLen > 0 {
			s.ExtraArgs = append(s.ExtraArgs, "--max-model-len", strconv.Itoa(cell.MaxModelLen))
		}
		if cell.API != "embeddings" {
			// The seed's block size for every workload (vLLM's CPU guidance).
			s.ExtraArgs = append(s.ExtraArgs, "--block-size", "128")
			if cell.PrefixCaching {
				s.ExtraArgs = append(s.ExtraArgs, "--enable-prefix-caching")
			} else {
				s.ExtraArgs = append(s.ExtraArgs, "--no-enable-prefix-caching")
			}
		}
	}
	return s
}

// CellSpecs returns the engine specs a cell would start, for --dry-run.
func (o *Orchestrator) CellSpecs(i int) []engine.Spec {
	cell, pl := o.Plan.Cells[i], o.Placements[i]
	out := make([]engine.Spec, o.instances(cell, pl))
	for k := range out {
		out[k] = o.spec(cell, pl, k, "<run>/"+cell.ID)
	}
	return out
}

func (o *Orchestrator) publish(l measure.BenchmarkLabels, b results.Benchmark, at time.Time) {
	if o.Summaries == nil {
		return
	}
	if err := o.Summaries.Publish(results.SummaryOf(o.Run.ID(), l, b, at)); err != nil {
		o.Log.Warn("publish benchmark summary", "level", l.Level, "err", err)
	}
}

// maxRateOf is the request rate a saturating level sustained: its
// successful requests per second; when requests outlast the window (CPU
// engines under 64 streams), its output tokens per second over the
// workload's output length, the request rate those tokens amount to — as
// loadgen.MaxRate judges it, never from a window that saw only a prefill
// queue.
func maxRateOf(b results.Benchmark, c suite.Cell) (float64, string) {
	out := 0.0
	if !b.RequestsPerSecond.Present() {
		out = float64(suite.Workloads[c.Workload].OutputTokens)
	}
	return loadgen.MaxRate(b, out, 0)
}

func coresLabel(c suite.Cell) string {
	if c.Cores == 0 {
		return ""
	}
	return strconv.Itoa(c.Cores)
}

func balance(c suite.Config) string {
	if c.Suite.Contention != nil && c.Suite.Contention.Balance != "" {
		return c.Suite.Contention.Balance
	}
	return "round-robin"
}

func placementRecord(pl Placement) store.Placement {
	r := store.Placement{KVCacheGiB: pl.KVCacheGiB, LoadgenCPUs: topology.FormatList(pl.Loadgen),
		Overlap: pl.Overlap, Simulated: pl.Simulated, PlacementNote: pl.Note}
	if len(pl.Engines) > 0 {
		a := pl.Engines[0]
		var cpus []int
		for _, e := range pl.Engines {
			cpus = append(cpus, e.CPUs...)
		}
		r.EngineCPUs, r.EngineMems, r.TP, r.Name, r.Env = topology.FormatList(cpus), a.MemList(), a.TP, a.Name, a.Env()
	}
	return r
}

// engineRecord is what manifest.json's engine field holds: the instances'
// Info, one or a list for several instances.
func engineRecord(insts []engine.Instance) any {
	var infos []engine.Info
	for _, in := range insts {
		infos = append(infos, in.Info())
	}
	if len(infos) == 1 {
		return infos[0]
	}
	return infos
}

package orchestrate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/servebench/servebench/exporter/contract"
	"github.com/servebench/servebench/exporter/measure"
	"github.com/servebench/servebench/exporter/recorder"
	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/suite"
	"github.com/servebench/servebench/runner/topology"
)

// fakeDriver starts instances that are ready at once; die makes the next
// instance of the named cell die when its first level starts.
type fakeDriver struct {
	mu      sync.Mutex
	started []engine.Spec
	live    int
	dieCell string
	insts   []*fakeInstance
}

func (d *fakeDriver) Name() string { return "fake" }
func (d *fakeDriver) Start(_ context.Context, s engine.Spec) (engine.Instance, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.started = append(d.started, s)
	d.live++
	in := &fakeInstance{d: d, spec: s, died: make(chan error, 1), die: s.Name == d.dieCell}
	d.insts = append(d.insts, in)
	return in, nil
}

type fakeInstance struct {
	d       *fakeDriver
	spec    engine.Spec
	died    chan error
	die     bool
	stopped bool
}

func (i *fakeInstance) URL() string   { return "http://127.0.0.1:1/" + i.spec.Name }
func (i *fakeInstance) Model() string { return i.spec.Model }
func (i *fakeInstance) Info() engine.Info {
	return engine.Info{Driver: "fake", Model: i.spec.Model, CPUSet: topology.FormatList(i.spec.CPUs)}
}
func (i *fakeInstance) Ready(context.Context) error { return nil }
func (i *fakeInstance) Died() <-chan error          { return i.died }
func (i *fakeInstance) Stop(context.Context) error {
	i.d.mu.Lock()
	defer i.d.mu.Unlock()
	if !i.stopped {
		i.stopped = true
		i.d.live--
	}
	return nil
}

// fakeLoad "measures" a throughput proportional to the cores (with a
// sub-linear factor), sends 10 requests per level, and can block until
// cancelled at a given level.
type fakeLoad struct {
	mu       sync.Mutex
	targets  map[string]float64 // cell/level -> target
	blockAt  string             // cell/level that waits for ctx
	blocking chan struct{}
	failAt   string // cell/level whose every request fails
}

func (f *fakeLoad) Name() string    { return "native" }
func (f *fakeLoad) Version() string { return "test" }
func (f *fakeLoad) Run(ctx context.Context, r LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	f.mu.Lock()
	if f.targets == nil {
		f.targets = map[string]float64{}
	}
	f.targets[r.Cell.ID+"/"+r.Level.Name] = r.Target
	f.mu.Unlock()
	b := rec.Benchmark(r.Labels)
	defer b.Close()
	t0 := time.Unix(1000, 0)
	for i := range 10 {
		b.Started()
		b.Finished(&measure.Result{Seq: int64(i), Scheduled: t0, Sent: t0, FirstTok: t0.Add(100 * time.Millisecond), End: t0.Add(time.Second),
			Outcome: contract.OutcomeSuccess, OutputTokens: 10})
	}
	if r.Cell.ID+"/"+r.Level.Name == f.blockAt {
		close(f.blocking)
		<-ctx.Done()
		return results.Benchmark{Level: r.Level.Name, Requests: results.Requests{Successful: 10}}, ctx.Err()
	}
	select {
	case <-ctx.Done():
		return results.Benchmark{}, ctx.Err()
	default:
	}
	if r.Cell.ID+"/"+r.Level.Name == f.failAt {
		return results.Benchmark{Profile: r.Level.Profile, Level: r.Level.Name, Requests: results.Requests{Failed: 10}}, nil
	}
	cores := float64(max(r.Cell.Cores, 1))
	tput := 10 * cores * (1 - 0.1*(cores-1)) // 1 core: 10, 2 cores: 18 req/s
	return results.Benchmark{Profile: r.Level.Profile, Level: r.Level.Name, TargetRate: r.Target,
		RequestsPerSecond: results.Of(tput), OutputTokensPerSecond: results.Of(tput * 10), AchievedRate: results.Of(tput), Valid: true,
		Requests: results.Requests{Successful: 10}, TTFT: results.Dist{P50: results.Of(100)}}, nil
}

type fakePublisher struct {
	mu  sync.Mutex
	got []recorder.BenchmarkSummary
}

func (p *fakePublisher) Publish(s recorder.BenchmarkSummary) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, s)
	return nil
}

func newOrch(t *testing.T, root, suiteName string, flags suite.Overrides, d *fakeDriver, l *fakeLoad, run *store.Run) *Orchestrator {
	t.Helper()
	p, pl, run := planRun(t, root, suiteName, flags, run)
	return &Orchestrator{Plan: p, Placements: pl, Run: run, Driver: d, Load: l, Summaries: &fakePublisher{}}
}

// planRun resolves a built-in suite with flags, plans and places it, and
// creates its run under root unless run is given.
func planRun(t *testing.T, root, suiteName string, flags suite.Overrides, run *store.Run) (*suite.Plan, []Placement, *store.Run) {
	t.Helper()
	s, err := suite.Builtin(suiteName)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := suite.Resolve(s, suite.Overrides{}, flags)
	if err != nil {
		t.Fatal(err)
	}
	p, err := suite.NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := Place(p, nil, PlaceOptions{Engine: cfg.Engine, NUMANode: -1})
	if err != nil {
		t.Fatal(err)
	}
	if run == nil {
		var cells []store.CellState
		for _, c := range p.Cells {
			cells = append(cells, store.CellState{ID: c.ID})
		}
		run, err = store.New(root, nil).Create(s.Name, "run1", cells, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	return p, pl, run
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
	}
	return n
}

func TestExecuteScaling(t *testing.T) {
	root := t.TempDir()
	d, l := &fakeDriver{}, &fakeLoad{}
	o := newOrch(t, root, "scaling", suite.Overrides{Cores: []int{1, 2}}, d, l, nil)
	var progress strings.Builder
	o.Progress = &progress
	if err := o.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d.live != 0 || len(d.started) != 2 {
		t.Errorf("engines: %d started, %d still running", len(d.started), d.live)
	}
	// The simulated engine gets its core count through the spec's CPUs.
	if len(d.started[1].CPUs) != 2 || !strings.Contains(strings.Join(d.started[1].ExtraArgs, " "), "--max-model-len 2048 --block-size 128 --no-enable-prefix-caching") {
		t.Errorf("spec: %+v", d.started[1])
	}
	// Fractions of the maximum found by the throughput level.
	if got := l.targets["TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_2c/poisson-50pct"]; got != 9 {
		t.Errorf("50%% of 18 req/s = %g", got)
	}
	st, _ := store.ReadState(o.Run.Dir)
	if st.Status != store.StatusComplete || st.Cells[0].Status != store.CellDone || st.Cells[1].Status != store.CellDone {
		t.Errorf("state: %+v", st)
	}
	cell := filepath.Join(o.Run.Dir, "TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_2c")
	if n := countLines(t, filepath.Join(cell, "requests.jsonl")); n != 50 {
		t.Errorf("requests.jsonl has %d lines, want 5 levels x 10", n)
	}
	var sum results.Summary
	readJSONFile(t, filepath.Join(cell, "summary.json"), &sum)
	if len(sum.Benchmarks) != 5 || sum.Saturation == nil || sum.Saturation.Rate != 18 || sum.Cores != 2 || sum.RunID != "run1" {
		t.Errorf("summary: %+v", sum)
	}
	var man store.Manifest
	readJSONFile(t, filepath.Join(cell, "manifest.json"), &man)
	if man.Loadgen.Name != "native" || !man.Placement.Simulated || man.Finished.IsZero() {
		t.Errorf("manifest: %+v", man)
	}
	var rep Report
	readJSONFile(t, filepath.Join(o.Run.Dir, "suite-summary.json"), &rep)
	if len(rep.Scaling) != 2 || rep.Scaling[1].Speedup != results.Of(1.8) || rep.Scaling[1].Efficiency != results.Of(0.9) || rep.Scaling[1].OutputTokensPerSecondCore != results.Of(90) {
		t.Errorf("scaling report: %+v", rep.Scaling)
	}
	if pub := o.Summaries.(*fakePublisher); len(pub.got) != 10 || pub.got[0].Labels.Level != "throughput-64" || pub.got[0].TTFT.P50 != 0.1 || pub.got[0].Labels.Cores != "1" {
		t.Errorf("published %d summaries: %+v", len(pub.got), pub.got)
	}
	for _, want := range []string{"cell 1/2 TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_1c: starting engine", "level 2/5 poisson-25pct, target 2.5, budget window 2m0s + drain 10s = 2m10s", "18.00 req/s"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
}

func TestInterruptAndResume(t *testing.T) {
	root := t.TempDir()
	d := &fakeDriver{}
	l := &fakeLoad{blockAt: "TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_2c/poisson-25pct", blocking: make(chan struct{})}
	o := newOrch(t, root, "scaling", suite.Overrides{Cores: []int{1, 2}}, d, l, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-l.blocking; cancel() }()
	err := o.Execute(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute = %v, want context.Canceled", err)
	}
	if d.live != 0 {
		t.Errorf("%d engines left running after interrupt", d.live)
	}
	st, _ := store.ReadState(o.Run.Dir)
	if st.Status != store.StatusIncomplete || st.Cells[0].Status != store.CellDone || st.Cells[1].Status != store.CellPending {
		t.Errorf("state: %+v", st)
	}
	// What was measured before the interrupt is on disk.
	cell := filepath.Join(o.Run.Dir, "TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_2c")
	if n := countLines(t, filepath.Join(cell, "requests.jsonl")); n != 20 {
		t.Errorf("interrupted cell has %d request lines, want 20", n)
	}
	var sum results.Summary
	readJSONFile(t, filepath.Join(cell, "summary.json"), &sum)
	if len(sum.Benchmarks) != 2 {
		t.Errorf("interrupted summary has %d benchmarks, want the finished one and the cut one", len(sum.Benchmarks))
	}

	// Resume: the finished cell is skipped, the interrupted one runs again.
	run, err := store.New(root, nil).Resume("run1")
	if err != nil {
		t.Fatal(err)
	}
	d2 := &fakeDriver{}
	o2 := newOrch(t, root, "scaling", suite.Overrides{Cores: []int{1, 2}}, d2, &fakeLoad{}, run)
	if err := o2.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(d2.started) != 1 || d2.started[0].Name != "TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_2c" {
		t.Errorf("resume started %+v", d2.started)
	}
	st, _ = store.ReadState(o.Run.Dir)
	if st.Status != store.StatusComplete {
		t.Errorf("after resume: %s", st.Status)
	}
	var rep Report
	readJSONFile(t, filepath.Join(o.Run.Dir, "suite-summary.json"), &rep)
	if len(rep.Scaling) != 2 {
		t.Errorf("the resumed report must include the earlier cell: %+v", rep.Scaling)
	}
}

// dyingLoad makes the engine die while a level runs and waits for the
// orchestrator to cancel it.
type dyingLoad struct {
	fakeLoad
	d *fakeDriver
}

func (f *dyingLoad) Run(ctx context.Context, r LoadRequest, rec measure.Recorder) (results.Benchmark, error) {
	f.d.mu.Lock()
	var in *fakeInstance
	for _, i := range f.d.insts {
		if i.die && !i.stopped {
			in = i
		}
	}
	f.d.mu.Unlock()
	if in == nil {
		return f.fakeLoad.Run(ctx, r, rec)
	}
	in.died <- &engine.ExitError{Name: in.spec.Name, ExitCode: 137, OOMKilled: true}
	<-ctx.Done()
	return results.Benchmark{}, ctx.Err()
}

func TestEngineDeathFailsTheCellOnly(t *testing.T) {
	d := &fakeDriver{dieCell: "TinyLlama__TinyLlama-1.1B-Chat-v1.0_chat_lite_1c"}
	l := &dyingLoad{d: d}
	o := newOrch(t, t.TempDir(), "scaling", suite.Overrides{Cores: []int{1, 2}}, d, &l.fakeLoad, nil)
	o.Load = l
	err := o.Execute(context.Background())
	if !errors.Is(err, ErrCellsFailed) {
		t.Fatalf("Execute = %v", err)
	}
	st, _ := store.ReadState(o.Run.Dir)
	if st.Status != store.StatusFailed || st.Cells[0].Status != store.CellFailed || st.Cells[1].Status != store.CellDone ||
		!strings.Contains(st.Cells[0].Error, "died with exit code 137 (OOM killed)") {
		t.Errorf("state: %+v", st)
	}
	if d.live != 0 {
		t.Errorf("%d engines left", d.live)
	}
}

func TestReportContention(t *testing.T) {
	s, _ := suite.Builtin("contention")
	cfg, _ := suite.Resolve(s, suite.Overrides{}, suite.Overrides{})
	p, _ := suite.NewPlan(cfg)
	var sums []*results.Summary
	for i, c := range p.Cells {
		sums = append(sums, &results.Summary{Cell: c.ID, Cores: c.Cores, Benchmarks: []results.Benchmark{
			{Level: "concurrent-4", Valid: true, OutputTokensPerSecond: results.Of(100 - float64(i)*10), TTFT: results.Dist{P50: results.Of(100 + float64(i)*50)}},
		}})
	}
	rep := BuildReport(p, sums)
	if len(rep.Contention) != 3 {
		t.Fatalf("contention rows: %+v", rep.Contention)
	}
	r := rep.Contention[0]
	if r.Variant != "cpu-neighbour" || fv(r.ThroughputLoss) < 0.0999 || fv(r.ThroughputLoss) > 0.1001 || r.TTFTIncrease != results.Of(0.5) {
		t.Errorf("row: %+v", r)
	}
	if rep.Scaling != nil {
		t.Error("contention suite must not report scaling")
	}
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestMaxRateOf(t *testing.T) {
	cell := suite.Cell{Workload: "chat_lite"}
	if r, _ := maxRateOf(results.Benchmark{RequestsPerSecond: results.Of(3), OutputTokensPerSecond: results.Of(999)}, cell); r != 3 {
		t.Errorf("completed requests first: %g", r)
	}
	r, why := maxRateOf(results.Benchmark{Level: "throughput-64", OutputTokensPerSecond: results.Of(256)}, cell)
	if r != 2 || !strings.Contains(why, "over 128 tokens per request") {
		t.Errorf("token fallback: %g %q", r, why)
	}
	if r, _ := maxRateOf(results.Benchmark{}, cell); r != 0 {
		t.Errorf("nothing measured: %g", r)
	}
	// 64 streams, one with a first token inside a 5 s window: the 0.2
	// tok/s are a prefill queue, not the engine's rate.
	queue := results.Benchmark{Level: "throughput-64", DurationSeconds: 5, OutputTokensPerSecond: results.Of(0.2), FirstTokenShare: results.Of(1.0 / 64)}
	if r, why := maxRateOf(queue, cell); r != 0 || !strings.Contains(why, "prefill queue") {
		t.Errorf("prefill queue: %g %q", r, why)
	}
}

func TestPinningPerCell(t *testing.T) {
	d, l := &fakeDriver{}, &fakeLoad{}
	o := newOrch(t, t.TempDir(), "scaling", suite.Overrides{Cores: []int{1, 2}}, d, l, nil)
	o.Placements[0].Loadgen = []int{1}
	o.Home = []int{0, 1}
	var calls []string
	o.Pin = func(c []int) error { calls = append(calls, fmt.Sprint(c)); return nil }
	if err := o.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Cell 1 pinned to its cpuset, cell 2 (none) back home, home at the end.
	if got := strings.Join(calls, " "); got != "[1] [0 1] [0 1]" {
		t.Errorf("pin calls: %s", got)
	}
}

func TestScalingReportEmbeddings(t *testing.T) {
	p := planFor(t, "embedding", suite.Overrides{Cores: []int{1, 2}})
	p.Config.Suite.Reports = append(p.Config.Suite.Reports, "scaling")
	rep := BuildReport(p, []*results.Summary{
		{Cell: p.Cells[0].ID, Cores: 1, Benchmarks: []results.Benchmark{{Valid: true, RequestsPerSecond: results.Of(100)}}},
		{Cell: p.Cells[1].ID, Cores: 2, Benchmarks: []results.Benchmark{{Valid: true, RequestsPerSecond: results.Of(150)}}},
	})
	if len(rep.Scaling) != 2 || rep.Scaling[1].Speedup != results.Of(1.5) || rep.Scaling[1].Efficiency != results.Of(0.75) {
		t.Errorf("embedding scaling: %+v", rep.Scaling)
	}
}

// TestNeighbourRunsForTheCell checks that the noisy neighbour starts with
// the cell's load, on the placement's CPUs, and stops with the cell.
func TestNeighbourRunsForTheCell(t *testing.T) {
	d, l := &fakeDriver{}, &fakeLoad{}
	o := newOrch(t, t.TempDir(), "contention", suite.Overrides{}, d, l, nil)
	var mu sync.Mutex
	var calls []string
	stopped := make(chan string, 4)
	for i, c := range o.Plan.Cells {
		if c.Variant == suite.VariantCPUNeighbour || c.Variant == suite.VariantMemBWNeighbour {
			o.Placements[i].Neighbour = []int{2, 3}
		}
	}
	o.Stress = func(ctx context.Context, kind string, cpus []int) error {
		mu.Lock()
		calls = append(calls, fmt.Sprint(kind, cpus))
		mu.Unlock()
		<-ctx.Done()
		stopped <- kind
		return nil
	}
	if err := o.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Fatal("a stressor outlived its cell")
		}
	}
	if got := strings.Join(calls, " "); got != "cpu[2 3] membw[2 3]" {
		t.Errorf("stressors: %s", got)
	}
}

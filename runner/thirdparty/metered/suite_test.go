package metered

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/servebench/servebench/runner/engine"
	"github.com/servebench/servebench/runner/orchestrate"
	"github.com/servebench/servebench/runner/results"
	"github.com/servebench/servebench/runner/simulator"
	"github.com/servebench/servebench/runner/store"
	"github.com/servebench/servebench/runner/suite"
)

// runSmoke runs the smoke suite (two closed-loop levels) with --loadgen
// vllm-bench, the stand-in in mode, levels of maxSeconds + drain, on a
// fast simulator, and returns the cell's summary, the run's error and
// how long it took.
func runSmoke(t *testing.T, mode string, maxSeconds, drain float64) (*results.Summary, error, time.Duration) {
	t.Helper()
	s, err := suite.Builtin("smoke")
	if err != nil {
		t.Fatal(err)
	}
	lg := "vllm-bench"
	cfg, err := suite.Resolve(s, suite.Overrides{}, suite.Overrides{Loadgen: &lg, MaxSeconds: &maxSeconds, DrainTimeout: &drain})
	if err != nil {
		t.Fatal(err)
	}
	p, err := suite.NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := orchestrate.Place(p, nil, orchestrate.PlaceOptions{Engine: cfg.Engine, NUMANode: -1})
	if err != nil {
		t.Fatal(err)
	}
	var cells []store.CellState
	for _, c := range p.Cells {
		cells = append(cells, store.CellState{ID: c.ID})
	}
	run, err := store.New(t.TempDir(), nil).Create(s.Name, "run1", cells, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.DefaultConfig()
	sim.LoadTime, sim.Slowdown = 10*time.Millisecond, 0.05
	o := &orchestrate.Orchestrator{Plan: p, Placements: pl, Run: run, Driver: engine.NewSim(sim, nil, nil), Load: vllmBench(t, mode)}
	began := time.Now()
	runErr := o.Execute(context.Background())
	took := time.Since(began)
	b, err := os.ReadFile(filepath.Join(run.Dir, p.Cells[0].ID, "summary.json"))
	if err != nil {
		t.Fatalf("%v (run: %v)", err, runErr)
	}
	var sum results.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	return &sum, runErr, took
}

// The smoke suite with --loadgen vllm-bench, its tool sending for ever
// (as vllm bench serve with a prompt count far beyond the level's time):
// every level ends within its budget — the run within the sum of the
// levels' budgets, the stop grace and the start-ups — with the proxy's
// figures, saying why.
func TestSmokeSuiteVLLMBenchWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a suite")
	}
	sum, err, took := runSmoke(t, "forever", 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Two levels of 2 s + 1 s of drain, each with up to the 2 s stop grace
	// and a second of start-up on a loaded machine.
	if limit := 2 * (3 + stopGrace.Seconds() + 1) * float64(time.Second); took > time.Duration(limit) {
		t.Errorf("the suite took %v, its levels' budgets allow %v", took, time.Duration(limit))
	}
	if len(sum.Benchmarks) != 2 {
		t.Fatalf("%d benchmarks", len(sum.Benchmarks))
	}
	for _, b := range sum.Benchmarks {
		if b.Source != "proxy" || !strings.Contains(b.SourceReason, "vllm-bench was stopped at the level's budget (window 2s + drain 1s = 3s)") {
			t.Errorf("%s: source %q: %s", b.Level, b.Source, b.SourceReason)
		}
		if b.Requests.Successful == 0 {
			t.Errorf("%s: no successful request measured: %+v", b.Level, b.Requests)
		}
	}
}

// The smoke suite with --loadgen vllm-bench, its tool writing a report
// from another run (200 requests at concurrency 16): every level is
// invalid, the reason naming the tool's number and the proxy's.
func TestSmokeSuiteVLLMBenchDisagreeingReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a suite")
	}
	report, _ := filepath.Abs("../vllmbench/testdata/openai-chat-infqps-concurrency16-Qwen3-0.6B-20260722-041843.json")
	sum, _, _ := runSmoke(t, "recorded:"+report, 1, 2)
	if len(sum.Benchmarks) != 2 {
		t.Fatalf("%d benchmarks", len(sum.Benchmarks))
	}
	for _, b := range sum.Benchmarks {
		if b.Valid || b.CrossCheck == nil || b.CrossCheck.Agree {
			t.Errorf("%s: valid %v, cross-check %+v", b.Level, b.Valid, b.CrossCheck)
			continue
		}
		var proxy float64
		for _, r := range b.CrossCheck.Rows {
			if r.Figure == "requests" {
				proxy = r.Proxy
			}
		}
		want := "vllm-bench's report disagrees with the metering proxy: requests 200 (tool) vs " + strconv.FormatFloat(proxy, 'f', -1, 64) + " (proxy), tolerance exact"
		if proxy == 0 || proxy == 200 || !strings.Contains(strings.Join(b.InvalidReasons, "\n"), want) {
			t.Errorf("%s: reasons lack %q:\n%s", b.Level, want, strings.Join(b.InvalidReasons, "\n"))
		}
	}
}
